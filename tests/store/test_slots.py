"""Run slots on PostgreSQL: advisory locks shared by every process on the database, none taken
twice, and given back by the database itself when the connection holding them goes (a process
killed with SIGKILL holds none)."""

from __future__ import annotations

import psycopg

from routilux.engine import FlowSpec, JobStatus, Runtime, RuntimeSettings
from routilux.routines import default_registry
from routilux.store import SqlStore, database
from routilux.store.slots import PgSlots
from tests.engine.test_slots import Running
from tests.poll import until, until_true


async def test_slots_are_shared_given_back_and_freed_when_their_holder_dies(
    pg_database: str,
) -> None:
    url = database.parse(pg_database)
    a, b = PgSlots(url), PgSlots(url)
    lost: list[bool] = []
    a.on_lost(lambda: lost.append(True))
    try:
        assert await a.take("flow-1", 3, 2) == 2
        assert await b.take("flow-1", 3, 5) == 1  # the one left
        assert await b.take("flow-1", 3, 1) == 0
        assert await b.take("flow-2", 3, 1) == 1  # another flow's are its own
        await a.give_back("flow-1", 1)
        assert await b.take("flow-1", 3, 1) == 1
        assert await a.take("flow-1", 3, 1) == 0

        # a's connection dies (as with its process): the database frees what it held.
        conn = a._conn
        assert conn is not None
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))

        async def b_takes_one() -> bool:
            return await b.take("flow-1", 3, 1) == 1

        await until(b_takes_one, timeout=5, what="the dead connection's slot taken by b")
        # a learns it on its next use, takes again what is free, and says so.
        try:
            await a.take("flow-1", 3, 1)
        except psycopg.Error:
            pass
        await until_true(lambda: lost == [True], timeout=5, what="a told it lost its slots")
        assert await a.take("flow-1", 3, 1) == 0  # all three are b's now
    finally:
        await a.close()
        await b.close()


async def test_two_processes_together_run_no_more_of_a_flows_jobs_than_it_allows(
    pg_database: str,
) -> None:
    settings = RuntimeSettings(replica_heartbeat_seconds=0.2, replica_lease_seconds=2.0)
    stores = [SqlStore(pg_database), SqlStore(pg_database)]
    runtimes = [Runtime(default_registry(), store, settings) for store in stores]
    running = Running()
    try:
        for store, runtime in zip(stores, runtimes, strict=True):
            await store.open()
            await runtime.start()
            runtime.bus.add_sink(running)
        a, b = runtimes
        spec = {
            "routines": {"wait": {"class": "Delay", "config": {"seconds": 0.2}}},
            "connections": [],
            "execution": {"concurrency": 2},
        }
        flow = await a.create_flow(FlowSpec.model_validate(spec))
        await until_true(lambda: b.has_flow(flow.flow_id), timeout=5, what="b knows the flow")
        jobs = [(rt, await rt.execute(flow.flow_id, {"n": n})) for n in range(4) for rt in (a, b)]
        for rt, job in jobs:
            assert (await rt.wait_job(job.job_id, timeout=20)).status is JobStatus.COMPLETED
        assert running.most == 2
    finally:
        for store, runtime in zip(stores, runtimes, strict=True):
            await runtime.shutdown()
            await store.close()
