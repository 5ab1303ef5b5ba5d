"""Splitting answers into sentences (no model needed, importable anywhere)."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)")
_WS = re.compile(r"\s+")


def split_sentences(text: str, *, max_sentences: int = 64) -> list[str]:
    """Split an answer into sentences (and list items); whitespace normalised, empties dropped."""
    parts = (_WS.sub(" ", p).strip() for p in _SENTENCE_END.split(text))
    out = [p for p in parts if p and any(ch.isalnum() for ch in p)]
    return out[:max_sentences]
