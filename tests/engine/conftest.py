"""Fixtures of the engine tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from routilux.engine import MemoryStore, Runtime, RuntimeSettings
from tests.engine.support import Pair, registry


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    """Two replicas on one in-memory store (signals and run slots shared in process)."""
    store = MemoryStore(exclusive=False)
    settings = RuntimeSettings(replica_heartbeat_seconds=0.05, replica_lease_seconds=2.0)
    a, b = Runtime(registry(), store, settings), Runtime(registry(), store, settings)
    await a.start()
    await b.start()
    yield a, b
    await b.shutdown()
    await a.shutdown()
