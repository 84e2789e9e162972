"""One live server for the client tests (``routilux serve`` on 127.0.0.1 and a free port, with a
fresh database and an API key), driven only through routilux_client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from routilux_client.api.jobs import get_job
from routilux_client.helpers import RoutiluxClient, connect, unwrap
from routilux_client.models import Job, JobStatus
from tests.live import LiveServer, live_server
from tests.poll import until

API_KEY = "client-test-key"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server"), api_key=API_KEY) as running:
        yield running


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[RoutiluxClient]:
    async with connect(server.base_url, API_KEY) as client:
        yield client


@pytest.fixture
def sync_client(server: LiveServer) -> Iterator[RoutiluxClient]:
    with connect(server.base_url, API_KEY) as client:
        yield client


def unique(prefix: str) -> str:
    """A fresh id: the tests of a module share one server."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def reach(
    client: RoutiluxClient, job_id: str, *statuses: JobStatus, timeout: float = 10
) -> Job:
    """The job once it is in one of ``statuses`` (polled quickly: a test wants the moment)."""

    async def reached() -> Job | None:
        job = unwrap(await get_job.asyncio(job_id, client=client))
        return job if job.status in statuses else None

    return await until(reached, timeout=timeout, what=f"job {job_id} in {statuses}")
