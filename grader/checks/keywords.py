"""The `keywords` checker: concepts named by synonyms, credit per concept a sentence uses.

A term counts where a sentence uses it, not inside a bare list of terms ("gradient, ReLU,
saturation"): a list names words without saying anything about them. A `forbidden` phrase
voids the criterion when the answer asserts it, not when the student denies it in the same
sentence ("it does not shrink", "... both decrease, which is wrong"). With the learned pair
scorer (`use_scorer`), a group whose phrases do not occur literally can be met by meaning: the
scorer judges whether the answer states the group's `label`. Evidence names each term and the
sentence it was found in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field

from grader.checks.base import BaseChecker, CheckResult, CheckSpec, Status
from grader.checks.text import learned as tl
from grader.checks.text.latex import prose_latex
from grader.checks.text.words import (
    DATA,
    LIST_FUNCTION_SHARE,
    STOPWORDS,
    is_negation,
    is_term_list,
    stem,
    words,
)
from grader.checks.textutil import MAX_SCAN_CHARS, normalise_text, word_pattern
from grader.embed.sentences import split_sentences

# Words by which a student marks a statement they quote as wrong.
WRONG_MARKERS = frozenset(
    "wrong incorrect false untrue misconception myth mistaken mistake".split()  # noqa: SIM905
)
QUOTING_MARKERS = frozenset(("misconception", "myth"))  # "a common myth is that ..."
NEGATION_WINDOW = 3  # words before a phrase in which a negation denies it ("does not shrink")
MEANING_MIN_WORDS = 4
# Spelling slips: a word of at least FUZZY_MIN_LEN letters also matches a word one edit away
# (insertion, deletion, substitution or swap of neighbours) with the same first letter; shorter
# words have too many real neighbours ("cause" is one edit from "case").
FUZZY_MIN_LEN = 6
# Own wording around a phrase: a phrase of two or more words also counts where a sentence
# uses its words in the same order, its content words in any form (the same light stem, or
# one stem the start of the other: "assuming the null" in "under the assumption that the null
# hypothesis"), with at most LOOSE_GAP other words in between, none of them a negation.
LOOSE_GAP = 3
LOOSE_PREFIX = 5  # a shorter stem must be this long to count as the start of a longer one
# A listed term gets no credit, but an instructor might give some: a human should look.
LISTED_CONFIDENCE = 0.4  # a label shorter than this names a term rather than states a fact


class KeywordGroup(CheckSpec):
    """One concept: met if any of its synonyms occurs (as whole words)."""

    any_of: list[str] = Field(min_length=1)
    label: str | None = None


class KeywordsSpec(CheckSpec):
    groups: list[KeywordGroup] = Field(min_length=1)
    min_groups: int | None = Field(
        default=None, ge=1, description="Groups needed for full credit (default: all)."
    )
    forbidden: list[str] = Field(default_factory=list, description="Any of these scores 0.")


@dataclass(frozen=True)
class _Sentence:
    text: str  # normalised (case folded)
    is_list: bool
    words: tuple[str, ...] = ()


def _sentences(answer: str) -> list[_Sentence]:
    answer = prose_latex(answer[:MAX_SCAN_CHARS])
    text = normalise_text(answer)
    parts = split_sentences(answer.replace("\n", "\n\n")) or [text]
    out = [_Sentence(normalise_text(p), is_term_list(p), tuple(words(p))) for p in parts]
    ws = words(text)
    share = sum(1 for w in ws if w in STOPWORDS) / max(1, len(ws))
    if len(ws) >= 6 and share < LIST_FUNCTION_SHARE and not DATA.search(text):
        # The whole answer is a list of terms even when it is cut into lines.
        out = [_Sentence(s.text, True, s.words) for s in out]
    return out


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of at most one (a != b)."""
    if abs(len(a) - len(b)) > 1 or a[0] != b[0]:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if long_ == short + "s":
        return False  # a plural is another word here ("weights decay" is not "weight decay")
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _word_close(want: str, got: str) -> bool:
    return want == got or (
        len(want) >= FUZZY_MIN_LEN and not want.isdigit() and _one_edit(want, got)
    )


def fuzzy_in(phrase: str, got: Sequence[str]) -> bool:
    """The phrase's words in a row among the sentence's words `got`, each exact or one
    spelling slip away. Only for phrases made of words alone (symbols or digits: literal)."""
    want = words(phrase)
    if not want or " ".join(want) != " ".join(phrase.casefold().split()):
        return False
    if all(len(w) < FUZZY_MIN_LEN for w in want):
        return False
    n, first = len(want), want[0]
    for i in range(len(got) - n + 1):
        # Cheap test first: a slip keeps the first letter and the length within one.
        g = got[i]
        if g[0] != first[0] or abs(len(g) - len(first)) > 1:
            continue
        if all(_word_close(w, x) for w, x in zip(want, got[i : i + n], strict=True)):
            return True
    return False


def _same_word(want: str, got: str) -> bool:
    if want + "s" == got or got + "s" == want:
        return False  # a plural is another word here, as for spelling slips
    a, b = stem(want), stem(got)
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= LOOSE_PREFIX and long_.startswith(short) and not want.isdigit()


