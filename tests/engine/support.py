"""Routine types that only the engine's tests use: they make timing and failures controllable."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any, ClassVar

from pydantic import Field

from routilux.engine import (
    Inputs,
    Routine,
    RoutineConfig,
    RoutineContext,
    RoutineRegistry,
    Runtime,
)
from routilux.routines import default_registry


class AddConfig(RoutineConfig):
    amount: int = 1


class Add(Routine[AddConfig]):
    """Adds ``amount`` to ``value`` (sync logic: runs in the thread pool)."""

    type_name = "Add"
    config_model = AddConfig

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        payload = inputs.payload
        ctx.emit("output", {**payload, "value": payload["value"] + self.config.amount})


class GateConfig(RoutineConfig):
    name: str = "gate"


class Gate(Routine[GateConfig]):
    """Async logic that waits until the test opens the gate of that name."""

    type_name = "Gate"
    config_model = GateConfig
    gates: ClassVar[dict[str, asyncio.Event]] = {}
    entered: ClassVar[dict[str, int]] = {}

    async def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        name = self.config.name
        self.entered[name] = self.entered.get(name, 0) + 1
        await self.gates.setdefault(name, asyncio.Event()).wait()
        ctx.emit("output", inputs.payload)


class BlockConfig(RoutineConfig):
    seconds: float = Field(0.2, ge=0)


class Block(Routine[BlockConfig]):
    """Sync logic that blocks its thread, recording when it finished."""

    type_name = "Block"
    config_model = BlockConfig
    finished: ClassVar[list[str]] = []
    lock = threading.Lock()

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        time.sleep(self.config.seconds)
        with self.lock:
            self.finished.append(ctx.job_id)
        ctx.emit("output", inputs.payload)


class FlakyConfig(RoutineConfig):
    failures: int = 1


class Flaky(Routine[FlakyConfig]):
    """Fails its first ``failures`` attempts of each activation, then passes the input on."""

    type_name = "Flaky"
    config_model = FlakyConfig

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        if ctx.attempt <= self.config.failures:
            raise RuntimeError(f"attempt {ctx.attempt} failed")
        ctx.emit("output", {**inputs.payload, "attempts": ctx.attempt})


def registry() -> RoutineRegistry:
    reg = default_registry()
    for routine_type in (Add, Gate, Block, Flaky):
        reg.register(routine_type, replace=True)
    return reg


def pipeline(*routines: tuple[str, str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A linear flow document: each routine's ``output`` feeds the next one's ``input``."""
    ids = [routine_id for routine_id, _, _ in routines]
    return {
        "routines": {rid: {"class": cls, "config": cfg} for rid, cls, cfg in routines},
        "connections": [
            {"from": f"{a}.output", "to": f"{b}.input"} for a, b in itertools.pairwise(ids)
        ],
        **extra,
    }


Pair = tuple[Runtime, Runtime]
"""Two replicas on one in-memory store (the ``pair`` fixture of conftest.py)."""
