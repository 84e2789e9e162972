"""What one batch of the writer holds and how it is written: the kinds of entries, which of the
queued entries a batch takes (each job's checkpoints in bounded slices, in the job's order), and
the rows a batch writes in one transaction, coalesced per record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, func, select, text, update

from routilux.engine.checkpoint import DROPPED_AT
from routilux.engine.errors import QueueFull
from routilux.engine.models import JobStatus
from routilux.store import database, tables
from routilux.store.fencing import held_by
from routilux.store.signals import CHANNEL_PREFIX

Row = dict[str, Any]


class Kind(IntEnum):
    FLOW = 1  # payload: (flow row, idempotency row or None), committed together
    FLOW_DELETE = 2
    BREAKPOINT = 3
    BREAKPOINT_DELETE = 4
    WORKER = 5
    JOB = 6
    JOB_INSERT = 7  # payload: (job row, idempotency row or None, queue bound or None)
    EVENT = 9
    BARRIER = 10  # nothing to write: resolves once everything queued before it is committed
    PRUNE = 11  # resolves after a full retention pass
    LOG = 12  # a line a routine logged (write-behind, like events)
    REVISIONS_PRUNE = 13  # payload: (flow_id, the oldest revision kept)
    CHECKPOINT = 14  # payload: codec.checkpoint_rows(...)
    JOB_END = 15  # payload: (job row, the row of the event of its end), committed together


Entry = tuple[Kind, Any, "asyncio.Future[None] | None"]

CHECKPOINT_ROWS_PER_BATCH = 1_000
"""Checkpoint rows (deliveries made and taken, routine states) of one job that one batch takes
at most; its checkpoints past them wait for the next batch with every later write of the job."""
CHECKPOINT_ROWS_WHILE_WAITED = 100
"""The same while someone waits for their write, every other batch."""


def lane_bytes(kind: Kind, row: Row) -> int:
    """What an event's or a log line's row holds beyond its fixed fields: its JSON data, or its
    message and traceback."""
    if kind is Kind.EVENT:
        return len(row["data"])
    return len(row["message"]) + len(row["exception"] or "")


def bounded(queue: list[Entry], budget: int, takes: int) -> tuple[list[Entry], list[Entry]]:
    """Split the queue into this batch and what waits for the next.

    Each job's checkpoints are taken up to ``budget`` rows (at least one per job), then nothing
    more of that job. A checkpoint queued since the last batch was taken (``takes``) waits for
    the next one, unless someone waits for a write of its job: a job that ends meanwhile then
    has its checkpoints coalesced away with its final state instead of written and deleted. A
    job's writes stay in their order (each checkpoint extends the one before it, and a job row
    must never be overtaken by an older state), while one job's backlog delays the other jobs'
    writes by one bounded batch at most. A barrier or a prune is written once everything queued
    before it is: it waits while anything before it is held."""
    urgent = {_job_of(kind, payload) for kind, payload, future in queue if future is not None}
    batch: list[Entry] = []
    held: list[Entry] = []
    rows: dict[str, int] = {}
    held_jobs: set[str] = set()
    for entry in queue:
        kind, payload, _ = entry
        if kind is Kind.BARRIER or kind is Kind.PRUNE:
            (held if held else batch).append(entry)
            continue
        job_id = _job_of(kind, payload)
        if job_id is not None and job_id not in held_jobs and kind is Kind.CHECKPOINT:
            taken = rows.get(job_id, 0)
            size = checkpoint_row_count(payload)
            if (taken and taken + size > budget) or (
                payload["taken_after"] == takes and job_id not in urgent
            ):
                held_jobs.add(job_id)
            else:
                rows[job_id] = taken + size
        if job_id is not None and job_id in held_jobs:
            held.append(entry)
        else:
            batch.append(entry)
    return batch, held


def checkpoint_row_count(payload: Row) -> int:
    """The rows a checkpoint writes: deliveries made and taken, routine states, its progress."""
    return len(payload["added"]) + len(payload["taken"]) + len(payload["states"]) + 1


def _job_of(kind: Kind, payload: Any) -> str | None:
    if kind is Kind.CHECKPOINT or kind is Kind.JOB:
        return str(payload["job_id"])
    if kind is Kind.JOB_INSERT or kind is Kind.JOB_END:
        return str(payload[0]["job_id"])
    return None


def apply(
    conn: Connection, entries: list[Entry], *, numbered: bool = False, fenced: bool = True
) -> tuple[list[Row], dict[str, QueueFull]]:
    """Write entries in the caller's transaction, coalesced per record; return the event rows,
    and the new jobs refused (by id) because their worker's queue is full (see
    :func:`queue_bounds`): nothing of those is written.

    ``numbered`` (processes sharing the database): the events and log lines get their ids here,
    from the deployment's counter (see :func:`number`). ``fenced``: a job's rows are written
    only by the replica owning it (see :mod:`routilux.store.fencing`); a process alone on its
    database owns every job it writes about."""
    refused = queue_bounds(conn, entries)
    flows: dict[str, Row | None] = {}
    breakpoints: dict[str, Row | None] = {}
    workers: dict[str, Row] = {}
    jobs: dict[str, Row] = {}
    keys: dict[tuple[str, str], Row] = {}
    events: list[Row] = []
    ended: dict[str, tuple[str | None, Row]] = {}  # job id: (its writer, the event of its end)
    logs: list[Row] = []
    # Every revision saved is kept (not only the last of the batch); a delete drops the earlier.
    revisions: dict[str, tuple[bool, list[Row]]] = {}
    oldest_kept: list[tuple[str, int]] = []
    checkpoints = _Checkpoints()
    for kind, payload, _ in entries:
        if kind is Kind.EVENT:
            events.append(payload)
        elif kind is Kind.LOG:
            logs.append(payload)
        elif kind is Kind.CHECKPOINT:
            if payload["job"] is not None:
                jobs[payload["job_id"]] = payload["job"]
            checkpoints.add(payload)
        elif kind is Kind.JOB:
            jobs[payload["job_id"]] = payload
        elif kind is Kind.JOB_END:
            job, event = payload
            jobs[job["job_id"]] = job
            ended[job["job_id"]] = (job["owner"], event)
        elif kind is Kind.WORKER:
            workers[payload["worker_id"]] = payload
        elif kind is Kind.JOB_INSERT:
            job, key, _ = payload
            if job["job_id"] in refused:
                continue
            jobs[job["job_id"]] = job
            if key is not None:
                keys[(key["key"], key["scope"])] = key
        elif kind is Kind.FLOW:
            flow, key = payload
            flows[flow["flow_id"]] = flow
            revisions.setdefault(flow["flow_id"], (False, []))[1].append(flow)
            if key is not None:
                keys[(key["key"], key["scope"])] = key
        elif kind is Kind.FLOW_DELETE:
            flows[payload] = None
            revisions[payload] = (True, [])
        elif kind is Kind.REVISIONS_PRUNE:
            oldest_kept.append(payload)
        elif kind is Kind.BREAKPOINT:
            breakpoints[payload["breakpoint_id"]] = payload
        elif kind is Kind.BREAKPOINT_DELETE:
            breakpoints[payload] = None
    _put(conn, tables.flows, "flow_id", flows)
    _put_revisions(conn, revisions, oldest_kept)
    _put(conn, tables.breakpoints, "breakpoint_id", breakpoints)
    _put(conn, tables.workers, "worker_id", workers)
    # Jobs first seen in this batch get their seq in the order they were queued. A job's row
    # is written only by the replica owning it (a lost one's late writes are fenced off).
    if jobs:
        put = database.fenced_upsert if fenced else database.upsert
        conn.execute(put(conn, tables.jobs, ["job_id"]), list(jobs.values()))
    ended_by = {j: owner for j, (owner, _) in ended.items()}
    mine = checkpoints.write(conn, jobs, ended_by, fenced=fenced)
    # A job's end is announced only by the replica that owns it (a lost one's is fenced off),
    # after every event of the batch (numbered: committed after the events before it).
    events += [event for job_id, (_, event) in ended.items() if job_id in mine]
    if keys:
        conn.execute(
            database.upsert(conn, tables.idempotency, ["key", "scope"]),
            [keys[key] for key in sorted(keys)],
        )
    if numbered and (events or logs):
        number(conn, events, logs)
    if events:
        conn.execute(database.insert_ignore(conn, tables.events), events)
    if logs:
        conn.execute(database.insert_ignore(conn, tables.job_logs), logs)
    return events, refused


def queue_bounds(conn: Connection, entries: list[Entry]) -> dict[str, QueueFull]:
    """The new jobs of ``entries`` that would pass their worker's queue bound, counting the
    worker's queued jobs in the database (every process's) plus those accepted before them.

    On PostgreSQL each worker's count is taken under a transaction advisory lock, so the
    processes' inserts into one worker's queue take turns and the bound holds for the whole
    deployment; workers are locked in one order, before anything else of the batch, so two
    batches cannot wait for each other. Only shared databases ask for this (a process alone
    bounds its own queue in memory)."""
    bounded: dict[str, list[tuple[str, int]]] = {}
    for kind, payload, _ in entries:
        if kind is Kind.JOB_INSERT and payload[2] is not None:
            job = payload[0]
            bounded.setdefault(job["worker_id"], []).append((job["job_id"], payload[2]))
    refused: dict[str, QueueFull] = {}
    for worker_id in sorted(bounded):
        database.lock_for_transaction(conn, database.advisory_key(f"routilux-queue:{worker_id}"))
        queued = conn.execute(_QUEUED_OF_WORKER, {"worker": worker_id}).scalar_one()
        for job_id, bound in bounded[worker_id]:
            if queued >= bound:
                refused[job_id] = QueueFull.deployment(worker_id, queued)
            else:
                queued += 1
    return refused


_QUEUED_OF_WORKER = (
    select(func.count())
    .select_from(tables.jobs)
    .where(
        tables.jobs.c.worker_id == bindparam("worker"),
        tables.jobs.c.status == JobStatus.QUEUED.value,
    )
)
"""A worker's queued jobs (the partial index ix_jobs_queued_worker; built once)."""


