"""Persistence: SQLAlchemy models, sessions, Alembic migrations."""

from grader.store.db import Database

__all__ = ["Database"]
