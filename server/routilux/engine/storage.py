"""The persistence interface the engine owns, and an in-memory implementation of it.

The engine writes through this interface and never imports a database library. Durable writes
(``await``) return once the data is committed; write-behind ones (plain calls) are batched by the
store and may be lost in a crash, which is why they carry only what can be rebuilt or lost safely:
worker counters and the event history.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from routilux.engine.checkpoint import (
    DROPPED_AT,
    Checkpoint,
    Delivery,
    JobCheckpoint,
    RoutineState,
)
from routilux.engine.errors import QueueFull
from routilux.engine.events import Event
from routilux.engine.joblogs import JobLog
from routilux.engine.models import Breakpoint, FlowRecord, Job, JobStatus, Worker
from routilux.engine.replicas import MemoryReplicas, ReplicaStore


@dataclass
class Idempotency:
    """A client's ``Idempotency-Key``, stored with the job or flow it created, in one write."""

    key: str
    fingerprint: str
    scope: str = "default"


@dataclass
class StoredState:
    """Everything the runtime reloads on start."""

    flows: list[FlowRecord] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    breakpoints: list[Breakpoint] = field(default_factory=list)
    last_event_id: int = 0


class Store(Protocol):
    @property
    def replicas(self) -> ReplicaStore:
        """The replicas sharing the database, and the jobs each holds (engine/replicas.py).
        A job's row and checkpoints are written only for the replica that owns the job."""
        ...

    async def load(self) -> StoredState: ...

    async def save_flow(self, flow: FlowRecord, idempotency: Idempotency | None = None) -> None:
        """The flow's revision, with the key that created it if any: committed together."""
        ...

    async def delete_flow(self, flow_id: str) -> None: ...

    async def get_flow_revision(self, flow_id: str, revision: int) -> FlowRecord | None:
        """A stored revision of a flow (``save_flow`` keeps each one until the flow goes)."""
        ...

    async def save_breakpoint(self, breakpoint: Breakpoint) -> None: ...

    async def delete_breakpoint(self, breakpoint_id: str) -> None: ...

    async def insert_job(
        self, job: Job, idempotency: Idempotency | None = None, *, queue_bound: int | None = None
    ) -> None:
        """The new job (and its idempotency key), durably. With ``queue_bound``, refused with
        :class:`~routilux.engine.errors.QueueFull` (nothing written) when the job's worker has
        that many queued jobs already, counted over every process using the store."""
        ...

    async def save_job(self, job: Job, ended: Event | None = None) -> None:
        """The job's record, durably; with ``ended``, the event announcing its end, committed
        together with it (and, like it, only while the writer owns the job)."""
        ...

    def save_job_later(self, job: Job) -> None: ...

    def checkpoint_later(self, checkpoint: Checkpoint) -> None:
        """Keep a step of a job (see :mod:`routilux.engine.checkpoint`): written behind, but in
        order with everything else written, as one unit. A completed or cancelled job's
        checkpoint is dropped with its final ``save_job``; a failed job's is kept (a retry
        resumes from it) until the job is deleted."""
        ...

    async def load_checkpoint(self, job_id: str) -> JobCheckpoint:
        """The job's last committed checkpoint (empty if it has none)."""
        ...

    def checkpoint_backlog(self, job_id: str) -> int:
        """Rows of the job's checkpoints handed over and not yet being written: how far the
        database is behind the job."""
        ...

    async def get_job(self, job_id: str) -> Job | None: ...

    def save_worker_later(self, worker: Worker) -> None: ...

    def save_event_later(self, event: Event) -> None: ...

    def save_log_later(self, log: JobLog) -> None:
        """Keep a line a routine logged (called from routine threads too)."""
        ...

    async def flush(self) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    """Keeps everything in process; for the engine's own tests and benchmarks.

    ``exclusive``: one runtime at a time uses it, as one process holds a SQLite database (a new
    one takes over every job at once); False lets several runtimes share it as replicas."""

    def __init__(self, max_events: int = 100_000, *, exclusive: bool = True) -> None:
        self.flows: dict[str, FlowRecord] = {}
        self.workers: dict[str, Worker] = {}
        self.breakpoints: dict[str, Breakpoint] = {}
        self.jobs: dict[str, Job] = {}
        self.idempotency: dict[tuple[str, str], tuple[Idempotency, str]] = {}
        self.events: deque[Event] = deque(maxlen=max_events)
        self.revisions: dict[tuple[str, int], FlowRecord] = {}
        self.logs: deque[JobLog] = deque(maxlen=max_events)
        self.checkpoints: dict[str, _Checkpoints] = {}
        self._replicas = MemoryReplicas(
            self.jobs, self.workers, self.flows, self.breakpoints, exclusive=exclusive
        )

    @property
    def replicas(self) -> MemoryReplicas:
        return self._replicas

    def _fenced(self, job_id: str, owner: str | None) -> bool:
        """A write about a job that ``owner`` no longer holds (see engine/replicas.py)."""
        stored = self.jobs.get(job_id)
        return stored is not None and stored.owner != owner

    async def load(self) -> StoredState:
        return StoredState(
            flows=list(self.flows.values()),
            workers=[replace(w) for w in self.workers.values()],
            breakpoints=[replace(b) for b in self.breakpoints.values()],
            last_event_id=self.events[-1].id if self.events else 0,
        )

    async def save_flow(self, flow: FlowRecord, idempotency: Idempotency | None = None) -> None:
        self.flows[flow.flow_id] = flow
        self.revisions[flow.flow_id, flow.revision] = flow
        if idempotency is not None:
            self.idempotency[idempotency.key, idempotency.scope] = (idempotency, flow.flow_id)

    async def delete_flow(self, flow_id: str) -> None:
        self.flows.pop(flow_id, None)
        for key in [k for k in self.revisions if k[0] == flow_id]:
            del self.revisions[key]

    async def get_flow_revision(self, flow_id: str, revision: int) -> FlowRecord | None:
        return self.revisions.get((flow_id, revision))

    async def save_breakpoint(self, breakpoint: Breakpoint) -> None:
        self.breakpoints[breakpoint.breakpoint_id] = replace(breakpoint, waiting_jobs=[])

    async def delete_breakpoint(self, breakpoint_id: str) -> None:
        self.breakpoints.pop(breakpoint_id, None)

    async def insert_job(
        self, job: Job, idempotency: Idempotency | None = None, *, queue_bound: int | None = None
    ) -> None:
        if queue_bound is not None:
            queued = sum(
                1
                for j in self.jobs.values()
                if j.worker_id == job.worker_id and j.status is JobStatus.QUEUED
            )
            if queued >= queue_bound:
                raise QueueFull.deployment(job.worker_id, queued)
        self.jobs[job.job_id] = _copy(job)
        if idempotency is not None:
            self.idempotency[idempotency.key, idempotency.scope] = (idempotency, job.job_id)

    async def save_job(self, job: Job, ended: Event | None = None) -> None:
        if self._fenced(job.job_id, job.owner):
            return
        self.jobs[job.job_id] = _copy(job)
        if ended is not None:
            self.events.append(ended)
        if job.status in DROPPED_AT:
            self.checkpoints.pop(job.job_id, None)

    def save_job_later(self, job: Job) -> None:
        if not self._fenced(job.job_id, job.owner):
            self.jobs[job.job_id] = _copy(job)

    def checkpoint_later(self, checkpoint: Checkpoint) -> None:
        # Payloads are kept by reference (the engine never changes one once delivered).
        if self._fenced(checkpoint.job_id, checkpoint.owner):
            return
        kept = self.checkpoints.setdefault(checkpoint.job_id, _Checkpoints())
        kept.seq = checkpoint.seq
        for delivery in checkpoint.added:
            kept.deliveries[delivery.seq] = delivery
        for seq in checkpoint.taken:
            kept.deliveries.pop(seq, None)
        for state in checkpoint.states:
            kept.states[state.routine_id] = RoutineState(
                state.routine_id, dict(state.state), state.deadline, dict(state.running)
            )
        if checkpoint.job is not None:
            self.jobs[checkpoint.job_id] = _copy(checkpoint.job)
        else:
            job = self.jobs.get(checkpoint.job_id)
            if job is not None:
                job.progress = {k: _shallow(v) for k, v in checkpoint.progress.items()}

    async def load_checkpoint(self, job_id: str) -> JobCheckpoint:
        kept = self.checkpoints.get(job_id)
        if kept is None:
            return JobCheckpoint()
        deliveries = [kept.deliveries[seq] for seq in sorted(kept.deliveries)]
        states = {
            rid: RoutineState(rid, dict(s.state), s.deadline, dict(s.running))
            for rid, s in kept.states.items()
        }
        return JobCheckpoint(kept.seq, deliveries=deliveries, states=states)

    def checkpoint_backlog(self, job_id: str) -> int:
        return 0  # kept at once

    async def get_job(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return _copy(job) if job else None

    def save_worker_later(self, worker: Worker) -> None:
        self.workers[worker.worker_id] = _shallow(worker)

    def save_event_later(self, event: Event) -> None:
        self.events.append(event)

    def save_log_later(self, log: JobLog) -> None:
        self.logs.append(log)

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class _Checkpoints:
    seq: int = 0
    deliveries: dict[int, Delivery] = field(default_factory=dict)
    states: dict[str, RoutineState] = field(default_factory=dict)


R = TypeVar("R")


def _shallow(record: R) -> R:
    """A copy of a (slot-less) dataclass record: ``dataclasses.replace`` without re-running
    ``__init__``, which made these copies a noticeable share of the engine's time per job."""
    copy: R = object.__new__(type(record))
    copy.__dict__.update(record.__dict__)
    return copy


def _copy(job: Job) -> Job:
    copy = _shallow(job)
    copy.progress = {k: _shallow(v) for k, v in job.progress.items()}
    copy.output = {k: list(v) for k, v in job.output.items()}
    return copy
