from __future__ import annotations

import pytest

from routilux.engine import JobStatus, Runtime, load_flow
from routilux.routines import Fail, RoutineFailure, default_registry

from .support import activate, build, run_flow


async def test_fail_fails_first_times_then_passes_through() -> None:
    fail = build(Fail, {"times": 2, "message": "boom"})
    state: dict[str, object] = {}
    for _ in range(2):
        with pytest.raises(RoutineFailure, match="boom"):
            await activate(fail, {"x": 1}, state=state)
    assert await activate(fail, {"x": 1}, state=state) == [("output", {"x": 1})]


async def test_fail_without_times_always_fails() -> None:
    fail = build(Fail, {})
    state: dict[str, object] = {}
    for _ in range(5):
        with pytest.raises(RoutineFailure, match="failure requested"):
            await activate(fail, {}, state=state)


async def test_fail_counts_per_state_not_per_instance() -> None:
    fail = build(Fail, {"times": 1})
    with pytest.raises(RoutineFailure):
        await activate(fail, {}, state={})
    with pytest.raises(RoutineFailure):
        await activate(fail, {}, state={})


RETRY_FLOW = """
routines:
  fail:
    class: Fail
    config: {times: 2}
    error_handler: {strategy: retry, max_retries: 3, retry_delay: 0.01}
"""


async def test_fail_under_retry_completes() -> None:
    job = await run_flow(RETRY_FLOW, {"x": 1})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {"fail.output": [{"x": 1}]}
    assert job.progress["fail"].retries == 2


async def test_fail_counts_each_job_separately() -> None:
    async with Runtime(default_registry()) as runtime:
        flow = await runtime.create_flow(load_flow(RETRY_FLOW))
        first = await runtime.execute(flow.flow_id, {"n": 1})
        second = await runtime.execute(flow.flow_id, {"n": 2})
        for job_id, n in ((first.job_id, 1), (second.job_id, 2)):
            job = await runtime.wait_job(job_id, timeout=5)
            assert job.status is JobStatus.COMPLETED
            assert job.output == {"fail.output": [{"n": n}]}
            assert job.progress["fail"].retries == 2


async def test_fail_under_stop_fails_the_job() -> None:
    document = """
routines:
  fail:
    class: Fail
    config: {message: deliberate}
    error_handler: {strategy: stop}
"""
    job = await run_flow(document, {"x": 1})
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.code == "routine_failed"
    assert job.error.routine_id == "fail"
    assert job.error.type == "RoutineFailure"
    assert job.error.message == "deliberate"
    assert job.output == {}
