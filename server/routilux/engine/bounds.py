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


class JobUsage:
    """What one job has used of its bounds so far: activations started, deliveries queued and
    not yet taken by an activation (with their estimated bytes), and its output as JSON. A step
    that passes a bound returns the error the job then fails with."""

    def __init__(self, limits: JobLimits, max_output_bytes: int) -> None:
        self.limits = limits
        self.max_output_bytes = max_output_bytes
        self.activations = 0
        self.backlog = 0  # deliveries queued or buffered, not yet taken by an activation
        self.backlog_bytes = 0
        self.output_bytes = 0

    def queued(self, size: int, routine_id: str) -> JobError | None:
        """One more delivery, of about ``size`` bytes, waits for ``routine_id``."""
        self.backlog += 1
        self.backlog_bytes += size
        limits = self.limits
        if self.backlog > limits.max_backlog or self.backlog_bytes > limits.max_backlog_bytes:
            return backlog_exceeded(limits, self.backlog, self.backlog_bytes, routine_id)
        return None

    def started(self, deliveries: int, size: int, routine_id: str) -> JobError | None:
        """An activation of ``routine_id`` takes ``deliveries`` of about ``size`` bytes and
        starts, unless the job started all the activations it may."""
        if self.activations >= self.limits.max_activations:
            return too_many_activations(self.limits, routine_id)
        self.activations += 1
        self.backlog -= deliveries
        self.backlog_bytes -= size
        return None

    def output(self, size: int, routine_id: str) -> JobError | None:
        """``routine_id`` adds ``size`` bytes to the job's output."""
        self.output_bytes += size
        if self.output_bytes > self.max_output_bytes:
            return output_too_large(self.max_output_bytes, routine_id)
        return None

    def released(self) -> None:
        """The job ended and dropped its queued deliveries."""
        self.backlog = self.backlog_bytes = 0
