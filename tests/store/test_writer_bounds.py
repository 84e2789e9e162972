"""The write-behind queue's bounds: a job's routine-level events stored up to a number, a bounded
lane of events that leaves routine-level ones out when full, and durable writes that never wait
behind the events' backlog, nor behind another job's checkpoints."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from routilux.engine.checkpoint import Checkpoint, Delivery
from routilux.engine.events import EventType
from routilux.engine.models import JobStatus
from routilux.store.batches import (
    CHECKPOINT_ROWS_PER_BATCH,
    CHECKPOINT_ROWS_WHILE_WAITED,
    Kind,
    bounded,
)
from routilux.store.pace import EVENTS_AT_LEAST, EVENTS_PER_BATCH, Pace
from tests.poll import until_true, wait_until
from tests.store.conftest import StoreFactory, make_event, make_job


async def test_a_jobs_routine_events_are_stored_up_to_a_number(open_store: StoreFactory) -> None:
    store = await open_store(routine_events_per_job=3)
    for i in range(1, 11):
        store.save_event_later(make_event(i, job_id="job_a"))
    store.save_event_later(make_event(11, job_id="job_a", type=EventType.JOB_FAILED))
    store.save_event_later(make_event(12, job_id="job_b"))
    await store.flush()
    assert [e.id for e in await store.list_job_events("job_a")] == [1, 2, 3, 11]
    assert [e.id for e in await store.list_job_events("job_b")] == [12]
    assert store.events_left_out == 7
    assert store._routine_events == {"job_b": 1}  # forgotten once the job ended


async def test_a_full_lane_leaves_out_routine_events_only(open_store: StoreFactory) -> None:
    store = await open_store(queued_events=1000)
    writer = store._writer
    hold, _ = _held(store)
    try:
        store.save_event_later(make_event(1, job_id="job_a"))  # taken by the held writer
        wait_until(lambda: not writer.queued_events, timeout=5, what="the writer took it")
        for i in range(2, 2002):
            store.save_event_later(make_event(i, job_id="job_a"))
        assert writer.queued_events == 1000
        assert writer.dropped_events == 1000
        store.save_event_later(make_event(3000, job_id="job_a", type=EventType.JOB_COMPLETED))
        assert writer.queued_events == 1001  # a job's own events always go in
    finally:
        hold.set()
    await store.flush()
    ids = [e.id for e in await store.list_job_events("job_a", limit=5000)]
    assert ids == [*range(1, 1002), 3000]


async def test_the_lane_is_bounded_in_bytes_too(open_store: StoreFactory) -> None:
    """Events of 100 KB each: a 1 MB lane holds about ten routine-level ones; job events still go
    in; once written, the lane's bytes are counted down again."""
    store = await open_store(queued_event_bytes=1024 * 1024)
    writer = store._writer
    hold, _ = _held(store)
    big = {"payload": "x" * 100_000}
    try:
        store.save_event_later(make_event(1, job_id="job_a"))  # taken by the held writer
        wait_until(lambda: not writer.queued_events, timeout=5, what="the writer took it")
        for i in range(2, 52):
            store.save_event_later(replace(make_event(i, job_id="job_a"), data=big))
        assert writer.queued_events == 10
        assert writer.dropped_events == 40
        assert 10 * 100_000 < writer.queued_event_bytes <= 1024 * 1024
        final = replace(make_event(60, job_id="job_a", type=EventType.JOB_COMPLETED), data=big)
        store.save_event_later(final)
        assert writer.queued_events == 11  # a job's own events always go in
    finally:
        hold.set()
    await store.flush()
    assert writer.queued_event_bytes == 0
    ids = [e.id for e in await store.list_job_events("job_a", limit=100)]
    assert ids == [*range(1, 12), 60]


