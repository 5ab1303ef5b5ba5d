"""`grader fit text`: fine-tune the learned pair scorer (see grader/training/text_scorer.py)."""

from __future__ import annotations

from grader.training.text_scorer import main

__all__ = ["main"]
