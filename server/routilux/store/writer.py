"""The group-commit writer: one thread, one connection, one transaction per batch.

Callers on the event loop append entries to a queue and return at once. The thread takes
everything queued, writes it in one transaction (rows of the same record coalesce, last state
wins; events go in with one executemany), commits, and only then resolves the futures of the
durable entries in that batch. A thousand concurrent ``await insert_job(...)`` thus cost a handful
of commits (and fsyncs) instead of a thousand.

If a batch fails, its entries are retried one per transaction, so one bad entry fails only its
own caller; write-behind entries that still fail are logged and dropped. Only a batch that
someone waits for waits at its commit for the disk (see :func:`database.transaction`).

Back-pressure: events (the bulk of what is written) wait in a lane of their own, bounded by
``max_events``, and a batch takes as many of them as are written in a few milliseconds (see
:mod:`routilux.store.pace`), so a durable write (a new job, a flow) never waits behind more than
one short batch however fast a job publishes. When the lane is full, the store leaves
routine-level events out of the history (``drop_event``: counted in ``dropped_events`` and
logged); job, flow and worker events are always written.
Nothing else can grow with a job's work: job and worker rows are written a few times per job,
and a job's checkpoints go in bounded slices (:func:`routilux.store.batches.bounded`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from sqlalchemy import Connection, Engine

from routilux.engine.errors import QueueFull, StoreUnavailable
from routilux.store import database
from routilux.store.batches import (
    CHECKPOINT_ROWS_PER_BATCH,
    CHECKPOINT_ROWS_WHILE_WAITED,
    Entry,
    Kind,
    Row,
    apply,
    bounded,
    checkpoint_row_count,
    lane_bytes,
)
from routilux.store.pace import Pace
from routilux.store.retention import Retention
from routilux.store.settling import settle, settle_written

log = logging.getLogger("routilux.store")


REST_AT_MOST = 0.05
"""Seconds the writer rests at most between two batches while events pile up."""
DROP_LOG_INTERVAL = 10.0
"""Seconds between two warnings that events are being left out."""


CONFLICT_ATTEMPTS = 5
"""How many times a batch is written when the database rolls it back for a conflict (PostgreSQL:
a deadlock or a serialization failure between processes sharing it)."""
CONFLICT_PAUSE = 0.01
"""Seconds before writing it again, times the attempts made."""
RECONNECT_FIRST = 0.1
"""Seconds before the writer's first attempt to reconnect; doubled per failure."""
RECONNECT_AT_MOST = 2.0
"""Seconds between two attempts to reconnect at most."""


class WriterClosed(RuntimeError):
    pass


class _Lost(Exception):
    """The connection went away while writing ``entries`` (none of them committed)."""

    def __init__(self, entries: list[Entry]) -> None:
        super().__init__("the connection to the database was lost")
        self.entries = entries


