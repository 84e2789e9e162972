"""A routine type that logs, for the ``jobs logs`` tests (loaded by the live server)."""

from __future__ import annotations

import asyncio
import logging

from routilux.engine.routine import Inputs, Routine, RoutineConfig, RoutineContext

chatty_log = logging.getLogger("tests.chatty")
chatty_log.setLevel(logging.INFO)  # whatever the server's level


class Chatty(Routine[RoutineConfig]):
    """Logs a line, waits a moment, logs a warning, emits its input."""

    type_name = "Chatty"

    async def run(self, ctx: RoutineContext, inputs: Inputs) -> None:
        for item in inputs.items:
            chatty_log.info("hello %s", item.payload.get("name"))
            await asyncio.sleep(float(item.payload.get("pause", 0)))
            chatty_log.warning("bye %s", item.payload.get("name"))
            ctx.emit("output", item.payload)
