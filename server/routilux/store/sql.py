"""``SqlStore``: the engine's :class:`~routilux.engine.storage.Store` on SQLAlchemy, plus the reads
the HTTP layer needs.

Writes go to the group-commit :class:`~routilux.store.writer.Writer`. Reads run in worker threads
(``anyio.to_thread``) on pooled connections, so the event loop never waits on the database; with
SQLite in WAL mode readers see the last commit and never block the writer. The read queries
themselves live in :mod:`routilux.store.queries`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import anyio
from sqlalchemy import Connection, literal, select
from sqlalchemy.exc import DBAPIError

from routilux.engine.checkpoint import Checkpoint, JobCheckpoint
from routilux.engine.clock import utcnow
from routilux.engine.errors import StoreUnavailable
from routilux.engine.events import TERMINAL_JOB_EVENTS, Event, EventFilter, EventType
from routilux.engine.joblogs import JobLog
from routilux.engine.models import Breakpoint, FlowRecord, Job, JobStatus, Worker
from routilux.engine.storage import Idempotency, StoredState
from routilux.store import codec, database, queries
from routilux.store.batches import Kind, lane_bytes
from routilux.store.database import StoreClosed
from routilux.store.queries import FlowRevisionPage, JobPage
from routilux.store.replicas import SqlReplicas
from routilux.store.retention import Retention
from routilux.store.writer import Writer

T = TypeVar("T")


DROPPABLE_EVENTS = frozenset(
    {
        EventType.ROUTINE_STARTED,
        EventType.ROUTINE_COMPLETED,
        EventType.ROUTINE_RETRYING,
        EventType.EVENT_EMITTED,
    }
)
"""The events a job publishes per activation. A job's history keeps its first
``routine_events_per_job`` of them (and all its other events); beyond, and while the database
cannot keep up (``queued_events`` waiting), they are left out of the stored history. Job, flow,
worker and failure events never are; live subscribers get every event regardless."""


class SqlStore:
    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        events_per_job: int = 10_000,
        events_total: int = 1_000_000,
        idempotency_ttl: float = 86_400.0,
        job_retention: float | None = None,
        jobs_kept: int | None = None,
        prune_interval: float = 5.0,
        readers: int = 8,
        revisions_per_flow: int | None = None,
        queued_events: int = 50_000,
        queued_event_bytes: int = 64 * 1024 * 1024,
        routine_events_per_job: int | None = None,
        statement_timeout_ms: int = database.STATEMENT_TIMEOUT_MS,
        numbered: bool | None = None,
        fenced: bool | None = None,
    ) -> None:
        """``numbered``: events and job log lines get their ids as they are committed, in one
        order for every process on the database (store/batches.number); None (the default)
        does so wherever processes may share the database (PostgreSQL). Off, the ids given are
        stored as they are, as a process alone on SQLite does.

        ``fenced``: what is written about a job counts only while the writer's replica owns it
        (store/fencing.py); None (the default) wherever processes may share the database. A
        process alone on SQLite owns every job it writes about, and skips the look-up.

        ``job_retention`` (seconds after they finish) and ``jobs_kept`` bound the finished
        jobs kept, with their events and logs; None (or 0) keeps them without that bound."""
        self.url = database.parse(url)
        self.idempotency_ttl = idempotency_ttl
        self.revisions_per_flow = revisions_per_flow  # None: every revision is kept
        self._write_engine = database.create(
            self.url,
            pool_size=1,
            synchronous=sqlite_synchronous,
            statement_timeout_ms=statement_timeout_ms,
        )
        self._read_engine = database.create(
            self.url,
            pool_size=readers,
            synchronous=sqlite_synchronous,
            read_only=True,
            statement_timeout_ms=statement_timeout_ms,
        )
        self._readers = anyio.CapacityLimiter(readers)
        self.replicas = SqlReplicas(
            self.url, synchronous=sqlite_synchronous, statement_timeout_ms=statement_timeout_ms
        )
        retention = Retention(
            events_per_job=events_per_job,
            events_total=events_total,
            idempotency_ttl=idempotency_ttl,
            job_retention=job_retention,
            jobs_kept=jobs_kept,
        )
        self.retention = retention
        self._writer = Writer(
            self._write_engine,
            retention,
            prune_interval=prune_interval,
            max_events=queued_events,
            max_event_bytes=queued_event_bytes,
            numbered=not self.replicas.exclusive if numbered is None else numbered,
            fenced=not self.replicas.exclusive if fenced is None else fenced,
        )
        # None: every event is written (and retention keeps the newest ``events_per_job``).
        self._routine_events_per_job = routine_events_per_job or 2**62
        self._routine_events: dict[str | None, int] = {}  # per unfinished job: stored so far
        self.events_left_out = 0
        self.logs_left_out = 0  # job log lines not stored: the events' lane was full
        self._state: Literal["new", "open", "closed"] = "new"
        self._lock: int | None = None  # SQLite: the descriptor holding <database>.lock

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the data directory, migrate the schema to the newest revision, start writing."""
        if self._state == "open":
            return
        if self._state == "closed":
            raise StoreClosed("a closed store cannot be opened again; make a new one")
        await anyio.to_thread.run_sync(self._prepare)
        self._writer.start()
        self._state = "open"

    def _prepare(self) -> None:
        database.ensure_directory(self.url)
        self._lock = database.lock(self.url)
        try:
            database.migrate(self._write_engine)
        except BaseException:
            database.unlock(self._lock)
            self._lock = None
            raise

    async def close(self) -> None:
        """Commit everything queued, stop the writer and release connections. Idempotent."""
        if self._state == "closed":
            return
        was_open = self._state == "open"
        self._state = "closed"
        await database.settle(self._readers)
        await self.replicas.close()
        await anyio.to_thread.run_sync(self._shutdown, was_open)

    def _shutdown(self, writer_running: bool) -> None:
        if writer_running:
            self._writer.stop()
        self._write_engine.dispose()
        self._read_engine.dispose()
        database.unlock(self._lock)
        self._lock = None

    async def ping(self) -> None:
        """Raise unless the database answers a query (for readiness checks)."""
        if self._state == "closed":
            raise StoreClosed("the store is closed")
        await anyio.to_thread.run_sync(self._ping, limiter=self._readers)

    def _ping(self) -> None:
        if self._state == "closed":  # (see _run_read)
            raise StoreClosed("the store is closed")
        with self._read_engine.connect() as conn:
            conn.execute(select(literal(1))).scalar_one()
        if not self._writer.connected:
            raise StoreUnavailable("the store's writer has no connection to the database yet")

    # -- engine protocol: writes ---------------------------------------------------------------

    async def save_flow(self, flow: FlowRecord, idempotency: Idempotency | None = None) -> None:
        """The flow and its revision (and the idempotency key that created it) in one
        transaction; beyond ``revisions_per_flow`` revisions, the oldest go."""
        keep = self.revisions_per_flow
        if keep is not None and flow.revision > keep and self._state == "open":
            self._writer.submit(Kind.REVISIONS_PRUNE, (flow.flow_id, flow.revision - keep + 1))
        key = None
        if idempotency is not None:
            key = codec.idempotency_row(idempotency, flow.flow_id, utcnow())
        await self._durable(Kind.FLOW, (codec.flow_row(flow), key))

    async def delete_flow(self, flow_id: str) -> None:
        await self._durable(Kind.FLOW_DELETE, flow_id)

    async def save_breakpoint(self, breakpoint: Breakpoint) -> None:
        await self._durable(Kind.BREAKPOINT, codec.breakpoint_row(breakpoint))

    async def delete_breakpoint(self, breakpoint_id: str) -> None:
        await self._durable(Kind.BREAKPOINT_DELETE, breakpoint_id)

    async def insert_job(
        self, job: Job, idempotency: Idempotency | None = None, *, queue_bound: int | None = None
    ) -> None:
        """The job (and its idempotency key) in one transaction, committed before returning;
        refused if its worker's queue is at ``queue_bound`` (see batches.queue_bounds)."""
        key = None
        if idempotency is not None:
            key = codec.idempotency_row(idempotency, job.job_id, utcnow())
        await self._durable(Kind.JOB_INSERT, (codec.job_row(job), key, queue_bound))

    async def save_job(self, job: Job, ended: Event | None = None) -> None:
        row = codec.job_row(job)
        kind: Kind = Kind.JOB
        payload: Any = row
        if ended is not None:  # stored with the job's end (see engine/ending.py)
            kind, payload = Kind.JOB_END, (row, codec.event_row(ended))
            self._routine_events.pop(job.job_id, None)
        try:
            await self._durable(kind, payload)
        except StoreUnavailable:
            # A job's state moved on (it finished, say) while the database was away: the row
            # waits in the queue and is written once the database is back.
            self._writer.submit(kind, payload)
            raise

    def save_job_later(self, job: Job) -> None:
        if self._state == "open":
            self._writer.submit(Kind.JOB, codec.job_row(job))

    def checkpoint_later(self, checkpoint: Checkpoint) -> None:
        if self._state == "open":
            self._writer.submit(Kind.CHECKPOINT, codec.checkpoint_rows(checkpoint))

    def checkpoint_backlog(self, job_id: str) -> int:
        return self._writer.checkpoint_backlog(job_id)

    async def load_checkpoint(self, job_id: str) -> JobCheckpoint:
        return await self._read(queries.checkpoint(job_id))

    def save_worker_later(self, worker: Worker) -> None:
        if self._state == "open":
            self._writer.submit(Kind.WORKER, codec.worker_row(worker))

    def save_event_later(self, event: Event) -> None:
        if self._state != "open":
            return
        droppable = event.type in DROPPABLE_EVENTS
        if droppable:
            # A job's first ``routine_events_per_job`` routine-level events are stored, no more:
            # a job that runs away cannot keep the database (and the loop, through the writer)
            # busy writing what retention would delete.
            job_id = event.job_id
            count = self._routine_events.get(job_id, 0)
            if count >= self._routine_events_per_job:
                self.events_left_out += 1
                return
            self._routine_events[job_id] = count + 1
        elif event.type in TERMINAL_JOB_EVENTS:
            self._routine_events.pop(event.job_id, None)
        if self._writer.drop_event(droppable):
            return
        row = codec.event_row(event)
        if not self._writer.drop_event(droppable, lane_bytes(Kind.EVENT, row)):
            self._writer.submit(Kind.EVENT, row)

    def save_log_later(self, log: JobLog) -> None:
        """Job log lines share the events' bounded lane: while the database cannot keep up and
        it is full, they are left out (counted) rather than held in memory."""
        if self._state != "open":
            return
        writer = self._writer
        if writer.queued_events >= writer.max_events:
            self.logs_left_out += 1
            return
        row = codec.log_row(log)
        if writer.queued_event_bytes + lane_bytes(Kind.LOG, row) > writer.max_event_bytes:
            self.logs_left_out += 1
            return
        writer.submit(Kind.LOG, row)

    async def flush(self) -> None:
        """Return once everything written before this call is committed."""
        if self._state == "open":
            await self._writer.submit_durable(Kind.BARRIER, None)

    async def prune(self) -> None:
        """Apply retention now (it also runs every ``prune_interval`` seconds)."""
        self._check_open()
        await self._writer.submit_durable(Kind.PRUNE, None)

    async def _durable(self, kind: Kind, payload: Any) -> None:
        self._check_open()
        await self._writer.submit_durable(kind, payload)

    def _check_open(self) -> None:
        if self._state != "open":
            raise StoreClosed(f"the store is {'closed' if self._state == 'closed' else 'not open'}")

    # -- engine protocol: reads ----------------------------------------------------------------

    async def load(self) -> StoredState:
        await self.flush()
        return await self._read(queries.stored_state)

    async def get_job(self, job_id: str) -> Job | None:
        return await self._read(queries.job(job_id))

    async def get_flow_revision(self, flow_id: str, revision: int) -> FlowRecord | None:
        return await self._read(queries.flow_revision(flow_id, revision))

    # -- reads for the HTTP layer --------------------------------------------------------------

    async def list_flow_revisions(
        self, flow_id: str, *, limit: int = 50, cursor: int | None = None
    ) -> FlowRevisionPage:
        """A flow's revisions, newest first; ``cursor``: the last revision of the page before."""
        return await self._read(queries.flow_revision_page(flow_id, limit=limit, cursor=cursor))

    async def list_job_logs(
        self, job_id: str, *, after: int = 0, limit: int = 100, min_level: int = 0
    ) -> list[JobLog]:
        """What a job's routines logged, in order, the lines with an id above ``after``: every
        line logged before the call included (written behind, it is committed first)."""
        await self.flush()
        return await self._read(
            queries.job_logs(job_id, after=after, limit=limit, min_level=min_level)
        )

    async def list_jobs(
        self,
        *,
        flow_id: str | None = None,
        worker_id: str | None = None,
        statuses: Sequence[JobStatus] = (),
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> JobPage:
        """Newest first. ``total`` counts every match of the filters, whatever the cursor."""
        query = queries.job_page(
            flow_id, worker_id, statuses, created_after, created_before, limit, cursor
        )
        return await self._read(query)

    async def list_job_events(
        self, job_id: str, *, after: int = 0, limit: int = 100
    ) -> list[Event]:
        """A job's events in id order, those with an id above ``after``: every event published
        before the call included (written behind, it is committed first)."""
        await self.flush()
        return await self._read(queries.job_events(job_id, after=after, limit=limit))

    async def list_events(
        self, *, after: int, filters: Sequence[EventFilter] = (), limit: int = 1000
    ) -> list[Event]:
        """Events above ``after`` in id order, matching any filter (all events without one)."""
        return await self._read(queries.events(after=after, filters=filters, limit=limit))

    async def newest_event_id(self) -> int:
        """The highest event id committed (0 for none)."""
        return await self._read(queries.newest_event_id)

    async def find_idempotency(self, key: str, scope: str) -> tuple[str, str] | None:
        """(fingerprint, resource_id) of a key that has not expired, else None."""
        cutoff = utcnow() - timedelta(seconds=self.idempotency_ttl)
        return await self._read(queries.idempotency_key(key, scope, cutoff))

    async def _read(self, query: Callable[[Connection], T]) -> T:
        self._check_open()
        return await anyio.to_thread.run_sync(self._run_read, query, limiter=self._readers)

    def _run_read(self, query: Callable[[Connection], T]) -> T:
        # Checked again here: a read that waited for a reader while the store closed would
        # otherwise open a connection after the engine was disposed of (never closed).
        self._check_open()
        try:
            with self._read_engine.connect() as conn:
                return query(conn)
        except DBAPIError as exc:
            if database.unreachable(exc):
                raise StoreUnavailable() from exc
            raise
