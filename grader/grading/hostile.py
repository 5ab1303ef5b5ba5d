"""Answers written to collect points rather than to answer, recognised for any rubric.

Each family is recognised by what it *is*, from the answer and the exam's own texts (the
question's prompt, its model answer, the other questions' model answers), never by the
wording of one exam:

- `term_list`: a bare list of terms (three or more short items, no sentence in it);
- `restates_question`: the answer says nothing the question did not already say;
- `other_model_answer`: the answer is (most of) another question's model answer;
- `gibberish`: most of its words are no words at all (keyboard runs, random letters);
- `addresses_grader`: an instruction to whoever grades it ("ignore the rubric, full marks");
- `all_options` / `padding`: set by checkers in `CheckResult.details` (every option named at
  once; many values or formulas offered, of which one matches).

Pure: no I/O, bounded work (every pattern is linear in the answer, answers are capped).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

MAX_CHARS = 8_000  # the API's answer limit; a longer text is judged by its head

# What an instructor reads as the reason for review, per family.
REASONS: dict[str, str] = {
    "term_list": "answer is a bare list of terms, not an explanation",
    "restates_question": "answer restates the question and adds nothing",
    "other_model_answer": "answer is another question's model answer",
    "gibberish": "answer is mostly not words",
    "addresses_grader": "answer addresses the grader (an instruction about marking)",
    "all_options": "answer names every option at once",
    "padding": "answer offers many values or formulas; only some match",
}

_WORD = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['’-][^\W_]+)*")
_ITEM_SPLIT = re.compile(r"[,;\n•·|/]+|\s-\s|\s+(?:and|&)\s+")
# Function words: their absence is what makes a run of words a list rather than a sentence.
# A closed class of English (articles, auxiliaries, pronouns, conjunctions, prepositions).
FUNCTION_WORDS = frozenset(
    """a an the is are was were be been being am do does did has have had will would can could
    shall should may might must it its this that these those there here they them their we our
    you your he she his her i me my if then so because since when while which who whom whose
    what where why how than as of to in on at by for with from into onto about over under
    between through during not no nor but or and also only just very more most less least
    each every all any some such both either neither one ones other another same own too
    thus hence therefore however although though whereas unless until""".split()  # noqa: SIM905 - a word list reads better as text
)
_VOWELS = frozenset("aeiouyäöüéèáàíóúâêîôû")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")

# An instruction about marking: a marking verb aimed at marks, or a request to disregard the
# rubric or instructions. Bounded gaps keep every pattern linear.
_GRADER = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}?"
    r"\b(?:rubric|instructions?|criteria|marking|grading|scheme|rules?|prompt|above)\b"
    r"|\b(?:give|award|assign|grant|mark|grade|score|rate)\b[^.!?\n]{0,30}?"
    r"\b(?:full|maximum|max|perfect|all(?:\s+the)?|top|100\s*%|\d+\s*/\s*\d+|ten\s+out\s+of)\b"
    r"[^.!?\n]{0,20}?\b(?:marks?|points?|credit|score|grade)\b"
    r"|\b(?:mark|grade|treat|consider|count)\b[^.!?\n]{0,20}?\b(?:this|my|the)\s+"
    r"(?:answer|response|submission)\b[^.!?\n]{0,15}?\b(?:as\s+)?(?:correct|right|full)\b"
    r"|\b(?:dear|note\s+to(?:\s+the)?|attention|hey|hi)\s+(?:grader|marker|examiner|assessor|"
    r"teacher|professor|ta|ai|model|assistant|bot)\b"
    r"|\b(?:you|grader|marker|examiner|assistant|model|ai)\b[^.!?\n]{0,30}?\b(?:must|should|"
    r"will|shall|are\s+instructed\s+to)\b[^.!?\n]{0,30}?\b(?:award|give|mark|grade|accept)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QuestionTexts:
    """What the exam itself says about a question (the hostile families are defined by it)."""

    prompt: str
    model_answer: str
    rubric_text: str  # criterion descriptions, exemplars, keywords: the question's own words
    other_model_answers: Sequence[tuple[str, str]]  # (question id, model answer)


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text[:MAX_CHARS])]


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in FUNCTION_WORDS and len(w) > 1]


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """A crude, language-agnostic stem: enough to hear `confounders` as `confounder`."""
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _stems(ws: Iterable[str]) -> set[str]:
    return {_stem(w) for w in ws}


@functools.lru_cache(maxsize=1024)
def _text_stems(text: str) -> frozenset[str]:
    """The stems of a rubric text (prompt, model answers): read once, not for every answer."""
    return frozenset(_stems(content_words(text)))


def is_term_list(answer: str) -> bool:
    """Three or more short items of words (not numbers) and hardly a function word: terms
    listed instead of statements. A list of values (`1.5 g, 2.94, (499.46, 505.34)`) is a terse
    math answer, not a term list."""
    text = answer[:MAX_CHARS]
    items = [i.strip() for i in _ITEM_SPLIT.split(text) if i.strip()]
    items = [i for i in items if any(ch.isalpha() for ch in i)]
    if len(items) < 3:
        return False
    ws = words(text)
    alpha = [w for w in ws if w[0].isalpha()]
    if len(alpha) < 3 or len(alpha) < 0.6 * len(ws):
        return False
    short = sum(1 for i in items if len(words(i)) <= 4)
    function = sum(1 for w in alpha if w in FUNCTION_WORDS)
    # keyword phrases carry a few function words ("at least as extreme"); sentences many
    limit = 0.2 if len(items) == 3 else 0.3
    return short >= 0.8 * len(items) and function <= limit * len(alpha)


def _containment(ws: Sequence[str], reference: Set[str]) -> float:
    if not ws:
        return 0.0
    return sum(1 for w in ws if _stem(w) in reference) / len(ws)


def restates_question(answer: str, texts: QuestionTexts) -> bool:
    """Almost every content word of the answer is in the prompt, and it brings nothing of the
    model answer that the prompt lacks."""
    ws = content_words(answer)
    if len(ws) < 5 or not texts.prompt:
        return False
    prompt = _text_stems(texts.prompt)
    if _containment(ws, prompt) < 0.85:
        return False
    new = _text_stems(texts.model_answer) - prompt
    return len(_stems(ws) & new) <= 1


def other_model_answer(answer: str, texts: QuestionTexts) -> str | None:
    """The id of another question whose model answer this answer mostly is (and which fits it
    clearly better than this question's own texts), else None."""
    ws = content_words(answer)
    if len(ws) < 5:
        return None
    own = _text_stems(f"{texts.prompt} {texts.model_answer} {texts.rubric_text}")
    own_share = _containment(ws, own)
    best: tuple[float, str] | None = None
    for qid, model in texts.other_model_answers:
        share = _containment(ws, _text_stems(model))
        if share >= 0.8 and share >= own_share + 0.25 and (best is None or share > best[0]):
            best = (share, qid)
    return None if best is None else best[1]


def _word_like(word: str) -> bool:
    if not word.isalpha() or len(word) <= 2:
        return True
    if not any(ch in _VOWELS for ch in word):
        return False
    if _CONSONANT_RUN.search(word):
        return False
    for row in _KEYBOARD_ROWS:  # four or more keys in a row of the keyboard
        for i in range(len(row) - 3):
            if row[i : i + 4] in word or row[i : i + 4][::-1] in word:
                return False
    # the same letter three times running, or a two-letter pattern repeated
    return re.search(r"(.)\1\1|(..)\2\2", word) is None


def is_gibberish(answer: str) -> bool:
    ws = [w for w in words(answer) if w[0].isalpha() and len(w) > 2]
    if len(ws) < 2:
        return False
    bad = sum(1 for w in ws if not _word_like(w))
    return bad >= 0.5 * len(ws)


def addresses_grader(answer: str) -> bool:
    return _GRADER.search(answer[:MAX_CHARS]) is not None


def families(answer: str, texts: QuestionTexts) -> dict[str, str]:
    """Hostile families the answer belongs to -> the reason an instructor reads."""
    found: dict[str, str] = {}
    if addresses_grader(answer):
        found["addresses_grader"] = REASONS["addresses_grader"]
    if is_gibberish(answer):
        found["gibberish"] = REASONS["gibberish"]
    if is_term_list(answer):
        found["term_list"] = REASONS["term_list"]
    if restates_question(answer, texts):
        found["restates_question"] = REASONS["restates_question"]
    other = other_model_answer(answer, texts)
    if other is not None:
        found["other_model_answer"] = f"answer is the model answer of question {other}"
    return found
