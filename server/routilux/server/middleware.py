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

import base64
import binascii
import hmac
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from routilux.server.errors import problem_response
from routilux.server.logs import log_request
from routilux.server.metrics import UNMATCHED, Metrics
from routilux.server.ratelimit import RateLimit, address_identity, key_identity
from routilux.server.settings import is_loopback

log = logging.getLogger("routilux.server")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: What a browser offers as a WebSocket subprotocol to carry its key (docs/events.md, Auth): the
#: key in base64url without padding, as Kubernetes carries a bearer token.
KEY_SUBPROTOCOL = "routilux.key."
#: Host names accepted with keys unset, besides ROUTILUX_ALLOWED_HOSTS (any port; and any
#: loopback address).
LOOPBACK_NAMES = frozenset({"localhost"})
PUBLIC_PREFIXES = ("/api/v1/health/", "/docs", "/redoc", "/openapi.json", "/static/", "/ui/")


class BodyTooLarge(Exception):
    pass


class ProblemAnswer(NamedTuple):
    """A problem the gate answers with itself (a refusal, 413, the last-resort 500)."""

    status: int
    code: str
    detail: str
    headers: dict[str, str] | None = None


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
    3. **The key** (``_supplied_key``): ``X-API-Key`` or ``Authorization: Bearer``; a WebSocket may
       offer it as a subprotocol, or (old clients) as an ``api_key`` query parameter, which is
       taken out of the query string before anything logs it.
    4. **Loopback only, without keys** (``_address_refusal``, ``_host_refusal``): the local
       address the connection arrived on, then the ``Host`` and ``Origin`` names.
    5. **Rate limit** (``_rate_limit_refusal``): per matched key, else per client address; public
       paths are not limited.
    6. **Auth** (``_auth_refusal``): 401, or a refused WebSocket handshake; public paths pass.
    7. **Body size, request id header, last-resort 500** (``_serve_http``, HTTP only): 413 on a
       ``Content-Length`` or on received bytes over the bound; ``X-Request-ID`` on the response;
       an unhandled error is logged and answered with the 500 problem, if nothing was sent yet.
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
        self.allowed_hosts = frozenset(_bare(host.strip().lower()) for host in allowed_hosts)
        self.local_names = LOOPBACK_NAMES | self.allowed_hosts
        self._served_host: str | None = None
        self._served_address: str | None = None
        self._warned_address = False

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
        key = _supplied_key(scope, headers)

        if not self.api_keys:
            refusal = self._address_refusal(scope) or self._host_refusal(headers)
            if refusal is not None:
                await self._refuse(scope, send, request_id, refusal)
                return

        index = self._match(key)
        public = scope["path"].startswith(PUBLIC_PREFIXES)
        limited = self.rate_limit is not None and not public
        identity = ""
        if limited or websocket:  # who the caller is: the rate limit and WebSocket slots ask
            identity = (
                key_identity(index) if index is not None else address_identity(_client(scope))
            )
            scope["state"]["identity"] = identity

        refusal = self._rate_limit_refusal(identity) if limited else None
        if refusal is not None:
            await self._refuse(scope, send, request_id, refusal)
            return

        refusal = self._auth_refusal(key, index, public)
        if refusal is not None:
            if websocket:
                # Refuse the handshake itself: nothing about any job or flow is sent.
                await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
            else:
                await self._problem(scope, send, request_id, refusal)
            return

        if websocket:
            await self.app(scope, receive, send)
        else:
            await self._serve_http(scope, receive, send, headers, request_id, answer)

    def _rate_limit_refusal(self, identity: str) -> ProblemAnswer | None:
        """429 with ``Retry-After`` once the caller has used its burst.

        Before auth: a caller without a valid key is limited by its address, so guessing keys
        (or sending a new one each time) is limited like anything else."""
        assert self.rate_limit is not None
        wait = self.rate_limit.take(identity)
        if wait <= 0:
            return None
        retry = str(max(1, int(wait + 0.999)))
        return ProblemAnswer(
            429, "rate_limited", "too many requests; slow down", {"Retry-After": retry}
        )

    def _auth_refusal(
        self, key: str | None, index: int | None, public: bool
    ) -> ProblemAnswer | None:
        """401 when keys are set, the path is not public and no configured key was supplied."""
        if not self.api_keys or public or index is not None:
            return None
        detail = "a valid X-API-Key header is required"
        if key is not None:
            detail = "the X-API-Key header does not hold a valid key"
        return ProblemAnswer(
            401,
            "unauthorized",
            detail,
            {"WWW-Authenticate": 'ApiKey realm="routilux", header="X-API-Key"'},
        )

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
                await self._problem(scope, send, request_id, error)

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        detail = f"the body exceeds {self.max_body_bytes} bytes"
        await self._problem(scope, send, request_id, ProblemAnswer(413, "body_too_large", detail))

    def _match(self, key: str | None) -> int | None:
        """The index of the configured key that ``key`` is, or None."""
        if key is None or not self.api_keys:
            return None
        supplied = key.encode()
        # Compare with every key, always, so timing tells nothing about which or how many.
        matched = -1
        for index, expected in enumerate(self.api_keys):
            if hmac.compare_digest(supplied, expected):
                matched = index
        return matched if matched >= 0 else None

    def _address_refusal(self, scope: Scope) -> ProblemAnswer | None:
        """With keys unset, only connections that arrived on a loopback address are served,
        whatever started the app (``uvicorn ... --host 0.0.0.0`` too): the ASGI server puts the
        local address a connection arrived on in ``scope["server"]``."""
        server = scope.get("server")
        if not server:
            return None  # a Unix socket (or no socket at all): local by construction
        address = str(server[0])
        if address == self._served_address:
            return None
        # In process, transports put a name there (httpx's `test`): judged as the Host check
        # judges names. A real socket always gives an address, so names never widen the rule.
        if not is_loopback(address, self.local_names):
            if not self._warned_address:
                self._warned_address = True
                log.warning(
                    "refusing requests arriving on %s: without API keys this server serves "
                    "loopback only. Set ROUTILUX_API_KEYS, or listen on 127.0.0.1",
                    address,
                )
            return ProblemAnswer(
                403,
                "api_keys_required",
                f"this server has no API keys, so it serves only connections to a loopback "
                f"address; this one arrived on {address} (the operator must set "
                "ROUTILUX_API_KEYS, or listen on 127.0.0.1)",
            )
        self._served_address = address  # nearly every request arrives on the same address
        return None

    def _host_refusal(self, headers: dict[str, str]) -> ProblemAnswer | None:
        """With keys unset, a web page must not reach the server through a name of its own
        (DNS rebinding: 421) nor from its own origin (cross-site requests: 403)."""
        raw = headers.get("host", "")
        if raw != self._served_host and not self._allowed(_bare(_host_name(raw))):
            return ProblemAnswer(
                421,
                "host_not_allowed",
                "this server answers to localhost and loopback addresses only, without API "
                "keys (add the name to ROUTILUX_ALLOWED_HOSTS)",
            )
        self._served_host = raw  # nearly every request names the same host: parse it once
        origin = headers.get("origin")
        if origin is not None and not self._allowed(_origin_host(origin)):
            return ProblemAnswer(
                403,
                "origin_not_allowed",
                "requests from web pages of other origins are refused without API keys "
                "(add the name to ROUTILUX_ALLOWED_HOSTS)",
            )
        return None

    def _allowed(self, host: str | None) -> bool:
        return bool(host) and is_loopback(host or "", self.local_names)

    async def _refuse(
        self, scope: Scope, send: Send, request_id: str, answer: ProblemAnswer
    ) -> None:
        """A problem response; to a WebSocket handshake too, where the server can send one."""
        if scope["type"] == "http":
            await self._problem(scope, send, request_id, answer)
            return
        if "websocket.http.response" not in scope.get("extensions", {}):
            close = 1013 if answer.status == 429 else 1008
            await send({"type": "websocket.close", "code": close, "reason": answer.code})
            return
        response = _problem_response(scope, request_id, answer)
        await send(
            {
                "type": "websocket.http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": response.body})

    async def _problem(
        self, scope: Scope, send: Send, request_id: str, answer: ProblemAnswer
    ) -> None:
        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await _problem_response(scope, request_id, answer)(scope, no_body, send)


