"""The short cut for the busiest reads answers exactly as the routes behind it would."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from routilux.server.fastpath import FastPath
from tests.server.conftest import PIPELINE, SLOW, assert_problem, finished, runtime_of


def behind_fast_path(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client of the same app that skips the short cut (and the gate in front of it)."""
    app: FastAPI = client.app  # type: ignore[attr-defined]
    layer: object = app.middleware_stack
    while not isinstance(layer, FastPath):
        layer = layer.app  # type: ignore[attr-defined]
    inner: ASGIApp = layer.app

    async def routes(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app
        await inner(scope, receive, send)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=routes), base_url="http://test")


def same(fast: httpx.Response, routed: httpx.Response) -> None:
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    fast_headers = [(k, v) for k, v in fast.headers.multi_items() if k != "x-request-id"]
    assert fast_headers == routed.headers.multi_items()
    assert fast.headers["x-request-id"]


async def test_a_job_and_the_flows_are_answered_as_by_their_routes(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/api/v1/health/live")  # builds the middleware stack
    for i in range(3):
        flow = {**PIPELINE, "flow_id": f"flow-{i}"}
        assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
    assert (await client.post("/api/v1/flows", json=SLOW)).status_code == 201
    done = (await client.post("/api/v1/flows/flow-0/execute", json={"data": {"age": 3}})).json()
    await finished(client, done["job_id"])
    running = (await client.post("/api/v1/flows/slow/execute", json={"data": {}})).json()
    async with behind_fast_path(client) as routed:
        for path in (
            f"/api/v1/jobs/{done['job_id']}",
            f"/api/v1/jobs/{running['job_id']}",
            "/api/v1/flows",
        ):
            same(await client.get(path), await routed.get(path))
    await client.post(f"/api/v1/jobs/{running['job_id']}/cancel")


async def test_metrics_and_logs_name_the_route(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    job = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 30}})).json()
    await finished(client, job["job_id"])
    await client.get("/api/v1/flows")
    metrics = (await client.get("/metrics")).text
    assert 'route="/api/v1/jobs/{job_id}",status="200"' in metrics
    assert 'method="GET",route="/api/v1/flows",status="200"' in metrics


async def test_everything_else_goes_to_the_routes(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/flows", json=PIPELINE)
    assert_problem(await client.get("/api/v1/jobs/job_nope"), 404, "job_not_found")
    assert_problem(await client.get("/api/v1/jobs/-bad-"), 422, "validation_error")
    assert_problem(await client.get("/api/v1/flows?limit=0"), 422, "validation_error")
    page = (await client.get("/api/v1/flows?limit=1")).json()
    assert [f["flow_id"] for f in page["items"]] == ["pipeline"]
    head = await client.head("/api/v1/flows")  # HEAD: the GET's answer without its body
    assert head.status_code == 200 and head.content == b""
    # A finished job the runtime no longer holds is read from the store by the route.
    job = (await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 30}})).json()
    await finished(client, job["job_id"])
    runtime_of(client)._finished.clear()
    response = await client.get(f"/api/v1/jobs/{job['job_id']}")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
