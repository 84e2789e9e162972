"""The event stream helper: resuming with ``since`` after drops, and refusing what cannot work.

The protocol cases run against a scripted WebSocket server, which can drop a connection exactly
where a test needs it; the last test drops a live one by restarting the server."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from routilux_client.api.flows import create_flow, execute_flow
from routilux_client.helpers import StreamError, connect, stream_events, unwrap
from routilux_client.models import Event, EventType, FlowCreate, JobExecute, JobExecuteData
from tests.live import free_port, start_server, stop_server

KEY = "stream-key"
Script = Callable[[ServerConnection], Awaitable[None]]


def no_data() -> JobExecute:
    """A job on an empty payload (``data`` is required)."""
    return JobExecute(data=JobExecuteData())


def envelope(event_id: int, kind: str = "routine.started") -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": kind,
            "timestamp": "2026-01-01T00:00:00Z",
            "flow_id": "f",
            "job_id": "j",
            "worker_id": "w",
            "routine_id": "r",
            "data": {"n": event_id},
        }
    )


class ScriptedServer:
    """Plays one script per connection, in order, and records each handshake request."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.requests: list[Request] = []
        self.times: list[float] = []
        self.url = ""

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        self.requests.append(connection.request)
        self.times.append(time.monotonic())
        await self.scripts.pop(0)(connection)

    def queries(self) -> list[str]:
        return [r.path.partition("?")[2] for r in self.requests]


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[..., Awaitable[ScriptedServer]]]:
    servers = []

    async def start(*scripts: Script, refuse: Response | None = None) -> ScriptedServer:
        fake = ScriptedServer(*scripts)

        def process_request(connection: ServerConnection, request: Request) -> Response | None:
            return refuse

        server = await serve(fake.handle, "127.0.0.1", 0, process_request=process_request)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        fake.url = f"http://127.0.0.1:{port}"
        return fake

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def collect(url: str, **filters: Any) -> tuple[list[int], int]:
    async with connect(url, KEY) as client:
        async with stream_events(client, **filters) as stream:
            async with asyncio.timeout(10):
                ids = [event.id async for event in stream]
            return ids, stream.reconnects


async def test_resumes_with_since_after_1013_and_after_an_abnormal_drop(
    scripted: Callable[..., Awaitable[ScriptedServer]],
) -> None:
    async def too_slow(ws: ServerConnection) -> None:
        for n in (1, 2, 3):
            await ws.send(envelope(n))
        await ws.send(json.dumps({"type": "pong"}))
        await ws.close(1013, "too slow, events dropped; resume with since=3")

    async def vanishes(ws: ServerConnection) -> None:
        await ws.send(envelope(3))  # a duplicate is skipped
        await ws.send(envelope(4))
        await asyncio.sleep(0.05)
        ws.transport.abort()  # no close frame: 1006

    async def finishes(ws: ServerConnection) -> None:
        await ws.send(envelope(5, "job.completed"))
        await ws.close(1000)

    fake = await scripted(too_slow, vanishes, finishes)
    ids, reconnects = await collect(fake.url, flow_id="f", types=[EventType.ROUTINE_STARTED])
    assert ids == [1, 2, 3, 4, 5] and reconnects == 2
    assert fake.queries() == [
        "flow_id=f&types=routine.started",
        "flow_id=f&types=routine.started&since=3",
        "flow_id=f&types=routine.started&since=4",
    ]
    assert all(r.headers["X-API-Key"] == KEY for r in fake.requests)


async def test_a_server_saying_1013_at_once_again_and_again_is_not_hammered(
    scripted: Callable[..., Awaitable[ScriptedServer]],
) -> None:
    async def full(ws: ServerConnection) -> None:
        await ws.close(1013, "too many connections")

    async def finishes(ws: ServerConnection) -> None:
        await ws.send(envelope(1))
        await ws.close(1000)

    fake = await scripted(full, full, full, finishes)
    ids, reconnects = await collect(fake.url)
    assert ids == [1] and reconnects == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(fake.times)]
    assert gaps[1] >= 0.1 and gaps[2] >= 0.2


