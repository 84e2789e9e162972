"""JSON in and out.

Out: orjson, with datetimes as RFC 3339 and pydantic models dumped; what orjson cannot write
(an integer beyond 64 bits, a value nested deeper than its limit, a lone surrogate) takes slower
paths, the last of which writes any value, so that a stored value can always be read back.

In: :func:`refusals` finds what a request body may not hold (values nested too deeply, lone
surrogates, non-finite numbers, duplicate keys, too many values), each at its location; the
``routilux.server.bodies`` applies it to every body before a route runs.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import pydantic_core
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)
    except TypeError:
        pass
    try:
        # orjson refuses integers beyond 64 bits, which JSON (and a job's input) may hold.
        return pydantic_core.to_json(value, by_alias=True)
    except (ValueError, TypeError, RecursionError):
        return dumps_any(value)


# -- the encoder of last resort -------------------------------------------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")


class _Raw(bytes):
    """Bytes to write as they are (punctuation and encoded scalars on the encoder's stack)."""


def _string(text: str) -> bytes:
    try:
        return orjson.dumps(text)
    except TypeError:  # a lone surrogate: not UTF-8, and no JSON reader takes it; U+FFFD instead
        return orjson.dumps(_SURROGATES.sub("\ufffd", text))


def _key(key: Any) -> bytes:
    if isinstance(key, enum.Enum):
        key = key.value
    return _string(key if isinstance(key, str) else str(key))


def _fields(value: Any) -> Iterator[tuple[str, Any]] | None:
    """A record's fields, in order, as orjson or pydantic would write them; None if no record."""
    if isinstance(value, BaseModel):
        return (
            (field.serialization_alias or field.alias or name, getattr(value, name))
            for name, field in type(value).model_fields.items()
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
    return None


def dumps_any(value: Any) -> bytes:
    """Write any value as JSON, at any depth, without recursion: the encoder of last resort.

    Lone surrogates become U+FFFD, non-finite numbers ``null``, datetimes RFC 3339 (UTC as
    ``Z``), enums their value, models and dataclasses their fields, anything else its ``str``.
    """
    out: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is _Raw:
            out.append(item)
        elif item is None or item is True or item is False:
            out.append(b"null" if item is None else b"true" if item else b"false")
        elif isinstance(item, str):
            out.append(_string(item))
        elif isinstance(item, enum.Enum):
            stack.append(item.value)
        elif isinstance(item, int):
            out.append(str(int(item)).encode())
        elif isinstance(item, float):
            out.append(orjson.dumps(item) if math.isfinite(item) else b"null")
        elif isinstance(item, datetime | date):
            out.append(orjson.dumps(item, option=orjson.OPT_UTC_Z))
        elif (pairs := item.items() if isinstance(item, dict) else _fields(item)) is not None:
            entries = list(pairs)
            stack.append(_Raw(b"}"))
            for index in range(len(entries) - 1, -1, -1):
                key, member = entries[index]
                stack.append(member)
                stack.append(_Raw((b"," if index else b"") + _key(key) + b":"))
            stack.append(_Raw(b"{"))
        elif isinstance(item, list | tuple | set | frozenset):
            members = list(item)
            stack.append(_Raw(b"]"))
            for index in range(len(members) - 1, -1, -1):
                stack.append(members[index])
                if index:
                    stack.append(_Raw(b","))
            stack.append(_Raw(b"["))
        else:
            out.append(_string(str(item)))
    return b"".join(out)


class FastJSONResponse(JSONResponse):
    """A JSONResponse that renders with orjson."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


class JSONBytes(Response):
    """A response whose JSON is already encoded (a route declares its model for the schema)."""

    media_type = "application/json"


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
    return json.loads(data, object_pairs_hook=_pairs)


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
            if type(key) is str and not key.isascii() and _SURROGATES.search(key):
                msg = "a key holds a lone surrogate (not valid Unicode)"
                found.append(Refusal(_loc((link, key)), msg, "lone_surrogate"))
    return found[:limit]


def _check_scalar(value: Any, link: Any, found: list[Refusal]) -> None:
    if isinstance(value, str):
        if _SURROGATES.search(value):
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
