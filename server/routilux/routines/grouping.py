"""Routines that turn several payloads into one: Aggregator, Batcher and Debouncer.

The engine's activation policies do the collecting, per job and with real timers; these routines
only shape what an activation received.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator

from routilux.engine.routine import (
    ActivationPolicy,
    AllSlotsReady,
    Batch,
    Debounce,
    Inputs,
    Routine,
    RoutineConfig,
    RoutineContext,
)
from routilux.engine.spec import PORT_NAME_PATTERN
from routilux.routines import paths
from routilux.routines.paths import DottedPath

SlotName = Annotated[str, Field(pattern=f"^{PORT_NAME_PATTERN}$", examples=["orders"])]
MAX_BATCH = 10_000
MAX_WAIT = 86_400


class AggregatorConfig(RoutineConfig):
    slots: list[SlotName] | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Slot names to join: the aggregate is emitted once every slot holds a "
        "payload, as `{slot: payload}`. Null gives the single slot `input`.",
        examples=[["orders", "customers"]],
    )
    count: int | None = Field(
        None,
        ge=1,
        le=MAX_BATCH,
        description="Emit `{items: [...], count: n}` once this many payloads arrived on any "
        "slot, instead of joining by slot.",
        examples=[3],
    )
    timeout: float | None = Field(
        None,
        gt=0,
        le=MAX_WAIT,
        description="Seconds after the first payload of an incomplete aggregate at which it is "
        "emitted as it is; null waits until the job has nothing else to do, then it is "
        "emitted as it is.",
        examples=[5.0],
    )
    field: DottedPath | None = Field(
        None,
        description="Aggregate only this field of each payload (null where it is absent).",
        examples=["result.total"],
    )

    @field_validator("slots")
    @classmethod
    def _unique_slots(cls, slots: list[str] | None) -> list[str] | None:
        if slots is not None and len(set(slots)) != len(slots):
            raise ValueError("slot names must be unique")
        return slots

    @model_validator(mode="after")
    def _slots_or_count(self) -> Self:
        if self.slots is None and self.count is None:
            raise ValueError("set `slots` (join by slot), `count` (collect n payloads) or both")
        return self


class Aggregator(Routine[AggregatorConfig]):
    type_name = "Aggregator"
    description = (
        "Joins several payloads into one. With `slots`, it waits until each named slot holds a "
        "payload and emits `{slot: payload, ...}` on `aggregated`. With `count`, it collects "
        "that many payloads from any of its slots and emits `{items: [...], count: n}` in "
        "arrival order. With `timeout`, an incomplete aggregate is emitted that many seconds "
        "after its first payload (slots that got nothing are absent; `count` is what "
        "arrived); so is one still incomplete when the job has nothing else to do. With "
        "`field`, only that field of each payload is aggregated."
    )
    events = ("aggregated",)
    config_model = AggregatorConfig
    inline = True

    @classmethod
    def slot_names(cls, config: AggregatorConfig) -> tuple[str, ...]:
        return tuple(config.slots) if config.slots else cls.slots

    @classmethod
    def policy(cls, config: AggregatorConfig) -> ActivationPolicy:
        if config.count is not None:
            return Batch(size=config.count, timeout=config.timeout)
        return AllSlotsReady(timeout=config.timeout)

    def _pick(self, payload: dict[str, Any]) -> Any:
        return payload if self.config.field is None else paths.get(payload, self.config.field)

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        if self.config.count is not None:
            items = [self._pick(payload) for payload in inputs.payloads]
            ctx.emit("aggregated", items=items, count=len(items))
        else:
            ctx.emit("aggregated", {item.slot: self._pick(item.payload) for item in inputs.items})


class BatcherConfig(RoutineConfig):
    batch_size: int | None = Field(
        10, ge=1, le=MAX_BATCH, description="Emit a batch once this many payloads arrived."
    )
    batch_timeout: float | None = Field(
        None,
        gt=0,
        le=MAX_WAIT,
        description="Emit what arrived this many seconds after a batch's first payload, even "
        "if it is not full.",
        examples=[1.0],
    )

    @model_validator(mode="after")
    def _size_or_timeout(self) -> Self:
        if self.batch_size is None and self.batch_timeout is None:
            raise ValueError("set `batch_size`, `batch_timeout` or both")
        return self


class Batcher(Routine[BatcherConfig]):
    type_name = "Batcher"
    description = (
        "Collects payloads into batches and emits each on `batch` as `{items: [...], size: n}`, "
        "in arrival order: when `batch_size` payloads arrived, or `batch_timeout` seconds after "
        "the batch's first payload, whichever comes first. The last, partial batch of a job is "
        "emitted by the timeout, or when the job has nothing else to do, whichever comes first."
    )
    events = ("batch",)
    config_model = BatcherConfig
    inline = True

    @classmethod
    def policy(cls, config: BatcherConfig) -> ActivationPolicy:
        return Batch(size=config.batch_size, timeout=config.batch_timeout)

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        items = inputs.payloads
        ctx.emit("batch", items=items, size=len(items))


class DebouncerConfig(RoutineConfig):
    wait: float = Field(
        1.0,
        gt=0,
        le=MAX_WAIT,
        description="Seconds without new input before the last payload is emitted.",
        examples=[0.5],
    )


class Debouncer(Routine[DebouncerConfig]):
    type_name = "Debouncer"
    description = (
        "Emits only the last payload of a burst: once no payload has arrived for `wait` "
        "seconds, the most recent one is emitted on `output`, unchanged, and the ones before it "
        "are dropped."
    )
    config_model = DebouncerConfig
    inline = True

    @classmethod
    def policy(cls, config: DebouncerConfig) -> ActivationPolicy:
        return Debounce(wait=config.wait)

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        ctx.emit("output", inputs.payloads[-1])
