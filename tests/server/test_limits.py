"""Limits and auth: each bound is a setting with a clear problem response."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.server.conftest import PIPELINE, SLOW, AppFactory, assert_problem, finished

ROOT = Path(__file__).resolve().parents[2]


async def test_oversized_body_is_413(make_client: AppFactory) -> None:
    async with make_client(max_body_bytes=2048) as client:
        big = {"data": {"blob": "x" * 4096}}
        declared = await client.post("/api/v1/flows/any/execute", json=big)
        assert_problem(declared, 413, "body_too_large")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b"x" * 1024

        streamed = await client.post(
            "/api/v1/flows", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert_problem(streamed, 413, "body_too_large")


async def test_flow_over_the_operators_limits_is_422(make_client: AppFactory) -> None:
    async with make_client(max_routines_per_flow=1) as client:
        response = await client.post("/api/v1/flows", json=PIPELINE)
        assert_problem(response, 422, "flow_too_large", ["body", "routines"])


async def test_job_input_over_the_limit_is_422(make_client: AppFactory) -> None:
    async with make_client(max_job_input_bytes=100) as client:
        await client.post("/api/v1/flows", json=PIPELINE)
        response = await client.post(
            "/api/v1/flows/pipeline/execute", json={"data": {"x": "y" * 200}}
        )
        assert_problem(response, 422, "job_input_too_large", ["body", "data"])


async def test_job_output_over_the_limit_fails_the_job(make_client: AppFactory) -> None:
    async with make_client(max_job_output_bytes=1024) as client:
        document = {"flow_id": "split", "routines": {"s": {"class": "Splitter"}}}
        await client.post("/api/v1/flows", json=document)
        job = (
            await client.post(
                "/api/v1/flows/split/execute", json={"data": {"items": ["z" * 100] * 50}}
            )
        ).json()
        done = await finished(client, job["job_id"])
        assert done["status"] == "failed" and done["error"]["code"] == "output_too_large"


async def test_full_worker_queue_is_429_with_retry_after(make_client: AppFactory) -> None:
    async with make_client(max_queued_jobs=1) as client:
        await client.post("/api/v1/flows", json={**SLOW, "execution": {"concurrency": 1}})
        for _ in range(2):  # one running, one queued
            assert (
                await client.post("/api/v1/flows/slow/execute", json={"data": {}})
            ).status_code == 202
        refused = await client.post("/api/v1/flows/slow/execute", json={"data": {}})
        assert_problem(refused, 429, "queue_full")
        assert int(refused.headers["retry-after"]) >= 1


async def test_rate_limit_is_429_with_retry_after(make_client: AppFactory) -> None:
    async with make_client(rate_limit_per_second=1, rate_limit_burst=3) as client:
        statuses = [(await client.get("/api/v1/flows")).status_code for _ in range(4)]
        assert statuses[:3] == [200, 200, 200]
        limited = await client.get("/api/v1/flows")
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert (await client.get("/api/v1/health/live")).status_code == 200


async def test_auth_comes_before_anything_else(make_client: AppFactory) -> None:
    async with make_client(api_keys="first-key,second-key") as client:
        for method, path in [
            ("GET", "/api/v1/flows"),
            ("GET", "/api/v1/flows/does-not-exist"),
            ("GET", "/api/v1/no-such-path"),
            ("DELETE", "/api/v1/jobs"),
            ("GET", "/metrics"),
        ]:
            missing = await client.request(method, path)
            assert_problem(missing, 401, "unauthorized")
            wrong = await client.request(method, path, headers={"X-API-Key": "nope"})
            assert wrong.json()["detail"] == "the X-API-Key header does not hold a valid key"
            assert wrong.status_code == 401
        for key in ("first-key", "second-key"):  # several keys: rotation without downtime
            ok = await client.get("/api/v1/flows", headers={"X-API-Key": key})
            assert ok.status_code == 200
        bearer = await client.get("/metrics", headers={"Authorization": "Bearer second-key"})
        assert bearer.status_code == 200
        unknown = await client.get("/api/v1/flows/nope", headers={"X-API-Key": "first-key"})
        assert_problem(unknown, 404, "flow_not_found")
        for public in ("/api/v1/health/live", "/api/v1/health/ready", "/docs", "/openapi.json"):
            assert (await client.get(public)).status_code == 200, public


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "routilux",
            "serve",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT / "server"), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "ROUTILUX_API_KEYS" in result.stderr and "--api-key" in result.stderr


async def test_without_keys_the_api_is_open_on_loopback(client: httpx.AsyncClient) -> None:
    # With auth off, the same requests are answered: the 401s above come from the keys alone.
    assert (await client.get("/api/v1/flows")).status_code == 200
