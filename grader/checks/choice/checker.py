"""The `choice` checker: which option the answer picks.

Two readings, the first that finds something wins:

1. the option ids as students write them (`B`, `(B)`, `**B**:`, `Statement B is right`, …;
   see `grader.checks.choice.reading`), telling a chosen id from one mentioned while arguing;
2. the option's `text` and its `phrases` (how a student names the option in words).

An answer that chooses several options earns nothing; one that names (nearly) every option is
marked hostile (`details["hostile"] = "all_options"`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, ClassVar

from pydantic import Field, model_validator

from grader.checks.base import BaseChecker, CheckResult, CheckSpec, reject_duplicate_ids
from grader.checks.choice.reading import IdReading, Rank, read_ids
from grader.checks.textutil import MAX_SCAN_CHARS, normalise_text, quote, word_pattern

# Confidences are ordinal, not fitted: what matters to the grading core is only whether they
# fall below its review threshold (0.5). A stated id or a clear refusal of the rules (several
# options) is sure; a choice found only in words is a little less so; readings that disagree
# (a bracketed id while the words name another option, several options named only in words
# while arguing) go to a human.
SURE = 1.0
WORDS_ONLY = 0.9
STATED_BUT_WORDS_DISAGREE = 0.75
UNSURE = 0.4

_ARTICLES = ("the ", "a ", "an ")
_SPACES = re.compile(r"[^\S\n]+")
# What may come before an option named in words for the answer to open with it.
_OPENS = re.compile(r"[\s*_$({\[>#-]*(?:(?:the|a|an)\s+)?", re.IGNORECASE)


class ChoiceOption(CheckSpec):
    id: str = Field(min_length=1, description="How the option is labelled (A, B, ii, true, …).")
    text: str = Field(default="", description="The option as shown to students.")
    phrases: list[str] = Field(
        default_factory=list,
        description="Other ways a student names this option in words (ids are read already).",
    )


class ChoiceSpec(CheckSpec):
    options: list[ChoiceOption] = Field(min_length=2)
    correct: str

    @classmethod
    def with_question(cls, fields: dict[str, Any], prompt: str) -> dict[str, Any]:
        """Options without a `text` take theirs from the question's prompt when it lists them
        by id ("(A) the heap (B) the stack …", "A) … B) …"), as students see them."""
        options = fields.get("options")
        if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
            return fields
        if all(o.get("text") for o in options):
            return fields
        texts = option_texts(prompt, [str(o.get("id", "")) for o in options])
        if not texts:
            return fields
        filled = [
            o
            if o.get("text") or not texts.get(str(o.get("id")))
            else {**o, "text": texts[str(o["id"])]}
            for o in options
        ]
        return {**fields, "options": filled}

    @model_validator(mode="after")
    def _correct_is_an_option(self) -> ChoiceSpec:
        ids = [o.id for o in self.options]
        reject_duplicate_ids(ids, "option")
        if self.correct not in ids:
            raise ValueError(f"correct: {self.correct!r} is not one of the options {ids}")
        return self


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z])|\n\s*\n")
MAX_OPTION_TEXT = 200


def option_texts(prompt: str, ids: list[str]) -> dict[str, str]:
    """The text after each id's marker in a prompt that lists every option, in order, as
    `(A) …` or `A) …` / `A. …` at a line or sentence start; {} when it does not."""
    found: list[tuple[str, int, int]] = []
    pos = 0
    for option_id in ids:
        if not option_id:
            return {}
        marker = re.compile(
            r"(?<!\w)\("
            + re.escape(option_id)
            + r"\)|(?:(?<=\s)|^)"
            + re.escape(option_id)
            + r"[).:]\s"
        )
        m = marker.search(prompt, pos)
        if m is None:
            return {}
        found.append((option_id, m.start(), m.end()))
        pos = m.end()
    texts: dict[str, str] = {}
    for i, (option_id, _start, end) in enumerate(found):
        stop = found[i + 1][1] if i + 1 < len(found) else len(prompt)
        text = prompt[end:stop]
        if i + 1 == len(found):  # the last option ends with its sentence
            cut = _SENTENCE_END.search(text)
            text = text[: cut.start()] if cut else text
        text = " ".join(text.split()).strip(" ;,")
        if text and len(text) <= MAX_OPTION_TEXT:
            texts[option_id] = text
    return texts


def _text_phrase(text: str) -> str:
    """An option's text as a phrase: without a leading article or a final full stop."""
    phrase = normalise_text(text).rstrip(" .;")
    for article in _ARTICLES:
        if phrase.startswith(article) and len(phrase) > len(article):
            return phrase[len(article) :]
    return phrase


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_ORDINAL_NOUNS = ("one", "option", "statement", "choice", "alternative")


def _ordinal_phrases(index: int, count: int) -> list[str]:
    """How an answer names the option at `index` by its place: "the first one", "the last
    option" (options are listed in the order students see them)."""
    words = [_ORDINALS[index]] if index < len(_ORDINALS) else []
    if index == count - 1:
        words.append("last")
    return [f"{w} {noun}" for w in words for noun in _ORDINAL_NOUNS]


