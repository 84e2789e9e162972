"""Persistence on SQLAlchemy: SQLite by default, PostgreSQL by URL.

``SqlStore`` implements the engine's ``Store`` and the read queries of the HTTP layer; the schema
is migrated by Alembic on ``open()``.

What may be lost or dropped: write-behind rows (``save_*_later``: job progress between durable
saves, worker counters, events) queued in the last moments before a crash; events beyond the
per-job and total limits, oldest first, and idempotency keys past their TTL (see ``retention``).
"""

from routilux.store.database import StoreClosed
from routilux.store.queries import JobPage
from routilux.store.sql import SqlStore

__all__ = ["JobPage", "SqlStore", "StoreClosed"]
