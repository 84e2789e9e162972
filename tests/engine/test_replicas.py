"""Replicas on one in-memory store: joining, heartbeats, a lost replica's jobs taken over from
their checkpoints, and what the lost replica still writes fenced off."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from routilux.engine import EventType, FlowSpec, JobStatus, MemoryStore, Runtime, RuntimeSettings
from routilux.engine.clock import utcnow
from routilux.engine.models import Job
from routilux.engine.replicas import ReplicaStatus, this_process
from tests.engine.support import registry
from tests.poll import until_true

HEARTBEAT = 0.05
LEASE = 0.4

DELAYED = {
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "wait": {"class": "Delay", "config": {"seconds": 1.0}},
        "done": {"class": "Mapper", "config": {"mappings": {"n": "n", "late": "n"}}},
    },
    "connections": [
        {"from": "shape.output", "to": "wait.input"},
        {"from": "wait.output", "to": "done.input"},
    ],
}


def replica_settings() -> RuntimeSettings:
    return RuntimeSettings(replica_heartbeat_seconds=HEARTBEAT, replica_lease_seconds=LEASE)


@pytest.fixture
async def shared() -> AsyncIterator[tuple[MemoryStore, list[Runtime]]]:
    """A store several runtimes share as replicas, and the runtimes started on it."""
    store = MemoryStore(exclusive=False)
    runtimes: list[Runtime] = []
    yield store, runtimes
    for runtime in runtimes:
        await runtime.shutdown()


async def start(store: MemoryStore, runtimes: list[Runtime]) -> Runtime:
    runtime = Runtime(registry(), store, replica_settings())
    await runtime.start()
    runtimes.append(runtime)
    return runtime


async def run_delayed(runtime: Runtime) -> Job:
    flow = await runtime.create_flow(FlowSpec.model_validate(DELAYED))
    job = await runtime.execute(flow.flow_id, {"n": 7})
    # Running, and its Delay checkpointed as running: what another replica resumes from.
    await until_true(
        lambda: job.progress["wait"].activations == 1, timeout=5, what="the delay started"
    )
    return job


def expected_output() -> dict[str, Any]:
    return {"done.output": [{"n": 7, "late": 7}]}


async def test_replicas_join_with_fresh_ids_and_are_listed_alive(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store, runtimes = shared
    first = await start(store, runtimes)
    second = await start(store, runtimes)
    assert first.replica.replica_id != second.replica.replica_id
    listed = {r.replica_id: r for r in await store.replicas.list_replicas()}
    assert set(listed) == {first.replica.replica_id, second.replica.replica_id}
    assert all(r.status is ReplicaStatus.ALIVE for r in listed.values())
    joined = [e for e in store.events if e.type is EventType.REPLICA_JOINED]
    assert [e.data["replica_id"] for e in joined] == list(listed)


async def test_a_second_replica_leaves_a_live_replicas_job_alone(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store, runtimes = shared
    first = await start(store, runtimes)
    job = await run_delayed(first)
    second = await start(store, runtimes)
    assert second.live_job(job.job_id) is None
    assert store.jobs[job.job_id].owner == first.replica.replica_id
    final = await first.wait_job(job.job_id, timeout=10)
    assert final.status is JobStatus.COMPLETED
    assert final.recoveries == 0
    assert final.replica_id == first.replica.replica_id
    assert not [e for e in store.events if e.type is EventType.REPLICA_LOST]


async def test_a_lost_replicas_job_is_resumed_by_another_and_its_late_writes_are_fenced(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store, runtimes = shared
    a = await start(store, runtimes)
    b = await start(store, runtimes)
    job = await run_delayed(a)  # a flow and a worker b has never seen
    a_id, b_id = a.replica.replica_id, b.replica.replica_id
    assert a_id is not None and b_id is not None
    await a.replica.stop()  # a's heartbeats stop; its job goes on running there
    stopped = time.monotonic()

    taken = await until_true(
        lambda: b.live_job(job.job_id), timeout=LEASE * 5, what="b took the job over"
    )
    failover = time.monotonic() - stopped
    assert failover < LEASE + 3 * HEARTBEAT + 0.5
    final = await b.wait_job(taken.job_id, timeout=10)
    assert final.status is JobStatus.COMPLETED
    assert final.output == expected_output()
    assert final.recoveries == 1
    assert final.replica_id == b_id
    recovered = [e for e in store.events if e.type is EventType.JOB_RECOVERED]
    assert [e.data["replica_id"] for e in recovered] == [b_id]
    lost = [e for e in store.events if e.type is EventType.REPLICA_LOST]
    assert [e.data["replica_id"] for e in lost] == [a_id]

    # a still runs its copy; whatever it writes about the job now is dropped.
    await a.wait_job(job.job_id, timeout=10)
    stale = replace(store.jobs[job.job_id], owner=a_id, status=JobStatus.FAILED)
    await store.save_job(stale)
    assert store.jobs[job.job_id].owner == b_id
    assert store.jobs[job.job_id].status is JobStatus.COMPLETED

    # On its next heartbeat a learns it was lost, and joins again under a new id.
    await a.replica.beat()
    assert a.replica.replica_id not in (None, a_id)
    statuses = {r.replica_id: r.status for r in await store.replicas.list_replicas()}
    assert statuses[a_id] is ReplicaStatus.LOST
    assert statuses[a.replica.replica_id] is ReplicaStatus.ALIVE


async def test_a_replica_marked_lost_stops_its_jobs_without_writing(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store, runtimes = shared
    a = await start(store, runtimes)
    job = await run_delayed(a)
    a_id = a.replica.replica_id
    assert a_id is not None
    await a.replica.stop()
    await store.replicas.mark_lost(store.replicas.replicas[a_id].heartbeat_at, [a_id])
    other = replace(this_process(), replica_id="rep_other")
    await store.replicas.join(other)
    store.jobs[job.job_id].owner = other.replica_id  # as its claim would
    await a.replica.beat()
    assert a.live_job(job.job_id) is None  # stopped, not finished
    assert store.jobs[job.job_id].status is JobStatus.RUNNING
    assert store.jobs[job.job_id].owner == "rep_other"
    assert a.replica.replica_id != a_id


async def test_a_cleanly_stopped_replicas_jobs_are_taken_over_at_once(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store, runtimes = shared
    a = await start(store, runtimes)
    b = await start(store, runtimes)
    job = await run_delayed(a)
    runtimes.remove(a)
    await a.shutdown()  # leaves: stopped, not lost
    await until_true(lambda: b.live_job(job.job_id), timeout=5, what="b took the job over")
    final = await b.wait_job(job.job_id, timeout=10)
    assert final.status is JobStatus.COMPLETED
    assert final.output == expected_output()
    assert not [e for e in store.events if e.type is EventType.REPLICA_LOST]


async def test_a_runtime_alone_on_its_store_takes_every_job_at_once() -> None:
    """An exclusive store (one process, like SQLite's lock): the last runtime's replica is
    marked lost at start, whatever its heartbeat, and its jobs resume immediately."""
    store = MemoryStore()
    a = Runtime(registry(), store, replica_settings())
    await a.start()
    job = await run_delayed(a)
    await a.replica.stop()  # as if the process died: it never leaves
    b = Runtime(registry(), store, RuntimeSettings(replica_lease_seconds=3600))
    await b.start()
    try:
        assert b.live_job(job.job_id) is not None
        final = await b.wait_job(job.job_id, timeout=10)
        assert final.output == expected_output()
        assert final.recoveries == 1
    finally:
        await b.shutdown()
        await a.shutdown()


async def test_retrying_a_failed_job_takes_it_over() -> None:
    store = MemoryStore(exclusive=False)
    async with Runtime(registry(), store, replica_settings()) as rt:
        job = Job(
            job_id="job_failed",
            flow_id="nowhere",
            worker_id="wrk_gone",
            status=JobStatus.FAILED,
            input={},
            created_at=utcnow(),
            owner="rep_elsewhere",
        )
        store.jobs[job.job_id] = job
        assert await store.replicas.take_job(job.job_id, "rep_here")
        assert store.jobs[job.job_id].owner == "rep_here"
        assert store.jobs[job.job_id].status is JobStatus.QUEUED
        assert not await store.replicas.take_job(job.job_id, "rep_third")  # taken already
        assert rt.replica.replica_id is not None


async def test_a_replica_held_up_itself_judges_the_others_only_once_it_beats_on_time(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store = shared[0]
    a, b = [await start(*shared) for _ in range(2)]
    a_id = a.replica.replica_id
    assert a_id is not None
    for held_up in (a, b):  # both held up, as by a stalled event loop
        await held_up.replica.stop()
    await asyncio.sleep(LEASE * 1.5)

    def status_of_a() -> ReplicaStatus:
        return store.replicas.replicas[a_id].status

    await b.replica.beat()  # late itself: a's heartbeat, as late, is not held against it
    assert status_of_a() is ReplicaStatus.ALIVE
    await b.replica.beat()  # on time, and a still silent past its lease: lost
    assert status_of_a() is ReplicaStatus.LOST
