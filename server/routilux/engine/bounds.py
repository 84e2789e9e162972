"""The bounds on one job's work, the errors a job fails with when it passes one, and the release
of what a job that ended holds.

A job that passes a bound fails with the bound's code; what it still held (queued inputs,
buffers) is freed a slice per turn of the event loop, so that no turn is long.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from routilux.engine.models import JobError


@dataclass(frozen=True)
class JobLimits:
    """Server-wide bounds on the work of one job; a job that passes one fails with its code."""

    max_activations: int = 50_000
    """Activations one job may start (``too_many_activations``)."""
    max_backlog: int = 100_000
    """Deliveries queued in one job, not yet taken by an activation (``job_backlog_exceeded``)."""
    max_backlog_bytes: int = 32 * 1024 * 1024
    """Their estimated bytes (see :mod:`routilux.engine.sizes`) (``job_backlog_exceeded``)."""
    max_seconds: float = 3600.0
    """Wall time of a job; a flow's ``execution.timeout`` may only lower it (``job_timeout``)."""


def job_timeout(timeout: float, *, flows: bool) -> JobError:
    """The job ran longer than ``timeout`` (the flow's own limit if ``flows``)."""
    whose = "the flow's" if flows else "the server's"
    return JobError(
        code="job_timeout",
        type="JobTimeout",
        message=f"the job ran longer than {whose} limit of {timeout:g} s",
    )


def too_many_activations(limits: JobLimits, routine_id: str) -> JobError:
    return JobError(
        code="too_many_activations",
        type="TooManyActivations",
        message=f"the job started {limits.max_activations} activations, the most one job may "
        "start (a cycle with nothing that stops it?)",
        routine_id=routine_id,
    )


def backlog_exceeded(
    limits: JobLimits, backlog: int, backlog_bytes: int, routine_id: str
) -> JobError:
    return JobError(
        code="job_backlog_exceeded",
        type="JobBacklogExceeded",
        message=f"the job queued more than {limits.max_backlog} deliveries or "
        f"{limits.max_backlog_bytes} bytes not yet taken by a routine "
        f"({backlog} deliveries, about {backlog_bytes} bytes)",
        routine_id=routine_id,
    )


def output_too_large(limit: int, routine_id: str) -> JobError:
    return JobError(
        code="output_too_large",
        type="OutputTooLarge",
        message=f"the job's output exceeds {limit} bytes",
        routine_id=routine_id,
    )


RELEASE_SLICE = 5000
"""Queued items freed per turn of the event loop when a job ends with a backlog."""


def release(held: list[deque[Any]]) -> None:
    """Free the items of ``held`` a slice per turn of the loop, so that no turn is long."""
    held = [items for items in held if items]
    if not held:
        return
    budget = RELEASE_SLICE
    while held and budget > 0:
        items = held[-1]
        take = min(budget, len(items))
        for _ in range(take):
            items.pop()
        budget -= take
        if not items:
            held.pop()
    if held:
        asyncio.get_running_loop().call_soon(release, held)
