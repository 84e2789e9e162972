"""The job and routine that the running code works for, so that log lines can name them.

The engine sets :data:`current` at the start of each routine activation (a task of its own, so
the value stays with that activation, and threads started from it inherit it). A logging filter
(the server has one) copies it onto every record logged meanwhile, the routine's own included.
"""

from __future__ import annotations

from contextvars import ContextVar

#: ``(flow_id, job_id, routine_id)`` while a routine runs, else None.
current: ContextVar[tuple[str, str, str] | None] = ContextVar("routilux_routine", default=None)

#: ``(activation, attempt)`` of the routine that runs, set with :data:`current`: which of the
#: routine's activations in its job (from 1) and which try of it (from 1, more on retries).
activation: ContextVar[tuple[int, int] | None] = ContextVar("routilux_activation", default=None)
