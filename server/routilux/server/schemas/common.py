"""Shared pieces of wire models: list pages and strict bodies."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
ID_MAX = 128
MAX_INT64 = 2**63 - 1  # the largest integer the store (SQLite) can compare with
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    """Only RFC 3339 with a zone: not a bare date, an epoch number or a naive date-time."""
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with a zone, e.g. 2026-01-01T00:00:00Z")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # hours from the ends of year 1 or 9999: before or after any record
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_utc)]
"""A date-time parameter: RFC 3339 with a zone (a naive one is a 422), normalised to UTC."""


class Body(BaseModel):
    """A request body: unknown fields are an error, and no value is coerced (`1` is no bool)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PageBase(BaseModel):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    total: int = Field(ge=0, description="Items matching the filters, across all pages.")
