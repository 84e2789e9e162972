"""kill -9 in the middle of 50 jobs: nothing acknowledged is lost, nothing is left running."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import start_server, stop_server
from tests.pg import DATABASES, database_url
from tests.poll import wait_until

FLOW = {
    "flow_id": "mixed",
    "routines": {
        "pace": {"class": "Delay", "config": {"seconds": 0.02}},
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n", "slow": "slow"}}},
        "route": {
            "class": "ConditionalRouter",
            "config": {
                "routes": [{"name": "slow", "condition": "data.slow"}],
                "default_route": "fast",
            },
        },
        "hold": {"class": "Delay", "config": {"seconds": 30}},
    },
    "connections": [
        {"from": "pace.output", "to": "shape.input"},
        {"from": "shape.output", "to": "route.input"},
        {"from": "route.slow", "to": "hold.input"},
    ],
    "execution": {"concurrency": 64},
}


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request, tmp_path / "routilux.db")


def test_sigkill_loses_no_acknowledged_job(tmp_path: Path, db_url: str) -> None:
    env = {"ROUTILUX_DATABASE_URL": db_url}
    server = start_server(tmp_path, env=env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            assert client.post("/api/v1/flows", json=FLOW).status_code == 201
            accepted = []
            for n in range(50):
                response = client.post(
                    "/api/v1/flows/mixed/execute", json={"data": {"n": n, "slow": n % 2 == 1}}
                )
                assert response.status_code == 202
                accepted.append(response.json()["job_id"])

            def fast_ones_done() -> bool:
                page = client.get("/api/v1/jobs", params={"status": "completed", "limit": 200})
                return bool(page.json()["total"] >= 25)

            wait_until(fast_ones_done, timeout=20, what="25 fast jobs completed")
            seen_completed = {
                j["job_id"]: j["output"]
                for j in client.get("/api/v1/jobs", params={"limit": 200}).json()["items"]
                if j["status"] == "completed"
            }
    finally:
        stop_server(server, signal.SIGKILL)
    assert server.process.returncode == -signal.SIGKILL

    if db_url.startswith("sqlite"):
        with sqlite3.connect(tmp_path / "routilux.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    again = start_server(tmp_path, env=env)
    try:
        with httpx.Client(base_url=again.base_url, timeout=10) as client:
            jobs = {
                j["job_id"]: j
                for j in client.get("/api/v1/jobs", params={"limit": 200}).json()["items"]
            }
            assert set(accepted) <= set(jobs)
            for job_id, output in seen_completed.items():
                assert jobs[job_id]["status"] == "completed"
                assert jobs[job_id]["output"] == output
            for job_id in accepted:
                job = jobs[job_id]
                assert job["status"] in ("completed", "failed"), job
                if job["status"] == "failed":
                    assert job["error"]["code"] == "interrupted"
            completed = [jobs[j] for j in accepted if jobs[j]["status"] == "completed"]
            assert len(completed) >= 25
            for job in completed:
                n = job["input"]["n"]
                assert job["output"] == {"route.fast": [{"n": n, "slow": False}]}
            # The server serves normally again.
            fresh = client.post(
                "/api/v1/flows/mixed/execute", json={"data": {"n": 99, "slow": False}}
            )
            assert fresh.status_code == 202
            job_id = fresh.json()["job_id"]
            wait_until(
                lambda: client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "completed",
                timeout=20,
                what="the new job completed",
            )
    finally:
        stop_server(again)
