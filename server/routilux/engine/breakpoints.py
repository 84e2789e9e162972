"""The runtime's breakpoints: stored, bounded, matched before every activation.

A :class:`BreakpointTable` keeps every breakpoint by id with its compiled condition, checks the
server's bounds on how many there are, finds the jobs waiting at one, and decides whether an
activation stops at one: on the event loop, before every activation, so that the conditions
checked there share one small budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from routilux.engine.clock import new_id, utcnow
from routilux.engine.errors import BreakpointNotFound, InvalidInput, TooManyBreakpoints
from routilux.engine.expressions import (
    BREAKPOINT_EVALUATION_COST,
    Budget,
    Condition,
    ExpressionError,
)
from routilux.engine.flows import FlowEntry
from routilux.engine.job import JobRun
from routilux.engine.models import Breakpoint, Job
from routilux.engine.routine import Inputs

log = logging.getLogger("routilux.engine")


class BreakpointTable:
    def __init__(
        self,
        runs_of: Callable[[str], list[JobRun]],
        *,
        max_total: int | None = None,
        max_per_flow: int | None = None,
    ) -> None:
        self._runs_of = runs_of  # a flow's unfinished jobs
        self.max_total = max_total
        self.max_per_flow = max_per_flow
        self._breakpoints: dict[str, Breakpoint] = {}
        self._conditions: dict[str, Condition] = {}  # breakpoint id -> compiled, once

    def load(self, breakpoints: list[Breakpoint]) -> None:
        for bp in breakpoints:
            self._breakpoints[bp.breakpoint_id] = bp

    def new(
        self,
        entry: FlowEntry,
        routine_id: str,
        *,
        slot: str | None,
        job_id: str | None,
        condition: str | None,
        enabled: bool,
    ) -> Breakpoint:
        """A new breakpoint on ``entry``'s flow, checked (its job is the caller's to check);
        :meth:`add` it once stored."""
        flow_id = entry.record.flow_id
        self._check_room(flow_id)
        routine = entry.record.spec.routines.get(routine_id)
        if routine is None:
            raise InvalidInput(
                f"flow {flow_id!r} has no routine {routine_id!r}", loc=("routine_id",)
            )
        if slot is not None and entry.compiled is not None:
            slots = entry.compiled.routines[routine_id].slots
            if slot not in slots:
                raise InvalidInput(
                    f"routine {routine_id!r} has no slot {slot!r} (has: {', '.join(slots)})",
                    loc=("slot",),
                )
        return Breakpoint(
            breakpoint_id=new_id("bp"),
            flow_id=flow_id,
            routine_id=routine_id,
            slot=slot,
            job_id=job_id,
            condition=condition,
            enabled=enabled,
            created_at=utcnow(),
        )

    @staticmethod
    def check_condition(condition: str | None) -> None:
        if condition is not None:
            try:
                Condition.compile(condition)
            except ExpressionError as exc:
                raise InvalidInput(exc.message, loc=("condition",)) from None

    def add(self, bp: Breakpoint) -> None:
        self._breakpoints[bp.breakpoint_id] = bp

    def remove(self, breakpoint_id: str) -> None:
        del self._breakpoints[breakpoint_id]
        self._conditions.pop(breakpoint_id, None)

    def _check_room(self, flow_id: str) -> None:
        limit = self.max_total
        if limit is not None and len(self._breakpoints) >= limit:
            raise TooManyBreakpoints(
                f"this server keeps at most {limit} breakpoints; delete one first", limit=limit
            )
        limit = self.max_per_flow
        if limit is not None:
            count = sum(1 for bp in self._breakpoints.values() if bp.flow_id == flow_id)
            if count >= limit:
                raise TooManyBreakpoints(
                    f"flow {flow_id!r} has {count} breakpoints, the most one flow may have; "
                    "delete one first",
                    limit=limit,
                )

    # -- reads ---------------------------------------------------------------------------------

    def of_flow(self, flow_id: str) -> list[str]:
        return [b.breakpoint_id for b in self._breakpoints.values() if b.flow_id == flow_id]

    def all(self) -> list[Breakpoint]:
        return [self._with_waiting(bp) for bp in self._breakpoints.values()]

    def find(self, *, flow_id: str | None = None, job_id: str | None = None) -> list[Breakpoint]:
        return [
            bp
            for bp in self._breakpoints.values()
            if (flow_id is None or bp.flow_id == flow_id)
            and (job_id is None or bp.job_id == job_id)
        ]

    def with_waiting(self, breakpoints: list[Breakpoint]) -> list[Breakpoint]:
        """Copies of ``breakpoints`` with the jobs waiting at each: one pass over each of their
        flows' jobs, however many breakpoints there are."""
        waiting: dict[str, list[str]] = {}
        for flow_id in {bp.flow_id for bp in breakpoints}:
            for run in self._runs_of(flow_id):
                paused_at = run.job.paused_at
                if paused_at is not None:
                    waiting.setdefault(paused_at.breakpoint_id, []).append(run.job.job_id)
        return [replace(bp, waiting_jobs=waiting.get(bp.breakpoint_id, [])) for bp in breakpoints]

    def get(self, breakpoint_id: str) -> Breakpoint:
        return self._with_waiting(self.stored(breakpoint_id))

    def stored(self, breakpoint_id: str) -> Breakpoint:
        bp = self._breakpoints.get(breakpoint_id)
        if bp is None:
            raise BreakpointNotFound(
                f"breakpoint {breakpoint_id!r} does not exist", breakpoint_id=breakpoint_id
            )
        return bp

    def _with_waiting(self, bp: Breakpoint) -> Breakpoint:
        return replace(bp, waiting_jobs=[run.job.job_id for run in self.waiting_at(bp)])

    def waiting_at(self, bp: Breakpoint) -> list[JobRun]:
        return [
            run
            for run in self._runs_of(bp.flow_id)
            if run.job.paused_at is not None and run.job.paused_at.breakpoint_id == bp.breakpoint_id
        ]

    # -- matching ------------------------------------------------------------------------------

    def match(self, job: Job, routine_id: str, inputs: Inputs) -> Breakpoint | None:
        budget: Budget | None = None  # what the conditions checked here may cost together
        for bp in self._breakpoints.values():
            if (
                not bp.enabled
                or bp.flow_id != job.flow_id
                or bp.routine_id != routine_id
                or (bp.job_id is not None and bp.job_id != job.job_id)
            ):
                continue
            for item in inputs.items:
                if bp.slot is not None and item.slot != bp.slot:
                    continue
                if bp.condition is None:
                    return bp
                if budget is None:
                    budget = Budget(BREAKPOINT_EVALUATION_COST, "BREAKPOINT_EVALUATION_COST")
                if self._holds(bp, item.payload, budget):
                    return bp
        return None

    def _holds(self, bp: Breakpoint, payload: dict[str, Any], budget: Budget) -> bool:
        # Checked on the loop before every activation: all of them share a small budget.
        try:
            condition = self._conditions.get(bp.breakpoint_id)
            if condition is None:
                condition = Condition.compile(bp.condition or "true")
                self._conditions[bp.breakpoint_id] = condition
            return condition.evaluate(payload, budget=budget)
        except ExpressionError as exc:
            log.warning("breakpoint condition %r failed: %s", bp.condition, exc.message)
            return False
