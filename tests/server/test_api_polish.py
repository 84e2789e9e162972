"""What a first hour with the API runs into: every problem of a flow at once, typos in query
strings, a required `data`, an ambiguous entry, WebSocket 404s, metrics labels, examples."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.live import live_server
from tests.server.conftest import PIPELINE, assert_problem
from tests.server.test_metrics import scrape, value

WS_TIMEOUT = 5.0


def app_of(client: httpx.AsyncClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    return app


async def test_every_problem_of_a_flow_is_reported_in_one_answer(
    client: httpx.AsyncClient,
) -> None:
    document = {
        "flow_id": "broken",
        "routines": {
            "shape": {"class": "Mapper", "config": {"mappings": {"name": "user.name"}}},
            "adults": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
        },
        "connections": [
            {"from": "shape.output"},  # no `to`
            {"from": "shape.nope", "to": "adults.input"},  # unknown event
            {"from": "shape.output", "to": "adults.nothere"},  # unknown slot
        ],
    }
    response = await client.post("/api/v1/flows", json=document)
    body = assert_problem(response, 422, "invalid_flow")
    found = {(tuple(e["loc"]), e["type"]) for e in body["errors"]}
    assert found == {
        (("body", "connections", 0, "to"), "missing"),
        (("body", "connections", 1, "from"), "unknown_event"),
        (("body", "connections", 2, "to"), "unknown_slot"),
    }


async def test_an_invalid_routine_hides_no_other_problem(client: httpx.AsyncClient) -> None:
    document = {
        "routines": {
            "shape": {"config": {}},  # no class
            "keep": {"class": "Filter", "config": {"condition": "true"}},
        },
        "connections": [
            {"from": "shape.output", "to": "keep.input"},  # shape's problem is reported once
            {"from": "keep.passed", "to": "keep.bogus"},
        ],
    }
    body = assert_problem(await client.post("/api/v1/flows", json=document), 422, "invalid_flow")
    found = {(tuple(e["loc"]), e["type"]) for e in body["errors"]}
    assert found == {
        (("body", "routines", "shape", "class"), "missing"),
        (("body", "connections", 1, "to"), "unknown_slot"),
    }


@pytest.mark.parametrize(
    ("path", "unknown", "accepted"),
    [
        ("/api/v1/jobs?flow=greet", "flow", "flow_id"),
        ("/api/v1/flows?limt=5", "limt", "limit"),
        ("/api/v1/jobs/job_x?wiat=5", "wiat", None),
        ("/api/v1/breakpoints?flow=greet", "flow", "flow_id"),
        ("/api/v1/health/live?verbose=1", "verbose", None),
        ("/api/v1/routine-types?q=x", "q", None),
    ],
)
async def test_unknown_query_parameters_are_refused_by_name(
    client: httpx.AsyncClient, path: str, unknown: str, accepted: str | None
) -> None:
    response = await client.get(path)
    body = assert_problem(response, 422, "unknown_query_parameter", ["query", unknown])
    assert unknown in body["detail"]
    if accepted is not None:
        assert accepted in body["detail"]


async def test_unknown_query_parameters_on_writes_too(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/flows", json=PIPELINE)).status_code == 201
    response = await client.delete("/api/v1/flows/pipeline?forse=true")
    body = assert_problem(response, 422, "unknown_query_parameter", ["query", "forse"])
    assert "force" in body["detail"]
    assert (await client.get("/api/v1/flows/pipeline")).status_code == 200  # not deleted
    # Known parameters still work, repeated ones too.
    listed = await client.get("/api/v1/jobs?status=queued&status=running&limit=5")
    assert listed.status_code == 200, listed.text


async def test_every_operation_refuses_unknown_query_parameters(
    client: httpx.AsyncClient,
) -> None:
    """One mechanism for all: every operation of the schema answers the same 422."""
    schema = (await client.get("/openapi.json")).json()
    for template, item in schema["paths"].items():
        path = template.replace("{", "").replace("}", "")
        for method, operation in item.items():
            assert "422" in operation["responses"], (method, template)  # declared
            response = await client.request(method.upper(), f"{path}?bogus_param=1")
            assert_problem(response, 422, "unknown_query_parameter", ["query", "bogus_param"])


async def test_execute_requires_data(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/flows", json=PIPELINE)).status_code == 201
    response = await client.post("/api/v1/flows/pipeline/execute", json={})
    assert_problem(response, 422, "validation_error", ["body", "data"])
    response = await client.post("/api/v1/flows/pipeline/execute", json={"data": {}})
    assert response.status_code == 202, response.text


async def test_an_ambiguous_entry_must_be_named(client: httpx.AsyncClient) -> None:
    document: dict[str, Any] = {
        "flow_id": "two-starts",
        "routines": {
            "left": {"class": "Identity"},
            "right": {"class": "Identity"},
        },
    }
    body = assert_problem(
        await client.post("/api/v1/flows", json=document), 422, "invalid_flow", ["body", "entry"]
    )
    assert "left.input" in body["detail"] + str(body["errors"])
    assert "right.input" in str(body["errors"])
    document["entry"] = "right.input"
    assert (await client.post("/api/v1/flows", json=document)).status_code == 201


async def _websocket(app: FastAPI, path: str) -> list[Message]:
    """Open a WebSocket handshake on ``path`` straight on the ASGI app; what the app sent."""
    sent: list[Message] = []
    done = asyncio.Event()
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})

    async def receive() -> Message:
        return await inbox.get()

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "websocket.close" or (
            message["type"] == "websocket.http.response.body" and not message.get("more_body")
        ):
            done.set()

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"x-request-id", b"ws-404-test")],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    await asyncio.wait_for(app(scope, receive, send), WS_TIMEOUT)
    return sent


async def test_websocket_on_an_unknown_path_is_the_404_problem(
    client: httpx.AsyncClient,
) -> None:
    sent = await _websocket(app_of(client), "/api/v1/ws/nothing")
    start = sent[0]
    assert start["type"] == "websocket.http.response.start", sent
    assert start["status"] == 404
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-request-id"] == "ws-404-test"
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert b'"code":"not_found"' in body.replace(b" ", b"")
    # The known path is still a WebSocket.
    stream = await _websocket_accepts(app_of(client))
    assert stream


async def _websocket_accepts(app: FastAPI) -> bool:
    from tests.server.wsclient import connect

    async with connect(app) as ws:
        await ws.send_json({"type": "ping"})
        reply = await ws.receive()
        return bool(reply["type"] == "pong")


async def test_metrics_label_the_schema_and_docs_assets_by_route(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/static/docs/favicon.png")).status_code == 200
    samples = await scrape(client)
    schema = {"method": "GET", "route": "/openapi.json", "status": "200"}
    assert value(samples, "routilux_http_requests_total", **schema) == 1
    static = {"method": "GET", "route": "/static/docs/{path}", "status": "200"}
    assert value(samples, "routilux_http_requests_total", **static) == 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "200"}
    assert value(samples, "routilux_http_requests_total", **unmatched) == 0


async def test_summaries_are_plain_text_and_bodies_have_examples(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    for item in schema["paths"].values():
        for operation in item.values():
            assert "`" not in operation["summary"], operation["summary"]
            for media in operation.get("requestBody", {}).get("content", {}).values():
                assert "example" in media, operation["operationId"]
    # ReDoc builds its menu from the description's headings: plain text there too.
    headings = [line for line in schema["info"]["description"].splitlines() if line[:1] == "#"]
    assert headings and not any("`" in line or "<" in line for line in headings)


def test_websocket_on_an_unknown_path_is_a_404_on_a_live_server(tmp_path: Path) -> None:
    """Through uvicorn: the denial response reaches a real WebSocket client."""
    with live_server(tmp_path) as server:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{server.ws_url}/api/v1/ws/nothing", open_timeout=5).close()
    response = refused.value.response
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = json.loads(bytes(response.body or b""))
    assert body["code"] == "not_found"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_a_document_that_is_not_yaml_is_located_at_the_document(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/flows", content=b"routines: [\n", headers={"Content-Type": "application/yaml"}
    )
    body = assert_problem(response, 422, "invalid_flow", ["body"])
    assert body["detail"].startswith("invalid flow: (document): not valid YAML"), body["detail"]
    assert ": :" not in body["detail"]
