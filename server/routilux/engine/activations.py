"""Running one activation of a routine: on the loop, as a task, or in the thread pool, with its
attempts, retries and failure strategy.

A :class:`ActivationRunner` runs the activations of one job; what it records (the running
activations in checkpoints, the routing of what they emitted, the job's failure) it asks of the
job (see :class:`ActivationHost`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import anyio
import anyio.to_thread

from routilux.engine import logcontext
from routilux.engine.events import EventType
from routilux.engine.inbox import Activation, Inbox
from routilux.engine.models import Job, JobError, RoutineStatus
from routilux.engine.routine import Inputs, RoutineContext
from routilux.engine.spec import CompiledRoutine


class ActivationHost(Protocol):
    """What running an activation asks of its job."""

    job: Job

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The thread pool's bound."""

    def live(self) -> bool:
        """Whether the job still runs (not ending, cancelled or failed)."""

    def publish(
        self, type: EventType, *, routine_id: str | None = None, data: dict[str, Any] | None = None
    ) -> None: ...

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep ``task`` among the job's (cancelled if the job ends)."""

    def checkpoint_running(
        self, node: Inbox, activation: Activation, started: float, attempt: int
    ) -> None:
        """Checkpoint that an activation outside the loop runs, at ``attempt``."""

    def completed(self, node: Inbox, activation: Activation, ctx: RoutineContext) -> None:
        """The activation returned: route what it emitted and checkpoint it."""

    def consumed(self, node: Inbox, activation: Activation) -> None:
        """The activation is over for good (its failure continued or skipped)."""

    def fail(self, error: JobError) -> None: ...

    def end(self, node: Inbox) -> None:
        """The routine is free for its next activation."""


