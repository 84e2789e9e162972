"""The runtime running real flows: completion, concurrency, isolation, timeouts, restarts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from routilux.engine import (
    EventFilter,
    EventType,
    FlowSpec,
    JobStatus,
    MemoryStore,
    Runtime,
    load_flow,
)
from routilux.engine.errors import FlowAlreadyExists, FlowHasActiveJobs, FlowValidationError
from routilux.routines import default_registry
from tests.engine.support import Gate, pipeline, registry

ORIGINAL_DSL = """
flow_id: my_flow            # optional
routines:
  extract:
    class: Mapper           # a registered routine type, by name (never a module path)
    config: {mappings: {name: user.name}}
    error_handler: {strategy: retry, max_retries: 3, retry_delay: 1.0, retry_backoff: 2.0}
  keep:
    class: Filter
    config: {condition: 'data.name != ""'}
connections:
  - {from: extract.output, to: keep.input}   # "<routine_id>.<event>" -> "<routine_id>.<slot>"
execution:
  timeout: 300
"""


async def run_one(rt: Runtime, flow_id: str, data: dict[str, Any], timeout: float = 5) -> Any:
    job = await rt.execute(flow_id, data)
    return await rt.wait_job(job.job_id, timeout=timeout)


async def test_three_routine_pipeline_completes_by_itself_with_output() -> None:
    async with Runtime(registry()) as rt:
        flow = await rt.create_flow(
            FlowSpec.model_validate(
                pipeline(("a", "Add", {}), ("b", "Add", {"amount": 10}), ("c", "Add", {}))
            )
        )
        job = await run_one(rt, flow.flow_id, {"value": 1})
        assert job.status is JobStatus.COMPLETED
        assert job.output == {"c.output": [{"value": 13}]}
        assert job.error is None
        assert job.started_at is not None and job.finished_at is not None
        assert {rid: p.status for rid, p in job.progress.items()} == {
            "a": "completed",
            "b": "completed",
            "c": "completed",
        }


async def test_original_routilux_document_loads_and_runs_unchanged() -> None:
    async with Runtime(default_registry()) as rt:
        flow = await rt.create_flow(load_flow(ORIGINAL_DSL))
        assert flow.flow_id == "my_flow"
        job = await run_one(rt, "my_flow", {"user": {"name": "Ada"}})
        assert job.status is JobStatus.COMPLETED
        assert job.output == {"keep.passed": [{"name": "Ada"}]}


async def test_200_concurrent_fan_out_fan_in_jobs_each_get_their_own_result() -> None:
    document = {
        "routines": {
            "split": {"class": "Splitter", "config": {"field": "numbers", "item_field": "value"}},
            "work": {"class": "Add", "config": {"amount": 1000}},
            "join": {"class": "Aggregator", "config": {"count": 4, "field": "value"}},
        },
        "connections": [
            {"from": "split.item", "to": "work.input"},
            {"from": "work.output", "to": "join.input"},
        ],
        "execution": {"concurrency": 64},
    }
    async with Runtime(registry()) as rt:
        flow = await rt.create_flow(FlowSpec.model_validate(document))
        jobs = [
            await rt.execute(flow.flow_id, {"numbers": [n * 10 + k for k in range(4)]})
            for n in range(200)
        ]
        done = await asyncio.gather(*(rt.wait_job(j.job_id, timeout=30) for j in jobs))
        for n, job in enumerate(done):
            assert job.status is JobStatus.COMPLETED, job.error
            (aggregate,) = job.output["join.aggregated"]
            assert sorted(aggregate["items"]) == [n * 10 + k + 1000 for k in range(4)]


async def test_a_job_with_no_reachable_work_completes_immediately() -> None:
    async with Runtime(default_registry()) as rt:
        document = {
            "routines": {"keep": {"class": "Filter", "config": {"condition": "data.x > 1"}}},
        }
        flow = await rt.create_flow(FlowSpec.model_validate(document))
        job = await run_one(rt, flow.flow_id, {"x": 0})
        assert job.status is JobStatus.COMPLETED
        assert job.output == {"keep.rejected": [{"x": 0}]}


async def test_job_timeout_fails_the_job_with_a_clear_error() -> None:
    async with Runtime(registry()) as rt:
        Gate.gates["never"] = asyncio.Event()
        flow = await rt.create_flow(
            FlowSpec.model_validate(
                pipeline(("wait", "Gate", {"name": "never"}), execution={"timeout": 0.05})
            )
        )
        job = await run_one(rt, flow.flow_id, {"value": 1})
        assert job.status is JobStatus.FAILED
        assert job.error is not None and job.error.code == "job_timeout"
        assert "the flow's limit of 0.05 s" in job.error.message


async def test_invalid_flow_reports_every_problem_with_its_location() -> None:
    document = {
        "routines": {
            "a": {"class": "Nope"},
            "b": {"class": "Mapper", "config": {"mappings": {"x": "y"}, "bogus": 1}},
            "c": {"class": "Filter", "config": {"condition": "data.x >"}},
            "d": {"class": "Identity"},
        },
        "connections": [
            {"from": "d.nothing", "to": "d.input"},
            {"from": "d.output", "to": "zz.input"},
        ],
    }
    async with Runtime(default_registry()) as rt:
        with pytest.raises(FlowValidationError) as caught:
            await rt.create_flow(FlowSpec.model_validate(document))
        locs = {e.loc for e in caught.value.errors}
        assert ("routines", "a", "class") in locs
        assert ("routines", "b", "config", "bogus") in locs
        assert ("routines", "c", "config", "condition") in locs
        assert ("connections", 0, "from") in locs
        assert ("connections", 1, "to") in locs
        assert rt.list_flows() == []


def test_duplicate_routine_ids_in_a_document_are_rejected() -> None:
    text = "routines:\n  a: {class: Identity}\n  a: {class: Mapper}\n"
    with pytest.raises(FlowValidationError) as caught:
        load_flow(text)
    assert "duplicate key a" in caught.value.errors[0].message
    with pytest.raises(FlowValidationError):
        load_flow('{"routines": {"a": {"class": "Identity"}, "a": {"class": "Identity"}}}', "json")


async def test_creating_an_existing_flow_id_conflicts_and_keeps_the_original() -> None:
    async with Runtime(default_registry()) as rt:
        spec = FlowSpec.model_validate(
            {"flow_id": "same", "routines": {"a": {"class": "Identity"}}}
        )
        await rt.create_flow(spec)
        with pytest.raises(FlowAlreadyExists):
            await rt.create_flow(spec)
        job = await run_one(rt, "same", {"v": 1})
        assert job.output == {"a.output": [{"v": 1}]}


async def test_delete_flow_with_unfinished_jobs_needs_force() -> None:
    async with Runtime(registry()) as rt:
        Gate.gates["del"] = asyncio.Event()
        flow = await rt.create_flow(
            FlowSpec.model_validate(pipeline(("wait", "Gate", {"name": "del"})))
        )
        job = await rt.execute(flow.flow_id, {})
        with pytest.raises(FlowHasActiveJobs):
            await rt.delete_flow(flow.flow_id)
        await rt.delete_flow(flow.flow_id, force=True)
        assert (await rt.get_job(job.job_id)).status is JobStatus.CANCELLED
        assert rt.get_worker(job.worker_id).status == "stopped"


async def test_events_have_increasing_ids_and_tell_the_whole_story() -> None:
    async with Runtime(registry()) as rt:
        flow = await rt.create_flow(FlowSpec.model_validate(pipeline(("a", "Add", {}))))
        subscription = rt.bus.subscribe([EventFilter(flow_ids=frozenset({flow.flow_id}))])
        job = await run_one(rt, flow.flow_id, {"value": 1})
        events = []
        while (event := subscription.get_nowait()) is not None:
            events.append(event)
        assert [e.type for e in events] == [
            EventType.JOB_QUEUED,
            EventType.JOB_STARTED,
            EventType.ROUTINE_STARTED,
            EventType.EVENT_EMITTED,
            EventType.ROUTINE_COMPLETED,
            EventType.JOB_COMPLETED,
        ]
        assert all(e.job_id == job.job_id for e in events)
        ids = [e.id for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_the_bus_is_built_once_subscriptions_made_before_start_hear_everything() -> None:
    store = MemoryStore()
    async with Runtime(registry(), store) as first:
        flow = await first.create_flow(FlowSpec.model_validate(pipeline(("a", "Add", {}))))
        await run_one(first, flow.flow_id, {"value": 1})
        last = first.bus.last_id
    rt = Runtime(registry(), store)
    early = rt.bus.subscribe()
    bus = rt.bus
    async with rt:
        assert rt.bus is bus
        job = await run_one(rt, flow.flow_id, {"value": 2})
    heard = []
    while (event := early.get_nowait()) is not None:
        heard.append(event)
    assert EventType.JOB_COMPLETED in [e.type for e in heard if e.job_id == job.job_id]
    assert all(e.id > last for e in heard)  # ids go on above the stored ones


async def test_a_slow_subscriber_is_cut_off_without_slowing_the_engine() -> None:
    async with Runtime(registry()) as rt:
        flow = await rt.create_flow(FlowSpec.model_validate(pipeline(("a", "Add", {}))))
        slow = rt.bus.subscribe(buffer_size=3)
        fast = rt.bus.subscribe(buffer_size=10_000)
        jobs = [await rt.execute(flow.flow_id, {"value": i}) for i in range(20)]
        for job in jobs:
            await rt.wait_job(job.job_id, timeout=5)
        assert slow.overflowed and not fast.overflowed
        assert fast.pending() == 20 * 6


async def test_restart_requeues_queued_jobs_and_resumes_running_ones() -> None:
    store = MemoryStore()
    async with Runtime(registry(), store) as first:
        flow = await first.create_flow(FlowSpec.model_validate(pipeline(("a", "Add", {}))))
        done = await run_one(first, flow.flow_id, {"value": 0})
    # What a crash leaves behind: one job caught running before its first checkpoint, one still
    # queued, and one running whose flow is gone (it cannot resume).
    running = replace(done, job_id="job_running", status=JobStatus.RUNNING, output={})
    running.input = {"value": 1}
    queued = replace(done, job_id="job_queued", status=JobStatus.QUEUED, output={})
    queued.input = {"value": 41}
    orphan = replace(done, job_id="job_orphan", status=JobStatus.RUNNING, flow_id="gone")
    for job in (running, queued, orphan):
        job.finished_at = None
        await store.save_job(job)
    async with Runtime(registry(), store) as again:
        resumed = await again.wait_job("job_running", timeout=5)
        assert resumed.status is JobStatus.COMPLETED and resumed.recoveries == 1
        assert resumed.output == {"a.output": [{"value": 2}]}  # from its input: nothing was kept
        queued_done = await again.wait_job("job_queued", timeout=5)
        assert queued_done.status is JobStatus.COMPLETED and queued_done.recoveries == 0
        assert queued_done.output == {"a.output": [{"value": 42}]}
        lost = await again.get_job("job_orphan")
        assert lost.status is JobStatus.FAILED
        assert lost.error is not None and lost.error.code == "interrupted"


def test_importing_the_engine_pulls_in_neither_fastapi_nor_sqlalchemy() -> None:
    code = (
        "import sys, routilux.engine, routilux.routines;"
        "bad = [m for m in ('fastapi', 'sqlalchemy', 'starlette') if m in sys.modules];"
        "print(','.join(bad))"
    )
    server = Path(__file__).resolve().parents[2] / "server"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(server)},
    )
    assert result.stdout.strip() == ""
