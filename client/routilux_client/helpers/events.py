"""The live event stream (``WS /api/v1/ws/events``) as an async iterator that survives drops.

Frames are the ``Event`` envelope published in the schema, or control frames
(``{"type": "pong" | "subscribed" | "unsubscribed" | "error", ...}``). After a drop (a network
error, a server restart, or close code 1013 for a subscriber too slow to keep up), the stream
reconnects with ``since=<last id seen>``: the server replays what was missed, so nothing is lost
and nothing comes twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from routilux_client.helpers.connection import RoutiluxClient
from routilux_client.helpers.problems import parse_problem
from routilux_client.models.event import Event
from routilux_client.models.event_type import EventType
from routilux_client.models.problem import Problem

EVENTS_PATH = "/api/v1/ws/events"
CONTROL_TYPES = frozenset({"pong", "subscribed", "unsubscribed", "error"})
TERMINAL_JOB_EVENTS = frozenset(
    {EventType.JOB_COMPLETED, EventType.JOB_FAILED, EventType.JOB_CANCELLED}
)
TRY_AGAIN_LATER = 1013
# Close codes after which the same request can succeed: going away, abnormal closure, server
# error, service restart, try again later, bad gateway. Others (policy violation ...) cannot.
RETRYABLE_CLOSE_CODES = frozenset({1001, 1006, 1011, 1012, 1013, 1014})
# What httpx sends on its own; everything else on the client (the API key ...) goes along.
_TRANSPORT_HEADERS = frozenset(
    {"accept", "accept-encoding", "connection", "content-length", "host", "user-agent"}
)


class StreamError(Exception):
    """The server refused the stream (``problem`` when it said why), or sent an error frame
    (``frame``), or could not be reached again within ``retry_for`` seconds."""

    def __init__(
        self,
        message: str,
        *,
        problem: Problem | None = None,
        frame: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.problem = problem
        self.frame = dict(frame) if frame is not None else None


def events_url(
    base_url: httpx.URL | str,
    *,
    flow_id: str | None = None,
    job_id: str | None = None,
    types: Iterable[str] | None = None,
    since: int | None = None,
) -> str:
    """The stream's ``ws://`` (or ``wss://``) URL on the server at ``base_url``."""
    url = httpx.URL(str(base_url))
    params: dict[str, str] = {}
    if flow_id is not None:
        params["flow_id"] = flow_id
    if job_id is not None:
        params["job_id"] = job_id
    if types:
        params["types"] = ",".join(str(t) for t in types)
    if since is not None:
        params["since"] = str(since)
    scheme = "wss" if url.scheme == "https" else "ws"
    path = url.path.rstrip("/") + EVENTS_PATH
    return str(url.copy_with(scheme=scheme, path=path, params=params))


def stream_headers(headers: httpx.Headers) -> dict[str, str]:
    """The client's own headers (the API key, ...) to send with the WebSocket handshake."""
    return {k: v for k, v in headers.items() if k.lower() not in _TRANSPORT_HEADERS}


def parse_frame(message: str | bytes) -> Event | None:
    """The event in a frame; None for a control frame. An error frame raises ``StreamError``."""
    frame = json.loads(message)
    if not isinstance(frame, dict):
        raise StreamError(f"unexpected frame: {message!r}")
    kind = frame.get("type")
    if kind == "error":
        raise StreamError(f"the server sent an error: {frame}", frame=frame)
    if kind in CONTROL_TYPES:
        return None
    return Event.from_dict(frame)


def refused(error: InvalidStatus) -> StreamError:
    """The ``StreamError`` for a handshake the server answered with an HTTP status."""
    response = error.response
    problem = parse_problem(response.status_code, response.headers, bytes(response.body or b""))
    reason = f"{problem.code}: {problem.detail}" if problem else response.reason_phrase
    return StreamError(
        f"the server refused the event stream ({response.status_code} {reason})", problem=problem
    )