class ActivationRunner:
    def __init__(self, host: ActivationHost) -> None:
        self._host = host
        self._publish = host.publish  # the job's events (not a method of the run: no cycle)
        self._flow_id, self._job_id = host.job.flow_id, host.job.job_id  # a job's ids never change

    def run_inline(self, node: Inbox, activation: Activation) -> None:
        """An activation of inline logic, whole, in one callback of the loop."""
        if not self._host.live():
            return  # the job ended first: as for a task cancelled before it started
        self._begin(node)
        was = node.running.get(activation.seqs[0])  # a retried job's failed activation
        attempt, started = (was.attempt, was.started) if was else (1, time.time())
        ctx = self._context(node, activation, attempt, started)
        retrying = False
        try:
            try:
                node.spec.routine.run(ctx, activation.inputs)
            except Exception as exc:
                delay = self._after_failure(node, activation, exc, attempt)
                if delay is not None:
                    # A retry waits for its delay: it goes on as a task, like any activation.
                    retrying = True
                    self._host.checkpoint_running(node, activation, started, attempt + 1)
                    retry = self.run(node, activation, retry=(attempt + 1, delay))
                    self._host.track(asyncio.create_task(retry))
                return
            if self._host.live():
                self._host.completed(node, activation, ctx)
        finally:
            if not retrying:
                self._host.end(node)

    async def run(
        self, node: Inbox, activation: Activation, *, retry: tuple[int, float] | None = None
    ) -> None:
        """An activation as a task: async logic, logic in a thread, or the retries of an inline
        activation (``retry``: the attempt to make, after its delay)."""
        spec = node.spec
        inputs = activation.inputs
        first = activation.seqs[0]
        try:
            if retry is None:
                self._begin(node)
                # Recorded while it runs: a resumed job runs it again as the same attempt, and
                # its time-based logic (a Delay) keeps its original deadline.
                was = node.running.get(first)
                started, attempt = (was.started, was.attempt) if was else (time.time(), 1)
                self._host.checkpoint_running(node, activation, started, attempt)
            else:
                attempt, delay = retry
                started = node.running[first].started
                await asyncio.sleep(delay)
                if not self._host.live():
                    return
            while True:
                ctx = self._context(node, activation, attempt, started)
                try:
                    if spec.is_async:
                        await spec.routine.run(ctx, inputs)
                    elif spec.inline and spec.routine.runs_inline(inputs):
                        spec.routine.run(ctx, inputs)
                    else:
                        await self._run_in_thread(spec, ctx, inputs)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    wait = self._after_failure(node, activation, exc, attempt)
                    if wait is None:
                        return
                    attempt += 1
                    self._host.checkpoint_running(node, activation, started, attempt)
                    await asyncio.sleep(wait)
                    if not self._host.live():
                        return
                    continue
                if not self._host.live():
                    return  # cancelled or failed meanwhile: the output is discarded
                self._host.completed(node, activation, ctx)
                return
        finally:
            self._host.end(node)

    def _begin(self, node: Inbox) -> None:
        routine_id = node.spec.routine_id
        # This task's (or callback's) own context: its log lines, the routine's too, name the
        # job and routine.
        logcontext.current.set((self._flow_id, self._job_id, routine_id))
        progress = node.progress
        progress.activations += 1
        progress.status = RoutineStatus.RUNNING
        self._publish(EventType.ROUTINE_STARTED, routine_id=routine_id)

    def _context(
        self, node: Inbox, activation: Activation, attempt: int, started: float
    ) -> RoutineContext:
        logcontext.activation.set((node.progress.activations, attempt))
        spec = node.spec
        return RoutineContext(
            job_id=self._job_id,
            flow_id=self._flow_id,
            routine_id=spec.routine_id,
            attempt=attempt,
            state=node.state,
            events=spec.events,
            first_seq=activation.seqs[0],
            started_at=started,
        )

    def _after_failure(
        self, node: Inbox, activation: Activation, exc: Exception, attempt: int
    ) -> float | None:
        """After a failed attempt: the delay before the next one, or None when there is none
        (the failure is then recorded, unless the job is ending anyway)."""
        if not self._host.live():
            return None
        handler = node.spec.error_handler
        if handler.strategy == "retry" and attempt <= handler.max_retries:
            node.progress.retries += 1
            delay = handler.delay(attempt)
            self._host.publish(
                EventType.ROUTINE_RETRYING,
                routine_id=node.spec.routine_id,
                data={**describe(exc), "attempt": attempt, "delay": delay},
            )
            return delay
        self._routine_failed(node, activation, exc, attempt)
        return None

    async def _run_in_thread(
        self, spec: CompiledRoutine, ctx: RoutineContext, inputs: Inputs
    ) -> None:
        """Run sync logic in the bounded pool. A thread cannot be interrupted, so on
        cancellation wait for it to end (its output is then discarded) before re-raising."""
        call = asyncio.ensure_future(
            anyio.to_thread.run_sync(spec.routine.run, ctx, inputs, limiter=self._host.limiter)
        )
        try:
            await asyncio.shield(call)
        except asyncio.CancelledError:
            await asyncio.wait([call])
            raise

    def _routine_failed(
        self, node: Inbox, activation: Activation, exc: Exception, attempt: int
    ) -> None:
        routine_id = node.spec.routine_id
        progress = node.progress
        progress.failed += 1
        progress.last_error = f"{type(exc).__name__}: {exc}"
        strategy = node.spec.error_handler.strategy
        if strategy == "continue":
            progress.status = RoutineStatus.ERROR_CONTINUED
            self._host.publish(
                EventType.ROUTINE_FAILED,
                routine_id=routine_id,
                data={**describe(exc), "strategy": strategy},
            )
            self._host.consumed(node, activation)
        elif strategy == "skip":
            progress.status = RoutineStatus.SKIPPED
            self._host.publish(EventType.ROUTINE_SKIPPED, routine_id=routine_id, data=describe(exc))
            self._host.consumed(node, activation)
        else:
            # Kept for a retry of the job, which runs it again as the next attempt.
            was = node.running.get(activation.seqs[0])
            self._host.checkpoint_running(
                node, activation, was.started if was else time.time(), attempt + 1
            )
            progress.status = RoutineStatus.FAILED
            self._host.publish(
                EventType.ROUTINE_FAILED,
                routine_id=routine_id,
                data={**describe(exc), "strategy": strategy},
            )
            error = JobError(
                code="routine_failed",
                type=type(exc).__name__,
                message=str(exc) or type(exc).__name__,
                routine_id=routine_id,
            )
            self._host.fail(error)


def describe(exc: BaseException) -> dict[str, Any]:
    return {"error_type": type(exc).__name__, "message": str(exc)}
