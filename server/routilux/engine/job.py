"""One job travelling through a flow: its routines' inboxes (see :mod:`routilux.engine.inbox`),
their activations, its checkpoints and its end.

Nothing here is shared between jobs. Each routine of a job is an actor: it runs one activation at a
time, in arrival order, while different routines run concurrently. The job keeps a count of the
work it still has (queued or running activations and armed timers); when that count reaches zero
the job is complete, with no polling and no timeout involved.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import replace
from time import perf_counter
from typing import Any, Protocol

import anyio
import anyio.to_thread

from routilux.engine import bounds
from routilux.engine.activations import ActivationRunner
from routilux.engine.bounds import JobLimits
from routilux.engine.checkpoint import CheckpointLog, Delivery, JobCheckpoint, Running
from routilux.engine.clock import utcnow
from routilux.engine.events import EventBus, EventType
from routilux.engine.inbox import Activation, Inbox, entry_distances
from routilux.engine.models import (
    Breakpoint,
    Job,
    JobError,
    JobStatus,
    PausedAt,
    RoutineProgress,
    RoutineStatus,
)
from routilux.engine.routine import Inputs, Payload, RoutineContext
from routilux.engine.sizes import json_size, payload_size
from routilux.engine.spec import CompiledFlow
from routilux.engine.storage import Store

log = logging.getLogger("routilux.engine")

DRAIN_SLICE = 0.002
"""Seconds of inline activations one job runs at most per turn of the event loop."""
AHEAD_OF_STORE = 2_000
"""Checkpoint rows a job may have waiting for the store before its drain waits for them: a job
never runs further ahead of its durable state than about two of the writer's batches."""
STORE_WAIT = 0.005
"""Seconds a job that is that far ahead waits before it looks again."""

