"""The live event stream on ``WS /api/v1/ws/events`` (protocol: docs/events.md)."""

from routilux.server.ws.hub import ConnectionHub
from routilux.server.ws.stream import EventStream

__all__ = ["ConnectionHub", "EventStream"]
