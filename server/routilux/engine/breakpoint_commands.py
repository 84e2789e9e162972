"""The runtime's breakpoint commands, each ordered with the store's write and with the jobs
waiting at the breakpoint.

The table (:mod:`routilux.engine.breakpoints`) keeps the breakpoints and matches them. Creating
one checks its flow, routine, slot, job and condition, and stores it before the table has it;
deleting one, or resuming it, lets the jobs waiting there go on; a hit count that changed is
stored in the background.
"""

from __future__ import annotations

from collections.abc import Callable

from routilux.engine.breakpoints import BreakpointTable
from routilux.engine.errors import InvalidInput, NoJobWaiting
from routilux.engine.flows import FlowCatalog
from routilux.engine.models import Breakpoint, Job
from routilux.engine.storage import Store
from routilux.engine.workers import WorkerPool


class BreakpointCommands:
    def __init__(
        self,
        table: BreakpointTable,
        flows: FlowCatalog,
        workers: WorkerPool,
        store: Store,
        live_job: Callable[[str], Job | None],
    ) -> None:
        self.table = table
        self._flows = flows
        self._workers = workers
        self._store = store
        self._live_job = live_job  # an unfinished or recently finished job, from memory

    async def create(
        self,
        flow_id: str,
        routine_id: str,
        *,
        slot: str | None,
        job_id: str | None,
        condition: str | None,
        enabled: bool,
    ) -> Breakpoint:
        entry = self._flows.get(flow_id)
        if entry is None:
            raise InvalidInput(f"flow {flow_id!r} does not exist", loc=("flow_id",))
        bp = self.table.new(
            entry, routine_id, slot=slot, job_id=job_id, condition=condition, enabled=enabled
        )
        if job_id is not None:
            job = self._live_job(job_id) or await self._store.get_job(job_id)
            if job is None or job.flow_id != flow_id:
                raise InvalidInput(
                    f"job {job_id!r} does not exist in flow {flow_id!r}", loc=("job_id",)
                )
        self.table.check_condition(condition)
        await self._store.save_breakpoint(bp)
        self.table.add(bp)
        return bp

    async def delete(self, breakpoint_id: str) -> None:
        bp = self.table.stored(breakpoint_id)
        waiting = self.table.waiting_at(bp)
        self.table.remove(breakpoint_id)
        await self._store.delete_breakpoint(breakpoint_id)
        for run in waiting:
            run.resume_breakpoint()

    def resume(self, breakpoint_id: str, job_id: str | None = None) -> list[str]:
        """Resume the jobs waiting at a breakpoint (or just ``job_id``); return their ids."""
        bp = self.table.stored(breakpoint_id)
        waiting = self.table.waiting_at(bp)
        waiting = [r for r in waiting if job_id is None or r.job.job_id == job_id]
        if not waiting:
            who = f"job {job_id!r}" if job_id else "no job"
            raise NoJobWaiting(f"{who} is waiting at breakpoint {breakpoint_id!r}")
        for run in waiting:
            run.resume_breakpoint()
        return [run.job.job_id for run in waiting]

    def hit(self, bp: Breakpoint) -> None:
        """A job paused at ``bp``: store its new hit count."""
        worker = self._workers.of_flow(bp.flow_id)
        if worker is not None:
            worker.spawn(self._store.save_breakpoint(bp))
