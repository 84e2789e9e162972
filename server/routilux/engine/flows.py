"""The runtime's flows: each flow's current record and compiled form, and what they may take.

A :class:`FlowCatalog` keeps what the runtime runs: the current revision of every flow, compiled
(or, for a flow that no longer compiles after a restart, why not), the size of each document
against the server's flow-storage bound, and the compilation of a flow against the server's job
bounds; it writes each change through the store, claiming the id and the room before the write
and giving them back if the write fails. Publishing and the workers stay with the runtime.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from routilux.engine.bounds import JobLimits
from routilux.engine.clock import new_id, utcnow
from routilux.engine.errors import (
    FlowAlreadyExists,
    FlowNotFound,
    FlowRevisionNotFound,
    FlowStorageFull,
    FlowValidationError,
    InvalidInput,
    SpecError,
    TooManyFlows,
)
from routilux.engine.models import FlowRecord, Job
from routilux.engine.registry import RoutineRegistry
from routilux.engine.spec import CompiledFlow, FlowSpec, compile_flow
from routilux.engine.storage import Idempotency, Store

log = logging.getLogger("routilux.engine")


@dataclass
class FlowEntry:
    record: FlowRecord
    compiled: CompiledFlow | None
    problem: str | None = None  # why ``compiled`` is None

    def runnable(self, entry: str | None = None) -> CompiledFlow:
        """The compiled flow, checked to run a job (that enters at ``entry``, if given)."""
        compiled = self.compiled
        if compiled is None:
            raise InvalidInput(f"flow {self.record.flow_id!r} cannot run: {self.problem}")
        if entry is not None:
            try:
                compiled.parse_entry(entry)
            except SpecError as exc:
                raise InvalidInput(exc.message, loc=("entry",)) from None
        return compiled


class FlowCatalog:
    """The current revision of every flow, by id, with each document's size."""

    def __init__(
        self,
        registry: RoutineRegistry,
        store: Store,
        *,
        limits: JobLimits,
        max_flows: int | None = None,
        max_flow_bytes: int | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
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

    # -- changes -------------------------------------------------------------------------------

    async def create(self, spec: FlowSpec, idempotency: Idempotency | None = None) -> FlowRecord:
        """Store a new flow (with ``idempotency``, its key: committed together)."""
        flow_id = spec.flow_id or new_id("flow")
        if flow_id in self.entries:
            raise FlowAlreadyExists(f"flow {flow_id!r} already exists", flow_id=flow_id)
        compiled = self.compile(spec, flow_id)
        size = document_bytes(spec)
        self.check_room(size)
        now = utcnow()
        record = FlowRecord(
            flow_id=flow_id,
            spec=spec.model_copy(update={"flow_id": flow_id}),
            revision=1,
            created_at=now,
            updated_at=now,
        )
        # Claim the id (and its room) before the first await so that a concurrent create of it
        # gets a 409, and concurrent creates cannot pass the limits together.
        self.entries[flow_id] = FlowEntry(record, compiled)
        self.count(flow_id, size)
        try:
            await self.store.save_flow(record, idempotency)
        except BaseException:
            del self.entries[flow_id]
            self.count(flow_id, None)
            raise
        return record

    async def update(
        self, flow_id: str, spec: FlowSpec
    ) -> tuple[FlowRecord, FlowRecord, CompiledFlow]:
        """Store a new revision of a flow: its record, the previous one's, and its compiled form."""
        entry = self.entry(flow_id)
        if spec.flow_id is not None and spec.flow_id != flow_id:
            raise InvalidInput(
                f"the document's flow_id {spec.flow_id!r} is not the flow's id {flow_id!r}",
                loc=("flow_id",),
            )
        compiled = self.compile(spec, flow_id)
        size = document_bytes(spec)
        self.check_room(size, replacing=flow_id)
        previous = entry.record
        record = FlowRecord(
            flow_id=flow_id,
            spec=spec.model_copy(update={"flow_id": flow_id}),
            revision=previous.revision + 1,
            created_at=previous.created_at,
            updated_at=utcnow(),
        )
        # Swapped before the first await, so that concurrent updates apply one after the other.
        updated = FlowEntry(record, compiled)
        self.entries[flow_id] = updated
        previous_size = self.size(flow_id)
        self.count(flow_id, size)
        try:
            await self.store.save_flow(record)
        except BaseException:
            if self.entries.get(flow_id) is updated:
                self.entries[flow_id] = entry
                self.count(flow_id, previous_size)
            raise
        return record, previous, compiled

    async def remove(self, flow_id: str) -> None:
        await self.store.delete_flow(flow_id)
        self.forget(flow_id)

    def forget(self, flow_id: str) -> None:
        """Drop a flow deleted from the store (here, or by another replica)."""
        self.entries.pop(flow_id, None)
        self.count(flow_id, None)

    async def revision(self, flow_id: str, revision: int) -> FlowRecord:
        """One revision of a flow: the current one or a past one."""
        current = self.entry(flow_id).record
        if revision == current.revision:
            return current
        record = None
        if 1 <= revision < current.revision:
            record = await self.store.get_flow_revision(flow_id, revision)
        if record is None:
            raise FlowRevisionNotFound(
                f"flow {flow_id!r} has no revision {revision} (its latest is {current.revision})",
                flow_id=flow_id,
                revision=revision,
            )
        return record

    async def runnable_revision(self, job: Job) -> CompiledFlow | None:
        """The compiled revision of its flow that ``job`` runs, if that can still run."""
        entry = self.entries.get(job.flow_id)
        compiled = entry.compiled if entry else None
        if entry and compiled and job.flow_revision != entry.record.revision:
            compiled = await self.compiled_revision(job.flow_id, job.flow_revision)
        return compiled

    async def compiled_revision(self, flow_id: str, revision: int) -> CompiledFlow | None:
        """A stored revision, compiled, or None if it is gone or no longer compiles."""
        record = await self.store.get_flow_revision(flow_id, revision)
        if record is None:
            log.warning("flow %s has no stored revision %d", flow_id, revision)
            return None
        try:
            return compile_flow(record.spec, self.registry, flow_id=flow_id)
        except FlowValidationError as exc:
            log.warning("flow %s revision %d cannot run: %s", flow_id, revision, exc)
            return None

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
