"""Two replicas on one in-memory store: what one changes the other learns, and controls and waits
asked of either reach the replica holding the job."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from routilux.engine import FlowSpec, JobStatus, Runtime
from routilux.engine import deployment as deployment_module
from routilux.engine.errors import (
    BreakpointNotFound,
    FlowHasActiveJobs,
    FlowNotFound,
    JobNotCancellable,
    ReplicaUnavailable,
)
from routilux.engine.models import Job, WorkerStatus
from tests.engine.support import Gate, Pair, pipeline
from tests.poll import until_true


def gated(name: str, **extra: Any) -> FlowSpec:
    Gate.gates[name] = asyncio.Event()
    Gate.entered.pop(name, None)
    return FlowSpec.model_validate(
        pipeline(("g", "Gate", {"name": name}), ("a", "Add", {}), **extra)
    )


async def known(rt: Runtime, flow_id: str) -> None:
    await until_true(lambda: rt.has_flow(flow_id), timeout=5, what="the flow reached the replica")


async def running_at_gate(rt: Runtime, flow_id: str, name: str, count: int = 1) -> list[Job]:
    jobs = [await rt.execute(flow_id, {"value": i}) for i in range(count)]
    await until_true(lambda: Gate.entered.get(name) == count, timeout=5, what="jobs at the gate")
    return jobs


async def test_a_flow_created_on_one_replica_runs_on_the_other_and_its_changes_follow(
    pair: Pair,
) -> None:
    a, b = pair
    flow = await a.create_flow(FlowSpec.model_validate(pipeline(("a", "Add", {}))))
    await known(b, flow.flow_id)
    job = await b.execute(flow.flow_id, {"value": 1})
    assert (await b.wait_job(job.job_id, 5)).output == {"a.output": [{"value": 2}]}

    updated = FlowSpec.model_validate(pipeline(("a", "Add", {}), ("again", "Add", {})))
    await a.update_flow(flow.flow_id, updated)
    await until_true(lambda: b.get_flow(flow.flow_id).revision == 2, timeout=5)
    job = await b.execute(flow.flow_id, {"value": 1})
    assert (await b.wait_job(job.job_id, 5)).output == {"again.output": [{"value": 3}]}

    await a.delete_flow(flow.flow_id)
    await until_true(lambda: not b.has_flow(flow.flow_id), timeout=5)
    with pytest.raises(FlowNotFound):
        await b.execute(flow.flow_id, {"value": 1})


async def test_a_flow_with_jobs_on_another_replica_is_not_deleted_without_force(
    pair: Pair,
) -> None:
    a, b = pair
    flow = await a.create_flow(gated("dep-delete"))
    await known(b, flow.flow_id)
    (job,) = await running_at_gate(b, flow.flow_id, "dep-delete")
    assert not a.unfinished_jobs()  # a holds none of them: only the deployment knows
    with pytest.raises(FlowHasActiveJobs) as refused:
        await a.delete_flow(flow.flow_id)
    assert refused.value.details == {"unfinished_jobs": 1}
    assert a.has_flow(flow.flow_id) and b.has_flow(flow.flow_id)  # nothing changed
    assert b.live_job(job.job_id).status is JobStatus.RUNNING  # type: ignore[union-attr]

    await a.delete_flow(flow.flow_id, force=True)  # b cancels its job as it learns
    final = await b.wait_job(job.job_id, 5)
    assert final.status is JobStatus.CANCELLED
    await until_true(lambda: not b.has_flow(flow.flow_id), timeout=5)


async def test_cancel_on_one_replica_of_a_job_running_on_the_other_ends_it_cancelled(
    pair: Pair,
) -> None:
    a, b = pair
    flow = await a.create_flow(gated("dep-cancel"))
    (job,) = await running_at_gate(a, flow.flow_id, "dep-cancel")
    answered = await b.cancel_job(job.job_id)
    assert answered.status in (JobStatus.CANCELLING, JobStatus.CANCELLED)  # read from the store
    final = await b.wait_job(job.job_id, 5)
    assert final.status is JobStatus.CANCELLED and final.output == {}
    assert a.live_job(job.job_id).status is JobStatus.CANCELLED  # type: ignore[union-attr]
    assert (await b.cancel_job(job.job_id)).status is JobStatus.CANCELLED  # idempotent

    other = await a.create_flow(FlowSpec.model_validate(pipeline(("a", "Add", {}))))
    done = await a.execute(other.flow_id, {"value": 1})
    await a.wait_job(done.job_id, 5)
    with pytest.raises(JobNotCancellable):
        await b.cancel_job(done.job_id)


async def test_a_breakpoint_made_on_one_replica_pauses_a_job_on_the_other_resumed_from_the_first(
    pair: Pair,
) -> None:
    a, b = pair
    flow = await a.create_flow(
        FlowSpec.model_validate(pipeline(("x", "Add", {}), ("y", "Add", {})))
    )
    bp = await a.create_breakpoint(flow.flow_id, "y")
    await until_true(lambda: b.find_breakpoints(flow_id=flow.flow_id), timeout=5)
    job = await b.execute(flow.flow_id, {"value": 1})
    paused = await a.wait_settled(job.job_id, 5)  # held by b, waited for on a
    assert paused.status is JobStatus.PAUSED
    assert paused.paused_at is not None and paused.paused_at.breakpoint_id == bp.breakpoint_id

    assert await a.resume_breakpoint(bp.breakpoint_id, job.job_id) == [job.job_id]
    assert (await a.wait_job(job.job_id, 5)).output == {"y.output": [{"value": 3}]}

    # Without a job: every replica resumes what waits there.
    jobs = [
        await b.execute(flow.flow_id, {"value": 1}),
        await a.execute(flow.flow_id, {"value": 2}),
    ]
    for job in jobs:
        assert (await a.wait_settled(job.job_id, 5)).status is JobStatus.PAUSED
    assert sorted(await a.resume_breakpoint(bp.breakpoint_id)) == sorted(j.job_id for j in jobs)
    for job in jobs:
        assert (await b.wait_job(job.job_id, 5)).status is JobStatus.COMPLETED

    # Deleted on a: the job waiting on b goes on, and b no longer has it.
    waiting = await b.execute(flow.flow_id, {"value": 5})
    assert (await a.wait_settled(waiting.job_id, 5)).status is JobStatus.PAUSED
    await a.delete_breakpoint(bp.breakpoint_id)
    assert (await a.wait_job(waiting.job_id, 5)).output == {"y.output": [{"value": 7}]}
    with pytest.raises(BreakpointNotFound):
        b.get_breakpoint(bp.breakpoint_id)


async def test_a_worker_paused_on_one_replica_holds_the_jobs_on_the_other(pair: Pair) -> None:
    a, b = pair
    flow = await a.create_flow(gated("dep-pause"))
    (first,) = await running_at_gate(a, flow.flow_id, "dep-pause")  # a makes the worker
    await until_true(lambda: b.list_workers(), timeout=5, what="b adopted the worker")
    assert b.get_worker(first.worker_id).flow_id == flow.flow_id
    on_b = await b.execute(flow.flow_id, {"value": 10})
    assert on_b.worker_id == first.worker_id  # one worker for the flow, everywhere
    await until_true(lambda: Gate.entered.get("dep-pause") == 2, timeout=5)

    await a.pause_worker(first.worker_id)
    await until_true(lambda: b.get_worker(first.worker_id).status is WorkerStatus.PAUSED, timeout=5)
    Gate.gates["dep-pause"].set()
    assert (await b.wait_settled(on_b.job_id, 5)).status is JobStatus.PAUSED
    assert b.live_job(on_b.job_id).progress["a"].activations == 0  # type: ignore[union-attr]

    await a.resume_worker(first.worker_id)
    assert (await a.wait_job(on_b.job_id, 5)).output == {"a.output": [{"value": 11}]}
    assert (await b.wait_job(first.job_id, 5)).status is JobStatus.COMPLETED


async def test_a_wait_on_one_replica_for_a_job_on_the_other_is_woken_when_it_ends(
    pair: Pair,
) -> None:
    a, b = pair
    flow = await a.create_flow(gated("dep-wait"))
    (job,) = await running_at_gate(a, flow.flow_id, "dep-wait")
    with pytest.raises(TimeoutError):
        await b.wait_job(job.job_id, 0.1)
    assert (await b.wait_settled(job.job_id, 0.1)).status is JobStatus.RUNNING
    waiting = asyncio.create_task(b.wait_job(job.job_id, 5))
    await asyncio.sleep(0.05)  # the watch is with a
    opened = time.monotonic()
    Gate.gates["dep-wait"].set()
    final = await waiting
    assert final.status is JobStatus.COMPLETED
    # Woken by a's signal, not by the fallback's next read of the store.
    assert time.monotonic() - opened < deployment_module.WAIT_POLL / 2


async def test_a_control_the_holding_replica_does_not_answer_fails_as_unavailable(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    monkeypatch.setattr(deployment_module, "CONTROL_TIMEOUT", 0.2)
    flow = await a.create_flow(gated("dep-deaf"))
    (job,) = await running_at_gate(a, flow.flow_id, "dep-deaf")
    await a.signals.close()  # a hears nothing more (it stays alive and holds the job)
    with pytest.raises(ReplicaUnavailable):
        await b.cancel_job(job.job_id)
    assert a.live_job(job.job_id).status is JobStatus.RUNNING  # type: ignore[union-attr]
    Gate.gates["dep-deaf"].set()
    assert (await a.wait_job(job.job_id, 5)).status is JobStatus.COMPLETED
