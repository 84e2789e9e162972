"""The event stream's wire protocol: close codes, limits, the query string and client messages.

Everything a client sends is checked here and turned into typed requests or a
:class:`ProtocolError` whose text is sent back as it is, so it must say what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from routilux.engine.events import EventFilter, EventType
from routilux.jsonutil import dumps_str, loads
from routilux.server.schemas.common import ID_PATTERN

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013

MAX_MESSAGE_CHARS = 16_384
MAX_BAD_MESSAGES = 5  # in a row: then the connection is closed with 1008
MAX_SUBSCRIPTIONS = 32  # every live event is matched against each of them
MAX_FILTER_VALUES = 100
# `api_key` (old clients) is taken out of the query string by the gate; still allowed here.
QUERY_KEYS = frozenset({"flow_id", "job_id", "types", "since", "api_key"})
#: The subprotocol the server accepts when a client offers it (browsers offer it along with their
#: key as ``routilux.key.<base64url>``, which is never echoed back).
SUBPROTOCOL = "routilux.v1"
EVENT_TYPES = frozenset(t.value for t in EventType)
_ID = re.compile(ID_PATTERN)


class ProtocolError(ValueError):
    """Something a client sent that the server refuses; ``code`` is stable, the text says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StreamRequest:
    """What the query string asks for: a filter (None when it names none) and a replay point."""

    filter: EventFilter | None
    since: int | None


@dataclass(frozen=True)
class Subscribe:
    filter: EventFilter


@dataclass(frozen=True)
class Unsubscribe:
    subscription_id: int


@dataclass(frozen=True)
class Ping:
    pass


ClientMessage = Subscribe | Unsubscribe | Ping


def choose_subprotocol(offered: Sequence[str]) -> str | None:
    """``routilux.v1`` if the client offered it, else none."""
    return SUBPROTOCOL if SUBPROTOCOL in offered else None


def build_filter(
    flow_ids: Iterable[str], job_ids: Iterable[str], types: Iterable[str]
) -> EventFilter:
    """A filter from raw values, each checked: ids by the id pattern, types against EventType."""
    flows, jobs, kinds = frozenset(flow_ids), frozenset(job_ids), frozenset(types)
    for name, values in (("flow_id", flows), ("job_id", jobs), ("types", kinds)):
        if len(values) > MAX_FILTER_VALUES:
            raise ProtocolError("invalid_filter", f"{name}: at most {MAX_FILTER_VALUES} values")
    for name, ids in (("flow_id", flows), ("job_id", jobs)):
        for value in sorted(ids):
            if not _ID.match(value):
                raise ProtocolError(
                    "invalid_filter", f"{name}: {value[:140]!r} does not match {ID_PATTERN}"
                )
    unknown = sorted(kinds - EVENT_TYPES)
    if unknown:
        known = ", ".join(sorted(EVENT_TYPES))
        raise ProtocolError(
            "invalid_filter", f"types: unknown event type {unknown[0][:140]!r}; known: {known}"
        )
    return EventFilter(flow_ids=flows, job_ids=jobs, types=kinds)


def parse_query(params: Sequence[tuple[str, str]]) -> StreamRequest:
    """Read ``flow_id``, ``job_id`` and ``types`` (repeatable, or comma-separated) and ``since``."""
    values: dict[str, list[str]] = {"flow_id": [], "job_id": [], "types": [], "since": []}
    for key, value in params:
        if key not in QUERY_KEYS:
            allowed = ", ".join(sorted(QUERY_KEYS))
            raise ProtocolError(
                "invalid_query", f"unknown query parameter {key[:64]!r}; allowed: {allowed}"
            )
        if key == "since":
            values[key].append(value)
        elif key in values:
            # Ids and types never hold a comma; an empty part is kept so that it is refused.
            values[key].extend(value.split(","))
    since = None
    if values["since"]:
        if len(values["since"]) > 1:
            raise ProtocolError("invalid_query", "since: give it once")
        raw = values["since"][0]
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            raise ProtocolError("invalid_query", f"since: {raw[:32]!r} is not an integer >= 0")
        since = int(raw)
    try:
        built = build_filter(values["flow_id"], values["job_id"], values["types"])
    except ProtocolError as exc:
        raise ProtocolError("invalid_query", str(exc)) from None
    named = values["flow_id"] or values["job_id"] or values["types"]
    return StreamRequest(filter=built if named else None, since=since)


def parse_message(message: Mapping[str, Any]) -> ClientMessage:
    """One ASGI ``websocket.receive`` message: a JSON object in a text frame."""
    text = message.get("text")
    if text is None:
        raise ProtocolError("binary_frame", "send messages as JSON in text frames, not binary")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ProtocolError("message_too_large", f"a message is at most {MAX_MESSAGE_CHARS} chars")
    try:
        body = loads(text)
    except ValueError as exc:
        raise ProtocolError("invalid_json", f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError("invalid_message", "a message is a JSON object with a 'type'")
    kind = body.get("type")
    if kind == "ping":
        _only(body, {"type"})
        return Ping()
    if kind == "subscribe":
        _only(body, {"type", "flow_id", "job_id", "types"})
        return Subscribe(
            build_filter(
                _strings(body, "flow_id"), _strings(body, "job_id"), _strings(body, "types")
            )
        )
    if kind == "unsubscribe":
        _only(body, {"type", "subscription_id"})
        subscription_id = body.get("subscription_id")
        if type(subscription_id) is not int:
            raise ProtocolError(
                "invalid_message", "unsubscribe: subscription_id must be an integer"
            )
        return Unsubscribe(subscription_id)
    shown = dumps_str(kind)[:64]
    raise ProtocolError(
        "unknown_type", f"unknown message type {shown}; expected subscribe, unsubscribe or ping"
    )


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise ProtocolError("invalid_message", f"{body['type']}: unknown field {extra[0][:64]!r}")


def _strings(body: dict[str, Any], name: str) -> list[str]:
    """A field that holds one string or a list of them (absent: none)."""
    value = body.get(name, [])
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ProtocolError(
        "invalid_message", f"{body['type']}: {name} must be a string or a list of strings"
    )


# -- frames the server sends -------------------------------------------------------------------


def subscribed(subscription_id: int, selection: EventFilter) -> dict[str, Any]:
    return {
        "type": "subscribed",
        "subscription_id": subscription_id,
        "flow_id": sorted(selection.flow_ids),
        "job_id": sorted(selection.job_ids),
        "types": sorted(selection.types),
    }


def unsubscribed(subscription_id: int) -> dict[str, Any]:
    return {"type": "unsubscribed", "subscription_id": subscription_id}


def error(exc: ProtocolError) -> dict[str, Any]:
    return {"type": "error", "code": exc.code, "message": str(exc)}


PONG: dict[str, Any] = {"type": "pong"}


def close_reason(text: str) -> str:
    """A close frame's reason holds at most 123 bytes of UTF-8."""
    encoded = text.encode()
    if len(encoded) <= 123:
        return text
    return encoded[:120].decode(errors="ignore") + "..."
