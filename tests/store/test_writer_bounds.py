"""The write-behind queue's bounds: a job's routine-level events stored up to a number, a bounded
lane of events that leaves routine-level ones out when full, and durable writes that never wait
behind the events' backlog."""

from __future__ import annotations

import threading
from typing import Any

from routilux.engine.events import EventType
from routilux.store.writer import EVENTS_PER_BATCH, Kind
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
    hold = threading.Event()
    original = writer._write

    def slow_write(conn: Any, entries: Any) -> None:
        hold.wait(10)
        original(conn, entries)

    writer._write = slow_write  # type: ignore[method-assign]
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


async def test_durable_writes_go_before_the_events_backlog(open_store: StoreFactory) -> None:
    store = await open_store()
    writer = store._writer
    batches: list[list[Kind]] = []
    hold = threading.Event()
    original = writer._write

    def recording_write(conn: Any, entries: Any) -> None:
        hold.wait(10)
        batches.append([kind for kind, _, _ in entries])
        original(conn, entries)

    writer._write = recording_write  # type: ignore[method-assign]
    store.save_event_later(make_event(1, job_id="job_a"))  # the writer takes it, and waits
    wait_until(lambda: not writer.queued_events, timeout=5, what="the writer took it")
    for i in range(2, 3 * EVENTS_PER_BATCH + 2):
        store.save_event_later(make_event(i, job_id="job_a"))
    insert = store.insert_job(make_job(1))
    hold.set()
    await insert
    # The first batch was held; the next one is the insert alone, then the events, a batch each.
    assert batches[1] == [Kind.JOB_INSERT]
    await until_true(
        lambda: sum(map(len, batches[2:])) >= 3 * EVENTS_PER_BATCH,
        timeout=10,
        what="the events written",
    )
    assert [len(batch) for batch in batches[2:]] == [EVENTS_PER_BATCH] * 3
