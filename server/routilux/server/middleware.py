"""The gate every request passes first: request id, auth, rate limit, body size, last-resort 500.

It is plain ASGI (no BaseHTTPMiddleware) so that it costs little per request and sees WebSocket
handshakes too. Auth comes before anything else, routing included: an unauthenticated caller gets
the same 401 for a path that exists and one that does not.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from routilux.server.errors import problem_response
from routilux.server.logs import log_request
from routilux.server.metrics import UNMATCHED, Metrics

log = logging.getLogger("routilux.server")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PUBLIC_PREFIXES = ("/api/v1/health/", "/docs", "/redoc", "/openapi.json", "/static/", "/ui/")


class BodyTooLarge(Exception):
    pass


class TokenBucket:
    """Per-caller token buckets for the request rate limit."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, caller: str) -> float:
        """Take a token; return 0 if allowed, else seconds until one is available."""
        now = time.monotonic()
        tokens, stamp = self._buckets.get(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        if tokens >= 1:
            self._buckets[caller] = (tokens - 1, now)
            return 0.0
        self._buckets[caller] = (tokens, now)
        if len(self._buckets) > 100_000:  # forget idle callers rather than grow without bound
            self._buckets.clear()
        return (1 - tokens) / self.rate


class Gate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: Iterable[str],
        max_body_bytes: int,
        rate_limit: TokenBucket | None,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.api_keys = [key.encode() for key in api_keys]
        self.max_body_bytes = max_body_bytes
        self.rate_limit = rate_limit
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve, then count the request and write its one log line, whatever happened."""
        if scope["type"] != "http":
            await self._serve(scope, receive, send)
            return
        started = time.perf_counter()
        status = 499  # stays so if the client went away before a response started

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._serve(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            # The router leaves the matched route in the scope: label by its template, never by
            # the raw path (one series per route, not per id).
            route = getattr(scope.get("route"), "path_format", None) or UNMATCHED
            method: str = scope["method"]
            if self.metrics is not None:
                self.metrics.observe_request(method, route, status, seconds)
            request_id = scope.get("state", {}).get("request_id", "")
            log_request(request_id, method, route, scope["path"], status, seconds)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        supplied = headers.get("x-request-id", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]

        key = headers.get("x-api-key")
        if key is None and headers.get("authorization", "").startswith("Bearer "):
            # What Prometheus and most HTTP tools can send without extra configuration.
            key = headers["authorization"][len("Bearer ") :]
        if scope["type"] == "websocket" and key is None:
            key = _query_param(scope, "api_key")
        if self.api_keys and not path.startswith(PUBLIC_PREFIXES) and not self._valid(key):
            if scope["type"] == "websocket":
                # Refuse the handshake itself: nothing about any job or flow is sent.
                await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
                return
            detail = "a valid X-API-Key header is required"
            if key is not None:
                detail = "the X-API-Key header does not hold a valid key"
            await self._problem(
                scope,
                send,
                request_id,
                401,
                "unauthorized",
                detail,
                {"WWW-Authenticate": 'ApiKey realm="routilux", header="X-API-Key"'},
            )
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        if self.rate_limit is not None and not path.startswith(PUBLIC_PREFIXES):
            caller = key or _client(scope)
            wait = self.rate_limit.take(caller)
            if wait > 0:
                retry = str(max(1, int(wait + 0.999)))
                await self._problem(
                    scope,
                    send,
                    request_id,
                    429,
                    "rate_limited",
                    "too many requests; slow down",
                    {"Retry-After": retry},
                )
                return

        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(scope, send, request_id)
            return

        started = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, send, request_id)
        except Exception:
            log.exception(
                "unhandled error on %s %s",
                scope.get("method"),
                path,
                extra={"request_id": request_id},
            )
            if not started:
                await self._problem(
                    scope,
                    send,
                    request_id,
                    500,
                    "internal_error",
                    "the server failed to handle this request",
                )

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        detail = f"the body exceeds {self.max_body_bytes} bytes"
        await self._problem(scope, send, request_id, 413, "body_too_large", detail)

    def _valid(self, key: str | None) -> bool:
        if key is None:
            return False
        supplied = key.encode()
        # Compare with every key, always, so timing tells nothing about which or how many.
        matched = False
        for expected in self.api_keys:
            matched |= hmac.compare_digest(supplied, expected)
        return matched

    async def _problem(
        self,
        scope: Scope,
        send: Send,
        request_id: str,
        status: int,
        code: str,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        response = problem_response(
            None, status, code, detail, headers=headers, path=scope["path"], request_id=request_id
        )
        response.headers["x-request-id"] = request_id

        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


def _query_param(scope: Scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


def _client(scope: Scope) -> str:
    client: Any = scope.get("client")
    return str(client[0]) if client else "unknown"
