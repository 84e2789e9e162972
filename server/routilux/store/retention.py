"""What the store forgets, and when: run by the writer thread on its own connection.

Dropped, oldest (lowest id) first:

* events of one job beyond the newest ``events_per_job``;
* events of all kinds beyond the newest ``events_total`` (in steps of ``chunk`` rows, so a big
  backlog never holds the write lock for long);
* idempotency keys older than ``idempotency_ttl`` seconds (expired keys are also ignored by
  lookups before they are deleted);
* finished jobs (completed, failed, cancelled) that finished more than ``job_retention``
  seconds ago, and the oldest finished jobs beyond the newest ``jobs_kept``, with everything
  that belongs to them (their input and output are columns of the row; their events and logs
  are rows of their own), at most ``job_chunk`` jobs per pass. Unfinished jobs are never
  touched, however old.

Each pass is one short transaction on the writer's thread; the writer interleaves passes with
its batches of writes, so a large backlog is worked off without holding up anyone's writes.

Flows, workers and breakpoints are never pruned. On SQLite, deleted rows' pages go to the free
list and are reused for new rows; a database created by this version is in incremental
auto-vacuum mode and each pass that deleted jobs also gives up to ``vacuum_pages`` free pages
back to the file system, so the file shrinks after a backlog is pruned.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select

from routilux.engine.clock import utcnow
from routilux.engine.models import JobStatus
from routilux.store import tables
from routilux.store.tables import events, idempotency, jobs

# Ids per IN (...) list: far below the bound-parameter limits of SQLite and PostgreSQL.
_IN_CHUNK = 500

_FINISHED = sorted(s.value for s in JobStatus if s.finished)


def _job_tables() -> list[Table]:
    """Tables whose rows belong to one job (by ``job_id``) and go with it."""
    names = ("events", "job_logs", "job_deliveries", "job_routines", "job_checkpoints")
    return [t for t in tables.metadata.sorted_tables if t.name in names]


class Retention:
    def __init__(
        self,
        *,
        events_per_job: int,
        events_total: int,
        idempotency_ttl: float,
        chunk: int = 50_000,
        job_retention: float | None = None,
        jobs_kept: int | None = None,
        job_chunk: int = 200,
        vacuum_pages: int = 2048,
    ) -> None:
        self.events_per_job = events_per_job
        self.events_total = events_total
        self.idempotency_ttl = idempotency_ttl
        self.chunk = chunk
        self.job_retention = job_retention or None
        self.jobs_kept = jobs_kept or None
        self.job_chunk = job_chunk
        self.vacuum_pages = vacuum_pages
        self.jobs_pruned = 0  # in all, since the store opened
        self._freed = False  # jobs were deleted since the file last had no free page
        # An upper bound of the rows in ``events``: exact after open(), then bumped per insert
        # (a replayed id is ignored by the database, so it may overcount, never undercount).
        self._count = 0
        # Jobs that got events since the last pass: the only ones that can be over their limit.
        self._dirty: set[str] = set()

    def open(self, conn: Connection) -> None:
        """Count what is stored and find jobs left over their limit by an earlier run."""
        self._count = _count_events(conn)
        over = conn.execute(
            select(events.c.job_id)
            .where(events.c.job_id.is_not(None))
            .group_by(events.c.job_id)
            .having(func.count() > self.events_per_job)
        ).scalars()
        self._dirty.update(over)
        conn.rollback()

    def note(self, rows: list[dict[str, Any]]) -> None:
        """Called by the writer after committing event rows."""
        self._count += len(rows)
        dirty = self._dirty
        for row in rows:
            job_id = row["job_id"]
            if job_id is not None:
                dirty.add(job_id)

    def prune(self, conn: Connection) -> bool:
        """One pass in one transaction; True when more remains to delete right away."""
        with conn.begin():
            pruned, more_jobs = self._prune_finished(conn)
            self._prune_jobs(conn)
            more = self._prune_total(conn)
            cutoff = utcnow() - timedelta(seconds=self.idempotency_ttl)
            conn.execute(delete(idempotency).where(idempotency.c.created_at < cutoff))
        more = more or more_jobs
        self._freed = self._freed or bool(pruned)
        if self._freed and not more and self.vacuum_pages and conn.dialect.name == "sqlite":
            # Once a backlog is worked off (moving pages costs more than deleting them): give
            # back at most ``vacuum_pages`` per pass, until the free list is empty.
            self._freed = self._vacuum(conn)
        return more

    def _vacuum(self, conn: Connection) -> bool:
        """Give free pages back to the file system; True if free pages remain."""
        mode = conn.exec_driver_sql("PRAGMA auto_vacuum").scalar()
        conn.rollback()
        if mode != 2:  # not incremental: a database made before this version, kept as it is
            return False
        # The pragma frees one page per step, and only executescript steps a statement without
        # result columns to its end (it runs outside any transaction: none is open here).
        raw: Any = conn.connection.driver_connection
        raw.executescript(f"PRAGMA incremental_vacuum({int(self.vacuum_pages)})")
        free = conn.exec_driver_sql("PRAGMA freelist_count").scalar()
        conn.rollback()
        return bool(free)

    def _prune_finished(self, conn: Connection) -> tuple[int, bool]:
        """Delete up to ``job_chunk`` finished jobs past their retention; (how many, more?)."""
        ids: list[str] = []
        budget = self.job_chunk
        if self.job_retention is not None:
            cutoff = utcnow() - timedelta(seconds=self.job_retention)
            ids = list(
                conn.execute(
                    select(jobs.c.job_id)
                    .where(jobs.c.finished_at < cutoff, jobs.c.status.in_(_FINISHED))
                    .order_by(jobs.c.finished_at)
                    .limit(budget)
                ).scalars()
            )
        more = len(ids) >= budget
        if self.jobs_kept is not None and not more:
            finished = select(func.count()).where(jobs.c.finished_at.is_not(None))
            excess = int(conn.execute(finished).scalar_one()) - len(ids) - self.jobs_kept
            if excess > 0:
                step = min(excess, budget - len(ids))
                already = set(ids)
                oldest = conn.execute(
                    select(jobs.c.job_id)
                    .where(jobs.c.finished_at.is_not(None), jobs.c.status.in_(_FINISHED))
                    .order_by(jobs.c.finished_at)
                    .limit(step + len(ids))
                ).scalars()
                ids.extend(job_id for job_id in oldest if job_id not in already)
                ids = ids[:budget]
                more = excess > step
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            for table in _job_tables():
                result = conn.execute(delete(table).where(table.c.job_id.in_(chunk)))
                if table is events:
                    self._count -= result.rowcount
            conn.execute(delete(jobs).where(jobs.c.job_id.in_(chunk)))
        self.jobs_pruned += len(ids)
        return len(ids), more

    def _prune_jobs(self, conn: Connection) -> None:
        dirty, self._dirty = list(self._dirty), set()
        limit = self.events_per_job
        over: list[str] = []
        # One grouped, index-only count per chunk of jobs rather than one query per job.
        for start in range(0, len(dirty), _IN_CHUNK):
            over.extend(
                conn.execute(
                    select(events.c.job_id)
                    .where(events.c.job_id.in_(dirty[start : start + _IN_CHUNK]))
                    .group_by(events.c.job_id)
                    .having(func.count() > limit)
                ).scalars()
            )
        for job_id in over:
            newest_dropped = conn.execute(
                select(events.c.id)
                .where(events.c.job_id == job_id)
                .order_by(events.c.id.desc())
                .limit(1)
                .offset(limit)
            ).scalar()
            if newest_dropped is not None:
                result = conn.execute(
                    delete(events).where(events.c.job_id == job_id, events.c.id <= newest_dropped)
                )
                self._count -= result.rowcount

    def _prune_total(self, conn: Connection) -> bool:
        if self._count <= self.events_total:
            return False
        self._count = _count_events(conn)
        excess = self._count - self.events_total
        if excess <= 0:
            return False
        step = min(excess, self.chunk)
        newest_dropped = conn.execute(
            select(events.c.id).order_by(events.c.id).limit(1).offset(step - 1)
        ).scalar_one()
        result = conn.execute(delete(events).where(events.c.id <= newest_dropped))
        self._count -= result.rowcount
        return excess > step


def _count_events(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
