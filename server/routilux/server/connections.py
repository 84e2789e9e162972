"""Bounds on connections, below the app: header size, header-read time, connections open.

uvicorn's httptools protocol keeps whatever a client sends as headers, for as long as it takes
to send them, and accepts every connection: a few 100 MB headers, or thousands of connections
that never finish a request, took the server down. These subclasses of uvicorn's own protocols
bound each of them where the bytes arrive, before any of it reaches the app:

- the request line and headers of one request: ``max_header_bytes`` (431, then closed);
- the time from a connection's start, or a request's first byte, to its last header byte:
  ``header_timeout`` (408 if part of a request came, then closed);
- the time from a request's last header byte to its last body byte: ``body_timeout`` (408 if
  no response has started, then closed), so a body sent a byte at a time holds nothing for long;
- connections open in all and from one client address (IPv6: one /64): ``max_connections`` and
  ``max_connections_per_client`` (503 with ``Retry-After``, then closed). A WebSocket keeps the
  slot of the connection it was upgraded from until it closes.

Headers that are complete are measured exactly (the request target plus each header's name and
value); headers still arriving are measured per read (at most 256 KiB), so the server holds at
most ``max_header_bytes`` plus one read of a request that never ends its headers.

The two timeouts are deadlines that each connection writes down (a number, per request) and one
:class:`Deadlines` sweep checks for every open connection a few times per timeout: a timer armed
and cancelled twice per request took more of a small request's time than the bounds themselves.
A timeout is answered no sooner than it is due, and at most one tick (a tenth of the shorter
timeout, between 0.05 and 1 s) later.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import httptools
from uvicorn._types import ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from routilux.jsonutil import dumps
from routilux.server.ratelimit import address_identity


class ConnectionSlots:
    """Open connections, in all and per client address."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.open = 0
        self._by_client: dict[str, int] = {}

    def acquire(self, client: str) -> str | None:
        """Take a slot for ``client``; or, when none is left, why not."""
        if self.open >= self.total:
            return f"the server has {self.total} connections open, its most"
        held = self._by_client.get(client, 0)
        if held >= self.per_client:
            return f"this address has {held} connections open, the most one address may"
        self.open += 1
        self._by_client[client] = held + 1
        return None

    def release(self, client: str) -> None:
        self.open -= 1
        held = self._by_client[client] - 1
        if held:
            self._by_client[client] = held
        else:
            del self._by_client[client]

    def held_by(self, client: str) -> int:
        return self._by_client.get(client, 0)


class BoundedConfig(Config):
    """uvicorn's configuration plus the bounds its protocols below read."""

    def __init__(
        self,
        app: Any,
        *,
        max_header_bytes: int,
        header_timeout: float,
        body_timeout: float,
        max_connections: int,
        max_connections_per_client: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, http=BoundedHttpProtocol, ws=BoundedWebSocketProtocol, **kwargs)
        self.max_header_bytes = max_header_bytes
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.slots = ConnectionSlots(max_connections, max_connections_per_client)
        self.deadlines = Deadlines(sweep_tick(header_timeout, body_timeout))


def sweep_tick(header_timeout: float, body_timeout: float) -> float:
    """Seconds between two sweeps: a tenth of the shorter timeout, between 0.05 and 1 s."""
    return min(max(min(header_timeout, body_timeout) / 10, 0.05), 1.0)


class Timed(Protocol):
    def check_deadlines(self, now: float) -> None:
        """Act on what is due at loop time ``now``."""