def _problem_response(scope: Scope, request_id: str, answer: ProblemAnswer) -> Response:
    status, code, detail, headers = answer
    response = problem_response(
        None, status, code, detail, headers=headers, path=scope["path"], request_id=request_id
    )
    response.headers["x-request-id"] = request_id
    return response


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


def _supplied_key(scope: Scope, headers: dict[str, str]) -> str | None:
    """The API key the caller sent, or None: ``X-API-Key``, else ``Authorization: Bearer``; a
    WebSocket handshake may offer it as a subprotocol instead, or in its query string."""
    key = headers.get("x-api-key")
    if key is None and headers.get("authorization", "").startswith("Bearer "):
        # What Prometheus and most HTTP tools can send without extra configuration.
        key = headers["authorization"][len("Bearer ") :]
    if scope["type"] == "websocket":
        offered = _subprotocol_key(scope)
        # Taken out of the query string before anything logs it (uvicorn's handshake lines show
        # the path with its query) or reads it.
        queried = _pop_query_param(scope, "api_key")
        if key is None:
            key = offered if offered is not None else queried
    return key


def _pop_query_param(scope: Scope, name: str) -> str | None:
    """Take ``name`` out of the scope's query string; its first value, or None."""
    raw: bytes = scope.get("query_string", b"")
    if name.encode() not in raw:
        return None
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    values = [value for key, value in pairs if key == name]
    if not values:
        return None
    scope["query_string"] = urlencode([(k, v) for k, v in pairs if k != name]).encode("latin-1")
    return values[0]


def _subprotocol_key(scope: Scope) -> str | None:
    """The key a browser offered as a ``routilux.key.<base64url>`` subprotocol, or None."""
    for offered in scope.get("subprotocols", ()):
        if offered.startswith(KEY_SUBPROTOCOL):
            encoded = offered[len(KEY_SUBPROTOCOL) :]
            try:
                decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
                return decoded.decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return ""  # offered, but not a key: refused like any wrong key
    return None


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8000`` -> ``[::1]``."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else ""
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


def _bare(host: str) -> str:
    """An IPv6 literal without its brackets, as ipaddress and urlsplit have it."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _origin_host(origin: str) -> str | None:
    try:
        return urlsplit(origin.strip()).hostname
    except ValueError:
        return None


def _client(scope: Scope) -> str:
    client: Any = scope.get("client")
    return str(client[0]) if client else "unknown"
