"""The one sweep that keeps every connection's header and body deadlines (server/connections.py);
the timeouts it answers are tested end to end in tests/ops/test_http_bounds.py."""

from __future__ import annotations

import asyncio
import itertools

from routilux.server.connections import BoundedConfig, Deadlines
from tests.poll import stays_async, until_true

TICK = 0.01


class Connection:
    """Records the sweep's checks; ``closes`` makes it leave the sweep when checked (as a
    connection that times out closes)."""

    def __init__(self, deadlines: Deadlines, *, closes: bool = False) -> None:
        self.deadlines = deadlines
        self.closes = closes
        self.checked: list[float] = []

    def check_deadlines(self, now: float) -> None:
        self.checked.append(now)
        if self.closes:
            self.deadlines.discard(self)


async def test_the_sweep_checks_every_open_connection_once_a_tick() -> None:
    deadlines = Deadlines(TICK)
    loop = asyncio.get_running_loop()
    one, other = Connection(deadlines), Connection(deadlines)
    started = loop.time()
    deadlines.add(one, loop)
    deadlines.add(other, loop)
    await until_true(lambda: len(one.checked) >= 4, timeout=5, what="four sweeps")
    assert other.checked[:4] == one.checked[:4]  # one pass checks both, at the same loop time
    times = [started, *one.checked[:4]]
    assert all(b - a >= TICK * 0.9 for a, b in itertools.pairwise(times)), times


async def test_a_connection_gone_is_no_longer_checked_and_a_new_one_starts_the_sweep_again() -> (
    None
):
    deadlines = Deadlines(TICK)
    loop = asyncio.get_running_loop()
    closing = Connection(deadlines, closes=True)
    deadlines.add(closing, loop)
    await until_true(lambda: closing.checked, timeout=5, what="the first sweep")

    async def checked_once() -> bool:
        return len(closing.checked) == 1  # it left during the sweep that checked it

    await stays_async(checked_once, seconds=TICK * 5, what="one check of a closed connection")
    # Nothing was open: the sweep stopped; a connection that opens later is checked again.
    later = Connection(deadlines)
    deadlines.add(later, loop)
    await until_true(lambda: len(later.checked) >= 2, timeout=5, what="two sweeps")
    deadlines.discard(later)
    seen = len(later.checked)

    async def unchanged() -> bool:
        return len(later.checked) == seen

    await stays_async(unchanged, seconds=TICK * 5, what="no check after the connection left")


def test_the_tick_is_a_tenth_of_the_shorter_timeout_within_bounds() -> None:
    def tick(header: float, body: float) -> float:
        config = BoundedConfig(
            None,
            max_header_bytes=32_768,
            header_timeout=header,
            body_timeout=body,
            max_connections=10,
            max_connections_per_client=10,
        )
        return config.deadlines.tick

    assert tick(10, 60) == 1.0  # the defaults: answered 10 to 11 s after the first byte
    assert tick(2, 1) == 0.1
    assert tick(0.1, 60) == 0.05
