"""Waiting for a condition: check it until it holds, and fail with what was last seen once a
deadline passes. A test never sleeps for a fixed time to let something happen; it waits for it.

``wait_until`` is for plain code; in coroutines, ``until`` checks a coroutine function and
``until_true`` a plain one, the event loop running on between checks. Each returns the
condition's first true value, so that a test can go on with what it waited for (a job, a
response). ``stays`` and ``stays_async`` are for what must not happen: a window checked
throughout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.01  # between checks: a test waits for a moment, so it looks often


class _Deadline:
    """``timeout`` s from now; ``check`` fails with what was last seen once it has passed."""

    def __init__(self, timeout: float, what: str | Callable[[], str]) -> None:
        self.timeout = timeout
        self.what = what
        self.at = time.monotonic() + timeout

    def check(self, last: object) -> None:
        if time.monotonic() < self.at:
            return
        description = self.what() if callable(self.what) else self.what
        seen = repr(last)
        if len(seen) > 2000:
            seen = seen[:2000] + "..."
        raise AssertionError(f"{description}: not within {self.timeout} s (last seen: {seen})")


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = INTERVAL,
    what: str | Callable[[], str] = "the condition",
) -> T:
    """``condition()``'s first true value, checked every ``interval`` s for ``timeout`` s."""
    deadline = _Deadline(timeout, what)
    while not (value := condition()):
        deadline.check(value)
        time.sleep(interval)
    return value


async def until(
    condition: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,
    interval: float = INTERVAL,
    what: str | Callable[[], str] = "the condition",
) -> T:
    """``wait_until`` for a coroutine function: the event loop runs on between checks."""
    deadline = _Deadline(timeout, what)
    while not (value := await condition()):
        deadline.check(value)
        await asyncio.sleep(interval)
    return value


async def until_true(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = INTERVAL,
    what: str | Callable[[], str] = "the condition",
) -> T:
    """``until`` for a plain function, such as a look at in-process state."""

    async def check() -> T | None:
        return condition()

    return await until(check, timeout=timeout, interval=interval, what=what)


def stays(
    condition: Callable[[], object],
    *,
    seconds: float,
    interval: float = INTERVAL,
    what: str = "the condition",
) -> None:
    """Check that ``condition()`` holds at every check for ``seconds`` s: for what must not
    happen, a window checked throughout rather than once after a sleep."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        assert value, f"{what} stopped holding (seen: {value!r})"
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


async def stays_async(
    condition: Callable[[], Awaitable[object]],
    *,
    seconds: float,
    interval: float = INTERVAL,
    what: str = "the condition",
) -> None:
    """``stays`` for coroutines."""
    deadline = time.monotonic() + seconds
    while True:
        value = await condition()
        assert value, f"{what} stopped holding (seen: {value!r})"
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(interval)
