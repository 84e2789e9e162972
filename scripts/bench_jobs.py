"""Section 2: jobs end to end over HTTP.

16 concurrent clients (16 httpx.AsyncClient, one connection each) each submit a job of the
3-routine flow (Mapper -> Filter -> Mapper) with ``POST /api/v1/flows/{id}/execute``, wait until
it is finished, then submit the next, until 2,000 jobs are done. Completion is seen on the
WebSocket event stream (``job.completed``, ``job.failed`` or ``job.cancelled`` of the flow, which
the server publishes only once the final state is committed); without the stream, by polling
``GET /api/v1/jobs/{id}``. Latency is from just before the submit to completion seen.

On SQLite, on PostgreSQL, and on two server processes sharing one PostgreSQL database (the
clients spread over both; each process runs the jobs it accepts and streams their events).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from bench_common import (
    CLIENT_CPUS,
    ROOT,
    Server,
    cpu_seconds,
    log,
    on_cpus,
    ours,
    percentile,
    pipeline,
    tree_cpu_seconds,
)
from websockets.asyncio.client import ClientConnection, connect

FINISHED = frozenset({"completed", "failed", "cancelled"})
TERMINAL_EVENTS = "job.completed,job.failed,job.cancelled"
POLL_EVERY_S = 0.003


class Completions:
    """Job ids finished as seen on the event stream, with the time each was seen."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[float, str]] = {}
        self.waiters: dict[str, asyncio.Future[tuple[float, str]]] = {}

    async def listen(self, ws: ClientConnection) -> None:
        async for frame in ws:
            event = orjson.loads(frame)
            job_id = event.get("job_id")
            if job_id is None or not event.get("type", "").startswith("job."):
                continue
            outcome = (time.perf_counter(), event["type"].removeprefix("job."))
            waiter = self.waiters.pop(job_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(outcome)
            else:
                self.seen[job_id] = outcome

    async def wait(self, job_id: str) -> tuple[float, str]:
        if job_id in self.seen:
            return self.seen.pop(job_id)
        waiter: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        self.waiters[job_id] = waiter
        return await asyncio.wait_for(waiter, 60)


async def _poll(client: httpx.AsyncClient, job_id: str) -> tuple[float, str]:
    while True:
        job = (await client.get(f"/api/v1/jobs/{job_id}")).raise_for_status().json()
        if job["status"] in FINISHED:
            return time.perf_counter(), job["status"]
        await asyncio.sleep(POLL_EVERY_S)


async def drive(
    base_urls: list[str], ws_urls: list[str] | None, flow_id: str, jobs: int, clients: int
) -> dict[str, Any]:
    """Clients spread round-robin over ``base_urls`` (one server process each); completions
    heard on every process's stream, since each streams the events of the jobs it runs."""
    completions = Completions()
    streams: list[ClientConnection] = []
    listeners: list[asyncio.Task[None]] = []
    for ws_url in ws_urls or []:
        query = f"flow_id={flow_id}&types={TERMINAL_EVENTS}"
        ws = await connect(f"{ws_url}/api/v1/ws/events?{query}", compression=None)
        streams.append(ws)
        listeners.append(asyncio.create_task(completions.listen(ws)))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    # One client per concurrent caller: an httpx client shared by 16 callers spends twice the
    # CPU per request in its connection pool, and the load generator shares the machine.
    pool = [
        httpx.AsyncClient(base_url=base_urls[i % len(base_urls)], timeout=60)
        for i in range(clients)
    ]
    headers = {"content-type": "application/json"}
    try:
        next_n = 0

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal next_n
            while next_n < jobs:
                n = next_n
                next_n += 1
                body = orjson.dumps({"data": {"value": n, "name": f"job {n}"}})
                started = time.perf_counter()
                response = await client.post(
                    f"/api/v1/flows/{flow_id}/execute", content=body, headers=headers
                )
                if response.status_code != 202:
                    raise RuntimeError(f"execute: {response.status_code} {response.text[:300]}")
                job_id = orjson.loads(response.content)["job_id"]
                if streams:
                    seen, status = await completions.wait(job_id)
                else:
                    seen, status = await _poll(client, job_id)
                latencies.append(seen - started)
                statuses[status] = statuses.get(status, 0) + 1

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(client) for client in pool))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        for client in pool:
            await client.aclose()
        for ws in streams:
            await ws.close()
        await asyncio.gather(*listeners, return_exceptions=True)
    return {
        "jobs": len(latencies),
        "elapsed_s": round(elapsed, 3),
        "jobs_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "statuses": statuses,
        "completion_seen_by": "websocket" if streams else "polling",
        "client_cpu": round(cpu / elapsed, 3),  # share of one core used by the clients
    }


