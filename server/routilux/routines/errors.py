"""The error built-in routines raise when their input cannot be processed."""

from __future__ import annotations

from routilux.engine.errors import RoutiluxError


class RoutineFailure(RoutiluxError):
    """An activation that cannot complete; the routine's error handler decides what follows."""

    code = "routine_failure"
