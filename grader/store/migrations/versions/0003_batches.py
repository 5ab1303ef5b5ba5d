"""batches, grade overrides (audit trail), automatic results kept beside overridden ones

Revision ID: 0003_batches
Revises: 0002_webhooks
Create Date: 2026-11-25 21:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_batches"
down_revision = "0002_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("exam_id", sa.String(length=64), nullable=False),
        sa.Column("exam_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batches_exam_id", "batches", ["exam_id"])
    op.create_table(
        "grade_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.String(length=32), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("criterion_id", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("previous_score", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author_key_id", sa.String(length=32), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.ForeignKeyConstraint(["author_key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_grade_overrides_submission_id", "grade_overrides", ["submission_id"])
    op.create_table(
        "auto_results",
        sa.Column("submission_id", sa.String(length=32), nullable=False),
        sa.Column("exam_version", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("submission_id"),
    )


def downgrade() -> None:
    op.drop_table("auto_results")
    op.drop_index("ix_grade_overrides_submission_id", table_name="grade_overrides")
    op.drop_table("grade_overrides")
    op.drop_index("ix_batches_exam_id", table_name="batches")
    op.drop_table("batches")
