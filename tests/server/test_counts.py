"""Counts and bytes of what the server stores or queues: each bound is a setting with a clear
problem response, and finished jobs go after their retention (then they are 404)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from routilux.store import SqlStore
from tests.poll import until
from tests.server.conftest import PIPELINE, SLOW, AppFactory, assert_problem, finished, runtime_of

ONE_AT_A_TIME = {**SLOW, "execution": {"concurrency": 1}}


def store_of(client: httpx.AsyncClient) -> SqlStore:
    store: SqlStore = client.app.state.store  # type: ignore[attr-defined]
    return store


def flow(flow_id: str, padding: int = 0) -> dict[str, Any]:
    document: dict[str, Any] = {**PIPELINE, "flow_id": flow_id}
    if padding:
        document["description"] = "d" * padding
    return document


async def test_flow_count_limit_is_409_until_one_is_deleted(make_client: AppFactory) -> None:
    async with make_client(max_flows=2) as client:
        for name in ("a", "b"):
            assert (await client.post("/api/v1/flows", json=flow(name))).status_code == 201
        refused = await client.post("/api/v1/flows", json=flow("c"))
        body = assert_problem(refused, 409, "too_many_flows")
        assert "at most 2 flows" in body["detail"]
        assert (await client.get("/api/v1/flows/c")).status_code == 404  # nothing half-made
        assert (await client.delete("/api/v1/flows/a")).status_code == 204
        assert (await client.post("/api/v1/flows", json=flow("c"))).status_code == 201


async def test_flow_bytes_limit_is_409(make_client: AppFactory) -> None:
    async with make_client(max_flow_bytes=4096) as client:
        assert (await client.post("/api/v1/flows", json=flow("a", 1500))).status_code == 201
        assert (await client.post("/api/v1/flows", json=flow("b", 1500))).status_code == 201
        refused = await client.post("/api/v1/flows", json=flow("c", 1500))
        assert_problem(refused, 409, "flow_storage_full")
        assert (await client.get("/api/v1/flows")).json()["total"] == 2
        assert (await client.delete("/api/v1/flows/b")).status_code == 204
        assert (await client.post("/api/v1/flows", json=flow("c", 1500))).status_code == 201


async def test_flow_limits_hold_across_a_restart(make_client: AppFactory) -> None:
    async with make_client() as client:
        for name in ("a", "b"):
            assert (await client.post("/api/v1/flows", json=flow(name, 1500))).status_code == 201
    async with make_client(max_flows=2) as client:
        assert_problem(await client.post("/api/v1/flows", json=flow("c")), 409, "too_many_flows")
    async with make_client(max_flow_bytes=4096) as client:
        refused = await client.post("/api/v1/flows", json=flow("c", 1500))
        assert_problem(refused, 409, "flow_storage_full")


async def test_breakpoints_are_bounded_per_flow_and_in_all(make_client: AppFactory) -> None:
    async with make_client(max_breakpoints_per_flow=2, max_breakpoints=3) as client:
        for name in ("a", "b"):
            await client.post("/api/v1/flows", json=flow(name))
        new = {"routine_id": "shape"}
        for _ in range(2):
            created = await client.post("/api/v1/breakpoints", json={**new, "flow_id": "a"})
            assert created.status_code == 201
        per_flow = await client.post("/api/v1/breakpoints", json={**new, "flow_id": "a"})
        assert (
            "flow 'a' has 2 breakpoints"
            in assert_problem(per_flow, 409, "too_many_breakpoints")["detail"]
        )
        assert (
            await client.post("/api/v1/breakpoints", json={**new, "flow_id": "b"})
        ).status_code == 201
        total = await client.post("/api/v1/breakpoints", json={**new, "flow_id": "b"})
        assert (
            "at most 3 breakpoints" in assert_problem(total, 409, "too_many_breakpoints")["detail"]
        )
        assert (await client.get("/api/v1/breakpoints")).json()["total"] == 3


async def test_queued_input_bytes_per_worker_are_429_with_retry_after(
    make_client: AppFactory,
) -> None:
    async with make_client(max_queued_input_bytes_per_worker=2048) as client:
        await client.post("/api/v1/flows", json=ONE_AT_A_TIME)
        data = {"data": {"blob": "x" * 990}}  # 1,001 bytes as JSON
        jobs = []
        for _ in range(3):  # one runs, two wait: 2,002 bytes queued
            response = await client.post("/api/v1/flows/slow/execute", json=data)
            assert response.status_code == 202
            jobs.append(response.json()["job_id"])
        refused = await client.post("/api/v1/flows/slow/execute", json=data)
        body = assert_problem(refused, 429, "queued_input_full")
        assert "2002 bytes of queued input" in body["detail"]
        assert int(refused.headers["retry-after"]) >= 1
        # Small inputs still fit; a cancelled queued job gives its room back.
        small = await client.post("/api/v1/flows/slow/execute", json={"data": {"n": 1}})
        assert small.status_code == 202
        assert (await client.post(f"/api/v1/jobs/{jobs[2]}/cancel")).status_code == 200
        again = await client.post("/api/v1/flows/slow/execute", json=data)
        assert again.status_code == 202


async def test_queued_input_bytes_in_all_are_429(make_client: AppFactory) -> None:
    async with make_client(max_queued_input_bytes=2048) as client:
        data = {"data": {"blob": "x" * 990}}
        for name in ("s1", "s2"):
            await client.post("/api/v1/flows", json={**ONE_AT_A_TIME, "flow_id": name})
            for _ in range(2):  # one runs, one waits
                response = await client.post(f"/api/v1/flows/{name}/execute", json=data)
                assert response.status_code == 202
        refused = await client.post("/api/v1/flows/s1/execute", json=data)
        body = assert_problem(refused, 429, "queued_input_full")
        assert "server's limit of 2048" in body["detail"]
        assert int(refused.headers["retry-after"]) >= 1


async def test_queued_jobs_reloaded_on_start_count_against_the_limits(
    make_client: AppFactory,
) -> None:
    data = {"data": {"blob": "x" * 990}}
    async with make_client() as client:
        await client.post("/api/v1/flows", json=ONE_AT_A_TIME)
        await client.post("/api/v1/workers", json={"flow_id": "slow"})
        for _ in range(4):  # one runs (to resume after the restart), three wait
            assert (await client.post("/api/v1/flows/slow/execute", json=data)).status_code == 202
    async with make_client(max_queued_input_bytes_per_worker=2048) as client:
        # After the restart the running one resumes in its place and the three (3,003 bytes)
        # wait again, over the new limit: nothing more is queued.
        runtime = runtime_of(client)
        worker = next(iter(runtime._workers))
        assert worker.queued_bytes == 3003
        refused = await client.post("/api/v1/flows/slow/execute", json=data)
        assert_problem(refused, 429, "queued_input_full")


async def test_a_page_of_breakpoints_costs_the_page_not_all(make_client: AppFactory) -> None:
    """5,000 breakpoints (the bound) and 200 unfinished jobs of their flow: a page is built from
    the page's breakpoints only (it used to look up waiting jobs for every one)."""
    async with make_client(max_breakpoints_per_flow=5000, max_breakpoints=5000) as client:
        await client.post("/api/v1/flows", json={**SLOW, "execution": {"concurrency": 200}})
        runtime = runtime_of(client)
        for _ in range(200):
            await runtime.execute("slow", {})
        for start in range(0, 5000, 1000):
            await asyncio.gather(
                *(runtime.create_breakpoint("slow", "wait") for _ in range(start, start + 1000))
            )
        assert_problem(
            await client.post(
                "/api/v1/breakpoints", json={"flow_id": "slow", "routine_id": "wait"}
            ),
            409,
            "too_many_breakpoints",
        )
        sizes: list[int] = []
        with_waiting = runtime.with_waiting

        def spy(breakpoints: list[Any]) -> list[Any]:
            sizes.append(len(breakpoints))
            return with_waiting(breakpoints)

        runtime.with_waiting = spy  # type: ignore[method-assign]
        timings = []
        cursor = None
        for _ in range(5):
            started = time.perf_counter()
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = await client.get("/api/v1/breakpoints", params=params)
            timings.append(time.perf_counter() - started)
            body = page.json()
            assert page.status_code == 200 and len(body["items"]) == 200
            assert body["total"] == 5000
            cursor = body["next_cursor"]
        print(f"\npages of 200 of 5,000 breakpoints: {[round(t * 1000) for t in timings]} ms")
        assert sizes == [200] * 5  # waiting jobs are looked up for the page only
        assert max(timings) < 1.0  # ~35 ms each when measured


