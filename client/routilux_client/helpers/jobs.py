"""Waiting for a job to finish: long polls of the generated ``get_job`` with ``wait``, one
request at a time.

The server answers a long poll as soon as the job is finished or paused, or after ``wait``
seconds (at most 60) with the job as it is then; the helpers ask again until the job has
finished or their own ``timeout`` is up. No WebSocket is needed, and nothing is missed between
two requests: each one reads the job's current state. A poll never asks to wait longer than the
client's own read timeout allows (``connect(timeout=)``, 30 s by default), so it is answered
before the client would give up on it.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from routilux_client.api.jobs import get_job
from routilux_client.helpers.connection import RoutiluxClient
from routilux_client.helpers.problems import unwrap
from routilux_client.models.job import Job
from routilux_client.models.job_status import JobStatus

FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
LONGEST_POLL = 60.0
"""The longest ``wait`` the server accepts."""
_READ_MARGIN = 10.0  # seconds a long poll's answer may take beyond its wait
RETRY_FOR = 30.0
"""Seconds the helpers keep asking while the server cannot be reached (a restart, a long poll cut
by the server's shutdown) before they give up and raise the transport error."""


class _Unreachable:
    """When the server stopped answering: a transport error is retried for ``RETRY_FOR`` s."""

    def __init__(self) -> None:
        self.since: float | None = None

    def failed(self, error: httpx.TransportError) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = now
        elif now - self.since > RETRY_FOR:
            raise error

    def answered(self) -> None:
        self.since = None


def _late(job_id: str, timeout: float) -> TimeoutError:
    return TimeoutError(f"job {job_id} did not finish within {timeout} s")


def _longest_wait(timeout: httpx.Timeout) -> float:
    """The longest ``wait`` a client with this timeout can ask for and still read the answer."""
    if timeout.read is None:
        return LONGEST_POLL
    return min(LONGEST_POLL, max(timeout.read - _READ_MARGIN, timeout.read / 2))


async def wait_for_job(
    client: RoutiluxClient,
    job_id: str,
    *,
    timeout: float = 60.0,
    poll_interval: float = 0.5,
    use_events: bool = True,
) -> Job:
    """The job once it has finished (completed, failed or cancelled).

    Long-polls ``get_job?wait=`` until the job has finished. While the job is paused (at a
    breakpoint, or its worker is), the server answers at once: the helper then waits
    ``poll_interval`` seconds between requests. Raises ``TimeoutError`` after ``timeout``
    seconds, and ``ProblemError`` if the job does not exist. A server that cannot be reached is
    asked again every ``poll_interval`` seconds for ``RETRY_FOR`` seconds (a restart), then its
    ``httpx.TransportError`` is raised. ``use_events`` is accepted for compatibility and no
    longer used.
    """
    del use_events
    longest = _longest_wait(client.get_async_httpx_client().timeout)
    deadline = time.monotonic() + timeout
    unreachable = _Unreachable()
    try:
        async with asyncio.timeout(timeout):
            while True:
                wait = round(min(longest, max(0.0, deadline - time.monotonic())), 3)
                try:
                    job = unwrap(await get_job.asyncio_detailed(job_id, client=client, wait=wait))
                except httpx.TransportError as error:
                    unreachable.failed(error)
                    await asyncio.sleep(poll_interval)
                    continue
                unreachable.answered()
                if job.status in FINISHED:
                    return job
                if time.monotonic() >= deadline:
                    raise _late(job_id, timeout)
                if job.status == JobStatus.PAUSED:
                    await asyncio.sleep(poll_interval)
    except TimeoutError:
        raise _late(job_id, timeout) from None


def wait_for_job_sync(
    client: RoutiluxClient,
    job_id: str,
    *,
    timeout: float = 60.0,
    poll_interval: float = 0.5,
    use_events: bool = True,
) -> Job:
    """``wait_for_job`` for synchronous code."""
    del use_events
    longest = _longest_wait(client.get_httpx_client().timeout)
    deadline = time.monotonic() + timeout
    unreachable = _Unreachable()
    while True:
        wait = round(min(longest, max(0.0, deadline - time.monotonic())), 3)
        job: Job | None
        try:
            job = unwrap(get_job.sync_detailed(job_id, client=client, wait=wait))
        except httpx.TransportError as error:
            unreachable.failed(error)
            job = None
        remaining = deadline - time.monotonic()
        if job is not None:
            unreachable.answered()
            if job.status in FINISHED:
                return job
        if remaining <= 0:
            raise _late(job_id, timeout)
        if job is None or job.status == JobStatus.PAUSED:
            time.sleep(min(poll_interval, remaining))
