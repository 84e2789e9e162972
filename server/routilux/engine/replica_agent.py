"""A runtime's membership in the deployment (see :mod:`routilux.engine.replicas`): it joins,
heartbeats, marks the replicas gone as lost, claims their jobs, and starts the jobs placed on it
that it does not run yet (:mod:`routilux.engine.placement`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from routilux.engine.background import cancel
from routilux.engine.clock import utcnow
from routilux.engine.models import Job
from routilux.engine.replicas import (
    Replica,
    ReplicaRole,
    ReplicaStatus,
    ReplicaStore,
    process_gone,
    this_process,
)

log = logging.getLogger("routilux.engine")


class ReplicaAgent:
    """One runtime's membership: joins, heartbeats, marks others lost and claims their jobs.

    ``resume`` puts claimed jobs back to work; ``abandon`` stops every job run without writing
    (this replica was marked lost: its jobs belong to others now); ``start_owned`` starts those
    of the jobs it owns (their ids) that it does not run yet (placed on it by another replica,
    engine/placement.py, whose signal did not arrive), and says how many it started."""

    def __init__(
        self,
        store: ReplicaStore,
        *,
        heartbeat: float,
        lease: float,
        role: ReplicaRole,
        resume: Callable[[list[Job]], Awaitable[None]],
        abandon: Callable[[], Awaitable[None]],
        start_owned: Callable[[list[str]], Awaitable[int]],
        joined: Callable[[Replica], object],
        lost: Callable[[Replica], object],
    ) -> None:
        self.store = store
        self.heartbeat_interval = heartbeat
        self.lease = lease
        self.role = role
        self._resume = resume
        self._abandon = abandon
        self._start_owned = start_owned
        self._joined = joined
        self._lost = lost
        self.replica: Replica | None = None
        self._task: asyncio.Task[None] | None = None
        # The other alive replicas as of the last look around, with the jobs each held then:
        # where new jobs may be placed (engine/placement.py). Replaced, never changed in place;
        # ``view_at`` is when its listing was asked for (time.monotonic()).
        self.view: list[Replica] = []
        self.view_at = 0.0
        self._beaten_at = 0.0  # when the last heartbeat renewed the lease (time.monotonic())

    @property
    def replica_id(self) -> str | None:
        return self.replica.replica_id if self.replica is not None else None

    async def join(self) -> None:
        """Join under a fresh id, then take over what replicas gone hold."""
        replica = this_process(self.role)
        await self.store.join(replica)
        self.replica = replica
        self._beaten_at = time.monotonic()
        log.info("joined the deployment as replica %s", replica.replica_id)
        self._joined(replica)
        await self.look_around(everyone_else=self.store.exclusive)

    def start(self) -> None:
        """Heartbeat in the background until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._beat(), name="routilux-replica-heartbeat")

    async def stop(self) -> None:
        """Stop heartbeating (and so claiming jobs)."""
        task, self._task = self._task, None
        await cancel(task)

    async def leave(self) -> None:
        """Leave the deployment: the jobs held are taken over by the others (or the next
        start) at once, resuming from their checkpoints."""
        replica, self.replica = self.replica, None
        if replica is not None:
            try:
                await self.store.leave(replica.replica_id, utcnow())
            except Exception:
                log.warning("could not mark replica %s stopped", replica.replica_id, exc_info=True)

    async def look_around(self, *, everyone_else: bool = False) -> None:
        """Mark the replicas gone as lost (``everyone_else``: every other one), then claim and
        resume the jobs no live replica holds."""
        me = self.replica
        if me is None:
            return
        now, asked = utcnow(), time.monotonic()
        others = [r for r in await self.store.list_replicas() if r.replica_id != me.replica_id]
        also = [
            r.replica_id
            for r in others
            if r.status is ReplicaStatus.ALIVE and (everyone_else or process_gone(r))
        ]
        marked = await self.store.mark_lost(now - timedelta(seconds=self.lease), also)
        gone = {r.replica_id for r in marked}
        self.view = [
            r for r in others if r.status is ReplicaStatus.ALIVE and r.replica_id not in gone
        ]
        self.view_at = asked
        for replica in marked:
            if replica.replica_id == me.replica_id:
                continue  # seen on the next heartbeat
            log.warning(
                "replica %s (%s, pid %d) is lost: no heartbeat since %s",
                replica.replica_id,
                replica.host,
                replica.pid,
                replica.heartbeat_at.isoformat(),
            )
            self._lost(replica)
        claimed = await self.store.claim_jobs(me.replica_id)
        if claimed:
            log.info("replica %s takes over %d jobs", me.replica_id, len(claimed))
            await self._resume(claimed)

    async def beat(self) -> None:
        """One heartbeat: renew the lease, or (marked lost) give up the jobs and join again.

        A replica whose own heartbeat comes more than half a lease after its last one was held up
        itself (a stalled event loop, a starved machine, a slow database): the others may have
        been too, and it judges their heartbeats only from its next one on time."""
        me = self.replica
        if me is None:
            return
        now = time.monotonic()
        if await self.store.heartbeat(me.replica_id, utcnow()):
            gap, self._beaten_at = now - self._beaten_at, now
            if gap > self.lease / 2:
                log.warning(
                    "replica %s was held up (%.1f s between two heartbeats): it looks at the "
                    "others' heartbeats from its next one on",
                    me.replica_id,
                    gap,
                )
            elif not self.store.exclusive:  # alone on the database, nothing changes around it
                await self.look_around()
                started = await self._start_owned(await self.store.owned_jobs(me.replica_id))
                if started:
                    log.info("replica %s starts %d jobs placed on it", me.replica_id, started)
            return
        log.error(
            "replica %s was marked lost (its heartbeats were late by more than %g s): its jobs "
            "were taken over; it stops them without writing and joins again",
            me.replica_id,
            self.lease,
        )
        self.replica = None
        await self._abandon()
        await self.join()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("replica heartbeat failed; trying again", exc_info=True)
