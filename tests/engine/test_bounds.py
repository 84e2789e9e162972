"""The server's bounds on one job's work, each with its error code, and what a job holds after.

Also: the finished-job cache bounded in bytes, partial batches flushed when a job would otherwise
complete, and the warning for a cycle that nothing can stop.
"""

from __future__ import annotations

from typing import Any

import pytest

from routilux.engine import FlowSpec, JobStatus, MemoryStore, Runtime
from routilux.engine.bounds import JobLimits
from routilux.engine.errors import FlowValidationError
from routilux.engine.inline import AHEAD_OF_STORE
from routilux.engine.models import Job
from routilux.engine.runtime_settings import RuntimeSettings
from routilux.engine.sizes import DELIVERY_OVERHEAD, payload_size
from routilux.routines import default_registry
from tests.poll import until_true

CYCLE: dict[str, Any] = {
    "flow_id": "cycle",
    "routines": {"a": {"class": "Identity"}, "b": {"class": "Identity"}},
    "connections": [{"from": "a.output", "to": "b.input"}, {"from": "b.output", "to": "a.input"}],
    "entry": "a.input",
}


def fan_out(width: int = 10, depth: int = 10) -> dict[str, Any]:
    """One entry routine, then ``depth`` layers of ``width`` Identity routines, every routine of
    a layer connected to every routine of the next: width**depth deliveries to the last."""
    routines: dict[str, Any] = {"start": {"class": "Identity"}}
    connections = []
    previous = ["start"]
    for layer in range(depth):
        current = [f"l{layer}_{i}" for i in range(width)]
        routines.update({name: {"class": "Identity"} for name in current})
        connections += [
            {"from": f"{a}.output", "to": f"{b}.input"} for a in previous for b in current
        ]
        previous = current
    return {"flow_id": "fanout", "routines": routines, "connections": connections}


def limited(**limits: Any) -> RuntimeSettings:
    return RuntimeSettings(job_limits=JobLimits(**limits))


async def run(rt: Runtime, document: dict[str, Any], data: dict[str, Any] | None = None) -> Job:
    flow = await rt.create_flow(FlowSpec.model_validate(document))
    job = await rt.execute(flow.flow_id, data if data is not None else {"x": 1})
    return await rt.wait_job(job.job_id, timeout=20)


def assert_released(rt: Runtime, job: Job) -> None:
    """Nothing of a finished job's work is left in the runtime."""
    assert rt.unfinished_jobs() == []
    assert job.job_id not in rt._runs


async def test_a_cycle_fails_with_too_many_activations() -> None:
    async with Runtime(default_registry(), settings=limited(max_activations=1000)) as rt:
        job = await run(rt, CYCLE)
        assert job.status is JobStatus.FAILED
        assert job.error is not None and job.error.code == "too_many_activations"
        assert "1000 activations" in job.error.message
        assert sum(p.activations for p in job.progress.values()) == 1000
        assert_released(rt, job)


async def test_a_fan_out_fails_with_job_backlog_exceeded_by_count() -> None:
    async with Runtime(default_registry(), settings=limited(max_backlog=5000)) as rt:
        job = await run(rt, fan_out())
        assert job.status is JobStatus.FAILED
        assert job.error is not None and job.error.code == "job_backlog_exceeded"
        assert "5000 deliveries" in job.error.message
        assert_released(rt, job)


async def test_big_deliveries_fail_with_job_backlog_exceeded_by_bytes() -> None:
    # Ten items of 100 KB each for one routine at once: 1 MB queued against 500 KB.
    document = {
        "flow_id": "split",
        "routines": {
            "split": {"class": "Splitter", "config": {"field": "items", "item_field": "text"}},
            "next": {"class": "Identity"},
        },
        "connections": [{"from": "split.item", "to": "next.input"}],
    }
    async with Runtime(default_registry(), settings=limited(max_backlog_bytes=500_000)) as rt:
        job = await run(rt, document, {"items": ["x" * 100_000] * 10})
        assert job.status is JobStatus.FAILED
        assert job.error is not None and job.error.code == "job_backlog_exceeded"
        assert "500000 bytes" in job.error.message
        assert_released(rt, job)
        smaller = await rt.execute("split", {"items": ["x" * 100_000] * 3})
        assert (await rt.wait_job(smaller.job_id, 5)).status is JobStatus.COMPLETED


async def test_the_same_fan_out_within_its_bounds_completes() -> None:
    async with Runtime(default_registry()) as rt:
        job = await run(rt, fan_out(width=3, depth=4))
        assert job.status is JobStatus.COMPLETED
        assert sum(len(v) for v in job.output.values()) == 3**4


async def test_the_servers_wall_time_bounds_a_flow_without_a_timeout() -> None:
    async with Runtime(default_registry(), settings=limited(max_seconds=0.2)) as rt:
        job = await run(rt, CYCLE)  # the default activation bound is far away
        assert job.status is JobStatus.FAILED
        assert job.error is not None and job.error.code == "job_timeout"
        assert "the server's limit of 0.2 s" in job.error.message
        assert_released(rt, job)


async def test_a_flow_may_lower_the_wall_time_but_not_exceed_it() -> None:
    async with Runtime(default_registry(), settings=limited(max_seconds=60)) as rt:
        await rt.create_flow(FlowSpec.model_validate({**CYCLE, "execution": {"timeout": 60}}))
        with pytest.raises(FlowValidationError) as caught:
            await rt.create_flow(
                FlowSpec.model_validate({**CYCLE, "flow_id": "long", "execution": {"timeout": 61}})
            )
        [problem] = caught.value.errors
        assert problem.loc == ("execution", "timeout")
        assert "at most 60 s" in problem.message
        assert not rt.has_flow("long")


