"""A deployment of three processes on the throwaway PostgreSQL: A and B serve the API and run
jobs, C only runs jobs. Every request may go to any of them: a control issued on one replica acts
on the job wherever it runs; 2,000 jobs submitted round-robin to A and B while B is killed with
SIGKILL in the middle all end ``completed`` with the right output, each completed once, as a
WebSocket on A sees it.

Servers are subprocesses on 127.0.0.1, stopped by pid at the end; every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import functools
import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.live import LiveServer, spawn_server, start_server, stop_server
from tests.poll import until_true, wait_until

HEARTBEAT, LEASE = 0.5, 3.0
TIMEOUT = 30.0
JOBS = 2_000
KILL_AFTER = 1_000  # acknowledged submissions before B is killed

QUICK: dict[str, Any] = {
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "wait": {"class": "Delay", "config": {"seconds": 0.05}},
        "done": {"class": "Mapper", "config": {"mappings": {"n": "n", "again": "n"}}},
    },
    "connections": [
        {"from": "shape.output", "to": "wait.input"},
        {"from": "wait.output", "to": "done.input"},
    ],
}
SLOW: dict[str, Any] = {
    **QUICK,
    "routines": {**QUICK["routines"], "wait": {"class": "Delay", "config": {"seconds": 2.0}}},
}


def output(n: int) -> dict[str, Any]:
    return {"done.output": [{"n": n, "again": n}]}


@dataclass
class Cluster:
    a: LiveServer
    b: LiveServer
    c: LiveServer  # executor only: no HTTP

    def by_pid(self) -> dict[int, str]:
        return {s.process.pid: name for name, s in (("a", self.a), ("b", self.b), ("c", self.c))}


@pytest.fixture(scope="module")
def cluster(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    with pg_server.fresh_database() as url:
        env = {
            "ROUTILUX_DATABASE_URL": url,
            "ROUTILUX_REPLICA_HEARTBEAT_SECONDS": str(HEARTBEAT),
            "ROUTILUX_REPLICA_LEASE_SECONDS": str(LEASE),
        }
        started: list[LiveServer] = []
        try:
            a = start_server(root / "a", env=env)
            started.append(a)
            b = start_server(root / "b", env=env)
            started.append(b)
            c = spawn_server(root / "c", env={**env, "ROUTILUX_EXECUTOR_ONLY": "1"})
            started.append(c)
            cluster = Cluster(a, b, c)
            wait_until(
                lambda: len(alive(a)) == 3,
                timeout=TIMEOUT,
                what=lambda: f"three replicas\n{c.log()}",
            )
            yield cluster
        finally:
            for server in started:
                stop_server(server)


def alive(server: LiveServer) -> list[dict[str, Any]]:
    return [r for r in all_replicas(server) if r["status"] == "alive"]


def jobs_held(server: LiveServer, pid: int) -> int:
    """What the process ``pid`` holds, as ``server`` lists the replicas."""
    held: int = next(r["jobs_held"] for r in alive(server) if r["pid"] == pid)
    return held


def all_replicas(server: LiveServer) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.base_url}/api/v1/replicas", timeout=TIMEOUT, trust_env=False)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def client(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT, trust_env=False)


async def create_flow(server: LiveServer, spec: dict[str, Any]) -> str:
    async with client(server) as http:
        response = await http.post("/api/v1/flows", json=spec)
        assert response.status_code == 201, response.text
        flow_id: str = response.json()["flow_id"]
        return flow_id


async def runner(http: httpx.AsyncClient, job_id: str) -> str:
    """The replica id of the process running ``job_id``, once it runs."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            job = (await http.get(f"/api/v1/jobs/{job_id}")).json()
            if job["status"] == "running" and job["replica_id"]:
                replica_id: str = job["replica_id"]
                return replica_id
            await asyncio.sleep(0.05)


