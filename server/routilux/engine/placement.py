"""Placement: which replica runs a new job, and how a job placed on a replica starts there.

The replica that accepts ``execute`` places the job on the alive replica of an executing role
(``all`` or ``executor``) that holds the fewest unfinished jobs, itself on a tie. What the others
hold comes from the replica agent's view (:attr:`~routilux.engine.replica_agent.ReplicaAgent.view`,
refreshed on each heartbeat by the listing it makes anyway) plus the jobs placed on each since
that listing was asked for, so placing a job costs no query; what this replica holds is exact
(the jobs it runs). The job is inserted owned by the chosen replica, durable before ``execute``
returns, as before. When that is
another replica, a ``start`` signal tells it, and it loads the job from the store (with its flow
and worker when it does not know them) and runs it as it runs a job it took over
(:mod:`routilux.engine.takeover`). A signal is delivered at most once, and a process may stop
between the insert and the signal: on each heartbeat a replica also starts the unfinished jobs
it owns but does not run (one query), so such a job waits a heartbeat, never for ever.

A process alone on its database (SQLite, or no other executing replica alive) sees nobody in its
view: its jobs run where they are accepted, with no more work per job than a lookup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from routilux.engine.background import Background
from routilux.engine.clock import new_id, utcnow
from routilux.engine.events import EventBus, EventType
from routilux.engine.job import JobRun
from routilux.engine.models import Job, JobStatus, RoutineProgress
from routilux.engine.replica_agent import ReplicaAgent
from routilux.engine.replicas import Replica, ReplicaRole
from routilux.engine.signals import Message, Signals
from routilux.engine.sizes import input_bytes as measure_input
from routilux.engine.storage import Idempotency
from routilux.engine.takeover import Takeover

log = logging.getLogger("routilux.engine")

START = "start"
"""The signal asking a replica to start a job placed on it: ``{"to": replica_id, "job_id"}``."""

EXECUTING = frozenset({ReplicaRole.ALL, ReplicaRole.EXECUTOR})
"""The roles whose replicas run jobs."""


class Placement:
    """A runtime's new jobs (``execute``), and the jobs other replicas place on it."""

    def __init__(
        self,
        takeover: Takeover,
        agent: ReplicaAgent,
        signals: Signals,
        bus: Callable[[], EventBus],
    ) -> None:
        self._flows = takeover.flows
        self._workers = takeover.workers
        self._store = takeover.store
        self._runs = takeover.runs
        self._bus = bus  # the runtime's (a new one when it starts)
        self._agent = agent
        self._signals = signals
        self._takeover = takeover
        self._basis: list[Replica] | None = None  # the view ``_held`` was counted from
        self._held: dict[str, int] = {}  # unfinished jobs of each other executing replica
        self._placed: deque[tuple[float, str]] = deque()  # when, and on which, jobs went since
        self._background = Background()
        self._closed = False
        signals.on(START, self._on_start)

    def choose(self) -> str | None:
        """The replica to run a new job: the executing one holding the fewest unfinished jobs,
        this one on a tie (see the module's doc)."""
        me = self._agent.replica_id
        view = self._agent.view
        if view is not self._basis:  # a heartbeat refreshed it: count from there again
            self._recount(view)
        best: str | None = None
        fewest = len(self._runs)
        for replica_id, held in self._held.items():
            if held < fewest:
                best, fewest = replica_id, held
        if best is None:
            return me
        self._held[best] += 1
        self._placed.append((time.monotonic(), best))
        return best

    def _recount(self, view: list[Replica]) -> None:
        """Count from a new listing, plus what was placed since it was asked for (its query may
        have missed those: counting one twice is harmless, missing one is not)."""
        self._basis = view
        self._held = {r.replica_id: r.jobs_held for r in view if r.role in EXECUTING}
        asked = self._agent.view_at
        while self._placed and self._placed[0][0] < asked:
            self._placed.popleft()
        for _, replica_id in self._placed:
            if replica_id in self._held:
                self._held[replica_id] += 1

    async def execute(
        self,
        flow_id: str,
        data: dict[str, Any],
        *,
        entry: str | None,
        metadata: dict[str, Any] | None,
        idempotency: Idempotency | None,
        input_bytes: int | None,
    ) -> Job:
        """Queue a job on the replica :meth:`choose` picks; it is committed to the store before
        this returns (see :meth:`Runtime.execute <routilux.engine.runtime.Runtime.execute>`)."""
        flow_entry = self._flows.entry(flow_id)
        compiled = flow_entry.runnable(entry)
        worker = self._workers.for_flow(compiled, flow_entry.record.created_at)
        if input_bytes is None:
            input_bytes = measure_input(data)
        worker.check_capacity(input_bytes)
        job = Job(
            job_id=new_id("job"),
            flow_id=flow_id,
            worker_id=worker.worker_id,
            status=JobStatus.QUEUED,
            input=data,
            entry=entry,
            metadata=metadata or {},
            created_at=utcnow(),
            progress={routine_id: RoutineProgress() for routine_id in compiled.routines},
            flow_revision=flow_entry.record.revision,
            owner=self.choose(),
        )
        # Busy until it runs: a heartbeat finding it owned here meanwhile must not start it too.
        # Several processes: the store bounds the worker's queue over all of them.
        bound = None if self._store.replicas.exclusive else worker.max_queued
        with self._takeover.starting([job.job_id]):
            await self._store.insert_job(job, idempotency, queue_bound=bound)
            self._bus().publish(
                EventType.JOB_QUEUED, flow_id=flow_id, job_id=job.job_id, worker_id=job.worker_id
            )
            if job.owner == self._agent.replica_id:
                run = JobRun(job, compiled, worker)
                run.input_bytes = input_bytes
                self._runs[job.job_id] = run
                worker.submit(run, input_bytes)
                return job
        await self._signals.send(START, {"to": job.owner, "job_id": job.job_id})
        return job

    def _on_start(self, message: Message) -> None:
        """A job was placed on some replica: start it if it is this one."""
        me, job_id = self._agent.replica_id, message.get("job_id")
        if self._closed or me is None or message.get("to") != me or not isinstance(job_id, str):
            return
        task = self._background.spawn(self._takeover.start_owned([job_id]), "routilux-start")
        task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[int]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # The job stays owned here: the next heartbeat starts it.
            log.warning("a job placed here could not be started yet", exc_info=task.exception())

    async def close(self) -> None:
        """Start nothing more (the runtime is stopping): jobs placed here from now on are taken
        over by the other replicas once this one has left."""
        self._closed = True
        await self._background.close()