def _stream_available(server_ws: str) -> bool:
    async def probe() -> bool:
        try:
            async with connect(f"{server_ws}/api/v1/ws/events?types=job.completed"):
                return True
        except Exception:
            return False

    return asyncio.run(probe())


def run(workdir: Path, jobs: int = 2000, clients: int = 16) -> dict[str, Any]:
    """The section on the embedded SQLite database, then the same on PostgreSQL (a throwaway
    server of its own, in a temp folder, stopped at the end), under ``postgresql``, and on two
    server processes sharing a PostgreSQL database, under ``postgresql_two``."""
    result = _one(workdir, "sqlite", jobs, clients)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # the tests' throwaway PostgreSQL (tests/pg.py)
    from tests.pg import throwaway_server

    try:
        with throwaway_server() as pg:
            assert pg.process is not None
            for key, processes in (("postgresql", 1), ("postgresql_two", 2)):
                env = {"ROUTILUX_DATABASE_URL": pg.url(pg.create_database())}
                result[key] = _one(
                    workdir,
                    "postgresql",
                    jobs,
                    clients,
                    env=env,
                    processes=processes,
                    database_pid=pg.process.pid,
                )
    except Exception as exc:  # no PostgreSQL binaries here: the SQLite figures still stand
        log(f"jobs on PostgreSQL: FAILED: {exc!r}")
        result.setdefault("postgresql", {"error": repr(exc)})
        result["postgresql_two"] = {"error": repr(exc)}
    return result


def _one(
    workdir: Path,
    database: str,
    jobs: int,
    clients: int,
    *,
    env: dict[str, str] | None = None,
    processes: int = 1,
    database_pid: int | None = None,
) -> dict[str, Any]:
    """``processes`` server processes on one database (every one pinned to the servers' CPU, so
    that two get the core one had), the flow created on the first before the others start (a
    flow created later would be unknown to them), clients spread round-robin over them."""
    label = database if processes == 1 else f"{database}, {processes} processes"
    log(f"jobs: this server on {label}")
    with contextlib.ExitStack() as stack:
        servers: list[Server] = []
        for n in range(processes):
            data_dir = workdir / f"ours-jobs-{database}-{processes}-{n}"
            servers.append(stack.enter_context(ours(workdir, data_dir, env=env or {})))
            if n == 0:
                with httpx.Client(base_url=servers[0].base_url) as client:
                    flow = pipeline("jobs", concurrency=clients)
                    client.post("/api/v1/flows", json=flow).raise_for_status()
        stack.enter_context(on_cpus(CLIENT_CPUS))
        streams = all(_stream_available(server.ws_url) for server in servers)
        ws_urls = [server.ws_url for server in servers] if streams else None
        base_urls = [server.base_url for server in servers]
        asyncio.run(drive(base_urls, ws_urls, "jobs", 100, clients))  # warm-up
        cpu = sum(cpu_seconds(server.pid) for server in servers)
        db_cpu = tree_cpu_seconds(database_pid) if database_pid else 0.0
        result = asyncio.run(drive(base_urls, ws_urls, "jobs", jobs, clients))
        cpu = sum(cpu_seconds(server.pid) for server in servers) - cpu
        db_cpu = tree_cpu_seconds(database_pid) - db_cpu if database_pid else 0.0
    # The servers' CPU time (all their threads) per job, and its share of one core.
    result["server_cpu_ms_per_job"] = round(cpu / result["jobs"] * 1000, 3)
    result["server_cpu"] = round(cpu / result["elapsed_s"], 3)
    if database_pid:  # the PostgreSQL server's processes, which share the same two cores
        result["database_cpu_ms_per_job"] = round(db_cpu / result["jobs"] * 1000, 3)
        result["database_cpu"] = round(db_cpu / result["elapsed_s"], 3)
    result["clients"] = clients
    result["database"] = database
    result["processes"] = processes
    log(
        f"jobs ({label}): {result['jobs_per_s']} jobs/s, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, {result['server_cpu_ms_per_job']} server CPU ms/job "
        f"({result['completion_seen_by']})"
    )
    return result
