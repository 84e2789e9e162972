"""Engine events and the in-process bus that fans them out.

Every state change is an :class:`Event` with a monotonically increasing id. Publishing never
blocks: each subscriber has a bounded buffer, and a subscriber that lets it fill up is cut off
(``overflowed``) rather than slowing the engine or anyone else; it can catch up from the store with
``since``.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol


class EventType(StrEnum):
    FLOW_CREATED = "flow.created"
    FLOW_DELETED = "flow.deleted"
    FLOW_UPDATED = "flow.updated"
    JOB_QUEUED = "job.queued"
    JOB_STARTED = "job.started"
    JOB_RECOVERED = "job.recovered"
    JOB_RETRIED = "job.retried"
    ROUTINE_STARTED = "routine.started"
    ROUTINE_COMPLETED = "routine.completed"
    ROUTINE_FAILED = "routine.failed"
    ROUTINE_RETRYING = "routine.retrying"
    ROUTINE_SKIPPED = "routine.skipped"
    EVENT_EMITTED = "event.emitted"
    BREAKPOINT_HIT = "breakpoint.hit"
    JOB_PAUSED = "job.paused"
    JOB_RESUMED = "job.resumed"
    JOB_CANCELLING = "job.cancelling"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    WORKER_PAUSED = "worker.paused"
    WORKER_RESUMED = "worker.resumed"
    REPLICA_JOINED = "replica.joined"
    REPLICA_LOST = "replica.lost"


TERMINAL_JOB_EVENTS = frozenset(
    {EventType.JOB_COMPLETED, EventType.JOB_FAILED, EventType.JOB_CANCELLED}
)


@dataclass(frozen=True, slots=True)
class Event:
    """The envelope shared by the WebSocket stream and a job's event history."""

    id: int
    type: EventType
    timestamp: datetime
    flow_id: str | None = None
    job_id: str | None = None
    worker_id: str | None = None
    routine_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a subscriber wants; an empty field matches everything."""

    flow_ids: frozenset[str] = frozenset()
    job_ids: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()

    def matches(self, event: Event) -> bool:
        return (
            (not self.flow_ids or event.flow_id in self.flow_ids)
            and (not self.job_ids or event.job_id in self.job_ids)
            and (not self.types or event.type in self.types)
        )


BURST_FACTOR = 10
"""A subscriber's buffer may hold this many times its size during a burst."""
BEHIND_GRACE = 1.0
"""Seconds a subscriber may stay over its buffer size before it is cut off."""


