"""Run slots on PostgreSQL (see routilux.engine.slots): each run slot of a flow is a session-level
advisory lock, held on a connection of this process's own. The database gives every one of them
back when that connection ends, a process killed with SIGKILL included, so no slot outlives the
process that held it; a process that lost its connection holds nothing any more and takes its
slots again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import URL

from routilux.store.database import advisory_key
from routilux.store.signals import conninfo, own_connection

log = logging.getLogger("routilux.store")

TRY_LOCKS = "SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)"
UNLOCK = "SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k"


def slot_key(key: str, index: int) -> int:
    """The advisory lock of a slot."""
    return advisory_key(f"routilux-slot:{key}:{index}")


class PgSlots:
    shared = True

    def __init__(self, url: URL) -> None:
        self._conninfo = conninfo(url)
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._held: dict[str, list[int]] = {}
        self._lost: list[Callable[[], None]] = []

    def on_lost(self, handler: Callable[[], None]) -> None:
        self._lost.append(handler)

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await own_connection(self._conninfo, "routilux-slots")
        return self._conn

    async def _drop(self) -> None:
        """The connection failed: its locks are gone with it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
        had = any(self._held.values())
        self._held.clear()
        if had:
            log.warning("run slots: the connection was lost with the slots it held; taking again")
            loop = asyncio.get_running_loop()
            for handler in self._lost:
                loop.call_soon(handler)

    async def take(self, key: str, limit: int, want: int) -> int:
        async with self._lock:
            held = self._held.setdefault(key, [])
            mine = set(held)
            # Each process starts looking at its own place, so that they seldom try the same.
            start = os.getpid() % max(limit, 1)
            order = [*range(start, limit), *range(start)]
            candidates = [k for k in (slot_key(key, i) for i in order) if k not in mine]
            got: list[int] = []
            try:
                conn = await self._connection()
                at = 0
                while len(got) < want and at < len(candidates):
                    chunk = candidates[at : at + want - len(got)]
                    at += len(chunk)
                    cursor = await conn.execute(TRY_LOCKS, (chunk,))
                    got += [row[0] for row in await cursor.fetchall()]
            except psycopg.Error:
                await self._drop()
                raise
            held.extend(got)
            return len(got)

    async def give_back(self, key: str, count: int) -> None:
        async with self._lock:
            held = self._held.get(key, [])
            keys = [held.pop() for _ in range(min(count, len(held)))]
            if not keys or self._conn is None:
                return
            try:
                await self._conn.execute(UNLOCK, (keys,))
            except psycopg.Error:
                await self._drop()
                raise

    async def give_back_all(self) -> None:
        async with self._lock:
            self._held.clear()
            if self._conn is not None:
                try:
                    await self._conn.execute("SELECT pg_advisory_unlock_all()")
                except psycopg.Error:
                    await self._drop()

    async def close(self) -> None:
        async with self._lock:
            self._held.clear()
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