async def settled(http: httpx.AsyncClient, job_id: str, status: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        while True:
            job: dict[str, Any] = (await http.get(f"/api/v1/jobs/{job_id}")).json()
            if job["status"] == status:
                return job
            await asyncio.sleep(0.05)


def other_api(cluster: Cluster, replica_id: str, replicas: list[dict[str, Any]]) -> LiveServer:
    """An API process that is not the one running the job."""
    name = cluster.by_pid()[next(r["pid"] for r in replicas if r["replica_id"] == replica_id)]
    return cluster.b if name == "a" else cluster.a


async def test_three_replicas_one_of_them_an_executor(cluster: Cluster) -> None:
    replicas = alive(cluster.a)
    roles = {cluster.by_pid()[r["pid"]]: r["role"] for r in replicas}
    assert roles == {"a": "all", "b": "all", "c": "executor"}
    assert {r["replica_id"] for r in alive(cluster.b)} == {r["replica_id"] for r in replicas}
    wait_until(
        lambda: "serving no http api" in cluster.c.log().lower(),
        timeout=TIMEOUT,
        what=lambda: f"the executor says what it is\n{cluster.c.log()}",
    )


async def test_controls_issued_on_one_replica_act_where_the_job_runs(cluster: Cluster) -> None:
    flow_id = await create_flow(cluster.a, SLOW)
    replicas = alive(cluster.a)
    async with client(cluster.b) as on_b:  # the flow created on A is known to B at once
        # Cancel.
        job = (await on_b.post(f"/api/v1/flows/{flow_id}/execute", json={"data": {"n": 1}})).json()
        where = await runner(on_b, job["job_id"])
        elsewhere = other_api(cluster, where, replicas)
        async with client(elsewhere) as there:
            response = await there.post(f"/api/v1/jobs/{job['job_id']}/cancel")
            assert response.status_code in (200, 202), response.text
            assert response.json()["status"] in ("cancelling", "cancelled")
            await settled(there, job["job_id"], "cancelled")

        # Worker pause and resume.
        job = (await on_b.post(f"/api/v1/flows/{flow_id}/execute", json={"data": {"n": 2}})).json()
        where = await runner(on_b, job["job_id"])
        async with client(other_api(cluster, where, replicas)) as there:
            worker = job["worker_id"]
            assert (await there.post(f"/api/v1/workers/{worker}/pause")).status_code == 200
            await settled(there, job["job_id"], "paused")
            assert (await there.post(f"/api/v1/workers/{worker}/resume")).status_code == 200
            done = await settled(there, job["job_id"], "completed")
            assert done["output"] == output(2)

        # A breakpoint set on one replica holds a job on another; resumed from a third place.
        created = await on_b.post(
            "/api/v1/breakpoints", json={"flow_id": flow_id, "routine_id": "done"}
        )
        assert created.status_code == 201, created.text
        breakpoint_id = created.json()["breakpoint_id"]
        async with client(cluster.a) as on_a:
            job = (
                await on_a.post(f"/api/v1/flows/{flow_id}/execute", json={"data": {"n": 3}})
            ).json()
            paused = await settled(on_a, job["job_id"], "paused")
            assert paused["paused_at"]["breakpoint_id"] == breakpoint_id
            resumed = await on_b.post(
                f"/api/v1/breakpoints/{breakpoint_id}/resume", json={"job_id": job["job_id"]}
            )
            assert resumed.status_code == 200, resumed.text
            done = await settled(on_a, job["job_id"], "completed")
            assert done["output"] == output(3)
            assert (await on_a.delete(f"/api/v1/breakpoints/{breakpoint_id}")).status_code == 204


async def completions(
    ws: ClientConnection, seen: dict[str, int], ids: list[int], recovered: list[str]
) -> None:
    """Count each job.completed the stream carries, note the jobs taken over, and keep every
    event id, until cancelled."""
    async for frame in ws:
        event = json.loads(frame)
        if "id" in event:
            ids.append(event["id"])
        if event.get("type") == "job.completed":
            seen[event["job_id"]] = seen.get(event["job_id"], 0) + 1
        elif event.get("type") == "job.recovered":
            recovered.append(event["job_id"])


async def test_two_thousand_jobs_survive_a_replica_killed_in_the_middle(cluster: Cluster) -> None:
    flow_id = await create_flow(cluster.a, QUICK)
    slow_flow_id = await create_flow(cluster.a, SLOW)
    url = f"{cluster.a.ws_url}/api/v1/ws/events"
    seen: dict[str, int] = {}
    ids: list[int] = []
    recovered: list[str] = []
    async with (
        connect(url, proxy=None, ping_interval=None, open_timeout=TIMEOUT, max_queue=None) as ws,
        client(cluster.a) as on_a,
        client(cluster.b) as on_b,
    ):
        await ws.send(json.dumps({"type": "ping"}))
        listening = asyncio.create_task(completions(ws, seen, ids, recovered))
        accepted: dict[str, int] = {}
        sent = 0
        killed_at = None
        held_by_b = b_pid = 0

        async def submit(n: int) -> None:
            http = on_a if n % 2 == 0 or killed_at is not None else on_b
            try:
                response = await http.post(
                    f"/api/v1/flows/{flow_id}/execute", json={"data": {"n": n}}
                )
            except httpx.TransportError:
                return  # B went away before it answered: not acknowledged
            if response.status_code == 202:
                accepted[response.json()["job_id"]] = n

        while sent < JOBS:
            batch = range(sent, min(sent + 50, JOBS))
            await asyncio.gather(*(submit(n) for n in batch))
            sent += len(batch)
            if killed_at is None and len(accepted) >= KILL_AFTER:
                # B dies holding jobs: a few that wait 2 s, submitted to it last (on a slow
                # machine, the quick jobs of the last batch may all be done by now).
                for n in range(JOBS, JOBS + 4):
                    response = await on_b.post(
                        f"/api/v1/flows/{slow_flow_id}/execute", json={"data": {"n": n}}
                    )
                    assert response.status_code == 202, response.text
                    accepted[response.json()["job_id"]] = n
                b_pid = cluster.b.process.pid
                held_by_b = await until_true(
                    functools.partial(jobs_held, cluster.a, b_pid),
                    timeout=TIMEOUT,
                    what="B holding jobs",
                )
                cluster.b.process.send_signal(signal.SIGKILL)
                cluster.b.process.wait(timeout=TIMEOUT)
                killed_at = time.monotonic()
        assert killed_at is not None and len(accepted) >= JOBS * 0.9

        # Every acknowledged job ends completed with its output, wherever it ran.
        deadline = time.monotonic() + 120
        while pending := [j for j in accepted if seen.get(j, 0) == 0]:
            if time.monotonic() > deadline or listening.done():
                stored = [(await on_a.get(f"/api/v1/jobs/{j}")).json() for j in pending[:5]]
                pytest.fail(
                    f"{len(pending)} acknowledged jobs not seen completed (stream ended: "
                    f"{listening.done()}); the first as stored: {stored}"
                )
            await asyncio.sleep(0.2)
        for job_id, n in list(accepted.items())[:: len(accepted) // 50]:
            job = (await on_a.get(f"/api/v1/jobs/{job_id}")).json()
            assert (job["status"], job["output"]) == ("completed", output(n)), job
        await asyncio.sleep(LEASE)  # any late duplicate would arrive meanwhile
        listening.cancel()

    assert all(seen[j] == 1 for j in accepted), [j for j in accepted if seen[j] != 1][:5]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # one stream, in id order
    # B held jobs when it was killed (queued, or running: those were resumed from their
    # checkpoints, job.recovered; the slow ones surely): the others took every one of them over.
    assert held_by_b > 0 and set(recovered) <= set(accepted)
    (b,) = [r for r in all_replicas(cluster.a) if r["pid"] == b_pid]
    assert (b["status"], b["jobs_held"]) == ("lost", 0)


def test_the_executor_serves_no_http(cluster: Cluster) -> None:
    assert cluster.c.process.poll() is None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{cluster.c.base_url}/api/v1/health/live", timeout=2, trust_env=False)
