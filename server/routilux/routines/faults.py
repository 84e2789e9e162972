"""Fault injection: Fail, a routine that fails on purpose, to try error handlers on."""

from __future__ import annotations

from pydantic import Field

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from routilux.routines.errors import RoutineFailure


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
