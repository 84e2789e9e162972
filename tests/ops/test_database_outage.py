"""PostgreSQL goes away under a live server and comes back: the server says it is not ready,
refuses writes with a 503 problem, loses nothing it acknowledged, and recovers by itself."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.live import start_server, stop_server
from tests.pg import throwaway_server
from tests.poll import wait_until

FLOW = {
    "flow_id": "paced",
    "routines": {
        "pace": {"class": "Delay", "config": {"seconds": 1.5}},
        "shape": {"class": "Mapper", "config": {"mappings": {"n": "n"}}},
    },
    "connections": [{"from": "pace.output", "to": "shape.input"}],
    "execution": {"concurrency": 16},
}


def ready_status(client: httpx.Client) -> int:
    return client.get("/api/v1/health/ready").status_code


def execute(client: httpx.Client, n: int) -> httpx.Response:
    return client.post("/api/v1/flows/paced/execute", json={"data": {"n": n}})


def test_database_outage_is_survived(tmp_path: Path) -> None:
    with throwaway_server() as pg:
        env = {"ROUTILUX_DATABASE_URL": pg.url(pg.create_database())}
        server = start_server(tmp_path, env=env)
        try:
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                assert client.post("/api/v1/flows", json=FLOW).status_code == 201
                accepted = [execute(client, n).json()["job_id"] for n in range(5)]

                # The database goes away while those jobs wait in their Delay.
                pg.stop()
                wait_until(lambda: ready_status(client) == 503, timeout=30, what="not ready")
                ready = client.get("/api/v1/health/ready")
                assert ready.json()["code"] == "store_unavailable"
                assert client.get("/api/v1/health/live").status_code == 200

                refused = execute(client, 100)
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
                assert refused.json()["code"] == "store_unavailable"
                assert int(refused.headers["Retry-After"]) >= 1
                listing = client.get("/api/v1/jobs", params={"limit": 5})
                assert listing.status_code == 503
                assert listing.json()["code"] == "store_unavailable"

                # Back on the same data directory and port: the server recovers by itself.
                outage = time.monotonic()
                pg.start()
                wait_until(lambda: ready_status(client) == 200, timeout=30, what="ready")
                recovered_in = time.monotonic() - outage
                print(f"\nready again {recovered_in:.2f} s after the database came back")
                fresh = execute(client, 200)
                assert fresh.status_code == 202, fresh.text
                accepted.append(fresh.json()["job_id"])

                def all_completed() -> bool:
                    return all(
                        client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "completed"
                        for job_id in accepted
                    )

                wait_until(all_completed, timeout=30, what="every job completed")
            assert "lost the database" in server.log()
            assert "connected to the database again" in server.log()
        finally:
            stop_server(server)

        # Nothing acknowledged was lost: a new process reads every job, finished, from the
        # database (the jobs that finished during the outage were written once it was back).
        again = start_server(tmp_path, env=env)
        try:
            with httpx.Client(base_url=again.base_url, timeout=10) as client:
                jobs = {
                    j["job_id"]: j
                    for j in client.get("/api/v1/jobs", params={"limit": 50}).json()["items"]
                }
                assert set(jobs) == set(accepted)
                for job_id in accepted:
                    assert jobs[job_id]["status"] == "completed", jobs[job_id]
                    assert jobs[job_id]["output"] == {
                        "shape.output": [{"n": jobs[job_id]["input"]["n"]}]
                    }
                # A server stopped while the database is away still ends, by itself.
                pg.stop()
                wait_until(lambda: ready_status(client) == 503, timeout=30, what="not ready")
        finally:
            stop_server(again)
        assert again.process.returncode != -signal.SIGKILL, again.log()
