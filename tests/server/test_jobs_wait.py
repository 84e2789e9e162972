"""get_job?wait=S: a long poll that answers once the job is finished or paused, or after S s."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from tests.server.conftest import ON_BOTH_DATABASES, PIPELINE, SLOW, assert_problem, runtime_of

pytestmark = ON_BOTH_DATABASES

QUICK: dict[str, Any] = {
    "flow_id": "quick",
    "routines": {"wait": {"class": "Delay", "config": {"seconds": 0.2}}},
}


async def execute(client: httpx.AsyncClient, flow: Mapping[str, Any]) -> str:
    assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
    response = await client.post(f"/api/v1/flows/{flow['flow_id']}/execute", json={"data": {}})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


async def test_wait_answers_as_soon_as_the_job_completes(client: httpx.AsyncClient) -> None:
    job_id = await execute(client, QUICK)
    started = time.monotonic()
    response = await client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert elapsed < 5, elapsed  # the job takes 0.2 s: far from the 30 s asked for


async def test_wait_answers_after_s_seconds_while_the_job_runs(
    client: httpx.AsyncClient,
) -> None:
    job_id = await execute(client, SLOW)
    started = time.monotonic()
    response = await client.get(f"/api/v1/jobs/{job_id}", params={"wait": 0.5})
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.json()["status"] == "running"
    assert 0.5 <= elapsed < 5, elapsed
    assert len(runtime_of(client)._jobs.waiters) == 0  # nothing left behind
    await client.post(f"/api/v1/jobs/{job_id}/cancel")


async def test_wait_answers_when_the_job_pauses(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/flows", json=PIPELINE)).status_code == 201
    created = await client.post(
        "/api/v1/breakpoints", json={"flow_id": "pipeline", "routine_id": "adults"}
    )
    assert created.status_code == 201
    response = await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 1}})
    job_id = response.json()["job_id"]
    started = time.monotonic()
    paused = await client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30})
    assert paused.json()["status"] == "paused" and time.monotonic() - started < 5
    # A paused job answers at once.
    started = time.monotonic()
    again = await client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30})
    assert again.json()["status"] == "paused" and time.monotonic() - started < 5


async def test_wait_on_a_finished_or_unknown_job(client: httpx.AsyncClient) -> None:
    job_id = await execute(client, QUICK)
    await runtime_of(client).wait_job(job_id, 10)
    started = time.monotonic()
    done = await client.get(f"/api/v1/jobs/{job_id}", params={"wait": 60})
    assert done.json()["status"] == "completed" and time.monotonic() - started < 5
    zero = await client.get(f"/api/v1/jobs/{job_id}", params={"wait": 0})
    assert zero.json() == done.json()
    assert_problem(await client.get("/api/v1/jobs/nope", params={"wait": 1}), 404, "job_not_found")


async def test_wait_out_of_range_is_422(client: httpx.AsyncClient) -> None:
    job_id = await execute(client, QUICK)
    for value in ("61", "-1", "soon"):
        response = await client.get(f"/api/v1/jobs/{job_id}", params={"wait": value})
        assert_problem(response, 422, "validation_error", ["query", "wait"])
