"""Idempotency keys: stored with the job or flow they created, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from routilux.engine.models import FlowRecord
from routilux.engine.spec import FlowSpec
from routilux.engine.storage import Idempotency
from routilux.store import SqlStore
from tests.store.conftest import BASE, make_job


def make_flow(flow_id: str) -> FlowRecord:
    spec = FlowSpec.model_validate(
        {"flow_id": flow_id, "routines": {"shape": {"class": "Mapper", "config": {}}}}
    )
    return FlowRecord(flow_id, spec, 1, BASE, BASE)


async def test_keys_are_found_in_their_scope(store: SqlStore) -> None:
    await store.insert_job(make_job(1), Idempotency("key-1", "fp-1"))
    assert await store.find_idempotency("key-1", "default") == ("fp-1", "job_000001")
    assert await store.find_idempotency("key-1", "other-scope") is None
    assert await store.find_idempotency("key-2", "default") is None

    await store.save_flow(make_flow("flow-x"), Idempotency("key-1", "fp-2", scope="tenant-b"))
    assert await store.find_idempotency("key-1", "tenant-b") == ("fp-2", "flow-x")
    assert await store.find_idempotency("key-1", "default") == ("fp-1", "job_000001")


async def test_a_key_used_again_names_the_resource_made_last(store: SqlStore) -> None:
    """A key whose resource is gone creates it again: the key then names the new one."""
    await store.save_flow(make_flow("flow-x"), Idempotency("k", "fp", scope="create_flow"))
    await store.delete_flow("flow-x")
    await store.save_flow(make_flow("flow-y"), Idempotency("k", "fp", scope="create_flow"))
    assert await store.find_idempotency("k", "create_flow") == ("fp", "flow-y")


@contextmanager
def failing_insert(store: SqlStore, table: str) -> Iterator[None]:
    """Every statement of the store's writer that writes ``table`` fails, as a crash would
    interrupt the transaction there."""

    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if f"INTO {table} " in statement:
            raise RuntimeError(f"writing {table} failed")

    engine = store._write_engine
    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", fail)


@pytest.mark.parametrize("failing", ["flows", "idempotency"])
async def test_a_flow_and_its_key_commit_together(store: SqlStore, failing: str) -> None:
    key = Idempotency("k", "fp", scope="create_flow")
    with failing_insert(store, failing), pytest.raises(RuntimeError, match=failing):
        await store.save_flow(make_flow("flow-x"), key)
    # Whichever write failed, neither the flow nor its key was committed.
    assert (await store.load()).flows == []
    assert await store.get_flow_revision("flow-x", 1) is None
    assert await store.find_idempotency("k", "create_flow") is None

    await store.save_flow(make_flow("flow-x"), key)
    assert [f.flow_id for f in (await store.load()).flows] == ["flow-x"]
    assert await store.find_idempotency("k", "create_flow") == ("fp", "flow-x")


@pytest.mark.parametrize("failing", ["jobs", "idempotency"])
async def test_a_job_and_its_key_commit_together(store: SqlStore, failing: str) -> None:
    key = Idempotency("k", "fp", scope="execute_flow:flow-a")
    with failing_insert(store, failing), pytest.raises(RuntimeError, match=failing):
        await store.insert_job(make_job(1), key)
    assert await store.get_job("job_000001") is None
    assert await store.find_idempotency("k", "execute_flow:flow-a") is None

    await store.insert_job(make_job(1), key)
    assert await store.get_job("job_000001") is not None
    assert await store.find_idempotency("k", "execute_flow:flow-a") == ("fp", "job_000001")
