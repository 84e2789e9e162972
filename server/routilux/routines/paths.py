"""Dotted paths into payloads: ``user.name``, ``items.0.id``, ``items.-1`` (the last item).

A segment names a key of an object; on a list, a segment that is an integer is an index (negative
counts from the end). Keys that contain a dot cannot be addressed. One implementation serves every
routine that takes a path, so they all read payloads the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final

from pydantic import Field

PATH_PATTERN = r"^[^.]+(\.[^.]+)*$"

DottedPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        pattern=PATH_PATTERN,
        description="A dotted path into the payload; integer segments index lists.",
        examples=["user.name", "items.0.id"],
    ),
]

_INDEX = re.compile(r"^-?[0-9]+$")


class _Missing:
    """The type of :data:`MISSING`; distinct from ``None``, which is a value a payload may hold."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def lookup(data: Any, path: str) -> Any:
    """Return the value at ``path`` in ``data``, or :data:`MISSING` when any step is absent."""
    current = data
    for segment in path.split("."):
        if isinstance(current, Mapping):
            if segment not in current:
                return MISSING
            current = current[segment]
        elif (
            isinstance(current, Sequence)
            and not isinstance(current, str | bytes)
            and _INDEX.match(segment)
        ):
            index = int(segment)
            if not -len(current) <= index < len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current


def get(data: Any, path: str, default: Any = None) -> Any:
    """Return the value at ``path`` in ``data``, or ``default`` when it is absent."""
    value = lookup(data, path)
    return default if value is MISSING else value
