"""routilux_client end to end: a live server, driven only through the generated client and its
helpers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from routilux_client.api.breakpoints import (
    create_breakpoint,
    delete_breakpoint,
    get_breakpoint,
    resume_breakpoint,
)
from routilux_client.api.flows import create_flow, execute_flow, get_flow
from routilux_client.api.jobs import cancel_job, get_job, list_jobs
from routilux_client.api.routine_types import list_routine_types
from routilux_client.api.workers import pause_worker, resume_worker
from routilux_client.helpers import (
    ProblemError,
    RoutiluxClient,
    aiterate,
    connect,
    create_flow_yaml,
    events,
    iterate,
    stream_events,
    unwrap,
    wait_for_job,
    wait_for_job_sync,
)
from routilux_client.models import (
    BreakpointCreate,
    BreakpointResume,
    Event,
    EventType,
    FlowCreate,
    Job,
    JobExecute,
    JobExecuteData,
    JobStatus,
    Problem,
    WorkerStatus,
)
from tests.client.conftest import reach, unique
from tests.live import LiveServer
from tests.poll import stays_async

GREET_YAML = Path(__file__).with_name("greet.yaml")


def flow(flow_id: str, routines: dict[str, Any], *connections: tuple[str, str]) -> FlowCreate:
    return FlowCreate.from_dict(
        {
            "flow_id": flow_id,
            "routines": routines,
            "connections": [{"from": a, "to": b} for a, b in connections],
        }
    )


def data(**values: Any) -> JobExecute:
    return JobExecute(data=JobExecuteData.from_dict(values))


def pipeline(flow_id: str) -> FlowCreate:
    return flow(
        flow_id,
        {
            "shape": {
                "class": "Mapper",
                "config": {"mappings": {"name": "user.name", "age": "age"}},
            },
            "adults": {"class": "Filter", "config": {"condition": "data.age >= 18"}},
        },
        ("shape.output", "adults.input"),
    )


async def create(client: RoutiluxClient, body: FlowCreate) -> str:
    return unwrap(await create_flow.asyncio(client=client, body=body)).flow_id


async def test_list_routine_types(client: RoutiluxClient) -> None:
    page = unwrap(await list_routine_types.asyncio(client=client))
    types = {t.name: t for t in page.items}
    assert {"Delay", "Filter", "Mapper"} <= types.keys()
    assert page.total == len(page.items) and page.next_cursor is None
    delay = types["Delay"]
    assert delay.slots == ["input"] and delay.events == ["output"]
    assert "seconds" in delay.config_schema.to_dict()["properties"]


async def test_create_a_flow_from_a_yaml_file_and_run_it(client: RoutiluxClient) -> None:
    response = await create_flow_yaml.asyncio_detailed(client=client, body=GREET_YAML.read_text())
    created = unwrap(response)
    assert response.status_code == 201 and response.headers["location"] == "/api/v1/flows/greet"
    assert created.flow_id == "greet" and created.name == "Greetings" and created.revision == 1
    assert created.routines.to_dict()["adults"]["class"] == "Filter"
    stored = created.to_dict()
    assert stored.pop("warnings", []) == []  # what looks wrong: said on create, not stored
    assert unwrap(await get_flow.asyncio("greet", client=client)).to_dict() == stored
    job = unwrap(
        await execute_flow.asyncio("greet", client=client, body=data(user={"name": "Ada"}, age=36))
    )
    assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    done = await wait_for_job(client, job.job_id, timeout=10)
    assert done.status == JobStatus.COMPLETED
    assert done.output.to_dict() == {"adults.passed": [{"name": "Ada", "age": 36}]}
    assert done.finished_at is not None and done.finished_at.tzinfo is not None


async def test_execute_twice_with_one_idempotency_key_gives_one_job(
    client: RoutiluxClient,
) -> None:
    flow_id = await create(client, pipeline(unique("idem")))
    jobs = [
        unwrap(
            await execute_flow.asyncio(
                flow_id, client=client, body=data(age=20), idempotency_key="order-42"
            )
        )
        for _ in range(2)
    ]
    assert jobs[0].job_id == jobs[1].job_id
    listed = unwrap(await list_jobs.asyncio(client=client, flow_id=flow_id))
    assert listed.total == 1 and listed.items[0].job_id == jobs[0].job_id
    other = await execute_flow.asyncio(
        flow_id, client=client, body=data(age=21), idempotency_key="order-42"
    )
    assert isinstance(other, Problem) and other.status == 422


async def test_cancel_a_long_job(client: RoutiluxClient) -> None:
    flow_id = await create(
        client, flow(unique("slow"), {"wait": {"class": "Delay", "config": {"seconds": 30}}})
    )
    job = unwrap(await execute_flow.asyncio(flow_id, client=client, body=data()))
    await reach(client, job.job_id, JobStatus.RUNNING)
    started = time.monotonic()
    first = await cancel_job.asyncio_detailed(job.job_id, client=client)
    assert first.status_code in (200, 202)
    assert unwrap(first).status in (JobStatus.CANCELLING, JobStatus.CANCELLED)
    done = await wait_for_job(client, job.job_id, timeout=10)
    assert done.status == JobStatus.CANCELLED and time.monotonic() - started < 10
    again = await cancel_job.asyncio_detailed(job.job_id, client=client)
    assert again.status_code == 200 and unwrap(again).status == JobStatus.CANCELLED


async def test_pause_a_worker_then_resume_it(client: RoutiluxClient) -> None:
    step = {"class": "Delay", "config": {"seconds": 0.3}}
    flow_id = await create(
        client,
        flow(unique("steps"), {"first": step, "second": step}, ("first.output", "second.input")),
    )
    job = unwrap(await execute_flow.asyncio(flow_id, client=client, body=data(n=1)))
    await reach(client, job.job_id, JobStatus.RUNNING)
    worker = unwrap(await pause_worker.asyncio(job.worker_id, client=client))
    assert worker.status == WorkerStatus.PAUSED
    # Unpaused, the job would be done in 0.6 s; paused, it stops once `first` is through.
    held = await reach(client, job.job_id, JobStatus.PAUSED)

    async def still_held() -> bool:
        still = unwrap(await get_job.asyncio(job.job_id, client=client))
        return (
            still.status == JobStatus.PAUSED
            and still.progress.to_dict()["second"]["completed"] == 0
            and still.output.to_dict() == {}
        )

    # Held throughout twice the time `second` takes (0.3 s): unpaused, it would have run by then.
    await stays_async(still_held, seconds=0.6, what="the job held before `second`")
    assert held.status == JobStatus.PAUSED
    resumed = unwrap(await resume_worker.asyncio(job.worker_id, client=client))
    assert resumed.status != WorkerStatus.PAUSED
    done = await wait_for_job(client, job.job_id, timeout=10)
    assert done.status == JobStatus.COMPLETED
    assert done.output.to_dict() == {"second.output": [{"n": 1}]}


async def test_a_breakpoint_pauses_a_job_until_resumed(client: RoutiluxClient) -> None:
    flow_id = await create(client, pipeline(unique("debug")))
    breakpoint_ = unwrap(
        await create_breakpoint.asyncio(
            client=client,
            body=BreakpointCreate(flow_id=flow_id, routine_id="adults", condition="data.age > 60"),
        )
    )
    job = unwrap(await execute_flow.asyncio(flow_id, client=client, body=data(age=70)))
    paused = await reach(client, job.job_id, JobStatus.PAUSED)
    assert paused.paused_at is not None
    assert paused.paused_at.breakpoint_id == breakpoint_.breakpoint_id
    assert paused.paused_at.routine_id == "adults"
    assert paused.paused_at.payload.to_dict() == {"name": None, "age": 70}
    seen = unwrap(await get_breakpoint.asyncio(breakpoint_.breakpoint_id, client=client))
    assert seen.hit_count == 1 and seen.waiting_jobs == [job.job_id]
    resumed = unwrap(
        await resume_breakpoint.asyncio(
            breakpoint_.breakpoint_id, client=client, body=BreakpointResume(job_id=job.job_id)
        )
    )
    assert resumed.resumed_jobs == [job.job_id]
    done = await wait_for_job(client, job.job_id, timeout=10)
    assert done.status == JobStatus.COMPLETED
    assert done.output.to_dict() == {"adults.passed": [{"name": None, "age": 70}]}
    deleted = await delete_breakpoint.asyncio_detailed(breakpoint_.breakpoint_id, client=client)
    assert deleted.status_code == 204 and unwrap(deleted) is None


async def test_stream_a_jobs_events_to_job_completed(client: RoutiluxClient) -> None:
    flow_id = await create(client, pipeline(unique("watched")))
    seen: list[Event] = []
    async with stream_events(client, flow_id=flow_id) as stream:
        job = unwrap(await execute_flow.asyncio(flow_id, client=client, body=data(age=40)))
        async with asyncio.timeout(10):
            async for event in stream:
                seen.append(event)
                if event.type_ in events.TERMINAL_JOB_EVENTS:
                    break
    types = [e.type_ for e in seen]
    assert types[0] == EventType.JOB_QUEUED and types[-1] == EventType.JOB_COMPLETED
    assert EventType.ROUTINE_STARTED in types and EventType.EVENT_EMITTED in types
    assert all(e.job_id == job.job_id and e.flow_id == flow_id for e in seen)
    ids = [e.id for e in seen]
    assert ids == sorted(set(ids))
    # The same story again, replayed from the store: `since=0` and a job filter.
    replayed: list[Event] = []
    async with stream_events(client, job_id=job.job_id, since=0) as stream:
        async with asyncio.timeout(10):
            async for event in stream:
                replayed.append(event)
                if event.id == ids[-1]:
                    break
    assert [e.id for e in replayed] == ids


async def test_problems_come_back_as_models(client: RoutiluxClient, server: LiveServer) -> None:
    missing = await get_job.asyncio("job_nope", client=client)
    assert isinstance(missing, Problem)
    assert (missing.status, missing.code) == (404, "job_not_found")
    with pytest.raises(ProblemError) as raised:
        unwrap(await get_flow.asyncio_detailed("nope", client=client))
    assert raised.value.status == 404 and raised.value.code == "flow_not_found"

    flow_id = await create(client, pipeline(unique("twice")))
    again = await create_flow.asyncio(client=client, body=pipeline(flow_id))
    assert isinstance(again, Problem)
    assert (again.status, again.code) == (409, "flow_already_exists")

    invalid = flow(
        unique("broken"),
        {"a": {"class": "Nope"}, "b": {"class": "Filter", "config": {"condition": "data.("}}},
        ("b.passed", "x.input"),
    )
    with pytest.raises(ProblemError) as raised:
        unwrap(await create_flow.asyncio(client=client, body=invalid))
    assert raised.value.status == 422 and raised.value.code == "invalid_flow"
    locations = [e.loc for e in raised.value.errors]
    assert ["body", "routines", "a", "class"] in locations
    assert ["body", "routines", "b", "config", "condition"] in locations
    assert ["body", "connections", 0, "to"] in locations

    async with connect(server.base_url) as anonymous:
        refused = await list_jobs.asyncio(client=anonymous)
    assert isinstance(refused, Problem) and refused.status == 401


async def test_page_through_120_jobs_each_exactly_once(client: RoutiluxClient) -> None:
    flow_id = await create(client, pipeline(unique("many")))

    async def execute(age: int) -> str:
        body = data(age=age)
        return unwrap(await execute_flow.asyncio(flow_id, client=client, body=body)).job_id

    created = [await execute(n) for n in range(120)]
    seen: list[Job] = []
    async for job in aiterate(list_jobs.asyncio, client=client, flow_id=flow_id, limit=7):
        seen.append(job)
        if len(seen) == 7:  # newer jobs arriving meanwhile must not shift the pages
            await asyncio.gather(*(execute(n) for n in range(5)))
    ids = [job.job_id for job in seen]
    assert len(ids) == len(set(ids)) == 120 and set(ids) == set(created)
    times = [job.created_at for job in seen]
    assert times == sorted(times, reverse=True)


def test_iterate_and_wait_synchronously(sync_client: RoutiluxClient) -> None:
    flow_id = unwrap(create_flow.sync(client=sync_client, body=pipeline(unique("sync")))).flow_id
    jobs = [
        unwrap(execute_flow.sync(flow_id, client=sync_client, body=data(age=n))) for n in range(3)
    ]
    done = [wait_for_job_sync(sync_client, j.job_id, timeout=10) for j in jobs]
    assert [j.status for j in done] == [JobStatus.COMPLETED] * 3
    listed = list(iterate(list_jobs.sync, client=sync_client, flow_id=flow_id, limit=2))
    assert sorted(j.job_id for j in listed) == sorted(j.job_id for j in jobs)
    assert [j.status for j in listed] == [JobStatus.COMPLETED] * 3


async def test_wait_falls_back_to_polling_without_a_stream(
    client: RoutiluxClient, sync_client: RoutiluxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "EVENTS_PATH", "/api/v1/ws/nowhere")
    flow_id = await create(
        client, flow(unique("polled"), {"wait": {"class": "Delay", "config": {"seconds": 0.3}}})
    )
    first, second = [
        unwrap(await execute_flow.asyncio(flow_id, client=client, body=data(n=n))) for n in range(2)
    ]
    done = await wait_for_job(client, first.job_id, timeout=10, poll_interval=0.05)
    assert done.status == JobStatus.COMPLETED
    done = wait_for_job_sync(sync_client, second.job_id, timeout=10, poll_interval=0.05)
    assert done.status == JobStatus.COMPLETED
    slow = await create(
        client, flow(unique("late"), {"wait": {"class": "Delay", "config": {"seconds": 30}}})
    )
    running = unwrap(await execute_flow.asyncio(slow, client=client, body=data()))
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.3 s"):
        await wait_for_job(client, running.job_id, timeout=0.3, poll_interval=0.05)
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.3 s"):
        wait_for_job_sync(sync_client, running.job_id, timeout=0.3, poll_interval=0.05)
    unwrap(await cancel_job.asyncio(running.job_id, client=client))
