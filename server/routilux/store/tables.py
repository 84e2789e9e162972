"""The schema: one SQLAlchemy Core table per record kind, in portable types.

Everything here works unchanged on SQLite and PostgreSQL: JSON, ``DateTime(timezone=True)``
(through :class:`UtcDateTime`) and 64-bit integer ids. The Alembic migrations in ``migrations/``
create exactly these tables; a test compares the two.

No foreign keys on purpose: write-behind rows (workers, events) may legitimately refer to a flow or
a job that was deleted meanwhile, and one rejected row must never fail a whole group commit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC ``datetime`` in and out, whatever the database keeps.

    SQLite stores the wall-clock text and drops the offset, so values are converted to UTC before
    they are written and marked UTC again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only accepts aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite assigns values automatically only to an INTEGER PRIMARY KEY (the rowid), never to BIGINT;
# the variant keeps 64-bit ids on other databases. (A SQLite INTEGER is 64 bits anyway.)
Id = BigInteger().with_variant(Integer(), "sqlite")

# JSON columns that may be absent keep SQL NULL rather than the JSON text "null".
NullableJson = JSON(none_as_null=True)

ID_LENGTH = 128

metadata = MetaData()

flows = Table(
    "flows",
    metadata,
    Column("flow_id", String(ID_LENGTH), primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

workers = Table(
    "workers",
    metadata,
    Column("worker_id", String(ID_LENGTH), primary_key=True),
    Column("flow_id", String(ID_LENGTH), nullable=False),
    Column("status", String(16), nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("active_jobs", Integer, nullable=False),
    Column("queued_jobs", Integer, nullable=False),
    Column("jobs_processed", BigInteger, nullable=False),
    Column("jobs_failed", BigInteger, nullable=False),
)

breakpoints = Table(
    "breakpoints",
    metadata,
    Column("breakpoint_id", String(ID_LENGTH), primary_key=True),
    Column("flow_id", String(ID_LENGTH), nullable=False),
    Column("routine_id", String(ID_LENGTH), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("slot", String(ID_LENGTH), nullable=True),
    Column("job_id", String(ID_LENGTH), nullable=True),
    Column("condition", Text, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("hit_count", BigInteger, nullable=False),
)

QUEUED = text("status = 'queued'")

jobs = Table(
    "jobs",
    metadata,
    # The keyset for pagination: strictly increasing in commit order, never reused
    # (sqlite_autoincrement), so "seq < cursor" pages neither skip nor repeat under inserts.
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("job_id", String(ID_LENGTH), nullable=False),
    Column("flow_id", String(ID_LENGTH), nullable=False),
    Column("worker_id", String(ID_LENGTH), nullable=False),
    Column("status", String(16), nullable=False),
    Column("entry", String(256), nullable=True),
    Column("input", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("output", JSON, nullable=False),
    Column("progress", JSON, nullable=False),
    Column("error", NullableJson, nullable=True),
    Column("paused_at", NullableJson, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    # The flow's revision the job runs (added by 0002; earlier jobs ran revision 1).
    Column("flow_revision", Integer, nullable=False, server_default="1"),
    # How often the job was resumed from its checkpoint after a crash (added by 0004).
    Column("recoveries", Integer, nullable=False, server_default="0"),
    # The replica holding it, queued or running (added by 0005): its row and checkpoints are
    # written only by that replica. After it finished, the replica that ran it last.
    Column("owner", String(ID_LENGTH), nullable=True),
    Index("ix_jobs_job_id", "job_id", unique=True),
    Index("ix_jobs_owner_status", "owner", "status"),  # the jobs a replica holds
    Index("ix_jobs_status_seq", "status", "seq"),
    Index("ix_jobs_flow_id_seq", "flow_id", "seq"),
    Index("ix_jobs_worker_id_seq", "worker_id", "seq"),
    # A worker's queued jobs, counted when a deployment bounds its queue (batches.queue_bounds).
    Index("ix_jobs_queued_worker", "worker_id", sqlite_where=QUEUED, postgresql_where=QUEUED),
    Index("ix_jobs_created_at", "created_at"),
    Index("ix_jobs_finished_at", "finished_at"),  # retention: the oldest finished first
    sqlite_autoincrement=True,
)

events = Table(
    "events",
    metadata,
    # Ids come from the engine's event bus, not from the database.
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("type", String(64), nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("flow_id", String(ID_LENGTH), nullable=True),
    Column("job_id", String(ID_LENGTH), nullable=True),
    Column("worker_id", String(ID_LENGTH), nullable=True),
    Column("routine_id", String(ID_LENGTH), nullable=True),
    Column("data", JSON, nullable=False),
    Index("ix_events_job_id_id", "job_id", "id"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("scope", String(255), primary_key=True),
    Column("fingerprint", String(255), nullable=False),
    Column("resource_id", String(ID_LENGTH), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_created_at", "created_at"),
)

# Every revision of every flow, the current one included, until the flow is deleted.
flow_revisions = Table(
    "flow_revisions",
    metadata,
    Column("flow_id", String(ID_LENGTH), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# What routine code logged during a job; ids come from the engine, like events'.
job_logs = Table(
    "job_logs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("job_id", String(ID_LENGTH), nullable=False),
    Column("flow_id", String(ID_LENGTH), nullable=False),
    Column("routine_id", String(ID_LENGTH), nullable=True),
    Column("activation", Integer, nullable=True),
    Column("attempt", Integer, nullable=True),
    Column("level", Integer, nullable=False),
    Column("logger", String(255), nullable=False),
    Column("message", Text, nullable=False),
    Column("exception", Text, nullable=True),
    Column("time", UtcDateTime, nullable=False),
    Index("ix_job_logs_job_id_id", "job_id", "id"),
)

# A running job's checkpoint (see routilux.engine.checkpoint), in three parts that each step
# updates by what it changed: the deliveries not yet consumed, each routine's own state, and the
# job's progress with its last sequence number. Dropped when the job completes or is cancelled;
# a failed job keeps them (a retry resumes from them) until the job itself goes.
job_deliveries = Table(
    "job_deliveries",
    metadata,
    Column("job_id", String(ID_LENGTH), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("routine_id", String(ID_LENGTH), nullable=True),  # null: into the job's output
    Column("slot", String(2 * ID_LENGTH + 1), nullable=False),  # or the output's routine.event
    Column("payload", JSON, nullable=False),
    Column("at", Double, nullable=False),  # seconds since the epoch
)

job_routines = Table(
    "job_routines",
    metadata,
    Column("job_id", String(ID_LENGTH), primary_key=True),
    Column("routine_id", String(ID_LENGTH), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("deadline", Double, nullable=True),
    Column("running", JSON, nullable=False),  # {first seq: [started, attempt]}
)

job_checkpoints = Table(
    "job_checkpoints",
    metadata,
    Column("job_id", String(ID_LENGTH), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("progress", JSON, nullable=False),
)

# The server processes sharing the database (see routilux.engine.replicas), added by 0005.
replicas = Table(
    "replicas",
    metadata,
    Column("replica_id", String(ID_LENGTH), primary_key=True),
    Column("role", String(16), nullable=False),  # all, executor
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # alive, stopped, lost
    Index("ix_replicas_status", "status"),
)

# Counters the replicas reserve blocks of ids from (one row, "events": event and job log ids).
id_blocks = Table(
    "id_blocks",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("next_id", BigInteger, nullable=False),
)
