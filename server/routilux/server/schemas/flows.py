"""Flows on the wire: the Routilux DSL document plus what the server adds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from routilux.engine.spec import FlowSpec
from routilux.server.schemas.common import ID_PATTERN, PageBase

FLOW_EXAMPLE: dict[str, Any] = {  # the README's `greet` flow: every example builds on it
    "flow_id": "greet",
    "routines": {
        "shape": {"class": "Mapper", "config": {"mappings": {"name": "user.name", "age": "age"}}},
        "adults": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
    },
    "connections": [{"from": "shape.output", "to": "adults.input"}],
}


class FlowCreate(FlowSpec):
    """A flow document, as written for Routilux (JSON, or YAML with `application/yaml`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [FLOW_EXAMPLE]})


class Flow(FlowSpec):
    """A stored flow: its document, with the id filled in, and bookkeeping."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **FLOW_EXAMPLE,
                    "revision": 1,
                    "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": "2026-01-01T00:00:00Z",
                }
            ]
        }
    )

    flow_id: str = Field(pattern=ID_PATTERN)
    revision: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime


class FlowWarning(BaseModel):
    """Something that looks wrong in a flow without making it invalid."""

    type: str = Field(description="`unbounded_cycle`: a cycle nothing can stop.")
    message: str
    routines: list[str] = Field(description="The routines concerned.")


class FlowCreated(Flow):
    """The flow just created (or revised), with what looks wrong in it."""

    warnings: list[FlowWarning] = Field(
        default_factory=list,
        description="E.g. a cycle of routines none of which can stop it: each job then runs "
        "until it hits a server limit (`too_many_activations`, ...). Empty when all is well.",
    )


class FlowPage(PageBase):
    items: list[Flow]


class FlowRevisionPage(PageBase):
    """A flow's revisions, newest first (the current one is the first)."""

    items: list[Flow]
