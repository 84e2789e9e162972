"""A worker: the long-lived executor of one flow's jobs, with a concurrency limit and a queue."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from routilux.engine.bounds import JobLimits
from routilux.engine.errors import QueuedInputFull, QueueFull, WorkerStopped
from routilux.engine.events import EventBus, EventType
from routilux.engine.job import JobRun
from routilux.engine.models import Breakpoint, Job, JobStatus, Worker, WorkerStatus
from routilux.engine.routine import Inputs
from routilux.engine.slots import WorkerSlots
from routilux.engine.spec import CompiledFlow
from routilux.engine.storage import Store

BreakpointMatcher = Callable[[Job, str, Inputs], Breakpoint | None]


class QueueBudget:
    """The input bytes (JSON) of every worker's queued jobs, against one server-wide limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


class WorkerRun:
    """Runs up to ``concurrency`` jobs of one flow at a time; the rest wait in order."""

    def __init__(
        self,
        worker: Worker,
        flow: CompiledFlow,
        *,
        bus: EventBus,
        store: Store,
        limiter: anyio.CapacityLimiter,
        max_queued: int,
        max_output_bytes: int,
        match_breakpoint: BreakpointMatcher,
        on_breakpoint_hit: Callable[[Breakpoint], None],
        on_job_finished: Callable[[JobRun], None],
        max_queued_bytes: int | None = None,
        budget: QueueBudget | None = None,
        limits: JobLimits | None = None,
    ) -> None:
        self.worker = worker
        self.flow = flow
        self.bus = bus
        self.store = store
        self.limiter = limiter
        self.max_queued = max_queued
        self.max_output_bytes = max_output_bytes
        self.limits = limits or JobLimits()  # bounds on each job's work
        self._match_breakpoint = match_breakpoint
        self._on_breakpoint_hit = on_breakpoint_hit
        self._on_job_finished = on_job_finished
        self._queue: deque[JobRun] = deque()
        # Input bytes of each queued job, counted until it starts (then it is work, not backlog).
        self._queued_bytes: dict[str, int] = {}
        self.queued_bytes = 0
        self.max_queued_bytes = max_queued_bytes
        self.budget = budget
        self._active: dict[str, JobRun] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.closing = False  # set on shutdown: queued jobs stay queued for the next start
        # The deployment's run slots of this worker held here (engine/slots.py); None for a
        # process alone, which counts its own runs.
        self.slots: WorkerSlots | None = None

    @property
    def worker_id(self) -> str:
        return self.worker.worker_id

    @property
    def paused(self) -> bool:
        return self.worker.status is WorkerStatus.PAUSED

    def runs(self) -> list[JobRun]:
        return [*self._active.values(), *self._queue]

    def check_capacity(self, input_bytes: int = 0) -> None:
        if self.worker.status is WorkerStatus.STOPPED:
            raise WorkerStopped(f"worker {self.worker_id!r} is stopped")
        if len(self._queue) >= self.max_queued:
            raise QueueFull(
                f"worker {self.worker_id!r} has {len(self._queue)} queued jobs (the limit)",
                retry_after=1,
            )
        # An empty queue always takes one job, so a single input below the input limit fits.
        limit = self.max_queued_bytes
        if limit is not None and self._queue and self.queued_bytes + input_bytes > limit:
            raise QueuedInputFull(
                f"worker {self.worker_id!r} has {self.queued_bytes} bytes of queued input; "
                f"{input_bytes} more would pass its limit of {limit}",
                retry_after=1,
            )
        budget = self.budget
        if budget is not None and budget.used and budget.used + input_bytes > budget.limit:
            raise QueuedInputFull(
                f"queued jobs hold {budget.used} bytes of input in all; {input_bytes} more "
                f"would pass the server's limit of {budget.limit}",
                retry_after=1,
            )

    def submit(self, run: JobRun, input_bytes: int = 0) -> None:
        if input_bytes:
            self._queued_bytes[run.job.job_id] = input_bytes
            self.queued_bytes += input_bytes
            if self.budget is not None:
                self.budget.used += input_bytes
        self._queue.append(run)
        self._start_queued()

    def _dequeued(self, run: JobRun) -> None:
        size = self._queued_bytes.pop(run.job.job_id, 0)
        if size:
            self.queued_bytes -= size
            if self.budget is not None:
                self.budget.used -= size

    def remove_queued(self, run: JobRun) -> bool:
        try:
            self._queue.remove(run)
        except ValueError:
            return False
        self._dequeued(run)
        self._update_status()
        return True

    def _start_queued(self) -> None:
        slots = self.slots
        limit = self.worker.concurrency
        if slots is not None:
            limit = min(limit, slots.held, slots.cap())
        while self._queue and not self.closing and not self.paused and len(self._active) < limit:
            run = self._queue.popleft()
            self._dequeued(run)
            self._active[run.job.job_id] = run
            run.start()
        self._update_status()
        if slots is not None:
            slots.balance()

    # -- what its run slots ask (engine/slots.py) ----------------------------------------------

    @property
    def slots_key(self) -> str:
        return self.worker.flow_id

    def slots_limit(self) -> int:
        return self.worker.concurrency

    def slots_wanted(self) -> int:
        if self.closing or self.paused:
            return len(self._active)
        return len(self._active) + len(self._queue)

    def slots_granted(self) -> None:
        self._start_queued()

    def slots_in_use(self) -> int:
        return len(self._active)

    def job_finished(self, run: JobRun) -> None:
        self._active.pop(run.job.job_id, None)
        if run.job.status is JobStatus.FAILED:
            self.worker.jobs_failed += 1
        if run.job.status is not JobStatus.CANCELLED or run.job.started_at is not None:
            self.worker.jobs_processed += 1
        self._on_job_finished(run)
        self._start_queued()

    def pause(self, *, announce: bool = True) -> bool:
        """Pause (``announce``: publish ``worker.paused``; not when following another
        replica's pause of this worker, which that replica announced)."""
        if self.worker.status in (WorkerStatus.PAUSED, WorkerStatus.STOPPED):
            return False
        self.worker.status = WorkerStatus.PAUSED
        for run in list(self._active.values()):
            run.pause_for_worker()
        if announce:
            self.bus.publish(
                EventType.WORKER_PAUSED, flow_id=self.flow.flow_id, worker_id=self.worker_id
            )
        self._update_status()
        return True

    def resume(self, *, announce: bool = True) -> bool:
        if self.worker.status is not WorkerStatus.PAUSED:
            return False
        self.worker.status = WorkerStatus.IDLE
        if announce:
            self.bus.publish(
                EventType.WORKER_RESUMED, flow_id=self.flow.flow_id, worker_id=self.worker_id
            )
        for run in list(self._active.values()):
            run.resume_for_worker()
        self._start_queued()
        return True

    def release_all(self) -> None:
        """Forget every job, queued or active, without finishing them (another replica took
        them over)."""
        for run in list(self._queue):
            self._dequeued(run)
        self._queue.clear()
        self._active.clear()
        self._update_status()

    def stop(self) -> None:
        self.worker.status = WorkerStatus.STOPPED
        self._update_status()

    def _update_status(self) -> None:
        worker = self.worker
        worker.active_jobs = len(self._active)
        worker.queued_jobs = len(self._queue)
        if worker.status not in (WorkerStatus.PAUSED, WorkerStatus.STOPPED):
            worker.status = WorkerStatus.RUNNING if self._active else WorkerStatus.IDLE
        self.store.save_worker_later(worker)

    # -- services for JobRun -------------------------------------------------------------------

    def match_breakpoint(self, job: Job, routine_id: str, inputs: Inputs) -> Breakpoint | None:
        return self._match_breakpoint(job, routine_id, inputs)

    def breakpoint_hit(self, breakpoint: Breakpoint, run: JobRun) -> None:
        self._on_breakpoint_hit(breakpoint)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run engine bookkeeping in the background, keeping a reference until it ends."""
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
