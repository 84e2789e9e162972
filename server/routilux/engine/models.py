"""The engine's records: flows, jobs, workers and breakpoints, independent of any wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from routilux.engine.spec import FlowSpec


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
UNFINISHED_JOB_STATUSES = tuple(s for s in JobStatus if s not in _TERMINAL)


class WorkerStatus(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class RoutineStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    IDLE = "idle"
    COMPLETED = "completed"
    FAILED = "failed"
    ERROR_CONTINUED = "error_continued"
    SKIPPED = "skipped"


@dataclass
class FlowRecord:
    flow_id: str
    spec: FlowSpec
    revision: int
    created_at: datetime
    updated_at: datetime


@dataclass
class JobError:
    """Why a job failed: ``code`` is stable (routine_failed, job_timeout, interrupted, ...)."""

    code: str
    type: str
    message: str
    routine_id: str | None = None


@dataclass
class PausedAt:
    breakpoint_id: str
    routine_id: str
    slot: str
    payload: dict[str, Any]


@dataclass
class RoutineProgress:
    status: RoutineStatus = RoutineStatus.PENDING
    activations: int = 0
    completed: int = 0
    failed: int = 0
    retries: int = 0
    emitted: int = 0
    last_error: str | None = None


@dataclass
class Job:
    job_id: str
    flow_id: str
    worker_id: str
    status: JobStatus
    input: dict[str, Any]
    created_at: datetime
    entry: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    output: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: JobError | None = None
    paused_at: PausedAt | None = None
    progress: dict[str, RoutineProgress] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    flow_revision: int = 1  # the flow's revision when the job was queued: the one it runs
    recoveries: int = 0  # how often it was resumed from its checkpoint after its process died
    # The replica holding it (queued or running); after it finished, the one that ran it last.
    owner: str | None = None

    @property
    def replica_id(self) -> str | None:
        """The replica running it: its owner, but none while it waits in a queue."""
        return None if self.status is JobStatus.QUEUED else self.owner


@dataclass
class Worker:
    worker_id: str
    flow_id: str
    status: WorkerStatus
    concurrency: int
    created_at: datetime
    active_jobs: int = 0
    queued_jobs: int = 0
    jobs_processed: int = 0
    jobs_failed: int = 0


@dataclass
class Breakpoint:
    breakpoint_id: str
    flow_id: str
    routine_id: str
    created_at: datetime
    slot: str | None = None
    job_id: str | None = None
    condition: str | None = None
    enabled: bool = True
    hit_count: int = 0
    waiting_jobs: list[str] = field(default_factory=list)
