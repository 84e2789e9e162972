"""A restart on the same database finds every flow, job, breakpoint and worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import DATABASES, database_url
from tests.poll import until
from tests.server.conftest import PIPELINE, SLOW, AppFactory, finished, runtime_of


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request, tmp_path / "routilux.db")


async def test_restart_mid_run_keeps_everything_and_resumes_what_ran(
    make_client: AppFactory, db_url: str
) -> None:
    async with make_client(database_url=db_url) as client:
        await client.post("/api/v1/flows", json=PIPELINE)
        await client.post("/api/v1/flows", json={**SLOW, "execution": {"concurrency": 1}})
        bp = (
            await client.post(
                "/api/v1/breakpoints", json={"flow_id": "pipeline", "routine_id": "adults"}
            )
        ).json()
        done = (
            await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 5}})
        ).json()
        await client.delete(f"/api/v1/breakpoints/{bp['breakpoint_id']}")
        # (Finished before the next breakpoint exists: on PostgreSQL a job may start a moment
        # after it is accepted, once it holds a run slot, and would stop there too.)
        await finished(client, done["job_id"])
        bp = (
            await client.post(
                "/api/v1/breakpoints", json={"flow_id": "pipeline", "routine_id": "shape"}
            )
        ).json()
        running = (await client.post("/api/v1/flows/slow/execute", json={"data": {}})).json()
        queued = (await client.post("/api/v1/flows/slow/execute", json={"data": {}})).json()
        at_bp = (
            await client.post("/api/v1/flows/pipeline/execute", json={"data": {"age": 9}})
        ).json()
        runtime = runtime_of(client)

        async def settled() -> bool:
            return (await runtime.get_job(running["job_id"])).status == "running" and (
                await runtime.get_job(at_bp["job_id"])
            ).status == "paused"

        await until(settled, timeout=5, interval=0.001, what="one job running, one paused")

    async with make_client(database_url=db_url) as client:
        runtime = runtime_of(client)

        async def resumed_both() -> bool:
            # (On PostgreSQL a job resumes a moment after the start, once it holds a run slot.)
            jobs = [await runtime.get_job(j["job_id"]) for j in (running, at_bp)]
            return all(job.recoveries == 1 for job in jobs)

        await until(resumed_both, timeout=5, what="the running and the paused job resumed")
        await runtime.store.flush()
        flows = (await client.get("/api/v1/flows")).json()
        assert {f["flow_id"] for f in flows["items"]} == {"pipeline", "slow"}
        assert (await client.get(f"/api/v1/breakpoints/{bp['breakpoint_id']}")).status_code == 200
        workers = (await client.get("/api/v1/workers")).json()
        assert workers["total"] == 2
        jobs = {j["job_id"]: j for j in (await client.get("/api/v1/jobs")).json()["items"]}
        assert jobs[done["job_id"]]["status"] == "completed"
        assert jobs[done["job_id"]]["output"] == {"adults.rejected": [{"name": None, "age": 5}]}
        # What was running resumes from its checkpoint; what waited at a breakpoint still waits
        # there, with the same payload; the queued job waits behind the resumed one.
        resumed = jobs[running["job_id"]]
        assert resumed["status"] == "running" and resumed["recoveries"] == 1
        waiting = jobs[at_bp["job_id"]]
        assert waiting["status"] == "paused" and waiting["recoveries"] == 1
        assert waiting["paused_at"]["routine_id"] == "shape"
        assert waiting["paused_at"]["breakpoint_id"] == bp["breakpoint_id"]
        assert jobs[queued["job_id"]]["status"] == "queued"
        answer = await client.post(f"/api/v1/breakpoints/{bp['breakpoint_id']}/resume", json={})
        assert answer.status_code == 200
        assert (await finished(client, at_bp["job_id"]))["status"] == "completed"
        for slow in (running, queued):
            await client.post(f"/api/v1/jobs/{slow['job_id']}/cancel")
            assert (await finished(client, slow["job_id"]))["status"] == "cancelled"
