"""The store's read queries: each function builds its statements up front and returns the
function that runs them on one pooled read connection (``SqlStore`` runs it in a worker thread).

Jobs and a flow's revisions come in pages, newest first; events and job log lines in id order,
after a given id. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from routilux.engine.checkpoint import JobCheckpoint
from routilux.engine.events import Event, EventFilter
from routilux.engine.joblogs import JobLog
from routilux.engine.models import FlowRecord, Job, JobStatus
from routilux.engine.storage import StoredState
from routilux.store import codec, tables

T = TypeVar("T")
Query = Callable[[Connection], T]
"""Runs its statements on one read connection and returns what they found."""


@dataclass
class JobPage:
    """One page of jobs, newest first. Pass ``next_cursor`` back for the next page."""

    items: list[Job]
    next_cursor: int | None
    total: int


@dataclass
class FlowRevisionPage:
    """One page of a flow's revisions, newest first."""

    items: list[FlowRecord]
    next_cursor: int | None
    total: int


def stored_state(conn: Connection) -> StoredState:
    """What the engine starts from: flows, workers, breakpoints and the newest event id (the
    unfinished jobs are claimed apart: ``ReplicaStore.claim_jobs``)."""
    return StoredState(
        flows=[codec.flow_from_row(r) for r in conn.execute(select(tables.flows)).mappings()],
        workers=[codec.worker_from_row(r) for r in conn.execute(select(tables.workers)).mappings()],
        breakpoints=[
            codec.breakpoint_from_row(r)
            for r in conn.execute(select(tables.breakpoints)).mappings()
        ],
        last_event_id=newest_event_id(conn),
    )


def newest_event_id(conn: Connection) -> int:
    """The highest event id stored (0 for none)."""
    return int(conn.execute(select(func.max(tables.events.c.id))).scalar() or 0)


def checkpoint(job_id: str) -> Query[JobCheckpoint]:
    """A job's last checkpoint: its pending deliveries and routine states (empty if none)."""
    deliveries, routines, saved = tables.job_deliveries, tables.job_routines, tables.job_checkpoints
    head_stmt = select(saved).where(saved.c.job_id == job_id)
    deliveries_stmt = (
        select(deliveries).where(deliveries.c.job_id == job_id).order_by(deliveries.c.seq)
    )
    states_stmt = select(routines).where(routines.c.job_id == job_id)

    def query(conn: Connection) -> JobCheckpoint:
        head = conn.execute(head_stmt).mappings().first()
        if head is None:
            return JobCheckpoint()
        return JobCheckpoint(
            seq=head["seq"],
            progress=codec.progress_from_json(head["progress"]),
            deliveries=[
                codec.delivery_from_row(r) for r in conn.execute(deliveries_stmt).mappings()
            ],
            states={
                r["routine_id"]: codec.routine_state_from_row(r)
                for r in conn.execute(states_stmt).mappings()
            },
        )

    return query


def job(job_id: str) -> Query[Job | None]:
    """One job, or None."""
    stmt = select(tables.jobs).where(tables.jobs.c.job_id == job_id)

    def query(conn: Connection) -> Job | None:
        found = conn.execute(stmt).mappings().first()
        return codec.job_from_row(found) if found is not None else None

    return query


def flow_revision(flow_id: str, revision: int) -> Query[FlowRecord | None]:
    """One revision of a flow, or None."""
    table = tables.flow_revisions
    stmt = select(table).where(table.c.flow_id == flow_id, table.c.revision == revision)

    def query(conn: Connection) -> FlowRecord | None:
        found = conn.execute(stmt).mappings().first()
        return codec.flow_from_row(found) if found is not None else None

    return query


def flow_revision_page(flow_id: str, *, limit: int, cursor: int | None) -> Query[FlowRevisionPage]:
    """A flow's revisions, newest first; ``cursor``: the last revision of the page before."""
    table = tables.flow_revisions
    page = select(table).where(table.c.flow_id == flow_id)
    if cursor is not None:
        page = page.where(table.c.revision < cursor)
    page = page.order_by(table.c.revision.desc()).limit(limit + 1)
    count = select(func.count()).select_from(table).where(table.c.flow_id == flow_id)

    def query(conn: Connection) -> FlowRevisionPage:
        rows = conn.execute(page).mappings().all()
        total = conn.execute(count).scalar_one()
        more = len(rows) > limit
        items = [codec.flow_from_row(row) for row in rows[:limit]]
        next_cursor = items[-1].revision if more and items else None
        return FlowRevisionPage(items, next_cursor, int(total))

    return query


