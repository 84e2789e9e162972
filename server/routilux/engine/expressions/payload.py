"""A payload on its way to CEL: copied into plain JSON values (nothing else may reach the
library), only the fields a source reads, and metered for the cost estimate as it is copied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routilux.engine.expressions.limits import (
    MAX_EVALUATION_COST,
    MAX_PAYLOAD_DEPTH,
    MAX_PAYLOAD_SIZE,
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
STRING_CHARS_PER_UNIT = 16
# Converting a value to the library's (in Python, then in Rust) takes 0.5-3 µs per unit of
# size; a string counts at least twice and a list or object four times (measured, as ints).
VALUE_COST = 300
CONTAINER_SIZE = 3
CAP = min(MAX_PAYLOAD_SIZE, MAX_EVALUATION_COST // VALUE_COST)


class OverCap(Exception):
    pass


@dataclass
class Meter:
    cap: int = MAX_PAYLOAD_SIZE  # to_cel stops beyond this size
    size: int = 0  # values, with long strings counting as several
    widest: int = 0  # longest list or object
    chars: int = 0  # characters of the strings


def to_cel(value: Any, depth: int, meter: Meter) -> Any:
    """A plain JSON copy of ``value``: nothing else (callables, objects) may reach CEL."""
    meter.size += 1
    kind = type(value)
    if kind is str:
        meter.chars += len(value)
        meter.size += 1 + len(value) // STRING_CHARS_PER_UNIT
        return value
    if value is None or kind is bool or kind is float:
        return value
    if kind is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"the integer {value} does not fit in 64 bits")
        return value
    if depth >= MAX_PAYLOAD_DEPTH:
        raise ValueError(f"the payload is nested more than {MAX_PAYLOAD_DEPTH} levels deep")
    meter.size += CONTAINER_SIZE
    if meter.size > meter.cap:  # stop copying early; _run checks the final size
        raise OverCap
    if isinstance(value, dict):
        meter.widest = max(meter.widest, len(value))
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"object keys must be strings, not {type(key).__name__}")
            meter.size += 1 + len(key) // STRING_CHARS_PER_UNIT
            plain[str.__str__(key)] = to_cel(item, depth + 1, meter)
        return plain
    if isinstance(value, list | tuple):
        meter.widest = max(meter.widest, len(value))
        return [to_cel(item, depth + 1, meter) for item in value]
    # Subclasses, such as enum members, become their plain value (what json.dumps writes).
    if isinstance(value, str):
        return to_cel(str.__str__(value), depth, meter)
    if isinstance(value, int):
        return to_cel(int.__int__(value), depth, meter)
    if isinstance(value, float):
        return to_cel(float.__float__(value), depth, meter)
    raise ValueError(f"a {kind.__name__} is not a JSON value")


def within(data: Any, fields: frozenset[str] | set[str] | None, limit: int) -> bool:
    """Whether the fields read of ``data`` (None: all of it) have at most ``limit`` size."""
    try:
        if fields is None or type(data) is not dict:
            return _left(data, 0, limit) >= 0
        left = limit - 1 - CONTAINER_SIZE
        for field in fields:
            if field in data:
                left = _left(data[field], 1, left - 1 - len(field) // STRING_CHARS_PER_UNIT)
        return left >= 0
    except RecursionError:
        return False


def _left(value: Any, depth: int, left: int) -> int:
    """``left`` less the size of ``value`` as to_cel meters it; negative once it is over."""
    left -= 1
    kind = type(value)
    if kind is str:
        return left - 1 - len(value) // STRING_CHARS_PER_UNIT
    if left < 0 or depth >= MAX_PAYLOAD_DEPTH:
        return left  # too deep: to_cel refuses it at once, which is cheap
    if kind is dict:
        left -= CONTAINER_SIZE
        for key, item in value.items():
            if type(key) is str:
                left -= len(key) // STRING_CHARS_PER_UNIT
            left = _left(item, depth + 1, left - 1)
            if left < 0:
                return left
    elif kind is list or kind is tuple:
        left -= CONTAINER_SIZE
        for item in value:
            left = _left(item, depth + 1, left)
            if left < 0:
                return left
    return left


def fields_to_cel(data: dict[str, Any], fields: frozenset[str], meter: Meter) -> Any:
    """to_cel of the fields a source reads, present or absent as they are in ``data``: the
    result is the same as with the whole payload."""
    meter.size += 1 + CONTAINER_SIZE
    plain = {}
    for field in fields:
        if field in data:
            meter.size += 1 + len(field) // STRING_CHARS_PER_UNIT
            plain[field] = to_cel(data[field], 1, meter)
    meter.widest = max(meter.widest, len(plain))
    return plain


def to_json(value: Any) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("a map with non-string keys is not a JSON object")
        return {key: to_json(item) for key, item in value.items()}
    raise ValueError(f"a {type(value).__name__} is not a JSON value; convert it with string()")
