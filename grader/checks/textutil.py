"""Plain-text helpers shared by the word-level checkers (exact, regex, keywords, choice)."""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
# A student's regex is never compiled; rubric regexes are the instructor's, but are still
# bounded so a pathological pattern cannot hang a worker on a long answer.
MAX_SCAN_CHARS = 20_000


def normalise_text(text: str, *, case_sensitive: bool = False) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub(" ", text).strip()
    return text if case_sensitive else text.casefold()


def quote(answer: str, start: int, end: int, pad: int = 40) -> str:
    lo, hi = max(0, start - pad), min(len(answer), end + pad)
    return ("…" if lo else "") + answer[lo:hi].strip() + ("…" if hi < len(answer) else "")


def word_pattern(phrase: str) -> re.Pattern[str]:
    """`phrase` as whole words, any run of whitespace between them, on normalised text."""
    words = [re.escape(w) for w in normalise_text(phrase).split(" ")]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")