class Writer:
    def __init__(
        self,
        engine: Engine,
        retention: Retention,
        *,
        prune_interval: float,
        max_events: int = 50_000,
        max_event_bytes: int = 64 * 1024 * 1024,
        numbered: bool = False,
        fenced: bool = True,
    ) -> None:
        self._engine = engine
        self.fenced = fenced  # see SqlStore
        # Processes share the database: events and log lines are numbered as they are committed
        # (batches.number), in one order for the deployment.
        self.numbered = numbered
        # What is written only with every event queued before it: a barrier, a prune, and
        # where events are numbered as they are committed, a job's end (its event must follow
        # the job's others).
        self._after_all_events = {Kind.BARRIER, Kind.PRUNE}
        if numbered:
            self._after_all_events.add(Kind.JOB_END)
        self._retention = retention
        self._prune_interval = prune_interval
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[Entry] = []
        self._events: list[Entry] = []  # the events' lane, bounded by max_events
        self.max_events = max_events
        self.max_event_bytes = max_event_bytes
        self.queued_event_bytes = 0  # the events' lane, as JSON (see lane_bytes)
        self.dropped_events = 0
        self._next_drop_log = 0.0
        self._stopping = False
        self._backlog_skipped = False
        self._takes = 0  # batches taken so far
        self.pace = Pace()  # how much of the backlogs a batch takes
        # Checkpoint rows queued per job, not yet taken by a batch (see checkpoint_backlog).
        self._checkpoint_rows: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self.connected = True  # False while the database cannot be reached (not ready)

    # -- the event loop's side ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="routilux-store-writer", daemon=True)
        self._thread.start()

    def submit(self, kind: Kind, payload: Any) -> None:
        """Write-behind: queued, committed with the next batch; nobody waits."""
        with self._cond:
            if self._stopping:
                log.debug("store closed; dropping a %s write", kind.name)
                return
            if kind is Kind.CHECKPOINT:
                payload["taken_after"] = self._takes
                self._count_checkpoint(payload, 1)
            if kind is Kind.EVENT or kind is Kind.LOG:
                self._events.append((kind, payload, None))
                self.queued_event_bytes += lane_bytes(kind, payload)
            else:
                self._queue.append((kind, payload, None))
            if len(self._queue) + len(self._events) == 1:
                self._cond.notify()

    def drop_event(self, droppable: bool, size: int = 0) -> bool:
        """Whether to leave an event out of the history: only a ``droppable`` one, when the
        events' lane is full (the database cannot keep up), by count (ask before making the row)
        or by bytes (ask again with the row's ``size``)."""
        if not droppable or (
            len(self._events) < self.max_events
            and self.queued_event_bytes + size <= self.max_event_bytes
        ):
            return False
        self.dropped_events += 1
        now = time.monotonic()
        if now >= self._next_drop_log:
            self._next_drop_log = now + DROP_LOG_INTERVAL
            log.warning(
                "the database cannot keep up with the events published: routine-level events "
                "are left out of the stored history (%d so far)",
                self.dropped_events,
            )
        return True

    @property
    def queued_events(self) -> int:
        return len(self._events)

    def checkpoint_backlog(self, job_id: str) -> int:
        """Rows of ``job_id``'s checkpoints queued and not yet taken by a batch: how far the
        database is behind that job (a job that runs ahead of it waits, see the engine's drain)."""
        return self._checkpoint_rows.get(job_id, 0)

    def _count_checkpoint(self, payload: Row, sign: int) -> None:
        job_id = payload["job_id"]
        rows = self._checkpoint_rows.get(job_id, 0) + sign * checkpoint_row_count(payload)
        if rows > 0:
            self._checkpoint_rows[job_id] = rows
        else:
            self._checkpoint_rows.pop(job_id, None)

    def submit_durable(self, kind: Kind, payload: Any) -> asyncio.Future[None]:
        """Queued like any write; the future resolves once its batch is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._cond:
            if self._stopping:
                raise WriterClosed("the store is closed")
            if not self.connected:
                raise StoreUnavailable()  # refused at once while the writer reconnects
            self._queue.append((kind, payload, future))
            self._cond.notify()  # also ends a rest (see _serve)
        return future

    def stop(self) -> None:
        """Commit what is queued, then end the thread (blocking: call it from a thread)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    # -- the writer thread ----------------------------------------------------------------------

    def _take(self, timeout: float) -> tuple[list[Entry], bool]:
        """Everything queued, and the oldest events up to a batch's worth (all of them if a
        barrier or a prune waits, or when stopping: it must follow everything queued before)."""
        with self._cond:
            if not self._queue and not self._events and not self._stopping and timeout > 0:
                self._cond.wait(timeout)
            # Someone waits: their batch goes first, with little of the checkpoints' backlog,
            # every other batch (so that a stream of callers cannot hold the backlog back).
            waiting = any(future is not None for _, _, future in self._queue)
            short = waiting and not self._backlog_skipped
            budget = CHECKPOINT_ROWS_WHILE_WAITED if short else CHECKPOINT_ROWS_PER_BATCH
            if self._stopping:
                entries, self._queue = self._queue, []  # the last batch: everything
            else:
                entries, self._queue = bounded(self._queue, budget, self._takes)
            self._takes += 1
            for kind, payload, _ in entries:
                if kind is Kind.CHECKPOINT:
                    self._count_checkpoint(payload, -1)
            self._backlog_skipped = short and bool(self._queue)
            events, most = self._events, self.pace.events
            if (
                len(events) <= most
                or self._stopping
                or any(kind in self._after_all_events for kind, _, _ in entries)
            ):
                self._events = []
            elif any(future is not None for _, _, future in entries):
                events = []  # someone waits: their batch goes first, without the backlog
            else:
                events, self._events = events[:most], events[most:]
            if self._events:
                self.queued_event_bytes -= sum(lane_bytes(k, p) for k, p, _ in events)
            else:
                self.queued_event_bytes = 0
            entries += events
            return entries, self._stopping

    def _run(self) -> None:
        pause = RECONNECT_FIRST
        while True:
            try:
                with self._engine.connect() as conn:
                    self._retention.open(conn)
                    if not self.connected:
                        log.warning("store writer connected to the database again")
                    self.connected = True
                    pause = RECONNECT_FIRST
                    self._serve(conn)
                    return
            except Exception as exc:
                if self.connected:
                    cause = exc.__cause__ if isinstance(exc, _Lost) else exc
                    log.error("store writer lost the database (%s); reconnecting", cause)
                self.connected = False
                # Whoever waits is failed at once (503, retry later) rather than hung; what was
                # written behind (job states, events) stays queued for the next connection.
                lost = exc.entries if isinstance(exc, _Lost) else []
                entries, stopping = self._take(0)
                self._requeue(lost + entries)
                unavailable = StoreUnavailable()
                unavailable.__cause__ = exc.__cause__ if isinstance(exc, _Lost) else exc
                settle(lost + entries, unavailable)
                if stopping:
                    left = len(self._queue) + len(self._events)
                    if left:
                        log.error("store closed without a database: %d writes are lost", left)
                    return
                with self._cond:
                    if not self._stopping:
                        self._cond.wait(pause)
                pause = min(pause * 2, RECONNECT_AT_MOST)

    def _requeue(self, entries: list[Entry]) -> None:
        """Put write-behind entries back at the head of their queues, in their order."""
        behind = [e for e in entries if e[2] is None]
        if not behind:
            return
        with self._cond:
            lane = [e for e in behind if e[0] is Kind.EVENT or e[0] is Kind.LOG]
            self.queued_event_bytes += sum(lane_bytes(k, p) for k, p, _ in lane)
            self._events = lane + self._events
            for kind, payload, _ in behind:
                if kind is Kind.CHECKPOINT:
                    self._count_checkpoint(payload, 1)
            self._queue = [
                e for e in behind if e[0] is not Kind.EVENT and e[0] is not Kind.LOG
            ] + self._queue

    def _serve(self, conn: Connection) -> None:
        next_prune = time.monotonic() + self._prune_interval
        more = False
        while True:
            wait = 0.0 if more else next_prune - time.monotonic()
            entries, stopping = self._take(wait)
            prune_waiters = [e for e in entries if e[0] is Kind.PRUNE]
            if entries:
                started = time.monotonic()
                self._write(conn, entries)
                rows = sum(
                    checkpoint_row_count(payload) if kind is Kind.CHECKPOINT else 1
                    for kind, payload, _ in entries
                )  # about: before rows of one record coalesce
                self.pace.note(rows, time.monotonic() - started)
                if (self._events or self._queue) and not stopping:
                    # Events or checkpoints are piling up: rest as long as the batch took, so
                    # that the event loop gets the interpreter at least half of the time
                    # (durable writes end the rest at once).
                    self._rest(time.monotonic() - started)
            if more or prune_waiters or time.monotonic() >= next_prune:
                more = self._prune(conn, full=bool(prune_waiters))
                next_prune = time.monotonic() + self._prune_interval
                settle(prune_waiters, None)
            if stopping:
                return

    def _rest(self, seconds: float) -> None:
        with self._cond:
            # Checkpoints held back may be queued; only a caller waiting ends the rest.
            if not self._stopping and all(future is None for _, _, future in self._queue):
                self._cond.wait(min(seconds, REST_AT_MOST))

    def _write(self, conn: Connection, entries: list[Entry]) -> None:
        try:
            written, refused = self._commit(conn, entries)
        except Exception as exc:
            if database.unreachable(exc) or conn.invalidated:
                raise _Lost(entries) from exc
            log.warning(
                "a batch of %d writes failed; retrying one by one", len(entries), exc_info=True
            )
            self._write_one_by_one(conn, entries)
            return
        self._retention.note(written)
        settle_written((e for e in entries if e[0] is not Kind.PRUNE), refused)

    def _commit(
        self, conn: Connection, entries: list[Entry]
    ) -> tuple[list[Row], dict[str, QueueFull]]:
        """Write ``entries`` in one transaction; one that lost a conflict with another process's
        (a deadlock the database broke by rolling it back) runs again, a few times."""
        waited = any(future is not None for _, _, future in entries)
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                with database.transaction(conn, waited=waited):
                    return apply(conn, entries, numbered=self.numbered, fenced=self.fenced)
            except Exception as exc:
                if attempt == CONFLICT_ATTEMPTS or not database.conflicted(exc):
                    raise
                log.info(
                    "a batch lost a conflict with another process (%s); writing it again",
                    exc.__class__.__name__,
                )
                time.sleep(CONFLICT_PAUSE * attempt)
        raise AssertionError("unreachable")

    def _write_one_by_one(self, conn: Connection, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                written, refused = self._commit(conn, [entry])
            except Exception as exc:
                if entry[2] is None:
                    log.exception("dropping a %s write that cannot be committed", entry[0].name)
                settle([entry], exc)
                continue
            self._retention.note(written)
            if entry[0] is not Kind.PRUNE:
                settle_written([entry], refused)

    def _prune(self, conn: Connection, *, full: bool) -> bool:
        try:
            more = self._retention.prune(conn)
            while full and more:
                more = self._retention.prune(conn)
            return more
        except Exception:
            log.exception("pruning the store failed")
            return False
