"""The runtime's workers: one per flow that ran jobs, found by its id or by its flow.

A :class:`WorkerPool` keeps them (including stopped ones, whose records stay readable), creates a
flow's worker when its first job needs one, and applies a new revision's concurrency.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime

from routilux.engine.clock import utcnow
from routilux.engine.errors import WorkerNotFound, WorkerStopped
from routilux.engine.job import JobRun
from routilux.engine.models import Worker, WorkerStatus
from routilux.engine.spec import CompiledFlow
from routilux.engine.storage import Store
from routilux.engine.worker import WorkerRun

WorkerFactory = Callable[[Worker, CompiledFlow | None], WorkerRun]


class WorkerPool:
    def __init__(self, make: WorkerFactory, store: Store, *, default_concurrency: int) -> None:
        self._make = make
        self._store = store
        self.default_concurrency = default_concurrency
        self._by_id: dict[str, WorkerRun] = {}
        self._by_flow: dict[str, WorkerRun] = {}  # the live worker of each flow
        # Told of each worker created here (the other replicas adopt it: engine/changes.py).
        self.created: Callable[[Worker], object] = lambda worker: None

    def __iter__(self) -> Iterator[WorkerRun]:
        return iter(self._by_id.values())

    def load(self, worker: Worker, flow: CompiledFlow | None) -> None:
        """Take a stored worker at start-up; one whose flow cannot run (``flow`` None) stops."""
        worker.active_jobs = worker.queued_jobs = 0
        if worker.status is not WorkerStatus.STOPPED and flow is not None:
            if worker.status is WorkerStatus.RUNNING:
                worker.status = WorkerStatus.IDLE
            run = self._make(worker, flow)
            self._by_flow[worker.flow_id] = run
        else:
            worker.status = WorkerStatus.STOPPED
            run = self._make(worker, None)
        self._by_id[worker.worker_id] = run

    def adopt(self, worker: Worker, flow: CompiledFlow | None) -> WorkerRun:
        """Take a stored worker this process did not know (another replica made it, and one of
        its jobs is taken over here); it runs alongside the flow's own worker, if there is one."""
        known = self._by_flow.get(worker.flow_id)
        self.load(worker, flow)
        if known is not None:
            self._by_flow[worker.flow_id] = known
        return self._by_id[worker.worker_id]

    def for_flow(self, flow: CompiledFlow, created_at: datetime) -> WorkerRun:
        """The flow's worker, created (and queued for the store) if it has none yet. Its id
        follows from the flow's (``created_at``: the flow's), so that replicas making it at
        the same moment make the same one."""
        worker = self._by_flow.get(flow.flow_id)
        if worker is None:
            record = Worker(
                worker_id=worker_id_for(flow.flow_id, created_at),
                flow_id=flow.flow_id,
                status=WorkerStatus.IDLE,
                concurrency=flow.concurrency or self.default_concurrency,
                created_at=utcnow(),
            )
            worker = self._make(record, flow)
            self._by_id[record.worker_id] = worker
            self._by_flow[flow.flow_id] = worker
            # Queued ahead of the job that needs it: the writer commits in order, so a job
            # that is durable always finds its worker after a crash.
            self._store.save_worker_later(record)
            self.created(record)
        return worker

    def of_flow(self, flow_id: str) -> WorkerRun | None:
        return self._by_flow.get(flow_id)

    def find(self, worker_id: str) -> WorkerRun | None:
        return self._by_id.get(worker_id)

    def runs_of(self, flow_id: str) -> list[JobRun]:
        """A flow's unfinished jobs, running then queued."""
        worker = self._by_flow.get(flow_id)
        return worker.runs() if worker is not None else []

    def flow_updated(self, flow: CompiledFlow) -> None:
        """Jobs executed from now on run ``flow``'s new revision, at its concurrency."""
        worker = self._by_flow.get(flow.flow_id)
        if worker is not None:
            worker.flow = flow
            concurrency = flow.concurrency or self.default_concurrency
            if concurrency != worker.worker.concurrency:
                worker.worker.concurrency = concurrency
                worker._start_queued()

    def stop_flow(self, flow_id: str) -> None:
        """The flow is deleted: its worker stops (its record stays)."""
        worker = self._by_flow.pop(flow_id, None)
        if worker is not None:
            worker.stop()

    # -- reads and commands --------------------------------------------------------------------

    def records(self) -> list[Worker]:
        return [w.worker for w in self._by_id.values()]

    def get(self, worker_id: str) -> WorkerRun:
        run = self._by_id.get(worker_id)
        if run is None:
            raise WorkerNotFound(f"worker {worker_id!r} does not exist", worker_id=worker_id)
        return run

    def pause(self, worker_id: str) -> Worker:
        worker = self.get(worker_id)
        if worker.worker.status is WorkerStatus.STOPPED:
            raise WorkerStopped(f"worker {worker_id!r} is stopped")
        worker.pause()
        return worker.worker

    def resume(self, worker_id: str) -> Worker:
        worker = self.get(worker_id)
        worker.resume()
        return worker.worker


def worker_id_for(flow_id: str, created_at: datetime) -> str:
    """The id of the worker of the flow ``flow_id`` created at ``created_at``: the same on every
    replica, and another one for a flow deleted and created again under the same id."""
    digest = hashlib.blake2b(f"{flow_id}|{created_at.isoformat()}".encode(), digest_size=16)
    return f"wrk_{digest.hexdigest()}"
