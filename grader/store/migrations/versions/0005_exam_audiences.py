"""exam audiences: the students an exam is open to (a roster), and API keys that expire

Revision ID: 0005_exam_audiences
Revises: 0004_regrade_runs
Create Date: 2026-11-30 21:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_exam_audiences"
down_revision = "0004_regrade_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exam_audience",
        sa.Column("exam_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=128), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"]),
        sa.PrimaryKeyConstraint("exam_id", "student_id"),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
    op.drop_table("exam_audience")
