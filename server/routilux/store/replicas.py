"""The replicas of a deployment in SQL (the engine's :class:`~routilux.engine.replicas.
ReplicaStore`): joining, heartbeats, marking lost, claiming jobs, and blocks of event ids.

These statements run on a connection of their own, not through the group-commit writer: a
heartbeat must not wait behind a batch of events, and a claim must be committed before the jobs
it returns are resumed. Each is one atomic statement, so two replicas racing for the same lost
replica or job never both win.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import anyio
from sqlalchemy import Column, Connection, Engine, delete, func, insert, or_, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from routilux.engine.errors import StoreUnavailable
from routilux.engine.models import (
    UNFINISHED_JOB_STATUSES,
    Breakpoint,
    FlowRecord,
    Job,
    JobStatus,
    Worker,
)
from routilux.engine.replicas import (
    STALE_REPLICAS_KEPT,
    Replica,
    ReplicaRole,
    ReplicaStatus,
)
from routilux.engine.signals import NoSignals, Signals
from routilux.engine.slots import SlotStore, Unshared
from routilux.store import codec, database, tables
from routilux.store.signals import PgSignals
from routilux.store.slots import PgSlots

T = TypeVar("T")

ALIVE = ReplicaStatus.ALIVE.value
UNFINISHED = [s.value for s in UNFINISHED_JOB_STATUSES]


class SqlReplicas:
    def __init__(self, url: URL, *, synchronous: str, statement_timeout_ms: int) -> None:
        self._url = url
        # Two connections: the heartbeat loop's and a request's (a listing, a retry's take).
        self._engine: Engine = database.create(
            url, pool_size=2, synchronous=synchronous, statement_timeout_ms=statement_timeout_ms
        )
        self._limiter = anyio.CapacityLimiter(2)
        self._closed = False

    @property
    def exclusive(self) -> bool:
        # A SQLite database serves the one process holding its lock (store/database.py).
        return database.is_sqlite(self._url)

    async def close(self) -> None:
        """Wait for the calls under way, refuse new ones, release the connections."""
        if self._closed:
            return
        self._closed = True
        await database.settle(self._limiter)
        self._engine.dispose()

    async def _run(self, work: Callable[[Connection], T]) -> T:
        if self._closed:
            raise database.StoreClosed("the store is closed")
        return await anyio.to_thread.run_sync(self._in_transaction, work, limiter=self._limiter)

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        if self._closed:  # closed while this call waited for a connection (see SqlStore)
            raise database.StoreClosed("the store is closed")
        try:
            with self._engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            if database.unreachable(exc):
                raise StoreUnavailable() from exc
            raise

    async def join(self, replica: Replica) -> None:
        row = {
            "replica_id": replica.replica_id,
            "role": replica.role.value,
            "host": replica.host[:255],
            "pid": replica.pid,
            "started_at": replica.started_at,
            "heartbeat_at": replica.heartbeat_at,
            "status": replica.status.value,
        }
        await self._run(lambda conn: conn.execute(insert(tables.replicas), row))

    async def heartbeat(self, replica_id: str, at: datetime) -> bool:
        table = tables.replicas
        stmt = (
            update(table)
            .where(table.c.replica_id == replica_id, table.c.status == ALIVE)
            .values(heartbeat_at=at)
        )
        return await self._run(lambda conn: conn.execute(stmt).rowcount == 1)

    async def leave(self, replica_id: str, at: datetime) -> None:
        table = tables.replicas
        stmt = (
            update(table)
            .where(table.c.replica_id == replica_id, table.c.status == ALIVE)
            .values(status=ReplicaStatus.STOPPED.value, heartbeat_at=at)
        )
        await self._run(lambda conn: conn.execute(stmt))

    async def mark_lost(self, older_than: datetime, also: list[str]) -> list[Replica]:
        table = tables.replicas
        gone = table.c.heartbeat_at < older_than
        if also:
            gone = or_(gone, table.c.replica_id.in_(also))
        stmt = (
            update(table)
            .where(table.c.status == ALIVE, gone)
            .values(status=ReplicaStatus.LOST.value)
            .returning(*table.c)
        )
        forget = delete(table).where(
            table.c.status != ALIVE, table.c.heartbeat_at < older_than - STALE_REPLICAS_KEPT
        )

        def work(conn: Connection) -> list[Replica]:
            marked = [_replica(row) for row in conn.execute(stmt).mappings()]
            conn.execute(forget)
            return marked

        return await self._run(work)

    async def claim_jobs(self, replica_id: str) -> list[Job]:
        jobs, replicas = tables.jobs, tables.replicas
        alive = select(replicas.c.replica_id).where(replicas.c.status == ALIVE)
        # Rows a lost replica's writer has locked are skipped (PostgreSQL; SQLite has a single
        # writer): they are claimed on the next heartbeat, after its batch.
        orphans = (
            select(jobs.c.seq)
            .where(
                jobs.c.status.in_(UNFINISHED),
                or_(jobs.c.owner.is_(None), jobs.c.owner.not_in(alive)),
            )
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(jobs).where(jobs.c.seq.in_(orphans)).values(owner=replica_id).returning(*jobs.c)
        )

        def work(conn: Connection) -> list[Job]:
            return [codec.job_from_row(row) for row in conn.execute(stmt).mappings()]

        return await self._run(work)

    async def owned_jobs(self, replica_id: str) -> list[str]:
        jobs = tables.jobs
        stmt = select(jobs.c.job_id).where(
            jobs.c.owner == replica_id, jobs.c.status.in_(UNFINISHED)
        )  # ix_jobs_owner_status
        return await self._run(lambda conn: list(conn.execute(stmt).scalars()))

    async def unfinished_jobs_of(self, flow_id: str) -> int:
        jobs = tables.jobs
        stmt = (
            select(func.count())
            .select_from(jobs)
            .where(jobs.c.status.in_(UNFINISHED), jobs.c.flow_id == flow_id)
        )  # ix_jobs_status_seq: the unfinished jobs are few
        return await self._run(lambda conn: int(conn.execute(stmt).scalar_one()))

    async def take_job(self, job_id: str, replica_id: str) -> bool:
        jobs = tables.jobs
        stmt = (
            update(jobs)
            .where(jobs.c.job_id == job_id, jobs.c.status == JobStatus.FAILED.value)
            .values(owner=replica_id, status=JobStatus.QUEUED.value)
        )
        return await self._run(lambda conn: conn.execute(stmt).rowcount == 1)

    async def list_replicas(self) -> list[Replica]:
        replicas, jobs = tables.replicas, tables.jobs
        held = (
            select(func.count())
            .select_from(jobs)
            .where(jobs.c.owner == replicas.c.replica_id, jobs.c.status.in_(UNFINISHED))
            .scalar_subquery()
        )
        stmt = select(replicas, held.label("jobs_held"))

        def work(conn: Connection) -> list[Replica]:
            return [_replica(row) for row in conn.execute(stmt).mappings()]

        return await self._run(work)

    async def alive(self) -> set[str]:
        table = tables.replicas
        stmt = select(table.c.replica_id).where(table.c.status == ALIVE)
        return await self._run(lambda conn: set(conn.execute(stmt).scalars()))

    async def get_worker(self, worker_id: str) -> Worker | None:
        return await self._one(tables.workers.c.worker_id, worker_id, codec.worker_from_row)

    async def get_flow(self, flow_id: str) -> FlowRecord | None:
        return await self._one(tables.flows.c.flow_id, flow_id, codec.flow_from_row)

    async def get_breakpoint(self, breakpoint_id: str) -> Breakpoint | None:
        return await self._one(
            tables.breakpoints.c.breakpoint_id, breakpoint_id, codec.breakpoint_from_row
        )

    async def _one(
        self, key: Column[Any], value: str, from_row: Callable[[codec.RowIn], T]
    ) -> T | None:
        """The record whose ``key`` is ``value`` (read as the last committed state), if any."""
        stmt = select(key.table).where(key == value)

        def work(conn: Connection) -> T | None:
            row = conn.execute(stmt).mappings().first()
            return from_row(row) if row is not None else None

        return await self._run(work)

    def signals(self) -> Signals:
        if self.exclusive:
            return NoSignals()
        return PgSignals(self._url)

    def slots(self) -> SlotStore:
        if self.exclusive:
            return Unshared()
        return PgSlots(self._url)


def _replica(row: codec.RowIn) -> Replica:
    return Replica(
        replica_id=row["replica_id"],
        role=ReplicaRole(row["role"]),
        host=row["host"],
        pid=row["pid"],
        started_at=row["started_at"],
        heartbeat_at=row["heartbeat_at"],
        status=ReplicaStatus(row["status"]),
        jobs_held=int(row.get("jobs_held", 0) or 0),
    )
