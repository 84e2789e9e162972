"""Jobs over HTTP: execute, list with filters, get, cancel, event history."""

from __future__ import annotations

import httpx

from tests.poll import until
from tests.server.conftest import (
    ON_BOTH_DATABASES,
    PIPELINE,
    SLOW,
    assert_problem,
    finished,
    runtime_of,
)

pytestmark = ON_BOTH_DATABASES


async def execute(
    client: httpx.AsyncClient, flow_id: str, data: object, **kw: object
) -> httpx.Response:
    return await client.post(f"/api/v1/flows/{flow_id}/execute", json={"data": data, **kw})


async def test_execute_is_202_with_location_and_runs_to_completion(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    response = await execute(client, "pipeline", {"user": {"name": "Ada"}, "age": 36})
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/jobs/{job['job_id']}"
    assert job["status"] in ("queued", "running") and job["flow_id"] == "pipeline"
    done = await finished(client, job["job_id"])
    assert done["status"] == "completed"
    assert done["output"] == {"adults.passed": [{"name": "Ada", "age": 36}]}
    assert done["progress"]["shape"]["status"] == "completed"
    assert done["finished_at"] >= done["started_at"] >= done["created_at"]


async def test_execute_unknown_flow_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await execute(client, "nope", {}), 404, "flow_not_found")


async def test_execute_bad_entry_and_bad_body_are_422(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    assert_problem(
        await execute(client, "pipeline", {}, entry="ghost.input"),
        422,
        "invalid_input",
        ["body", "entry"],
    )
    assert_problem(
        await client.post("/api/v1/flows/pipeline/execute", json={"data": [], "zzz": 1}),
        422,
        "validation_error",
        ["body", "data"],
    )
    assert (await client.get("/api/v1/jobs")).json()["total"] == 0


async def test_execute_at_an_explicit_entry(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    response = await execute(client, "pipeline", {"age": 3}, entry="adults.input")
    done = await finished(client, response.json()["job_id"])
    assert done["entry"] == "adults.input"
    assert done["output"] == {"adults.rejected": [{"age": 3}]}


async def test_execute_idempotency_key_returns_the_same_job(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    headers = {"Idempotency-Key": "run-1"}
    body = {"data": {"age": 1}}
    first = await client.post("/api/v1/flows/pipeline/execute", json=body, headers=headers)
    again = await client.post("/api/v1/flows/pipeline/execute", json=body, headers=headers)
    assert first.json()["job_id"] == again.json()["job_id"]
    assert (await client.get("/api/v1/jobs")).json()["total"] == 1
    other = await client.post(
        "/api/v1/flows/pipeline/execute", json={"data": {"age": 2}}, headers=headers
    )
    assert_problem(other, 422, "idempotency_key_reused")


async def test_list_jobs_filters_and_pages(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    await client.post("/api/v1/flows", json=SLOW)
    ids = [(await execute(client, "pipeline", {"age": n})).json()["job_id"] for n in range(5)]
    for job_id in ids:
        await finished(client, job_id)
    slow = (await execute(client, "slow", {})).json()
    by_flow = (await client.get("/api/v1/jobs", params={"flow_id": "pipeline"})).json()
    assert [j["job_id"] for j in by_flow["items"]] == ids[::-1] and by_flow["total"] == 5
    statuses = await client.get(
        "/api/v1/jobs", params=[("status", "queued"), ("status", "running")]
    )
    assert [j["job_id"] for j in statuses.json()["items"]] == [slow["job_id"]]
    page = (await client.get("/api/v1/jobs", params={"limit": 4})).json()
    rest = (
        await client.get("/api/v1/jobs", params={"limit": 4, "cursor": page["next_cursor"]})
    ).json()
    seen = [j["job_id"] for j in page["items"] + rest["items"]]
    assert sorted(seen) == sorted([*ids, slow["job_id"]]) and len(set(seen)) == 6
    assert rest["next_cursor"] is None
    created = by_flow["items"][2]["created_at"]
    after = (
        await client.get("/api/v1/jobs", params={"flow_id": "pipeline", "created_after": created})
    ).json()
    assert [j["job_id"] for j in after["items"]] == ids[:2:-1][:2] or after["total"] == 2
    naive = await client.get("/api/v1/jobs", params={"created_after": "2026-01-01T00:00:00"})
    assert_problem(naive, 422, "validation_error", ["query", "created_after"])
    assert_problem(
        await client.get("/api/v1/jobs", params={"status": "bogus"}), 422, "validation_error"
    )


async def test_get_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/jobs/job_nope"), 404, "job_not_found")
    assert_problem(await client.post("/api/v1/jobs/job_nope/cancel"), 404, "job_not_found")
    assert_problem(await client.get("/api/v1/jobs/job_nope/events"), 404, "job_not_found")


async def test_cancel_running_job_is_202_then_200(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=SLOW)
    job = (await execute(client, "slow", {})).json()
    runtime = runtime_of(client)

    async def running() -> bool:
        return (await runtime.get_job(job["job_id"])).status == "running"

    await until(running, timeout=5, interval=0.001, what="the job running")
    first = await client.post(f"/api/v1/jobs/{job['job_id']}/cancel")
    assert first.status_code in (200, 202)
    assert first.json()["status"] in ("cancelling", "cancelled")
    done = await finished(client, job["job_id"])
    assert done["status"] == "cancelled"
    again = await client.post(f"/api/v1/jobs/{job['job_id']}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


async def test_cancel_completed_job_is_409(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    job = (await execute(client, "pipeline", {"age": 1})).json()
    await finished(client, job["job_id"])
    assert_problem(
        await client.post(f"/api/v1/jobs/{job['job_id']}/cancel"), 409, "job_not_cancellable"
    )


async def test_job_events_tell_the_story_in_order(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    job = (await execute(client, "pipeline", {"age": 40})).json()
    await finished(client, job["job_id"])
    events = (await client.get(f"/api/v1/jobs/{job['job_id']}/events")).json()
    types = [e["type"] for e in events["items"]]
    assert types[0] == "job.queued" and types[-1] == "job.completed"
    assert "routine.started" in types and "event.emitted" in types
    ids = [e["id"] for e in events["items"]]
    assert ids == sorted(ids)
    assert all(e["job_id"] == job["job_id"] for e in events["items"])
    page = (
        await client.get(
            f"/api/v1/jobs/{job['job_id']}/events", params={"after": ids[1], "limit": 2}
        )
    ).json()
    assert [e["id"] for e in page["items"]] == ids[2:4] and page["next_after"] == ids[3]
