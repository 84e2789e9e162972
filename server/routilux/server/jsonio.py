"""JSON encoding for responses: orjson, with datetimes as RFC 3339 and pydantic models dumped."""

from __future__ import annotations

from typing import Any

import orjson
import pydantic_core
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)
    except TypeError:
        # orjson refuses integers beyond 64 bits, which JSON (and a job's input) may hold.
        return pydantic_core.to_json(value, by_alias=True)


class FastJSONResponse(JSONResponse):
    """A JSONResponse that renders with orjson."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


class JSONBytes(Response):
    """A response whose JSON is already encoded (a route declares its model for the schema)."""

    media_type = "application/json"