def test_the_size_estimate_counts_the_top_level_only() -> None:
    small = payload_size({"x": 1})
    assert small == payload_size({"y": 2.5}) > DELIVERY_OVERHEAD
    assert payload_size({"x": "a" * 10_000}) >= 10_000
    assert payload_size({"x": list(range(1000))}) >= 8000
    nested = {"x": {"deep": "a" * 10_000}}  # shared by reference when routed: not counted
    assert payload_size(nested) < 1000


async def test_a_partial_batch_is_flushed_when_the_job_would_otherwise_complete() -> None:
    document = {
        "flow_id": "batches",
        "routines": {
            "split": {"class": "Splitter", "config": {"field": "items", "item_field": "v"}},
            "batch": {"class": "Batcher", "config": {"batch_size": 4}},
            "again": {"class": "Batcher", "config": {"batch_size": 3}},
        },
        "connections": [
            {"from": "split.item", "to": "batch.input"},
            {"from": "batch.batch", "to": "again.input"},
        ],
    }
    async with Runtime(default_registry()) as rt:
        job = await run(rt, document, {"items": list(range(10))})
        assert job.status is JobStatus.COMPLETED
        # batch: 4, 4, then the partial 2; again: all three at once, each in order.
        [result] = job.output["again.batch"]
        assert result["size"] == 3
        assert [b["size"] for b in result["items"]] == [4, 4, 2]
        assert [item["v"] for b in result["items"] for item in b["items"]] == list(range(10))


async def test_a_partial_join_is_flushed_when_the_job_would_otherwise_complete() -> None:
    document = {
        "flow_id": "join",
        "routines": {
            "in": {"class": "Identity"},
            "join": {"class": "Aggregator", "config": {"slots": ["a", "b"]}},
        },
        "connections": [{"from": "in.output", "to": "join.a"}],
    }
    async with Runtime(default_registry()) as rt:
        job = await run(rt, document, {"x": 1})
        assert job.status is JobStatus.COMPLETED
        assert job.output == {"join.aggregated": [{"a": {"x": 1}}]}


async def test_finished_jobs_are_cached_within_a_byte_bound() -> None:
    document = {
        "flow_id": "echo",
        "routines": {"echo": {"class": "Identity"}},
    }
    settings = RuntimeSettings(finished_jobs_cached_bytes=1_600_000)
    async with Runtime(default_registry(), store=MemoryStore(), settings=settings) as rt:
        await rt.create_flow(FlowSpec.model_validate(document))
        big = await rt.execute("echo", {"text": "x" * 200_000})  # over a sixteenth: not kept
        big_done = await rt.wait_job(big.job_id, 5)
        assert rt.live_job(big.job_id) is None
        again = await rt.get_job(big.job_id)  # from the store, whole
        assert again.output == big_done.output == {"echo.output": [{"text": "x" * 200_000}]}
        jobs = []
        for _ in range(60):  # ~ 40 KB each (input and output): about 40 fit
            job = await rt.execute("echo", {"text": "y" * 20_000})
            jobs.append(await rt.wait_job(job.job_id, 5))
        assert rt.finished_bytes <= 1_600_000
        kept = [job for job in jobs if rt.live_job(job.job_id) is not None]
        assert 0 < len(kept) < len(jobs)
        assert kept == jobs[-len(kept) :]  # the oldest went first
        assert all(rt.live_job(j.job_id) is j for j in kept)


async def test_a_cycle_nothing_can_stop_is_flagged_at_create() -> None:
    guarded = {
        "flow_id": "guarded",
        "routines": {
            "a": {"class": "Identity"},
            "keep": {"class": "Filter", "config": {"condition": "data.n < 3"}},
        },
        "connections": [
            {"from": "a.output", "to": "keep.input"},
            {"from": "keep.passed", "to": "a.input"},
        ],
        "entry": "a.input",
    }
    async with Runtime(default_registry()) as rt:
        await rt.create_flow(FlowSpec.model_validate(CYCLE))
        [warning] = rt.flow_warnings("cycle")
        assert warning.type == "unbounded_cycle" and warning.routines == ("a", "b")
        await rt.create_flow(FlowSpec.model_validate(guarded))
        assert rt.flow_warnings("guarded") == []
        await rt.create_flow(FlowSpec.model_validate(fan_out(3, 3)))
        assert rt.flow_warnings("fanout") == []


class BehindStore(MemoryStore):
    """A store whose database is ``behind`` rows of checkpoints behind every job."""

    def __init__(self) -> None:
        super().__init__()
        self.behind = 0
        self.asked = 0

    def checkpoint_backlog(self, job_id: str) -> int:
        self.asked += 1
        return self.behind


async def test_a_job_far_ahead_of_its_checkpoints_waits_for_the_store() -> None:
    store = BehindStore()
    async with Runtime(default_registry(), store) as rt:
        flow = await rt.create_flow(FlowSpec.model_validate(fan_out(width=3, depth=3)))
        store.behind = AHEAD_OF_STORE + 1
        job = await rt.execute(flow.flow_id, {"x": 1})
        await until_true(lambda: store.asked >= 5, timeout=5, what="the drain asking the store")
        waiting = await rt.get_job(job.job_id)
        assert waiting.status is JobStatus.RUNNING
        assert waiting.progress["start"].completed == 0  # not one activation ran meanwhile
        store.behind = AHEAD_OF_STORE  # caught up enough
        done = await rt.wait_job(job.job_id, timeout=10)
        assert done.status is JobStatus.COMPLETED
        assert sum(len(v) for v in done.output.values()) == 3**3
