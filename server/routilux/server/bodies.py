"""What a request body may hold, checked for every operation before its route runs.

A body that decodes as JSON is refused with a 422 when it holds values nested deeper than
``max_json_depth``, more than ``max_json_values`` values, a lone surrogate, a non-finite number
(``NaN``, ``Infinity``, or a number too large for a double, such as ``1e400``) or a duplicate key:
each reported at its location (``["body", "data", "a", 0]``), and nothing created. Such values
could not be stored, or read back, or compared the same way by every client; the depth and the
count also bound the memory a small body takes once decoded. A YAML flow document gets the same
check from its route (:func:`check_document`), once decoded.

One mechanism for every operation: an app-wide dependency, as ``strictquery`` has for query
strings. It runs before the route, so nothing is created; FastAPI has decoded a body model by
then, and a body nested beyond the decoder's reach is refused there (``errors``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from routilux.server.errors import ApiError, ProblemError
from routilux.server.jsonio import Refusal, loads, refusals
from routilux.server.settings import Settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def refused(found: list[Refusal]) -> ApiError:
    first = found[0]
    where = ".".join(map(str, ("body", *first.loc)))
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return ApiError(
        422,
        "validation_error",
        f"{where}: {first.msg}{more}",
        errors=[ProblemError(loc=["body", *r.loc], msg=r.msg, type=r.type) for r in found],
    )


def check_document(document: Any, settings: Settings) -> None:
    """Refuse a decoded body (JSON or YAML) that holds what :func:`refusals` finds."""
    found = refusals(
        document, max_depth=settings.max_json_depth, max_values=settings.max_json_values
    )
    if found:
        raise refused(found)


def check_json(body: bytes, settings: Settings) -> None:
    """Refuse a JSON body as :func:`check_document` does; text that is not JSON is left to the
    route, which reports it as it always has."""
    try:
        document = loads(body)
    except RecursionError:
        msg = f"values are nested more than {settings.max_json_depth} deep"
        raise refused([Refusal((), msg, "too_deep")]) from None
    except ValueError:
        return
    check_document(document, settings)


async def check_json_body(connection: HTTPConnection) -> None:
    """An app-wide dependency: refuse a JSON body that holds what :func:`refusals` finds."""
    if not isinstance(connection, Request) or connection.method not in BODY_METHODS:
        return  # a WebSocket handshake, or a request that has no body to check
    request = connection
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return
    body = await request.body()
    if body.strip():
        check_json(body, request.app.state.settings)


CHECK_JSON_BODY = Depends(check_json_body)
