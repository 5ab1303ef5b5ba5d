"""Words of an answer: tokens, a light stemmer, stop words and negation (pure Python)."""

from __future__ import annotations

import functools
import re

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
# Word lists read better as text than as one quoted word per line.
NEGATIONS = frozenset(
    """
    not no never none nothing nobody neither nor cannot can't don't doesn't isn't aren't
    wasn't weren't won't wouldn't shouldn't couldn't didn't hasn't haven't without
    """.split()  # noqa: SIM905
)
STOPWORDS = frozenset(
    """
    a an the and or but if then than so of to in on at by for with from into onto as is
    are was were be been being am do does did done have has had having it its it's this
    that these those there here they them their he she his her we our you your i me my
    what which who whom whose when where why how will would shall should can could may
    might must also very just only more most some any each every all both such same
    other own too again about over under up down out off because while until between
    through during before after above below one get gets got make makes made use uses
    used using
    """.split()  # noqa: SIM905
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ies", "ied", "es", "ed", "ly", "s")


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    return _stem(word)[:6]


def _stem(word: str) -> str:
    """A light stemmer: enough to match 'evaporated'/'evaporates', cheap and predictable."""
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            base = word[: -len(suf)]
            return base + "y" if suf in ("ies", "ied") else base
    return word


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def content_stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words(text) if w not in STOPWORDS and w not in NEGATIONS)


def negated(text: str) -> bool:
    """Odd number of negation words: 'not connected' vs 'connected'."""
    ws = words(text)
    count = sum(1 for w in ws if w in NEGATIONS or w.endswith("n't"))
    return count % 2 == 1
