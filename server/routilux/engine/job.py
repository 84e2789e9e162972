"""One job travelling through a flow: its routines' inboxes (see :mod:`routilux.engine.inbox`),
their activations, its checkpoints and its end.

Nothing here is shared between jobs. Each routine of a job is an actor: it runs one activation at a
time, in arrival order, while different routines run concurrently. The job keeps a count of the
work it still has (queued or running activations and armed timers); when that count reaches zero
the job is complete, with no polling and no timeout involved.

Beside it, in engine/: how a job ends (ending.py), pauses and resumes (pausing.py), is rebuilt
from a checkpoint (replay.py) and runs its inline activations (inline.py).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from typing import Any, Protocol

import anyio
import anyio.to_thread

from routilux.engine import bounds
from routilux.engine.activations import ActivationRunner
from routilux.engine.bounds import JobLimits, JobUsage
from routilux.engine.checkpoint import CheckpointLog, Delivery, JobCheckpoint, Running
from routilux.engine.clock import utcnow
from routilux.engine.ending import WINDING_DOWN, JobEnd
from routilux.engine.events import EventBus, EventType, JobEvents
from routilux.engine.inbox import Activation, Inbox, JobInboxes
from routilux.engine.inline import InlineQueue
from routilux.engine.models import Breakpoint, Job, JobError, JobStatus, RoutineStatus
from routilux.engine.pausing import (
    pause_at_breakpoint,
    pause_with_worker,
    resume_from_breakpoint,
    resume_with_worker,
)
from routilux.engine.replay import replay, restore_progress
from routilux.engine.routine import Inputs, Payload, RoutineContext
from routilux.engine.sizes import json_size, payload_size
from routilux.engine.spec import CompiledFlow
from routilux.engine.storage import Store


class JobHost(Protocol):
    """What a job needs from the worker that runs it (a :class:`~routilux.engine.worker.
    WorkerRun`): where it writes and publishes, its bounds, and the runtime's breakpoints."""

    store: Store
    bus: EventBus
    limiter: anyio.CapacityLimiter
    limits: JobLimits
    max_output_bytes: int

    @property
    def paused(self) -> bool: ...

    def match_breakpoint(self, job: Job, routine_id: str, inputs: Inputs) -> Breakpoint | None:
        """The breakpoint an activation of ``routine_id`` with ``inputs`` stops at, if any."""

    def breakpoint_hit(self, breakpoint: Breakpoint, run: JobRun) -> None:
        """``run`` paused at ``breakpoint`` (whose hit count changed)."""

    def job_finished(self, run: JobRun) -> None:
        """``run`` ended, its final state stored."""

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run bookkeeping in the background."""


class JobRun:
    """Executes one job. Created by a worker; driven entirely by the event loop."""

    def __init__(self, job: Job, flow: CompiledFlow, worker: JobHost) -> None:
        self.job, self.flow, self.worker = job, flow, worker
        events = JobEvents(worker.bus, job)  # this job's events (a JobAnnouncer)
        self.publish = events.publish
        # Its parts call back through a weak proxy (docs/decisions.md: no cycle per job).
        me = weakref.proxy(self)
        self.inboxes = JobInboxes(job, flow, me)
        self._outstanding = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._end = JobEnd(
            job, worker.store, events, worker.spawn, ended=lambda: worker.job_finished(self)
        )
        self.paused_by_worker = False
        self.input_bytes = 0  # the input's size as JSON, when the runtime measured it
        self._usage = JobUsage(worker.limits, worker.max_output_bytes)
        self._log = CheckpointLog(job.job_id, worker.store.checkpoint_later)
        self._restore: JobCheckpoint | None = None  # resume from this instead of the input
        self._recovered = False
        self._runner = ActivationRunner(me)
        self._inline = InlineQueue(
            self._runner.run_inline,
            self._log,
            lambda: me._commit(),
            behind=lambda: worker.store.checkpoint_backlog(job.job_id),
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def restore(self, checkpoint: JobCheckpoint, *, recovered: bool) -> None:
        """Resume from ``checkpoint`` when started: after a crash (``recovered``) or a retry."""
        self._restore = checkpoint
        self._recovered = recovered

    def start(self) -> None:
        job = self.job
        restore, self._restore = self._restore, None
        self._log.owner = job.owner
        if job.paused_at is None:  # a job paused at a breakpoint stays paused there
            job.status = JobStatus.RUNNING
        if job.started_at is None:
            job.started_at = utcnow()
        if self._recovered:
            job.recoveries += 1
            self.publish(
                EventType.JOB_RECOVERED,
                data={"checkpoint": restore.seq if restore else 0, "replica_id": job.owner},
            )
        else:
            self.publish(EventType.JOB_STARTED)
        if restore is not None and restore.seq:
            # Rebuild queues, buffers, timers and output from the checkpoint (see its module).
            self._log.seq = restore.seq
            self._usage.activations = restore_progress(job, restore)
            replay(self, restore)
        else:  # nothing of it was kept yet: it starts from its input
            for routine_id, slot in self.inboxes.entry():
                self.deliver(routine_id, slot, dict(job.input))
        self._commit(with_job=True)
        self._end.arm(self.timeout, self._timed_out)
        if self.worker.paused:
            self.pause_for_worker()
        self._pump_all()

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        return self.worker.limiter

    @property
    def finished(self) -> asyncio.Event:
        """Set once the job's end is stored and announced, or once it was suspended."""
        return self._end.finished

    @property
    def output_bytes(self) -> int:
        """The job's output so far, as JSON."""
        return self._usage.output_bytes

    @property
    def timeout(self) -> float:
        """The job's wall-time bound: the flow's timeout, never above the server's."""
        limit = self._usage.limits.max_seconds
        return limit if self.flow.timeout is None else min(self.flow.timeout, limit)

    def cancel(self) -> None:
        """Stop starting routines, cancel what can be cancelled, finish as cancelled."""
        if not self.live():
            return
        self.job.status = JobStatus.CANCELLING
        self.publish(EventType.JOB_CANCELLING)
        self._stop_everything()
        self._end.finish_after(list(self._tasks), JobStatus.CANCELLED, None)

    async def suspend(self, grace: float = 5.0) -> None:
        """Stop without finishing, as the process stops: the job stays as its last checkpoint
        has it, for the next start to resume; waits up to ``grace`` s for cancelled activations."""
        if self._end.finishing or self.job.status is JobStatus.QUEUED:
            return
        for node in self.inboxes:
            node.stop_timer()
        await self._end.suspend(list(self._tasks), grace)

    def pause_for_worker(self) -> None:
        self.paused_by_worker = True
        if pause_with_worker(self.job, self):
            self.worker.store.save_job_later(self.job)

    def resume_for_worker(self) -> None:
        self.paused_by_worker = False
        if resume_with_worker(self.job, self):
            self.worker.store.save_job_later(self.job)
        self._pump_all()

    def resume_breakpoint(self) -> None:
        """Continue a job paused at a breakpoint exactly where it stopped."""
        if resume_from_breakpoint(self.job, self, paused_by_worker=self.paused_by_worker):
            self.worker.store.save_job_later(self.job)
            self._pump_all()

    # -- data flow -----------------------------------------------------------------------------

    def deliver(
        self, routine_id: str, slot: str, payload: Payload, replayed: Delivery | None = None
    ) -> None:
        """Deliver ``payload`` to a routine's slot (again, if ``replayed``)."""
        if self._end.finishing:
            return  # a bound ended the job while its deliveries were being routed
        if replayed is None:
            delivery = self._log.deliver(routine_id, slot, payload)
        else:
            delivery = replayed
        size = payload_size(payload)
        exceeded = self._usage.queued(size, routine_id)
        if exceeded is not None:
            self.fail(exceeded)
            return
        node = self.inboxes.of(routine_id)
        node.put(delivery, size)
        self._pump(node)

    # -- what an inbox tells its job (see routilux.engine.inbox.InboxOwner) --------------------

    def work_added(self) -> None:
        self._outstanding += 1

    def timer_disarmed(self) -> None:
        self._outstanding -= 1

    def changed(self, inbox: Inbox) -> None:
        self._log.changed(inbox)

    def timer_fired(self, inbox: Inbox) -> None:
        flush = inbox.flush
        if self.live() and flush is not None:
            flush()
            self._pump(inbox)
        self._outstanding -= 1
        self._check_done()

    # -- running routines ----------------------------------------------------------------------

    def _can_start(self) -> bool:
        return self.job.status is JobStatus.RUNNING and not self.worker.paused

    def _pump_all(self) -> None:
        for node in list(self.inboxes):
            self._pump(node)
        self._check_done()

    def _pump(self, node: Inbox) -> None:
        if node.busy or not node.queue or not self._can_start():
            return
        activation = node.queue[0]
        if not activation.passed_breakpoint:
            hit = self.worker.match_breakpoint(self.job, node.spec.routine_id, activation.inputs)
            if hit is not None:
                activation.passed_breakpoint = True
                self._pause_at(hit, node, activation.inputs)
                return
        too_many = self._usage.started(len(activation.seqs), activation.size, node.spec.routine_id)
        if too_many is not None:
            self.fail(too_many)
            return
        node.queue.popleft()
        node.busy = True
        if node.spec.inline and node.spec.routine.runs_inline(activation.inputs):
            self._inline.add(node, activation)  # logic that runs on the loop needs no task
            return
        self.track(asyncio.create_task(self._runner.run(node, activation)))

    def track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _pause_at(self, breakpoint: Breakpoint, node: Inbox, inputs: Inputs) -> None:
        pause_at_breakpoint(self.job, breakpoint, node.spec.routine_id, inputs, self)
        self.worker.breakpoint_hit(breakpoint, self)
        self.worker.store.save_job_later(self.job)

    def checkpoint_running(
        self, node: Inbox, activation: Activation, started: float, attempt: int
    ) -> None:
        """Checkpoint that an activation outside the loop runs, at ``attempt``."""
        node.running[activation.seqs[0]] = Running(started, attempt)
        self._log.changed(node)
        self._commit()

    def completed(self, node: Inbox, activation: Activation, ctx: RoutineContext) -> None:
        self._route(node, ctx.emitted)
        progress = node.progress
        progress.completed += 1
        progress.status = RoutineStatus.IDLE
        self.publish(
            EventType.ROUTINE_COMPLETED,
            routine_id=node.spec.routine_id,
            data={"emitted": len(ctx.emitted), "attempt": ctx.attempt},
        )
        self.consumed(node, activation)

    def consumed(self, node: Inbox, activation: Activation) -> None:
        """An activation is over for good: checkpoint what it took, made and changed."""
        if self._end.finishing:
            return  # the job ends (a bound): its last checkpoint stays the one to resume from
        self._log.took(activation.seqs)
        if node.running.pop(activation.seqs[0], None) is not None or node.state or node.stored:
            self._log.changed(node)
        self._commit()

    def _commit(self, *, with_job: bool = False) -> None:
        """Hand the store the checkpoint gathered since the last one (see CheckpointLog); none
        once the job is completing or cancelled: its final state drops its checkpoint."""
        if self._end.drops_checkpoint:
            self._log.discard()
            return
        self._log.commit(self.job.progress, self.job if with_job else None)

    def end(self, node: Inbox) -> None:
        node.busy = False
        self._outstanding -= 1
        if self.live():
            self._pump(node)
            self._check_done()

    def _route(self, node: Inbox, emitted: list[tuple[str, Payload]]) -> None:
        routine_id = node.spec.routine_id
        targets = self.flow.targets
        for event, payload in emitted:
            node.progress.emitted += 1
            self.publish(
                EventType.EVENT_EMITTED,
                routine_id=routine_id,
                data={"event": event, "payload": payload},
            )
            destinations = targets.get((routine_id, event))
            if not destinations:
                key = f"{routine_id}.{event}"
                if not self.output(key, payload):
                    return
                self._log.deliver(None, key, payload)
                continue
            for index, (target, slot) in enumerate(destinations):
                # Each branch of a fan-out gets its own top-level dict.
                self.deliver(target, slot, payload if index == 0 else dict(payload))
            if self._end.finishing:
                return  # a bound was hit: what is left is not routed

    def output(self, key: str, payload: Payload) -> bool:
        """Add to the job's output; False if that passed its bound (the job failed)."""
        too_large = self._usage.output(json_size(payload), key.rpartition(".")[0])
        if too_large is not None:
            self.fail(too_large)
            return False
        self.job.output.setdefault(key, []).append(payload)
        return True

    # -- ending --------------------------------------------------------------------------------

    def live(self) -> bool:
        return not self._end.finishing and self.job.status not in WINDING_DOWN

    def _check_done(self) -> None:
        if self._outstanding == 0 and self.live():
            if self._flush_partial():
                return  # the job goes on with the partial batch; it ends when that is done
            self._end.finish(JobStatus.COMPLETED, None)

    def _flush_partial(self) -> bool:
        """With nothing else left to do, hand a partial batch or join (of a Batcher or an
        Aggregator with no timeout, or whose timeout is longer than the job) to its routine as
        it is, rather than dropping it: nearest the entry first, one routine at a time, so that a
        chain of them flushes in order. True if one was flushed."""
        node = self.inboxes.nearest_partial()
        if node is None:
            return False
        if not self._can_start():
            return True  # paused: flushed on resume
        node.flush_partial()
        self._pump(node)
        return True

    def _timed_out(self) -> None:
        if self.live():
            timeout = self.timeout
            self.fail(bounds.job_timeout(timeout, flows=timeout == self.flow.timeout))

    def fail(self, error: JobError) -> None:
        self._stop_everything()
        self._end.finish(JobStatus.FAILED, error)

    def _stop_everything(self) -> None:
        self._end.disarm()
        # Release what the job holds: queued inputs and buffers (in slices: a backlog at its
        # bound is a few hundred thousand objects, whose freeing would hold the loop).
        queued, held = self.inboxes.clear()
        self._outstanding -= queued
        held.append(self._inline.take_all())  # not started: as a task cancelled before it started
        bounds.release(held)
        self._usage.released()
        for task in self._tasks:
            task.cancel()
