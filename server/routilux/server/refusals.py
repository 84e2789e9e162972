"""What the gate answers by itself, before or instead of the app: a refusal (401, 403, 421, 429),
413, the last-resort 500; as a problem document, and to a WebSocket handshake as the ASGI server
allows (a problem response with the ``websocket.http.response`` extension, else a close code).
"""

from __future__ import annotations

from typing import NamedTuple

from starlette.responses import Response
from starlette.types import Message, Scope, Send

from routilux.server.errors import problem_response


class ProblemAnswer(NamedTuple):
    """A problem the gate answers with itself (a refusal, 413, the last-resort 500)."""

    status: int
    code: str
    detail: str
    headers: dict[str, str] | None = None


async def refuse(scope: Scope, send: Send, request_id: str, answer: ProblemAnswer) -> None:
    """A problem response; to a WebSocket handshake too, where the server can send one."""
    if scope["type"] == "http":
        await send_problem(scope, send, request_id, answer)
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


async def send_problem(scope: Scope, send: Send, request_id: str, answer: ProblemAnswer) -> None:
    """The problem document of ``answer`` as an HTTP response, with ``X-Request-ID``."""

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