def _by_words(spec: ChoiceSpec, folded: str) -> dict[str, tuple[int, int]]:
    """Option id -> (start, end) of its first phrase, text or place ("the first one")."""
    found: dict[str, tuple[int, int]] = {}
    count = len(spec.options)
    for index, option in enumerate(spec.options):
        phrases = [
            *option.phrases,
            *([_text_phrase(option.text)] if option.text else []),
            *_ordinal_phrases(index, count),
        ]
        spans = [
            (m.start(), m.end())
            for p in phrases
            if p.strip() and (m := word_pattern(p).search(folded))
        ]
        if spans:
            found[option.id] = min(spans)
    return dict(sorted(found.items(), key=lambda item: item[1]))


def _all_options(spec: ChoiceSpec, named: tuple[str, ...]) -> bool:
    """The answer names every option, or all but one of at least three (hedging)."""
    n = len(spec.options)
    return len(named) == n or (n >= 3 and len(named) >= n - 1)


class ChoiceChecker(BaseChecker[ChoiceSpec]):
    """Which option the answer picks; an answer choosing several options is not credited."""

    kind: ClassVar[str] = "choice"
    spec_model: ClassVar[type[CheckSpec]] = ChoiceSpec

    def check(self, spec: ChoiceSpec, answer: str) -> CheckResult:
        # Lines are kept: "A. …" heading a line is a list label, not a choice.
        text = _SPACES.sub(" ", unicodedata.normalize("NFKC", answer[: 2 * MAX_SCAN_CHARS]))
        text = text.strip()[:MAX_SCAN_CHARS]
        reading = read_ids(text, [o.id for o in spec.options])
        words = _by_words(spec, text.casefold())
        if reading.chosen:
            return self._verdict(spec, text, reading, words)
        if not words:
            ids = ", ".join(o.id for o in spec.options)
            return CheckResult(
                0.0,
                feedback=f"No option was chosen (answer with one of {ids}).",
                details={"candidates": 0, "matched": 0},
            )
        named = tuple(words)
        start, end = words[named[0]]
        evidence = quote(text, start, end)
        if len(named) > 1 and not (
            _OPENS.fullmatch(text[:start]) and not _all_options(spec, named)
        ):
            return self._several(spec, named, evidence, by_id=False)
        # One option named, or the answer opens with one ("The stack, because the heap is …").
        return self._single(spec, named[0], evidence, WORDS_ONLY, {})

    def _verdict(
        self,
        spec: ChoiceSpec,
        text: str,
        reading: IdReading,
        words: dict[str, tuple[int, int]],
    ) -> CheckResult:
        evidence = quote(text, reading.start, reading.end)
        if len(reading.chosen) > 1:
            return self._several(spec, reading.chosen, evidence, by_id=True)
        (choice,) = reading.chosen
        others = [o for o in words if o != choice]
        if not others or choice in words:
            confidence = SURE if reading.rank == Rank.STATED else WORDS_ONLY
            return self._single(spec, choice, evidence, confidence, {})
        # The id says one option, the words another: the stated id wins, a marked one is unsure.
        details: dict[str, Any] = {
            "ambiguous": True,
            "review_reason": f"chose {choice} by its id, but the words name {', '.join(others)}",
        }
        confidence = STATED_BUT_WORDS_DISAGREE if reading.rank == Rank.STATED else UNSURE
        return self._single(spec, choice, evidence, confidence, details)

    def _single(
        self,
        spec: ChoiceSpec,
        choice: str,
        evidence: str,
        confidence: float,
        details: dict[str, Any],
    ) -> CheckResult:
        right = choice == spec.correct
        feedback = ""
        if not right:
            option = next(o for o in spec.options if o.id == choice)
            feedback = f"You chose {choice}" + (
                f" ({option.text.strip()})." if option.text else "."
            )
        return CheckResult(
            1.0 if right else 0.0,
            feedback=feedback,
            evidence=evidence,
            confidence=confidence,
            details={"chosen": choice, "candidates": 1, "matched": int(right), **details},
        )

    def _several(
        self, spec: ChoiceSpec, named: tuple[str, ...], evidence: str, *, by_id: bool
    ) -> CheckResult:
        details: dict[str, Any] = {
            "candidates": len(named),
            "matched": int(spec.correct in named),
        }
        # Two options both named in words is how one argues ("A has more than B"), not hedging.
        hostile = _all_options(spec, named) and (by_id or len(spec.options) >= 3)
        if hostile:
            details["hostile"] = "all_options"
        sure = by_id or hostile
        if not sure:
            details["review_reason"] = f"names options {', '.join(named)} in words"
        return CheckResult(
            0.0,
            feedback=f"The answer names more than one option: {', '.join(named)}; choose one.",
            evidence=evidence,
            confidence=SURE if sure else UNSURE,
            details=details,
        )
