"""Job placement between two replicas on one PostgreSQL database: a busy replica's new jobs go
to the other one, told by a NOTIFY, and complete there; a job whose signal is lost is found and
started by its replica's heartbeat query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from routilux.engine import EventType, FlowSpec, JobStatus
from routilux.store.signals import PgSignals
from tests.poll import until_true
from tests.store.conftest import REPLICA_HEARTBEAT, Replica

SLOW = {
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "wait": {"class": "Delay", "config": {"seconds": 2.0}},  # outlasts the placing
        "done": {"class": "Mapper", "config": {"mappings": {"n": "n", "twice": "n"}}},
    },
    "connections": [
        {"from": "shape.output", "to": "wait.input"},
        {"from": "wait.output", "to": "done.input"},
    ],
}


def output(n: int) -> dict[str, Any]:
    return {"done.output": [{"n": n, "twice": n}]}


async def test_a_busy_replicas_jobs_go_to_the_other_and_complete_there(
    replicas: Callable[..., Awaitable[Replica]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Heartbeats far apart: no refreshed view of the deployment changes a's count mid-test.
    quiet = {"replica_heartbeat_seconds": 5.0, "replica_lease_seconds": 30.0}
    a, store_a, _ = await replicas(**quiet)
    b, store_b, published_b = await replicas(**quiet)
    await a.replica.look_around()  # a's view of the deployment now has b
    assert isinstance(a.signals, PgSignals)
    sent, send = [], a.signals.send

    async def recorded(topic: str, message: dict[str, Any]) -> None:
        sent.append((topic, message))
        await send(topic, message)

    monkeypatch.setattr(a.signals, "send", recorded)
    flow = await a.create_flow(FlowSpec.model_validate(SLOW))  # b has never seen it
    jobs = [await a.execute(flow.flow_id, {"n": n}) for n in range(4)]
    a_id, b_id = a.replica.replica_id, b.replica.replica_id
    stored = [await store_a.get_job(job.job_id) for job in jobs]
    owners = [job.owner if job is not None else None for job in stored]
    assert owners == [a_id, b_id, a_id, b_id]
    starts = [message for topic, message in sent if topic == "start"]  # one NOTIFY per job placed
    assert starts == [
        {"to": b_id, "job_id": jobs[1].job_id},
        {"to": b_id, "job_id": jobs[3].job_id},
    ]

    for n, job in enumerate(jobs):
        final = await a.wait_job(job.job_id, timeout=15)
        assert (final.status, final.output) == (JobStatus.COMPLETED, output(n))
        assert final.replica_id == owners[n]
    started_on_b = [str(e.job_id) for e in published_b if e.type is EventType.JOB_STARTED]
    assert sorted(started_on_b) == sorted([jobs[1].job_id, jobs[3].job_id])
    assert await store_b.replicas.owned_jobs(b_id or "") == []  # all finished


async def test_a_job_whose_signal_is_lost_is_started_by_the_heartbeat(
    replicas: Callable[..., Awaitable[Replica]], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, store_a, _ = await replicas()
    b, _, _ = await replicas()
    await a.replica.look_around()

    async def lost(topic: str, message: dict[str, Any]) -> None:
        return None

    monkeypatch.setattr(a.signals, "send", lost)
    flow = await a.create_flow(FlowSpec.model_validate(SLOW))
    await a.execute(flow.flow_id, {"n": 1})
    placed = await a.execute(flow.flow_id, {"n": 2})
    b_id = b.replica.replica_id
    assert b_id is not None
    assert placed.job_id in await store_a.replicas.owned_jobs(b_id)
    await until_true(
        lambda: b.live_job(placed.job_id), timeout=REPLICA_HEARTBEAT * 20, what="b started it"
    )
    final = await b.wait_job(placed.job_id, timeout=15)
    assert (final.status, final.output, final.replica_id) == (JobStatus.COMPLETED, output(2), b_id)
