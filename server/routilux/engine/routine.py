"""Authoring routines: slots in, events out, a typed config, and an activation policy.

A routine type is a subclass of :class:`Routine`. One instance exists per routine of a flow and is
shared by every job of that flow, so logic must keep per-job state in ``ctx.state`` (which the
engine keeps per job and per routine), never on ``self``.

Logic may be a plain function (run in a bounded thread pool) or a coroutine function (run on the
event loop). What it emits is buffered and routed only when the activation returns, so an
activation is all or nothing: a failed attempt, a retried attempt or a cancelled one emits nothing.

A type whose plain logic is quick and never blocks (no I/O, no waiting, bounded work) may set
``inline = True``: it then runs on the event loop too, without the round trip to a thread, which
costs far more than such logic itself. The built-in types do, except SchemaValidator (a schema can
make validation arbitrarily slow).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict

Payload = dict[str, Any]


class RoutineConfig(BaseModel):
    """Base of every routine type's config; unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


ConfigT = TypeVar("ConfigT", bound=RoutineConfig)


@dataclass(frozen=True)
class Immediate:
    """Run once per item, as soon as it arrives (the default)."""

    kind: ClassVar[str] = "immediate"


@dataclass(frozen=True)
class AllSlotsReady:
    """Run once every slot holds an item, taking one item from each (a join).

    With ``timeout``, a partial set is released that many seconds after its first item arrived.
    """

    timeout: float | None = None
    kind: ClassVar[str] = "all_slots_ready"


@dataclass(frozen=True)
class Batch:
    """Run on ``size`` items, or on whatever arrived ``timeout`` seconds after the first one."""

    size: int | None = None
    timeout: float | None = None
    kind: ClassVar[str] = "batch"

    def __post_init__(self) -> None:
        if self.size is None and self.timeout is None:
            raise ValueError("a batch needs a size, a timeout or both")


@dataclass(frozen=True)
class Debounce:
    """Run once the input has been quiet for ``wait`` seconds, with all that came since."""

    wait: float
    kind: ClassVar[str] = "debounce"


ActivationPolicy = Immediate | AllSlotsReady | Batch | Debounce


class Item(NamedTuple):
    """One payload that arrived on one slot."""

    slot: str
    payload: Payload


class Inputs(NamedTuple):
    """What one activation receives: the items in arrival order.

    A named tuple, like ``Item``: one is made for every activation, and a tuple is the cheapest
    immutable record Python makes."""

    items: tuple[Item, ...]

    @property
    def payload(self) -> Payload:
        """The first item's payload: the only one under the immediate policy."""
        return self.items[0].payload

    @property
    def payloads(self) -> list[Payload]:
        return [item.payload for item in self.items]

    def by_slot(self) -> dict[str, list[Payload]]:
        grouped: dict[str, list[Payload]] = {}
        for item in self.items:
            grouped.setdefault(item.slot, []).append(item.payload)
        return grouped


@dataclass(slots=True)
class RoutineContext:
    """What logic sees of its job: ids, per-job state, and ``emit``."""

    job_id: str
    flow_id: str
    routine_id: str
    attempt: int
    state: dict[str, Any]
    events: frozenset[str]
    emitted: list[tuple[str, Payload]] = field(default_factory=list)
    first_seq: int = 0
    """The sequence number of the first delivery the activation takes (unique in its job)."""
    started_at: float = 0.0
    """When the activation's first attempt started (seconds since the epoch), also after a
    crash: time-based logic waits until a deadline computed from it."""

    @property
    def activation_id(self) -> str:
        """Names this activation in its job, the same when it runs again (a retry, or after a
        crash resumed the job): a key for making side effects idempotent, with ``attempt``."""
        return f"{self.job_id}:{self.routine_id}:{self.first_seq}"

    def emit(self, event: str, payload: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Emit ``event`` with a payload (a mapping, keyword fields, or both merged)."""
        if event not in self.events:
            known = ", ".join(sorted(self.events)) or "none"
            raise ValueError(
                f"routine {self.routine_id!r} has no event {event!r} (events: {known})"
            )
        data: Payload = dict(payload) if payload is not None else {}
        data.update(fields)
        self.emitted.append((event, data))


class Routine(ABC, Generic[ConfigT]):
    """Base class of routine types.

    Subclasses set ``type_name`` (the name flows use), optionally ``aliases``, ``slots``,
    ``events``, ``config_model``, ``activation``, and implement ``run``. Types whose ports or
    policy depend on their config override ``slot_names``, ``event_names`` or ``policy``.
    """

    type_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    slots: ClassVar[tuple[str, ...]] = ("input",)
    events: ClassVar[tuple[str, ...]] = ("output",)
    config_model: ClassVar[type[RoutineConfig]] = RoutineConfig
    activation: ClassVar[ActivationPolicy] = Immediate()
    #: Plain (non-async) logic that is quick and never blocks runs on the event loop.
    inline: ClassVar[bool] = False

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @classmethod
    def slot_names(cls, config: ConfigT) -> tuple[str, ...]:
        return cls.slots

    @classmethod
    def event_names(cls, config: ConfigT) -> tuple[str, ...]:
        return cls.events

    @classmethod
    def policy(cls, config: ConfigT) -> ActivationPolicy:
        return cls.activation

    @classmethod
    def is_async(cls) -> bool:
        return inspect.iscoroutinefunction(cls.run)

    def runs_inline(self, inputs: Inputs) -> bool:
        """For a type with ``inline = True``: whether this activation may run on the event
        loop. A type whose work depends on its input (a condition over a large payload) answers
        False for costly inputs, which then run in the thread pool."""
        return True

    @abstractmethod
    def run(self, ctx: RoutineContext, inputs: Inputs) -> Any:
        """The routine's logic: read ``inputs``, call ``ctx.emit``. May be ``async def``."""
