"""Checkpointed execution: a job stopped at any moment resumes where it was, with the output an
uninterrupted run gives; a failed job is retried from its last checkpoint.

Here the process "dies" by ``Runtime.shutdown()`` over an in-memory store, which keeps exactly
what the engine checkpointed; tests/ops/test_durable.py does the same with SIGKILL and SQLite
or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any, ClassVar

import pytest

from routilux.engine import EventType, FlowSpec, JobStatus, MemoryStore, Runtime
from routilux.engine.errors import JobNotRetryable
from routilux.engine.models import Job
from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from tests.engine.support import registry

ITEMS = 300


def durable_flow(items: int = ITEMS) -> dict[str, Any]:
    """Splitter -> Mapper -> retrying routine -> Filter -> Delay -> Aggregator."""
    return {
        "routines": {
            "split": {"class": "Splitter", "config": {"field": "items"}},
            "square": {"class": "Mapper", "config": {"mappings": {"n": "item", "tag": "item"}}},
            "flaky": {
                "class": "Fail",
                "config": {"times": 3},
                "error_handler": {"strategy": "retry", "max_retries": 5, "retry_delay": 0.002},
            },
            "odd": {"class": "Filter", "config": {"condition": "data.n % 3 != 0"}},
            "wait": {"class": "Delay", "config": {"seconds": 0.0005}},
            "collect": {"class": "Aggregator", "config": {"count": items, "field": "n"}},
        },
        "connections": [
            {"from": "split.item", "to": "square.input"},
            {"from": "square.output", "to": "flaky.input"},
            {"from": "flaky.output", "to": "odd.input"},
            {"from": "odd.passed", "to": "wait.input"},
            {"from": "wait.output", "to": "collect.input"},
        ],
    }


async def create(rt: Runtime, spec: dict[str, Any]) -> str:
    return (await rt.create_flow(FlowSpec.model_validate(spec))).flow_id


async def uninterrupted(spec: dict[str, Any], data: dict[str, Any]) -> Job:
    async with Runtime(registry()) as rt:
        flow_id = await create(rt, spec)
        job = await rt.execute(flow_id, data)
        return await rt.wait_job(job.job_id, timeout=60)


async def resumed(rt: Runtime, job_id: str, recoveries: int) -> None:
    """Wait until the restarted ``rt`` resumed the job (or finished it): a stop before that
    interrupts no run, and the job is resumed (and counted) once for both."""
    deadline = time.monotonic() + 10
    while True:
        job = rt.live_job(job_id)
        if job is None or job.status.finished or job.recoveries >= recoveries:
            return
        assert time.monotonic() < deadline, f"the job was not resumed: {job}"
        await asyncio.sleep(0.001)


async def test_a_job_stopped_twenty_times_ends_with_the_output_of_an_uninterrupted_run() -> None:
    data = {"items": list(range(ITEMS))}
    expected = await uninterrupted(durable_flow(), data)
    assert expected.status is JobStatus.COMPLETED
    assert expected.output["collect.aggregated"][0]["count"] == ITEMS * 2 // 3

    store = MemoryStore()
    rt = Runtime(registry(), store)
    await rt.start()
    flow_id = await create(rt, durable_flow())
    job_id = (await rt.execute(flow_id, data)).job_id
    chance = random.Random(7)
    stops = 0
    while stops < 20:
        await asyncio.sleep(chance.uniform(0.0, 0.03))
        if rt.live_job(job_id) is None or (await rt.get_job(job_id)).status.finished:
            break
        await rt.shutdown()  # everything in flight is dropped; only the checkpoints remain
        stops += 1
        rt = Runtime(registry(), store)
        await rt.start()
        await resumed(rt, job_id, stops)
    final = await rt.wait_job(job_id, timeout=60)
    await rt.shutdown()
    assert stops >= 5, "the job finished before it was stopped a few times: make it longer"
    assert final.status is JobStatus.COMPLETED
    assert final.recoveries == stops
    assert final.output == expected.output
    recovered = [e for e in store.events if e.type is EventType.JOB_RECOVERED]
    assert len(recovered) == stops
    assert not store.checkpoints  # a completed job's checkpoint is dropped


async def test_a_job_paused_at_a_breakpoint_is_still_paused_there_after_a_restart() -> None:
    spec = durable_flow(items=10)
    data = {"items": list(range(10))}
    expected = await uninterrupted(spec, data)
    store = MemoryStore()
    async with Runtime(registry(), store) as rt:
        flow_id = await create(rt, spec)
        bp = await rt.create_breakpoint(flow_id, "odd", condition="data.n == 4")
        job_id = (await rt.execute(flow_id, data)).job_id
        paused = await rt.wait_settled(job_id, timeout=10)
        assert paused.status is JobStatus.PAUSED and paused.paused_at is not None
        payload = paused.paused_at.payload
    async with Runtime(registry(), store) as rt:
        again = await rt.get_job(job_id)
        assert again.status is JobStatus.PAUSED and again.paused_at is not None
        assert again.paused_at.payload == payload and again.paused_at.routine_id == "odd"
        waiting = rt.get_breakpoint(bp.breakpoint_id)
        assert waiting.waiting_jobs == [job_id]
        await asyncio.sleep(0.05)  # nothing moves while it is paused
        assert (await rt.get_job(job_id)).status is JobStatus.PAUSED
        assert await rt.resume_breakpoint(bp.breakpoint_id) == [job_id]
        final = await rt.wait_job(job_id, timeout=10)
    assert final.status is JobStatus.COMPLETED and final.output == expected.output
    hits = [e for e in store.events if e.type is EventType.BREAKPOINT_HIT]
    assert len(hits) == 1  # resumed where it waited: the breakpoint was not hit a second time


@pytest.mark.parametrize(
    ("routine", "running"),
    [
        ({"class": "Debouncer", "config": {"wait": 0.6}}, 0.2),  # a timer armed by a payload
        ({"class": "Delay", "config": {"seconds": 0.6}}, 0.3),  # a running delay
    ],
    ids=["debouncer", "delay"],
)
async def test_a_wait_keeps_its_deadline_across_a_restart(
    routine: dict[str, Any], running: float
) -> None:
    store = MemoryStore()
    async with Runtime(registry(), store) as rt:
        flow_id = await create(rt, {"routines": {"wait": routine}})
        job_id = (await rt.execute(flow_id, {"n": 1})).job_id
        started = time.monotonic()
        await asyncio.sleep(running)
    async with Runtime(registry(), store) as rt:
        final = await rt.wait_job(job_id, timeout=5)
        took = time.monotonic() - started
    assert final.status is JobStatus.COMPLETED and final.output == {"wait.output": [{"n": 1}]}
    # Its original deadline (0.6 s after the payload came), not a fresh 0.6 s after the restart.
    assert 0.55 <= took < 0.75


class Service(Routine[RoutineConfig]):
    """Calls a service that is down while ``down`` is set; records each call's attempt."""

    type_name = "Service"
    config_model = RoutineConfig
    down: ClassVar[bool] = True
    calls: ClassVar[list[tuple[str, int]]] = []

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        Service.calls.append((ctx.activation_id, ctx.attempt))
        if Service.down:
            raise ConnectionError("the service is down")
        ctx.emit("output", inputs.payload)


