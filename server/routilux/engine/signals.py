"""Signals: short messages between the replicas of a deployment.

Replicas never talk to each other directly; on PostgreSQL they meet in the database, and a
signal is a ``NOTIFY`` on a channel every replica listens to (store/signals.py). A signal says
that something happened (a flow changed, a batch of events was committed) or asks the replica
holding a job to act on it; what it refers to is read from the database, so a signal carries
ids, never the records themselves, and a lost signal costs a delay, never data: every listener
also looks again on its own from time to time, and after a lost connection.

Delivery is at most once, to every replica including the sender (handlers skip their own by
its ``from`` field when they need to), in the order sent by each sender.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("routilux.engine")

Message = dict[str, Any]
Handler = Callable[[Message], object]

MAX_MESSAGE_BYTES = 7_000
"""A signal's JSON at most (PostgreSQL's NOTIFY payloads stop at 8,000 bytes)."""


class Signals(Protocol):
    """Topics to send to and handle; handlers run on the event loop and must not block."""

    def on(self, topic: str, handler: Handler) -> None:
        """Call ``handler`` with each message of ``topic`` (register before :meth:`start`)."""
        ...

    def on_reconnect(self, handler: Callable[[], object]) -> None:
        """Call ``handler`` after the connection was lost and is back: signals may have been
        missed meanwhile, so whatever they would have said should be looked up again."""
        ...

    async def send(self, topic: str, message: Message) -> None:
        """Send ``message`` to every replica listening to ``topic`` (itself included)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class Dispatch:
    """The handlers of each topic, shared by the implementations."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Handler]] = {}
        self.reconnected: list[Callable[[], object]] = []

    def on(self, topic: str, handler: Handler) -> None:
        self.handlers.setdefault(topic, []).append(handler)

    def on_reconnect(self, handler: Callable[[], object]) -> None:
        self.reconnected.append(handler)

    def deliver(self, topic: str, message: Message) -> None:
        for handler in self.handlers.get(topic, ()):
            try:
                handler(message)
            except Exception:
                log.exception("a %s signal could not be handled", topic)

    def reconnect(self) -> None:
        for handler in self.reconnected:
            try:
                handler()
            except Exception:
                log.exception("resynchronising after a lost signal connection failed")


class NoSignals(Dispatch):
    """A process alone on its database: nothing to tell anyone, nothing to hear."""

    async def send(self, topic: str, message: Message) -> None:
        return None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class MemoryBoard:
    """Signals between runtimes in one process (engine tests: replicas on one MemoryStore).
    Each runtime gets its own :meth:`member`; a message reaches every member on its loop."""

    def __init__(self) -> None:
        self.members: list[MemorySignals] = []


class MemorySignals(Dispatch):
    def __init__(self, board: MemoryBoard) -> None:
        super().__init__()
        self._board = board

    async def send(self, topic: str, message: Message) -> None:
        loop = asyncio.get_running_loop()
        for member in tuple(self._board.members):
            loop.call_soon(member.deliver, topic, dict(message))

    async def start(self) -> None:
        if self not in self._board.members:
            self._board.members.append(self)

    async def close(self) -> None:
        if self in self._board.members:
            self._board.members.remove(self)
