"""The event envelope, shared by the WebSocket stream and a job's event history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from routilux.engine.events import EventType


class Event(BaseModel):
    """One thing that happened, with a monotonically increasing id."""

    id: int = Field(ge=1)
    type: EventType
    timestamp: datetime
    flow_id: str | None
    job_id: str | None
    worker_id: str | None
    routine_id: str | None
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[Event]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null when there is nothing more now."
    )
