"""Job log lines in the store: written behind in the events' bounded lane, read in order."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from routilux.engine.joblogs import JobLog
from routilux.store import SqlStore


def line(number: int, level: int = logging.INFO, job_id: str = "job_a") -> JobLog:
    return JobLog(
        id=number,
        job_id=job_id,
        flow_id="f",
        routine_id="r",
        activation=1,
        attempt=1,
        levelno=level,
        logger="tests",
        message=f"line {number}",
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def test_lines_round_trip_in_order_with_a_minimum_level(store: SqlStore) -> None:
    for number in (3, 1, 2):
        store.save_log_later(line(number, logging.WARNING if number == 2 else logging.INFO))
    store.save_log_later(line(4, job_id="job_b"))
    await store.flush()
    assert [x.message for x in await store.list_job_logs("job_a")] == [
        "line 1",
        "line 2",
        "line 3",
    ]
    assert await store.list_job_logs("job_a", after=1, limit=1) == [line(2, logging.WARNING)]
    warned = await store.list_job_logs("job_a", min_level=logging.WARNING)
    assert [x.id for x in warned] == [2]


async def test_lines_are_left_out_while_the_lane_is_full(store: SqlStore) -> None:
    store._writer.max_events = 0  # as if the database could not keep up
    for number in range(1, 6):
        store.save_log_later(line(number))
    await store.flush()
    assert await store.list_job_logs("job_a") == []
    assert store.logs_left_out == 5