class Subscription:
    """One subscriber's bounded buffer. Iterate with ``await get()``; ``close()`` when done."""

    def __init__(self, bus: EventBus, filters: Iterable[EventFilter], maxsize: int) -> None:
        self._bus = bus
        self.filters = list(filters)
        self._everything = not self.filters
        # ``maxsize`` is how far behind a subscriber may stay; a burst (one activation emitting
        # many events at once, before any reader can run) may go up to BURST_FACTOR times that.
        self.maxsize = maxsize
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._behind_since: float | None = None
        self.overflowed = False
        self.closed = False
        # Called (inside publish) when the buffer overflows, so that whoever owns this
        # subscription learns of it even while its reader is stuck; must not block or raise.
        self.on_overflow: Callable[[], None] | None = None

    def wants(self, event: Event) -> bool:
        return self._everything or any(f.matches(event) for f in self.filters)

    def set_filters(self, filters: Iterable[EventFilter] | None) -> None:
        """Change what is offered from now on: None is every event, an empty list none at all."""
        self.filters = list(filters or ())
        self._everything = filters is None

    def _offer(self, event: Event) -> None:
        if self.closed or not self.wants(event):
            return
        size = self._queue.qsize()
        if size >= self.maxsize:
            now = time.monotonic()
            if self._behind_since is None:
                self._behind_since = now
            if size >= self.maxsize * BURST_FACTOR or now - self._behind_since > BEHIND_GRACE:
                self.overflowed = True
                self._detach()
                if self.on_overflow is not None:
                    self.on_overflow()
                return
        else:
            self._behind_since = None
        self._queue.put_nowait(event)

    async def get(self) -> Event | None:
        """The next event, or None once the subscription is closed or overflowed."""
        if self.closed and self._queue.empty():
            return None
        return await self._queue.get()

    def get_nowait(self) -> Event | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._detach()

    def _detach(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus._unsubscribe(self)
        self._queue.put_nowait(None)  # wakes a reader blocked in get()


def _event_maker() -> Callable[..., Event]:
    """``Event(...)`` at half the cost: the frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` for each field, this sets its slots directly. Every event published
    is made here, several per routine activation."""
    new = object.__new__
    slots = [Event.__dict__[f.name].__set__ for f in fields(Event)]
    (set_id, set_type, set_timestamp, set_flow, set_job, set_worker, set_routine, set_data) = slots

    def make(
        id: int,
        type: EventType,
        timestamp: datetime,
        flow_id: str | None,
        job_id: str | None,
        worker_id: str | None,
        routine_id: str | None,
        data: dict[str, Any],
    ) -> Event:
        event: Event = new(Event)
        set_id(event, id)
        set_type(event, type)
        set_timestamp(event, timestamp)
        set_flow(event, flow_id)
        set_job(event, job_id)
        set_worker(event, worker_id)
        set_routine(event, routine_id)
        set_data(event, data)
        return event

    return make


_new_event = _event_maker()
_now = datetime.now  # what clock.utcnow does, without a call more per event


class EventBus:
    """Assigns ids and fans events out to subscribers and sinks, without ever blocking."""

    def __init__(
        self,
        last_id: int = 0,
        *,
        buffer_size: int = 1000,
    ) -> None:
        self._last_id = last_id
        self._subscribers: list[Subscription] = []
        # The sinks of each type of event, in the order they were added (see add_sink).
        self._sinks: dict[EventType, tuple[Callable[[Event], None], ...]] = dict.fromkeys(
            EventType, ()
        )
        self.buffer_size = buffer_size
        # Where each event published is stored (write-behind), before anyone sees it.
        self.store_sink: Callable[[Event], None] | None = None
        # Ids reserved (reserve) and not yet announced, in order; events published meanwhile
        # wait in ``_held`` (a heap by id), so that everyone sees the ids in order.
        self._reserved: list[int] = []
        self._held: list[tuple[int, Event]] = []

    @property
    def last_id(self) -> int:
        return self._last_id

    def add_sink(
        self, sink: Callable[[Event], None], types: Iterable[EventType] | None = None
    ) -> None:
        """A sink sees every event (or every event of ``types``) synchronously, before
        subscribers. One that wants a few types names them: the bus then calls it for those
        only, instead of once per event of every job."""
        for kind in EventType if types is None else types:
            self._sinks[kind] += (sink,)

    def publish(
        self,
        type: EventType,
        *,
        flow_id: str | None = None,
        job_id: str | None = None,
        worker_id: str | None = None,
        routine_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        return self.emit(type, flow_id, job_id, worker_id, routine_id, data)

    def emit(
        self,
        type: EventType,
        flow_id: str | None,
        job_id: str | None,
        worker_id: str | None,
        routine_id: str | None,
        data: dict[str, Any] | None,
    ) -> Event:
        """:meth:`publish` with every field given in order: what the engine calls for the
        events of its jobs, several per routine activation."""
        # Ids follow the clock (microseconds) and never go back: after a crash, events that were
        # not yet stored cannot have their ids handed out again to different events. (Processes
        # sharing a database have them replaced by the deployment's as they are stored, and
        # read the deployment's stream from there: engine/event_tail.py.)
        event_id = time.time_ns() // 1000
        if event_id <= self._last_id:
            event_id = self._last_id + 1
        self._last_id = event_id
        event = _new_event(
            event_id, type, _now(UTC), flow_id, job_id, worker_id, routine_id, data or {}
        )
        if self.store_sink is not None:
            self.store_sink(event)
        if self._reserved:
            heapq.heappush(self._held, (event_id, event))
        else:
            self._offer(event)
        return event

    def _offer(self, event: Event) -> None:
        for sink in self._sinks[event.type]:
            sink(event)
        if self._subscribers:
            for subscriber in tuple(self._subscribers):
                subscriber._offer(event)

    def reserve(
        self,
        type: EventType,
        *,
        flow_id: str | None = None,
        job_id: str | None = None,
        worker_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        """An event with its id, that the caller stores together with the state it announces
        (a job's end: the final record and its event in one commit, so that a crash never
        keeps one without the other), then offers with :meth:`announce`. It is not handed to
        the store sink; the events published until it is announced wait for it."""
        self._last_id = max(self._last_id + 1, time.time_ns() // 1000)
        event = _new_event(
            self._last_id, type, _now(UTC), flow_id, job_id, worker_id, None, data or {}
        )
        self._reserved.append(event.id)
        return event

    def announce(self, event: Event) -> None:
        """Offer a reserved event (stored by then), and the events that waited for it."""
        self._reserved.remove(event.id)
        heapq.heappush(self._held, (event.id, event))
        first_reserved = self._reserved[0] if self._reserved else None
        held = self._held
        while held and (first_reserved is None or held[0][0] < first_reserved):
            self._offer(heapq.heappop(held)[1])

    def deliver(self, event: Event) -> None:
        """Offer an event numbered elsewhere (the deployment's stream, engine/event_tail.py) to
        the subscribers, as published: its id must be above every one before."""
        self._last_id = event.id
        for subscriber in tuple(self._subscribers):
            subscriber._offer(event)

    def advance_to(self, event_id: int) -> None:
        """Ids go on above ``event_id``: the events up to it were published before (a restart)
        or offered already (or were wanted by nobody)."""
        self._last_id = max(self._last_id, event_id)

    def subscribe(
        self, filters: Iterable[EventFilter] = (), *, buffer_size: int | None = None
    ) -> Subscription:
        subscription = Subscription(self, filters, buffer_size or self.buffer_size)
        self._subscribers.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def crowded(self) -> bool:
        """Whether a subscriber holds a full buffer (it reads slower than events come)."""
        return any(s.pending() >= s.maxsize for s in self._subscribers)


class JobPublisher(Protocol):
    """Publishes the events of one job (its flow, worker and job ids filled in)."""

    def publish(
        self, type: EventType, *, routine_id: str | None = None, data: dict[str, Any] | None = None
    ) -> None: ...


class JobAnnouncer(JobPublisher, Protocol):
    """And reserves the event of its end, stored with its final record (EventBus.reserve)."""

    def reserve(self, type: EventType, *, data: dict[str, Any] | None = None) -> Event: ...

    def announce(self, event: Event) -> None: ...


class _JobIds(Protocol):
    flow_id: str
    job_id: str
    worker_id: str


class JobEvents:
    """A :class:`JobAnnouncer` for ``job`` on ``bus`` (the ids are read as each event goes)."""

    def __init__(self, bus: EventBus, job: _JobIds) -> None:
        self._bus = bus
        self._job = job

    def publish(
        self, type: EventType, *, routine_id: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        job = self._job
        self._bus.emit(type, job.flow_id, job.job_id, job.worker_id, routine_id, data)

    def reserve(self, type: EventType, *, data: dict[str, Any] | None = None) -> Event:
        job = self._job
        return self._bus.reserve(
            type, flow_id=job.flow_id, job_id=job.job_id, worker_id=job.worker_id, data=data
        )

    def announce(self, event: Event) -> None:
        self._bus.announce(event)
