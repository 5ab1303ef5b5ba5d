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
# Data rather than a term: a digit not inside a name (H0, P1), or a formula's operator.
DATA = re.compile(r"(?<![^\W\d_])\d|[=<>+*^()|√∑−]")
_ITEM_SPLIT = re.compile(r"[,;•·]|\band\b|\bor\b")
LIST_FUNCTION_SHARE = 0.12  # below this share of function words a text is a list of terms
LIST_MIN_ITEMS, LIST_BARE_SHARE = 4, 0.75  # or: this many items, this share with none at all
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


def is_negation(word: str) -> bool:
    return word in NEGATIONS or word.endswith("n't")


def negated(text: str) -> bool:
    """Odd number of negation words: 'not connected' vs 'connected'."""
    ws = words(text)
    count = sum(1 for w in ws if is_negation(w))
    return count % 2 == 1


def is_term_list(sentence: str) -> bool:
    """Three or more short word items with hardly any function words: a list, not a statement.

    When over a third of the items are numbers or formulas they are data, not terms: neither
    "P1 0-1, P2 1-4, P4 4-6" nor "z = (53-50)/(10/5) = 1.5" is a list of terms."""
    items = [i.strip() for i in _ITEM_SPLIT.split(sentence) if i.strip()]
    ws = words(sentence)
    if len(items) < 3 or 3 * sum(bool(DATA.search(i)) for i in items) > len(items):
        return False
    if any(len(words(i)) > 4 for i in items):
        return False
    function = sum(1 for w in ws if w in STOPWORDS or w in NEGATIONS)
    if function / max(1, len(ws)) < LIST_FUNCTION_SHARE:
        return True
    # Four or more items, nearly all without a single function word, are a list even when
    # one of them is a phrase such as "at least as extreme".
    bare = sum(1 for i in items if not any(w in STOPWORDS or w in NEGATIONS for w in words(i)))
    return len(items) >= LIST_MIN_ITEMS and bare >= LIST_BARE_SHARE * len(items)
