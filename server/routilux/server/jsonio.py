"""JSON encoding for responses: orjson, with datetimes as RFC 3339 and pydantic models dumped."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse
from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z)


class FastJSONResponse(JSONResponse):
    """A JSONResponse that renders with orjson."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
