"""Section 2: jobs end to end over HTTP.

16 concurrent clients (one httpx.AsyncClient, 16 connections) each submit a job of the 3-routine
flow (Mapper -> Filter -> Mapper) and poll ``GET /api/v1/jobs/{id}`` until it is finished, then
submit the next, until 2,000 jobs are done. Latency is submit to seen-complete.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from bench_common import log, ours, percentile, pipeline

FINISHED = frozenset({"completed", "failed", "cancelled"})
FIRST_POLL_S = 0.002
POLL_EVERY_S = 0.003


async def _one(client: httpx.AsyncClient, flow_id: str, n: int) -> tuple[float, int, str]:
    started = time.perf_counter()
    response = await client.post(
        f"/api/v1/flows/{flow_id}/execute", json={"data": {"value": n, "name": f"job {n}"}}
    )
    if response.status_code != 202:
        raise RuntimeError(f"execute answered {response.status_code}: {response.text[:300]}")
    job_id = response.json()["job_id"]
    polls = 0
    await asyncio.sleep(FIRST_POLL_S)
    while True:
        polls += 1
        job = (await client.get(f"/api/v1/jobs/{job_id}")).raise_for_status().json()
        if job["status"] in FINISHED:
            return time.perf_counter() - started, polls, job["status"]
        await asyncio.sleep(POLL_EVERY_S)


async def drive(base_url: str, flow_id: str, jobs: int, clients: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        next_n = 0
        latencies: list[float] = []
        polls: list[int] = []
        statuses: dict[str, int] = {}

        async def worker() -> None:
            nonlocal next_n
            while next_n < jobs:
                n = next_n
                next_n += 1
                latency, count, status = await _one(client, flow_id, n)
                latencies.append(latency)
                polls.append(count)
                statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "jobs": len(latencies),
        "elapsed_s": round(elapsed, 3),
        "jobs_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "polls_per_job": round(sum(polls) / len(polls), 2),
        "statuses": statuses,
    }


def run(workdir: Path, jobs: int = 2000, clients: int = 16) -> dict[str, Any]:
    log("jobs: this server")
    with ours(workdir, workdir / "ours-jobs") as server:
        with httpx.Client(base_url=server.base_url) as client:
            client.post("/api/v1/flows", json=pipeline("jobs", concurrency=clients))
        asyncio.run(drive(server.base_url, "jobs", 100, clients))  # warm-up
        result = asyncio.run(drive(server.base_url, "jobs", jobs, clients))
    result["clients"] = clients
    log(
        f"jobs: {result['jobs_per_s']} jobs/s, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, {result['polls_per_job']} polls/job"
    )
    return result
