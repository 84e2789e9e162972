"""Run slots: a worker's concurrency held for the deployment as a whole.

A worker runs at most ``concurrency`` jobs at once. A process alone on its database counts its
own runs (:class:`Unshared`). Processes sharing a database hold slots of the deployment's: on
PostgreSQL each slot is an advisory lock (store/slots.py), which the database releases by itself
when the process holding it dies, so a crash never leaks one. A process takes slots when it has
jobs to start and keeps them while it has more; with nothing queued it gives the surplus back
after :data:`LINGER` seconds (a job arriving meanwhile reuses one at no cost), at once when
another replica said it waits for one. A replica that could not take enough says so on the
"slots" signal and tries again when a slot is given back, or every :data:`RETRY` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from routilux.engine.background import cancel
from routilux.engine.signals import Message, Signals

log = logging.getLogger("routilux.engine")

LINGER = 0.05
"""Seconds a slot no job needs stays held, in case one comes."""
RETRY = 0.5
"""Seconds between two attempts of a replica that waits for slots, without a signal."""
WAITING_FOR = 2.0
"""Seconds another replica's "waiting" is believed without being said again."""


class SlotStore(Protocol):
    """The deployment's run slots, by flow (a worker runs one flow's jobs)."""

    @property
    def shared(self) -> bool:
        """Whether other processes may hold slots too (False: a process alone)."""
        ...

    async def take(self, key: str, limit: int, want: int) -> int:
        """Take up to ``want`` more of ``key``'s ``limit`` slots; return how many."""
        ...

    async def give_back(self, key: str, count: int) -> None: ...

    async def give_back_all(self) -> None:
        """Every slot this process holds (it was marked lost: its jobs are others' now)."""
        ...

    def on_lost(self, handler: Callable[[], None]) -> None:
        """Call ``handler`` when every slot held was lost with the store's connection."""
        ...

    async def close(self) -> None: ...


class Unshared:
    """A process alone: no slots to take; each worker's own count is the limit."""

    shared = False

    async def take(self, key: str, limit: int, want: int) -> int:
        return want

    async def give_back(self, key: str, count: int) -> None:
        return None

    async def give_back_all(self) -> None:
        return None

    def on_lost(self, handler: Callable[[], None]) -> None:
        return None

    async def close(self) -> None:
        return None


class MemorySlotBoard:
    """Slots shared by runtimes in one process (engine tests: replicas on one MemoryStore)."""

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def member(self) -> MemorySlots:
        return MemorySlots(self)


class MemorySlots:
    shared = True

    def __init__(self, board: MemorySlotBoard) -> None:
        self._board = board
        self.held: dict[str, int] = {}

    async def take(self, key: str, limit: int, want: int) -> int:
        used = self._board.used.get(key, 0)
        got = max(0, min(want, limit - used))
        self._board.used[key] = used + got
        self.held[key] = self.held.get(key, 0) + got
        return got

    async def give_back(self, key: str, count: int) -> None:
        count = min(count, self.held.get(key, 0))
        self.held[key] = self.held.get(key, 0) - count
        self._board.used[key] = self._board.used.get(key, 0) - count

    async def give_back_all(self) -> None:
        for key, count in list(self.held.items()):
            await self.give_back(key, count)

    def on_lost(self, handler: Callable[[], None]) -> None:
        return None  # kept in memory: never lost

    async def close(self) -> None:
        await self.give_back_all()


class SlotUser(Protocol):
    """A worker's run, as its slots see it."""

    @property
    def slots_key(self) -> str:
        """Whose slots: the flow's (one worker per flow; should two replicas each have made
        one for the same flow at the same moment, they still share the flow's limit)."""
        ...

    def slots_limit(self) -> int:
        """The worker's concurrency."""
        ...

    def slots_wanted(self) -> int:
        """The slots it could use now: its active jobs plus those it could start."""
        ...

    def slots_granted(self) -> None:
        """More slots were taken: start what they allow."""
        ...

    def slots_in_use(self) -> int:
        """Its active jobs: slots it cannot give back before they end."""
        ...


