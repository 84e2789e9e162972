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
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any, Self

import httpx
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
    problem = parse_problem(response.status_code, response.headers, response.body or b"")
    reason = f"{problem.code}: {problem.detail}" if problem else response.reason_phrase
    return StreamError(
        f"the server refused the event stream ({response.status_code} {reason})", problem=problem
    )


class EventStream:
    """Events matching the filters, live, as an async iterator; use it with ``async with``.

    ``since`` replays stored events after that id first (``since=0``: all that are kept).
    ``last_id`` is the id of the last event yielded: where a reconnection resumes. With
    ``reconnect`` false, a drop raises ``StreamError`` instead. ``reconnects`` counts resumptions.
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
        self._events = self._run()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        return await anext(self._events)

    async def aclose(self) -> None:
        """Close the connection; iterating afterwards ends at once."""
        await self._events.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def url(self) -> str:
        return events_url(
            self._http.base_url,
            flow_id=self.flow_id,
            job_id=self.job_id,
            types=self.types,
            since=self.last_id,
        )

    async def _run(self) -> AsyncGenerator[Event, None]:
        headers = stream_headers(self._http.headers)
        delay, failing_since = 0.0, None
        while True:
            try:
                async with ws_connect(
                    self.url(),
                    additional_headers=headers,
                    open_timeout=self.open_timeout,
                    max_size=None,
                ) as websocket:
                    delay, failing_since = 0.0, None
                    async for message in websocket:
                        event = parse_frame(message)
                        if event is None or (self.last_id is not None and event.id <= self.last_id):
                            continue
                        self.last_id = event.id
                        yield event
                if not self.reconnect:
                    return
            except InvalidStatus as error:
                raise refused(error) from error
            except ConnectionClosed as error:
                code = error.rcvd.code if error.rcvd is not None else 1006
                if not self.reconnect or code not in RETRYABLE_CLOSE_CODES:
                    raise StreamError(f"the event stream was closed: {error}") from error
                # A subscriber cut off for being slow resumes at once; other drops back off.
                delay = 0.0 if code == TRY_AGAIN_LATER else 0.1
            except (OSError, InvalidHandshake) as error:
                if not self.reconnect:
                    raise StreamError(f"cannot open the event stream: {error}") from error
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > self.retry_for:
                    raise StreamError(
                        f"cannot reach the event stream for {self.retry_for} s: {error}"
                    ) from error
                delay = min(max(delay * 2, 0.1), 2.0)
            self.reconnects += 1
            await asyncio.sleep(delay)


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
