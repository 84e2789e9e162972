"""The engine on the SQL store: a job runs, and a new runtime on the same database finds it."""

from __future__ import annotations

from typing import Any

from routilux.engine.models import JobStatus, WorkerStatus
from routilux.engine.registry import RoutineRegistry
from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from routilux.engine.runtime import Runtime
from routilux.engine.spec import FlowSpec
from tests.store.conftest import StoreFactory


class Double(Routine[RoutineConfig]):
    type_name = "double"

    def run(self, ctx: RoutineContext, inputs: Inputs) -> Any:
        ctx.emit("output", value=inputs.payload["value"] * 2)


SPEC = {
    "flow_id": "twice",
    "routines": {"first": {"class": "double"}, "second": {"class": "double"}},
    "connections": [{"from": "first.output", "to": "second.input"}],
}


def registry() -> RoutineRegistry:
    return RoutineRegistry([Double])


async def test_job_runs_and_outlives_the_runtime(open_store: StoreFactory) -> None:
    store = await open_store()
    async with Runtime(registry(), store) as runtime:
        await runtime.create_flow(FlowSpec.model_validate(SPEC))
        job = await runtime.execute("twice", {"value": 3})
        done = await runtime.wait_job(job.job_id, timeout=10)
        assert done.status is JobStatus.COMPLETED
        assert done.output == {"second.output": [{"value": 12}]}
    await store.close()

    store = await open_store()
    stored = await store.get_job(job.job_id)
    assert stored is not None and stored.status is JobStatus.COMPLETED
    assert stored.output == {"second.output": [{"value": 12}]}
    types = [e.type.value for e in await store.list_job_events(job.job_id)]
    assert types[0] == "job.queued" and types[-1] == "job.completed"

    async with Runtime(registry(), store) as runtime:
        assert [f.flow_id for f in runtime.list_flows()] == ["twice"]
        again = await runtime.get_job(job.job_id)
        assert again.status is JobStatus.COMPLETED and again.output == stored.output
        assert [w.status for w in runtime.list_workers()] == [WorkerStatus.IDLE]
        # Event ids carry on from the stored history.
        second = await runtime.execute("twice", {"value": 1})
        await runtime.wait_job(second.job_id, timeout=10)
    events = await store.list_job_events(second.job_id)
    assert events[0].id > max(e.id for e in await store.list_job_events(job.job_id))
    assert (await store.list_jobs()).total == 2
