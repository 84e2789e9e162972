"""Controlling jobs in flight: cancel, worker pause/resume, breakpoints, and timers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from routilux.engine import EventFilter, EventType, FlowSpec, JobStatus, Runtime
from routilux.engine.errors import InvalidInput, JobNotCancellable, NoJobWaiting
from tests.engine.support import Block, Gate, pipeline, registry
from tests.poll import until_true


async def flow_of(rt: Runtime, document: dict[str, Any]) -> str:
    return (await rt.create_flow(FlowSpec.model_validate(document))).flow_id


async def test_cancel_queued_job_is_immediate() -> None:
    async with Runtime(registry()) as rt:
        Gate.gates["cq"] = asyncio.Event()
        flow_id = await flow_of(
            rt, pipeline(("g", "Gate", {"name": "cq"}), execution={"concurrency": 1})
        )
        first = await rt.execute(flow_id, {})
        second = await rt.execute(flow_id, {})
        assert second.status is JobStatus.QUEUED
        cancelled = await rt.cancel_job(second.job_id)
        assert cancelled.status is JobStatus.CANCELLED
        assert cancelled.started_at is None
        Gate.gates["cq"].set()
        assert (await rt.wait_job(first.job_id, 5)).status is JobStatus.COMPLETED


async def test_cancel_running_async_job_cancels_logic_and_starts_nothing_more() -> None:
    async with Runtime(registry()) as rt:
        Gate.gates["ca"] = asyncio.Event()
        flow_id = await flow_of(rt, pipeline(("g", "Gate", {"name": "ca"}), ("next", "Add", {})))
        job = await rt.execute(flow_id, {"value": 1})
        await until_true(
            lambda: job.status is JobStatus.RUNNING and Gate.entered.get("ca"), timeout=5
        )
        await rt.cancel_job(job.job_id)
        final = await rt.wait_job(job.job_id, 5)
        assert final.status is JobStatus.CANCELLED
        assert final.output == {}
        assert final.progress["next"].status == "pending"
        again = await rt.cancel_job(job.job_id)  # idempotent
        assert again.status is JobStatus.CANCELLED


async def test_cancel_lets_sync_logic_finish_and_discards_its_output() -> None:
    async with Runtime(registry()) as rt:
        flow_id = await flow_of(
            rt, pipeline(("block", "Block", {"seconds": 0.2}), ("next", "Add", {}))
        )
        job = await rt.execute(flow_id, {"value": 1})
        await until_true(
            lambda: "block" in job.progress and job.progress["block"].activations == 1, timeout=5
        )
        cancelling = await rt.cancel_job(job.job_id)
        assert cancelling.status is JobStatus.CANCELLING
        final = await rt.wait_job(job.job_id, 5)
        assert final.status is JobStatus.CANCELLED
        assert job.job_id in Block.finished  # the thread ran to its end ...
        # ... and went nowhere
        assert final.output == {} and final.progress["next"].activations == 0


async def test_cancel_completed_job_is_refused() -> None:
    async with Runtime(registry()) as rt:
        flow_id = await flow_of(rt, pipeline(("a", "Add", {})))
        job = await rt.execute(flow_id, {"value": 1})
        await rt.wait_job(job.job_id, 5)
        with pytest.raises(JobNotCancellable):
            await rt.cancel_job(job.job_id)


async def test_paused_worker_starts_no_routine_until_resumed_and_loses_nothing() -> None:
    async with Runtime(registry()) as rt:
        Gate.gates["pw"] = asyncio.Event()
        flow_id = await flow_of(
            rt, pipeline(("g", "Gate", {"name": "pw"}), ("a", "Add", {}), ("b", "Add", {}))
        )
        jobs = [await rt.execute(flow_id, {"value": i}) for i in range(3)]
        await until_true(lambda: Gate.entered.get("pw", 0) == 3, timeout=5)
        worker_id = jobs[0].worker_id
        await rt.pause_worker(worker_id)
        await rt.pause_worker(worker_id)  # idempotent
        queued = await rt.execute(flow_id, {"value": 100})
        Gate.gates["pw"].set()  # logic in flight finishes ...
        await asyncio.sleep(0.05)
        for job in jobs:  # ... but nothing after it starts
            assert job.status is JobStatus.PAUSED
            assert job.progress["a"].activations == 0
        assert queued.status is JobStatus.QUEUED
        assert rt.get_worker(worker_id).status == "paused"
        await rt.resume_worker(worker_id)
        for job, value in [*zip(jobs, range(3), strict=True), (queued, 100)]:
            final = await rt.wait_job(job.job_id, 5)
            assert final.status is JobStatus.COMPLETED
            assert final.output == {"b.output": [{"value": value + 2}]}


async def test_breakpoint_pauses_before_the_routine_keeps_data_and_resumes_there() -> None:
    async with Runtime(registry()) as rt:
        flow_id = await flow_of(
            rt, pipeline(("a", "Add", {}), ("b", "Add", {"amount": 10}), ("c", "Add", {}))
        )
        hits = rt.bus.subscribe([EventFilter(types=frozenset({EventType.BREAKPOINT_HIT}))])
        bp = await rt.create_breakpoint(flow_id, "b", slot="input")
        job = await rt.execute(flow_id, {"value": 1})
        await until_true(lambda: job.status is JobStatus.PAUSED, timeout=5)
        assert job.paused_at is not None
        assert (job.paused_at.breakpoint_id, job.paused_at.routine_id) == (bp.breakpoint_id, "b")
        assert job.paused_at.payload == {"value": 2}
        assert job.progress["b"].activations == 0
        hit = hits.get_nowait()
        assert hit is not None and hit.data["payload"] == {"value": 2}
        assert hit.routine_id == "b" and hit.data["breakpoint_id"] == bp.breakpoint_id
        seen = rt.get_breakpoint(bp.breakpoint_id)
        assert seen.hit_count == 1 and seen.waiting_jobs == [job.job_id]
        assert await rt.resume_breakpoint(bp.breakpoint_id) == [job.job_id]
        final = await rt.wait_job(job.job_id, 5)
        assert final.status is JobStatus.COMPLETED
        assert final.output == {"c.output": [{"value": 13}]}
        with pytest.raises(NoJobWaiting):
            await rt.resume_breakpoint(bp.breakpoint_id)


async def test_breakpoint_condition_and_job_scope_select_what_pauses() -> None:
    async with Runtime(registry()) as rt:
        flow_id = await flow_of(rt, pipeline(("a", "Add", {}), ("b", "Add", {})))
        bp = await rt.create_breakpoint(flow_id, "b", condition="data.value > 5")
        small = await rt.wait_job((await rt.execute(flow_id, {"value": 1})).job_id, 5)
        assert small.status is JobStatus.COMPLETED
        big = await rt.execute(flow_id, {"value": 10})
        await until_true(lambda: big.status is JobStatus.PAUSED, timeout=5)
        await rt.delete_breakpoint(bp.breakpoint_id)  # jobs paused at it continue
        assert (await rt.wait_job(big.job_id, 5)).output == {"b.output": [{"value": 12}]}

        other = await rt.execute(flow_id, {"value": 0})
        await rt.wait_job(other.job_id, 5)
        scoped = await rt.create_breakpoint(flow_id, "a", job_id=other.job_id)
        free = await rt.wait_job((await rt.execute(flow_id, {"value": 0})).job_id, 5)
        assert free.status is JobStatus.COMPLETED
        assert rt.get_breakpoint(scoped.breakpoint_id).hit_count == 0


async def test_breakpoint_condition_reaching_python_internals_is_refused() -> None:
    async with Runtime(registry()) as rt:
        flow_id = await flow_of(rt, pipeline(("a", "Add", {})))
        for condition in ("().__class__.__base__.__subclasses__()", "data.__class__", "data.x >"):
            with pytest.raises(InvalidInput) as caught:
                await rt.create_breakpoint(flow_id, "a", condition=condition)
            assert caught.value.loc == ("condition",)
        assert rt.list_breakpoints() == []


async def test_batch_timeout_flushes_with_no_new_input() -> None:
    document = {
        "routines": {
            "split": {"class": "Splitter", "config": {}},
            "batch": {"class": "Batcher", "config": {"batch_size": 10, "batch_timeout": 0.05}},
        },
        "connections": [{"from": "split.item", "to": "batch.input"}],
    }
    async with Runtime(registry()) as rt:
        flow_id = await flow_of(rt, document)
        job = await rt.execute(flow_id, {"items": [1, 2, 3]})
        final = await rt.wait_job(job.job_id, 5)
        assert final.status is JobStatus.COMPLETED
        (batch,) = final.output["batch.batch"]
        assert [item["item"] for item in batch["items"]] == [1, 2, 3]


async def test_jobs_never_see_each_others_batches() -> None:
    document = {
        "routines": {
            "split": {"class": "Splitter", "config": {}},
            "batch": {"class": "Batcher", "config": {"batch_size": 2, "batch_timeout": 0.05}},
        },
        "connections": [{"from": "split.item", "to": "batch.input"}],
    }
    async with Runtime(registry()) as rt:
        flow_id = await flow_of(rt, document)
        a = await rt.execute(flow_id, {"items": ["a1", "a2", "a3"]})
        b = await rt.execute(flow_id, {"items": ["b1", "b2", "b3"]})
        for job, prefix in ((a, "a"), (b, "b")):
            final = await rt.wait_job(job.job_id, 5)
            items = [i["item"] for batch in final.output["batch.batch"] for i in batch["items"]]
            assert items == [f"{prefix}1", f"{prefix}2", f"{prefix}3"]