async def test_finished_jobs_past_retention_are_404(make_client: AppFactory) -> None:
    async with make_client(job_retention_seconds=0.3) as client:
        await client.post("/api/v1/flows", json=PIPELINE)
        await client.post("/api/v1/flows", json=ONE_AT_A_TIME)
        execute = {"data": {"user": {"name": "Ada"}, "age": 36}}
        headers = {"Idempotency-Key": "once"}
        first = await client.post("/api/v1/flows/pipeline/execute", json=execute, headers=headers)
        job_id = first.json()["job_id"]
        assert (await finished(client, job_id))["status"] == "completed"
        running = (await client.post("/api/v1/flows/slow/execute", json={"data": {}})).json()[
            "job_id"
        ]

        async def pruned() -> bool:
            if (await client.get(f"/api/v1/jobs/{job_id}")).status_code == 404:
                return True
            await store_of(client).prune()
            return False

        await until(pruned, timeout=10, interval=0.05, what="the finished job pruned")
        gone = await client.get(f"/api/v1/jobs/{job_id}")
        assert_problem(gone, 404, "job_not_found")
        assert (await client.get(f"/api/v1/jobs/{job_id}/events")).status_code == 404
        assert await store_of(client).list_job_events(job_id) == []
        assert (await client.get(f"/api/v1/jobs/{running}")).json()["status"] == "running"
        # The same Idempotency-Key again: its job is gone, so the request runs anew.
        retried = await client.post("/api/v1/flows/pipeline/execute", json=execute, headers=headers)
        assert retried.status_code == 202 and retried.json()["job_id"] != job_id
