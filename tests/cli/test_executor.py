"""``routilux serve --executor-only``: refused on SQLite with what to do instead; on PostgreSQL an
executor process opens no port, is listed as a replica of role ``executor``, runs a job that a
server on the same database placed on it, and stops cleanly on SIGTERM; no app is built for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from routilux.server import Settings, create_app
from tests.live import ROOT, LiveServer, spawn_server, start_server, stop_server
from tests.poll import wait_until

FLOW = {
    "flow_id": "held",
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
        "wait": {"class": "Delay", "config": {"seconds": 2.0}},  # outlasts the placing
        "done": {"class": "Mapper", "config": {"mappings": {"n": "n", "twice": "n"}}},
    },
    "connections": [
        {"from": "shape.output", "to": "wait.input"},
        {"from": "wait.output", "to": "done.input"},
    ],
}


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--executor-only"], {}), ([], {"ROUTILUX_EXECUTOR_ONLY": "1"})],
    ids=["flag", "environment"],
)
def test_an_executor_on_sqlite_is_refused(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    command = [sys.executable, "-m", "routilux", "serve", "--data-dir", str(tmp_path), *args]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROUTILUX_")}
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "PYTHONPATH": str(ROOT / "server"), **env},
    )
    assert done.returncode == 1, done
    assert "refusing to start: an executor" in done.stderr
    assert "a SQLite database serves one process" in done.stderr
    assert "ROUTILUX_DATABASE_URL=postgresql+psycopg://" in done.stderr
    assert not (tmp_path / "routilux.db").exists()  # nothing was opened


def test_an_app_is_not_built_for_an_executor() -> None:
    """Under uvicorn the settings come from the environment: an app there would serve the API
    of a process configured to serve none."""
    with pytest.raises(ValueError, match="an executor serves no HTTP API"):
        create_app(Settings(executor_only=True))


def replicas(server: LiveServer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = httpx.get(f"{server.base_url}/api/v1/replicas").json()["items"]
    return items


def test_an_executor_runs_the_jobs_a_server_places_on_it(tmp_path: Path, pg_database: str) -> None:
    env = {
        "ROUTILUX_DATABASE_URL": pg_database,
        "ROUTILUX_REPLICA_HEARTBEAT_SECONDS": "0.2",
        "ROUTILUX_REPLICA_LEASE_SECONDS": "5",
    }
    executor = spawn_server(tmp_path / "executor", env=env, args=["--executor-only"])
    server: LiveServer | None = None
    try:
        wait_until(
            lambda: "running as an executor" in executor.log() or executor.process.poll(),
            timeout=60,
            what=lambda: f"the executor started\n{executor.log()}",
        )
        assert executor.process.poll() is None, executor.log()
        port = int(executor.base_url.rsplit(":", 1)[1])
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
            pass  # no HTTP API: nothing listens on the port it was given

        server = start_server(tmp_path / "api", env=env)
        listed = {r["pid"]: r for r in replicas(server)}
        assert listed[executor.process.pid]["role"] == "executor"
        assert listed[executor.process.pid]["status"] == "alive"
        assert listed[server.process.pid]["role"] == "all"
        executor_id = listed[executor.process.pid]["replica_id"]

        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            assert client.post("/api/v1/flows", json=FLOW).status_code == 201
            # The server holds none, the executor none: the first stays, the second goes.
            job_ids = [
                client.post("/api/v1/flows/held/execute", json={"data": {"n": n}}).json()["job_id"]
                for n in (1, 2)
            ]
            finals = [client.get(f"/api/v1/jobs/{j}", params={"wait": 20}).json() for j in job_ids]
        assert [job["status"] for job in finals] == ["completed", "completed"]
        assert finals[1]["output"] == {"done.output": [{"n": 2, "twice": 2}]}
        assert finals[1]["replica_id"] == executor_id
        assert finals[0]["replica_id"] == listed[server.process.pid]["replica_id"]

        stop_server(executor)  # SIGTERM: a clean stop
        assert executor.process.returncode == 0, executor.log()
        statuses = {r["replica_id"]: r["status"] for r in replicas(server)}
        assert statuses[executor_id] == "stopped"
    finally:
        stop_server(executor)
        if server is not None:
            stop_server(server)
