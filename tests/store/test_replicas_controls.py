"""Two replicas on one PostgreSQL database, meeting only there (signals and rows): a flow made
on one runs on the other, a breakpoint made on one pauses the other's job, and a cancel asked
of one reaches the job the other holds, fast (its latency is measured and printed)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import pytest

from routilux.engine import FlowSpec, JobStatus, Runtime, RuntimeSettings
from routilux.routines import default_registry
from routilux.store import SqlStore
from tests.poll import until_true

HOLD = {
    "routines": {"hold": {"class": "Delay", "config": {"seconds": 30.0}}},
    "connections": [],
    "execution": {"concurrency": 50},
}
TWO_STEPS = {
    "routines": {
        "x": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "y": {"class": "Mapper", "config": {"mappings": {"n": "n", "again": "n"}}},
    },
    "connections": [{"from": "x.output", "to": "y.input"}],
}
CANCELS = 50


@pytest.fixture
async def pair(pg_database: str) -> AsyncIterator[tuple[Runtime, Runtime]]:
    started: list[tuple[Runtime, SqlStore]] = []
    settings = RuntimeSettings(replica_heartbeat_seconds=0.2, replica_lease_seconds=3.0)
    for _ in range(2):
        store = SqlStore(pg_database)
        await store.open()
        runtime = Runtime(default_registry(), store, settings)
        try:
            await runtime.start()
        except BaseException:
            await store.close()
            raise
        started.append((runtime, store))
    yield started[0][0], started[1][0]
    for runtime, store in started:
        try:
            await runtime.shutdown()
        finally:
            await store.close()


async def test_a_flow_and_a_breakpoint_made_on_one_replica_hold_a_job_on_the_other(
    pair: tuple[Runtime, Runtime],
) -> None:
    a, b = pair
    flow = await a.create_flow(FlowSpec.model_validate(TWO_STEPS))
    bp = await a.create_breakpoint(flow.flow_id, "y")
    await until_true(lambda: b.find_breakpoints(flow_id=flow.flow_id), timeout=5)
    job = await b.execute(flow.flow_id, {"n": 4})
    paused = await a.wait_settled(job.job_id, 5)
    assert paused.status is JobStatus.PAUSED and paused.owner == b.replica.replica_id
    assert await a.resume_breakpoint(bp.breakpoint_id, job.job_id) == [job.job_id]
    final = await a.wait_job(job.job_id, 5)
    assert final.output == {"y.output": [{"n": 4, "again": 4}]}


async def test_cancels_asked_of_one_replica_reach_the_jobs_the_other_holds_fast(
    pair: tuple[Runtime, Runtime],
) -> None:
    a, b = pair
    flow = await a.create_flow(FlowSpec.model_validate(HOLD))
    await until_true(lambda: b.has_flow(flow.flow_id), timeout=5)
    jobs = [await b.execute(flow.flow_id, {"n": i}) for i in range(CANCELS)]
    await b.store.flush()

    def holder(job_id: str) -> Runtime | None:
        """The replica running the job (b places some of them on a: engine/placement.py)."""
        return next((r for r in (a, b) if r.live_job(job_id) is not None), None)

    def running() -> bool:
        live = [a.live_job(job.job_id) or b.live_job(job.job_id) for job in jobs]
        return all(job is not None and job.status is JobStatus.RUNNING for job in live)

    await until_true(running, timeout=10, what="running")
    latencies = []
    for job in jobs:
        asker = a if holder(job.job_id) is b else b  # never the holder: the cancel is forwarded
        asked = time.perf_counter()
        answered = await asker.cancel_job(job.job_id)
        latencies.append(time.perf_counter() - asked)
        assert answered.status in (JobStatus.CANCELLING, JobStatus.CANCELLED)
    for job in jobs:
        assert (await a.wait_job(job.job_id, 10)).status is JobStatus.CANCELLED
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000
    print(f"forwarded cancel over PostgreSQL: p50 {p50:.1f} ms, p99 {p99:.1f} ms, n={CANCELS}")
    assert p99 < 1000
    await asyncio.sleep(0)
