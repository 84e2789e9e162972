"""A client configured for Routilux: API key in ``X-API-Key``, undeclared statuses raised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import httpx

from routilux_client.client import AuthenticatedClient, Client

API_KEY_HEADER = "X-API-Key"

RoutiluxClient: TypeAlias = AuthenticatedClient | Client
"""Either kind of client; every operation accepts both."""


def connect(
    base_url: str,
    api_key: str | None = None,
    *,
    timeout: float | httpx.Timeout = 30.0,
    headers: Mapping[str, str] | None = None,
    raise_on_unexpected_status: bool = True,
    httpx_args: Mapping[str, Any] | None = None,
) -> RoutiluxClient:
    """A client for the server at ``base_url`` (e.g. ``http://127.0.0.1:8000``).

    With ``api_key``, every request (and the event stream) sends it as ``X-API-Key``. A status
    the schema does not declare raises ``routilux_client.errors.UnexpectedStatus`` unless
    ``raise_on_unexpected_status`` is false. Use the client as a context manager (``with`` or
    ``async with``) to close its connections.
    """
    options: dict[str, Any] = {
        "base_url": base_url,
        "timeout": timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        "headers": dict(headers or {}),
        "raise_on_unexpected_status": raise_on_unexpected_status,
        "httpx_args": dict(httpx_args or {}),
    }
    if api_key is None:
        return Client(**options)
    return AuthenticatedClient(token=api_key, prefix="", auth_header_name=API_KEY_HEADER, **options)
