"""Routines that pass their input through: as it is, later, or after failing on purpose."""

from __future__ import annotations

import asyncio
import time

from pydantic import Field

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from routilux.routines.errors import RoutineFailure


class IdentityConfig(RoutineConfig):
    """Identity takes no configuration."""


class Identity(Routine[IdentityConfig]):
    type_name = "Identity"
    description = (
        "Emits every payload it receives on `output`, unchanged. Useful as an explicit entry "
        "point, to fan one event out to several routines, or as a placeholder while a flow is "
        "being built."
    )
    config_model = IdentityConfig
    inline = True

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        ctx.emit("output", inputs.payload)


class DelayConfig(RoutineConfig):
    seconds: float = Field(
        1.0, ge=0, le=3600, description="Seconds to wait before passing the payload on."
    )


class Delay(Routine[DelayConfig]):
    type_name = "Delay"
    description = (
        "Waits `seconds`, then emits the payload it received on `output`, unchanged. The wait "
        "holds no thread, and a cancelled job stops waiting at once. Payloads of one job pass "
        "one after another, each delayed in turn. A job resumed after a crash keeps each "
        "wait's original deadline."
    )
    config_model = DelayConfig

    async def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        deadline = (ctx.started_at or time.time()) + self.config.seconds
        await asyncio.sleep(max(0.0, deadline - time.time()))
        ctx.emit("output", inputs.payload)


class FailConfig(RoutineConfig):
    message: str = Field(
        "failure requested",
        min_length=1,
        max_length=1000,
        description="The error message of each failure.",
    )
    times: int | None = Field(
        None,
        ge=0,
        le=1000,
        description="How many activations of each job fail before it passes payloads "
        "through; null fails every activation.",
        examples=[2],
    )


class Fail(Routine[FailConfig]):
    type_name = "Fail"
    description = (
        "Raises an error with `message` on the first `times` activations of each job (every "
        "activation when `times` is null), then emits its input on `output`, unchanged. Retries "
        "count as activations, so with the `retry` error strategy and `times: 2` the third "
        "attempt succeeds. Meant for testing error handlers and demonstrating failures."
    )
    config_model = FailConfig
    inline = True

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        # Counted in ctx.state: the routine instance is shared by every job of the flow.
        failures = ctx.state.get("failures", 0)
        if self.config.times is None or failures < self.config.times:
            ctx.state["failures"] = failures + 1
            raise RoutineFailure(self.config.message)
        ctx.emit("output", inputs.payload)
