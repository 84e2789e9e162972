"""list_job_logs: what routine code logged during a job, per job, bounded, kept across restarts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from routilux.server.logs import events_log
from tests.server.conftest import ON_BOTH_DATABASES, AppFactory, assert_problem, finished

pytestmark = ON_BOTH_DATABASES

talk_log = logging.getLogger("tests.joblogs")


class Talker(Routine[RoutineConfig]):
    """Logs from a thread, with arguments, then a warning."""

    type_name = "Talker"

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        for item in inputs.items:
            talk_log.debug("got %s", item.payload)
            talk_log.warning("careful with %s", item.payload.get("name"))
            ctx.emit("output", item.payload)


class Flaky(Routine[RoutineConfig]):
    """Fails its first attempt of each activation (logging the error), succeeds on the retry."""

    type_name = "Flaky"

    async def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        if ctx.attempt == 1:
            try:
                raise ValueError("not yet")
            except ValueError:
                talk_log.exception("attempt %d failed", ctx.attempt)
                raise
        talk_log.info("attempt %d worked", ctx.attempt)
        ctx.emit("output", {"ok": True})


class Flood(Routine[RoutineConfig]):
    """Logs many lines, inline on the event loop."""

    type_name = "Flood"
    inline = True

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        for number in range(20):
            talk_log.info("line %d", number)
        ctx.emit("output", {})


TALK = {
    "flow_id": "talk",
    "routines": {
        "talker": {"class": "Talker"},
        "flaky": {
            "class": "Flaky",
            "error_handler": {"strategy": "retry", "max_retries": 2, "retry_delay": 0.01},
        },
    },
    "connections": [{"from": "talker.output", "to": "flaky.input"}],
}
FLOOD = {"flow_id": "flood", "routines": {"flood": {"class": "Flood"}}}


@pytest.fixture(autouse=True)
def verbose() -> Iterator[None]:
    """The routines' logger at debug, whatever the root logger's level."""
    before = talk_log.level
    talk_log.setLevel(logging.DEBUG)
    yield
    talk_log.setLevel(before)


async def run(client: Any, flow: dict[str, Any], data: dict[str, Any]) -> str:
    if (await client.get(f"/api/v1/flows/{flow['flow_id']}")).status_code == 404:
        assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
    response = await client.post(f"/api/v1/flows/{flow['flow_id']}/execute", json={"data": data})
    job_id: str = response.json()["job_id"]
    assert (await finished(client, job_id))["status"] == "completed"
    return job_id


async def test_lines_name_routine_activation_and_attempt(make_client: AppFactory) -> None:
    async with make_client(routine_modules=[__name__]) as client:
        job_id = await run(client, TALK, {"name": "Ada"})
        other = await run(client, TALK, {"name": "Bob"})
        response = await client.get(f"/api/v1/jobs/{job_id}/logs")
        assert response.status_code == 200, response.text
        page = response.json()
        lines = [
            (i["routine_id"], i["activation"], i["attempt"], i["level"], i["message"])
            for i in page["items"]
        ]
        assert lines == [
            ("talker", 1, 1, "debug", "got {'name': 'Ada'}"),
            ("talker", 1, 1, "warning", "careful with Ada"),
            ("flaky", 1, 1, "error", "attempt 1 failed"),
            ("flaky", 1, 2, "info", "attempt 2 worked"),
        ]
        first = page["items"][0]
        assert first["job_id"] == job_id and first["logger"] == "tests.joblogs"
        assert first["time"].endswith("Z") and first["exception"] is None
        assert "ValueError: not yet" in page["items"][2]["exception"]
        assert page["next_after"] is None
        ids = [i["id"] for i in page["items"]]
        assert ids == sorted(ids)
        # Each job sees only its own lines, and the engine's event lines are not among them.
        theirs = (await client.get(f"/api/v1/jobs/{other}/logs")).json()["items"]
        assert "careful with Bob" in [i["message"] for i in theirs]
        assert all(i["job_id"] == other for i in theirs)
        assert all(not i["logger"].startswith("routilux.") for i in theirs)
        # level is a minimum; after and limit page.
        warnings = (await client.get(f"/api/v1/jobs/{job_id}/logs?level=warning")).json()
        assert [i["level"] for i in warnings["items"]] == ["warning", "error"]
        head = (await client.get(f"/api/v1/jobs/{job_id}/logs?limit=2")).json()
        assert [i["id"] for i in head["items"]] == ids[:2] and head["next_after"] == ids[1]
        rest = (await client.get(f"/api/v1/jobs/{job_id}/logs?after={ids[1]}")).json()
        assert [i["id"] for i in rest["items"]] == ids[2:]


async def test_unknown_job_and_bad_parameters(make_client: AppFactory) -> None:
    async with make_client() as client:
        assert_problem(await client.get("/api/v1/jobs/nope/logs"), 404, "job_not_found")
        bad = await client.get("/api/v1/jobs/nope/logs?level=loud")
        assert_problem(bad, 422, "validation_error", ["query", "level"])
        bad = await client.get("/api/v1/jobs/nope/logs?limit=0")
        assert_problem(bad, 422, "validation_error", ["query", "limit"])


async def test_lines_beyond_the_bound_are_counted_not_kept(make_client: AppFactory) -> None:
    async with make_client(routine_modules=[__name__], logs_per_job=5) as client:
        job_id = await run(client, FLOOD, {})
        items = (await client.get(f"/api/v1/jobs/{job_id}/logs")).json()["items"]
        assert [i["message"] for i in items[:5]] == [f"line {n}" for n in range(5)]
        assert len(items) == 6
        last = items[-1]
        assert last["level"] == "warning" and last["routine_id"] is None
        assert last["message"].startswith("15 more log lines were dropped")


async def test_lines_outside_routines_are_not_captured(make_client: AppFactory) -> None:
    async with make_client(routine_modules=[__name__]) as client:
        job_id = await run(client, FLOOD, {})
        events_log.warning("not a routine's line")
        talk_log.warning("nor this one")
        await asyncio.sleep(0)
        items = (await client.get(f"/api/v1/jobs/{job_id}/logs")).json()["items"]
        assert len(items) == 20
        assert "nor this one" not in [i["message"] for i in items]


async def test_restart_keeps_the_lines(make_client: AppFactory) -> None:
    async with make_client(routine_modules=[__name__]) as client:
        job_id = await run(client, TALK, {"name": "Ada"})
        before = (await client.get(f"/api/v1/jobs/{job_id}/logs")).json()
    async with make_client(routine_modules=[__name__]) as client:
        after = (await client.get(f"/api/v1/jobs/{job_id}/logs")).json()
        assert after == before and len(after["items"]) == 4
