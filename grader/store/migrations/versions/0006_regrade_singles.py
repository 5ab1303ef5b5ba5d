"""regrade runs of single submissions: a run names its exam, and its batch only when it
regrades one (a run without a batch covers the exam's submissions made one by one)

Revision ID: 0006_regrade_singles
Revises: 0005_exam_audiences
Create Date: 2026-11-30 23:40:00
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0006_regrade_singles"
down_revision = "0005_exam_audiences"
branch_labels = None
depends_on = None


@contextmanager
def _runs_rebuilt() -> Iterator[None]:
    """SQLite changes a column by rebuilding the table, and dropping the old copy fails while
    regrade_results refer to it (foreign keys are on): those rows wait aside meanwhile."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TABLE _regrade_results_kept AS SELECT * FROM regrade_results")
        op.execute("DELETE FROM regrade_results")
    yield
    if sqlite:
        op.execute(
            "INSERT INTO regrade_results (run_id, submission_id, result) "
            "SELECT run_id, submission_id, result FROM _regrade_results_kept "
            "WHERE run_id IN (SELECT id FROM regrade_runs)"
        )
        op.execute("DROP TABLE _regrade_results_kept")


def upgrade() -> None:
    with op.batch_alter_table("regrade_runs") as batch:
        batch.add_column(sa.Column("exam_id", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE regrade_runs SET exam_id = "
        "(SELECT batches.exam_id FROM batches WHERE batches.id = regrade_runs.batch_id)"
    )
    with _runs_rebuilt(), op.batch_alter_table("regrade_runs") as batch:
        batch.alter_column("exam_id", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("batch_id", existing_type=sa.String(length=32), nullable=True)
        batch.create_index("ix_regrade_runs_exam_id", ["exam_id"])


def downgrade() -> None:
    op.execute(
        "DELETE FROM regrade_results WHERE run_id IN "
        "(SELECT id FROM regrade_runs WHERE batch_id IS NULL)"
    )
    op.execute("DELETE FROM regrade_runs WHERE batch_id IS NULL")
    with _runs_rebuilt(), op.batch_alter_table("regrade_runs") as batch:
        batch.drop_index("ix_regrade_runs_exam_id")
        batch.alter_column("batch_id", existing_type=sa.String(length=32), nullable=False)
        batch.drop_column("exam_id")
