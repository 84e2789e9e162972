"""Replicas: the server processes sharing one database, each holding the jobs it runs.

Every runtime joins the deployment at start under a fresh id, heartbeats while it runs, and
leaves (``stopped``) when it shuts down cleanly. A replica whose heartbeat is older than the
lease is marked ``lost`` by whichever live replica sees it first (one conditional update: only
one of them publishes ``replica.lost``). The unfinished jobs of a replica that is not alive any
more are claimed (one conditional update again) by a live one, which resumes them from their
checkpoints. What a lost replica still writes about its former jobs is fenced off by the store:
a job's row and its checkpoints are only written for the replica that owns it.

The store side is :class:`ReplicaStore`; :class:`MemoryReplicas` keeps it in process (engine
tests, two runtimes on one :class:`~routilux.engine.storage.MemoryStore`), the SQL store keeps
it in its ``replicas`` table. What a runtime does as a replica is
:mod:`routilux.engine.replica_agent`'s.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from routilux.engine.clock import new_id, utcnow
from routilux.engine.models import Breakpoint, FlowRecord, Job, JobStatus, Worker
from routilux.engine.signals import MemoryBoard, MemorySignals, NoSignals, Signals
from routilux.engine.slots import MemorySlotBoard, SlotStore, Unshared

log = logging.getLogger("routilux.engine")

STALE_REPLICAS_KEPT = timedelta(days=1)
"""Stopped and lost replicas stay listed this long after their last heartbeat."""


class ReplicaRole(StrEnum):
    ALL = "all"  # serves the API and executes jobs
    EXECUTOR = "executor"  # executes jobs only: ``routilux serve --executor-only``


class ReplicaStatus(StrEnum):
    ALIVE = "alive"
    STOPPED = "stopped"
    LOST = "lost"


@dataclass
class Replica:
    replica_id: str
    role: ReplicaRole
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    status: ReplicaStatus = ReplicaStatus.ALIVE
    jobs_held: int = 0  # unfinished jobs it owns (filled in by listings)

    def event_data(self) -> dict[str, Any]:
        """What ``replica.joined`` and ``replica.lost`` carry."""
        return {
            "replica_id": self.replica_id,
            "role": self.role.value,
            "host": self.host,
            "pid": self.pid,
            "heartbeat_at": self.heartbeat_at.isoformat(),
        }


def this_process(role: ReplicaRole = ReplicaRole.ALL) -> Replica:
    """A new replica record for this process."""
    now = utcnow()
    return Replica(new_id("rep"), role, socket.gethostname(), os.getpid(), now, now)


def process_gone(replica: Replica) -> bool:
    """Whether ``replica`` ran on this host in a process that no longer exists (it died without
    leaving, and its lease need not be waited for): host names are taken to name machines or
    containers, each with its own process ids. (A process that reuses the pid of a dead one, as
    a container's first process does, waits for the lease.)"""
    if replica.host != socket.gethostname():
        return False
    try:
        os.kill(replica.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (owned by someone else)
    return False


class ReplicaStore(Protocol):
    """What replicas need from the store."""

    @property
    def exclusive(self) -> bool:
        """This process is the only one on the database (SQLite's lock): other replicas are
        known to be gone."""
        ...

    async def join(self, replica: Replica) -> None: ...

    async def heartbeat(self, replica_id: str, at: datetime) -> bool:
        """Record that ``replica_id`` is alive; False if it was marked lost (or is unknown)."""
        ...

    async def leave(self, replica_id: str, at: datetime) -> None:
        """Mark ``replica_id`` stopped (a clean shutdown)."""
        ...

    async def mark_lost(self, older_than: datetime, also: list[str]) -> list[Replica]:
        """Mark lost every alive replica whose heartbeat is older than ``older_than``, and those
        of ``also``; return those this call marked (no other call returns them too). Stopped and
        lost replicas older than :data:`STALE_REPLICAS_KEPT` are forgotten."""
        ...

    async def claim_jobs(self, replica_id: str) -> list[Job]:
        """Take over the unfinished jobs whose owner is not an alive replica; return them."""
        ...

    async def owned_jobs(self, replica_id: str) -> list[str]:
        """The ids of the unfinished jobs ``replica_id`` owns."""
        ...

    async def unfinished_jobs_of(self, flow_id: str) -> int:
        """How many jobs of ``flow_id`` are unfinished, on every replica (queued ones too)."""

    async def take_job(self, job_id: str, replica_id: str) -> bool:
        """Take a failed job to retry it: it becomes queued, owned by ``replica_id``; False if
        it is not failed any more (someone else took it)."""
        ...

    async def list_replicas(self) -> list[Replica]:
        """Every replica known, with the unfinished jobs each holds."""
        ...

    async def alive(self) -> set[str]:
        """The ids of the alive replicas (one short read: asked before forwarding a control)."""
        ...

    async def get_worker(self, worker_id: str) -> Worker | None: ...

    async def get_flow(self, flow_id: str) -> FlowRecord | None:
        """The flow's current record, if it exists."""
        ...

    async def get_breakpoint(self, breakpoint_id: str) -> Breakpoint | None: ...

    def signals(self) -> Signals:
        """A new connection to the deployment's signals, for one runtime."""
        ...

    def slots(self) -> SlotStore:
        """The deployment's run slots, as one runtime holds them."""
        ...


class MemoryReplicas:
    """Replicas kept in process, over a MemoryStore's jobs."""

    def __init__(
        self,
        jobs: dict[str, Job],
        workers: dict[str, Worker],
        flows: dict[str, FlowRecord],
        breakpoints: dict[str, Breakpoint],
        *,
        exclusive: bool,
    ) -> None:
        self._jobs = jobs
        self._workers = workers
        self._flows = flows
        self._breakpoints = breakpoints
        self._exclusive = exclusive
        self.replicas: dict[str, Replica] = {}
        self._board = MemoryBoard()
        self._slot_board = MemorySlotBoard()

    @property
    def exclusive(self) -> bool:
        return self._exclusive

    async def join(self, replica: Replica) -> None:
        self.replicas[replica.replica_id] = replace(replica)

    async def heartbeat(self, replica_id: str, at: datetime) -> bool:
        replica = self.replicas.get(replica_id)
        if replica is None or replica.status is not ReplicaStatus.ALIVE:
            return False
        replica.heartbeat_at = at
        return True

    async def leave(self, replica_id: str, at: datetime) -> None:
        replica = self.replicas.get(replica_id)
        if replica is not None and replica.status is ReplicaStatus.ALIVE:
            replica.status, replica.heartbeat_at = ReplicaStatus.STOPPED, at

    async def mark_lost(self, older_than: datetime, also: list[str]) -> list[Replica]:
        marked = []
        for replica in list(self.replicas.values()):
            if replica.status is ReplicaStatus.ALIVE and (
                replica.heartbeat_at < older_than or replica.replica_id in also
            ):
                replica.status = ReplicaStatus.LOST
                marked.append(replace(replica))
            elif (
                replica.status is not ReplicaStatus.ALIVE
                and replica.heartbeat_at < older_than - STALE_REPLICAS_KEPT
            ):
                del self.replicas[replica.replica_id]
        return marked

    async def alive(self) -> set[str]:
        return {r.replica_id for r in self.replicas.values() if r.status is ReplicaStatus.ALIVE}

    async def claim_jobs(self, replica_id: str) -> list[Job]:
        alive = await self.alive()
        claimed = []
        for job in self._jobs.values():
            if not job.status.finished and job.owner not in alive:
                job.owner = replica_id
                progress = {rid: replace(p) for rid, p in job.progress.items()}
                output = {key: list(items) for key, items in job.output.items()}
                claimed.append(replace(job, progress=progress, output=output))
        return claimed

    async def owned_jobs(self, replica_id: str) -> list[str]:
        return [
            j.job_id for j in self._jobs.values() if j.owner == replica_id and not j.status.finished
        ]

    async def unfinished_jobs_of(self, flow_id: str) -> int:
        return sum(1 for j in self._jobs.values() if j.flow_id == flow_id and not j.status.finished)

    async def take_job(self, job_id: str, replica_id: str) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.status is not JobStatus.FAILED:
            return False
        job.status, job.owner = JobStatus.QUEUED, replica_id
        return True

    async def list_replicas(self) -> list[Replica]:
        held: dict[str | None, int] = {}
        for job in self._jobs.values():
            if not job.status.finished:
                held[job.owner] = held.get(job.owner, 0) + 1
        return [replace(r, jobs_held=held.get(r.replica_id, 0)) for r in self.replicas.values()]

    async def get_worker(self, worker_id: str) -> Worker | None:
        worker = self._workers.get(worker_id)
        return replace(worker) if worker is not None else None

    async def get_flow(self, flow_id: str) -> FlowRecord | None:
        return self._flows.get(flow_id)

    async def get_breakpoint(self, breakpoint_id: str) -> Breakpoint | None:
        bp = self._breakpoints.get(breakpoint_id)
        return replace(bp) if bp is not None else None

    def signals(self) -> Signals:
        return NoSignals() if self._exclusive else MemorySignals(self._board)

    def slots(self) -> SlotStore:
        return Unshared() if self._exclusive else self._slot_board.member()