def number(conn: Connection, events: list[Row], logs: list[Row]) -> None:
    """Give ``events`` and ``logs`` the next ids of the deployment, and tell every replica.

    The counter's row stays locked until the commit, so batches of all the processes commit in
    the order of their ids: whoever has read the events up to some id has seen every event below
    it that will ever be committed, which makes one ordered stream of the deployment's events
    (and a ``since`` valid on any replica). Ids follow the clock (microseconds) whenever the
    counter is behind it, as a lone process's do. Call it last before the commit: the lock is
    held from here on."""
    count = len(events) + len(logs)
    table = tables.id_blocks
    floor = time.time_ns() // 1000
    stmt = (
        update(table)
        .where(table.c.name == "events")
        .values(next_id=func.greatest(table.c.next_id, floor) + count)
        .returning(table.c.next_id)
    )
    first = int(conn.execute(stmt).scalar_one()) - count
    for n, row in enumerate(events, first):
        row["id"] = n
    for n, row in enumerate(logs, first + len(events)):
        row["id"] = n
    if events:  # delivered with the commit, in commit order (store/signals.py's channels)
        conn.execute(_NOTIFY, {"message": f'{{"last": {first + len(events) - 1}}}'})


_NOTIFY = text(f"SELECT pg_notify('{CHANNEL_PREFIX}events', :message)")


