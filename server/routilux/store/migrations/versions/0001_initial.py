"""The initial schema: flows, workers, breakpoints, jobs, events, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = 128


def _id() -> sa.types.TypeEngine[int]:
    # SQLite auto-assigns only INTEGER PRIMARY KEY columns; other databases get 64 bits.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("flow_id", sa.String(ID), primary_key=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
    )
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.String(ID), primary_key=True),
        sa.Column("flow_id", sa.String(ID), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("active_jobs", sa.Integer(), nullable=False),
        sa.Column("queued_jobs", sa.Integer(), nullable=False),
        sa.Column("jobs_processed", sa.BigInteger(), nullable=False),
        sa.Column("jobs_failed", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "breakpoints",
        sa.Column("breakpoint_id", sa.String(ID), primary_key=True),
        sa.Column("flow_id", sa.String(ID), nullable=False),
        sa.Column("routine_id", sa.String(ID), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("slot", sa.String(ID), nullable=True),
        sa.Column("job_id", sa.String(ID), nullable=True),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("hit_count", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("seq", _id(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(ID), nullable=False),
        sa.Column("flow_id", sa.String(ID), nullable=False),
        sa.Column("worker_id", sa.String(ID), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entry", sa.String(256), nullable=True),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("paused_at", sa.JSON(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("started_at", _ts(), nullable=True),
        sa.Column("finished_at", _ts(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_jobs_job_id", "jobs", ["job_id"], unique=True)
    op.create_index("ix_jobs_status_seq", "jobs", ["status", "seq"])
    op.create_index("ix_jobs_flow_id_seq", "jobs", ["flow_id", "seq"])
    op.create_index("ix_jobs_worker_id_seq", "jobs", ["worker_id", "seq"])
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_table(
        "events",
        sa.Column("id", _id(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("timestamp", _ts(), nullable=False),
        sa.Column("flow_id", sa.String(ID), nullable=True),
        sa.Column("job_id", sa.String(ID), nullable=True),
        sa.Column("worker_id", sa.String(ID), nullable=True),
        sa.Column("routine_id", sa.String(ID), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_events_job_id_id", "events", ["job_id", "id"])
    op.create_table(
        "idempotency",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("scope", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(255), nullable=False),
        sa.Column("resource_id", sa.String(ID), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_index("ix_idempotency_created_at", "idempotency", ["created_at"])


def downgrade() -> None:
    for table in ("idempotency", "events", "jobs", "breakpoints", "workers", "flows"):
        op.drop_table(table)
