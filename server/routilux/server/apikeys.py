"""The gate's API keys: which key a caller supplied (step 3 of ``Gate``), whether it is one of the
configured keys, and the 401 when it is not (step 6).

A key comes in ``X-API-Key`` or ``Authorization: Bearer``; a WebSocket handshake may offer it as
a subprotocol (browsers cannot set headers there), or, from old clients, as an ``api_key`` query
parameter, which is taken out of the query string before anything logs it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import parse_qsl, urlencode

from starlette.types import Scope

from routilux.server.refusals import ProblemAnswer

#: What a browser offers as a WebSocket subprotocol to carry its key (docs/events.md, Auth): the
#: key in base64url without padding, as Kubernetes carries a bearer token.
KEY_SUBPROTOCOL = "routilux.key."


def supplied_key(scope: Scope, headers: dict[str, str]) -> str | None:
    """The API key the caller sent, or None: ``X-API-Key``, else ``Authorization: Bearer``; a
    WebSocket handshake may offer it as a subprotocol instead, or in its query string."""
    key = headers.get("x-api-key")
    if key is None and headers.get("authorization", "").startswith("Bearer "):
        # What Prometheus and most HTTP tools can send without extra configuration.
        key = headers["authorization"][len("Bearer ") :]
    if scope["type"] == "websocket":
        offered = _subprotocol_key(scope)
        # Taken out of the query string before anything logs it (uvicorn's handshake lines show
        # the path with its query) or reads it.
        queried = _pop_query_param(scope, "api_key")
        if key is None:
            key = offered if offered is not None else queried
    return key


def match_key(api_keys: list[bytes], key: str | None) -> int | None:
    """The index of the configured key that ``key`` is, or None."""
    if key is None or not api_keys:
        return None
    supplied = key.encode()
    # Compare with every key, always, so timing tells nothing about which or how many.
    matched = -1
    for index, expected in enumerate(api_keys):
        if hmac.compare_digest(supplied, expected):
            matched = index
    return matched if matched >= 0 else None


def auth_refusal(
    api_keys: list[bytes], key: str | None, index: int | None, public: bool
) -> ProblemAnswer | None:
    """401 when keys are set, the path is not public and no configured key was supplied."""
    if not api_keys or public or index is not None:
        return None
    detail = "a valid X-API-Key header is required"
    if key is not None:
        detail = "the X-API-Key header does not hold a valid key"
    return ProblemAnswer(
        401,
        "unauthorized",
        detail,
        {"WWW-Authenticate": 'ApiKey realm="routilux", header="X-API-Key"'},
    )


def _pop_query_param(scope: Scope, name: str) -> str | None:
    """Take ``name`` out of the scope's query string; its first value, or None."""
    raw: bytes = scope.get("query_string", b"")
    if name.encode() not in raw:
        return None
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    values = [value for key, value in pairs if key == name]
    if not values:
        return None
    scope["query_string"] = urlencode([(k, v) for k, v in pairs if k != name]).encode("latin-1")
    return values[0]


def _subprotocol_key(scope: Scope) -> str | None:
    """The key a browser offered as a ``routilux.key.<base64url>`` subprotocol, or None."""
    for offered in scope.get("subprotocols", ()):
        if offered.startswith(KEY_SUBPROTOCOL):
            encoded = offered[len(KEY_SUBPROTOCOL) :]
            try:
                decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
                return decoded.decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return ""  # offered, but not a key: refused like any wrong key
    return None