class _Checkpoints:
    """The checkpoints of one batch, coalesced: a delivery made and consumed within the batch
    is never written, each routine's and job's last state wins, and a job that completed or was
    cancelled in the batch has its whole checkpoint deleted instead."""

    def __init__(self) -> None:
        self.added: dict[tuple[str, int], Row] = {}
        self.taken: list[Row] = []
        self.states: dict[tuple[str, str], Row] = {}
        self.progress: dict[str, Row] = {}
        self.owners: dict[str, str | None] = {}  # the replica that made each job's steps

    def add(self, rows: Row) -> None:
        job_id = rows["job_id"]
        self.owners[job_id] = rows["owner"]
        added = self.added
        for row in rows["added"]:
            added[job_id, row["seq"]] = row
        for seq in rows["taken"]:
            if added.pop((job_id, seq), None) is None:
                self.taken.append({"j": job_id, "s": seq})
        for row in rows["states"]:
            self.states[job_id, row["routine_id"]] = row
        self.progress[job_id] = rows["checkpoint"]

    def write(
        self,
        conn: Connection,
        jobs: Mapping[str, Row],
        ended: Mapping[str, str | None],
        *,
        fenced: bool,
    ) -> set[str]:
        """Write the checkpoints; return which of the jobs they (and ``ended``, jobs that
        ended: their writers) are about, the writer still owns (all of them, unless
        ``fenced``)."""
        done = [j for j, row in jobs.items() if row["status"] in DROPPED_AT]
        owners = dict(self.owners)
        owners.update((j, jobs[j]["owner"]) for j in done)
        owners.update(ended)
        mine = set(owners)
        if owners and fenced:
            # Only the steps of jobs their maker still owns are kept (rows locked until the
            # commit, so that a replica claiming one of them waits for this batch, or this
            # batch for the claim).
            mine = held_by(conn, owners)
            if len(mine) < len(owners):
                self._drop(set(owners) - mine)
                done = [j for j in done if j in mine]
        if done:
            gone = set(done)
            # Most jobs end before any step of theirs was written (a batch holds steps back:
            # see bounded); only those with a progress row have other rows to drop.
            stored = list(conn.execute(_DROP_PROGRESS, {"jobs": done}).scalars())
            if stored:
                for statement in _DROP_STEPS:
                    conn.execute(statement, {"jobs": stored})
        else:
            gone = set()
        deliveries = tables.job_deliveries
        taken = [row for row in self.taken if row["j"] not in gone]
        if taken:
            conn.execute(
                delete(deliveries).where(
                    and_(deliveries.c.job_id == bindparam("j"), deliveries.c.seq == bindparam("s"))
                ),
                taken,
            )
        added = [row for key, row in self.added.items() if key[0] not in gone]
        if added:
            conn.execute(database.insert_ignore(conn, deliveries), added)
        states = [row for key, row in self.states.items() if key[0] not in gone]
        if states:
            conn.execute(
                database.upsert(conn, tables.job_routines, ["job_id", "routine_id"]), states
            )
        progress = [row for job_id, row in self.progress.items() if job_id not in gone]
        if progress:
            conn.execute(database.upsert(conn, tables.job_checkpoints, ["job_id"]), progress)
        return mine

    def _drop(self, jobs: set[str]) -> None:
        self.added = {k: row for k, row in self.added.items() if k[0] not in jobs}
        self.taken = [row for row in self.taken if row["j"] not in jobs]
        self.states = {k: row for k, row in self.states.items() if k[0] not in jobs}
        self.progress = {j: row for j, row in self.progress.items() if j not in jobs}


