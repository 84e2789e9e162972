"""Breakpoints over HTTP: create, list, get, resume, delete."""

from __future__ import annotations

import httpx

from tests.poll import until
from tests.server.conftest import ON_BOTH_DATABASES, PIPELINE, assert_problem, finished, runtime_of

pytestmark = ON_BOTH_DATABASES


async def paused(client: httpx.AsyncClient, job_id: str) -> dict[str, object]:
    runtime = runtime_of(client)

    async def is_paused() -> bool:
        return (await runtime.get_job(job_id)).status == "paused"

    await until(is_paused, timeout=5, interval=0.001, what=f"job {job_id} paused")
    body: dict[str, object] = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    return body


async def test_breakpoint_pauses_a_job_and_resume_continues_it(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    created = await client.post(
        "/api/v1/breakpoints",
        json={"flow_id": "pipeline", "routine_id": "adults", "condition": "data.age > 60"},
    )
    assert created.status_code == 201, created.text
    bp = created.json()
    assert created.headers["location"] == f"/api/v1/breakpoints/{bp['breakpoint_id']}"
    assert bp["hit_count"] == 0 and bp["waiting_jobs"] == [] and bp["enabled"] is True
    young = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 20}})).json()
    assert (await finished(client, young["job_id"]))["status"] == "completed"
    old = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 70}})).json()
    job = await paused(client, old["job_id"])
    assert job["paused_at"] == {
        "breakpoint_id": bp["breakpoint_id"],
        "routine_id": "adults",
        "slot": "input",
        "payload": {"name": None, "age": 70},
    }
    seen = (await client.get(f"/api/v1/breakpoints/{bp['breakpoint_id']}")).json()
    assert seen["hit_count"] == 1 and seen["waiting_jobs"] == [old["job_id"]]
    resumed = await client.post(
        f"/api/v1/breakpoints/{bp['breakpoint_id']}/resume", json={"job_id": old["job_id"]}
    )
    assert resumed.status_code == 200
    assert resumed.json() == {"breakpoint_id": bp["breakpoint_id"], "resumed_jobs": [old["job_id"]]}
    done = await finished(client, old["job_id"])
    assert done["output"] == {"adults.passed": [{"name": None, "age": 70}]}
    nobody = await client.post(f"/api/v1/breakpoints/{bp['breakpoint_id']}/resume")
    assert_problem(nobody, 409, "no_job_waiting")


async def test_deleting_a_breakpoint_lets_waiting_jobs_continue(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    bp = (
        await client.post(
            "/api/v1/breakpoints", json={"flow_id": "pipeline", "routine_id": "shape"}
        )
    ).json()
    job = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 30}})).json()
    await paused(client, job["job_id"])
    assert (await client.delete(f"/api/v1/breakpoints/{bp['breakpoint_id']}")).status_code == 204
    assert (await finished(client, job["job_id"]))["status"] == "completed"
    assert_problem(
        await client.get(f"/api/v1/breakpoints/{bp['breakpoint_id']}"), 404, "breakpoint_not_found"
    )
    assert_problem(
        await client.delete(f"/api/v1/breakpoints/{bp['breakpoint_id']}"),
        404,
        "breakpoint_not_found",
    )


async def test_list_breakpoints_filters(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    await client.post("/api/v1/flows", json={**PIPELINE, "flow_id": "other"})
    for flow_id in ("pipeline", "other", "other"):
        await client.post("/api/v1/breakpoints", json={"flow_id": flow_id, "routine_id": "shape"})
    listed = (await client.get("/api/v1/breakpoints", params={"flow_id": "other"})).json()
    assert listed["total"] == 2 and {b["flow_id"] for b in listed["items"]} == {"other"}
    assert (await client.get("/api/v1/breakpoints")).json()["total"] == 3


async def test_invalid_breakpoints_are_422_with_locations(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    cases = [
        ({"flow_id": "ghost", "routine_id": "shape"}, ["body", "flow_id"]),
        ({"flow_id": "pipeline", "routine_id": "ghost"}, ["body", "routine_id"]),
        ({"flow_id": "pipeline", "routine_id": "shape", "slot": "nope"}, ["body", "slot"]),
        (
            {
                "flow_id": "pipeline",
                "routine_id": "shape",
                "condition": "().__class__.__base__.__subclasses__()",
            },
            ["body", "condition"],
        ),
    ]
    for body, loc in cases:
        assert_problem(
            await client.post("/api/v1/breakpoints", json=body), 422, "invalid_input", loc
        )
    assert_problem(
        await client.post("/api/v1/breakpoints", json={"flow_id": "pipeline"}),
        422,
        "validation_error",
        ["body", "routine_id"],
    )
    assert (await client.get("/api/v1/breakpoints")).json()["total"] == 0


async def test_resume_unknown_breakpoint_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(
        await client.post("/api/v1/breakpoints/bp_nope/resume"), 404, "breakpoint_not_found"
    )