async def test_a_failed_job_retried_reruns_what_failed_and_nothing_before_it() -> None:
    spec = {
        "routines": {
            "split": {"class": "Splitter", "config": {"field": "items"}},
            "call": {"class": "Service"},
            "collect": {"class": "Aggregator", "config": {"count": 3}},
        },
        "connections": [
            {"from": "split.item", "to": "call.input"},
            {"from": "call.output", "to": "collect.input"},
        ],
    }
    reg = registry()
    reg.register(Service)
    Service.down, Service.calls = True, []
    store = MemoryStore()
    async with Runtime(reg, store) as rt:
        flow_id = await create(rt, spec)
        job_id = (await rt.execute(flow_id, {"items": [1, 2, 3]})).job_id
        failed = await rt.wait_job(job_id, timeout=5)
        assert failed.status is JobStatus.FAILED and failed.error is not None
        assert failed.error.routine_id == "call"
        assert len(Service.calls) == 1  # the job stopped at the first failure
        Service.down = False  # the cause is fixed
        retried = await rt.retry_job(job_id)
        assert retried.status in (JobStatus.QUEUED, JobStatus.RUNNING) and retried.error is None
        final = await rt.wait_job(job_id, timeout=5)
        events = store.events
    assert final.status is JobStatus.COMPLETED
    items = [{"item": n, "index": n - 1, "count": 3} for n in (1, 2, 3)]
    assert final.output == {"collect.aggregated": [{"items": items, "count": 3}]}
    assert final.progress["split"].activations == 1  # the splitter did not run again
    first = Service.calls[0][0]
    assert Service.calls[1] == (first, 2)  # what failed ran again, as its next attempt
    assert [e.type for e in events if e.type is EventType.JOB_RETRIED] == [EventType.JOB_RETRIED]


async def test_only_a_failed_job_can_be_retried() -> None:
    spec = {"routines": {"later": {"class": "Delay", "config": {"seconds": 5}}}}
    async with Runtime(registry()) as rt:
        flow_id = await create(rt, spec)
        job_id = (await rt.execute(flow_id, {})).job_id
        with pytest.raises(JobNotRetryable) as running:
            await rt.retry_job(job_id)
        assert running.value.details["status"] == "running"
        await rt.cancel_job(job_id)
        await rt.wait_job(job_id, timeout=5)
        with pytest.raises(JobNotRetryable) as cancelled:
            await rt.retry_job(job_id)
        assert cancelled.value.details["status"] == "cancelled"


async def test_activation_ids_are_stable_and_name_the_activation() -> None:
    seen: list[tuple[str, int]] = []

    class Record(Routine[RoutineConfig]):
        type_name = "Record"
        config_model = RoutineConfig

        def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
            seen.append((ctx.activation_id, ctx.attempt))
            if ctx.attempt < 2:
                raise RuntimeError("once more")
            ctx.emit("output", inputs.payload)

    reg = registry()
    reg.register(Record)
    spec = {
        "routines": {
            "rec": {
                "class": "Record",
                "error_handler": {"strategy": "retry", "max_retries": 2, "retry_delay": 0.0},
            }
        }
    }
    async with Runtime(reg) as rt:
        flow_id = await create(rt, spec)
        job = await rt.execute(flow_id, {"x": 1})
        await rt.wait_job(job.job_id, timeout=5)
    assert [attempt for _, attempt in seen] == [1, 2]
    assert seen[0][0] == seen[1][0] == f"{job.job_id}:rec:1"