def job_page(
    flow_id: str | None,
    worker_id: str | None,
    statuses: Sequence[JobStatus],
    created_after: datetime | None,
    created_before: datetime | None,
    limit: int,
    cursor: int | None,
) -> Query[JobPage]:
    """Jobs newest first; ``total`` counts every match of the filters, whatever the cursor."""
    jobs = tables.jobs
    where: list[ColumnElement[bool]] = []
    if flow_id is not None:
        where.append(jobs.c.flow_id == flow_id)
    if worker_id is not None:
        where.append(jobs.c.worker_id == worker_id)
    wanted = sorted({JobStatus(s).value for s in statuses})
    if len(wanted) == 1:
        where.append(jobs.c.status == wanted[0])
    elif wanted:
        where.append(jobs.c.status.in_(wanted))
    if created_after is not None:
        where.append(jobs.c.created_at > created_after)
    if created_before is not None:
        where.append(jobs.c.created_at < created_before)
    page = select(jobs).where(*where)
    if cursor is not None:
        page = page.where(jobs.c.seq < cursor)
    page = page.order_by(jobs.c.seq.desc()).limit(limit + 1)
    count = select(func.count()).select_from(jobs).where(*where)

    def query(conn: Connection) -> JobPage:
        rows = conn.execute(page).mappings().all()
        total = conn.execute(count).scalar_one()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [codec.job_from_row(row) for row in rows]
        return JobPage(items, rows[-1]["seq"] if more and rows else None, int(total))

    return query


def job_logs(job_id: str, *, after: int, limit: int, min_level: int) -> Query[list[JobLog]]:
    """A job's log lines with an id above ``after`` and at least ``min_level``, in id order."""
    table = tables.job_logs
    stmt = select(table).where(table.c.job_id == job_id, table.c.id > after)
    if min_level > 0:
        stmt = stmt.where(table.c.level >= min_level)
    stmt = stmt.order_by(table.c.id).limit(limit)
    return lambda conn: [codec.log_from_row(r) for r in conn.execute(stmt).mappings()]


def job_events(job_id: str, *, after: int, limit: int) -> Query[list[Event]]:
    """A job's events with an id above ``after``, in id order."""
    events = tables.events
    stmt = (
        select(events)
        .where(events.c.job_id == job_id, events.c.id > after)
        .order_by(events.c.id)
        .limit(limit)
    )
    return lambda conn: _events(conn, stmt)


def events(*, after: int, filters: Sequence[EventFilter], limit: int) -> Query[list[Event]]:
    """Events above ``after`` in id order, matching any filter (all events without one)."""
    table = tables.events
    stmt = select(table).where(table.c.id > after)
    clauses = [_filter_clause(f) for f in filters]
    if clauses and all(c is not None for c in clauses):
        stmt = stmt.where(or_(*(c for c in clauses if c is not None)))
    stmt = stmt.order_by(table.c.id).limit(limit)
    return lambda conn: _events(conn, stmt)


def idempotency_key(key: str, scope: str, cutoff: datetime) -> Query[tuple[str, str] | None]:
    """(fingerprint, resource_id) of a key created at or after ``cutoff``, else None."""
    keys = tables.idempotency
    stmt = select(keys.c.fingerprint, keys.c.resource_id).where(
        keys.c.key == key, keys.c.scope == scope, keys.c.created_at >= cutoff
    )

    def query(conn: Connection) -> tuple[str, str] | None:
        row = conn.execute(stmt).first()
        return (row[0], row[1]) if row is not None else None

    return query


def _events(conn: Connection, stmt: Any) -> list[Event]:
    return [codec.event_from_row(r) for r in conn.execute(stmt).mappings()]


def _filter_clause(f: EventFilter) -> ColumnElement[bool] | None:
    """The SQL of one filter; None when it matches everything."""
    table = tables.events
    parts: list[ColumnElement[bool]] = []
    if f.flow_ids:
        parts.append(table.c.flow_id.in_(sorted(f.flow_ids)))
    if f.job_ids:
        parts.append(table.c.job_id.in_(sorted(f.job_ids)))
    if f.types:
        parts.append(table.c.type.in_(sorted(str(t) for t in f.types)))
    return and_(*parts) if parts else None
