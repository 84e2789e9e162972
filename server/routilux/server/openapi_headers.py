"""OpenAPI entries for the headers a response declares (``Location``, ``ETag``,
``X-Request-ID``): each a string with a description."""

from __future__ import annotations

from typing import Any


def string_header(description: str) -> dict[str, Any]:
    """A response header holding a string, as a route's ``responses=`` declares it."""
    return {"description": description, "schema": {"type": "string"}}
