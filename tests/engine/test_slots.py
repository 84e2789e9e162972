"""A worker's concurrency holds for the deployment as a whole: replicas running jobs of one flow
share its run slots (engine/slots.py), so together they never run more of its jobs at once than
the flow allows; a replica that waits for a slot gets one when another gives it back. Its queue
bound holds for the deployment too."""

from __future__ import annotations

import asyncio

import pytest

from routilux.engine import (
    Event,
    EventType,
    FlowSpec,
    JobStatus,
    MemoryStore,
    Runtime,
    RuntimeSettings,
)
from routilux.engine.errors import QueueFull
from routilux.engine.events import TERMINAL_JOB_EVENTS
from routilux.engine.models import FlowRecord
from tests.engine.support import Gate, Pair, pipeline, registry
from tests.poll import until_true


class Running:
    """Jobs running at once across both replicas, as their events tell it (one event loop: the
    sinks see the events in the order they happen)."""

    def __init__(self) -> None:
        self.now: set[str] = set()
        self.most = 0

    def __call__(self, event: Event) -> None:
        if event.type is EventType.JOB_STARTED and event.job_id:
            self.now.add(event.job_id)
            self.most = max(self.most, len(self.now))
        elif event.type in TERMINAL_JOB_EVENTS:
            self.now.discard(event.job_id or "")


async def gated_flow(a: Runtime, b: Runtime, gate: str, *, concurrency: int) -> FlowRecord:
    """A flow whose jobs wait at the closed gate ``gate``, created on ``a`` and known to ``b``."""
    Gate.gates[gate] = asyncio.Event()
    Gate.entered.pop(gate, None)
    spec = pipeline(
        ("g", "Gate", {"name": gate}), ("a", "Add", {}), execution={"concurrency": concurrency}
    )
    flow = await a.create_flow(FlowSpec.model_validate(spec))
    await until_true(lambda: b.has_flow(flow.flow_id), timeout=5, what="b knows the flow")
    return flow


async def test_two_replicas_together_run_no_more_jobs_of_a_flow_than_its_concurrency(
    pair: Pair,
) -> None:
    a, b = pair
    running = Running()
    a.bus.add_sink(running)
    b.bus.add_sink(running)
    flow = await gated_flow(a, b, "slots", concurrency=2)
    jobs = []
    for n in range(4):
        jobs.append((a, await a.execute(flow.flow_id, {"value": n})))
        jobs.append((b, await b.execute(flow.flow_id, {"value": n})))
    await until_true(lambda: Gate.entered.get("slots") == 2, timeout=5, what="two jobs running")
    await asyncio.sleep(0.3)  # long enough for a third to start, if anything let it
    assert Gate.entered["slots"] == 2 and running.most == 2
    # Wherever each was placed (engine/placement.py): on the replica asked, or on the other.
    held = [a.live_job(job.job_id) or b.live_job(job.job_id) for _, job in jobs]
    waiting = [job for job in held if job is not None and job.status is JobStatus.QUEUED]
    assert len(waiting) == 6

    Gate.gates["slots"].set()  # the rest go, two at a time, on both replicas
    for rt, job in jobs:
        done = await rt.wait_job(job.job_id, timeout=10)
        assert done.status is JobStatus.COMPLETED
    assert running.most == 2
    assert not running.now


async def test_a_replica_waiting_for_a_slot_gets_one_given_back(pair: Pair) -> None:
    a, b = pair
    flow = await gated_flow(a, b, "one", concurrency=1)
    first = await a.execute(flow.flow_id, {"value": 1})
    await until_true(lambda: Gate.entered.get("one") == 1, timeout=5, what="a runs its job")
    second = await b.execute(flow.flow_id, {"value": 2})
    await asyncio.sleep(0.2)
    queued = b.live_job(second.job_id)
    assert queued is not None and queued.status is JobStatus.QUEUED  # a holds the only slot
    Gate.gates["one"].set()
    assert (await a.wait_job(first.job_id, timeout=5)).status is JobStatus.COMPLETED
    assert (await b.wait_job(second.job_id, timeout=5)).status is JobStatus.COMPLETED


async def test_a_flows_queue_bound_holds_for_the_deployment() -> None:
    """Each replica alone would take ``max_queued_per_worker`` jobs; together they take that
    many."""
    store = MemoryStore(exclusive=False)
    settings = RuntimeSettings(
        replica_heartbeat_seconds=0.05, replica_lease_seconds=2.0, max_queued_per_worker=3
    )
    a, b = Runtime(registry(), store, settings), Runtime(registry(), store, settings)
    await a.start()
    await b.start()
    try:
        flow = await gated_flow(a, b, "queue", concurrency=1)
        first = await a.execute(flow.flow_id, {"value": 0})
        await until_true(lambda: Gate.entered.get("queue") == 1, timeout=5, what="one runs")
        accepted = [first]
        for n, rt in enumerate((b, a, b), start=1):
            accepted.append(await rt.execute(flow.flow_id, {"value": n}))
        for rt in (a, b):
            with pytest.raises(QueueFull, match="3 queued jobs in the deployment"):
                await rt.execute(flow.flow_id, {"value": 9})
        assert sum(j.status is JobStatus.QUEUED for j in store.jobs.values()) == 3
        Gate.gates["queue"].set()
        for job in accepted:
            done = await a.wait_job(job.job_id, timeout=10)
            assert done.status is JobStatus.COMPLETED
        assert len(store.jobs) == 4  # the refused ones left nothing behind
    finally:
        await b.shutdown()
        await a.shutdown()
