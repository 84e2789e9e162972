"""Error strategies change the job's outcome: stop, continue, retry, skip."""

from __future__ import annotations

import asyncio
from typing import Any

from routilux.engine import EventFilter, EventType, FlowSpec, JobStatus, Runtime
from tests.engine.support import pipeline, registry


def flaky_flow(strategy: dict[str, Any], failures: int) -> FlowSpec:
    document = pipeline(
        ("first", "Add", {}),
        ("flaky", "Flaky", {"failures": failures}),
        ("last", "Add", {}),
    )
    document["routines"]["flaky"]["error_handler"] = strategy
    return FlowSpec.model_validate(document)


async def run(spec: FlowSpec, data: dict[str, Any] | None = None) -> Any:
    async with Runtime(registry()) as rt:
        flow = await rt.create_flow(spec)
        job = await rt.execute(flow.flow_id, data or {"value": 0})
        return await rt.wait_job(job.job_id, timeout=5)


async def test_stop_fails_the_job_naming_routine_type_and_message() -> None:
    job = await run(flaky_flow({"strategy": "stop"}, failures=1))
    assert job.status is JobStatus.FAILED
    assert job.error.code == "routine_failed"
    assert (job.error.routine_id, job.error.type) == ("flaky", "RuntimeError")
    assert job.error.message == "attempt 1 failed"
    assert job.progress["flaky"].status == "failed"
    assert job.progress["last"].status == "pending" and job.output == {}


async def test_stop_is_the_default_strategy() -> None:
    job = await run(flaky_flow({}, failures=1))
    assert job.status is JobStatus.FAILED


async def test_flow_level_strategy_applies_to_routines_without_their_own() -> None:
    document = pipeline(("flaky", "Flaky", {"failures": 1}), ("last", "Add", {}))
    document["execution"] = {"error_handler": {"strategy": "continue"}}
    job = await run(FlowSpec.model_validate(document))
    assert job.status is JobStatus.COMPLETED
    assert job.progress["flaky"].status == "error_continued"


async def test_continue_records_the_error_and_completes_the_job() -> None:
    job = await run(flaky_flow({"strategy": "continue"}, failures=1))
    assert job.status is JobStatus.COMPLETED
    assert job.error is None
    progress = job.progress["flaky"]
    assert (progress.status, progress.failed) == ("error_continued", 1)
    assert progress.last_error == "RuntimeError: attempt 1 failed"
    assert job.output == {}  # nothing went past the failed routine


async def test_retry_reruns_the_same_input_with_backoff_until_it_passes() -> None:
    strategy = {"strategy": "retry", "max_retries": 3, "retry_delay": 0.01, "retry_backoff": 2}
    async with Runtime(registry()) as rt:
        flow = await rt.create_flow(flaky_flow(strategy, failures=2))
        retries = rt.bus.subscribe([EventFilter(types=frozenset({EventType.ROUTINE_RETRYING}))])
        jobs = [await rt.execute(flow.flow_id, {"value": i}) for i in range(2)]
        finals = await asyncio.gather(*(rt.wait_job(j.job_id, 5) for j in jobs))
        for i, job in enumerate(finals):
            assert job.status is JobStatus.COMPLETED
            assert job.output == {"last.output": [{"value": i + 2, "attempts": 3}]}
            assert job.progress["flaky"].retries == 2  # counted per job, not shared
        delays = []
        while (event := retries.get_nowait()) is not None:
            delays.append((event.job_id, event.data["attempt"], event.data["delay"]))
        assert sorted(d[1:] for d in delays) == [(1, 0.01), (1, 0.01), (2, 0.02), (2, 0.02)]


async def test_retry_exhausted_fails_the_job() -> None:
    strategy = {"strategy": "retry", "max_retries": 2, "retry_delay": 0.001}
    job = await run(flaky_flow(strategy, failures=5))
    assert job.status is JobStatus.FAILED
    assert job.error.message == "attempt 3 failed"
    assert job.progress["flaky"].retries == 2


async def test_skip_marks_the_routine_skipped_and_emits_nothing() -> None:
    job = await run(flaky_flow({"strategy": "skip"}, failures=1))
    assert job.status is JobStatus.COMPLETED
    assert job.progress["flaky"].status == "skipped"
    assert job.output == {} and job.progress["last"].activations == 0


async def test_builtin_fail_routine_under_retry_recovers() -> None:
    document = {
        "routines": {
            "fail": {
                "class": "Fail",
                "config": {"times": 2, "message": "boom"},
                "error_handler": {"strategy": "retry", "max_retries": 3, "retry_delay": 0.001},
            }
        }
    }
    job = await run(FlowSpec.model_validate(document), {"x": 1})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {"fail.output": [{"x": 1}]}
