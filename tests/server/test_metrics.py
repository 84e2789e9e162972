"""GET /metrics: Prometheus text that parses, per-app registries, and counters that move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from routilux.server.metrics import Metrics
from tests.server.conftest import PIPELINE, AppFactory, finished, runtime_of
from tests.server.wsclient import connect

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

FAILING = {
    "flow_id": "failing",
    "routines": {"boom": {"class": "Fail", "config": {"message": "no luck"}}},
}


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def run_job(client: httpx.AsyncClient, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/flows/{flow_id}/execute", json={"data": data})
    assert response.status_code == 202, response.text
    return await finished(client, response.json()["job_id"])


async def test_metrics_parse_and_move_when_jobs_run(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/flows", json=PIPELINE)).status_code == 201
    before = await scrape(client)

    job = await run_job(client, "pipeline", {"user": {"name": "Ada"}, "age": 36})
    assert job["status"] == "completed"
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("routilux_jobs_finished_total", status="completed") == 1
    assert moved("routilux_jobs_finished_total", status="failed") == 0
    assert moved("routilux_events_total", type="job.queued") == 1
    execute = {"method": "POST", "route": "/api/v1/flows/{flow_id}/execute"}
    assert moved("routilux_http_requests_total", **execute, status="202") == 1
    assert moved("routilux_http_request_duration_seconds_count", **execute) == 1
    assert value(after, "routilux_http_request_duration_seconds_bucket", **execute, le="+Inf") == 1
    for routine_type in ("Mapper", "Filter"):
        labels = {"routine_type": routine_type, "outcome": "completed"}
        assert moved("routilux_routine_duration_seconds_count", **labels) == 1
        assert value(after, "routilux_routine_duration_seconds_sum", **labels) >= 0
    # The scrape itself is counted by the next one.
    scrapes = {"method": "GET", "route": "/metrics", "status": "200"}
    assert moved("routilux_http_requests_total", **scrapes) == 1
    assert value(after, "routilux_jobs", status="running") == 0


async def test_failed_job_and_routine_are_counted_by_outcome(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/flows", json=FAILING)).status_code == 201
    job = await run_job(client, "failing", {})
    assert job["status"] == "failed"
    samples = await scrape(client)
    assert value(samples, "routilux_jobs_finished_total", status="failed") == 1
    labels = {"routine_type": "Fail", "outcome": "failed"}
    assert value(samples, "routilux_routine_duration_seconds_count", **labels) == 1


async def test_routes_are_labelled_by_template_or_unmatched(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/jobs/job_nope")
    await client.get("/api/v1/jobs/job_other")
    await client.get("/no/such/path/42")
    await client.delete("/api/v1/health/live")
    samples = await scrape(client)
    job = {"method": "GET", "route": "/api/v1/jobs/{job_id}", "status": "404"}
    assert value(samples, "routilux_http_requests_total", **job) == 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(samples, "routilux_http_requests_total", **unmatched) == 1
    # A 405 still names the route that matched the path.
    wrong_method = {"method": "DELETE", "route": "/api/v1/health/live", "status": "405"}
    assert value(samples, "routilux_http_requests_total", **wrong_method) == 1
    routes = {labels for name, labels in samples if name == "routilux_http_requests_total"}
    assert not any("job_nope" in value for labels in routes for _, value in labels)


async def test_unfinished_jobs_and_worker_queues_are_read_at_scrape(
    client: httpx.AsyncClient,
) -> None:
    slow = {
        "flow_id": "slow",
        "routines": {"wait": {"class": "Delay", "config": {"seconds": 30}}},
        "execution": {"concurrency": 1},
    }
    assert (await client.post("/api/v1/flows", json=slow)).status_code == 201
    jobs = []
    for _ in range(3):
        response = await client.post("/api/v1/flows/slow/execute", json={"data": {}})
        jobs.append(response.json()["job_id"])
    samples = await scrape(client)
    assert value(samples, "routilux_jobs", status="running") == 1
    assert value(samples, "routilux_jobs", status="queued") == 2
    (worker,) = runtime_of(client).list_workers()
    labels = {"worker_id": worker.worker_id, "flow_id": "slow"}
    assert value(samples, "routilux_worker_queued_jobs", **labels) == 2
    assert value(samples, "routilux_worker_active_jobs", **labels) == 1

    for job_id in jobs:
        await client.post(f"/api/v1/jobs/{job_id}/cancel")
    for job_id in jobs:
        await runtime_of(client).wait_job(job_id, 10)
    samples = await scrape(client)
    assert value(samples, "routilux_jobs", status="running") == 0
    assert value(samples, "routilux_jobs_finished_total", status="cancelled") == 3
    metrics: Metrics = app_of(client).state.metrics
    assert metrics._routine_started == {}  # interrupted routines leave nothing behind


async def test_open_websockets_are_counted(client: httpx.AsyncClient) -> None:
    async with connect(app_of(client)), connect(app_of(client)):
        assert value(await scrape(client), "routilux_websocket_connections") == 2
    assert value(await scrape(client), "routilux_websocket_connections") == 0


async def test_websocket_figures_come_from_the_ws_hub(client: httpx.AsyncClient) -> None:
    class Hub:
        dropped_events = 7

        def __len__(self) -> int:
            return 3

    state = app_of(client).state
    real_hub = state.ws_hub
    try:
        state.ws_hub = Hub()
        samples = await scrape(client)
        assert value(samples, "routilux_websocket_connections") == 3
        assert value(samples, "routilux_websocket_dropped_events_total") == 7

        state.ws_hub = object()  # a hub without the figures reads as zero
        samples = await scrape(client)
        assert value(samples, "routilux_websocket_connections") == 0
        assert value(samples, "routilux_websocket_dropped_events_total") == 0
    finally:
        state.ws_hub = real_hub


async def test_two_apps_do_not_share_metrics(make_client: AppFactory, tmp_path: Path) -> None:
    other_db = f"sqlite:///{tmp_path / 'other.db'}"
    async with make_client() as first, make_client(database_url=other_db) as second:
        for _ in range(3):
            await first.get("/api/v1/health/live")
        live = {"method": "GET", "route": "/api/v1/health/live", "status": "200"}
        assert value(await scrape(first), "routilux_http_requests_total", **live) == 3
        assert value(await scrape(second), "routilux_http_requests_total", **live) == 0
        assert app_of(first).state.metrics.registry is not app_of(second).state.metrics.registry


async def test_metrics_need_the_api_key_and_stay_out_of_the_schema(
    make_client: AppFactory,
) -> None:
    async with make_client(api_keys="s3cret") as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        samples = await scrape(client, **{"X-API-Key": "s3cret"})
        refused_labels = {"method": "GET", "route": "unmatched", "status": "401"}
        assert value(samples, "routilux_http_requests_total", **refused_labels) == 1
        schema = (await client.get("/openapi.json")).json()
        assert "/metrics" not in schema["paths"]


def app_of(client: httpx.AsyncClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    return app
