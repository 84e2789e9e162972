"""Time in one place: every timestamp the engine makes is timezone-aware UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A random id with a readable prefix, e.g. ``job_3f2a...``."""
    return f"{prefix}_{uuid.uuid4().hex}"
