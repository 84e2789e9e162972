"""Replicas: several server processes on one database.

Adds the ``replicas`` table, ``jobs.owner`` (the replica holding each job; unfinished jobs of
older servers have none, and the first replica to start claims them), and ``id_blocks``, the
counter replicas reserve event ids from, starting above every id handed out so far.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("owner", sa.String(128), nullable=True))
    op.create_index("ix_jobs_owner_status", "jobs", ["owner", "status"])
    op.create_table(
        "replicas",
        sa.Column("replica_id", sa.String(128), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_replicas_status", "replicas", ["status"])
    blocks = op.create_table(
        "id_blocks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("next_id", sa.BigInteger(), nullable=False),
    )
    conn = op.get_bind()
    last = max(
        conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM events")).scalar_one(),
        conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM job_logs")).scalar_one(),
    )
    op.bulk_insert(blocks, [{"name": "events", "next_id": int(last) + 1}])


def downgrade() -> None:
    op.drop_table("id_blocks")
    op.drop_index("ix_replicas_status", "replicas")
    op.drop_table("replicas")
    op.drop_index("ix_jobs_owner_status", "jobs")
    op.drop_column("jobs", "owner")
