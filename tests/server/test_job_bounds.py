"""The job bounds over HTTP: the settings reach the engine, a flow asking for more time than the
server allows is a 422, a cycle nothing can stop is a warning, and a finished job too big for the
cache is still read whole (from the store) by the job read's lean route."""

from __future__ import annotations

import httpx

from tests.engine.test_bounds import CYCLE
from tests.server.conftest import AppFactory, assert_problem, finished, runtime_of


async def test_a_runaway_job_fails_with_its_code_and_the_create_warns(
    make_client: AppFactory,
) -> None:
    async with make_client(max_activations_per_job=500) as client:
        created = await client.post("/api/v1/flows", json=CYCLE)
        assert created.status_code == 201
        [warning] = created.json()["warnings"]
        assert warning["type"] == "unbounded_cycle"
        assert warning["routines"] == ["a", "b"]
        assert "Filter" in warning["message"]
        job = await client.post("/api/v1/flows/cycle/execute", json={"data": {"x": 1}})
        body = await finished(client, job.json()["job_id"])
        assert body["status"] == "failed"
        assert body["error"]["code"] == "too_many_activations"
        stored = await runtime_of(client).store.get_job(body["job_id"])
        assert stored is not None and stored.error is not None
        assert stored.error.code == "too_many_activations"
        plain = await client.post(
            "/api/v1/flows", json={"flow_id": "plain", "routines": {"a": {"class": "Identity"}}}
        )
        assert plain.json()["warnings"] == []


async def test_a_flow_may_not_ask_for_more_time_than_the_server_allows(
    make_client: AppFactory,
) -> None:
    async with make_client(max_job_seconds=30) as client:
        document = {"flow_id": "slow", "routines": {"a": {"class": "Identity"}}}
        response = await client.post(
            "/api/v1/flows", json={**document, "execution": {"timeout": 31}}
        )
        body = assert_problem(response, 422, "invalid_flow")
        assert ["body", "execution", "timeout"] in [e["loc"] for e in body["errors"]]
        assert (await client.get("/api/v1/flows/slow")).status_code == 404
        response = await client.post(
            "/api/v1/flows", json={**document, "execution": {"timeout": 30}}
        )
        assert response.status_code == 201


async def test_a_big_finished_job_is_read_whole_from_the_store(
    make_client: AppFactory,
) -> None:
    async with make_client(finished_jobs_cache_bytes=1024 * 1024) as client:
        await client.post(
            "/api/v1/flows", json={"flow_id": "echo", "routines": {"echo": {"class": "Identity"}}}
        )
        text = "x" * 100_000  # input and output: over a sixteenth of the cache
        job = await client.post("/api/v1/flows/echo/execute", json={"data": {"text": text}})
        body = await finished(client, job.json()["job_id"])
        assert runtime_of(client).live_job(body["job_id"]) is None
        assert body["status"] == "completed"
        assert body["output"] == {"echo.output": [{"text": text}]}
        small = await client.post("/api/v1/flows/echo/execute", json={"data": {"text": "y"}})
        small_body = await finished(client, small.json()["job_id"])
        assert runtime_of(client).live_job(small_body["job_id"]) is not None
        assert small_body["output"] == {"echo.output": [{"text": "y"}]}


async def test_the_bounds_default_to_the_documented_values(client: httpx.AsyncClient) -> None:
    limits = runtime_of(client).settings.job_limits
    assert (limits.max_activations, limits.max_backlog) == (50_000, 100_000)
    assert limits.max_backlog_bytes == 32 * 1024 * 1024
    assert limits.max_seconds == 3600
