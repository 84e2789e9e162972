"""Job placement between replicas on one in-memory store: a busy replica's new jobs go to the
one holding fewer, an executor-role replica runs the jobs another accepted, and a job whose start
signal was lost is started by its replica's next heartbeat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from routilux.engine import EventType, FlowSpec, JobStatus, MemoryStore, Runtime, RuntimeSettings
from routilux.engine.replicas import ReplicaRole
from tests.engine.support import registry
from tests.poll import stays_async, until_true

HEARTBEAT = 0.05

SLOW = {
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "wait": {"class": "Delay", "config": {"seconds": 1.0}},  # outlasts the placing
        "done": {"class": "Mapper", "config": {"mappings": {"n": "n", "twice": "n"}}},
    },
    "connections": [
        {"from": "shape.output", "to": "wait.input"},
        {"from": "wait.output", "to": "done.input"},
    ],
}


def output(n: int) -> dict[str, Any]:
    return {"done.output": [{"n": n, "twice": n}]}


@pytest.fixture
async def shared() -> AsyncIterator[tuple[MemoryStore, list[Runtime]]]:
    store = MemoryStore(exclusive=False)
    runtimes: list[Runtime] = []
    yield store, runtimes
    for runtime in runtimes:
        await runtime.shutdown()


async def start(
    shared: tuple[MemoryStore, list[Runtime]],
    role: ReplicaRole = ReplicaRole.ALL,
    lease: float = 0.4,
) -> Runtime:
    store, runtimes = shared
    settings = RuntimeSettings(
        replica_heartbeat_seconds=HEARTBEAT, replica_lease_seconds=lease, replica_role=role
    )
    runtime = Runtime(registry(), store, settings)
    await runtime.start()
    runtimes.append(runtime)
    return runtime


async def test_a_busy_replicas_new_jobs_go_to_the_one_holding_fewer(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store, _ = shared
    a = await start(shared)
    b = await start(shared)
    await a.replica.look_around()  # a's view of the deployment now has b (a heartbeat's work)
    flow = await a.create_flow(FlowSpec.model_validate(SLOW))  # b has never seen it
    jobs = [await a.execute(flow.flow_id, {"n": n}) for n in range(4)]
    a_id, b_id = a.replica.replica_id, b.replica.replica_id
    # Each goes to whoever holds fewer unfinished jobs, a itself on a tie.
    assert [store.jobs[job.job_id].owner for job in jobs] == [a_id, b_id, a_id, b_id]
    await until_true(lambda: b.live_job(jobs[3].job_id), timeout=5, what="b started its jobs")
    for n, job in enumerate(jobs):
        final = await a.wait_job(job.job_id, timeout=10)  # read from the store for b's jobs
        assert (final.status, final.output) == (JobStatus.COMPLETED, output(n))
        assert final.replica_id == (a_id if n % 2 == 0 else b_id)
        assert final.recoveries == 0
    started = [str(e.job_id) for e in store.events if e.type is EventType.JOB_STARTED]
    assert sorted(started) == sorted(job.job_id for job in jobs)  # each ran once


async def test_an_executor_runs_the_jobs_another_replica_accepted(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store, _ = shared
    api = await start(shared)
    executor = await start(shared, ReplicaRole.EXECUTOR)
    await api.replica.look_around()
    roles = {r.replica_id: r.role for r in await store.replicas.list_replicas()}
    assert roles == {
        api.replica.replica_id: ReplicaRole.ALL,
        executor.replica.replica_id: ReplicaRole.EXECUTOR,
    }
    flow = await api.create_flow(FlowSpec.model_validate(SLOW))
    first = await api.execute(flow.flow_id, {"n": 1})  # a tie: the api replica keeps it
    second = await api.execute(flow.flow_id, {"n": 2})
    assert api.live_job(second.job_id) is None
    running = await until_true(
        lambda: executor.live_job(second.job_id), timeout=5, what="the executor started it"
    )
    final = await executor.wait_job(running.job_id, timeout=10)
    assert (final.status, final.output) == (JobStatus.COMPLETED, output(2))
    assert final.replica_id == executor.replica.replica_id
    assert (await api.get_job(second.job_id)).output == output(2)
    assert (await api.wait_job(first.job_id, timeout=10)).output == output(1)


async def test_a_job_whose_start_signal_is_lost_starts_on_the_next_heartbeat(
    shared: tuple[MemoryStore, list[Runtime]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = shared
    a = await start(shared, lease=30)  # b's heartbeats stop below: nobody may take it for lost
    b = await start(shared, lease=30)
    await b.replica.stop()  # b heartbeats only when the test says so
    await a.replica.look_around()

    async def lost(topic: str, message: dict[str, Any]) -> None:
        return None

    monkeypatch.setattr(a.signals, "send", lost)
    flow = await a.create_flow(FlowSpec.model_validate(SLOW))
    await a.execute(flow.flow_id, {"n": 1})
    placed = await a.execute(flow.flow_id, {"n": 2})
    assert store.jobs[placed.job_id].owner == b.replica.replica_id

    async def not_started() -> bool:
        return b.live_job(placed.job_id) is None

    await stays_async(not_started, seconds=0.2, what="b did not start the job")
    assert store.jobs[placed.job_id].status is JobStatus.QUEUED

    await b.replica.beat()
    assert b.live_job(placed.job_id) is not None
    await b.replica.beat()  # running already: not started twice
    final = await b.wait_job(placed.job_id, timeout=10)
    assert (final.status, final.output) == (JobStatus.COMPLETED, output(2))
    started = [e for e in store.events if e.type is EventType.JOB_STARTED]
    assert [e.job_id for e in started].count(placed.job_id) == 1


async def test_a_replica_alone_runs_its_jobs_itself(
    shared: tuple[MemoryStore, list[Runtime]],
) -> None:
    store, _ = shared
    a = await start(shared)
    executor = await start(shared, ReplicaRole.EXECUTOR)
    await executor.shutdown()  # left: it holds nothing and gets nothing
    await a.replica.look_around()
    assert a.replica.view == []
    flow = await a.create_flow(FlowSpec.model_validate(SLOW))
    jobs = [await a.execute(flow.flow_id, {"n": n}) for n in range(3)]
    assert {store.jobs[job.job_id].owner for job in jobs} == {a.replica.replica_id}
    assert all(a.live_job(job.job_id) is not None for job in jobs)
