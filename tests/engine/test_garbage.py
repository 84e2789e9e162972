"""A finished job leaves no reference cycle behind: its run, and all it held, is freed as soon as
the runtime lets go of it, without waiting for the garbage collector (whose passes over the
cycles of thousands of finished jobs once took a third of the engine's time)."""

from __future__ import annotations

import asyncio
import collections
import gc
from collections.abc import Iterator

import pytest

from routilux.engine import FlowSpec, JobStatus, MemoryStore, Runtime
from tests.engine.support import pipeline, registry


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_finished_jobs_leave_no_cyclic_garbage(collector_off: None) -> None:
    async with Runtime(registry(), MemoryStore()) as rt:
        spec = pipeline(("a", "Add", {}), ("b", "Add", {"amount": 2}), ("c", "Add", {}))
        flow = await rt.create_flow(FlowSpec.model_validate(spec))
        await rt.wait_job((await rt.execute(flow.flow_id, {"value": 0})).job_id, timeout=10)
        gc.collect()  # whatever the first job built once (caches) is not per job
        jobs = [await rt.execute(flow.flow_id, {"value": n}) for n in range(20)]
        for job in jobs:
            done = await rt.wait_job(job.job_id, timeout=10)
            assert done.status is JobStatus.COMPLETED and done.output
        await asyncio.sleep(0.05)  # the last callbacks of their ends
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            found = gc.collect()
            kinds = collections.Counter(type(o).__name__ for o in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert found == 0, f"cyclic garbage after 20 jobs: {kinds.most_common(8)}"
