"""The bus makes its events without the dataclass ``__init__``: they must be the same events; and
an event reserved (a job's end, stored with its final record) holds the later ones back, so that
everyone sees the ids in order."""

from __future__ import annotations

import dataclasses

import pytest

from routilux.engine.events import Event, EventBus, EventType


def test_published_events_are_ordinary_frozen_events() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.add_sink(seen.append)
    event = bus.publish(
        EventType.ROUTINE_COMPLETED, flow_id="f", job_id="j", worker_id="w", routine_id="r"
    )
    assert seen == [event]
    again = Event(
        id=event.id,
        type=EventType.ROUTINE_COMPLETED,
        timestamp=event.timestamp,
        flow_id="f",
        job_id="j",
        worker_id="w",
        routine_id="r",
        data={},
    )
    assert event == again
    assert repr(event) == repr(again)
    assert dataclasses.asdict(event) == dataclasses.asdict(again)
    assert event.timestamp.tzinfo is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.id = 0  # type: ignore[misc]
    later = bus.publish(EventType.JOB_COMPLETED, data={"x": 1})
    assert later.id > event.id and later.data == {"x": 1} and later.flow_id is None


def test_a_reserved_event_holds_the_later_ones_until_it_is_announced() -> None:
    bus = EventBus()
    stored: list[int] = []
    seen: list[int] = []
    bus.store_sink = lambda e: stored.append(e.id)
    bus.add_sink(lambda e: seen.append(e.id))
    feed = bus.subscribe()
    before = bus.publish(EventType.ROUTINE_COMPLETED, job_id="a")
    end_a = bus.reserve(EventType.JOB_COMPLETED, job_id="a")
    end_b = bus.reserve(EventType.JOB_FAILED, job_id="b")
    after = bus.publish(EventType.JOB_STARTED, job_id="c")
    assert stored == [before.id, after.id]  # the reserved ones are stored by their caller
    assert seen == [before.id]  # the rest wait
    bus.announce(end_b)
    assert seen == [before.id]  # a's end, reserved first, is not announced yet
    bus.announce(end_a)
    assert seen == [before.id, end_a.id, end_b.id, after.id]
    offered = []
    while (event := feed.get_nowait()) is not None:
        offered.append(event.id)
    assert offered == seen == sorted(seen)
    last = bus.publish(EventType.JOB_QUEUED)
    assert seen[-1] == last.id  # nothing reserved: offered at once


def test_a_sink_of_some_types_sees_those_only_in_order_with_the_others() -> None:
    bus = EventBus()
    every: list[str] = []
    ends: list[str] = []
    bus.add_sink(lambda e: every.append(e.job_id or ""))
    bus.add_sink(lambda e: ends.append(e.job_id or ""), [EventType.JOB_COMPLETED])
    bus.publish(EventType.ROUTINE_STARTED, job_id="a")
    bus.publish(EventType.JOB_COMPLETED, job_id="a")
    end = bus.reserve(EventType.JOB_COMPLETED, job_id="b")
    bus.publish(EventType.ROUTINE_COMPLETED, job_id="c")
    bus.announce(end)  # a held event goes to the sinks of its type too
    assert every == ["a", "a", "b", "c"]
    assert ends == ["a", "b"]
