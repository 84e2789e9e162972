"""list_jobs (keyset pagination, filters, totals), job events and the event replay."""

from __future__ import annotations

from datetime import timedelta

from routilux.engine.events import EventFilter, EventType
from routilux.engine.models import JobStatus
from routilux.store import SqlStore
from tests.store.conftest import BASE, make_event, make_job


async def test_pages_are_newest_first_and_stable_under_inserts(store: SqlStore) -> None:
    for i in range(30):
        await store.insert_job(make_job(i))
    seen: list[str] = []
    cursor = None
    extra = 100
    while True:
        page = await store.list_jobs(limit=7, cursor=cursor)
        seen.extend(job.job_id for job in page.items)
        # Others keep inserting between pages: the pages neither skip nor repeat.
        for _ in range(3):
            await store.insert_job(make_job(extra))
            extra += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"job_{i:06d}" for i in reversed(range(30))]


async def test_last_page_has_no_cursor(store: SqlStore) -> None:
    for i in range(6):
        await store.insert_job(make_job(i))
    first = await store.list_jobs(limit=3)
    assert first.next_cursor is not None and first.total == 6
    second = await store.list_jobs(limit=3, cursor=first.next_cursor)
    assert [j.job_id for j in second.items] == ["job_000002", "job_000001", "job_000000"]
    assert second.next_cursor is None and second.total == 6
    assert (await store.list_jobs(limit=6)).next_cursor is None
    empty = await store.list_jobs(flow_id="nothing")
    assert (empty.items, empty.next_cursor, empty.total) == ([], None, 0)


async def test_updates_keep_a_job_in_place(store: SqlStore) -> None:
    jobs = [make_job(i) for i in range(3)]
    for job in jobs:
        await store.insert_job(job)
    jobs[0].status = JobStatus.COMPLETED
    await store.save_job(jobs[0])
    page = await store.list_jobs()
    assert [j.job_id for j in page.items] == ["job_000002", "job_000001", "job_000000"]


async def test_filters_and_totals(store: SqlStore) -> None:
    statuses = [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.QUEUED]
    for i in range(30):
        await store.insert_job(
            make_job(
                i,
                status=statuses[i % 3],
                flow_id=f"flow-{i % 2}",
                worker_id=f"wrk-{i % 5}",
            )
        )

    async def ids(**filters: object) -> tuple[list[int], int]:
        page = await store.list_jobs(limit=100, **filters)  # type: ignore[arg-type]
        return [int(j.job_id[4:]) for j in page.items], page.total

    done, total = await ids(statuses=[JobStatus.COMPLETED])
    assert done == [i for i in reversed(range(30)) if i % 3 == 0] and total == 10
    # A status given twice counts once.
    either, total = await ids(statuses=[JobStatus.FAILED, JobStatus.COMPLETED, JobStatus.FAILED])
    assert either == [i for i in reversed(range(30)) if i % 3 != 2] and total == 20
    flow, total = await ids(flow_id="flow-1")
    assert flow == [i for i in reversed(range(30)) if i % 2 == 1] and total == 15
    worker, total = await ids(worker_id="wrk-4", statuses=[JobStatus.QUEUED])
    assert worker == [i for i in reversed(range(30)) if i % 5 == 4 and i % 3 == 2]
    assert total == len(worker)
    window, total = await ids(
        created_after=BASE + timedelta(seconds=10), created_before=BASE + timedelta(seconds=15)
    )
    assert window == [14, 13, 12, 11] and total == 4

    # total ignores the cursor; the page honours both.
    first = await store.list_jobs(flow_id="flow-0", limit=4)
    second = await store.list_jobs(flow_id="flow-0", limit=4, cursor=first.next_cursor)
    assert first.total == second.total == 15
    assert [int(j.job_id[4:]) for j in second.items] == [20, 18, 16, 14]


async def test_job_events_after_and_limit(store: SqlStore) -> None:
    for i in range(1, 21):
        store.save_event_later(make_event(i, job_id="job_a" if i % 2 else "job_b"))
    await store.flush()
    events = await store.list_job_events("job_a")
    assert [e.id for e in events] == list(range(1, 21, 2))
    assert [e.id for e in await store.list_job_events("job_a", after=5, limit=3)] == [7, 9, 11]
    assert await store.list_job_events("job_a", after=19) == []
    assert await store.list_job_events("job_none") == []


async def test_list_events_filters(store: SqlStore) -> None:
    rows = [
        make_event(1, flow_id="f1", job_id="j1", type=EventType.JOB_QUEUED),
        make_event(2, flow_id="f1", job_id="j1", type=EventType.JOB_STARTED),
        make_event(3, flow_id="f2", job_id="j2", type=EventType.JOB_QUEUED),
        make_event(4, flow_id="f2", job_id=None, type=EventType.FLOW_DELETED),
        make_event(5, flow_id="f1", job_id="j1", type=EventType.JOB_COMPLETED),
    ]
    for event in rows:
        store.save_event_later(event)
    await store.flush()

    async def ids(*filters: EventFilter, after: int = 0, limit: int = 1000) -> list[int]:
        return [e.id for e in await store.list_events(after=after, filters=filters, limit=limit)]

    assert await ids() == [1, 2, 3, 4, 5]
    assert await ids(after=2, limit=2) == [3, 4]
    assert await ids(EventFilter(flow_ids=frozenset({"f2"}))) == [3, 4]
    assert await ids(EventFilter(job_ids=frozenset({"j1"}), types=frozenset({"job.queued"}))) == [1]
    # Any filter matching is enough.
    assert await ids(
        EventFilter(types=frozenset({EventType.JOB_COMPLETED})),
        EventFilter(job_ids=frozenset({"j2"})),
    ) == [3, 5]
    # An empty filter matches everything.
    assert await ids(EventFilter(flow_ids=frozenset({"nope"})), EventFilter()) == [1, 2, 3, 4, 5]
    assert await ids(EventFilter(flow_ids=frozenset({"nope"}))) == []
