"""The built-in routine types, registered in every runtime before plugins and operator modules."""

from __future__ import annotations

from typing import Any

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
]
