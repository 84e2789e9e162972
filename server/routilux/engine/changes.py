"""What one replica changes, the others learn: flows, breakpoints and workers.

Each runtime keeps these records in its own tables (the flow catalog, the breakpoint table, the
worker pool), loaded at start. Once a change is committed, the replica that made it sends a
``changes`` signal naming the record (its kind and id, never its content); every other replica
reads that one record from the database and takes it, or drops it when it is gone: a deleted
flow's jobs there are cancelled and its worker stops, a deleted breakpoint lets the jobs waiting
at it go on. Reading the record rather than trusting the message makes the outcome the same
whatever order, or how many times, the signals arrive; the changes are applied one at a time.
Signals may be lost while the listening connection is down: once it is back, every record is
read again.

A worker is the one exception where the message carries state: its row is written by every
replica running its jobs, with each one's counts and status, so the row may briefly show a
status that a replica wrote before it learned of a pause; the pause or resume asked for travels
with the signal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from routilux.engine.background import Background
from routilux.engine.breakpoint_commands import BreakpointCommands
from routilux.engine.deployment import Deployment
from routilux.engine.errors import BreakpointNotFound, FlowHasActiveJobs
from routilux.engine.events import EventBus, EventType
from routilux.engine.flows import FlowCatalog
from routilux.engine.models import Breakpoint, FlowRecord, Worker, WorkerStatus
from routilux.engine.signals import Message
from routilux.engine.storage import StoredState

log = logging.getLogger("routilux.engine")

TOPIC = "changes"
FLOW, BREAKPOINT, WORKER = "flow", "breakpoint", "worker"


class SharedChanges:
    """One runtime's side: it announces its own changes and applies the others'."""

    def __init__(
        self,
        deployment: Deployment,
        flows: FlowCatalog,
        commands: BreakpointCommands,
    ) -> None:
        self._signals = signals = deployment.signals
        self._store = deployment.store
        self._flows = flows
        self._workers = workers = deployment.workers
        self._commands = commands
        self._breakpoints = commands.table
        self._me = deployment.me  # this replica's id
        self._cancel = deployment.cancel_run
        self._lock = asyncio.Lock()  # one change applied at a time, in the order received
        self._background = Background()
        signals.on(TOPIC, self._received)
        signals.on_reconnect(lambda: self._spawn(self.reload()))
        workers.created = self._worker_created

    @property
    def _alone(self) -> bool:
        return self._store.replicas.exclusive

    async def announce(self, kind: str, item_id: str, **extra: Any) -> None:
        """Tell the other replicas that ``item_id`` changed (it is committed already)."""
        if not self._alone:
            message = {"kind": kind, "id": item_id, "from": self._me(), **extra}
            await self._signals.send(TOPIC, message)

    async def worker_changed(self, worker: Worker) -> Worker:
        """A worker paused or resumed here: once its row is committed, the others follow."""
        if not self._alone:
            await self._store.flush()
            await self.announce(
                WORKER, worker.worker_id, paused=worker.status is WorkerStatus.PAUSED
            )
        return worker

    def _worker_created(self, worker: Worker) -> None:
        # Queued for the store just now: announced once committed, so the others adopt this
        # worker for the flow rather than each making its own.
        if not self._alone:
            self._spawn(self._announce_created(worker))

    async def _announce_created(self, worker: Worker) -> None:
        await self.worker_changed(worker)

    def load(self, state: StoredState) -> None:
        """Take the stored flows, breakpoints and workers at start."""
        for record in state.flows:
            self._flows.load(record)
        self._breakpoints.load(state.breakpoints)
        for worker in state.workers:
            entry = self._flows.get(worker.flow_id)
            self._workers.load(worker, entry.compiled if entry else None)

    async def delete_flow(self, flow_id: str, *, force: bool, bus: EventBus) -> None:
        """Delete a flow here: its jobs here are cancelled first (``force``), its breakpoints
        deleted; the other replicas cancel theirs as they learn it. Without ``force``, refused
        while the flow has unfinished jobs on any replica (as counted when asked: a job another
        replica accepts meanwhile is cancelled there with the flow)."""
        self._flows.entry(flow_id)
        unfinished = 0
        if not force and not self._alone:
            await self._store.flush()  # this replica's jobs as they are now, not as last written
            unfinished = await self._store.replicas.unfinished_jobs_of(flow_id)
        runs = self._workers.runs_of(flow_id)  # after the last wait: none can slip in here
        unfinished = max(unfinished, len(runs))
        if unfinished and not force:
            raise FlowHasActiveJobs(
                f"flow {flow_id!r} has {unfinished} unfinished jobs; cancel them or use force",
                unfinished_jobs=unfinished,
            )
        for run in runs:
            await self._cancel(run)
        for run in runs:
            await run.finished.wait()
        self._workers.stop_flow(flow_id)
        for bp_id in self._breakpoints.of_flow(flow_id):
            await self._commands.delete(bp_id)  # the others drop them with the flow
        await self._flows.remove(flow_id)
        bus.publish(EventType.FLOW_DELETED, flow_id=flow_id)
        await self.announce(FLOW, flow_id)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._background.spawn(work)

    async def close(self) -> None:
        await self._background.close()

    # -- applying the others' changes ----------------------------------------------------------

    def _received(self, message: Message) -> None:
        if message.get("from") != self._me() and isinstance(message.get("id"), str):
            self._spawn(self._apply(message))

    async def _apply(self, message: Message) -> None:
        kind, item_id = message.get("kind"), message["id"]
        replicas = self._store.replicas
        try:
            async with self._lock:
                if kind == FLOW:
                    await self._flow(item_id, await replicas.get_flow(item_id))
                elif kind == BREAKPOINT:
                    self._breakpoint(item_id, await replicas.get_breakpoint(item_id))
                elif kind == WORKER:
                    worker = await replicas.get_worker(item_id)
                    if worker is not None:
                        if "paused" in message:
                            paused = message["paused"]
                            worker.status = WorkerStatus.PAUSED if paused else WorkerStatus.IDLE
                        self._worker(worker)
        except Exception:
            log.warning(
                "could not apply another replica's change to %s %s", kind, item_id, exc_info=True
            )

    async def reload(self) -> None:
        """Read every flow, breakpoint and worker again (signals may have been missed)."""
        try:
            async with self._lock:
                state = await self._store.load()
                flows = {record.flow_id: record for record in state.flows}
                for flow_id in [f for f in list(self._flows.entries) if f not in flows]:
                    await self._flow(flow_id, None)
                for record in state.flows:
                    await self._flow(record.flow_id, record)
                stored = {bp.breakpoint_id: bp for bp in state.breakpoints}
                for bp in self._breakpoints.find():
                    if bp.breakpoint_id not in stored:
                        self._breakpoint(bp.breakpoint_id, None)
                for bp_id, bp in stored.items():
                    self._breakpoint(bp_id, bp)
                for worker in state.workers:
                    self._worker(worker)
        except Exception:
            log.warning("could not read flows, breakpoints and workers again", exc_info=True)

    async def _flow(self, flow_id: str, record: FlowRecord | None) -> None:
        entry = self._flows.get(flow_id)
        if record is None:
            if entry is None:
                return
            # Deleted elsewhere: what runs it here ends as the deleting replica's jobs did.
            runs = self._workers.runs_of(flow_id)
            for run in runs:
                await self._cancel(run)
            self._workers.stop_flow(flow_id)
            for bp_id in self._breakpoints.of_flow(flow_id):
                self._breakpoint(bp_id, None)
            self._flows.forget(flow_id)
        elif entry is None or record.revision > entry.record.revision:
            self._flows.load(record)
            compiled = self._flows.entry(flow_id).compiled
            if entry is not None and compiled is not None:
                self._workers.flow_updated(compiled)

    def _breakpoint(self, breakpoint_id: str, bp: Breakpoint | None) -> None:
        if bp is not None:
            self._breakpoints.add(bp)
            return
        try:
            stored = self._breakpoints.stored(breakpoint_id)
        except BreakpointNotFound:
            return
        waiting = self._breakpoints.waiting_at(stored)
        self._breakpoints.remove(breakpoint_id)
        for run in waiting:
            run.resume_breakpoint()

    def _worker(self, worker: Worker) -> None:
        run = self._workers.find(worker.worker_id)
        if run is None:
            entry = self._flows.get(worker.flow_id)
            self._workers.adopt(worker, entry.compiled if entry else None)
        elif worker.status is WorkerStatus.PAUSED:
            run.pause(announce=False)
        elif worker.status is not WorkerStatus.STOPPED:
            run.resume(announce=False)