_WINDING_DOWN = frozenset(
    {JobStatus.CANCELLING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)


class JobHost(Protocol):
    """What a job needs from the worker that runs it (a :class:`~routilux.engine.worker.
    WorkerRun`): where it writes and publishes, its bounds, and the runtime's breakpoints."""

    store: Store
    bus: EventBus
    limiter: anyio.CapacityLimiter
    limits: JobLimits
    max_output_bytes: int

    @property
    def paused(self) -> bool: ...

    def match_breakpoint(self, job: Job, routine_id: str, inputs: Inputs) -> Breakpoint | None:
        """The breakpoint an activation of ``routine_id`` with ``inputs`` stops at, if any."""

    def breakpoint_hit(self, breakpoint: Breakpoint, run: JobRun) -> None:
        """``run`` paused at ``breakpoint`` (whose hit count changed)."""

    def job_finished(self, run: JobRun) -> None:
        """``run`` ended, its final state stored."""

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run bookkeeping in the background."""


class JobRun:
    """Executes one job. Created by a worker; driven entirely by the event loop."""

    def __init__(self, job: Job, flow: CompiledFlow, worker: JobHost) -> None:
        self.job = job
        self.flow = flow
        self.worker = worker
        self._nodes: dict[str, Inbox] = {}
        self._outstanding = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._timeout: asyncio.TimerHandle | None = None
        self._finishing = False
        self.finished = asyncio.Event()
        self.paused_by_worker = False
        self._output_bytes = 0
        self.input_bytes = 0  # the input's size as JSON, when the runtime measured it
        self.limits: JobLimits = worker.limits
        self._activations = 0
        self._backlog = 0  # deliveries queued or buffered, not yet taken by an activation
        self._backlog_bytes = 0
        self._distance: dict[str, int] | None = None  # hops from the entry, for partial flushes
        self._ready: deque[tuple[Inbox, Activation]] = deque()  # inline activations to run
        self._draining = False
        self._log = CheckpointLog(job.job_id, worker.store.checkpoint_later)
        self._restore: JobCheckpoint | None = None  # resume from this instead of the input
        self._recovered = False
        self._runner = ActivationRunner(self)

    # -- lifecycle -----------------------------------------------------------------------------

    def restore(self, checkpoint: JobCheckpoint, *, recovered: bool) -> None:
        """Resume from ``checkpoint`` when started: after a crash (``recovered``) or a retry."""
        self._restore = checkpoint
        self._recovered = recovered

    def start(self) -> None:
        job = self.job
        restore, self._restore = self._restore, None
        if job.paused_at is None:  # a job paused at a breakpoint stays paused there
            job.status = JobStatus.RUNNING
        if job.started_at is None:
            job.started_at = utcnow()
        if self._recovered:
            job.recoveries += 1
            self.publish(
                EventType.JOB_RECOVERED, data={"checkpoint": restore.seq if restore else 0}
            )
        else:
            self.publish(EventType.JOB_STARTED)
        if restore is not None and restore.seq:
            self._replay(restore)
        else:  # nothing of it was kept yet: it starts from its input
            entry = self.flow.parse_entry(job.entry) if job.entry else self.flow.entry
            for routine_id, slot in entry:
                self._deliver(routine_id, slot, dict(job.input))
        self._commit(with_job=True)
        self._timeout = asyncio.get_running_loop().call_later(self.timeout, self._timed_out)
        if self.worker.paused:
            self.pause_for_worker()
        self._pump_all()

    def _replay(self, checkpoint: JobCheckpoint) -> None:
        """Rebuild queues, buffers, timers and output from a checkpoint (see its module)."""
        job = self.job
        self._log.seq = checkpoint.seq
        if checkpoint.progress is not None:
            job.progress.update(checkpoint.progress)
        job.output = {}
        self._activations = sum(p.activations for p in job.progress.values())
        for progress in job.progress.values():
            if progress.status is RoutineStatus.RUNNING:
                progress.status = RoutineStatus.IDLE
        for routine_id, saved in checkpoint.states.items():
            if routine_id not in self.flow.routines:
                continue
            self._node(routine_id).load(saved)
        for delivery in checkpoint.deliveries:
            if delivery.routine_id is None:
                self._output(delivery.slot, delivery.payload)
            elif delivery.routine_id in self.flow.routines:
                self._deliver(delivery.routine_id, delivery.slot, delivery.payload, delivery)
        now = time.time()
        for routine_id, saved in checkpoint.states.items():
            armed = self._nodes.get(routine_id)
            if armed is not None:
                # Timers fire at their original deadlines (at once if that has passed).
                armed.rearm_at(saved.deadline, now)
        paused_at = job.paused_at
        if job.status is JobStatus.PAUSED and paused_at is not None:
            waiting = self._nodes.get(paused_at.routine_id)
            if waiting is not None and waiting.queue:
                waiting.queue[0].passed_breakpoint = True  # it waits there: no second hit

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        return self.worker.limiter

    @property
    def output_bytes(self) -> int:
        """The job's output so far, as JSON."""
        return self._output_bytes

    @property
    def timeout(self) -> float:
        """The job's wall-time bound: the flow's timeout, never above the server's."""
        flow_timeout = self.flow.timeout
        limit = self.limits.max_seconds
        return limit if flow_timeout is None or flow_timeout > limit else flow_timeout

    def cancel(self) -> None:
        """Stop starting routines, cancel what can be cancelled, finish as cancelled."""
        if not self.live():
            return
        self.job.status = JobStatus.CANCELLING
        self.publish(EventType.JOB_CANCELLING)
        self._stop_everything()
        self._finish_when_idle(JobStatus.CANCELLED, None)

    async def suspend(self, grace: float = 5.0) -> None:
        """Stop executing without finishing, as the process stops: the job stays as its last
        checkpoint has it, to be resumed there by the next start. Waits up to ``grace``
        seconds for cancelled activations (a thread cannot be interrupted) to end."""
        if self._finishing or self.job.status is JobStatus.QUEUED:
            return
        self._finishing = True
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None
        for node in self._nodes.values():
            node.stop_timer()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        self.finished.set()

    def pause_for_worker(self) -> None:
        self.paused_by_worker = True
        if self.job.status is JobStatus.RUNNING:
            self.job.status = JobStatus.PAUSED
            self.publish(EventType.JOB_PAUSED, data={"reason": "worker_paused"})
            self.worker.store.save_job_later(self.job)

    def resume_for_worker(self) -> None:
        self.paused_by_worker = False
        if self.job.status is JobStatus.PAUSED and self.job.paused_at is None:
            self.job.status = JobStatus.RUNNING
            self.publish(EventType.JOB_RESUMED, data={"reason": "worker_resumed"})
            self.worker.store.save_job_later(self.job)
        self._pump_all()

    def resume_breakpoint(self) -> None:
        """Continue a job paused at a breakpoint exactly where it stopped."""
        paused_at = self.job.paused_at
        if paused_at is None:
            return
        self.job.paused_at = None
        if self.job.status is JobStatus.PAUSED and not self.paused_by_worker:
            self.job.status = JobStatus.RUNNING
        self.publish(
            EventType.JOB_RESUMED,
            routine_id=paused_at.routine_id,
            data={"reason": "breakpoint_resumed", "breakpoint_id": paused_at.breakpoint_id},
        )
        self.worker.store.save_job_later(self.job)
        self._pump_all()

    # -- data flow -----------------------------------------------------------------------------

    def _node(self, routine_id: str) -> Inbox:
        node = self._nodes.get(routine_id)
        if node is None:
            spec = self.flow.routines[routine_id]
            progress = self.job.progress.setdefault(routine_id, RoutineProgress())
            node = Inbox(spec=spec, progress=progress, owner=self)
            self._nodes[routine_id] = node
        return node

    def _deliver(
        self, routine_id: str, slot: str, payload: Payload, replayed: Delivery | None = None
    ) -> None:
        if self._finishing:
            return  # a bound ended the job while its deliveries were being routed
        if replayed is None:
            delivery = self._log.deliver(routine_id, slot, payload)
        else:
            delivery = replayed
        size = payload_size(payload)
        self._backlog += 1
        self._backlog_bytes += size
        limits = self.limits
        if self._backlog > limits.max_backlog or self._backlog_bytes > limits.max_backlog_bytes:
            self._backlog_exceeded(routine_id)
            return
        node = self._node(routine_id)
        node.put(delivery, size)
        self._pump(node)

    # -- what an inbox tells its job (see routilux.engine.inbox.InboxOwner) --------------------

    def work_added(self) -> None:
        self._outstanding += 1

    def timer_disarmed(self) -> None:
        self._outstanding -= 1

    def changed(self, inbox: Inbox) -> None:
        self._log.changed(inbox)

    def timer_fired(self, inbox: Inbox) -> None:
        flush = inbox.flush
        if self.live() and flush is not None:
            flush()
            self._pump(inbox)
        self._outstanding -= 1
        self._check_done()

    # -- running routines ----------------------------------------------------------------------

    def _can_start(self) -> bool:
        return self.job.status is JobStatus.RUNNING and not self.worker.paused

    def _pump_all(self) -> None:
        for node in list(self._nodes.values()):
            self._pump(node)
        self._check_done()

    def _pump(self, node: Inbox) -> None:
        if node.busy or not node.queue or not self._can_start():
            return
        activation = node.queue[0]
        if not activation.passed_breakpoint:
            hit = self.worker.match_breakpoint(self.job, node.spec.routine_id, activation.inputs)
            if hit is not None:
                activation.passed_breakpoint = True
                self._pause_at(hit, node, activation.inputs)
                return
        if self._activations >= self.limits.max_activations:
            self._too_many_activations(node)
            return
        self._activations += 1
        self._backlog -= len(activation.seqs)
        self._backlog_bytes -= activation.size
        node.queue.popleft()
        node.busy = True
        if node.spec.inline and node.spec.routine.runs_inline(activation.inputs):
            # Logic that runs on the loop needs no task: it is run from start to end, in the
            # order activations became ready, by the job's drain (below), as a callback of the
            # loop: scheduled as a task's first step would be.
            self._ready.append((node, activation))
            if not self._draining:
                self._draining = True
                asyncio.get_running_loop().call_soon(self._drain)
            return
        self.track(asyncio.create_task(self._runner.run(node, activation)))

    def track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _pause_at(self, breakpoint: Breakpoint, node: Inbox, inputs: Inputs) -> None:
        item = next((i for i in inputs.items if breakpoint.slot in (None, i.slot)), inputs.items[0])
        self.job.status = JobStatus.PAUSED
        self.job.paused_at = PausedAt(
            breakpoint_id=breakpoint.breakpoint_id,
            routine_id=node.spec.routine_id,
            slot=item.slot,
            payload=item.payload,
        )
        breakpoint.hit_count += 1
        data = {
            "breakpoint_id": breakpoint.breakpoint_id,
            "slot": item.slot,
            "payload": item.payload,
            "hit_count": breakpoint.hit_count,
        }
        self.publish(EventType.BREAKPOINT_HIT, routine_id=node.spec.routine_id, data=data)
        self.publish(
            EventType.JOB_PAUSED,
            routine_id=node.spec.routine_id,
            data={"reason": "breakpoint", "breakpoint_id": breakpoint.breakpoint_id},
        )
        self.worker.breakpoint_hit(breakpoint, self)
        self.worker.store.save_job_later(self.job)

    def _drain(self) -> None:
        """Run ready inline activations, for one time slice at most, then let the loop serve
        everything else (I/O, other jobs) before going on: however many of a job's routines are
        ready at once (a wide fan-out), it holds the loop for about a slice per turn."""
        ready = self._ready
        if self.worker.store.checkpoint_backlog(self.job.job_id) > AHEAD_OF_STORE:
            # The database is behind this job: let it catch up rather than queue more (a
            # runaway job then runs at the pace of its writes, and leaves the loop and the
            # writer to everyone else meanwhile).
            asyncio.get_running_loop().call_later(STORE_WAIT, self._drain)
            return
        deadline = perf_counter() + DRAIN_SLICE
        self._log.batching = True
        try:
            while ready:
                node, activation = ready.popleft()
                self._runner.run_inline(node, activation)
                if perf_counter() >= deadline:
                    break
        finally:
            self._log.batching = False
        if self._log.due:
            # The slice's activations as one checkpoint: still a state the job passed through.
            self._commit()
        if ready:
            asyncio.get_running_loop().call_soon(self._drain)
        else:
            self._draining = False

    def checkpoint_running(
        self, node: Inbox, activation: Activation, started: float, attempt: int
    ) -> None:
        """Checkpoint that an activation outside the loop runs, at ``attempt``."""
        node.running[activation.seqs[0]] = Running(started, attempt)
        self._log.changed(node)
        self._commit()

    def completed(self, node: Inbox, activation: Activation, ctx: RoutineContext) -> None:
        self._route(node, ctx.emitted)
        progress = node.progress
        progress.completed += 1
        progress.status = RoutineStatus.IDLE
        self.publish(
            EventType.ROUTINE_COMPLETED,
            routine_id=node.spec.routine_id,
            data={"emitted": len(ctx.emitted), "attempt": ctx.attempt},
        )
        self.consumed(node, activation)

    def consumed(self, node: Inbox, activation: Activation) -> None:
        """An activation is over for good: checkpoint what it took, made and changed."""
        if self._finishing:
            return  # the job ends (a bound): its last checkpoint stays the one to resume from
        self._log.took(activation.seqs)
        if node.running.pop(activation.seqs[0], None) is not None or node.state or node.stored:
            self._log.changed(node)
        self._commit()

    def _commit(self, *, with_job: bool = False) -> None:
        """Hand the store the checkpoint gathered since the last one (see CheckpointLog)."""
        self._log.commit(self.job.progress, self.job if with_job else None)

    def end(self, node: Inbox) -> None:
        node.busy = False
        self._outstanding -= 1
        if self.live():
            self._pump(node)
            self._check_done()

    def _route(self, node: Inbox, emitted: list[tuple[str, Payload]]) -> None:
        routine_id = node.spec.routine_id
        targets = self.flow.targets
        for event, payload in emitted:
            node.progress.emitted += 1
            self.publish(
                EventType.EVENT_EMITTED,
                routine_id=routine_id,
                data={"event": event, "payload": payload},
            )
            destinations = targets.get((routine_id, event))
            if not destinations:
                key = f"{routine_id}.{event}"
                if not self._output(key, payload):
                    return
                self._log.deliver(None, key, payload)
                continue
            for index, (target, slot) in enumerate(destinations):
                # Each branch of a fan-out gets its own top-level dict.
                self._deliver(target, slot, payload if index == 0 else dict(payload))
            if self._finishing:
                return  # a bound was hit: what is left is not routed

    def _output(self, key: str, payload: Payload) -> bool:
        """Add to the job's output; False if that passed its bound (the job failed)."""
        self._output_bytes += json_size(payload)
        if self._output_bytes > self.worker.max_output_bytes:
            routine_id = key.rpartition(".")[0]
            self.fail(bounds.output_too_large(self.worker.max_output_bytes, routine_id))
            return False
        self.job.output.setdefault(key, []).append(payload)
        return True

    # -- ending --------------------------------------------------------------------------------

    def live(self) -> bool:
        return not self._finishing and self.job.status not in _WINDING_DOWN

    def _check_done(self) -> None:
        if self._outstanding == 0 and self.live():
            if self._flush_partial():
                return  # the job goes on with the partial batch; it ends when that is done
            self._finish(JobStatus.COMPLETED, None)

    def _flush_partial(self) -> bool:
        """With nothing else left to do, hand a partial batch or join (of a Batcher or an
        Aggregator with no timeout, or whose timeout is longer than the job) to its routine as
        it is, rather than dropping it: nearest the entry first, one routine at a time, so that a
        chain of them flushes in order. True if one was flushed."""
        partial = [node for node in self._nodes.values() if node.partial()]
        if not partial:
            return False
        if not self._can_start():
            return True  # paused: flushed on resume
        distance = self._distances()
        node = min(partial, key=lambda n: distance.get(n.spec.routine_id, len(distance)))
        node.flush_partial()
        self._pump(node)
        return True

    def _distances(self) -> dict[str, int]:
        """Each routine's distance in connections from the job's entry (breadth first)."""
        if self._distance is None:
            entry = self.flow.parse_entry(self.job.entry) if self.job.entry else self.flow.entry
            self._distance = entry_distances(self.flow, entry)
        return self._distance

    def _timed_out(self) -> None:
        self._timeout = None
        if self.live():
            timeout = self.timeout
            self.fail(bounds.job_timeout(timeout, flows=timeout == self.flow.timeout))

    def _too_many_activations(self, node: Inbox) -> None:
        self.fail(bounds.too_many_activations(self.limits, node.spec.routine_id))

    def _backlog_exceeded(self, routine_id: str) -> None:
        error = bounds.backlog_exceeded(self.limits, self._backlog, self._backlog_bytes, routine_id)
        self.fail(error)

    def fail(self, error: JobError) -> None:
        self._stop_everything()
        self._finish(JobStatus.FAILED, error)

    def _stop_everything(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None
        # Release what the job holds: queued inputs and buffers (in slices: a backlog at its
        # bound is a few hundred thousand objects, whose freeing would hold the loop).
        held: list[deque[Any]] = []
        for node in self._nodes.values():
            self._outstanding -= len(node.queue)
            held.extend(node.clear())
        held.append(self._ready)  # taken, not started: as a task cancelled before it started
        self._ready = deque()
        bounds.release(held)
        self._backlog = self._backlog_bytes = 0
        for task in self._tasks:
            task.cancel()

    def _finish_when_idle(self, status: JobStatus, error: JobError | None) -> None:
        tasks = list(self._tasks)

        async def wait_then_finish() -> None:
            await asyncio.gather(*tasks, return_exceptions=True)
            self._finish(status, error)

        if tasks:
            self.worker.spawn(wait_then_finish())
        else:
            self._finish(status, error)

    def _finish(self, status: JobStatus, error: JobError | None) -> None:
        if self._finishing:
            return
        self._finishing = True
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None
        final = replace(
            self.job,
            status=status,
            error=error,
            paused_at=None,
            finished_at=utcnow(),
            progress={rid: replace(p) for rid, p in self.job.progress.items()},
        )
        for progress in final.progress.values():
            if progress.status in (RoutineStatus.RUNNING, RoutineStatus.IDLE):
                progress.status = RoutineStatus.COMPLETED
        self.worker.spawn(self._persist_and_announce(final))

    async def _persist_and_announce(self, final: Job) -> None:
        # Durable before visible: a client that reads the job as finished, or sees its final
        # event, can rely on the store having it, through a crash too.
        try:
            await self.worker.store.save_job(final)
        except Exception:
            log.exception(
                "could not store the final state of job %s",
                final.job_id,
                extra={"flow_id": final.flow_id, "job_id": final.job_id},
            )
        job = self.job
        job.status, job.error, job.paused_at = final.status, final.error, None
        job.finished_at, job.progress = final.finished_at, final.progress
        event_type = {
            JobStatus.COMPLETED: EventType.JOB_COMPLETED,
            JobStatus.FAILED: EventType.JOB_FAILED,
            JobStatus.CANCELLED: EventType.JOB_CANCELLED,
        }[job.status]
        data: dict[str, Any] = {}
        if job.error is not None:
            data["error"] = {
                "code": job.error.code,
                "type": job.error.type,
                "message": job.error.message,
                "routine_id": job.error.routine_id,
            }
        self.publish(event_type, data=data)
        self.worker.job_finished(self)
        self.finished.set()

    def publish(
        self, type: EventType, *, routine_id: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        self.worker.bus.publish(
            type,
            flow_id=self.job.flow_id,
            job_id=self.job.job_id,
            worker_id=self.job.worker_id,
            routine_id=routine_id,
            data=data,
        )
