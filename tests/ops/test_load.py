"""A live server under load: mixed traffic from 32 clients (memory over 20,000 jobs is in
test_memory.py)."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from tests.live import live_server
from tests.poll import until
from tests.rawhttp import Connection, connections

FAST = {
    "flow_id": "fast",
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "keep": {"class": "Filter", "config": {"condition": "data.n >= 0"}},
    },
    "connections": [{"from": "shape.output", "to": "keep.input"}],
    "execution": {"concurrency": 32},
}
SLOW = {
    "flow_id": "slow",
    "routines": {"wait": {"class": "Delay", "config": {"seconds": 0.5}}},
    "execution": {"concurrency": 64},
}
TERMINAL = {"completed", "failed", "cancelled"}
# Shorter than the server's keep-alive (15 s, routilux serve's): a pooled connection the server
# may be closing at that very moment is never reused, which would be a ReadError on the client's
# side.
KEEPALIVE = 2.0


async def wait_all_terminal(base_url: str, job_ids: set[str], timeout: float) -> None:
    """Each job read on its own until every one has ended (through raw connections, 8 at once:
    thousands of reads through httpx took seconds of its CPU)."""
    pending = set(job_ids)
    async with connections(base_url, 8) as readers:

        async def read(reader: Connection, batch: list[str]) -> None:
            for job_id in batch:
                response = await reader.get(f"/api/v1/jobs/{job_id}")
                assert response.status_code == 200, response.text
                if response.json()["status"] in TERMINAL:
                    pending.discard(job_id)

        async def all_ended() -> bool:
            batch, step = list(pending), len(readers)
            await asyncio.gather(*(read(r, batch[i::step]) for i, r in enumerate(readers)))
            return not pending

        await until(all_ended, timeout=timeout, what=lambda: f"{len(pending)} jobs unfinished")


async def mixed_client(
    client: httpx.AsyncClient, seed: int, until: float, accepted: set[str], latencies: list[float]
) -> list[int]:
    rng = random.Random(seed)
    statuses = []
    mine: list[str] = []
    n = 0
    while time.monotonic() < until:
        roll = rng.random()
        started = time.perf_counter()
        if roll < 0.05:
            n += 1
            document = {**FAST, "flow_id": f"c{seed}-{n}"}
            response = await client.post("/api/v1/flows", json=document)
        elif roll < 0.45:
            flow = "slow" if rng.random() < 0.2 else "fast"
            response = await client.post(f"/api/v1/flows/{flow}/execute", json={"data": {"n": n}})
            if response.status_code == 202:
                mine.append(response.json()["job_id"])
                accepted.add(mine[-1])
        elif roll < 0.65:
            response = await client.get("/api/v1/jobs", params={"limit": 20})
        elif roll < 0.8 and mine:
            response = await client.get(f"/api/v1/jobs/{rng.choice(mine)}")
        elif roll < 0.9 and mine:
            response = await client.post(f"/api/v1/jobs/{rng.choice(mine)}/cancel")
        else:
            response = await client.get("/api/v1/flows", params={"limit": 10})
        latencies.append(time.perf_counter() - started)
        statuses.append(response.status_code)
    return statuses


def test_32_clients_for_30_seconds_get_no_5xx_and_lose_no_job(tmp_path: Path) -> None:
    async def scenario(base_url: str) -> dict[str, Any]:
        limits = httpx.Limits(max_connections=64, keepalive_expiry=KEEPALIVE)
        async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
            for flow in (FAST, SLOW):
                assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
            accepted: set[str] = set()
            latencies: list[float] = []
            until = time.monotonic() + 30
            results = await asyncio.gather(
                *(mixed_client(client, seed, until, accepted, latencies) for seed in range(32))
            )
            statuses = [s for result in results for s in result]
            await wait_all_terminal(base_url, accepted, timeout=60)
            return {"statuses": statuses, "accepted": accepted, "latencies": latencies}

    with live_server(tmp_path) as server:
        outcome = asyncio.run(scenario(server.base_url))
    statuses = outcome["statuses"]
    server_errors = [s for s in statuses if s >= 500]
    assert not server_errors, f"{len(server_errors)} server errors"
    assert set(statuses) <= {200, 201, 202, 409}, set(statuses)
    latencies = sorted(outcome["latencies"])
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(
        f"\nload: {len(statuses)} requests in 30 s by 32 clients, "
        f"{len(outcome['accepted'])} jobs accepted and all finished; "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    assert len(outcome["accepted"]) > 100
