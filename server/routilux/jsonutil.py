"""How values become JSON, for the whole package: HTTP bodies, stored columns, WebSocket frames,
log lines, the CLI's output and every size limit measure the same bytes.

Encoding is orjson's: datetimes RFC 3339 (UTC as ``Z``), enums their value, dataclasses their
fields, pydantic models their JSON dump by alias, sets arrays, any other object its ``str``,
a non-finite number ``null``. What orjson refuses (an integer beyond 64 bits, a key that is not
a string, nesting deeper than 255, a lone surrogate) takes one fallback, :func:`_encode_any`,
which writes any value by the same rules: integers exact, keys as orjson's ``OPT_NON_STR_KEYS``
writes them, any depth, a lone surrogate as U+FFFD. It walks, without recursion, only the
containers that hold what orjson refuses and hands orjson the rest, so that it costs a few
times orjson's own pass at most. A value both paths can write is written the same by both
(``tests/test_jsonutil.py`` holds them to it).

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
_ORJSON_DEPTH = 255  # orjson refuses values nested deeper
_SCALARS = frozenset({str, float, bool, type(None)})  # what orjson always writes, but integers


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
    """``value`` as UTF-8 JSON, whatever it holds: compact, or with ``indent`` two spaces a
    level (orjson's ``OPT_INDENT_2``), keys sorted with ``sort_keys``."""
    option = _FAST
    if sort_keys:
        option |= orjson.OPT_SORT_KEYS
    if indent:
        option |= orjson.OPT_INDENT_2
    try:
        return orjson.dumps(value, default=_default, option=option)
    except TypeError:
        return _encode_any(value, option)


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
    """A record's fields, in order, as the encoder writes them; None if no record."""
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


def _encode_any(value: Any, option: int, *, members_to_orjson: bool = True) -> bytes:
    """Write any value as JSON, at any depth, without recursion (see the module).

    The value, then each member of a container walked here, is given to orjson first, its usual
    refusals taken care of (:func:`_usual_refusals`): only what holds a lone surrogate, nests
    too deep or is a record holding what orjson refuses is walked, and orjson writes the rest
    (walking all of a value took twenty times as long as orjson). Without ``members_to_orjson``
    everything is walked (the tests compare the two).
    """
    if members_to_orjson:
        encoded = _usual_refusals(value, option)
        if encoded is not None:
            return encoded
    indent = bool(option & orjson.OPT_INDENT_2)
    colon = b": " if indent else b":"
    out: list[bytes] = []
    # What is left to write, last first: punctuation and members already encoded (_Raw), and
    # values to walk, each with its depth (which places its members' lines when indenting).
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
        else:
            inner, outer = _breaks(depth, indent)
            pairs = item.items() if isinstance(item, dict) else _fields(item)
            if pairs is not None:
                entries = [(_key(k), member) for k, member in pairs]
                if option & orjson.OPT_SORT_KEYS:
                    entries.sort(key=lambda entry: entry[0])
                heads = [inner + _string(key) + colon for key, _ in entries]
                members = [member for _, member in entries]
                brackets = b"{}"
            elif isinstance(item, list | tuple | set | frozenset):
                members = list(item)
                heads = [inner] * len(members)
                brackets = b"[]"
            else:
                out.append(_string(str(item)))
                continue
            if not members:
                out.append(brackets)
                continue
            # The container's text in order: runs of encoded bytes, and the members to walk.
            pieces: list[tuple[Any, int]] = []
            run = [brackets[:1]]
            for index, member in enumerate(members):
                run.append(b"," + heads[index] if index else heads[index])
                encoded = _member(member, depth + 1, option) if members_to_orjson else None
                if encoded is None:
                    pieces.append((_Raw(b"".join(run)), 0))
                    pieces.append((member, depth + 1))
                    run = []
                else:
                    run.append(encoded)
            run.append(outer + brackets[1:])
            pieces.append((_Raw(b"".join(run)), 0))
            stack.extend(reversed(pieces))
    return b"".join(out)


def _member(value: Any, depth: int, option: int) -> bytes | None:
    """``value`` as orjson writes it (indented to ``depth``); None if orjson refuses it.

    The usual refusals (see :func:`_usual_refusals`) are taken here, however many a list or a
    dict holds: a large value full of them is no slow walk either.
    """
    if type(value) is int:
        return str(value).encode()  # what orjson writes, at any size
    try:
        encoded = orjson.dumps(value, default=_default, option=option)
    except TypeError:
        retried = _usual_refusals(value, option)
        if retried is None:
            return None
        encoded = retried
    if option & orjson.OPT_INDENT_2:
        return encoded.replace(b"\n", b"\n" + b"  " * depth)
    return encoded


def _usual_refusals(value: Any, option: int) -> bytes | None:
    """A dict, list or tuple orjson refused, written by orjson with its integers beyond 64 bits
    pre-encoded and its keys as :func:`_key` writes them; None if orjson still refuses it."""
    kind = type(value)
    if kind is not dict and kind is not list and kind is not tuple:
        return None
    try:
        return orjson.dumps(
            _exact_integers(value, 0), default=_default, option=option | orjson.OPT_NON_STR_KEYS
        )
    except (TypeError, RecursionError):
        return None


def _exact_integers(value: Any, depth: int) -> Any:
    """``value`` with each integer beyond 64 bits as its digits, pre-encoded for orjson (in
    dicts, lists and tuples, as deep as orjson goes)."""
    kind = type(value)
    if kind is int:
        if -(2**63) <= value < 2**64:
            return value
        return orjson.Fragment(str(value).encode())
    if depth > _ORJSON_DEPTH:
        return value
    depth += 1
    if kind is dict:
        return {
            k: v if type(v) in _SCALARS else _exact_integers(v, depth) for k, v in value.items()
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _SCALARS else _exact_integers(v, depth) for v in value]
    return value


def _breaks(depth: int, indent: bool) -> tuple[bytes, bytes]:
    """What goes before each member of a container at ``depth``, and before its closing."""
    if not indent:
        return b"", b""
    return b"\n" + b"  " * (depth + 1), b"\n" + b"  " * depth
