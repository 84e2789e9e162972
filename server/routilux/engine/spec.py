"""The flow document (the Routilux DSL) and its compilation into a runnable graph.

The document keeps the shape Routilux users already have in YAML and JSON files::

    routines:
      extract: {class: Mapper, config: {mappings: {name: user.name}}}
    connections:
      - {from: extract.output, to: keep.input}

Compilation checks everything before anything runs and reports every problem at once, each with
its exact location in the document. Decoding a document's text (JSON, YAML) and parsing it into a
``FlowSpec`` with located errors is :mod:`routilux.engine.documents`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from routilux.engine.errors import FlowValidationError, SpecError
from routilux.engine.registry import RoutineRegistry
from routilux.engine.routine import ActivationPolicy, Routine

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
ROUTINE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
PORT_NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"
REFERENCE_PATTERN = rf"^{PORT_NAME_PATTERN}\.{PORT_NAME_PATTERN}$"
MAX_ROUTINES = 200
MAX_CONNECTIONS = 1000

_ROUTINE_ID = re.compile(ROUTINE_ID_PATTERN)

Loc = tuple[str | int, ...]


def _integral(value: object) -> object:
    """JSON Schema's integer: `3.0` is one (`3.5`, `true` and `"3"` are not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Strict(BaseModel):
    # strict: a document's `false` or `"60"` is not a number, as its JSON Schema says.
    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=True, serialize_by_alias=True
    )


class ErrorHandlerSpec(_Strict):
    """What happens when a routine's logic raises."""

    strategy: Literal["stop", "continue", "retry", "skip"] = Field(
        "stop",
        description="stop: fail the job; continue: record and go on; retry: run the same input "
        "again with backoff, then stop; skip: mark the routine skipped, emit nothing.",
    )
    max_retries: int = Field(3, ge=0, le=100, description="Retries after the first attempt.")
    retry_delay: float = Field(1.0, ge=0, le=3600, description="Seconds before the first retry.")
    retry_backoff: float = Field(2.0, ge=1, le=10, description="Factor applied to each delay.")

    _integer = field_validator("max_retries", mode="before")(_integral)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        return float(self.retry_delay * self.retry_backoff ** (attempt - 1))


class RoutineSpec(_Strict):
    """One routine of a flow: a registered type, its config, and its error handler."""

    class_: str = Field(
        alias="class", min_length=1, max_length=128, description="A registered routine type."
    )
    config: dict[str, Any] = Field(
        default_factory=dict, description="The type's settings (see its config fields)."
    )
    error_handler: ErrorHandlerSpec | None = Field(
        None, description="When its logic raises; by default the flow's."
    )


class ConnectionSpec(_Strict):
    """Wires ``<routine>.<event>`` to ``<routine>.<slot>``."""

    from_: str = Field(
        alias="from",
        pattern=REFERENCE_PATTERN,
        examples=["extract.output"],
        description="`routine.event` the payloads come from.",
    )
    to: str = Field(
        pattern=REFERENCE_PATTERN,
        examples=["keep.input"],
        description="`routine.slot` they go to.",
    )


class ExecutionSpec(_Strict):
    """How jobs of the flow run."""

    timeout: float | None = Field(
        None, gt=0, le=86400, description="Seconds a job may run before it fails."
    )
    concurrency: int | None = Field(
        None, ge=1, le=256, description="Jobs the flow's worker runs at once."
    )
    error_handler: ErrorHandlerSpec | None = Field(
        None, description="Default for routines that declare none."
    )
    strategy: Literal["sequential", "concurrent"] | None = Field(
        None, description="Accepted for compatibility with existing flow files; has no effect."
    )
    max_workers: int | None = Field(
        None, ge=1, le=256, description="Compatibility name for `concurrency`."
    )

    _integer = field_validator("concurrency", "max_workers", mode="before")(_integral)


class FlowSpec(_Strict):
    """A flow document: routines, connections and execution settings."""

    flow_id: str | None = Field(
        None, pattern=ID_PATTERN, description="Generated when absent.", examples=["etl"]
    )
    name: str | None = Field(None, max_length=200, description="A title for people.")
    description: str | None = Field(None, max_length=4000, description="Free text.")
    routines: dict[str, RoutineSpec] = Field(
        description="The routines, by routine id.",
        min_length=1,
        max_length=MAX_ROUTINES,
        json_schema_extra={"propertyNames": {"pattern": ROUTINE_ID_PATTERN}},
    )
    connections: list[ConnectionSpec] = Field(
        default_factory=list,
        max_length=MAX_CONNECTIONS,
        description="Event-to-slot wires; several may leave an event or reach a slot.",
    )
    entry: str | None = Field(
        None,
        pattern=REFERENCE_PATTERN,
        description="Where a job's input enters (`routine.slot`); by default the one routine "
        "with no incoming connection, at its first slot (required when several have none).",
    )
    execution: ExecutionSpec = Field(
        default_factory=ExecutionSpec, description="How the flow's jobs run."
    )

    @field_validator("routines")
    @classmethod
    def _routine_ids(cls, routines: dict[str, RoutineSpec]) -> dict[str, RoutineSpec]:
        for routine_id in routines:
            if not _ROUTINE_ID.match(routine_id):
                raise ValueError(
                    f"routine id {routine_id!r} must match {ROUTINE_ID_PATTERN} "
                    "(no dots: they separate routine and port in references)"
                )
        return routines


@dataclass(frozen=True)
class CompiledRoutine:
    routine_id: str
    type_name: str
    routine: Routine[Any]
    slots: tuple[str, ...]
    events: frozenset[str]
    policy: ActivationPolicy
    error_handler: ErrorHandlerSpec
    is_async: bool
    inline: bool = False  # plain logic that runs on the event loop rather than in a thread


