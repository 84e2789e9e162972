"""An in-process WebSocket client: drives the ASGI app directly, on the test's own event loop.

``capacity`` bounds the frames the client holds unread; once full, the app's sends block, as they
would on a socket nobody reads. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypedDict, Unpack
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

TIMEOUT = 5.0


class Closed(Exception):
    """The server closed the connection (or refused the handshake: then ``accepted`` is False)."""

    def __init__(self, code: int, reason: str, *, accepted: bool) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason
        self.accepted = accepted


class ClientOptions(TypedDict, total=False):
    """``WsClient``'s keyword options (``connect`` takes them too)."""

    headers: dict[str, str] | None
    capacity: int | None
    subprotocols: Sequence[str]
    host: str


class WsClient:
    def __init__(
        self,
        app: ASGIApp,
        query: Sequence[tuple[str, str]] = (),
        *,
        headers: dict[str, str] | None = None,
        capacity: int | None = None,
        subprotocols: Sequence[str] = (),
        host: str = "test",
    ) -> None:
        self._app = app
        self._subprotocols = list(subprotocols)
        self._host = host
        self.subprotocol: str | None = None  # the one the server accepted
        self._query = urlencode(list(query))
        self._headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._frames: deque[str] = deque()
        self._room = asyncio.Semaphore(capacity) if capacity else None
        self._changed = asyncio.Event()
        self._accepted = False
        self.closed: Closed | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Start the handshake; raise :class:`Closed` if the server refuses it."""
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("test", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": "/api/v1/ws/events",
            "raw_path": b"/api/v1/ws/events",
            "query_string": self._query.encode(),
            "headers": [(b"host", self._host.encode()), *self._headers],
            "subprotocols": self._subprotocols,
            "state": {},
        }
        self._inbox.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._serve(scope))
        async with asyncio.timeout(TIMEOUT):
            while not self._accepted and self.closed is None:
                await self._wait_change()
        if not self._accepted:
            assert self.closed is not None
            raise self.closed

    async def _serve(self, scope: dict[str, Any]) -> None:
        await self._app(scope, self._inbox.get, self._send)

    async def _send(self, message: Message) -> None:
        if message["type"] == "websocket.accept":
            self._accepted = True
            self.subprotocol = message.get("subprotocol")
        elif message["type"] == "websocket.send":
            if self._room is not None:
                await self._room.acquire()  # a full buffer: the server waits, as on TCP
            self._frames.append(message["text"])
        elif message["type"] == "websocket.close":
            self.closed = Closed(
                message["code"], message.get("reason", ""), accepted=self._accepted
            )
            self._inbox.put_nowait({"type": "websocket.disconnect", "code": message["code"]})
        self._changed.set()

    async def _wait_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame, as JSON; :class:`Closed` once the server has closed and all is read."""
        async with asyncio.timeout(timeout):
            while not self._frames:
                if self.closed is not None:
                    raise self.closed
                await self._wait_change()
        if self._room is not None:
            self._room.release()
        frame: dict[str, Any] = json.loads(self._frames.popleft())
        return frame

    async def closed_with(self, timeout: float = TIMEOUT) -> Closed:
        """Read (and drop) frames until the server closes; return how it closed."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    await self.receive(timeout)
                except Closed as closed:
                    return closed

    async def send_json(self, body: Any) -> None:
        await self.send_text(json.dumps(body))

    async def send_text(self, text: str) -> None:
        await self._inbox.put({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._inbox.put({"type": "websocket.receive", "bytes": data})

    async def request(self, body: Any) -> dict[str, Any]:
        """Send a control message and return the next control frame (events in between skipped)."""
        await self.send_json(body)
        while True:
            frame = await self.receive()
            if "." not in frame["type"]:
                return frame

    async def disconnect(self) -> None:
        """Go away (as a client closing), then wait for the server side to finish."""
        if self.closed is None:
            self._inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await self.finished()

    async def finished(self) -> None:
        assert self._task is not None
        async with asyncio.timeout(TIMEOUT):
            await self._task


@asynccontextmanager
async def connect(
    app: ASGIApp, query: Sequence[tuple[str, str]] = (), **options: Unpack[ClientOptions]
) -> AsyncIterator[WsClient]:
    """A ``WsClient`` (``options`` as its own), connected, and disconnected on exit."""
    client = WsClient(app, query, **options)
    await client.open()
    try:
        yield client
    finally:
        await client.disconnect()
