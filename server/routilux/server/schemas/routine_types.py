"""Routine types on the wire: enough to write a valid flow without reading source."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from routilux.server.schemas.common import PageBase


class RoutineType(BaseModel):
    name: str = Field(examples=["Filter"])
    aliases: list[str]
    description: str
    slots: list[str] = Field(description="Input slots (for a default config).")
    events: list[str] = Field(description="Output events (for a default config).")
    activation: str = Field(description="immediate, all_slots_ready, batch or debounce.")
    config_schema: dict[str, Any] = Field(description="JSON Schema of `config`.")


class RoutineTypePage(PageBase):
    items: list[RoutineType]
