"""The event stream against a live ``routilux serve``: real sockets, a real client, a real SIGTERM.

Every wait has a timeout; connections go to 127.0.0.1 only, never through a proxy.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.live import LiveServer, Servers, live_servers, stop_server

KEY = "live-secret-key"
TIMEOUT = 20.0
Frame = dict[str, Any]


@asynccontextmanager
async def stream(
    server: LiveServer, query: str = "", headers: dict[str, str] | None = None, **options: Any
) -> AsyncIterator[ClientConnection]:
    url = f"{server.ws_url}/api/v1/ws/events{query}"
    async with connect(
        url,
        additional_headers=headers if headers is not None else server.headers(),
        proxy=None,
        ping_interval=None,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        **options,
    ) as ws:
        yield ws


async def receive(ws: ClientConnection) -> Frame:
    async with asyncio.timeout(TIMEOUT):
        frame: Frame = json.loads(await ws.recv())
    return frame


async def until_completed(ws: ClientConnection, job_id: str) -> list[Frame]:
    frames = []
    while True:
        frame = await receive(ws)
        frames.append(frame)
        if frame["type"] == "job.completed" and frame["job_id"] == job_id:
            return frames


def http(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers(), timeout=TIMEOUT, trust_env=False
    )


# Each test's server, with its own settings: started together before the first test (about 2 s
# each, one after another), handed to the test, which stops it.
@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    options: dict[str, dict[str, Any]] = {
        "keyed": {"api_key": KEY},
        "small_buffer": {
            "env": {
                "ROUTILUX_WS_SEND_BUFFER": str(BUFFER),
                "ROUTILUX_MAX_JOB_INPUT_BYTES": "8000000",
                "ROUTILUX_MAX_BODY_BYTES": "8000000",
            }
        },
        "plain": {},
    }
    with live_servers(tmp_path_factory.mktemp("ws-live"), options) as started:
        yield started


# -- auth --------------------------------------------------------------------------------------


REFUSED = [
    ("", {}),
    ("", {"X-API-Key": "wrong"}),
    (f"?api_key=wrong-{KEY}", {}),
    (f"?job_id=x&api_key={KEY[:-1]}", {}),
]


async def test_a_missing_or_wrong_key_is_refused_in_the_handshake(servers: Servers) -> None:
    with servers.use("keyed") as server:
        for query, headers in REFUSED:
            with pytest.raises(InvalidStatus) as refused:
                async with stream(server, query, headers):
                    pass
            # The handshake itself is refused: no frame, and an empty body that says nothing.
            assert refused.value.response.status_code == 403
            assert not refused.value.response.body
        for query, headers in (("", {"X-API-Key": KEY}), (f"?api_key={KEY}", {})):
            async with stream(server, query, headers) as ws:
                await ws.send(json.dumps({"type": "ping"}))
                assert await receive(ws) == {"type": "pong"}


# -- a client that does not read ---------------------------------------------------------------

# A burst of 500 large events (the Splitter's), then 1500 small ones spread out by the Delay:
# several megabytes, more than the kernel buffers between the server and a client that does not
# read. The buffer (100) is smaller than the burst, but a burst may reach ten times the buffer,
# so a client that reads is never cut off.
BUFFER = 100
BLOB = "x" * 8000
PACED = {
    "flow_id": "paced",
    "routines": {
        "split": {"class": "Splitter"},
        "pace": {"class": "Delay", "config": {"seconds": 0.001}},
    },
    "connections": [{"from": "split.item", "to": "pace.input"}],
}


def unread_socket(server: LiveServer) -> socket.socket:
    """A connected socket with a tiny receive buffer, so that the server's sends back up soon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    port = int(server.base_url.rsplit(":", 1)[1])
    sock.connect(("127.0.0.1", port))
    return sock


async def test_a_client_that_never_reads_is_closed_with_1013_and_slows_nobody(
    servers: Servers,
) -> None:
    with servers.use("small_buffer") as server:
        async with http(server) as client:
            assert (await client.post("/api/v1/flows", json=PACED)).status_code == 201
            query = "?flow_id=paced"
            # No per-message deflate: it would shrink the blobs to almost nothing on the wire.
            async with (
                stream(
                    server, query, sock=unread_socket(server), max_queue=1, compression=None
                ) as stuck,
                stream(server, query, max_size=None, compression=None) as reader,
            ):
                started = time.monotonic()
                items = [f"{n}:{BLOB}" for n in range(500)]
                response = await client.post(
                    "/api/v1/flows/paced/execute", json={"data": {"items": items}}
                )
                assert response.status_code == 202, response.text
                job_id = response.json()["job_id"]
                seen = await until_completed(reader, job_id)
                elapsed = time.monotonic() - started
                job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
                # Only now read what the stuck client was sent, then how it was closed.
                held: list[Frame] = []
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        held.append(await receive(stuck))
            stored = (
                await client.get(f"/api/v1/jobs/{job_id}/events", params={"limit": 1000})
            ).json()
    assert job["status"] == "completed" and elapsed < TIMEOUT
    assert len(seen) > 2000 and [e["id"] for e in seen[:1000]] == [e["id"] for e in stored["items"]]
    assert [e["id"] for e in seen] == sorted({e["id"] for e in seen})
    received = closed.value.rcvd
    assert received is not None and received.code == 1013
    resume = re.fullmatch(r"too slow, events dropped; resume with since=(\d+)", received.reason)
    assert resume is not None
    # What it got is a prefix of the stream, and the reason names the last of it.
    assert 0 < len(held) < len(seen) - BUFFER
    assert held == seen[: len(held)]
    assert int(resume[1]) == held[-1]["id"]


# -- shutdown ----------------------------------------------------------------------------------


async def test_sigterm_closes_connected_clients_with_1001(servers: Servers) -> None:
    with servers.use("plain") as server:
        async with stream(server) as ws, stream(server, "?types=job.completed") as other:
            for client in (ws, other):
                await client.send(json.dumps({"type": "ping"}))
                assert await receive(client) == {"type": "pong"}
            stopping = asyncio.create_task(asyncio.to_thread(stop_server, server, signal.SIGTERM))
            codes = []
            for client in (ws, other):
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(client)
                assert closed.value.rcvd is not None
                codes.append((closed.value.rcvd.code, closed.value.rcvd.reason))
            await stopping
        assert codes == [(1001, "server shutting down")] * 2
        # uvicorn ends by re-raising the signal it handled, after a clean shutdown.
        assert server.process.returncode in (0, -signal.SIGTERM)
        assert "Traceback" not in server.log() and "ERROR" not in server.log(), server.log()
