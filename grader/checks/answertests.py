"""Moved: the answer tests are grader.checks.math.answertests (table: answer_test). This
path stays only for grader.evaluation.math_eval until that module imports the new one
(it is being edited elsewhere); nothing else may import it."""

from __future__ import annotations

from grader.checks.math.answertests.table import answer_test

__all__ = ["answer_test"]
