"""Proof by equivalence: a job killed with SIGKILL at random moments, twenty times in a row and
restarted each time, ends with exactly the output of an uninterrupted run; so does a job that
was paused at a breakpoint when the process died, once resumed."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import LiveServer, start_server, stop_server
from tests.pg import DATABASES, database_url

ITEMS = 1000
KILLS = 20


def flow(flow_id: str, delay: float) -> dict[str, Any]:
    """Splitter -> Mapper -> a routine that fails and is retried -> Filter -> Delay ->
    Aggregator, over ITEMS items."""
    return {
        "flow_id": flow_id,
        "routines": {
            "split": {"class": "Splitter", "config": {"field": "items"}},
            "shape": {"class": "Mapper", "config": {"mappings": {"n": "item", "at": "index"}}},
            "flaky": {
                "class": "Fail",
                "config": {"times": 5},
                "error_handler": {"strategy": "retry", "max_retries": 8, "retry_delay": 0.001},
            },
            "keep": {"class": "Filter", "config": {"condition": "data.n % 3 != 0"}},
            "pace": {"class": "Delay", "config": {"seconds": delay}},
            "collect": {"class": "Aggregator", "config": {"count": ITEMS, "field": "n"}},
        },
        "connections": [
            {"from": "split.item", "to": "shape.input"},
            {"from": "shape.output", "to": "flaky.input"},
            {"from": "flaky.output", "to": "keep.input"},
            {"from": "keep.passed", "to": "pace.input"},
            {"from": "pace.output", "to": "collect.input"},
        ],
    }


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request, tmp_path / "routilux.db")


def job_of(server: LiveServer, job_id: str, wait: float = 0) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, timeout=wait + 10) as client:
        answer: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", params={"wait": wait}).json()
        return answer


def test_a_job_killed_twenty_times_ends_as_an_uninterrupted_run(
    tmp_path: Path, db_url: str
) -> None:
    data = {"items": list(range(ITEMS))}
    env = {"ROUTILUX_DATABASE_URL": db_url}
    chance = random.Random(20261201)
    server = start_server(tmp_path, env=env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for flow_id in ("quick", "durable"):
                delay = 0.0 if flow_id == "quick" else 0.02
                assert client.post("/api/v1/flows", json=flow(flow_id, delay)).status_code == 201
            quick = client.post("/api/v1/flows/quick/execute", json={"data": data}).json()
            job_id = client.post("/api/v1/flows/durable/execute", json={"data": data}).json()[
                "job_id"
            ]
        expected = job_of(server, quick["job_id"], wait=30)
        assert expected["status"] == "completed", expected
        kills = 0
        while kills < KILLS:
            time.sleep(chance.uniform(0.05, 0.3))
            stop_server(server, signal.SIGKILL)
            kills += 1
            server = start_server(tmp_path, env=env)
            if job_of(server, job_id)["status"] == "completed":
                break
        final = job_of(server, job_id, wait=60)
    finally:
        stop_server(server, signal.SIGKILL)
    assert final["status"] == "completed", final
    assert final["output"] == expected["output"]
    assert kills == KILLS, f"the job completed after {kills} kills: make it longer"
    assert final["output"]["collect.aggregated"][0]["count"] == len(
        [n for n in range(ITEMS) if n % 3]
    )
    assert 1 <= final["recoveries"] <= KILLS


def test_a_job_paused_at_a_breakpoint_waits_there_after_a_kill(tmp_path: Path, db_url: str) -> None:
    data = {"items": list(range(20))}
    env = {"ROUTILUX_DATABASE_URL": db_url}
    server = start_server(tmp_path, env=env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for flow_id in ("quick", "durable"):
                assert client.post("/api/v1/flows", json=flow(flow_id, 0.0)).status_code == 201
            bp = client.post(
                "/api/v1/breakpoints",
                json={"flow_id": "durable", "routine_id": "pace", "condition": "data.n == 10"},
            ).json()
            quick = client.post("/api/v1/flows/quick/execute", json={"data": data}).json()
            job_id = client.post("/api/v1/flows/durable/execute", json={"data": data}).json()[
                "job_id"
            ]
        expected = job_of(server, quick["job_id"], wait=30)
        paused = job_of(server, job_id, wait=30)
        assert paused["status"] == "paused", paused
        stop_server(server, signal.SIGKILL)
        server = start_server(tmp_path, env=env)
        again = job_of(server, job_id)
        assert again["status"] == "paused" and again["paused_at"] == paused["paused_at"]
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            waiting = client.get(f"/api/v1/breakpoints/{bp['breakpoint_id']}").json()
            assert waiting["waiting_jobs"] == [job_id]
            resume = client.post(f"/api/v1/breakpoints/{bp['breakpoint_id']}/resume", json={})
            assert resume.status_code == 200
        final = job_of(server, job_id, wait=30)
    finally:
        stop_server(server, signal.SIGKILL)
    assert final["status"] == "completed", final
    assert final["output"] == expected["output"]