def loose_in(phrase: str, got: Sequence[str]) -> bool:
    """Every word of the phrase, in order, among the sentence's words `got`: its content words
    in any form, its other words (and numbers) as written, with at most LOOSE_GAP other words
    in between (none for a phrase of one content word) and no negation the phrase does not
    have, before or among them. Only phrases of two or more words, made of words."""
    ws = words(phrase)
    if len(ws) < 2 or " ".join(ws) != " ".join(phrase.casefold().split()):
        return False
    content = sum(1 for w in ws if w not in STOPWORDS and not is_negation(w))
    if content < 1:
        return False
    # One content word among function words ("is significant") is too little to look past
    # other words for: only its form may differ.
    gap = LOOSE_GAP if content >= 2 else 0
    own = sum(1 for w in ws if is_negation(w))
    for start, word in enumerate(got):
        if not _matches(ws[0], word):
            continue
        pos, end = 1, start
        for j in range(start + 1, min(len(got), start + len(ws) + gap)):
            if pos == len(ws):
                break
            if _matches(ws[pos], got[j]):
                pos, end = pos + 1, j
        if pos < len(ws):
            continue
        span = got[max(0, start - NEGATION_WINDOW) : end + 1]
        if sum(1 for w in span if is_negation(w)) == own:
            return True
    return False


def _matches(want: str, got: str) -> bool:
    if want in STOPWORDS or is_negation(want) or not want.isalpha():
        return want == got
    return _same_word(want, got)


def denied(sentence: str, start: int, end: int, phrase: str) -> bool:
    """The phrase at [start, end) is negated just before it or called wrong in its sentence."""
    before = words(sentence[:start])[-NEGATION_WINDOW:]
    if any(is_negation(w) for w in before):
        return True
    own = set(words(phrase))
    after = words(sentence[end:])
    return any(w in WRONG_MARKERS and w not in own for w in after) or any(
        w in QUOTING_MARKERS for w in words(sentence[:start])
    )


def _quote(sentence: str, limit: int = 160) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


class KeywordsChecker(BaseChecker[KeywordsSpec]):
    """Credit in proportion to the keyword groups a sentence uses (whole words, case folded)."""

    kind: ClassVar[str] = "keywords"
    spec_model: ClassVar[type[CheckSpec]] = KeywordsSpec

    def __init__(self, scorer: tl.PairScorerLike | None = None) -> None:
        self.scorer = scorer

    def use_scorer(self, scorer: tl.PairScorerLike | None) -> None:
        """Let groups not named literally be met by meaning (None: literal phrases only)."""
        self.scorer = scorer

    def check(self, spec: KeywordsSpec, answer: str) -> CheckResult:
        sentences = _sentences(answer)
        for phrase in spec.forbidden:
            pat = word_pattern(phrase)
            for s in sentences:
                for hit in pat.finditer(s.text):
                    if not denied(s.text, hit.start(), hit.end(), phrase):
                        return CheckResult(
                            0.0,
                            feedback="",
                            evidence=_quote(s.text),
                            details={"forbidden": phrase},
                        )
        found: list[str] = []
        missing: list[str] = []
        listed: list[str] = []
        by_meaning: list[str] = []
        evidence: list[str] = []
        confidence = 1.0
        whole = " ".join(s.text for s in sentences)
        for group in spec.groups:
            label = group.label or group.any_of[0]
            used = self._find(group, sentences)
            if used is not None and not used.is_list:
                found.append(label)
                evidence.append(f"{label}: “{_quote(used.text)}”")
                continue
            if used is not None:
                listed.append(label)
            any_list = any(s.is_list for s in sentences)
            meaning = None if any_list else self._by_meaning(group, whole)
            if meaning is not None and meaning >= tl.MISCONCEPTION_STATED:
                found.append(label)
                by_meaning.append(label)
                confidence = min(confidence, meaning)
                evidence.append(f"{label}: (in own words)")
            else:
                missing.append(label)
        needed = spec.min_groups or len(spec.groups)
        fraction = min(1.0, len(found) / needed)
        parts: list[str] = []
        if missing and fraction < 1.0:
            parts.append("Missing: " + ", ".join(missing))
        if listed:
            parts.append("Please explain in full sentences rather than listing terms.")
            confidence = min(confidence, LISTED_CONFIDENCE)
        details: dict[str, Any] = {
            "found": found,
            "missing": missing,
            "listed": listed,
            "by_meaning": by_meaning,
            "candidates": len(spec.groups),
            "matched": len(found),
        }
        if listed and not found:
            details["hostile"] = "term_list"
            details["review_reason"] = "a bare list of the expected terms"
        return CheckResult(
            fraction,
            feedback=" ".join(parts),
            evidence="; ".join(evidence) or None,
            confidence=round(confidence, 4),
            status=Status.NEEDS_REVIEW if confidence < 0.5 else Status.OK,
            details=details,
        )

    @staticmethod
    def _find(group: KeywordGroup, sentences: list[_Sentence]) -> _Sentence | None:
        """The first sentence that uses a phrase of the group (a listed hit if nothing else);
        phrases as written first, then allowing one spelling slip per long word, then in the
        student's own word forms and order of words with a few words between."""
        listed = None
        for phrase in group.any_of:
            pat = word_pattern(phrase)
            for s in sentences:
                if pat.search(s.text):
                    if not s.is_list:
                        return s
                    listed = listed or s
        if listed is not None:
            return listed
        for phrase in group.any_of:
            for s in sentences:
                if not s.is_list and fuzzy_in(phrase, s.words):
                    return s
        for phrase in group.any_of:
            for s in sentences:
                if not s.is_list and loose_in(phrase, s.words):
                    return s
        return None

    def _by_meaning(self, group: KeywordGroup, answer: str) -> float | None:
        label = group.label or ""
        if self.scorer is None or len(words(label)) < MEANING_MIN_WORDS or not answer:
            return None
        return self.scorer.score(label, answer)
