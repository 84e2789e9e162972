"""Log lines: one per request with its request id, and engine lines that name job and routine."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from routilux.server.logs import configure_logging
from tests.live import live_server
from tests.server.conftest import PIPELINE, AppFactory, finished

chatty_log = logging.getLogger("tests.chatty")


class ChattySync(Routine[RoutineConfig]):
    """Logs from its own code, in the thread pool."""

    type_name = "ChattySync"

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        chatty_log.info("hello from a thread")
        ctx.emit("output", inputs.payload)


class ChattyInline(Routine[RoutineConfig]):
    """Logs from its own code, run inline on the event loop (no thread, no task)."""

    type_name = "ChattyInline"
    inline = True

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        chatty_log.info("hello from inline")
        ctx.emit("output", inputs.payload)


class ChattyAsync(Routine[RoutineConfig]):
    """Logs from its own code, on the event loop."""

    type_name = "ChattyAsync"

    async def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        chatty_log.info("hello from the loop")
        ctx.emit("output", inputs.payload)


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        """Every line, parsed: each one must be a JSON object."""
        return [json.loads(line) for line in self.lines()]


@pytest.fixture
def capture_logs() -> Iterator[Any]:
    """``capture_logs(json=...)`` sends the process's log lines to a buffer for one test."""
    root = logging.getLogger()
    level = root.level
    handlers: list[logging.Handler] = []

    def start(*, json: bool, level: str = "info") -> Captured:
        stream = io.StringIO()
        handlers.append(configure_logging(level, json=json, stream=stream))
        return Captured(stream)

    try:
        yield start
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


async def test_json_request_lines_carry_request_id_route_status_duration(
    client: httpx.AsyncClient, capture_logs: Any
) -> None:
    logs = capture_logs(json=True)
    responses = [
        await client.get("/api/v1/health/live", headers={"X-Request-Id": "req-given-1"}),
        await client.post("/api/v1/flows", json=PIPELINE),
        await client.get("/api/v1/jobs/job_missing"),
        await client.get("/nowhere"),
    ]
    records = logs.records()
    requests = [r for r in records if r["logger"] == "routilux.access"]
    assert len(requests) == len(responses)  # one line per request, no more
    for record, response in zip(requests, responses, strict=True):
        assert record["request_id"] == response.headers["x-request-id"]
        assert record["method"] == response.request.method
        assert record["path"] == response.request.url.path
        assert record["status"] == response.status_code
        assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
        assert record["level"] == "info" and record["time"].endswith("Z")
    assert requests[0]["request_id"] == "req-given-1"
    assert [r["route"] for r in requests] == [
        "/api/v1/health/live",
        "/api/v1/flows",
        "/api/v1/jobs/{job_id}",
        "unmatched",
    ]
    assert [r["status"] for r in requests] == [200, 201, 404, 404]


async def test_text_request_line_is_readable(client: httpx.AsyncClient, capture_logs: Any) -> None:
    logs = capture_logs(json=False)
    response = await client.get("/api/v1/health/live")
    (line,) = [line for line in logs.lines() if " routilux.access " in line]
    assert " INFO routilux.access GET /api/v1/health/live 200 " in line
    assert f"request_id={response.headers['x-request-id']}" in line
    assert "route=/api/v1/health/live" in line


async def test_engine_lines_name_the_job_and_routine(
    client: httpx.AsyncClient, capture_logs: Any
) -> None:
    logs = capture_logs(json=True)
    flaky = {
        "flow_id": "flaky",
        "routines": {
            "boom": {
                "class": "Fail",
                "config": {"message": "not yet", "times": 1},
                "error_handler": {"strategy": "retry", "max_retries": 1, "retry_delay": 0},
            },
            "last": {"class": "Fail", "config": {"message": "never"}},
        },
        "connections": [{"from": "boom.output", "to": "last.input"}],
    }
    assert (await client.post("/api/v1/flows", json=flaky)).status_code == 201
    response = await client.post("/api/v1/flows/flaky/execute", json={"data": {}})
    job_id = response.json()["job_id"]
    assert (await finished(client, job_id))["status"] == "failed"

    events = {r["event"]: r for r in logs.records() if r["logger"] == "routilux.events"}
    retrying = events["routine.retrying"]
    assert (retrying["job_id"], retrying["routine_id"], retrying["level"]) == (
        job_id,
        "boom",
        "info",
    )
    assert "not yet" in retrying["message"]
    failed = events["routine.failed"]
    assert (failed["job_id"], failed["routine_id"], failed["level"]) == (job_id, "last", "warning")
    job_failed = events["job.failed"]
    assert (job_failed["job_id"], job_failed["flow_id"]) == (job_id, "flaky")
    assert "never" in job_failed["message"]
    assert "job.started" not in events  # routine chatter is debug, below info


async def test_routine_code_lines_name_the_job_and_routine(
    make_client: AppFactory, capture_logs: Any
) -> None:
    logs = capture_logs(json=True)
    flow = {
        "flow_id": "chatty",
        "routines": {
            "sync": {"class": "ChattySync"},
            "inline": {"class": "ChattyInline"},
            "loop": {"class": "ChattyAsync"},
        },
        "connections": [
            {"from": "sync.output", "to": "inline.input"},
            {"from": "inline.output", "to": "loop.input"},
        ],
    }
    async with make_client(routine_modules=[__name__]) as client:
        assert (await client.post("/api/v1/flows", json=flow)).status_code == 201
        response = await client.post("/api/v1/flows/chatty/execute", json={"data": {}})
        job_id = response.json()["job_id"]
        assert (await finished(client, job_id))["status"] == "completed"
    chatter = {r["message"]: r for r in logs.records() if r["logger"] == "tests.chatty"}
    for message, routine_id in [
        ("hello from a thread", "sync"),
        ("hello from inline", "inline"),
        ("hello from the loop", "loop"),
    ]:
        assert chatter[message]["job_id"] == job_id
        assert chatter[message]["routine_id"] == routine_id
        assert chatter[message]["flow_id"] == "chatty"
    # Outside a routine nothing is attached.
    access = [r for r in logs.records() if r["logger"] == "routilux.access"]
    assert access and all("job_id" not in r for r in access)


def test_serve_writes_one_json_line_per_request(tmp_path: Path) -> None:
    """``routilux serve``: every line JSON, uvicorn's own access log off (no double lines)."""
    env = {"ROUTILUX_LOG_JSON": "true"}
    with live_server(tmp_path, log_level="info", env=env) as server:
        response = httpx.get(
            f"{server.base_url}/api/v1/health/live", headers={"X-Request-Id": "one-line-please"}
        )
        assert response.status_code == 200
    lines = [line for line in server.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    mine = [r for r in records if "one-line-please" in json.dumps(r)]
    assert len(mine) == 1, lines
    assert mine[0]["logger"] == "routilux.access"
    assert mine[0]["route"] == "/api/v1/health/live"
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
    assert any(r["logger"].startswith("uvicorn") for r in records)  # uvicorn's lines, as JSON
