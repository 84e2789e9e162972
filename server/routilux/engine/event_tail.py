"""The deployment's events, in one order, for this process's subscribers (the WebSocket).

A process alone on its database streams its own bus: its ids are the stored ones. Processes
sharing a database have their events numbered as they are committed (the store holds one counter
whose lock orders the commits, see store/batches.number), so the stream of the deployment is the
stored events in id order: this tail reads them from the store as they come, woken by the
"events" signal each commit sends (and on its own every second, in case a signal is missed),
and offers them on its own bus. Subscribers there see every replica's events, once, in id order,
with the ids a ``since`` resumes from on any replica.

While nobody subscribes, it only follows the newest id, without reading events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from routilux.engine.background import cancel
from routilux.engine.events import BEHIND_GRACE, Event, EventBus
from routilux.engine.signals import Message, Signals

log = logging.getLogger("routilux.engine")

PAGE = 500
"""Events read at a time."""
LOOK_EVERY = 1.0
"""Seconds between two looks without a signal."""
DRAIN_STEP = 0.005
"""Seconds between two looks at subscribers with a full buffer."""

ReadEvents = Callable[..., Awaitable[Sequence[Event]]]


class EventTail:
    def __init__(
        self,
        read: ReadEvents,
        newest: Callable[[], Awaitable[int]],
        signals: Signals,
        *,
        buffer_size: int = 1000,
    ) -> None:
        """``read(after=, limit=)``: stored events above an id, in id order; ``newest()``: the
        highest id stored."""
        self._read = read
        self._newest = newest
        self.bus = EventBus(buffer_size=buffer_size)
        self._signalled = 0  # the highest id a signal announced
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.read_events = 0
        signals.on("events", self._on_signal)
        signals.on_reconnect(self._wake.set)

    @property
    def cursor(self) -> int:
        return self.bus.last_id

    async def start(self) -> None:
        self.bus.advance_to(await self._newest())
        self._task = asyncio.create_task(self._follow(), name="routilux-event-tail")

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel(task)

    def _on_signal(self, message: Message) -> None:
        last = message.get("last")
        if isinstance(last, int) and last > self._signalled:
            self._signalled = last
            self._wake.set()

    async def _follow(self) -> None:
        while True:
            # (asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
            # cancellation that close() sends, if the wake-up comes at the same moment.)
            try:
                async with asyncio.timeout(LOOK_EVERY):
                    await self._wake.wait()
                looked = False
            except TimeoutError:
                looked = True
            self._wake.clear()
            try:
                await self.catch_up(ask=looked)
            except Exception as exc:  # the store is away: look again later
                log.warning("the event stream could not be read (%s); trying again", exc)
                await asyncio.sleep(LOOK_EVERY)

    async def catch_up(self, *, ask: bool = True) -> None:
        """Offer every event committed so far (``ask``: without a signal saying how far)."""
        async with self._lock:
            if self.bus.subscriber_count == 0:
                newest = await self._newest() if ask else self._signalled
                if self.bus.subscriber_count == 0:  # (still: one may have come meanwhile)
                    self.bus.advance_to(newest)
                    return
            while True:
                page = await self._read(after=self.bus.last_id, limit=PAGE)
                self.read_events += len(page)
                for event in page:
                    self.bus.deliver(event)
                    if self.bus.crowded():
                        await self._drain()
                if len(page) < PAGE:
                    return

    async def _drain(self) -> None:
        """A page arrives at once, where a process's own events trickle: give subscribers with
        a full buffer the time to send it (as their own would have), up to the grace a
        subscriber has before it is cut off; one that does not read by then is cut off on the
        next event, as on any bus."""
        waited = 0.0
        while self.bus.crowded() and waited <= BEHIND_GRACE:
            await asyncio.sleep(DRAIN_STEP)
            waited += DRAIN_STEP
