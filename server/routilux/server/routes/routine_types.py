"""Routine types: what a flow document may name, with each type's ports and config schema."""

from __future__ import annotations

from fastapi import APIRouter

from routilux.engine.registry import RoutineRegistry
from routilux.server.deps import RuntimeDep
from routilux.server.openapi_problems import problems
from routilux.server.schemas.routine_types import RoutineType, RoutineTypePage

router = APIRouter(prefix="/api/v1/routine-types", tags=["routine-types"])


def describe(registry: RoutineRegistry) -> list[RoutineType]:
    described = []
    for name, routine_type in registry:
        config_schema = routine_type.config_model.model_json_schema()
        try:
            default = routine_type.config_model()
            slots = list(routine_type.slot_names(default))
            events = list(routine_type.event_names(default))
            activation = routine_type.policy(default).kind
        except ValueError:  # a type whose config has required fields
            slots = list(routine_type.slots)
            events = list(routine_type.events)
            activation = routine_type.activation.kind
        described.append(
            RoutineType(
                name=name,
                aliases=registry.aliases_of(name),
                description=routine_type.description,
                slots=slots,
                events=events,
                activation=activation,
                config_schema=config_schema,
            )
        )
    return described


@router.get("", responses=problems())
async def list_routine_types(runtime: RuntimeDep) -> RoutineTypePage:
    """List the routine types flows can use: slots, events and config JSON Schema of each."""
    items = describe(runtime.registry)
    return RoutineTypePage(items=items, next_cursor=None, total=len(items))