class EventStream:
    """Events matching the filters, live, as an async iterator; use it with ``async with``.

    Entering the ``async with`` opens the connection: every event published from then on will
    come (the server subscribes before it completes the handshake). Without it, the first
    ``anext`` opens it. ``since`` replays stored events after that id first (``since=0``: all
    that are kept). ``last_id`` is the id of the last event received: where a reconnection
    resumes (until an event has come, a reconnection without ``since`` may miss what was
    published while it was down). With ``reconnect`` false, a drop raises ``StreamError``.
    ``reconnects`` counts resumptions. The iteration ends when the server closes normally
    (1000) or the stream is closed.
    """

    def __init__(
        self,
        client: RoutiluxClient,
        *,
        flow_id: str | None = None,
        job_id: str | None = None,
        types: Iterable[EventType | str] | None = None,
        since: int | None = None,
        reconnect: bool = True,
        retry_for: float = 30.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.flow_id = flow_id
        self.job_id = job_id
        self.types = tuple(str(t) for t in types) if types is not None else None
        self.last_id = since
        self.reconnect = reconnect
        self.retry_for = retry_for
        self.open_timeout = open_timeout
        self.reconnects = 0
        self._http = client.get_async_httpx_client()
        self._websocket: ClientConnection | None = None
        self._closed = False
        self._failing_since: float | None = None
        self._delay = 0.0

    def url(self) -> str:
        """Where the next connection goes: the filters, and ``since`` the last event seen."""
        return events_url(
            self._http.base_url,
            flow_id=self.flow_id,
            job_id=self.job_id,
            types=self.types,
            since=self.last_id,
        )

    async def connect(self) -> None:
        """Open the connection if it is not open, retrying for ``retry_for`` seconds."""
        while self._websocket is None:
            if self._closed:
                raise StreamError("the event stream is closed")
            try:
                self._websocket = await ws_connect(
                    self.url(),
                    additional_headers=stream_headers(self._http.headers),
                    open_timeout=self.open_timeout,
                    max_size=None,
                )
            except InvalidStatus as error:
                raise refused(error) from error
            except (OSError, InvalidHandshake) as error:
                if not self.reconnect:
                    raise StreamError(f"cannot open the event stream: {error}") from error
                now = time.monotonic()
                self._failing_since = self._failing_since or now
                if now - self._failing_since > self.retry_for:
                    raise StreamError(
                        f"cannot reach the event stream for {self.retry_for} s: {error}"
                    ) from error
                await asyncio.sleep(self._back_off())
        self._failing_since = None

    async def __anext__(self) -> Event:
        while not self._closed:
            await self.connect()
            assert self._websocket is not None
            try:
                message = await self._websocket.recv()
            except ConnectionClosed as error:
                self._websocket = None
                await self._dropped(error)
                continue
            try:
                event = parse_frame(message)
            except StreamError:
                await self.aclose()
                raise
            if event is None or (self.last_id is not None and event.id <= self.last_id):
                continue
            self.last_id = event.id
            self._delay = 0.0
            return event
        raise StopAsyncIteration

    async def _dropped(self, error: ConnectionClosed) -> None:
        code = error.rcvd.code if error.rcvd is not None else 1006
        if code == 1000:
            self._closed = True
        elif not self.reconnect or code not in RETRYABLE_CLOSE_CODES:
            self._closed = True
            raise StreamError(f"the event stream was closed: {error}") from error
        else:
            self.reconnects += 1
            if code == TRY_AGAIN_LATER and self._delay == 0.0:
                # A reader cut off for being slow resumes at once, once: if it is cut off again
                # before an event comes (a full server also says 1013), it backs off.
                self._delay = 0.05
            else:
                await asyncio.sleep(self._back_off())

    def _back_off(self) -> float:
        """The next wait before reconnecting: 0.1 s, doubling up to 1 s until an event comes."""
        self._delay = min(max(self._delay * 2, 0.1), 1.0)
        return self._delay

    def __aiter__(self) -> Self:
        return self

    async def aclose(self) -> None:
        """Close the connection; iterating afterwards ends at once."""
        self._closed = True
        websocket, self._websocket = self._websocket, None
        if websocket is not None:
            await websocket.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def stream_events(
    client: RoutiluxClient,
    *,
    flow_id: str | None = None,
    job_id: str | None = None,
    types: Iterable[EventType | str] | None = None,
    since: int | None = None,
    reconnect: bool = True,
    retry_for: float = 30.0,
) -> EventStream:
    """``async with stream_events(client, job_id=...) as events: async for event in events``.

    Filters match as on the server: ``types`` is any of the event types, ``since`` replays stored
    events after that id before the live ones. See ``EventStream``.
    """
    return EventStream(
        client,
        flow_id=flow_id,
        job_id=job_id,
        types=types,
        since=since,
        reconnect=reconnect,
        retry_for=retry_for,
    )
