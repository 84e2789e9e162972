"""kill -9 in the middle of 50 jobs: nothing acknowledged is lost; what was running resumes from
its checkpoint and ends as an uninterrupted run would have."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import start_server, stop_server
from tests.pg import DATABASES, database_url
from tests.poll import wait_until

HOLD = 5.0  # the slow half is still waiting when the server is killed

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
        "hold": {"class": "Delay", "config": {"seconds": HOLD}},
    },
    "connections": [
        {"from": "pace.output", "to": "shape.input"},
        {"from": "shape.output", "to": "route.input"},
        {"from": "route.slow", "to": "hold.input"},
    ],
    "execution": {"concurrency": 64},
}


def finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 20}).json()
    assert job["finished_at"] is not None, job
    return job


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
            resumed = [j for j in accepted if jobs[j]["recoveries"] == 1]
            assert resumed, "no job was in flight at the kill: nothing was checked"
            assert all(jobs[j]["status"] in ("running", "completed") for j in resumed)
            # Every job ends completed, with the output an uninterrupted run gives: the slow
            # ones at their Delay's original deadline, not HOLD seconds after the restart.
            ends = {j: finished(client, j) for j in accepted}
            for job in ends.values():
                n = job["input"]["n"]
                assert job["status"] == "completed", job
                where = "hold.output" if n % 2 else "route.fast"
                assert job["output"] == {where: [{"n": n, "slow": n % 2 == 1}]}
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