_DROP_PROGRESS = (
    delete(tables.job_checkpoints)
    .where(tables.job_checkpoints.c.job_id.in_(bindparam("jobs", expanding=True)))
    .returning(tables.job_checkpoints.c.job_id)
)
"""Drops the progress rows of jobs, returning whose there were. Every batch writing steps of a
job writes its progress row too, so a job without one has no other checkpoint rows."""
_DROP_STEPS = [
    delete(table).where(table.c.job_id.in_(bindparam("jobs", expanding=True)))
    for table in (tables.job_deliveries, tables.job_routines)
]
"""Drop the other checkpoint rows of jobs. (Statements built once: see database._upsert.)"""


def _put_revisions(
    conn: Connection,
    revisions: Mapping[str, tuple[bool, list[Row]]],
    oldest_kept: list[tuple[str, int]],
) -> None:
    table = tables.flow_revisions
    for flow_id, oldest in oldest_kept:
        conn.execute(delete(table).where(table.c.flow_id == flow_id, table.c.revision < oldest))
    gone = [flow_id for flow_id, (deleted, _) in revisions.items() if deleted]
    if gone:
        conn.execute(delete(table).where(table.c.flow_id.in_(gone)))
    rows = [row for _, saved in revisions.values() for row in saved]
    if rows:
        conn.execute(database.upsert(conn, table, ["flow_id", "revision"]), rows)


def _put(conn: Connection, table: Table, key: str, rows: Mapping[str, Row | None]) -> None:
    if not rows:
        return
    gone = [k for k, row in rows.items() if row is None]
    if gone:
        conn.execute(delete(table).where(table.c[key].in_(gone)))
    # In the order of their keys, as every process writes them: two batches locking the same
    # rows (say the counters of a worker) wait for each other rather than deadlock.
    kept = [row for _, row in sorted(rows.items()) if row is not None]
    if kept:
        conn.execute(database.upsert(conn, table, [key]), kept)
