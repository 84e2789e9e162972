"""Fencing: what a replica writes about a job counts only while it owns the job.

A replica marked lost may still be writing (it was slow, not dead); the replica that took its
jobs over must not see them overwritten. Job rows are upserted only where ``jobs.owner`` is the
writer's (:func:`routilux.store.database.fenced_upsert`); a batch's checkpoint rows are kept only
for the jobs :func:`held_by` confirms, under a row lock on PostgreSQL, which the claim's update
takes as well, so that the two never interleave.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, bindparam, select

from routilux.store import tables

CHUNK = 500
"""Job ids looked up per statement at most."""

_jobs = tables.jobs
_HELD = (
    select(_jobs.c.job_id)
    .where(
        _jobs.c.job_id.in_(bindparam("jobs", expanding=True)),
        _jobs.c.owner.is_not_distinct_from(bindparam("owner")),
    )
    .order_by(_jobs.c.job_id)
    .with_for_update()
)
"""The jobs of a list that a replica owns, their rows locked (built once)."""


def held_by(conn: Connection, owners: Mapping[str, str | None]) -> set[str]:
    """Of the jobs in ``owners`` (job id: the replica that wrote about it), those that replica
    still owns (None: an unowned job, as in a store used without replicas)."""
    by_owner: dict[str | None, list[str]] = {}
    for job_id, owner in owners.items():
        by_owner.setdefault(owner, []).append(job_id)
    held: set[str] = set()
    for owner, ids in by_owner.items():
        ids.sort()  # rows locked in one order by every batch
        for start in range(0, len(ids), CHUNK):
            chunk = {"jobs": ids[start : start + CHUNK], "owner": owner}
            held.update(conn.execute(_HELD, chunk).scalars())
    return held
