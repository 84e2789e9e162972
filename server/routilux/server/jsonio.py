"""JSON over HTTP: responses encoded by :mod:`routilux.jsonutil`, and what a body may hold.

:func:`refusals` finds what a request body may not hold (values nested too deeply, lone
surrogates, non-finite numbers, duplicate keys, too many values), each at its location; the
``routilux.server.bodies`` applies it to every body before a route runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse, Response

from routilux import jsonutil
from routilux.jsonutil import LONE_SURROGATE


class FastJSONResponse(JSONResponse):
    """A JSONResponse that renders with :func:`routilux.jsonutil.dumps`."""

    def render(self, content: Any) -> bytes:
        return jsonutil.dumps(content)


class JSONBytes(Response):
    """A response whose JSON is already encoded (a route declares its model for the schema)."""

    media_type = "application/json"

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        # Without headers of its own, the two Starlette would write (in its order), the
        # content type's bytes made once: the busiest reads answer this way.
        status = self.status_code
        if (
            headers is None
            and self.media_type == _JSON
            and status >= 200
            and status not in _NO_BODY
        ):
            self.raw_headers = [
                (b"content-length", str(len(self.body)).encode("latin-1")),
                _JSON_TYPE,
            ]
            return
        super().init_headers(headers)


_JSON = "application/json"
_JSON_TYPE = (b"content-type", _JSON.encode("latin-1"))
_NO_BODY = (204, 304)


# -- what a body may hold -------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """One value a body may not hold: where (from the body's root), why, and its kind."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


class _Duplicates(dict[str, Any]):
    """An object in which a key appeared twice (the decoder keeps the last value, as usual)."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    marked = _Duplicates(result)
    seen: set[str] = set()
    marked.duplicates = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return marked


def loads(data: bytes | str) -> Any:
    """Decode JSON, marking objects with a duplicate key for :func:`refusals` to report.

    Raises ``ValueError`` for text that is not JSON and ``RecursionError`` for nesting deeper
    than the interpreter's recursion limit.
    """
    return jsonutil.loads(data, object_pairs_hook=_pairs)


def count_values(value: Any) -> int:
    """JSON values in ``value``: each object, array, string, number, boolean, null and key."""
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def refusals(value: Any, *, max_depth: int, max_values: int, limit: int = 20) -> list[Refusal]:
    """What in a decoded body cannot be accepted, each at its location, at most ``limit``.

    Depth counts objects and arrays: ``{"a": [1]}`` is 2 deep. Values count every object,
    array, string, number, boolean and null, and every key (a key costs memory as a string does).
    """
    found: list[Refusal] = []
    if not isinstance(value, dict | list):
        _check_scalar(value, None, found)
        return found
    count = 1
    # Containers still to visit: (container, its depth, link to its location: (parent, key)).
    stack: list[tuple[Any, int, Any]] = [(value, 1, None)]
    while stack and len(found) < limit:
        item, depth, link = stack.pop()
        if depth > max_depth:
            msg = f"values are nested more than {max_depth} deep"
            found.append(Refusal(_loc(link), msg, "too_deep"))
            continue
        if type(item) is list:
            count += len(item)
            members: Any = enumerate(item)
        else:
            count += 2 * len(item)  # keys and values
            members = item.items()
            for key in getattr(item, "duplicates", ()):
                found.append(Refusal(_loc((link, key)), f"duplicate key {key!r}", "duplicate_key"))
        if count > max_values:
            msg = f"the body holds more than {max_values} values (keys included)"
            found.append(Refusal(_loc(link), msg, "too_many_values"))
            break
        for key, member in members:
            kind = type(member)
            if kind is dict or kind is list or kind is _Duplicates:
                stack.append((member, depth + 1, (link, key)))
            elif (kind is str and not member.isascii()) or kind is float:
                _check_scalar(member, (link, key), found)
            if type(key) is str and not key.isascii() and LONE_SURROGATE.search(key):
                msg = "a key holds a lone surrogate (not valid Unicode)"
                found.append(Refusal(_loc((link, key)), msg, "lone_surrogate"))
    return found[:limit]


def _check_scalar(value: Any, link: Any, found: list[Refusal]) -> None:
    if isinstance(value, str):
        if LONE_SURROGATE.search(value):
            msg = "a string holds a lone surrogate (not valid Unicode)"
            found.append(Refusal(_loc(link), msg, "lone_surrogate"))
    elif isinstance(value, float) and not math.isfinite(value):
        msg = f"{value} is not a finite number (JSON has no NaN or Infinity)"
        found.append(Refusal(_loc(link), msg, "non_finite_number"))


def _loc(link: Any) -> tuple[str | int, ...]:
    keys: list[str | int] = []
    while link is not None:
        link, key = link
        keys.append(key)
    return tuple(reversed(keys))
