"""The gate every request and WebSocket handshake passes first (``Gate``; its docstring lists its
jobs in the order they run): log line and metrics, request id, the loopback-only rule without
keys, rate limit, auth, body size, last-resort 500.

It is plain ASGI (no BaseHTTPMiddleware, and one layer rather than one per job) so that it costs
little per request and sees WebSocket handshakes too. Auth comes before anything else, routing
included: an unauthenticated caller gets the same 401 for a path that exists and one that does
not. Only the rate limit comes first, keyed on who the caller verifiably is (the matched key, else
the client address), so that neither a flood of wrong keys nor one of varying keys escapes it.

Paths under ``PUBLIC_PREFIXES`` need no key and are not rate limited (health checks, the docs and
their assets, the console's assets): add an entry there for anything else that must load without a
key. The Host check (keys unset) applies to them too, and so does the loopback rule: without keys,
a request that arrived on a non-loopback local address is refused (403 ``api_keys_required``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from routilux.server.apikeys import auth_refusal, match_key, supplied_key
from routilux.server.logs import log_request
from routilux.server.loopback import LoopbackRule
from routilux.server.metrics import UNMATCHED, Metrics
from routilux.server.ratelimit import (
    RateLimit,
    address_identity,
    key_identity,
    rate_limit_refusal,
)
from routilux.server.refusals import ProblemAnswer, refuse, send_problem

log = logging.getLogger("routilux.server")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PUBLIC_PREFIXES = ("/api/v1/health/", "/docs", "/redoc", "/openapi.json", "/static/", "/ui/")


class BodyTooLarge(Exception):
    """Raised from the bounded ``receive`` once the body read so far is over the bound."""


class _Answer:
    """What the gate follows of one request's answer (one object, and one wrapper around
    ``send``, per request)."""

    __slots__ = ("request_id", "started", "status")

    def __init__(self) -> None:
        # Stays so if the client went away before a response (or a handshake answer) started.
        self.status = 499
        self.started = False
        #: Set while the app serves an HTTP request: the header that goes on its response.
        self.request_id: tuple[bytes, bytes] | None = None


class Gate:
    """What every request passes first. Its jobs, in the order they run:

    1. **Log line and metrics** (``__call__``): whatever happens next, one log line per request
       or WebSocket handshake, and one observation for the metrics, labelled by route template.
    2. **Request id** (``_request_id``): the caller's ``X-Request-ID`` when well formed, else a new
       one; kept in the scope's state, and sent back on every answer (step 7 adds the header).
    3. **The key** (:func:`~routilux.server.apikeys.supplied_key`): ``X-API-Key`` or
       ``Authorization: Bearer``; a WebSocket may offer it as a subprotocol, or (old clients) as
       an ``api_key`` query parameter, which is taken out of the query string before anything
       logs it.
    4. **Loopback only, without keys** (:class:`~routilux.server.loopback.LoopbackRule`): the
       local address the connection arrived on, then the ``Host`` and ``Origin`` names.
    5. **Rate limit** (:func:`~routilux.server.ratelimit.rate_limit_refusal`): per matched key,
       else per client address; public paths are not limited.
    6. **Auth** (:func:`~routilux.server.apikeys.auth_refusal`): 401, or a refused WebSocket
       handshake; public paths pass.
    7. **Body size, request id header, last-resort 500** (``_serve_http``, HTTP only): 413 on a
       ``Content-Length`` or on received bytes over the bound; ``X-Request-ID`` on the response;
       an unhandled error is logged and answered with the 500 problem, if nothing was sent yet.

    Each step is a plain call within this one ASGI pass (no layer per step). What the gate
    answers by itself is sent by :mod:`routilux.server.refusals`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: Iterable[str],
        max_body_bytes: int,
        rate_limit: RateLimit | None,
        metrics: Metrics | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.api_keys = [key.encode() for key in api_keys]
        self.max_body_bytes = max_body_bytes
        self.rate_limit = rate_limit
        self.metrics = metrics
        self.loopback = LoopbackRule(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve, then count the request and write its one log line, whatever happened."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = _Answer()
        logged = False

        def observe() -> None:
            nonlocal logged
            if logged:
                return
            logged = True
            seconds = time.perf_counter() - started
            # The router leaves the matched route in the scope: label by its template, never by
            # the raw path (one series per route, not per id).
            route = getattr(scope.get("route"), "path_format", None) or UNMATCHED
            request_id = scope.get("state", {}).get("request_id", "")
            status = answer.status
            if scope["type"] == "websocket":
                # The path only: the query string may have held a key (old clients).
                log_request(request_id, "WS", route, scope["path"], status, seconds)
                return
            method: str = scope["method"]
            if self.metrics is not None:
                self.metrics.observe_request(method, route, status, seconds)
            log_request(request_id, method, route, scope["path"], status, seconds)

        async def send_observed(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                answer.status = message["status"]
                answer.started = True
                if answer.request_id is not None:  # the app's response (step 7)
                    message["headers"] = [*message.get("headers", ()), answer.request_id]
            elif kind == "websocket.http.response.start":
                answer.status = message["status"]
            elif kind == "websocket.accept":
                answer.status = 101
            elif kind == "websocket.close" and answer.status == 499:
                answer.status = 403  # closed before accepting: the handshake is refused
            await send(message)
            if answer.status != 499 and scope["type"] == "websocket":
                observe()  # a WebSocket's line is written once its handshake is answered

        try:
            await self._serve(scope, receive, send_observed, answer)
        finally:
            observe()

    async def _serve(self, scope: Scope, receive: Receive, send: Send, answer: _Answer) -> None:
        """Steps 2 to 7 of the class docstring, in order."""
        headers = _headers(scope)
        request_id = _request_id(scope, headers)
        websocket = scope["type"] == "websocket"
        key = supplied_key(scope, headers)

        if not self.api_keys:
            refusal = self.loopback.address_refusal(scope) or self.loopback.host_refusal(headers)
            if refusal is not None:
                await refuse(scope, send, request_id, refusal)
                return

        index = match_key(self.api_keys, key)
        public = scope["path"].startswith(PUBLIC_PREFIXES)
        rate_limit = None if public else self.rate_limit
        identity = ""
        if rate_limit is not None or websocket:  # who the caller is: rate limit and WS slots ask
            identity = (
                key_identity(index) if index is not None else address_identity(_client(scope))
            )
            scope["state"]["identity"] = identity

        refusal = rate_limit_refusal(rate_limit, identity) if rate_limit is not None else None
        if refusal is not None:
            await refuse(scope, send, request_id, refusal)
            return

        refusal = auth_refusal(self.api_keys, key, index, public)
        if refusal is not None:
            if websocket:
                # Refuse the handshake itself: nothing about any job or flow is sent.
                await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
            else:
                await send_problem(scope, send, request_id, refusal)
            return

        if websocket:
            await self.app(scope, receive, send)
        else:
            await self._serve_http(scope, receive, send, headers, request_id, answer)

    async def _serve_http(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        request_id: str,
        answer: _Answer,
    ) -> None:
        """The app, with the body bounded, ``X-Request-ID`` on the response (added by the
        wrapper ``__call__`` gives ``send``), and the last-resort 500."""
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(scope, send, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        answer.request_id = (b"x-request-id", request_id.encode())
        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            answer.request_id = None  # the gate's own problems carry it already
            if not answer.started:
                await self._too_large(scope, send, request_id)
        except Exception:
            answer.request_id = None
            log.exception(
                "unhandled error on %s %s",
                scope.get("method"),
                scope["path"],
                extra={"request_id": request_id},
            )
            if not answer.started:
                error = ProblemAnswer(
                    500, "internal_error", "the server failed to handle this request"
                )
                await send_problem(scope, send, request_id, error)

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        detail = f"the body exceeds {self.max_body_bytes} bytes"
        answer = ProblemAnswer(413, "body_too_large", detail)
        await send_problem(scope, send, request_id, answer)


#: The request headers the gate reads (ASGI servers give their names in lower case).
_READ = frozenset(
    {b"authorization", b"content-length", b"host", b"origin", b"x-api-key", b"x-request-id"}
)


def _headers(scope: Scope) -> dict[str, str]:
    """The headers the gate reads (``_READ``), decoded; the last one of a name repeated."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _READ}


def _request_id(scope: Scope, headers: dict[str, str]) -> str:
    """The caller's ``X-Request-ID`` when well formed, else a new one; kept in the scope's state
    (the log line and problem documents read it there)."""
    supplied = headers.get("x-request-id", "")
    request_id = supplied if _REQUEST_ID.match(supplied) else new_request_id()
    scope.setdefault("state", {})["request_id"] = request_id
    return request_id


def new_request_id() -> str:
    """A random (version 4) UUID in hex, as ``uuid.uuid4().hex`` writes it, without building a
    ``UUID`` object (which took most of the gate's own time per request)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()


def _client(scope: Scope) -> str:
    client: Any = scope.get("client")
    return str(client[0]) if client else "unknown"
