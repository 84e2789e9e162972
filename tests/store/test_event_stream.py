"""The deployment's event stream: processes sharing a PostgreSQL database number their events as
they commit them, in one order, and each streams every process's events from the store (engine/
event_tail.py) once, in id order, with the ids stored: what a subscriber on any replica received
is exactly the stored history, so a ``since`` taken on one replica resumes on another."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import pairwise

import pytest

from routilux.engine import Event, EventType, FlowSpec, JobStatus, Runtime, RuntimeSettings
from routilux.engine.event_tail import EventTail
from routilux.routines import default_registry
from routilux.store import SqlStore
from tests.poll import until_true

SPEC = {
    "routines": {
        "double": {"class": "Mapper", "config": {"mappings": {"n": "n", "twice": "n"}}},
        "keep": {"class": "Filter", "config": {"condition": "data['n'] >= 0"}},
    },
    "connections": [{"from": "double.output", "to": "keep.input"}],
}

Process = tuple[Runtime, SqlStore, EventTail]


@pytest.fixture
async def processes(pg_database: str) -> AsyncIterator[Callable[[], Awaitable[Process]]]:
    started: list[Process] = []

    async def start() -> Process:
        store = SqlStore(pg_database)
        await store.open()
        settings = RuntimeSettings(replica_heartbeat_seconds=0.2, replica_lease_seconds=2.0)
        runtime = Runtime(default_registry(), store, settings)
        tail = EventTail(store.list_events, store.newest_event_id, runtime.signals)
        started.append((runtime, store, tail))
        await runtime.start()
        await tail.start()
        return runtime, store, tail

    yield start
    for runtime, store, tail in started:
        try:
            await tail.close()
            await runtime.shutdown()
        finally:
            await store.close()


def drain(feed_get: Callable[[], Event | None]) -> list[Event]:
    events = []
    while (event := feed_get()) is not None:
        events.append(event)
    return events


async def test_every_process_streams_every_event_of_the_deployment_once_in_id_order(
    processes: Callable[[], Awaitable[Process]],
) -> None:
    a, store_a, tail_a = await processes()
    b, store_b, tail_b = await processes()
    # Both tails through everything committed so far (b's joining included): what follows is
    # streamed to both subscriptions alike.
    await store_a.flush()
    await store_b.flush()
    start = await store_a.newest_event_id()
    await until_true(
        lambda: min(tail_a.cursor, tail_b.cursor) >= start, timeout=10, what="the tails settled"
    )
    feed_a, feed_b = (
        tail_a.bus.subscribe(buffer_size=100_000),
        tail_b.bus.subscribe(buffer_size=100_000),
    )
    flow_a = await a.create_flow(FlowSpec.model_validate(SPEC))
    flow_b = await b.create_flow(FlowSpec.model_validate(SPEC))
    jobs = []
    for n in range(30):  # both processes commit at once, interleaved
        jobs.append(await a.execute(flow_a.flow_id, {"n": n}))
        jobs.append(await b.execute(flow_b.flow_id, {"n": n}))
    for job in jobs:
        runtime = a if job.flow_id == flow_a.flow_id else b
        assert (await runtime.wait_job(job.job_id, timeout=20)).status is JobStatus.COMPLETED
    await store_a.flush()
    await store_b.flush()

    stored = list(await store_a.list_events(after=start, limit=100_000))
    assert stored, "the jobs' events are stored"
    newest = stored[-1].id
    await until_true(lambda: min(tail_a.cursor, tail_b.cursor) >= newest, timeout=10)
    got_a, got_b = drain(feed_a.get_nowait), drain(feed_b.get_nowait)

    # Each process received every stored event of both, once, in id order, with its stored id.
    assert [e.id for e in got_a] == [e.id for e in stored]
    assert [e.id for e in got_b] == [e.id for e in stored]
    assert all(x < y for x, y in pairwise(e.id for e in got_b))
    completed = [str(e.job_id) for e in got_b if e.type is EventType.JOB_COMPLETED]
    assert sorted(completed) == sorted(job.job_id for job in jobs)  # once per job, from both

    # Job log and event histories read on either process agree with the stream.
    job = jobs[1]  # one of b's
    history = await store_a.list_job_events(job.job_id, limit=1000)
    assert [e.id for e in history] == [e.id for e in got_a if e.job_id == job.job_id]


async def test_a_process_without_subscribers_reads_no_events_and_follows_the_newest_id(
    processes: Callable[[], Awaitable[Process]],
) -> None:
    a, store_a, tail_a = await processes()
    flow = await a.create_flow(FlowSpec.model_validate(SPEC))
    job = await a.execute(flow.flow_id, {"n": 1})
    await a.wait_job(job.job_id, timeout=20)
    await store_a.flush()
    newest = await store_a.newest_event_id()
    await until_true(lambda: tail_a.cursor >= newest, timeout=10)
    assert tail_a.read_events == 0
    # A subscriber arriving now gets what comes next, nothing before.
    feed = tail_a.bus.subscribe()
    again = await a.execute(flow.flow_id, {"n": 2})
    await a.wait_job(again.job_id, timeout=20)
    await store_a.flush()
    await tail_a.catch_up()
    got = drain(feed.get_nowait)
    assert got and {e.job_id for e in got if e.job_id} == {again.job_id}
