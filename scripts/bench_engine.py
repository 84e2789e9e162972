"""Section 3: the engine alone, in process: no HTTP, no database (``Runtime`` with the
built-in routines and its default ``MemoryStore``).

A 5-routine pipeline (Mapper -> Filter -> Mapper -> Identity -> Mapper) of the built-in routine
types. An *event routed* is one emitted payload delivered to the next routine or, for the last
one, to the job's output, so each job routes 5. Two shapes:

* ``jobs``: one-payload jobs, 256 in flight at once (the flow's concurrency), each caller
  starting its next job when its last one is finished;
* ``stream``: one job whose first routine receives a list and a Splitter feeds its items through
  the other four (the Splitter's emits count, the list payload itself does not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_common import SERVER_CPUS, SERVER_SOURCE, log, pinned

from routilux.engine import Runtime
from routilux.engine.bounds import JobLimits
from routilux.engine.interpreter_settings import prepare_process
from routilux.engine.models import JobStatus
from routilux.engine.runtime_settings import RuntimeSettings
from routilux.engine.spec import FlowSpec
from routilux.routines import default_registry

STAGES: dict[str, Any] = {
    "shape": {"class": "Mapper", "config": {"mappings": {"value": "value", "name": "name"}}},
    "keep": {"class": "Filter", "config": {"condition": "data.value >= 0"}},
    "label": {"class": "Mapper", "config": {"mappings": {"id": "value", "label": "name"}}},
    "pass": {"class": "Identity", "config": {}},
    "final": {"class": "Mapper", "config": {"mappings": {"id": "id", "label": "label"}}},
}
LINKS = [("shape.output", "keep.input"), ("keep.passed", "label.input")]
LINKS += [("label.output", "pass.input"), ("pass.output", "final.input")]


def _spec(flow_id: str, stages: dict[str, Any], links: list[tuple[str, str]]) -> FlowSpec:
    return FlowSpec.model_validate(
        {
            "flow_id": flow_id,
            "routines": stages,
            "connections": [{"from": a, "to": b} for a, b in links],
            "execution": {"concurrency": 256},
        }
    )


def _routed(runtime: Runtime, job_ids: list[str]) -> int:
    total = 0
    for job_id in job_ids:
        job = runtime.live_job(job_id)
        assert job is not None and job.status is JobStatus.COMPLETED, job
        total += sum(p.emitted for p in job.progress.values())
    return total


async def _jobs(count: int, clients: int = 256) -> dict[str, Any]:
    """``clients`` in-process callers, each running one job after another (as many as the
    flow's concurrency), until ``count`` jobs are done."""
    async with Runtime(default_registry()) as runtime:
        flow = await runtime.create_flow(_spec("pipeline", STAGES, LINKS))
        routed: list[int] = []
        taken = 0

        async def caller(jobs: int) -> None:
            nonlocal taken
            while taken < jobs:
                taken += 1
                job = await runtime.execute(flow.flow_id, {"value": taken, "name": f"n{taken}"})
                done = await runtime.wait_job(job.job_id, 60)
                assert done.status is JobStatus.COMPLETED, done
                routed.append(sum(p.emitted for p in done.progress.values()))

        await asyncio.gather(*(caller(500) for _ in range(clients)))  # warm-up
        routed.clear()
        taken = 0
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(caller(count) for _ in range(clients)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "jobs": len(routed),
        "clients": clients,
        "events_routed": sum(routed),
        "elapsed_s": round(elapsed, 3),
        "cpu_s": round(cpu, 3),
        "events_per_s": round(sum(routed) / elapsed),
    }


async def _stream(items: int) -> dict[str, Any]:
    stages = {"split": {"class": "Splitter", "config": {"field": "items", "item_field": "v"}}}
    stages.update(
        {
            "keep": {"class": "Filter", "config": {"condition": "data.index >= 0"}},
            "label": {"class": "Mapper", "config": {"mappings": {"id": "index", "v": "v"}}},
            "pass": {"class": "Identity", "config": {}},
            "final": {"class": "Mapper", "config": {"mappings": {"id": "id"}}},
        }
    )
    links = [("split.item", "keep.input"), ("keep.passed", "label.input")]
    links += [("label.output", "pass.input"), ("pass.output", "final.input")]
    # One job of 4 activations per item: far more than a job may start by default.
    limits = JobLimits(max_activations=4 * items + 10)
    async with Runtime(default_registry(), settings=RuntimeSettings(job_limits=limits)) as runtime:
        flow = await runtime.create_flow(_spec("stream", stages, links))
        warm = await runtime.execute(flow.flow_id, {"items": list(range(500))})
        await runtime.wait_job(warm.job_id, 30)
        started, cpu = time.perf_counter(), time.process_time()
        job = await runtime.execute(flow.flow_id, {"items": list(range(items))})
        await runtime.wait_job(job.job_id, 120)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        routed = _routed(runtime, [job.job_id])
    return {
        "items": items,
        "events_routed": routed,
        "elapsed_s": round(elapsed, 3),
        "cpu_s": round(cpu, 3),
        "events_per_s": round(routed / elapsed),
    }


def _measure(jobs: int, items: int) -> dict[str, Any]:
    log("engine: many jobs")
    many = asyncio.run(_jobs(jobs))
    log(f"engine: {many['events_per_s']} events/s over {many['jobs']} jobs")
    log("engine: one streaming job")
    stream = asyncio.run(_stream(items))
    log(f"engine: {stream['events_per_s']} events/s in one job of {stream['items']} items")
    return {"jobs": many, "stream": stream}


def run(jobs: int = 20_000, items: int = 50_000) -> dict[str, Any]:
    """Measure in a fresh interpreter pinned to the servers' CPU, as an embedding process would
    run it: not in this one, whose heap the other sections have grown."""
    command = [sys.executable, str(Path(__file__)), "--jobs", str(jobs), "--items", str(items)]
    env = {**os.environ, "PYTHONPATH": str(SERVER_SOURCE)}
    done = subprocess.run(
        pinned(command, SERVER_CPUS), check=True, stdout=subprocess.PIPE, env=env, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=50_000)
    arguments = parser.parse_args()
    prepare_process()  # as the server prepares its process
    print(json.dumps(_measure(arguments.jobs, arguments.items)))
