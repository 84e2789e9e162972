"""Memory of a live server over 10,000 jobs whose outputs are ~100 KB each (1 GB of output in
all): the outputs live in the store, not in memory, so RSS stays flat under a stated bound
(450 MB; measured: 190 MB at 2,500 jobs, 192 MB at 10,000). Before finished jobs were bounded in
bytes it grew by the outputs: 355 MB at 2,500 jobs, 1,085 MB at 10,000.

The server spends 45-75 s of CPU time on it (printed), so it takes about a minute or two on an
idle two-core machine, several on a loaded one (it gives up after 15)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import psutil

from tests.live import ROOT, live_server

JOBS = 10_000
ROUNDS = 4
OUTPUT_BYTES = 100_000
RSS_BOUND_MB = 450
GROWTH_BOUND_MB = 50
BIG = {
    "flow_id": "big",
    "routines": {"blob": {"class": "Blob", "config": {"size": OUTPUT_BYTES}}},
    "execution": {"concurrency": 32},
}
KEEPALIVE = 2.0  # shorter than the server's keep-alive (see test_load)


async def scenario(base_url: str, process: psutil.Process) -> list[tuple[int, float]]:
    """Run the jobs in rounds; (jobs finished, RSS MB) after each round."""
    limits = httpx.Limits(max_connections=16, keepalive_expiry=KEEPALIVE)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        created = await client.post("/api/v1/flows", json=BIG)
        assert created.status_code == 201, created.text
        samples = []
        numbers = iter(range(JOBS))
        give_up = time.monotonic() + 900  # a bound for the whole run, however loaded the machine

        async def submit(count: int) -> None:
            for _ in range(count):
                body = {"data": {"n": next(numbers)}}
                while True:
                    assert time.monotonic() < give_up, "the run took over 15 minutes"
                    response = await client.post("/api/v1/flows/big/execute", json=body)
                    if response.status_code != 429:  # back-pressure: wait as told, then retry
                        break
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")) / 10)
                assert response.status_code == 202, response.text

        per_round = JOBS // ROUNDS
        for round_ in range(1, ROUNDS + 1):
            await asyncio.gather(*(submit(per_round // 16) for _ in range(16)))
            submitted = round_ * (per_round // 16) * 16
            deadline = time.monotonic() + 60
            while True:
                page = await client.get("/api/v1/jobs", params={"status": "completed", "limit": 1})
                if page.json()["total"] >= submitted:
                    break
                assert time.monotonic() < deadline, f"{page.json()['total']} of {submitted} done"
                await asyncio.sleep(0.1)
            samples.append((submitted, process.memory_info().rss / 2**20))
        # The outputs are all there, in full, read back from the store.
        last = (await client.get("/api/v1/jobs", params={"limit": 1})).json()["items"][0]
        job = (await client.get(f"/api/v1/jobs/{last['job_id']}")).json()
        assert len(job["output"]["blob.output"][0]["blob"]) == OUTPUT_BYTES
        return samples


def test_memory_is_flat_over_10000_jobs_with_100_kb_outputs(tmp_path: Path) -> None:
    env = {
        "PYTHONPATH": f"{ROOT / 'server'}:{ROOT}",
        "ROUTILUX_ROUTINE_MODULES": "tests.ops.big_output",
    }
    started = time.monotonic()
    with live_server(tmp_path, env=env) as server:
        process = psutil.Process(server.process.pid)
        samples = asyncio.run(scenario(server.base_url, process))
        cpu = sum(process.cpu_times()[:2])
    took = time.monotonic() - started
    database = sum(f.stat().st_size for f in tmp_path.glob("routilux.db*")) / 2**20
    print(
        f"\n{samples[-1][0]} jobs of {OUTPUT_BYTES // 1000} KB output in {took:.0f} s "
        f"({cpu:.0f} s of the server's CPU); "
        f"memory (jobs, RSS MB): {[(n, round(mb)) for n, mb in samples]}; "
        f"database {database:.0f} MB"
    )
    assert samples[-1][0] >= JOBS - 16
    assert max(mb for _, mb in samples) < RSS_BOUND_MB
    # Flat: the second half of the jobs adds (almost) nothing.
    assert samples[-1][1] - samples[1][1] < GROWTH_BOUND_MB
