"""A connection's subscriptions: numbered filters whose union is what it receives."""

from __future__ import annotations

from routilux.engine.events import Event, EventFilter
from routilux.server.ws.protocol import MAX_SUBSCRIPTIONS, ProtocolError, StreamRequest


class Subscriptions:
    """Numbered filters; until the first is added, a connection may receive every event."""

    def __init__(self, initial: EventFilter | None, *, everything: bool) -> None:
        self._filters: dict[int, EventFilter] = {}
        self._next_id = 1
        # The default of a bare connection: every event, until a `subscribe` replaces it.
        self._everything = everything
        if initial is not None:
            self.add(initial)

    def add(self, selection: EventFilter) -> int:
        if len(self._filters) >= MAX_SUBSCRIPTIONS:
            raise ProtocolError(
                "too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} subscriptions at once"
            )
        subscription_id = self._next_id
        self._next_id += 1
        self._filters[subscription_id] = selection
        self._everything = False
        return subscription_id

    def remove(self, subscription_id: int) -> None:
        if self._filters.pop(subscription_id, None) is None:
            raise ProtocolError("unknown_subscription", f"no subscription {subscription_id}")

    def bus_filters(self) -> list[EventFilter] | None:
        """What the bus should offer: None for every event, else the filters (maybe none)."""
        return None if self._everything else list(self._filters.values())

    def wants(self, event: Event) -> bool:
        return self._everything or any(f.matches(event) for f in self._filters.values())

    @classmethod
    def from_request(cls, request: StreamRequest) -> Subscriptions:
        """The query string's filter is subscription 1; ``since`` alone subscribes to everything.

        With neither, the connection gets the bare default (every event until a `subscribe`).
        """
        if request.filter is not None:
            return cls(request.filter, everything=False)
        if request.since is not None:
            return cls(EventFilter(), everything=False)
        return cls(None, everything=True)
