"""Resolving the futures of written entries: on the event loops their callers wait on, from the
writer's thread, one callback per loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from routilux.engine.errors import QueueFull
from routilux.store.batches import Entry, Kind


def settle(entries: Iterable[Entry], exc: BaseException | None) -> None:
    """Resolve the waiting futures of ``entries`` on their loops, one callback per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for _, _, future in entries:
        if future is not None:
            by_loop.setdefault(future.get_loop(), []).append(future)
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, futures, exc)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting any more


def settle_written(entries: Iterable[Entry], refused: dict[str, QueueFull]) -> None:
    """Resolve the futures of a written batch's ``entries``; the new jobs it ``refused`` fail."""
    if not refused:
        settle(entries, None)
        return
    written: list[Entry] = []
    for entry in entries:
        kind, payload, _ = entry
        exc = refused.get(payload[0]["job_id"]) if kind is Kind.JOB_INSERT else None
        if exc is None:
            written.append(entry)
        else:
            settle([entry], exc)
    settle(written, None)


def _resolve(futures: list[asyncio.Future[None]], exc: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue  # the caller was cancelled; the write happened regardless
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)
