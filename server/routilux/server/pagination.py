"""Opaque cursors and stable newest-first pages."""

from __future__ import annotations

import base64
import binascii
import heapq
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Query

from routilux.server.errors import ApiError, ProblemError
from routilux.server.schemas.common import MAX_INT64

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="The `next_cursor` of the previous page."),
]


def encode_cursor(*parts: str) -> str:
    raw = "\x1f".join(parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded.encode()).decode().split("\x1f")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        parts = []
    if len(parts) != arity or not all(parts):
        raise bad_cursor()
    return parts


def bad_cursor() -> ApiError:
    return ApiError(
        422,
        "invalid_cursor",
        "cursor is not one this server issued",
        errors=[ProblemError(loc=["query", "cursor"], msg="invalid cursor", type="invalid_cursor")],
    )


def decode_int_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    (value,) = decode_cursor(cursor, 1)
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_INT64:
        raise bad_cursor()
    return int(value)


def page_in_memory(
    items: Sequence[T],
    key: Callable[[T], tuple[datetime, str]],
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """Newest first by (created_at, id); the cursor is the last item's key, so inserts made
    between pages neither shift nor repeat items."""
    candidates: Sequence[T] = items
    if cursor is not None:
        stamp, ident = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(stamp), ident)
        except ValueError:
            raise bad_cursor() from None
        if after[0].tzinfo is None:  # never issued, and not comparable with the items' times
            raise bad_cursor()
        candidates = [item for item in items if key(item) < after]
    # Select the page (and one more, to know whether there is a next page) in O(n log limit)
    # rather than sorting everything for every page.
    ordered = heapq.nlargest(limit + 1, candidates, key=key)
    page = ordered[:limit]
    next_cursor = None
    if len(ordered) > limit:
        stamp_dt, ident = key(page[-1])
        next_cursor = encode_cursor(stamp_dt.isoformat(), ident)
    return page, next_cursor
