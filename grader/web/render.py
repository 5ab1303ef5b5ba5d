"""Pure helpers for the pages: evidence found in an answer, and formulas as people read them.

Nothing here builds HTML: the templates escape every piece of student or rubric text
(Jinja autoescape), these functions only decide which pieces to mark.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MAX_MARKS = 20  # evidence pieces marked per answer; more is noise to a reader
_QUOTE = re.compile(r'^[\s"“”‘’\'«»…]+|[\s"“”‘’\'«»…]+$')
_SPLIT = re.compile(r"\s*(?:, |; |\n)\s*")


@dataclass(frozen=True)
class Piece:
    text: str
    marked: bool


def _needles(evidence: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for ev in evidence:
        if not ev:
            continue
        for part in [ev, *_SPLIT.split(ev)]:
            part = _QUOTE.sub("", part.replace("…", " ")).strip()
            if len(part) >= 2 and part not in out:
                out.append(part)
    return out[: MAX_MARKS * 2]


def _fold(text: str) -> str:
    """A case-folded copy with the same length as `text`, so offsets carry over."""
    out = []
    for ch in text:
        low = ch.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


def highlight(answer: str, evidence: Iterable[str | None]) -> list[Piece]:
    """`answer` cut into pieces, the ones that are evidence of some criterion marked.
    Evidence is found case-insensitively; where it is not a literal substring (the checker
    quoted a normalised form) nothing is marked rather than something wrong."""
    answer = unicodedata.normalize("NFC", answer)
    hay = _fold(answer)
    spans: list[tuple[int, int]] = []
    for needle in sorted(_needles(evidence), key=len, reverse=True):
        start = hay.find(_fold(needle))
        while start >= 0 and len(spans) < MAX_MARKS:
            end = start + len(needle)
            if not any(s < end and start < e for s, e in spans):
                spans.append((start, end))
                break
            start = hay.find(_fold(needle), start + 1)
    spans.sort()
    pieces: list[Piece] = []
    at = 0
    for s, e in spans:
        if s > at:
            pieces.append(Piece(answer[at:s], False))
        pieces.append(Piece(answer[s:e], True))
        at = e
    if at < len(answer) or not pieces:
        pieces.append(Piece(answer[at:], False))
    return pieces


_GREEK = {
    name: unicodedata.lookup("GREEK SMALL LETTER " + name.upper().replace("LAMBDA", "LAMDA"))
    for name in [
        *("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"),
        *("kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau"),
        *("upsilon", "phi", "chi", "psi", "omega"),
    ]
}
_SUP = str.maketrans("0123456789+-()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁿ")
_POWER = re.compile(r"\^(?:\((-?[0-9]+|n)\)|(-?[0-9]+|n)(?![\w.(]))")
_WORD = re.compile(r"\b([A-Za-z]+)\b")
_OPS = (
    ("<=", "≤"),
    (">=", "≥"),
    ("!=", "≠"),
    ("->", "→"),
    ("<-", "←"),
    ("*", "·"),
    ("sqrt(", "√("),
    ("infinity", "∞"),
    ("inf", "∞"),
)


def readable_formula(text: str) -> str:
    """The grader's plain-text reading of a formula (`2*x^2 + sqrt(alpha)`) in the signs a
    reader expects (`2·x² + √(α)`): powers with small integer exponents as superscripts,
    Greek letter names as letters, operators as their symbols. Display only."""
    out = _POWER.sub(lambda m: (m.group(1) or m.group(2)).translate(_SUP), text)
    for ascii_op, sign in _OPS:
        out = out.replace(ascii_op, sign)
    return _WORD.sub(lambda m: _GREEK.get(m.group(1), m.group(1)), out)
