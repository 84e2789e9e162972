"""Helpers shared by the routine tests: build a routine, activate it, run a flow."""

from __future__ import annotations

import inspect
from typing import Any

from routilux.engine import Job, Runtime, compile_flow, load_flow
from routilux.engine.errors import FlowValidationError
from routilux.engine.routine import Inputs, Item, Payload, Routine, RoutineContext
from routilux.routines import default_registry


def build(routine_type: type[Routine[Any]], config: dict[str, Any]) -> Routine[Any]:
    """An instance of ``routine_type`` with ``config`` validated as a flow would validate it."""
    return routine_type(routine_type.config_model.model_validate(config))


def context(routine: Routine[Any], state: dict[str, Any] | None = None) -> RoutineContext:
    return RoutineContext(
        job_id="job_test",
        flow_id="flow_test",
        routine_id="under_test",
        attempt=1,
        state={} if state is None else state,
        events=frozenset(type(routine).event_names(routine.config)),
    )


async def activate_items(
    routine: Routine[Any], items: list[Item], state: dict[str, Any] | None = None
) -> list[tuple[str, Payload]]:
    """Run one activation with ``items``; return what it emitted."""
    ctx = context(routine, state)
    result = routine.run(ctx, Inputs(tuple(items)))
    if inspect.isawaitable(result):
        await result
    return ctx.emitted


async def activate(
    routine: Routine[Any], *payloads: Payload, state: dict[str, Any] | None = None
) -> list[tuple[str, Payload]]:
    """Run one activation with ``payloads`` on the slot ``input``; return what it emitted."""
    return await activate_items(routine, [Item("input", p) for p in payloads], state)


async def run_flow(document: str, data: dict[str, Any], *, timeout: float = 5) -> Job:
    """Create the flow in a fresh runtime, run one job with ``data``, return the finished job."""
    async with Runtime(default_registry()) as runtime:
        flow = await runtime.create_flow(load_flow(document))
        job = await runtime.execute(flow.flow_id, data)
        return await runtime.wait_job(job.job_id, timeout=timeout)


def flow_errors(document: str) -> list[tuple[tuple[str | int, ...], str]]:
    """The located problems of a flow document that does not compile (fails if it compiles)."""
    try:
        compile_flow(load_flow(document), default_registry(), flow_id="flow_test")
    except FlowValidationError as exc:
        return [(error.loc, error.message) for error in exc.errors]
    raise AssertionError("the flow compiled")


def error_locs(document: str) -> list[tuple[str | int, ...]]:
    return [loc for loc, _ in flow_errors(document)]
