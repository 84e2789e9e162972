"""Memory of a live server over 5,000 jobs whose outputs are ~100 KB each (500 MB of output in
all): the outputs live in the store, not in memory, so RSS stays flat under a stated bound
(450 MB; measured: 187-190 MB from 1,250 jobs to 5,000, 191 MB at 10,000). Before finished jobs
were bounded in bytes it grew by the outputs: 355 MB at 2,500 jobs, 1,085 MB at 10,000.

5,000 jobs prove what 10,000 did: the cache of finished jobs holds 64 MiB of them, some 640 of
these, so it is full long before the second half of the run, whose growth is bounded per job as
before (25 MB over 2,500 jobs, as 50 over 5,000 did: 10 KB a job, a tenth of an output kept);
the cache unbounded in bytes grew about 240 MB per 2,500 jobs (730 MB from 2,500 to 10,000).

The server spends about 12 s of CPU time on it (printed; 23 s for 10,000 jobs), so it takes
about 15 s on an idle two-core machine, more on a loaded one (it gives up after 15 minutes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil

from tests.live import ROOT, live_server
from tests.poll import until
from tests.rawhttp import Connection, connections

JOBS = 5_000
ROUNDS = 4
OUTPUT_BYTES = 100_000
RSS_BOUND_MB = 450
GROWTH_BOUND_MB = 25  # over the second half: 10 KB a job
BIG = {
    "flow_id": "big",
    "routines": {"blob": {"class": "Blob", "config": {"size": OUTPUT_BYTES}}},
    "execution": {"concurrency": 32},
}
SUBMITTERS = 16


async def scenario(base_url: str, process: psutil.Process) -> list[tuple[int, float]]:
    """Run the jobs in rounds; (jobs finished, RSS MB) after each round. The jobs go through raw
    kept-alive connections (tests/rawhttp.py), which leave the CPU to the server."""
    async with connections(base_url, SUBMITTERS + 1) as (reader, *submitters):
        created = await reader.post("/api/v1/flows", json_body=BIG)
        assert created.status_code == 201, created.text
        samples = []
        numbers = iter(range(JOBS))
        give_up = time.monotonic() + 900  # a bound for the whole run, however loaded the machine

        async def submit(connection: Connection, count: int) -> None:
            for _ in range(count):
                body = {"data": {"n": next(numbers)}}
                while True:
                    assert time.monotonic() < give_up, "the run took over 15 minutes"
                    response = await connection.post("/api/v1/flows/big/execute", json_body=body)
                    if response.status_code != 429:  # back-pressure: wait as told, then retry
                        break
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")) / 10)
                assert response.status_code == 202, response.text

        def completed(count: int) -> Callable[[], Awaitable[int | None]]:
            async def check() -> int | None:
                page = await reader.get("/api/v1/jobs", params={"status": "completed", "limit": 1})
                total: int = page.json()["total"]
                return total if total >= count else None

            return check

        per_round = JOBS // ROUNDS
        for round_ in range(1, ROUNDS + 1):
            await asyncio.gather(*(submit(c, per_round // SUBMITTERS) for c in submitters))
            submitted = round_ * (per_round // SUBMITTERS) * SUBMITTERS
            await until(completed(submitted), timeout=60, what=f"{submitted} jobs completed")
            samples.append((submitted, process.memory_info().rss / 2**20))
        # The outputs are all there, in full, read back from the store.
        last = (await reader.get("/api/v1/jobs", params={"limit": 1})).json()["items"][0]
        job = (await reader.get(f"/api/v1/jobs/{last['job_id']}")).json()
        assert len(job["output"]["blob.output"][0]["blob"]) == OUTPUT_BYTES
        return samples


def test_memory_is_flat_over_5000_jobs_with_100_kb_outputs(tmp_path: Path) -> None:
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
