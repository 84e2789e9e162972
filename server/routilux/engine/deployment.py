"""Controls and waits that reach the replica holding a job, whichever replica is asked.

A job's run lives in the memory of the replica that owns it (``jobs.owner``). Cancelling it, or
resuming it at a breakpoint, on another replica is forwarded there as a ``control`` signal; the
owner applies it as its own, flushes its store (so the database shows the outcome), and answers
on ``reply``; the replica asked then reads the job from the database. An owner that does not
answer within :data:`CONTROL_TIMEOUT` raises :class:`ReplicaUnavailable` (503): it died or is
stuck, the control may or may not have been applied, and the client retries (once the owner's
lease ends, another replica holds the job, or it is settled). Resuming every job waiting at a
breakpoint asks every alive replica, and takes the answers that came within the timeout.

Waiting for a job held elsewhere: the waiter reads the database and asks the owner once
(``watch``) to say when the job settles (``settled``, sent after the owner's store is flushed);
it reads the database again then, or every :data:`WAIT_POLL` seconds in case a signal was lost
or the job changed hands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from routilux.engine.background import Background
from routilux.engine.breakpoint_commands import BreakpointCommands
from routilux.engine.clock import new_id
from routilux.engine.errors import (
    BreakpointNotFound,
    JobNotCancellable,
    JobNotFound,
    NoJobWaiting,
    ReplicaUnavailable,
    RoutiluxError,
    StoreUnavailable,
)
from routilux.engine.events import Event, EventType
from routilux.engine.job import JobRun
from routilux.engine.live_jobs import LiveJobs
from routilux.engine.models import Job, JobStatus
from routilux.engine.signals import Message, Signals
from routilux.engine.storage import Store
from routilux.engine.waiters import SETTLED, SETTLING_EVENTS
from routilux.engine.workers import WorkerPool

log = logging.getLogger("routilux.engine")

CONTROL_TIMEOUT = 5.0
"""Seconds a replica waits for the owner of a job to answer a forwarded control."""
WAIT_POLL = 1.0
"""Seconds between two reads of a job another replica holds, while waiting for it."""
MAX_IDS = 150
"""Job ids in one reply at most (a signal is at most 7,000 bytes)."""

# Errors a forwarded control can answer, raised again where it was asked.
FORWARDED_ERRORS: dict[str, type[RoutiluxError]] = {
    cls.code: cls
    for cls in (JobNotFound, JobNotCancellable, NoJobWaiting, BreakpointNotFound, StoreUnavailable)
}


@dataclass
class _Request:
    expected: set[str]
    replies: dict[str, Message] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Deployment:
    """One runtime's controls and waits, here or forwarded to the replica holding the job."""

    def __init__(
        self,
        signals: Signals,
        store: Store,
        jobs: LiveJobs,
        workers: WorkerPool,
        breakpoints: BreakpointCommands,
        *,
        me: Callable[[], str | None],
    ) -> None:
        self.signals = signals
        self.store = store
        self._jobs = jobs
        self._runs = jobs.runs
        self.workers = workers
        self._breakpoints = breakpoints
        self.me = me
        self._pending: dict[str, _Request] = {}  # controls sent, by request id
        self._watchers: dict[str, dict[str, bool]] = {}  # job -> replica -> wants pauses too
        self._woken: dict[str, set[asyncio.Event]] = {}  # waits here for jobs held elsewhere
        self._background = Background()
        signals.on("control", self._on_control)
        signals.on("reply", self._on_reply)
        signals.on("watch", self._on_watch)
        signals.on("settled", self._on_settled)

    @property
    def _alone(self) -> bool:
        return self.store.replicas.exclusive

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._background.spawn(work)

    async def close(self) -> None:
        await self._background.close()

    # -- cancel --------------------------------------------------------------------------------

    async def cancel_run(self, run: JobRun) -> None:
        if run.job.status is JobStatus.QUEUED:
            self.workers.get(run.job.worker_id).remove_queued(run)
            run.cancel()
            await run.finished.wait()
        else:
            run.cancel()

    async def cancel_job(self, job_id: str) -> Job:
        """Cancel a job, here or on the replica holding it."""
        run = self._runs.get(job_id)
        if run is not None:
            await self.cancel_run(run)
            return run.job
        job = await self._jobs.read(job_id)
        if job.status is JobStatus.CANCELLED:
            return job
        owner = await self._holder(job)
        if owner is None:
            raise JobNotCancellable(
                f"job {job_id!r} is {job.status.value} and cannot be cancelled",
                status=job.status.value,
            )
        await self._ask(owner, "cancel", job_id=job_id)
        return await self._stored(job_id)

    async def _holder(self, job: Job) -> str | None:
        """The alive replica holding ``job``, unfinished, if it is not this one; raises
        :class:`ReplicaUnavailable` while no alive replica holds it (it is being taken over)."""
        if self._alone or job.status.finished or job.owner == self.me():
            return None
        if job.owner is None or job.owner not in await self.store.replicas.alive():
            raise ReplicaUnavailable(
                f"the replica holding job {job.job_id!r} is gone; another takes the job over "
                "within its lease"
            )
        return job.owner

    async def _stored(self, job_id: str) -> Job:
        job = await self.store.get_job(job_id)
        if job is None:
            raise JobNotFound(f"job {job_id!r} does not exist", job_id=job_id)
        return job

    # -- breakpoints ---------------------------------------------------------------------------

    async def resume_breakpoint(self, breakpoint_id: str, job_id: str | None) -> list[str]:
        """Resume the jobs waiting at a breakpoint on every replica (or just ``job_id``, on
        the replica holding it); return their ids."""
        if job_id is not None:
            job = None if job_id in self._runs else await self.store.get_job(job_id)
            owner = await self._holder(job) if job is not None else None
            if owner is None or job is None or job.status is not JobStatus.PAUSED:
                return self._breakpoints.resume(breakpoint_id, job_id)
            reply = await self._ask(owner, "resume", breakpoint_id=breakpoint_id, job_id=job_id)
            return list(reply.get("jobs", []))
        try:
            resumed = self._breakpoints.resume(breakpoint_id)
        except NoJobWaiting:
            resumed = []
        if not self._alone:
            others = (await self.store.replicas.alive()) - {self.me()}
            replies = await self._request(others, "resume", {"breakpoint_id": breakpoint_id})
            for reply in replies.values():
                resumed.extend(reply.get("jobs", []))
        if not resumed:
            raise NoJobWaiting(f"no job is waiting at breakpoint {breakpoint_id!r}")
        return resumed

    # -- forwarding ----------------------------------------------------------------------------

    async def _ask(self, owner: str, op: str, **args: Any) -> Message:
        """Have ``owner`` apply a control; its answer, or its error raised here."""
        reply = (await self._request({owner}, op, args)).get(owner)
        if reply is None:
            raise ReplicaUnavailable(
                f"replica {owner} holding the job did not answer within {CONTROL_TIMEOUT:g} s"
            )
        code = reply.get("error")
        if code is not None:
            cls = FORWARDED_ERRORS.get(code)
            message = str(reply.get("message", ""))
            if cls is None:
                raise ReplicaUnavailable(f"replica {owner} could not apply the control: {message}")
            raise cls(message, **reply.get("details", {}))
        return reply

    async def _request(self, to: set[str], op: str, args: Message) -> dict[str, Message]:
        """Send a control to the replicas ``to``; the answers that came within the timeout."""
        if not to:
            return {}
        request = new_id("req")
        pending = self._pending[request] = _Request(set(to))
        message = {"to": sorted(to), "op": op, "request": request, "from": self.me(), **args}
        try:
            await self.signals.send("control", message)
            try:
                async with asyncio.timeout(CONTROL_TIMEOUT):
                    await pending.done.wait()
            except TimeoutError:
                pass
            return pending.replies
        finally:
            del self._pending[request]

    def _on_reply(self, message: Message) -> None:
        pending = self._pending.get(message.get("request", ""))
        if pending is not None and message.get("to") == self.me():
            pending.replies[str(message.get("from"))] = message
            if pending.expected.issubset(pending.replies):
                pending.done.set()

    def _on_control(self, message: Message) -> None:
        me = self.me()
        if me in message.get("to", ()) and message.get("from") != me:
            self._spawn(self._serve(message))

    async def _serve(self, message: Message) -> None:
        reply: Message = {"to": message.get("from"), "request": message.get("request")}
        try:
            reply.update(await self._apply(message))
            await self.store.flush()  # the asker reads the outcome from the database
        except RoutiluxError as exc:
            details = {k: v for k, v in exc.details.items() if isinstance(v, str | int)}
            reply.update(error=exc.code, message=exc.message, details=details)
        except Exception as exc:
            log.exception("a control forwarded by replica %s failed", message.get("from"))
            reply.update(error="routilux_error", message=str(exc)[:500])
        reply["from"] = self.me()
        await self.signals.send("reply", reply)

    async def _apply(self, message: Message) -> Message:
        op = message.get("op")
        if op == "cancel":
            job_id = str(message.get("job_id"))
            run = self._runs.get(job_id)
            if run is None:  # ended meanwhile, or changed hands
                job = await self._jobs.read(job_id)
                if job.status is JobStatus.CANCELLED:
                    return {}
                if not job.status.finished:
                    raise ReplicaUnavailable(f"job {job_id!r} is changing hands; retry")
                raise JobNotCancellable(
                    f"job {job_id!r} is {job.status.value} and cannot be cancelled",
                    status=job.status.value,
                )
            await self.cancel_run(run)
            if run.job.status is JobStatus.CANCELLING:
                # Stored too: the asker answers with it, and a replica taking the job over
                # from here ends it cancelled.
                self.store.save_job_later(run.job)
            return {}
        if op == "resume":
            bp_id, one = str(message.get("breakpoint_id")), message.get("job_id")
            try:
                resumed = self._breakpoints.resume(bp_id, one)
            except (NoJobWaiting, BreakpointNotFound):
                if one is not None:
                    raise
                resumed = []  # asked of every replica: none waiting here
            return {"jobs": resumed[:MAX_IDS]}
        raise ValueError(f"unknown control {op!r}")

    # -- waits ---------------------------------------------------------------------------------

    async def wait_finished(self, job_id: str, timeout: float | None) -> Job:
        """Wait until the job is finished (and durable); raise TimeoutError after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        job = await self._wait_elsewhere(job_id, deadline, finished=True)
        if job is not None:
            if not job.status.finished:
                raise TimeoutError
            return job
        left = None if deadline is None else max(0.0, deadline - loop.time())
        return await self._jobs.wait_finished(job_id, left)

    async def wait_settled(self, job_id: str, timeout: float) -> Job:
        """The job once it is finished or paused, or as it is after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        job = await self._wait_elsewhere(job_id, deadline, finished=False)
        if job is not None:
            return job
        return await self._jobs.wait_settled(job_id, max(0.0, deadline - loop.time()))

    async def _wait_elsewhere(
        self, job_id: str, deadline: float | None, *, finished: bool
    ) -> Job | None:
        """Wait for a job another replica holds, until it is finished (or settled) or the
        ``deadline``; then the job as the database has it. None once the job is (or comes to
        be) held here: the caller waits for it locally."""
        if self._alone:
            return None
        loop = asyncio.get_running_loop()
        watched: tuple[str | None, JobStatus] | None = None
        woken = False
        while job_id not in self._runs:
            job = await self._jobs.read(job_id)
            if (job.status.finished if finished else job.status in SETTLED) or (
                job.owner == self.me()
            ):
                return job
            left = WAIT_POLL if deadline is None else deadline - loop.time()
            if left <= 0:
                return job
            # Ask the owner again unless it just answered and nothing changed (an owner that
            # answers at once would otherwise be asked in a loop).
            seen = (job.owner, job.status)
            ask = job.owner is not None and (not woken or seen != watched)
            watched = seen
            woken = await self._woken_by_owner(job, ask, min(left, WAIT_POLL), finished)
        return None

    async def _woken_by_owner(self, job: Job, ask: bool, timeout: float, finished: bool) -> bool:
        event = asyncio.Event()
        events = self._woken.setdefault(job.job_id, set())
        events.add(event)
        try:
            if ask:
                until = "finished" if finished else "settled"
                watch = {"to": job.owner, "job_id": job.job_id, "until": until, "from": self.me()}
                await self.signals.send("watch", watch)
            try:
                async with asyncio.timeout(timeout):
                    await event.wait()
                return True
            except TimeoutError:
                return False
        finally:
            events.discard(event)
            if not events and self._woken.get(job.job_id) is events:
                del self._woken[job.job_id]

    def _on_watch(self, message: Message) -> None:
        me = self.me()
        job_id, who = message.get("job_id"), message.get("from")
        if message.get("to") != me or not isinstance(job_id, str) or not isinstance(who, str):
            return
        pauses = message.get("until") == "settled"
        run = self._runs.get(job_id)
        if run is None or (pauses and run.job.status in SETTLED):
            self._spawn(self._tell([who], job_id))  # settled already, or not held here
        else:
            watchers = self._watchers.setdefault(job_id, {})
            watchers[who] = watchers.get(who, False) or pauses

    def job_event(self, event: Event) -> None:
        """A bus sink: tell the replicas waiting for a job here that it settled."""
        if not self._watchers or event.job_id not in self._watchers:
            return
        if event.type not in SETTLING_EVENTS:
            return
        ended = event.type is not EventType.JOB_PAUSED
        watchers = self._watchers[event.job_id]
        told = [who for who, pauses in watchers.items() if ended or pauses]
        for who in told:
            del watchers[who]
        if not watchers:
            del self._watchers[event.job_id]
        if told:
            self._spawn(self._tell(told, event.job_id))

    async def _tell(self, to: list[str], job_id: str) -> None:
        await self.store.flush()  # what the waiters read next is in the database
        await self.signals.send("settled", {"to": to, "job_id": job_id})

    def _on_settled(self, message: Message) -> None:
        if self.me() in message.get("to", ()):
            for event in self._woken.get(str(message.get("job_id")), ()):
                event.set()
