"""The Routilux engine: routines, flows, jobs, workers and breakpoints, in pure asyncio.

This package imports neither a web framework nor a database library; the server and the store
build on it, never the other way round.
"""

from routilux.engine.documents import load_flow
from routilux.engine.errors import RoutiluxError
from routilux.engine.events import Event, EventBus, EventFilter, EventType
from routilux.engine.models import (
    Breakpoint,
    FlowRecord,
    Job,
    JobError,
    JobStatus,
    PausedAt,
    RoutineProgress,
    RoutineStatus,
    Worker,
    WorkerStatus,
)
from routilux.engine.registry import RoutineRegistry
from routilux.engine.routine import (
    AllSlotsReady,
    Batch,
    Debounce,
    Immediate,
    Inputs,
    Item,
    Routine,
    RoutineConfig,
    RoutineContext,
)
from routilux.engine.runtime import Runtime
from routilux.engine.runtime_settings import RuntimeSettings
from routilux.engine.spec import FlowSpec, compile_flow
from routilux.engine.storage import MemoryStore, Store

__all__ = [
    "AllSlotsReady",
    "Batch",
    "Breakpoint",
    "Debounce",
    "Event",
    "EventBus",
    "EventFilter",
    "EventType",
    "FlowRecord",
    "FlowSpec",
    "Immediate",
    "Inputs",
    "Item",
    "Job",
    "JobError",
    "JobStatus",
    "MemoryStore",
    "PausedAt",
    "RoutiluxError",
    "Routine",
    "RoutineConfig",
    "RoutineContext",
    "RoutineProgress",
    "RoutineRegistry",
    "RoutineStatus",
    "Runtime",
    "RuntimeSettings",
    "Store",
    "Worker",
    "WorkerStatus",
    "compile_flow",
    "load_flow",
]
