"""Signals between replicas over PostgreSQL's LISTEN/NOTIFY (see routilux.engine.signals).

Two connections of their own, outside the pools: one LISTENs on every topic's channel and waits
for notifications (psycopg's ``notifies()`` holds its connection while it waits), the other
sends. Both are opened again after a failure; once the listening one is back, the reconnect
handlers run, since notifications sent meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from routilux import jsonutil
from routilux.engine.background import cancel
from routilux.engine.signals import MAX_MESSAGE_BYTES, Dispatch, Message
from routilux.store.database import CONNECT_TIMEOUT_S

log = logging.getLogger("routilux.store")

CHANNEL_PREFIX = "routilux_"
QUIET_CHECK = 5.0
"""Seconds without a notification after which the listening connection is checked."""
RECONNECT_EVERY = 1.0
"""Seconds between two attempts to reconnect."""


def conninfo(url: URL) -> str:
    """The libpq connection string of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def own_connection(info: str, name: str) -> psycopg.AsyncConnection:
    """A connection outside the pools, in autocommit, named ``name`` in pg_stat_activity (the
    signals' and the run slots': they hold a session, LISTEN or advisory locks)."""
    return await psycopg.AsyncConnection.connect(
        info, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name=name
    )


class PgSignals(Dispatch):
    def __init__(self, url: URL) -> None:
        super().__init__()
        self._conninfo = conninfo(url)
        self._task: asyncio.Task[None] | None = None
        self._sender: psycopg.AsyncConnection | None = None
        self._send_lock = asyncio.Lock()
        self.sent = 0
        self.received = 0

    async def _connect(self) -> psycopg.AsyncConnection:
        return await own_connection(self._conninfo, "routilux-signals")

    async def _listening(self) -> psycopg.AsyncConnection:
        conn = await self._connect()
        for topic in self.handlers:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL_PREFIX + topic)))
        return conn

    async def start(self) -> None:
        """Listen from now on (the first connection is made here: a failure raises)."""
        if self._task is not None:
            return
        first = await self._listening()
        self._task = asyncio.create_task(self._listen(first), name="routilux-signals")

    async def _listen(self, conn: psycopg.AsyncConnection | None) -> None:
        while True:
            try:
                if conn is None:
                    conn = await self._listening()
                    log.info("signals: listening again")
                    self.reconnect()
                async for note in conn.notifies(timeout=QUIET_CHECK):
                    self._received(note.channel, note.payload)
                await conn.execute("SELECT 1")  # a quiet spell: is the connection still there?
            except asyncio.CancelledError:
                if conn is not None:
                    await conn.close()
                raise
            except Exception as exc:
                log.warning("signals: the listening connection failed (%s); reconnecting", exc)
                if conn is not None:
                    await conn.close()
                conn = None
                await asyncio.sleep(RECONNECT_EVERY)

    def _received(self, channel: str, payload: str) -> None:
        if not channel.startswith(CHANNEL_PREFIX):
            return
        try:
            message = jsonutil.loads(payload)
        except ValueError:
            log.warning("signals: a malformed message on %s was ignored", channel)
            return
        if isinstance(message, dict):
            self.received += 1
            self.deliver(channel[len(CHANNEL_PREFIX) :], message)

    async def send(self, topic: str, message: Message) -> None:
        payload = jsonutil.dumps_str(message)
        if len(payload) > MAX_MESSAGE_BYTES:
            raise ValueError(f"a {topic} signal of {len(payload)} bytes is too large")
        async with self._send_lock:
            try:
                if self._sender is None or self._sender.closed:
                    self._sender = await self._connect()
                await self._sender.execute(
                    "SELECT pg_notify(%s, %s)", (CHANNEL_PREFIX + topic, payload)
                )
                self.sent += 1
            except psycopg.Error as exc:
                # At most once: the receivers look again by themselves (see the module's doc).
                log.warning("signals: a %s signal could not be sent (%s)", topic, exc)
                if self._sender is not None:
                    await self._sender.close()
                self._sender = None

    async def close(self) -> None:
        task, self._task = self._task, None
        await cancel(task)
        if self._sender is not None:
            await self._sender.close()
            self._sender = None
