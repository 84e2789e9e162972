"""The runtime's flows: each flow's current record and compiled form, and what they may take.

A :class:`FlowCatalog` keeps what the runtime runs: the current revision of every flow, compiled
(or, for a flow that no longer compiles after a restart, why not), the size of each document
against the server's flow-storage bound, and the compilation of a flow against the server's job
bounds. Storing, publishing and the workers stay with the runtime.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from routilux.engine.bounds import JobLimits
from routilux.engine.errors import (
    FlowNotFound,
    FlowStorageFull,
    FlowValidationError,
    SpecError,
    TooManyFlows,
)
from routilux.engine.models import FlowRecord
from routilux.engine.registry import RoutineRegistry
from routilux.engine.spec import CompiledFlow, FlowSpec, compile_flow

log = logging.getLogger("routilux.engine")


@dataclass
class FlowEntry:
    record: FlowRecord
    compiled: CompiledFlow | None
    problem: str | None = None  # why ``compiled`` is None


class FlowCatalog:
    """The current revision of every flow, by id, with each document's size."""

    def __init__(
        self,
        registry: RoutineRegistry,
        *,
        limits: JobLimits,
        max_flows: int | None = None,
        max_flow_bytes: int | None = None,
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.max_flows = max_flows
        self.max_flow_bytes = max_flow_bytes
        self.entries: dict[str, FlowEntry] = {}
        self._bytes: dict[str, int] = {}  # each flow's document size, as JSON
        self.total_bytes = 0

    def __contains__(self, flow_id: str) -> bool:
        return flow_id in self.entries

    def get(self, flow_id: str) -> FlowEntry | None:
        return self.entries.get(flow_id)

    def entry(self, flow_id: str) -> FlowEntry:
        entry = self.entries.get(flow_id)
        if entry is None:
            raise FlowNotFound(f"flow {flow_id!r} does not exist", flow_id=flow_id)
        return entry

    def records(self) -> list[FlowRecord]:
        return [entry.record for entry in self.entries.values()]

    def load(self, record: FlowRecord) -> None:
        """Take a stored flow at start-up; one that no longer compiles is kept, not runnable."""
        self.count(record.flow_id, document_bytes(record.spec))
        try:
            compiled = compile_flow(record.spec, self.registry, flow_id=record.flow_id)
            self.entries[record.flow_id] = FlowEntry(record, compiled)
        except FlowValidationError as exc:
            log.warning("flow %s cannot run after restart: %s", record.flow_id, exc)
            self.entries[record.flow_id] = FlowEntry(record, None, str(exc))

    def compile(self, spec: FlowSpec, flow_id: str) -> CompiledFlow:
        """Compile a new flow (or revision), also checking it against the server's job bounds;
        every problem is reported together."""
        problems = []
        timeout, limit = spec.execution.timeout, self.limits.max_seconds
        if timeout is not None and timeout > limit:
            problems.append(
                SpecError(
                    ("execution", "timeout"),
                    f"a job may run at most {limit:g} s on this server (ROUTILUX_MAX_JOB_SECONDS)",
                    "less_than_equal",
                )
            )
        try:
            compiled = compile_flow(spec, self.registry, flow_id=flow_id)
        except FlowValidationError as exc:
            raise FlowValidationError([*exc.errors, *problems]) from None
        if problems:
            raise FlowValidationError(problems)
        return compiled

    def compile_revision(
        self, record: FlowRecord | None, flow_id: str, revision: int
    ) -> CompiledFlow | None:
        """A stored past revision, compiled, or None if it is gone or no longer compiles."""
        if record is None:
            log.warning("flow %s has no stored revision %d", flow_id, revision)
            return None
        try:
            return compile_flow(record.spec, self.registry, flow_id=flow_id)
        except FlowValidationError as exc:
            log.warning("flow %s revision %d cannot run: %s", flow_id, revision, exc)
            return None

    def check_room(self, size: int, *, replacing: str | None = None) -> None:
        """Raise unless one more flow of ``size`` bytes (or ``replacing``'s new revision) fits."""
        limit = self.max_flows
        if replacing is None and limit is not None and len(self.entries) >= limit:
            raise TooManyFlows(
                f"this server stores at most {limit} flows; delete one first", limit=limit
            )
        limit = self.max_flow_bytes
        if limit is not None:
            total = self.total_bytes - self._bytes.get(replacing or "", 0) + size
            if total > limit:
                raise FlowStorageFull(
                    f"flow documents would take {total} bytes; this server stores at most "
                    f"{limit} (this document: {size} bytes); delete flows first",
                    limit=limit,
                )

    def size(self, flow_id: str) -> int | None:
        return self._bytes.get(flow_id)

    def count(self, flow_id: str, size: int | None) -> None:
        """Record a flow's document size (None: it is gone)."""
        self.total_bytes -= self._bytes.pop(flow_id, 0)
        if size is not None:
            self._bytes[flow_id] = size
            self.total_bytes += size


def document_bytes(spec: FlowSpec) -> int:
    """A flow document's size as JSON, the measure of the flow-storage limit."""
    return len(spec.model_dump_json(by_alias=True))
