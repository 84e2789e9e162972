"""Workers over HTTP: list, get, pause, resume."""

from __future__ import annotations

import httpx

from tests.server.conftest import ON_BOTH_DATABASES, PIPELINE, assert_problem, finished

pytestmark = ON_BOTH_DATABASES


async def test_worker_is_created_on_first_run_and_counts_jobs(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    assert (await client.get("/api/v1/workers")).json()["items"] == []
    job = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 1}})).json()
    await finished(client, job["job_id"])
    workers = (await client.get("/api/v1/workers")).json()
    assert workers["total"] == 1
    worker = workers["items"][0]
    assert worker["worker_id"] == job["worker_id"] and worker["flow_id"] == "pipeline"
    got = (await client.get(f"/api/v1/workers/{job['worker_id']}")).json()
    assert got["jobs_processed"] == 1 and got["jobs_failed"] == 0 and got["status"] == "idle"


async def test_pause_and_resume_are_idempotent(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    job = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 1}})).json()
    worker_id = job["worker_id"]
    for _ in range(2):
        paused = await client.post(f"/api/v1/workers/{worker_id}/pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
    held = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 2}})).json()
    assert (await client.get(f"/api/v1/jobs/{held['job_id']}")).json()["status"] in (
        "queued",
        "paused",
    )
    for _ in range(2):
        resumed = await client.post(f"/api/v1/workers/{worker_id}/resume")
        assert resumed.status_code == 200 and resumed.json()["status"] != "paused"
    assert (await finished(client, held["job_id"]))["status"] == "completed"


async def test_unknown_worker_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/workers/wrk_nope"), 404, "worker_not_found")
    assert_problem(await client.post("/api/v1/workers/wrk_nope/pause"), 404, "worker_not_found")
    assert_problem(await client.post("/api/v1/workers/wrk_nope/resume"), 404, "worker_not_found")


async def test_worker_of_deleted_flow_is_stopped_and_cannot_pause(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    job = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 1}})).json()
    await finished(client, job["job_id"])
    await client.delete("/api/v1/flows/pipeline")
    worker = (await client.get(f"/api/v1/workers/{job['worker_id']}")).json()
    assert worker["status"] == "stopped"
    assert_problem(
        await client.post(f"/api/v1/workers/{job['worker_id']}/pause"), 409, "worker_stopped"
    )