class WorkerSlots:
    """One worker's slots on this replica: how many it holds, taking and giving them back."""

    def __init__(
        self, user: SlotUser, store: SlotStore, signals: Signals, me: Callable[[], str | None]
    ) -> None:
        self.key = user.slots_key
        self._user = user
        self._store = store
        self._signals = signals
        self._me = me
        self.held = 0
        self._busy = False  # a take or give-back is under way
        self._again = False  # look again once it is done
        self._others_wait_until = 0.0
        self._task: asyncio.Task[None] | None = None

    def cap(self) -> int:
        """The most this replica runs at once: the whole limit, or half of it (at least one)
        while another replica waits for slots of this worker."""
        limit = self._user.slots_limit()
        return max(1, limit // 2) if self.others_wait() else limit

    def target(self) -> int:
        """The slots to hold now: what the worker could use, up to the cap, but never fewer
        than its active jobs use."""
        return max(min(self._user.slots_wanted(), self.cap()), self._user.slots_in_use())

    def balance(self) -> None:
        """Take or give back slots to match what the worker wants (in the background)."""
        if self._busy:
            self._again = True
            return
        if self.target() == self.held:
            return
        self._busy = True
        self._task = asyncio.create_task(self._balance(), name=f"routilux-slots-{self.key}")

    async def _balance(self) -> None:
        try:
            while True:
                self._again = False
                await self._step()
                if not self._again:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("run slots of worker %s: the store failed", self.key, exc_info=True)
            self._again = True
            await asyncio.sleep(RETRY)
        finally:
            self._busy = False
            if self._again:
                self.balance()

    async def _step(self) -> None:
        want = self.target()
        if want > self.held:
            got = await self._store.take(self.key, self._user.slots_limit(), want - self.held)
            self.held += got
            if got:
                self._user.slots_granted()
            if self.held < want:  # others hold the rest: say so, and try again later
                await self._signals.send(
                    "slots", {"op": "waiting", "key": self.key, "from": self._me()}
                )
                self._retry_later()
        elif want < self.held:
            if not self.others_wait():
                await asyncio.sleep(LINGER)  # a job may come meanwhile
                want = self.target()
            surplus = self.held - want
            if surplus > 0:
                self.held -= surplus
                await self._store.give_back(self.key, surplus)
                if self.others_wait():
                    await self._signals.send(
                        "slots", {"op": "freed", "key": self.key, "from": self._me()}
                    )

    def _retry_later(self) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(RETRY, self.balance)

    def heard(self, message: Message) -> None:
        """Another replica waits for slots of this worker, or gave one back."""
        if message.get("from") == self._me():
            return
        if message.get("op") == "waiting":
            self._others_wait_until = time.monotonic() + WAITING_FOR
        self.balance()

    def others_wait(self) -> bool:
        """Whether another replica waits for a slot this one could give back."""
        return time.monotonic() < self._others_wait_until

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            await cancel(task)


class SlotTable:
    """The slots of every worker of one runtime, and the "slots" signals that concern them."""

    def __init__(self, store: SlotStore, signals: Signals, me: Callable[[], str | None]) -> None:
        self.store = store
        self._signals = signals
        self._me = me
        self._workers: dict[str, WorkerSlots] = {}
        if store.shared:
            signals.on("slots", self._heard)
            store.on_lost(self.lost)

    def attach(self, user: SlotUser) -> WorkerSlots | None:
        """The slots of ``user``'s worker; None for a process alone (it counts by itself)."""
        if not self.store.shared:
            return None
        slots = WorkerSlots(user, self.store, self._signals, self._me)
        self._workers[user.slots_key] = slots
        return slots

    def _heard(self, message: Message) -> None:
        slots = self._workers.get(str(message.get("key")))
        if slots is not None:
            slots.heard(message)

    def lost(self) -> None:
        """The store's connection went away and with it every slot held: take them again."""
        for slots in self._workers.values():
            slots.held = 0
            slots.balance()

    async def give_back_all(self) -> None:
        for slots in self._workers.values():
            slots.held = 0
        await self.store.give_back_all()

    async def close(self) -> None:
        for slots in self._workers.values():
            await slots.close()
        await self.store.close()