async def test_a_refused_handshake_raises_with_the_problem(
    scripted: Callable[..., Awaitable[ScriptedServer]],
) -> None:
    problem = {
        "type": "urn:routilux:problem:unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": "send a valid X-API-Key",
        "instance": "/api/v1/ws/events",
        "code": "unauthorized",
        "request_id": "r1",
    }
    body = json.dumps(problem).encode()
    headers = Headers(
        [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))]
    )
    fake = await scripted(refuse=Response(HTTPStatus.UNAUTHORIZED, "Unauthorized", headers, body))
    with pytest.raises(StreamError, match="401") as raised:
        await collect(fake.url)
    assert raised.value.problem is not None and raised.value.problem.code == "unauthorized"


async def test_an_error_frame_or_a_policy_close_is_not_retried(
    scripted: Callable[..., Awaitable[ScriptedServer]],
) -> None:
    async def bad_filter(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "error", "code": "invalid_query", "message": "no"}))
        await ws.close(1008, "no")

    async def policy(ws: ServerConnection) -> None:
        await ws.close(1008, "too many invalid messages")

    fake = await scripted(bad_filter, policy)
    with pytest.raises(StreamError) as raised:
        await collect(fake.url, types=["nope"])
    assert raised.value.frame == {"type": "error", "code": "invalid_query", "message": "no"}
    with pytest.raises(StreamError, match="1008"):
        await collect(fake.url)
    assert len(fake.requests) == 2


async def test_without_reconnect_a_drop_raises(
    scripted: Callable[..., Awaitable[ScriptedServer]],
) -> None:
    async def drops(ws: ServerConnection) -> None:
        await ws.send(envelope(1))
        await ws.close(1011, "internal error")

    fake = await scripted(drops)
    seen: list[Event] = []
    async with connect(fake.url) as client:
        with pytest.raises(StreamError, match="1011"):
            async for event in stream_events(client, reconnect=False):
                seen.append(event)
    assert [e.id for e in seen] == [1]


async def test_an_unreachable_server_gives_up_after_retry_for() -> None:
    async with connect(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(StreamError, match="cannot reach"):
            async with asyncio.timeout(5):
                async with stream_events(client, retry_for=0.3):
                    pass


async def test_a_live_stream_survives_a_server_restart(tmp_path: Path) -> None:
    port = free_port()
    server = start_server(tmp_path, api_key=KEY, port=port)
    body = FlowCreate.from_dict(
        {"flow_id": "restarted", "routines": {"only": {"class": "Identity"}}}
    )
    seen: list[Event] = []

    async def until_finished(stream: AsyncIterator[Event]) -> str:
        async for event in stream:
            seen.append(event)
            if event.type_ == EventType.JOB_COMPLETED:
                return event.job_id or ""
        raise AssertionError("the stream ended")

    try:
        async with connect(server.base_url, KEY) as client:
            unwrap(await create_flow.asyncio(client=client, body=body))
            async with stream_events(client, flow_id="restarted") as stream:
                first = unwrap(
                    await execute_flow.asyncio("restarted", client=client, body=no_data())
                )
                assert await asyncio.wait_for(until_finished(stream), 10) == first.job_id
                # In threads: the event loop must stay free to answer the closing handshake.
                await asyncio.to_thread(stop_server, server)
                server = await asyncio.to_thread(start_server, tmp_path, api_key=KEY, port=port)
                second = unwrap(
                    await execute_flow.asyncio("restarted", client=client, body=no_data())
                )
                assert await asyncio.wait_for(until_finished(stream), 20) == second.job_id
                assert stream.reconnects >= 1
    finally:
        stop_server(server)
    ids = [e.id for e in seen]
    assert ids == sorted(set(ids))
    second_types = [e.type_ for e in seen if e.job_id == second.job_id]
    assert second_types[0] == EventType.JOB_QUEUED
