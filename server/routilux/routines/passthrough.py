"""Routines that pass their input through unchanged: at once (Identity) or later (Delay)."""

from __future__ import annotations

import asyncio
import time

from pydantic import Field

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext


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
