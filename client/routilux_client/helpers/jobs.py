"""Waiting for a job to finish: on the event stream, or by polling when there is none."""

from __future__ import annotations

import asyncio
import time

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect as ws_connect_sync

from routilux_client.api.jobs import get_job
from routilux_client.helpers.connection import RoutiluxClient
from routilux_client.helpers.events import (
    TERMINAL_JOB_EVENTS,
    EventStream,
    StreamError,
    events_url,
    parse_frame,
    stream_headers,
)
from routilux_client.helpers.problems import unwrap
from routilux_client.models.job import Job
from routilux_client.models.job_status import JobStatus

FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


def _late(job_id: str, timeout: float) -> TimeoutError:
    return TimeoutError(f"job {job_id} did not finish within {timeout} s")


async def wait_for_job(
    client: RoutiluxClient,
    job_id: str,
    *,
    timeout: float = 60.0,
    poll_interval: float = 0.5,
    use_events: bool = True,
) -> Job:
    """The job once it has finished (completed, failed or cancelled).

    Waits for its terminal event on the event stream (``since=0`` replays it if the job is
    already done), then reads the job, whose final state is stored before that event is sent.
    Without a stream (refused, unreachable, or ``use_events=False``) it polls ``get_job`` every
    ``poll_interval`` seconds. Raises ``TimeoutError`` after ``timeout`` seconds, and
    ``ProblemError`` if the job does not exist.
    """
    try:
        async with asyncio.timeout(timeout):
            job = unwrap(await get_job.asyncio(job_id, client=client))
            if job.status in FINISHED:
                return job
            if use_events:
                stream = EventStream(
                    client,
                    job_id=job_id,
                    types=TERMINAL_JOB_EVENTS,
                    since=0,
                    retry_for=min(5.0, timeout),
                )
                try:
                    async with stream:
                        async for _finished in stream:
                            return unwrap(await get_job.asyncio(job_id, client=client))
                except StreamError:
                    pass
            while True:
                await asyncio.sleep(poll_interval)
                job = unwrap(await get_job.asyncio(job_id, client=client))
                if job.status in FINISHED:
                    return job
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
    """``wait_for_job`` for synchronous code; a dropped stream falls back to polling."""
    deadline = time.monotonic() + timeout
    job = unwrap(get_job.sync(job_id, client=client))
    if job.status in FINISHED:
        return job
    if use_events:
        http = client.get_httpx_client()
        url = events_url(http.base_url, job_id=job_id, types=TERMINAL_JOB_EVENTS, since=0)
        try:
            with ws_connect_sync(
                url,
                additional_headers=stream_headers(http.headers),
                open_timeout=min(10.0, timeout),
                max_size=None,
            ) as websocket:
                # Control frames (subscribed ...) parse to None; the only events are terminal.
                while True:
                    message = websocket.recv(timeout=max(0.0, deadline - time.monotonic()))
                    if parse_frame(message) is not None:
                        break
            return unwrap(get_job.sync(job_id, client=client))
        except (OSError, InvalidHandshake, ConnectionClosed, StreamError):
            if time.monotonic() >= deadline:
                raise _late(job_id, timeout) from None
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(poll_interval, remaining))
        job = unwrap(get_job.sync(job_id, client=client))
        if job.status in FINISHED:
            return job
    raise _late(job_id, timeout)
