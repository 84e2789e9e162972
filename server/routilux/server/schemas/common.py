"""Shared pieces of wire models: list pages and strict bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
ID_MAX = 128


class Body(BaseModel):
    """A request body: unknown fields are an error, and no value is coerced (`1` is no bool)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PageBase(BaseModel):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    total: int = Field(ge=0, description="Items matching the filters, across all pages.")
