"""``wait_for_job`` / ``wait_for_job_sync`` long-poll ``get_job?wait=``: no stream, no polling."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from routilux_client.api.breakpoints import create_breakpoint, delete_breakpoint
from routilux_client.api.flows import create_flow, execute_flow
from routilux_client.api.jobs import cancel_job
from routilux_client.helpers import (
    RoutiluxClient,
    connect,
    unwrap,
    wait_for_job,
    wait_for_job_sync,
)
from routilux_client.models import BreakpointCreate, JobStatus
from tests.client.conftest import reach, unique
from tests.client.test_e2e import create, data, flow, pipeline
from tests.live import start_server, stop_server


async def test_waits_answer_when_the_job_ends_not_at_a_polling_interval(
    client: RoutiluxClient, sync_client: RoutiluxClient
) -> None:
    flow_id = await create(
        client, flow(unique("lp"), {"wait": {"class": "Delay", "config": {"seconds": 0.3}}})
    )
    requests: list[httpx.Request] = []
    client.get_async_httpx_client().event_hooks["request"] = [_record(requests)]
    for helper in ("async", "sync"):
        job = unwrap(await execute_flow.asyncio(flow_id, client=client, body=data()))
        started = time.monotonic()
        # A polling interval of 30 s: had the helper polled, it would take that long.
        if helper == "async":
            done = await wait_for_job(client, job.job_id, timeout=20, poll_interval=30)
        else:
            done = wait_for_job_sync(sync_client, job.job_id, timeout=20, poll_interval=30)
        elapsed = time.monotonic() - started
        assert done.status == JobStatus.COMPLETED
        assert elapsed < 5, (helper, elapsed)
    polls = [r for r in requests if r.url.path.startswith("/api/v1/jobs/")]
    assert polls and all("wait" in r.url.params for r in polls)
    assert len(polls) == 1  # the async helper's one long poll covered the whole job
    client.get_async_httpx_client().event_hooks["request"] = []


async def test_a_paused_job_is_waited_for_until_it_finishes(client: RoutiluxClient) -> None:
    flow_id = await create(client, pipeline(unique("paused")))
    bp = unwrap(
        await create_breakpoint.asyncio(
            client=client, body=BreakpointCreate(flow_id=flow_id, routine_id="adults")
        )
    )
    job = unwrap(await execute_flow.asyncio(flow_id, client=client, body=data(age=40)))
    await reach(client, job.job_id, JobStatus.PAUSED)
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.5 s"):
        await wait_for_job(client, job.job_id, timeout=0.5, poll_interval=0.05)
    await delete_breakpoint.asyncio_detailed(bp.breakpoint_id, client=client)
    done = await wait_for_job(client, job.job_id, timeout=10, poll_interval=0.05)
    assert done.status == JobStatus.COMPLETED


async def test_timeout_while_running(client: RoutiluxClient, sync_client: RoutiluxClient) -> None:
    flow_id = await create(
        client, flow(unique("slow"), {"wait": {"class": "Delay", "config": {"seconds": 30}}})
    )
    job = unwrap(await execute_flow.asyncio(flow_id, client=client, body=data()))
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.4 s"):
        wait_for_job_sync(sync_client, job.job_id, timeout=0.4)
    assert 0.4 <= time.monotonic() - started < 5
    unwrap(await cancel_job.asyncio(job.job_id, client=client))


def _record(requests: list[httpx.Request]) -> Callable[[httpx.Request], Awaitable[None]]:
    async def hook(request: httpx.Request) -> None:
        requests.append(request)

    return hook


def test_a_wait_outlives_a_server_restart(tmp_path: Path) -> None:
    """The server dies during a long poll and comes back on its address: the helper asks again
    and answers with the job as the restarted server finishes it (resumed from its checkpoint)."""
    server = start_server(tmp_path)
    try:
        with connect(server.base_url) as client:
            flow_id = unwrap(
                create_flow.sync(
                    client=client,
                    body=flow("slow", {"wait": {"class": "Delay", "config": {"seconds": 3}}}),
                )
            ).flow_id
            job = unwrap(execute_flow.sync(flow_id, client=client, body=data()))
            result: list[Any] = []
            waiting = threading.Thread(
                target=lambda: result.append(
                    wait_for_job_sync(client, job.job_id, timeout=60, poll_interval=0.1)
                )
            )
            waiting.start()
            stop_server(server, signal.SIGKILL)
            port = int(server.base_url.rsplit(":", 1)[1])
            server = start_server(tmp_path, port=port)
            waiting.join(timeout=60)
            assert not waiting.is_alive()
            assert result and result[0].status == JobStatus.COMPLETED
            assert result[0].job_id == job.job_id
    finally:
        stop_server(server)


def test_a_long_poll_never_outlasts_the_clients_read_timeout() -> None:
    from routilux_client.helpers.jobs import LONGEST_POLL, _longest_wait

    assert _longest_wait(httpx.Timeout(30.0)) == 20.0  # connect()'s default: answered in time
    assert _longest_wait(httpx.Timeout(4.0)) == 2.0  # a short timeout still waits a little
    assert _longest_wait(httpx.Timeout(600.0)) == LONGEST_POLL  # the server's own bound
    assert _longest_wait(httpx.Timeout(None)) == LONGEST_POLL
