"""Signals between replicas over PostgreSQL's LISTEN/NOTIFY: every listener hears every message
(the sender too), in the order sent; a listener whose connection is cut reconnects by itself,
says so, and hears what is sent after."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from routilux.engine.signals import MAX_MESSAGE_BYTES
from routilux.store import database
from routilux.store.signals import PgSignals
from tests.poll import until_true


async def test_every_listener_hears_every_message_in_order(pg_database: str) -> None:
    url = database.parse(pg_database)
    a, b = PgSignals(url), PgSignals(url)
    heard: dict[str, list[int]] = {"a": [], "b": []}
    a.on("t", lambda m: heard["a"].append(m["n"]))
    b.on("t", lambda m: heard["b"].append(m["n"]))
    b.on("other", lambda m: heard["b"].append(-1))
    await a.start()
    await b.start()
    try:
        for n in range(20):
            await a.send("t", {"n": n})
        await until_true(lambda: len(heard["a"]) == 20 and len(heard["b"]) == 20, timeout=5)
        assert heard["a"] == heard["b"] == list(range(20))
        with pytest.raises(ValueError, match="too large"):
            await a.send("t", {"n": "x" * MAX_MESSAGE_BYTES})
    finally:
        await a.close()
        await b.close()


async def test_a_listener_cut_off_reconnects_and_says_so(pg_database: str) -> None:
    url = database.parse(pg_database)
    listener, sender = PgSignals(url), PgSignals(url)
    heard: list[int] = []
    reconnects: list[bool] = []
    listener.on("t", lambda m: heard.append(m["n"]))
    listener.on_reconnect(lambda: reconnects.append(True))
    await listener.start()
    engine = database.create(url, pool_size=1)
    try:
        with engine.begin() as conn:
            cut = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'routilux-signals'"
                )
            ).all()
        assert cut
        await until_true(lambda: reconnects == [True], timeout=10)
        await sender.send("t", {"n": 1})
        await until_true(lambda: heard == [1], timeout=5)
    finally:
        engine.dispose()
        await listener.close()
        await sender.close()
        await asyncio.sleep(0)