Port = tuple[str, str]


@dataclass(frozen=True)
class CompiledFlow:
    """A validated flow: routine instances and the routing table, ready to run."""

    flow_id: str
    spec: FlowSpec
    routines: dict[str, CompiledRoutine]
    targets: dict[Port, tuple[Port, ...]]
    entry: tuple[Port, ...]
    timeout: float | None
    concurrency: int | None

    def parse_entry(self, entry: str) -> tuple[Port, ...]:
        """Resolve an explicit ``routine.slot`` entry, or raise SpecError at ``("entry",)``."""
        return _resolve_entry(self.routines, self.spec, entry)


def split_reference(reference: str) -> Port:
    """``"routine.port"`` as ``(routine, port)``."""
    routine_id, _, port = reference.partition(".")
    return routine_id, port


def compile_flow(spec: FlowSpec, registry: RoutineRegistry, *, flow_id: str) -> CompiledFlow:
    """Validate ``spec`` completely; raise FlowValidationError listing every problem."""
    errors: list[SpecError] = []
    routines: dict[str, CompiledRoutine] = {}
    flow_default = spec.execution.error_handler or ErrorHandlerSpec()
    for routine_id, routine_spec in spec.routines.items():
        loc: Loc = ("routines", routine_id)
        routine_type = registry.get(routine_spec.class_)
        if routine_type is None:
            known = ", ".join(registry.names())
            errors.append(
                SpecError(
                    (*loc, "class"),
                    f"unknown routine type {routine_spec.class_!r} (known: {known})",
                    "unknown_routine_type",
                )
            )
            continue
        try:
            config = routine_type.config_model.model_validate(routine_spec.config)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                errors.append(SpecError((*loc, "config", *err["loc"]), err["msg"], err["type"]))
            continue
        routines[routine_id] = CompiledRoutine(
            routine_id=routine_id,
            type_name=registry.canonical_name(routine_spec.class_),
            routine=routine_type(config),
            slots=tuple(routine_type.slot_names(config)),
            events=frozenset(routine_type.event_names(config)),
            policy=routine_type.policy(config),
            error_handler=routine_spec.error_handler or flow_default,
            is_async=routine_type.is_async(),
            inline=routine_type.inline and not routine_type.is_async(),
        )

    targets: dict[Port, list[Port]] = {}
    seen: set[tuple[Port, Port]] = set()
    has_incoming: set[str] = set()
    for index, connection in enumerate(spec.connections):
        loc = ("connections", index)
        source = split_reference(connection.from_)
        target = split_reference(connection.to)
        ok = _check_port(errors, routines, spec, (*loc, "from"), source, "event")
        ok = _check_port(errors, routines, spec, (*loc, "to"), target, "slot") and ok
        if not ok:
            continue
        if (source, target) in seen:
            errors.append(
                SpecError(
                    loc, f"duplicate connection {connection.from_} -> {connection.to}", "duplicate"
                )
            )
            continue
        seen.add((source, target))
        targets.setdefault(source, []).append(target)
        has_incoming.add(target[0])

    entry: tuple[Port, ...] = ()
    if spec.entry is not None:
        try:
            entry = _resolve_entry(routines, spec, spec.entry)
        except SpecError as exc:
            errors.append(exc)
    elif routines:
        entry = tuple(
            (routine_id, routine.slots[0])
            for routine_id, routine in routines.items()
            if routine_id not in has_incoming and routine.slots
        )
        if not entry and not errors:
            errors.append(
                SpecError(
                    ("entry",),
                    "every routine has an incoming connection: name the entry explicitly",
                    "no_entry",
                )
            )
        elif len(entry) > 1 and not errors:
            # Guessing would run some of them and silently not the others.
            candidates = ", ".join(f"{routine_id}.{slot}" for routine_id, slot in entry)
            errors.append(
                SpecError(
                    ("entry",),
                    f"{len(entry)} routines have no incoming connection and could be the entry "
                    f"({candidates}): name one with `entry`",
                    "ambiguous_entry",
                )
            )
    if errors:
        raise FlowValidationError(errors)
    return CompiledFlow(
        flow_id=flow_id,
        spec=spec,
        routines=routines,
        targets={port: tuple(ports) for port, ports in targets.items()},
        entry=entry,
        timeout=spec.execution.timeout,
        concurrency=spec.execution.concurrency or spec.execution.max_workers,
    )


def _resolve_entry(
    routines: dict[str, CompiledRoutine], spec: FlowSpec, entry: str
) -> tuple[Port, ...]:
    port = split_reference(entry)
    errors: list[SpecError] = []
    _check_port(errors, routines, spec, ("entry",), port, "slot")
    if errors:
        raise errors[0]
    return (port,)


def _check_port(
    errors: list[SpecError],
    routines: dict[str, CompiledRoutine],
    spec: FlowSpec,
    loc: Loc,
    port: Port,
    kind: Literal["event", "slot"],
) -> bool:
    routine_id, name = port
    if routine_id not in spec.routines:
        errors.append(SpecError(loc, f"unknown routine {routine_id!r}", "unknown_routine"))
        return False
    routine = routines.get(routine_id)
    if routine is None:  # its own errors are already reported
        return False
    names = routine.events if kind == "event" else frozenset(routine.slots)
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        errors.append(
            SpecError(
                loc,
                f"routine {routine_id!r} ({routine.type_name}) has no {kind} {name!r} "
                f"(has: {known})",
                f"unknown_{kind}",
            )
        )
        return False
    return True
