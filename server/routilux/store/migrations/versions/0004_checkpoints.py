"""Checkpoints: jobs resume where they were after a crash.

Adds the three checkpoint tables and ``jobs.recoveries``. Jobs that were in flight when a server
older than this one stopped have no checkpoint to resume from: they end now as that server would
have ended them on its next start (``failed`` with ``interrupted``, ``cancelled`` if cancelling).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_INTERRUPTED = {
    "code": "interrupted",
    "type": "Interrupted",
    "message": "the server stopped while the job was in flight, before it kept checkpoints",
    "routine_id": None,
}


def upgrade() -> None:
    op.add_column("jobs", sa.Column("recoveries", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "job_deliveries",
        sa.Column("job_id", sa.String(128), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("routine_id", sa.String(128), nullable=True),
        sa.Column("slot", sa.String(257), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
    )
    op.create_table(
        "job_routines",
        sa.Column("job_id", sa.String(128), primary_key=True),
        sa.Column("routine_id", sa.String(128), primary_key=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("deadline", sa.Double(), nullable=True),
        sa.Column("running", sa.JSON(), nullable=False),
    )
    op.create_table(
        "job_checkpoints",
        sa.Column("job_id", sa.String(128), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
    )
    jobs = sa.table(
        "jobs",
        sa.column("status", sa.String()),
        sa.column("error", sa.JSON()),
        sa.column("paused_at", sa.JSON()),
        sa.column("finished_at", sa.DateTime(timezone=True)),
    )
    now = sa.func.current_timestamp()
    op.execute(
        jobs.update()
        .where(jobs.c.status == "cancelling")
        .values(status="cancelled", paused_at=None, finished_at=now)
    )
    op.execute(
        jobs.update()
        .where(jobs.c.status.in_(["running", "paused"]))
        .values(
            status="failed",
            error=_INTERRUPTED,
            paused_at=None,
            finished_at=now,
        )
    )


def downgrade() -> None:
    op.drop_table("job_checkpoints")
    op.drop_table("job_routines")
    op.drop_table("job_deliveries")
    op.drop_column("jobs", "recoveries")
