"""A routine's inbox in one job: how its slot policy turns deliveries into activations.

An :class:`Inbox` holds what reached one routine of one job and was not yet taken: the queued
activations, the join buffers (one per slot), the pending batch or debounced set, and the timer
that flushes them; and the routine's own per-job state (its ``ctx.state`` and the activations
running outside the loop), which a checkpoint saves with the timer's deadline and a resumed job
loads back. The job that owns the inbox counts its outstanding work (see :class:`InboxOwner`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from routilux.engine.checkpoint import Delivery, RoutineState, Running
from routilux.engine.models import Job, RoutineProgress
from routilux.engine.routine import AllSlotsReady, Batch, Debounce, Immediate, Inputs, Item
from routilux.engine.sizes import payload_size
from routilux.engine.spec import CompiledFlow, CompiledRoutine, Port


class InboxOwner(Protocol):
    """What an inbox tells the job it belongs to."""

    def work_added(self) -> None:
        """An activation was queued, or a timer armed: one more piece of outstanding work."""

    def timer_disarmed(self) -> None:
        """An armed timer was cancelled before it fired: one piece of work less."""

    def changed(self, inbox: Inbox) -> None:
        """What a checkpoint saves of ``inbox`` (its timer's deadline) changed."""

    def timer_fired(self, inbox: Inbox) -> None:
        """``inbox``'s timer fired: the job flushes it (if it is still live) and counts it done."""


@dataclass(slots=True)
class Activation:
    inputs: Inputs
    seqs: tuple[int, ...]  # the deliveries it consumes (the first one names it)
    size: int = 0  # estimated bytes of its deliveries, counted in the job's backlog
    passed_breakpoint: bool = False


@dataclass(eq=False)
class Inbox:
    """Per-job state of one routine."""

    spec: CompiledRoutine
    progress: RoutineProgress
    owner: InboxOwner
    queue: deque[Activation] = field(default_factory=deque)
    busy: bool = False
    slot_items: dict[str, deque[Delivery]] = field(default_factory=dict)
    pending: list[Delivery] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    flush: Callable[[], None] | None = None  # what the timer does when it fires
    deadline: float | None = None  # the timer's, in seconds since the epoch
    state: dict[str, Any] = field(default_factory=dict)
    running: dict[int, Running] = field(default_factory=dict)  # activations outside the loop
    stored: bool = False  # a checkpoint holds state of this routine (to be kept current)

    def __post_init__(self) -> None:
        if isinstance(self.spec.policy, AllSlotsReady):  # only a join buffers by slot
            self.slot_items = {slot: deque() for slot in self.spec.slots}

    # -- the slot policies ---------------------------------------------------------------------

    def put(self, delivery: Delivery, size: int) -> None:
        """Take one delivery, as the routine's activation policy says."""
        policy = self.spec.policy
        slot = delivery.slot
        if isinstance(policy, Immediate):
            self.owner.work_added()
            items = Inputs((Item(slot, delivery.payload),))
            self.queue.append(Activation(items, (delivery.seq,), size))
        elif isinstance(policy, AllSlotsReady):
            self.slot_items[slot].append(delivery)
            if all(self.slot_items.values()):
                self.disarm()
                self.enqueue([q.popleft() for q in self.slot_items.values()])
            if policy.timeout is not None and self.timer is None and any(self.slot_items.values()):
                self.arm(policy.timeout, self.flush_join)
        elif isinstance(policy, Batch):
            self.pending.append(delivery)
            if policy.size is not None and len(self.pending) >= policy.size:
                self.disarm()
                batch, self.pending = self.pending[: policy.size], self.pending[policy.size :]
                self.enqueue(batch)
            if policy.timeout is not None and self.timer is None and self.pending:
                self.arm(policy.timeout, self.flush_pending)
        elif isinstance(policy, Debounce):
            self.pending.append(delivery)
            self.disarm()
            self.arm(policy.wait, self.flush_pending)

    def enqueue(self, deliveries: list[Delivery]) -> None:
        """Queue an activation of buffered deliveries (a join, a batch, a debounced set)."""
        self.owner.work_added()
        items = tuple(Item(d.slot, d.payload) for d in deliveries)
        size = sum(payload_size(d.payload) for d in deliveries)
        self.queue.append(Activation(Inputs(items), tuple(d.seq for d in deliveries), size))

    def flush_pending(self) -> None:
        if self.pending:
            deliveries, self.pending = self.pending, []
            self.enqueue(deliveries)

    def flush_join(self) -> None:
        deliveries = [q.popleft() for q in self.slot_items.values() if q]
        if deliveries:
            self.enqueue(deliveries)
        policy = self.spec.policy
        if any(self.slot_items.values()) and isinstance(policy, AllSlotsReady) and policy.timeout:
            self.arm(policy.timeout, self.flush_join)  # the next partial set waits too

    def partial(self) -> bool:
        """Whether a partial batch or join waits here."""
        return bool(self.pending) or any(self.slot_items.values())

    def flush_partial(self) -> None:
        """Hand the partial batch (or join) to the routine as it is."""
        if self.pending:
            self.flush_pending()
        else:
            self.enqueue([q.popleft() for q in self.slot_items.values() if q])

    # -- the timer -----------------------------------------------------------------------------

    def arm(self, delay: float, flush: Callable[[], None]) -> None:
        self.owner.work_added()
        self.flush = flush
        self.deadline = time.time() + delay
        self.timer = asyncio.get_running_loop().call_later(delay, self._fire)
        self.owner.changed(self)

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            self.deadline = None
            self.owner.changed(self)
            self.owner.timer_disarmed()

    def _fire(self) -> None:
        self.timer = None
        self.deadline = None
        self.owner.changed(self)
        self.owner.timer_fired(self)

    def stop_timer(self) -> None:
        """Cancel the timer without counting (the job is being suspended)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def clear(self) -> list[deque[Any]]:
        """Drop everything queued or buffered (the job ends): disarm, and return what was held,
        for the caller to free a slice at a time."""
        self.disarm()
        held: list[deque[Any]] = [self.queue]
        self.queue = deque()
        self.pending = []
        for slot in self.slot_items:
            held.append(self.slot_items[slot])
            self.slot_items[slot] = deque()
        return held

    # -- checkpoints ---------------------------------------------------------------------------

    def saved(self) -> RoutineState:
        """What a checkpoint keeps of this routine beyond its deliveries."""
        self.stored = True
        return RoutineState(self.spec.routine_id, self.state, self.deadline, self.running)

    def load(self, saved: RoutineState) -> None:
        self.state, self.running, self.stored = saved.state, saved.running, True

    def rearm_at(self, deadline: float | None, now: float) -> None:
        """After a replay: the timer fires at its saved deadline (at once if that has passed)."""
        if self.timer is None or self.flush is None or deadline is None:
            return
        flush = self.flush
        self.disarm()
        self.arm(max(0.0, deadline - now), flush)


def entry_distances(flow: CompiledFlow, entry: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Each routine's distance in connections from ``entry`` (breadth first): the order in
    which partial inboxes are flushed when nothing else is left to do."""
    following: dict[str, set[str]] = {}
    for (source, _), destinations in flow.targets.items():
        following.setdefault(source, set()).update(t for t, _ in destinations)
    distance = {routine_id: 0 for routine_id, _ in entry}
    frontier = list(distance)
    while frontier:
        after: list[str] = []
        for routine_id in frontier:
            for target in following.get(routine_id, ()):
                if target not in distance:
                    distance[target] = distance[routine_id] + 1
                    after.append(target)
        frontier = after
    return distance


class JobInboxes:
    """The inboxes of one job's routines, each created when the routine is first delivered to."""

    def __init__(self, job: Job, flow: CompiledFlow, owner: InboxOwner) -> None:
        self._job = job
        self._flow = flow
        self._owner = owner
        self._inboxes: dict[str, Inbox] = {}
        self._distance: dict[str, int] | None = None  # hops from the entry, for partial flushes

    def __iter__(self) -> Iterator[Inbox]:
        return iter(self._inboxes.values())

    def get(self, routine_id: str) -> Inbox | None:
        return self._inboxes.get(routine_id)

    def of(self, routine_id: str) -> Inbox:
        """``routine_id``'s inbox, created if it has none yet."""
        inbox = self._inboxes.get(routine_id)
        if inbox is None:
            spec = self._flow.routines[routine_id]
            progress = self._job.progress.setdefault(routine_id, RoutineProgress())
            inbox = Inbox(spec=spec, progress=progress, owner=self._owner)
            self._inboxes[routine_id] = inbox
        return inbox

    def entry(self) -> tuple[Port, ...]:
        """Where the job's input goes in: its own entry, or else its flow's."""
        job, flow = self._job, self._flow
        return flow.parse_entry(job.entry) if job.entry else flow.entry

    def nearest_partial(self) -> Inbox | None:
        """Of the inboxes holding a partial batch or join, the one nearest the job's entry."""
        partial = [inbox for inbox in self._inboxes.values() if inbox.partial()]
        if not partial:
            return None
        if self._distance is None:
            self._distance = entry_distances(self._flow, self.entry())
        distance = self._distance
        return min(partial, key=lambda n: distance.get(n.spec.routine_id, len(distance)))

    def clear(self) -> tuple[int, list[deque[Any]]]:
        """Drop what every inbox holds (the job ends): return how many activations were queued,
        and what was held, for the caller to free a slice at a time."""
        queued = 0
        held: list[deque[Any]] = []
        for inbox in self._inboxes.values():
            queued += len(inbox.queue)
            held.extend(inbox.clear())
        return queued, held
