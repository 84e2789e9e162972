"""Breakpoints on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from routilux.engine.expressions import MAX_EXPRESSION_LENGTH
from routilux.engine.spec import PORT_NAME_PATTERN, ROUTINE_ID_PATTERN
from routilux.server.schemas.common import ID_PATTERN, Body, PageBase


class BreakpointCreate(Body):
    """Where to pause: a flow's routine, optionally one slot, one job, and a condition."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"flow_id": "greet", "routine_id": "adults"}]}
    )

    flow_id: str = Field(pattern=ID_PATTERN, examples=["greet"])
    routine_id: str = Field(pattern=ROUTINE_ID_PATTERN, examples=["adults"])
    slot: str | None = Field(None, pattern=f"^{PORT_NAME_PATTERN}$", examples=["input"])
    job_id: str | None = Field(None, pattern=ID_PATTERN, description="Only this job.")
    condition: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_EXPRESSION_LENGTH,
        description="A CEL expression over the payload `data`; pause only when it is true.",
        examples=["data.age > 60"],
    )
    enabled: bool = True


class Breakpoint(BaseModel):
    breakpoint_id: str
    flow_id: str
    routine_id: str
    slot: str | None
    job_id: str | None
    condition: str | None
    enabled: bool
    hit_count: int = Field(ge=0)
    waiting_jobs: list[str] = Field(description="Jobs paused here now.")
    created_at: datetime


class BreakpointPage(PageBase):
    items: list[Breakpoint]


class BreakpointResume(Body):
    """Which job to resume; all the jobs waiting at the breakpoint when absent."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    job_id: str | None = Field(None, pattern=ID_PATTERN)


class BreakpointResumed(BaseModel):
    breakpoint_id: str
    resumed_jobs: list[str]
