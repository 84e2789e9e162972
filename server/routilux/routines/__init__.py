"""The built-in routine types, registered in every runtime before plugins and operator modules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from routilux.engine.registry import RoutineRegistry
from routilux.engine.routine import Routine
from routilux.routines.conditional import ConditionalRouter, Filter
from routilux.routines.errors import RoutineFailure
from routilux.routines.faults import Fail
from routilux.routines.grouping import Aggregator, Batcher, Debouncer
from routilux.routines.passthrough import Delay, Identity
from routilux.routines.transform import Mapper, Splitter
from routilux.routines.validation import SchemaValidator

BUILTIN_TYPES: tuple[type[Routine[Any]], ...] = (
    Identity,
    Mapper,
    Filter,
    ConditionalRouter,
    Splitter,
    Aggregator,
    Batcher,
    Debouncer,
    SchemaValidator,
    Delay,
    Fail,
)


def default_registry(
    modules: Iterable[str] = (), *, entry_points_enabled: bool = True
) -> RoutineRegistry:
    """The built-in types, then installed plugins (entry points), then the routines of the
    operator's ``modules`` (later names win): what the server runs flows with."""
    return RoutineRegistry.with_plugins(
        BUILTIN_TYPES, modules, entry_points_enabled=entry_points_enabled
    )


__all__ = [
    "BUILTIN_TYPES",
    "Aggregator",
    "Batcher",
    "ConditionalRouter",
    "Debouncer",
    "Delay",
    "Fail",
    "Filter",
    "Identity",
    "Mapper",
    "RoutineFailure",
    "SchemaValidator",
    "Splitter",
    "default_registry",
]