async def test_durable_writes_go_before_the_events_backlog(open_store: StoreFactory) -> None:
    store = await open_store()
    writer = store._writer
    hold, batches = _held(store)
    store.save_event_later(make_event(1, job_id="job_a"))  # the writer takes it, and waits
    wait_until(lambda: not writer.queued_events, timeout=5, what="the writer took it")
    for i in range(2, 3 * EVENTS_PER_BATCH + 2):
        store.save_event_later(make_event(i, job_id="job_a"))
    insert = store.insert_job(make_job(1))
    hold.set()
    await insert
    # The first batch was held; the next one is the insert alone, then the events, in batches
    # of a bounded size (see test_a_batch_takes_the_events_written_in_a_few_milliseconds).
    assert batches[1] == [(Kind.JOB_INSERT, "job_000001")]
    await until_true(
        lambda: sum(map(len, batches[2:])) >= 3 * EVENTS_PER_BATCH,
        timeout=10,
        what="the events written",
    )
    sizes = [len(batch) for batch in batches[2:]]
    assert sum(sizes) == 3 * EVENTS_PER_BATCH
    assert all(EVENTS_AT_LEAST <= size <= EVENTS_PER_BATCH for size in sizes[:-1])


def test_a_batch_takes_the_events_written_in_a_few_milliseconds() -> None:
    pace = Pace()
    assert pace.events == EVENTS_PER_BATCH  # until measured
    for _ in range(30):
        pace.note(1_000, 0.05)  # 50 us a row: 100 of them in 5 ms
    assert pace.events == 100
    pace.note(99, 10.0)  # too few rows to say anything
    assert pace.events == 100
    for _ in range(30):
        pace.note(1_000, 1.0)
    assert pace.events == EVENTS_AT_LEAST
    for _ in range(60):
        pace.note(1_000, 0.001)
    assert pace.events == EVENTS_PER_BATCH


def _step(job_id: str, first: int, count: int, taken: list[int] | None = None) -> Checkpoint:
    """A step of ``job_id`` that delivered ``count`` payloads, seqs from ``first``."""
    added = [
        Delivery(seq, "sink", "input", {"seq": seq}, 0.0) for seq in range(first, first + count)
    ]
    return Checkpoint(job_id, first + count - 1, {}, added=added, taken=taken or [])


async def test_a_jobs_checkpoint_backlog_delays_no_other_write(open_store: StoreFactory) -> None:
    """A busy job's checkpoints (30 steps of 100 deliveries) are written a bounded part per
    batch, in order, with the job's own later writes after them; another job's insert, steps
    and final state go through in the first batch that follows."""
    store = await open_store()
    writer = store._writer
    busy, other = make_job(1, status=JobStatus.RUNNING), make_job(2)
    await store.insert_job(busy)
    hold, batches = _held(store)
    store.save_event_later(make_event(1, job_id=busy.job_id))  # taken by the held writer
    wait_until(lambda: not writer.queued_events, timeout=5, what="the writer took it")
    for step in range(30):
        store.checkpoint_later(
            _step(busy.job_id, 1 + 100 * step, 100, taken=[100 * step] if step else [])
        )
    # What the database is behind the busy job: every row of its 30 steps (the job's run waits
    # on it, see the engine's drain); nothing for the other.
    taken_rows = 29  # a taken delivery per step but the first
    assert store.checkpoint_backlog(busy.job_id) == 30 * (100 + 1) + taken_rows
    assert store.checkpoint_backlog(other.job_id) == 0
    busy.status = JobStatus.FAILED
    store.save_job_later(busy)
    inserted = store.insert_job(other)
    hold.set()
    await inserted
    other.status = JobStatus.RUNNING
    store.checkpoint_later(_step(other.job_id, 1, 3))
    other.status = JobStatus.COMPLETED
    await store.save_job(other)
    await store.flush()
    assert store.checkpoint_backlog(busy.job_id) == 0

    # The insert went in the first batch after the held one, with one step of the busy job.
    second = batches[1]
    assert (Kind.JOB_INSERT, other.job_id) in second
    assert second.count((Kind.CHECKPOINT, busy.job_id)) * 101 <= max(
        CHECKPOINT_ROWS_WHILE_WAITED, 101
    )
    # No batch took more of the busy job than the budget; its writes kept their order.
    for batch in batches:
        assert batch.count((Kind.CHECKPOINT, busy.job_id)) * 101 <= CHECKPOINT_ROWS_PER_BATCH
    busy_writes = [kind for batch in batches for kind, job in batch if job == busy.job_id]
    assert busy_writes == [Kind.CHECKPOINT] * 30 + [Kind.JOB]
    # The other job finished before the busy job's backlog was through.
    done = next(i for i, b in enumerate(batches) if (Kind.JOB, other.job_id) in b)
    last = max(i for i, b in enumerate(batches) if (Kind.CHECKPOINT, busy.job_id) in b)
    assert done < last
    stored = await store.get_job(busy.job_id)
    assert stored is not None and stored.status is JobStatus.FAILED
    checkpoint = await store.load_checkpoint(busy.job_id)
    taken = {100 * step for step in range(1, 30)}
    assert [d.seq for d in checkpoint.deliveries] == [
        seq for seq in range(1, 3001) if seq not in taken
    ]


