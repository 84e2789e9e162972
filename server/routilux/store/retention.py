"""What the store forgets, and when: run by the writer thread on its own connection.

Dropped, oldest (lowest id) first:

* events of one job beyond the newest ``events_per_job``;
* events of all kinds beyond the newest ``events_total`` (in steps of ``chunk`` rows, so a big
  backlog never holds the write lock for long);
* idempotency keys older than ``idempotency_ttl`` seconds (expired keys are also ignored by
  lookups before they are deleted).

Jobs, flows, workers and breakpoints are never pruned.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select

from routilux.engine.clock import utcnow
from routilux.store.tables import events, idempotency

# Ids per IN (...) list: far below the bound-parameter limits of SQLite and PostgreSQL.
_IN_CHUNK = 500


class Retention:
    def __init__(
        self,
        *,
        events_per_job: int,
        events_total: int,
        idempotency_ttl: float,
        chunk: int = 50_000,
    ) -> None:
        self.events_per_job = events_per_job
        self.events_total = events_total
        self.idempotency_ttl = idempotency_ttl
        self.chunk = chunk
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
            self._prune_jobs(conn)
            more = self._prune_total(conn)
            cutoff = utcnow() - timedelta(seconds=self.idempotency_ttl)
            conn.execute(delete(idempotency).where(idempotency.c.created_at < cutoff))
        return more

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
