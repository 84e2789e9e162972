"""The bus makes its events without the dataclass ``__init__``: they must be the same events."""

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