class Deadlines:
    """The HTTP connections with a header or body deadline to keep, checked every ``tick``
    seconds by one callback of the loop, which runs while any connection is open."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self._open: set[Timed] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, connection: Timed, loop: asyncio.AbstractEventLoop) -> None:
        self._open.add(connection)
        if self._handle is None or self._loop is not loop:
            self._loop = loop
            self._handle = loop.call_later(self.tick, self._sweep)

    def discard(self, connection: Timed) -> None:
        self._open.discard(connection)

    def _sweep(self) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        for connection in list(self._open):  # a check may close its connection
            connection.check_deadlines(now)
        self._handle = loop.call_later(self.tick, self._sweep) if self._open else None


def _response(status: int, phrase: str, code: str, detail: str, extra: str = "") -> bytes:
    """A whole problem+json response that closes the connection (the app never saw it)."""
    body = dumps(
        {
            "type": f"urn:routilux:problem:{code}",
            "title": phrase,
            "status": status,
            "detail": detail,
            "instance": "/",
            "code": code,
            "request_id": "",
        }
    )
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        f"{extra}"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HeadersRefused(Exception):
    """Raised from a parser callback, once the request has been answered, to stop parsing."""


class BoundedHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, BoundedConfig)
        self.bounds = config
        self.slot: str | None = None  # the client address whose slot this connection holds
        self.reading_headers = True
        self.header_bytes = 0
        # Loop times by which the headers, or the body, must have arrived (see Deadlines).
        self.header_deadline: float | None = None
        self.body_deadline: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # An IPv6 client by its /64, which one host commonly holds whole (as the rate limit).
        client = address_identity(self.client[0] if self.client else None)
        refusal = self.bounds.slots.acquire(client)
        if refusal is not None:
            detail = f"{refusal}; try again later"
            transport.write(
                _response(
                    503, "Service Unavailable", "too_many_connections", detail, "retry-after: 1\r\n"
                )
            )
            transport.close()
            return
        self.slot = client
        self._start_header_clock()
        self.bounds.deadlines.add(self, self.loop)

    def connection_lost(self, exc: Exception | None) -> None:
        self.bounds.deadlines.discard(self)
        self._release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading_headers:
            self.header_bytes += len(data)
        # uvicorn's own data_received, but for a request refused from a callback: answered
        # already, it is no "invalid HTTP request" to log and answer with a 400 as well.
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, HeadersRefused):
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        if (
            self.reading_headers
            and self.header_bytes > self.bounds.max_header_bytes
            and not self.transport.is_closing()
        ):
            self._too_large()

    # parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_headers = True
        if self.header_deadline is None:  # the clock runs from the request's first byte
            self._start_header_clock()

    def on_headers_complete(self) -> None:
        self.reading_headers = False
        self.header_bytes = 0
        self.header_deadline = None
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.bounds.max_header_bytes:
            self._too_large()
            raise HeadersRefused
        super().on_headers_complete()
        if not self.parser.should_upgrade():
            self.body_deadline = self.loop.time() + self.bounds.body_timeout

    def on_message_complete(self) -> None:
        self.body_deadline = None
        super().on_message_complete()
        # Whatever comes next on this connection is the next request's line and headers.
        self.reading_headers = True

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        self.bounds.deadlines.discard(self)  # no more HTTP requests on this connection
        # The WebSocket protocol now owns the connection: it keeps the slot until it closes.
        protocol = self.transport.get_protocol()
        if isinstance(protocol, BoundedWebSocketProtocol):
            protocol.slot, protocol.slots = self.slot, self.bounds.slots
            self.slot = None

    # the bounds

    def _start_header_clock(self) -> None:
        self.header_deadline = self.loop.time() + self.bounds.header_timeout

    def check_deadlines(self, now: float) -> None:
        """Answer a request whose headers or body are past due (called by Deadlines)."""
        if self.header_deadline is not None and now >= self.header_deadline:
            self.header_deadline = None
            self._header_timeout()
        if self.body_deadline is not None and now >= self.body_deadline:
            self.body_deadline = None
            self._body_timeout()

    def _header_timeout(self) -> None:
        if self.transport.is_closing() or not self.reading_headers:
            return
        if self.header_bytes == 0:
            self.transport.close()  # nothing of a request came: nobody to answer
            return
        detail = f"the request's headers did not arrive within {self.bounds.header_timeout} s"
        self._refuse(_response(408, "Request Timeout", "header_timeout", detail))

    def _too_large(self) -> None:
        detail = f"the request line and headers exceed {self.bounds.max_header_bytes} bytes"
        self._refuse(_response(431, "Request Header Fields Too Large", "headers_too_large", detail))

    def _body_timeout(self) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # answered already (a 413, say): only the connection goes
            return
        detail = f"the request's body did not arrive within {self.bounds.body_timeout} s"
        self._refuse(_response(408, "Request Timeout", "body_timeout", detail))

    def _refuse(self, response: bytes) -> None:
        self.header_deadline = self.body_deadline = None
        self.transport.write(response)
        self.transport.close()

    def _release(self) -> None:
        if self.slot is not None:
            self.bounds.slots.release(self.slot)
            self.slot = None


class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, giving back its connection's slot when it closes."""

    slot: str | None = None
    slots: ConnectionSlots | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.slot is not None and self.slots is not None:
            self.slots.release(self.slot)
            self.slot = None
        super().connection_lost(exc)

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            # A denial response (401, 404, 429 to a handshake) answers the handshake; uvicorn
            # would otherwise log an error that the app "returned without completing" it.
            self.handshake_complete = True
