"""Two replicas on one PostgreSQL database: a replica whose heartbeats stop loses its job to the
other, which resumes it from its checkpoint to the output an uninterrupted run gives, while what
the lost one still writes is fenced off; a replica starting next to a live one takes nothing."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from routilux.engine import EventType, FlowSpec, JobStatus, Runtime
from routilux.engine.models import Job
from routilux.store import SqlStore
from tests.poll import until_true
from tests.store.conftest import REPLICA_HEARTBEAT as HEARTBEAT
from tests.store.conftest import REPLICA_LEASE as LEASE
from tests.store.conftest import Replica

DELAYED = {
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "wait": {"class": "Delay", "config": {"seconds": 3.0}},
        "done": {"class": "Mapper", "config": {"mappings": {"n": "n", "late": "n"}}},
    },
    "connections": [
        {"from": "shape.output", "to": "wait.input"},
        {"from": "wait.output", "to": "done.input"},
    ],
}
OUTPUT = {"done.output": [{"n": 7, "late": 7}]}


async def run_delayed(runtime: Runtime, store: SqlStore) -> Job:
    flow = await runtime.create_flow(FlowSpec.model_validate(DELAYED))
    job = await runtime.execute(flow.flow_id, {"n": 7})
    await until_true(
        lambda: job.progress["wait"].activations == 1, timeout=5, what="the delay started"
    )
    await store.flush()  # its checkpoint (the delay running) is in
    return job


async def test_a_lost_replicas_job_is_resumed_elsewhere_and_its_late_writes_fenced(
    replicas: Callable[[], Awaitable[Replica]],
) -> None:
    a, store_a, _ = await replicas()
    b, store_b, published_b = await replicas()
    job = await run_delayed(a, store_a)  # a flow and a worker b does not know
    a_id, b_id = a.replica.replica_id, b.replica.replica_id
    assert a_id is not None and b_id is not None

    await a.replica.stop()  # a's heartbeats stop; its own run of the job goes on
    stopped = time.monotonic()
    await until_true(lambda: b.live_job(job.job_id), timeout=LEASE * 5, what="b took over")
    failover = time.monotonic() - stopped
    assert LEASE * 0.9 < failover < LEASE + 3 * HEARTBEAT + 1.0

    final = await b.wait_job(job.job_id, timeout=15)
    assert final.status is JobStatus.COMPLETED
    assert final.output == OUTPUT
    assert final.recoveries == 1
    assert final.replica_id == b_id

    # a finishes its copy too: its final state never reaches the store.
    late = await a.wait_job(job.job_id, timeout=15)
    assert late.status is JobStatus.COMPLETED
    await store_a.flush()
    stored = await store_b.get_job(job.job_id)
    assert stored is not None
    assert (stored.owner, stored.status, stored.recoveries) == (b_id, JobStatus.COMPLETED, 1)
    assert stored.output == OUTPUT

    events = await store_b.list_job_events(job.job_id, limit=1000)
    recovered = [e for e in events if e.type is EventType.JOB_RECOVERED]
    assert [e.data["replica_id"] for e in recovered] == [b_id]
    lost = [e for e in published_b if e.type is EventType.REPLICA_LOST]
    assert [e.data["replica_id"] for e in lost] == [a_id]

    # a's next heartbeat finds it lost: it stops what it runs and joins under a new id.
    await a.replica.beat()
    assert a.replica.replica_id not in (None, a_id)
    statuses = {r.replica_id: r.status.value for r in await store_b.replicas.list_replicas()}
    assert statuses == {a_id: "lost", b_id: "alive", a.replica.replica_id: "alive"}


async def test_a_replica_starting_next_to_a_live_one_takes_none_of_its_jobs(
    replicas: Callable[[], Awaitable[Replica]],
) -> None:
    a, store_a, _ = await replicas()
    job = await run_delayed(a, store_a)
    b, store_b, _ = await replicas()
    assert b.live_job(job.job_id) is None
    stored = await store_b.get_job(job.job_id)
    assert stored is not None and stored.owner == a.replica.replica_id
    final = await a.wait_job(job.job_id, timeout=15)
    assert (final.status, final.recoveries, final.output) == (JobStatus.COMPLETED, 0, OUTPUT)
    assert b.live_job(job.job_id) is None


async def test_a_cleanly_stopped_replicas_jobs_are_taken_over_within_a_heartbeat(
    replicas: Callable[[], Awaitable[Replica]],
) -> None:
    a, store_a, _ = await replicas()
    b, _, _ = await replicas()
    job = await run_delayed(a, store_a)
    await a.shutdown()  # a rolling restart: a leaves, its job stays where its checkpoint is
    stopped = time.monotonic()
    await until_true(lambda: b.live_job(job.job_id), timeout=5, what="b took over")
    assert time.monotonic() - stopped < LEASE  # no lease to wait for
    final = await b.wait_job(job.job_id, timeout=15)
    result: dict[str, Any] = {"status": final.status, "output": final.output}
    assert result == {"status": JobStatus.COMPLETED, "output": OUTPUT}
