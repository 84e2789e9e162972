"""A routine type for the memory test, loaded by a live server with ROUTILUX_ROUTINE_MODULES:
each activation emits a fresh ~100 KB payload made from a small input."""

from __future__ import annotations

from pydantic import Field

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext


class BlobConfig(RoutineConfig):
    size: int = Field(100_000, ge=1, le=1_000_000, description="Characters in the payload.")


class Blob(Routine[BlobConfig]):
    type_name = "Blob"
    description = "Emits `{n, blob}` where blob is `size` characters, new for each payload."
    config_model = BlobConfig
    inline = True

    def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        n = inputs.payload.get("n", 0)
        # A new string per job (not one shared object), as a real routine's output would be.
        blob = (f"{n:08d}" * (self.config.size // 8 + 1))[: self.config.size]
        ctx.emit("output", {"n": n, "blob": blob})
