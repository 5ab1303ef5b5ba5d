"""regrade runs: a batch regraded under a rubric version in chunks, diffed, then applied

Revision ID: 0004_regrade_runs
Revises: 0003_batches
Create Date: 2026-11-25 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_regrade_runs"
down_revision = "0003_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regrade_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("exam_version", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"]),
        sa.ForeignKeyConstraint(["requested_by"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_regrade_runs_batch_id", "regrade_runs", ["batch_id"])
    op.create_table(
        "regrade_results",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("submission_id", sa.String(length=32), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["regrade_runs.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("run_id", "submission_id"),
    )


def downgrade() -> None:
    op.drop_table("regrade_results")
    op.drop_index("ix_regrade_runs_batch_id", table_name="regrade_runs")
    op.drop_table("regrade_runs")
