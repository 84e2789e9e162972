"""How values become JSON, for the whole package: HTTP bodies, stored columns, WebSocket frames,
log lines, the CLI's output and every size limit measure the same bytes.

Encoding is orjson's: datetimes RFC 3339 (UTC as ``Z``), enums their value, dataclasses their
fields, pydantic models their JSON dump by alias, sets arrays, any other object its ``str``.
What orjson refuses (an integer beyond 64 bits, a key that is not a string, nesting deeper than
255, a lone surrogate) takes one fallback, :func:`_encode_any`: the same rules, written without
recursion, where a lone surrogate becomes U+FFFD, a non-finite number ``null`` and a key its
text. So every value encodes, and a value the fast path writes is written the same by the
fallback.

Decoding is the standard library's: orjson reads an integer beyond 64 bits as a float, and a
2**70 that was received or stored must come back exact.

This module depends on nothing else of ``routilux``: the engine, the store, the server and the
commands all use it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any

import orjson

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A code point that is not valid Unicode on its own: no UTF-8 encoder or JSON reader takes it."""

_FAST = orjson.OPT_UTC_Z


def _is_model(value: Any) -> bool:
    """Whether ``value`` is a pydantic model. Without importing pydantic: a process that never
    did (the CLI, which starts faster without it) has no model to encode."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def _default(value: Any) -> Any:
    """What orjson does not know, as the JSON value it stands for."""
    if _is_model(value):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


def dumps(value: Any, *, sort_keys: bool = False, indent: bool = False) -> bytes:
    """``value`` as UTF-8 JSON: compact, or with ``indent`` two spaces a level; never raises."""
    option = _FAST
    if sort_keys:
        option |= orjson.OPT_SORT_KEYS
    if indent:
        option |= orjson.OPT_INDENT_2
    try:
        return orjson.dumps(value, default=_default, option=option)
    except TypeError:
        return _encode_any(value, sort_keys=sort_keys, indent=indent)


def dumps_str(value: Any, *, sort_keys: bool = False, indent: bool = False) -> str:
    """:func:`dumps` as text."""
    return dumps(value, sort_keys=sort_keys, indent=indent).decode()


def size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON: what every size limit measures."""
    return len(dumps(value))


def loads(
    data: bytes | str, *, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None
) -> Any:
    """Decode JSON, integers exact at any size.

    Raises ``ValueError`` for text that is not JSON and ``RecursionError`` for nesting deeper
    than the interpreter's recursion limit.
    """
    return json.loads(data, object_pairs_hook=object_pairs_hook)


# -- the fallback ---------------------------------------------------------------------------------


class _Raw(bytes):
    """Bytes to write as they are (punctuation on the encoder's stack)."""


def _string(text: str) -> bytes:
    try:
        return orjson.dumps(text)
    except TypeError:  # a lone surrogate
        return orjson.dumps(LONE_SURROGATE.sub("\ufffd", text))


def _key(key: Any) -> str:
    """A key's text, as orjson's ``OPT_NON_STR_KEYS`` writes it."""
    if isinstance(key, str):
        return key
    if isinstance(key, enum.Enum):
        return _key(key.value)
    if key is None or key is True or key is False:
        return "null" if key is None else "true" if key else "false"
    if isinstance(key, int):
        return str(int(key))
    if isinstance(key, float):
        return orjson.dumps(key).decode() if math.isfinite(key) else "null"
    if isinstance(key, datetime | date | time):
        return orjson.dumps(key, option=_FAST).decode()[1:-1]
    return str(key)


def _fields(value: Any) -> Iterator[tuple[str, Any]] | None:
    """A record's fields, in order, as the fast path writes them; None if no record."""
    if _is_model(value):
        try:
            dumped = value.model_dump(mode="json", by_alias=True)
        except (ValueError, TypeError, RecursionError):  # too deep for pydantic: its fields
            return (
                (field.serialization_alias or field.alias or name, getattr(value, name))
                for name, field in type(value).model_fields.items()
            )
        return iter(dumped.items()) if isinstance(dumped, dict) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # orjson leaves out the fields whose name starts with an underscore.
        names = [f.name for f in dataclasses.fields(value) if not f.name.startswith("_")]
        return ((name, getattr(value, name)) for name in names)
    return None


def _encode_any(value: Any, *, sort_keys: bool, indent: bool) -> bytes:
    """Write any value as JSON, at any depth, without recursion (see the module)."""
    out: list[bytes] = []
    colon = b": " if indent else b":"
    # (item, its depth): the depth places its members' lines when indenting.
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if type(item) is _Raw:
            out.append(item)
        elif item is None or item is True or item is False:
            out.append(b"null" if item is None else b"true" if item else b"false")
        elif isinstance(item, str):
            out.append(_string(item))
        elif isinstance(item, enum.Enum):
            stack.append((item.value, depth))
        elif isinstance(item, int):
            out.append(str(int(item)).encode())
        elif isinstance(item, float):
            out.append(orjson.dumps(item) if math.isfinite(item) else b"null")
        elif isinstance(item, datetime | date | time):
            out.append(orjson.dumps(item, option=_FAST))
        elif (pairs := item.items() if isinstance(item, dict) else _fields(item)) is not None:
            entries = [(_key(k), member) for k, member in pairs]
            if sort_keys:
                entries.sort(key=lambda entry: entry[0])
            if not entries:
                out.append(b"{}")
                continue
            inner, outer = _breaks(depth, indent)
            stack.append((_Raw(outer + b"}"), depth))
            for index in range(len(entries) - 1, -1, -1):
                key, member = entries[index]
                stack.append((member, depth + 1))
                stack.append((_Raw((b"," if index else b"") + inner + _string(key) + colon), 0))
            stack.append((_Raw(b"{"), depth))
        elif isinstance(item, list | tuple | set | frozenset):
            members = list(item)
            if not members:
                out.append(b"[]")
                continue
            inner, outer = _breaks(depth, indent)
            stack.append((_Raw(outer + b"]"), depth))
            for index in range(len(members) - 1, -1, -1):
                stack.append((members[index], depth + 1))
                stack.append((_Raw((b"," if index else b"") + inner), 0))
            stack.append((_Raw(b"["), depth))
        else:
            out.append(_string(str(item)))
    return b"".join(out)


def _breaks(depth: int, indent: bool) -> tuple[bytes, bytes]:
    """What goes before each member of a container at ``depth``, and before its closing."""
    if not indent:
        return b"", b""
    return b"\n" + b"  " * (depth + 1), b"\n" + b"  " * depth
