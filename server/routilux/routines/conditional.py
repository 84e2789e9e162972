"""Routines that choose where a payload goes by CEL conditions: Filter and ConditionalRouter.

A condition is compiled when the flow is validated (``ConditionSource``), so that a bad one is a
located error at flow creation (for example ``routines.keep.config.condition``) instead of a
failure of the first job that reaches it; then once per routine instance. A condition that fails
to evaluate (a missing field, a type mismatch) fails the activation, so the routine's error
handler decides; guard with ``has(data.field)`` when a field may be absent.

Both run on the event loop when their conditions are cheap for the payload (the usual case), and
in the thread pool otherwise (``Condition.inline``). An evaluation whose estimated work exceeds
``MAX_EVALUATION_COST`` is refused before it starts: the activation fails with
``ExpressionTooCostly``, whose message names the bound. A router's conditions share that budget.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from routilux.engine.expressions import (
    MAX_EVALUATION_COST,
    MAX_EXPRESSION_LENGTH,
    Budget,
    Condition,
    ExpressionError,
    inline,
)
from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext
from routilux.engine.spec import PORT_NAME_PATTERN

EVENT_NAME_PATTERN = f"^{PORT_NAME_PATTERN}$"


def _compiles(source: str) -> str:
    try:
        Condition.compile(source)
    except ExpressionError as exc:
        raise ValueError(exc.message) from None
    return source


ConditionSource = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_EXPRESSION_LENGTH,
        description="A CEL expression over the payload, which is the variable `data`.",
        examples=["data.amount > 100", "has(data.user) && data.user.active"],
    ),
    AfterValidator(_compiles),
]
"""A condition field of a routine's config: a CEL source, compiled when the flow is validated."""


class FilterConfig(RoutineConfig):
    condition: ConditionSource


class Filter(Routine[FilterConfig]):
    type_name = "Filter"
    description = (
        "Evaluates `condition` (CEL, the payload is `data`) for each payload and emits the "
        "payload unchanged on `passed` when it is true, on `rejected` when it is false. As with "
        "any event, payloads of an unconnected one are collected in the job's output."
    )
    events = ("passed", "rejected")
    config_model = FilterConfig
    inline = True

    def __init__(self, config: FilterConfig) -> None:
        super().__init__(config)
        self._condition = Condition.compile(config.condition)

    def runs_inline(self, inputs: Inputs) -> bool:
        return self._condition.inline(inputs.payload)

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        payload = inputs.payload
        ctx.emit("passed" if self._condition.evaluate(payload) else "rejected", payload)


class Route(BaseModel):
    """One branch of a ConditionalRouter: an event name and the condition that selects it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=EVENT_NAME_PATTERN,
        description="The event the payload is emitted on; connect it as `<routine>.<name>`.",
        examples=["high"],
    )
    condition: ConditionSource


class ConditionalRouterConfig(RoutineConfig):
    routes: list[Route] = Field(
        min_length=1,
        max_length=100,
        description="Checked in order; route names must be unique.",
        examples=[
            [
                {"name": "high", "condition": "data.amount >= 1000"},
                {"name": "low", "condition": "data.amount < 1000"},
            ]
        ],
    )
    default_route: str | None = Field(
        None,
        pattern=EVENT_NAME_PATTERN,
        description="Event for payloads no route matches; null drops them (nothing is emitted).",
        examples=["other"],
    )
    first_match_only: bool = Field(
        True,
        description="Emit on the first matching route only; false emits on every match.",
    )

    @field_validator("routes")
    @classmethod
    def _unique_names(cls, routes: list[Route]) -> list[Route]:
        seen: set[str] = set()
        for route in routes:
            if route.name in seen:
                raise ValueError(f"route name {route.name!r} is used more than once")
            seen.add(route.name)
        return routes


class ConditionalRouter(Routine[ConditionalRouterConfig]):
    type_name = "ConditionalRouter"
    description = (
        "Sends each payload, unchanged, to the event of the route whose CEL `condition` holds "
        "(the payload is `data`). Routes are checked in order: the first match wins, or every "
        "match when `first_match_only` is false. When none matches, the payload goes to "
        "`default_route`, or nowhere if there is none. Its events are the route names plus the "
        "default route."
    )
    events = ()  # they come from the config: see event_names
    config_model = ConditionalRouterConfig
    inline = True

    def __init__(self, config: ConditionalRouterConfig) -> None:
        super().__init__(config)
        self._routes = [(route.name, Condition.compile(route.condition)) for route in config.routes]

    @classmethod
    def event_names(cls, config: ConditionalRouterConfig) -> tuple[str, ...]:
        names = [route.name for route in config.routes]
        if config.default_route is not None and config.default_route not in names:
            names.append(config.default_route)
        return tuple(names)

    def runs_inline(self, inputs: Inputs) -> bool:
        return inline([condition for _, condition in self._routes], inputs.payload)

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        payload = inputs.payload
        matched = False
        budget = None
        if len(self._routes) > 1:  # the routes of one activation share one budget
            budget = Budget(MAX_EVALUATION_COST, "MAX_EVALUATION_COST")
        for name, condition in self._routes:
            if condition.evaluate(payload, budget=budget):
                ctx.emit(name, payload)
                matched = True
                if self.config.first_match_only:
                    return
        if not matched and self.config.default_route is not None:
            ctx.emit(self.config.default_route, payload)
