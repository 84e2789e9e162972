"""HEAD on every GET route: answered as the GET would be (status and headers, Content-Length
included), without the body (RFC 9110 §9.3.2).

FastAPI's routes accept only the methods they declare, so a HEAD is served here as a GET, with
the body left out; the request keeps its method HEAD for the gate's log line and metrics. The
OpenAPI document does not list HEAD operations: HEAD is HTTP's, implied by every GET.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not _has_get(scope):
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        scope["method"] = "GET"
        try:
            await self.app(scope, receive, without_body)
        finally:
            scope["method"] = "HEAD"


def _has_get(scope: Scope) -> bool:
    """Whether some route answers GET at this path (else HEAD gets its 404 or 405, as is)."""
    probe = {**scope, "method": "GET"}
    return any(route.matches(probe)[0] is Match.FULL for route in scope["app"].router.routes)


def with_head(methods: set[str] | None) -> set[str]:
    """A route's methods as its ``Allow`` header names them: HEAD wherever GET is."""
    allowed = set(methods or ())
    return allowed | {"HEAD"} if "GET" in allowed else allowed
