"""Memory of live servers over many jobs, two runs at once, each on its own server (a server
takes about one core of the two; the runs used to take 34 s and 13 s one after the other).

Small jobs, 20,000 of them: RSS stays under 400 MB, and once the cache of finished jobs is full
(10,000 jobs) more jobs add almost nothing (under 40 MB over the last 10,000).

Jobs with big outputs: 5,000 jobs whose outputs are ~100 KB each (500 MB of output in
all): the outputs live in the store, not in memory, so RSS stays flat under a stated bound
(450 MB; measured: 187-190 MB from 1,250 jobs to 5,000, 191 MB at 10,000). Before finished jobs
were bounded in bytes it grew by the outputs: 355 MB at 2,500 jobs, 1,085 MB at 10,000.

5,000 jobs prove what 10,000 did: the cache of finished jobs holds 64 MiB of them, some 640 of
these, so it is full long before the second half of the run, whose growth is bounded per job as
before (25 MB over 2,500 jobs, as 50 over 5,000 did: 10 KB a job, a tenth of an output kept);
the cache unbounded in bytes grew about 240 MB per 2,500 jobs (730 MB from 2,500 to 10,000).

The server spends about 12 s of CPU time on it (printed; 23 s for 10,000 jobs), so it takes
about 15 s on an idle two-core machine (more beside the other run, or on a loaded machine; it
gives up after 15 minutes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import psutil
import pytest

from tests.live import ROOT, live_servers
from tests.ops.test_load import FAST
from tests.poll import until
from tests.rawhttp import Connection, connections

SUBMITTERS = 16  # connections submitting jobs, per run

SMALL_JOBS = 20_000
SMALL_RSS_BOUND_MB = 400
SMALL_GROWTH_BOUND_MB = 40  # over the last 10,000 jobs

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


def completed(reader: Connection, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        page = await reader.get("/api/v1/jobs", params={"status": "completed", "limit": 1})
        total: int = page.json()["total"]
        return total >= count

    return check


async def small_jobs(base_url: str, process: psutil.Process) -> list[tuple[int, float]]:
    """20,000 small jobs in 4 rounds; (jobs finished, RSS MB) after each round. The jobs go
    through raw kept-alive connections (tests/rawhttp.py): with httpx the client spent more CPU
    than the server (2.7 ms a request against 2 ms) and the run took twice as long."""
    async with connections(base_url, SUBMITTERS + 1) as (reader, *submitters):
        created = await reader.post("/api/v1/flows", json_body=FAST)
        assert created.status_code == 201, created.text
        samples = []
        submitted = 0

        async def submit(connection: Connection, count: int) -> None:
            for _ in range(count):
                response = await connection.post(
                    "/api/v1/flows/fast/execute", json_body={"data": {"n": 1}}
                )
                assert response.status_code == 202, response.text

        per_round = SMALL_JOBS // 4 // SUBMITTERS
        for _ in range(4):
            await asyncio.gather(*(submit(c, per_round) for c in submitters))
            submitted += per_round * SUBMITTERS
            await until(
                completed(reader, submitted), timeout=60, what=f"{submitted} jobs completed"
            )
            samples.append((submitted, process.memory_info().rss / 2**20))
        return samples


async def big_outputs(base_url: str, process: psutil.Process) -> list[tuple[int, float]]:
    """The jobs with big outputs in rounds; (jobs finished, RSS MB) after each round."""
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

        per_round = JOBS // ROUNDS
        for round_ in range(1, ROUNDS + 1):
            await asyncio.gather(*(submit(c, per_round // SUBMITTERS) for c in submitters))
            submitted = round_ * (per_round // SUBMITTERS) * SUBMITTERS
            await until(
                completed(reader, submitted), timeout=60, what=f"{submitted} jobs completed"
            )
            samples.append((submitted, process.memory_info().rss / 2**20))
        # The outputs are all there, in full, read back from the store.
        last = (await reader.get("/api/v1/jobs", params={"limit": 1})).json()["items"][0]
        job = (await reader.get(f"/api/v1/jobs/{last['job_id']}")).json()
        assert len(job["output"]["blob.output"][0]["blob"]) == OUTPUT_BYTES
        return samples


@dataclass
class Run:
    samples: list[tuple[int, float]] | BaseException  # what the run raised, if it failed
    took: float  # seconds
    cpu: float  # seconds of the server's CPU
    database_mb: float


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Both runs at once, each on its own server; each test checks its own."""
    root = tmp_path_factory.mktemp("memory")
    big_env = {
        "PYTHONPATH": f"{ROOT / 'server'}:{ROOT}",
        "ROUTILUX_ROUTINE_MODULES": "tests.ops.big_output",
    }
    scenarios = {"small": small_jobs, "big": big_outputs}
    with live_servers(root, {"small": {}, "big": {"env": big_env}}) as started:
        servers = started.servers
        processes = {name: psutil.Process(server.process.pid) for name, server in servers.items()}
        took: dict[str, float] = {}

        async def timed(name: str) -> list[tuple[int, float]]:
            began = time.monotonic()
            try:
                return await scenarios[name](servers[name].base_url, processes[name])
            finally:
                took[name] = time.monotonic() - began

        async def both() -> list[list[tuple[int, float]] | BaseException]:
            return await asyncio.gather(
                *(timed(name) for name in scenarios), return_exceptions=True
            )

        outcomes = dict(zip(scenarios, asyncio.run(both()), strict=True))
        cpu = {name: sum(process.cpu_times()[:2]) for name, process in processes.items()}
    yield {
        name: Run(
            outcomes[name],
            took[name],
            cpu[name],
            sum(f.stat().st_size for f in (root / name).glob("routilux.db*")) / 2**20,
        )
        for name in scenarios
    }


def samples_of(run: Run) -> list[tuple[int, float]]:
    if isinstance(run.samples, BaseException):
        raise run.samples
    return run.samples


def test_memory_is_bounded_and_flat_over_20000_jobs(runs: dict[str, Run]) -> None:
    samples = samples_of(runs["small"])
    print("\nmemory (jobs, RSS MB):", [(n, round(mb, 1)) for n, mb in samples])
    assert samples[-1][0] >= 19_000
    assert max(mb for _, mb in samples) < SMALL_RSS_BOUND_MB
    # Flat: once the recent-jobs cache is full (10,000), more jobs add (almost) nothing.
    assert samples[-1][1] - samples[1][1] < SMALL_GROWTH_BOUND_MB


def test_memory_is_flat_over_5000_jobs_with_100_kb_outputs(runs: dict[str, Run]) -> None:
    run = runs["big"]
    samples = samples_of(run)
    print(
        f"\n{samples[-1][0]} jobs of {OUTPUT_BYTES // 1000} KB output in {run.took:.0f} s "
        f"({run.cpu:.0f} s of the server's CPU); "
        f"memory (jobs, RSS MB): {[(n, round(mb)) for n, mb in samples]}; "
        f"database {run.database_mb:.0f} MB"
    )
    assert samples[-1][0] >= JOBS - 16
    assert max(mb for _, mb in samples) < RSS_BOUND_MB
    # Flat: the second half of the jobs adds (almost) nothing.
    assert samples[-1][1] - samples[1][1] < GROWTH_BOUND_MB
