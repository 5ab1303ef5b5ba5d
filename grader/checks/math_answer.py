"""Moved: the reading of answers is grader.checks.math.reading. This path stays only for
grader.services.mathcheck until that module imports the new one (it is being edited
elsewhere); nothing else may import it."""

from __future__ import annotations

from grader.checks.math.reading import AnswerReader

__all__ = ["AnswerReader"]
