"""The runtime: flows, workers, jobs and breakpoints behind one object, persisted through a Store.

Its parts keep their own state: the flows (:mod:`routilux.engine.flows`), the breakpoints
(:mod:`routilux.engine.breakpoints`, changed through :mod:`routilux.engine.breakpoint_commands`),
the jobs held in memory (:mod:`routilux.engine.live_jobs`); jobs are put back to work after a
restart or on retry by :mod:`routilux.engine.recovery`. The runtime orders their changes with the
store's writes, the workers and the event bus.

Use it as an async context manager (or ``start()`` / ``shutdown()``). It owns no globals: two
runtimes in one process share nothing.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Any

import anyio

from routilux.engine.breakpoint_commands import BreakpointCommands
from routilux.engine.breakpoints import BreakpointTable
from routilux.engine.changes import BREAKPOINT, FLOW, SharedChanges
from routilux.engine.cycles import FlowWarning, unstoppable_cycles
from routilux.engine.deployment import Deployment
from routilux.engine.events import EventBus, EventType
from routilux.engine.finished import FinishedJobs
from routilux.engine.flows import FlowCatalog
from routilux.engine.job import JobRun
from routilux.engine.joblogs import JobLogCapture
from routilux.engine.live_jobs import LiveJobs
from routilux.engine.models import Breakpoint, FlowRecord, Job, Worker
from routilux.engine.placement import Placement
from routilux.engine.recovery import JobRecovery
from routilux.engine.registry import RoutineRegistry
from routilux.engine.replica_agent import ReplicaAgent
from routilux.engine.runtime_settings import RuntimeSettings
from routilux.engine.slots import SlotTable
from routilux.engine.spec import CompiledFlow, FlowSpec
from routilux.engine.storage import Idempotency, MemoryStore, Store
from routilux.engine.takeover import Takeover
from routilux.engine.waiters import SETTLING_EVENTS
from routilux.engine.worker import QueueBudget, WorkerRun
from routilux.engine.workers import WorkerPool

log = logging.getLogger("routilux.engine")


class Runtime:
    """Executes flows. Commands are coroutines; reads of live state are plain methods."""

    def __init__(
        self,
        registry: RoutineRegistry,
        store: Store | None = None,
        settings: RuntimeSettings | None = None,
    ) -> None:
        self.registry = registry
        self.store: Store = store if store is not None else MemoryStore()
        self.settings = settings or RuntimeSettings()
        self.limiter = anyio.CapacityLimiter(self.settings.threads)
        self._flows = FlowCatalog(
            registry,
            self.store,
            limits=self.settings.job_limits,
            max_flows=self.settings.max_flows,
            max_flow_bytes=self.settings.max_flow_bytes,
        )
        self._workers = WorkerPool(
            self._new_worker_run,
            self.store,
            default_concurrency=self.settings.default_concurrency,
        )
        finished = FinishedJobs(
            count=self.settings.finished_jobs_cached,
            size=self.settings.finished_jobs_cached_bytes,
            retention=self.settings.job_retention_seconds,
        )
        self._jobs = LiveJobs(self.store, finished)
        self._runs = self._jobs.runs  # the unfinished jobs, by id
        self._breakpoints = BreakpointTable(
            self._workers.runs_of,
            max_total=self.settings.max_breakpoints,
            max_per_flow=self.settings.max_breakpoints_per_flow,
        )
        self._started = False
        self.log_capture = JobLogCapture(
            self.store.save_log_later, per_job=self.settings.logs_per_job, owns=self._jobs.owns
        )
        self._queue_budget = QueueBudget(self.settings.max_queued_input_bytes or 2**62)
        self._breakpoint_commands = BreakpointCommands(
            self._breakpoints, self._flows, self._workers, self.store, self.live_job
        )
        self._recovery = JobRecovery(self._flows, self._workers, self.store, self._runs, finished)
        takeover = Takeover(self._flows, self._workers, self.store, self._runs, self._recovery)
        self.replica = ReplicaAgent(
            self.store.replicas,
            heartbeat=self.settings.replica_heartbeat_seconds,
            lease=self.settings.replica_lease_seconds,
            role=self.settings.replica_role,
            resume=takeover.resume,
            abandon=lambda: self._abandon(takeover),
            start_owned=takeover.start_owned,
            joined=lambda r: self.bus.publish(EventType.REPLICA_JOINED, data=r.event_data()),
            lost=lambda r: self.bus.publish(EventType.REPLICA_LOST, data=r.event_data()),
        )
        self._recovery.owner = me = lambda: self.replica.replica_id
        # Messages to and from the other replicas (engine/signals.py): handlers register on it
        # before start(). Through them, the others learn what changes here (engine/changes.py),
        # and controls and waits reach the replica holding a job (engine/deployment.py).
        self.signals = self.store.replicas.signals()
        self._deployment = Deployment(
            self.signals, self.store, self._jobs, self._workers, self._breakpoint_commands, me=me
        )
        self._changes = SharedChanges(self._deployment, self._flows, self._breakpoint_commands)
        # Each worker's concurrency, held for the deployment as a whole (engine/slots.py).
        self._slots = SlotTable(self.store.replicas.slots(), self.signals, me)
        self.bus = self._new_bus()
        self._placement = Placement(takeover, self.replica, self.signals, lambda: self.bus)

    @property
    def flow_bytes(self) -> int:
        """What the stored flows' documents take, as JSON."""
        return self._flows.total_bytes

    @property
    def finished_bytes(self) -> int:
        """What the finished jobs kept in memory take."""
        return self._jobs.finished.bytes

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    async def start(self) -> None:
        """Reload stored state: flows, workers, breakpoints; requeue queued jobs, close the rest."""
        if self._started:
            return
        self._started = True
        state = await self.store.load()
        self.bus.advance_to(state.last_event_id)
        logging.getLogger().addHandler(self.log_capture)
        self._changes.load(state)
        await self.signals.start()
        # Join the deployment, and take over the jobs no live replica holds (all of them when
        # this process is alone on its database), then heartbeat.
        await self.replica.join()
        self.replica.start()

    def _new_bus(self) -> EventBus:
        """The bus, built once: start() moves its ids above the stored ones."""
        bus = EventBus(buffer_size=self.settings.event_buffer)
        bus.store_sink = self.store.save_event_later
        bus.add_sink(self._jobs.waiters.wake, SETTLING_EVENTS)
        bus.add_sink(self._deployment.job_event, SETTLING_EVENTS)
        return bus

    async def shutdown(self) -> None:
        """Stop executing and flush the store. Idempotent. Jobs in flight are left as their
        last checkpoints have them: the next start resumes them there (activations that were
        running run again), and queued jobs stay queued."""
        if not self._started:
            return
        self._started = False
        await self.replica.stop()
        await self._placement.close()
        for worker in self._workers:
            worker.closing = True
        await asyncio.gather(*(run.suspend() for run in list(self._runs.values())))
        for worker in self._workers:
            await worker.drain()
        logging.getLogger().removeHandler(self.log_capture)
        await self.store.flush()
        await self.replica.leave()  # once its last checkpoints are in: others take over now
        await self._changes.close()
        await self._deployment.close()
        await self._slots.close()
        await self.signals.close()

    async def _abandon(self, takeover: Takeover) -> None:
        """This replica was marked lost: its jobs, and their run slots, are others' now."""
        await takeover.abandon()
        await self._slots.give_back_all()

    def _new_worker_run(self, worker: Worker, flow: CompiledFlow | None) -> WorkerRun:
        run = WorkerRun(
            worker,
            flow,  # type: ignore[arg-type]  # a stopped worker never runs anything
            bus=self.bus,
            store=self.store,
            limiter=self.limiter,
            max_queued=self.settings.max_queued_per_worker,
            max_output_bytes=self.settings.max_output_bytes,
            match_breakpoint=self._breakpoints.match,
            on_breakpoint_hit=self._breakpoint_commands.hit,
            on_job_finished=self._job_finished,
            max_queued_bytes=self.settings.max_queued_input_bytes_per_worker,
            budget=self._queue_budget,
            limits=self.settings.job_limits,
        )
        run.slots = self._slots.attach(run)
        return run

    # -- flows ---------------------------------------------------------------------------------

    async def create_flow(
        self, spec: FlowSpec, *, idempotency: Idempotency | None = None
    ) -> FlowRecord:
        """Store a new flow (with ``idempotency``, its key: committed together)."""
        record = await self._flows.create(spec, idempotency)
        self.bus.publish(EventType.FLOW_CREATED, flow_id=record.flow_id)
        await self._changes.announce(FLOW, record.flow_id)
        return record

    async def update_flow(self, flow_id: str, spec: FlowSpec) -> FlowRecord:
        """Store a new revision of a flow. Jobs already queued or running keep the revision they
        were queued with; jobs executed from now on run the new one."""
        record, previous, compiled = await self._flows.update(flow_id, spec)
        self._workers.flow_updated(compiled)
        self.bus.publish(
            EventType.FLOW_UPDATED,
            flow_id=flow_id,
            data={"revision": record.revision, "previous_revision": previous.revision},
        )
        await self._changes.announce(FLOW, flow_id)
        return record

    async def get_flow_revision(self, flow_id: str, revision: int) -> FlowRecord:
        """One revision of a flow: the current one or a past one."""
        return await self._flows.revision(flow_id, revision)

    def get_flow(self, flow_id: str) -> FlowRecord:
        return self._flows.entry(flow_id).record

    def has_flow(self, flow_id: str) -> bool:
        return flow_id in self._flows

    def list_flows(self) -> list[FlowRecord]:
        return self._flows.records()

    async def delete_flow(self, flow_id: str, *, force: bool = False) -> None:
        """Delete a flow (``force``: cancelling its unfinished jobs first)."""
        await self._changes.delete_flow(flow_id, force=force, bus=self.bus)

    def flow_warnings(self, flow_id: str) -> list[FlowWarning]:
        """What looks wrong in a flow without making it invalid: cycles nothing can stop."""
        compiled = self._flows.entry(flow_id).compiled
        return unstoppable_cycles(compiled) if compiled is not None else []

    def check_flow_room(self, size: int, *, replacing: str | None = None) -> None:
        """Raise unless one more flow of ``size`` bytes (or ``replacing``'s new revision) fits."""
        self._flows.check_room(size, replacing=replacing)

    # -- jobs ----------------------------------------------------------------------------------

    async def execute(
        self,
        flow_id: str,
        data: dict[str, Any],
        *,
        entry: str | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency: Idempotency | None = None,
        input_bytes: int | None = None,
    ) -> Job:
        """Queue a job; it is committed to the store before this returns. It runs here or on
        another replica (engine/placement.py).

        ``input_bytes`` is the input's size as JSON if the caller measured it already; it counts
        against the queued-input limits while the job waits."""
        return await self._placement.execute(
            flow_id,
            data,
            entry=entry,
            metadata=metadata,
            idempotency=idempotency,
            input_bytes=input_bytes,
        )

    def live_job(self, job_id: str) -> Job | None:
        """The job if it is unfinished or recently finished, without touching the store."""
        return self._jobs.get(job_id)

    async def get_job(self, job_id: str) -> Job:
        return await self._jobs.read(job_id)

    async def wait_job(self, job_id: str, timeout: float | None = None) -> Job:
        """Wait until the job is finished (and durable); raise TimeoutError after ``timeout``.
        A job another replica holds is waited for there."""
        return await self._deployment.wait_finished(job_id, timeout)

    async def wait_settled(self, job_id: str, timeout: float) -> Job:
        """The job once it is finished or paused, or as it is after ``timeout`` seconds."""
        return await self._deployment.wait_settled(job_id, timeout)

    async def cancel_job(self, job_id: str) -> Job:
        """Cancel a job (forwarded to the replica holding it). The result is ``cancelling``
        while in-flight logic winds down."""
        return await self._deployment.cancel_job(job_id)

    async def retry_job(self, job_id: str) -> Job:
        """Put a failed job back to work from its last checkpoint: what failed (and whatever
        else was unfinished when it failed) runs again; the rest is not repeated. A job with
        no checkpoint runs again from its input."""
        return await self._recovery.retry(job_id, self.get_job, self.bus)

    def _job_finished(self, run: JobRun) -> None:
        self._jobs.ended(run)
        self.log_capture.finish(run.job.job_id, run.job.flow_id)

    def unfinished_jobs(self) -> list[Job]:
        return self._jobs.unfinished()

    # -- workers -------------------------------------------------------------------------------

    def list_workers(self) -> list[Worker]:
        return self._workers.records()

    def get_worker(self, worker_id: str) -> Worker:
        return self._workers.get(worker_id).worker

    async def pause_worker(self, worker_id: str) -> Worker:
        return await self._changes.worker_changed(self._workers.pause(worker_id))

    async def resume_worker(self, worker_id: str) -> Worker:
        return await self._changes.worker_changed(self._workers.resume(worker_id))

    # -- breakpoints ---------------------------------------------------------------------------

    async def create_breakpoint(
        self,
        flow_id: str,
        routine_id: str,
        *,
        slot: str | None = None,
        job_id: str | None = None,
        condition: str | None = None,
        enabled: bool = True,
    ) -> Breakpoint:
        bp = await self._breakpoint_commands.create(
            flow_id, routine_id, slot=slot, job_id=job_id, condition=condition, enabled=enabled
        )
        await self._changes.announce(BREAKPOINT, bp.breakpoint_id)
        return bp

    def list_breakpoints(self) -> list[Breakpoint]:
        return self._breakpoints.all()

    def find_breakpoints(
        self, *, flow_id: str | None = None, job_id: str | None = None
    ) -> list[Breakpoint]:
        """The stored breakpoints that match, without their waiting jobs (cheap: for paging;
        the records are the runtime's own, so do not change them)."""
        return self._breakpoints.find(flow_id=flow_id, job_id=job_id)

    def with_waiting(self, breakpoints: list[Breakpoint]) -> list[Breakpoint]:
        """Copies of ``breakpoints`` with the jobs waiting at each."""
        return self._breakpoints.with_waiting(breakpoints)

    def get_breakpoint(self, breakpoint_id: str) -> Breakpoint:
        return self._breakpoints.get(breakpoint_id)

    async def delete_breakpoint(self, breakpoint_id: str) -> None:
        await self._breakpoint_commands.delete(breakpoint_id)
        await self._changes.announce(BREAKPOINT, breakpoint_id)

    async def resume_breakpoint(self, breakpoint_id: str, job_id: str | None = None) -> list[str]:
        """Resume the jobs waiting at a breakpoint (or just ``job_id``), on every replica;
        return their ids."""
        return await self._deployment.resume_breakpoint(breakpoint_id, job_id)
