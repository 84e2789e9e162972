"""The hub of open event streams: bounded in number, in all and per caller, and closed together
when the server stops."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Protocol

from routilux.engine.events import Event
from routilux.server.convert import event_json
from routilux.server.ratelimit import MessageRate
from routilux.server.ws.protocol import CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN_LATER

FRAME_CACHE = 4096


class Stream(Protocol):
    finished: asyncio.Event

    def stop(self, code: int, reason: str | None = None) -> None: ...

    def abandon(self) -> None: ...


class ConnectionHub:
    def __init__(
        self,
        max_connections: int,
        *,
        per_identity: int | None = None,
        messages_per_second: int = 20,
    ) -> None:
        self.max_connections = max_connections
        # Slots one caller (an API key, or a client address without keys) may hold.
        self.per_identity = per_identity or max_connections
        # What each connection may send a second (ping, subscribe, ...), counted per connection.
        self.messages = MessageRate(messages_per_second)
        self.closing = False
        # Events never delivered because a client read too slowly (read by /metrics).
        self.dropped_events = 0
        self._streams: dict[Stream, str] = {}
        self._held: dict[str, int] = {}
        # Every subscriber of an event sends the same frame: encode it once, not once each.
        self._frames: OrderedDict[int, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._streams)

    def admit(self, stream: Stream, identity: str = "") -> tuple[int, str] | None:
        """Register a stream of the caller ``identity``; or, when it cannot be, the close code
        and reason to give it."""
        if self.closing:
            return CLOSE_GOING_AWAY, "server shutting down"
        if len(self._streams) >= self.max_connections:
            return CLOSE_TRY_AGAIN_LATER, "too many connections"
        held = self._held.get(identity, 0)
        if held >= self.per_identity:
            return CLOSE_TRY_AGAIN_LATER, f"too many connections for this key (at most {held})"
        self._streams[stream] = identity
        self._held[identity] = held + 1
        return None

    def release(self, stream: Stream) -> None:
        identity = self._streams.pop(stream, None)
        if identity is None:
            return
        held = self._held[identity] - 1
        if held:
            self._held[identity] = held
        else:
            del self._held[identity]

    async def close_all(
        self, code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down", timeout: float = 5
    ) -> None:
        """Ask every stream to close with ``code`` and wait (at most ``timeout`` s) until they have.

        A stream whose client does not read may be unable to send its close frame: past the
        timeout it stops trying, and the server's own shutdown deals with the connection.
        """
        self.closing = True
        streams = list(self._streams)
        for stream in streams:
            stream.stop(code, reason)
        waits = {asyncio.ensure_future(stream.finished.wait()): stream for stream in streams}
        if not waits:
            return
        _, pending = await asyncio.wait(waits, timeout=timeout)
        for wait in pending:
            waits[wait].abandon()
        if pending:
            _, stuck = await asyncio.wait(pending, timeout=timeout)
            for wait in stuck:
                wait.cancel()

    def frame(self, event: Event) -> str:
        """The event's envelope as JSON text: the same bytes as in a job's event history."""
        text = self._frames.get(event.id)
        if text is None:
            text = event_json(event).decode()
            self._frames[event.id] = text
            if len(self._frames) > FRAME_CACHE:
                self._frames.popitem(last=False)
        return text