def test_a_barrier_waits_for_what_is_held_before_it() -> None:
    step = {"job_id": "a", "added": [{}] * 500, "taken": [], "states": [], "taken_after": -1}
    queue: list[Any] = [(Kind.CHECKPOINT, step, None)] * 5 + [(Kind.BARRIER, None, None)]
    batch, held = bounded(queue, CHECKPOINT_ROWS_PER_BATCH, 0)
    assert len(batch) == 1  # 501 rows each: one fits, one more would not
    assert held == queue[1:]  # the barrier follows the steps held back
    queue = [(Kind.BARRIER, None, None), *queue[:2]]
    batch, held = bounded(queue, CHECKPOINT_ROWS_PER_BATCH, 0)
    assert batch == queue[:2] and held == queue[2:]


def _held(store: Any) -> tuple[threading.Event, list[list[tuple[Kind, str | None]]]]:
    """Make the store's writer wait for the returned event before each batch, and note each
    batch it writes (its entries' kinds and jobs) in the returned list."""
    writer = store._writer
    write = writer._write
    hold = threading.Event()
    batches: list[list[tuple[Kind, str | None]]] = []

    def held_write(conn: Any, entries: Any) -> None:
        hold.wait(10)
        batches.append([(kind, _job(kind, payload)) for kind, payload, _ in entries])
        write(conn, entries)

    writer._write = held_write
    return hold, batches


def _job(kind: Kind, payload: Any) -> str | None:
    if kind in (Kind.CHECKPOINT, Kind.JOB):
        return str(payload["job_id"])
    if kind is Kind.JOB_INSERT:
        return str(payload[0]["job_id"])
    return None


async def test_a_fresh_checkpoint_waits_one_batch_unless_its_job_is_waited_for(
    open_store: StoreFactory,
) -> None:
    """A checkpoint queued while a batch was being written goes in the batch after next, so that
    a job ending meanwhile has it coalesced away; one whose job's final write is awaited goes
    with that write at once."""
    store = await open_store()
    writer = store._writer
    idle, ending = make_job(1, status=JobStatus.RUNNING), make_job(2, status=JobStatus.RUNNING)
    await store.insert_job(idle)
    await store.insert_job(ending)
    hold, batches = _held(store)
    store.save_event_later(make_event(1, job_id=idle.job_id))  # taken by the held writer
    wait_until(lambda: not writer.queued_events, timeout=5, what="the writer took it")
    store.checkpoint_later(_step(idle.job_id, 1, 2))
    store.checkpoint_later(_step(ending.job_id, 1, 2))
    ending.status = JobStatus.COMPLETED
    saved = store.save_job(ending)
    hold.set()
    await saved
    await store.flush()
    assert batches[1] == [(Kind.CHECKPOINT, ending.job_id), (Kind.JOB, ending.job_id)]
    assert (Kind.CHECKPOINT, idle.job_id) in batches[2]
    assert [d.seq for d in (await store.load_checkpoint(idle.job_id)).deliveries] == [1, 2]
    assert (await store.load_checkpoint(ending.job_id)).deliveries == []
