"""Flow revisions, the revision each job runs, and what routines logged per job.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = 128


def _id() -> sa.types.TypeEngine[int]:
    # SQLite auto-assigns only INTEGER PRIMARY KEY columns; other databases get 64 bits.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows it with a default): no copy of the jobs table.
    op.add_column(
        "jobs", sa.Column("flow_revision", sa.Integer(), nullable=False, server_default="1")
    )
    op.create_table(
        "flow_revisions",
        sa.Column("flow_id", sa.String(ID), primary_key=True),
        sa.Column("revision", sa.Integer(), primary_key=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
    )
    # Flows stored before revisions were kept: their current document is their first revision.
    op.execute(
        "INSERT INTO flow_revisions (flow_id, revision, spec, created_at, updated_at) "
        "SELECT flow_id, revision, spec, created_at, updated_at FROM flows"
    )
    op.create_table(
        "job_logs",
        sa.Column("id", _id(), primary_key=True, autoincrement=False),
        sa.Column("job_id", sa.String(ID), nullable=False),
        sa.Column("flow_id", sa.String(ID), nullable=False),
        sa.Column("routine_id", sa.String(ID), nullable=True),
        sa.Column("activation", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("logger", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("exception", sa.Text(), nullable=True),
        sa.Column("time", _ts(), nullable=False),
    )
    op.create_index("ix_job_logs_job_id_id", "job_logs", ["job_id", "id"])


def downgrade() -> None:
    op.drop_table("job_logs")
    op.drop_table("flow_revisions")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("flow_revision")
