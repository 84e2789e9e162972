"""OpenAPI ``responses`` entries for problems (a route's ``responses=``), so that each route
declares exactly the problem answers it can give."""

from __future__ import annotations

from typing import Any

from routilux.server.errors import PROBLEM_MEDIA_TYPE, TITLES

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

DESCRIPTIONS = {
    401: "Missing or invalid API key.",
    404: "No such resource.",
    409: "The resource's state does not allow this.",
    412: "`If-Match` does not match the current ETag.",
    413: "The body is too large.",
    415: "The body's media type is not accepted.",
    422: "Invalid input; `errors` locates each problem.",
    429: "Too many requests, or the worker's queue is full; see `Retry-After`.",
    503: "Not ready.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Responses for ``statuses``, plus the 401 and 429 that every protected route can give."""
    result: dict[int | str, dict[str, Any]] = {}
    for status in sorted({401, 429, *statuses}):
        entry: dict[str, Any] = {
            "description": DESCRIPTIONS.get(status, TITLES.get(status, "Error")),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
        }
        if status == 429:
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 0},
                }
            }
        result[status] = entry
    return result


def public_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Responses of routes that need no key."""
    return {
        status: {
            "description": DESCRIPTIONS.get(status, TITLES.get(status, "Error")),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
        }
        for status in statuses
    }
