"""The `text` checker: an explanation scored against exemplar phrasings by sentence embeddings.

Pure except for the injected encoder (`grader.embed.load_encoder(...)` in production, a fake in
unit tests). The score comes from `text.scoring` (sentence alignment, calibrated on the
criterion's graded examples); this module adds the guards (empty, too long, other language,
restated question, keyword lists, negation, off topic, misconceptions, required concepts),
the confidence and the student-facing feedback with the sentence that served as evidence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator, model_validator

from grader.checks.base import BaseChecker, CheckResult, CheckSpec, Status
from grader.checks.text import learned as tl
from grader.checks.text import scoring as tm
from grader.checks.text.words import LIST_FUNCTION_SHARE, is_term_list

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 20_000  # beyond this an answer is cut (and sent to a human)
MAX_SENTENCES = 64  # sentences of one answer that are read (see tm.sentences_of)
MAX_WARM_ANSWERS = 50_000  # prepared answers kept between warm() and check()
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")  # HTML tags, not "a < b > c"
_MD = re.compile(r"[*`#|]{1,3}|(?m:^[ \t]*>+)")  # markdown marks and quote markers
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

MET, PARTIAL = 0.75, 0.35  # fraction bands for the feedback wording
MISCONCEPTION_MATCH = 0.6  # cosine at which a misconception exemplar counts as stated...
MISCONCEPTION_MARGIN = 0.1  # ...if that sentence is this much nearer to it than to exemplars


class Misconception(CheckSpec):
    text: str = Field(min_length=1, description="A wrong statement students make.")
    feedback: str = Field(default="", description="What the student is told when it matches.")
    penalty: float = Field(default=0.7, ge=0, le=1, description="Share of credit it costs.")


class Concept(CheckSpec):
    """A required concept: met if any of its phrasings occurs (whole words, case folded)."""

    any_of: list[str] = Field(min_length=1)
    label: str | None = None


class Example(CheckSpec):
    """An answer the instructor graded (fraction of the criterion's points)."""

    answer: str
    score: float = Field(ge=0, le=1)


class TextSpec(CheckSpec):
    description: str = Field(default="", description="What the criterion asks for (feedback).")
    exemplars: list[str] = Field(default_factory=list, description="Correct phrasings.")
    misconceptions: list[Misconception] = Field(default_factory=list)
    concepts: list[Concept] = Field(default_factory=list, description="Required concepts.")
    hint: str = Field(default="", description="Shown when the criterion is missed.")
    question: str = Field(default="", description="The prompt (to spot restated questions).")
    examples: list[Example] = Field(default_factory=list, description="Graded answers (k-shot).")
    binary: bool = Field(default=False, description="All or nothing instead of partial credit.")

    @field_validator("misconceptions", mode="before")
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"text": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _something_to_compare(self) -> TextSpec:
        if not any(e.strip() for e in self.exemplars) and len(self.examples) < 2:
            raise ValueError("a text criterion needs exemplars or at least two graded examples")
        return self


def clean_answer(answer: str) -> tuple[str, bool]:
    """NFKC, no control or bidi characters, HTML tags and markdown marks dropped, length cut."""
    text = unicodedata.normalize("NFKC", answer.encode("utf-8", "replace").decode("utf-8"))
    cut = len(text) > MAX_ANSWER_CHARS
    text = text[:MAX_ANSWER_CHARS]
    text = _CONTROL.sub("", _MD.sub(" ", _TAG.sub(" ", text)))
    return text, cut


def _spec_key(spec: TextSpec) -> str:
    raw = json.dumps(spec.model_dump(), sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _word_in(phrase: str, text: str) -> bool:
    words = [re.escape(w) for w in phrase.casefold().split()]
    return bool(words) and re.search(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", text) is not None


def _quote(sentence: str, limit: int = 240) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


class TextChecker(BaseChecker[TextSpec]):
    """Scores explanations; `warm` encodes every answer of a task in one batched pass."""

    kind: ClassVar[str] = "text"
    spec_model: ClassVar[type[CheckSpec]] = TextSpec

    def __init__(
        self,
        encoder: tm.EncoderLike,
        *,
        scorer: tl.PairScorerLike | None = None,
        max_specs: int = 512,
    ) -> None:
        self.encoder = encoder
        self.scorer = scorer  # the learned pair scorer; None: sentence alignment alone
        self._learned: OrderedDict[str, tl.LearnedRef | None] = OrderedDict()
        self._refs: OrderedDict[str, tm.Reference] = OrderedDict()
        self._max_specs = max_specs
        self._lock = threading.Lock()
        # The same answer is usually checked by several criteria of its question in a row.
        self._answers: OrderedDict[str, _Answer] = OrderedDict()
        self._answer_cap = 256
        self._keys: dict[int, tuple[TextSpec, str]] = {}

    # -- preparation (cached per spec: exemplars are encoded once per exam version) ----------
    def _key(self, spec: TextSpec) -> str:
        hit = self._keys.get(id(spec))
        if hit is not None and hit[0] is spec:
            return hit[1]
        key = _spec_key(spec)
        if len(self._keys) > 4 * self._max_specs:
            self._keys.clear()
        self._keys[id(spec)] = (spec, key)  # holding `spec` keeps its id from being reused
        return key

    def reference(self, spec: TextSpec) -> tm.Reference:
        key = self._key(spec)
        with self._lock:
            ref = self._refs.get(key)
            if ref is not None:
                self._refs.move_to_end(key)
                return ref
        ref = self._build(spec)
        with self._lock:
            self._refs[key] = ref
            while len(self._refs) > self._max_specs:
                self._refs.popitem(last=False)
        return ref

    def learned(self, spec: TextSpec) -> tl.LearnedRef | None:
        """The criterion as the pair scorer reads it (its examples scored once, cached)."""
        if self.scorer is None:
            return None
        key = self._key(spec)
        with self._lock:
            if key in self._learned:
                return self._learned[key]
        lref = tl.learned_reference(
            self.scorer,
            spec.exemplars,
            "",  # the description says what to look for, not what a right answer states
            [m.text for m in spec.misconceptions],
            [(clean_answer(e.answer)[0], e.score) for e in spec.examples],
        )
        with self._lock:
            self._learned[key] = lref
            while len(self._learned) > self._max_specs:
                self._learned.popitem(last=False)
        return lref

    def _build(self, spec: TextSpec) -> tm.Reference:
        enc = self.encoder
        examples = [(clean_answer(e.answer)[0], e.score) for e in spec.examples]
        texts = [*spec.exemplars, *(m.text for m in spec.misconceptions), spec.question]
        texts += [a for a, _ in examples]
        wanted = list(dict.fromkeys(t for text in texts for t in tm.texts_to_encode(text)))
        if wanted:
            enc.encode(wanted, pin=True)  # one pass for all of the criterion's own texts
        exemplars = tuple(e for e in tm.prepare(enc, spec.exemplars, pin=True) if not e.empty)
        mis = tuple(tm.prepare(enc, [m.text for m in spec.misconceptions], pin=True))
        question = None
        if spec.question.strip():
            (question,) = tm.prepare(enc, [spec.question], pin=True)
        base = tm.Reference(exemplars, misconceptions=mis, question=question)
        reps = tm.prepare(enc, [a for a, _ in examples], pin=True)
        keep = [i for i, r in enumerate(reps) if not r.empty]
        shots = tm.make_shots([reps[i] for i in keep], [examples[i][1] for i in keep], base)
        return tm.Reference(exemplars, misconceptions=mis, question=question, shots=shots)

    def warm(self, items: Sequence[tuple[TextSpec, str]]) -> None:
        """Prepare every spec and encode every distinct answer sentence in one batched pass."""
        answers: dict[str, str] = {}
        for spec, answer in items:
            self.reference(spec)
            if answer not in answers:
                answers[answer] = clean_answer(answer)[0]
        texts = [t for cleaned in answers.values() for t in tm.texts_to_encode(cleaned)]
        if texts:
            self.encoder.encode(list(dict.fromkeys(texts)))
        # Keep the prepared answers of this task for its check() calls (bounded).
        self._answer_cap = max(self._answer_cap, min(MAX_WARM_ANSWERS, len(answers)))
        for answer in list(answers)[:MAX_WARM_ANSWERS]:
            self._answer(answer)

    def _answer(self, answer: str) -> _Answer:
        with self._lock:
            hit = self._answers.get(answer)
        if hit is not None:
            return hit
        text, cut = clean_answer(answer)
        (rep,) = tm.prepare(self.encoder, [text])
        flags = []
        if cut or len(rep.sentences) >= MAX_SENTENCES and len(tm.sentences_of(text, 65)) > 64:
            flags.append("too_long")  # only the first part of the answer was read
        if not rep.empty and self._truncated(rep):
            flags.append("exceeds_model_length")  # a sentence is longer than the model's window
        if flags:
            log.warning("text answer flagged %s (%d chars)", ",".join(flags), len(answer))
        info = _Answer(rep, tuple(flags), _keyword_list(rep), _not_english(rep))
        with self._lock:
            self._answers[answer] = info
            while len(self._answers) > self._answer_cap:
                self._answers.popitem(last=False)
        return info

    # -- checking ----------------------------------------------------------------------------
    def check(self, spec: TextSpec, answer: str) -> CheckResult:
        info = self._answer(answer)
        rep = info.rep
        if rep.empty:
            return CheckResult(
                0.0,
                feedback="No explanation was given." + (f" Hint: {spec.hint}" if spec.hint else ""),
                confidence=1.0,
                details={"reason": "empty"},
            )
        ref = self.reference(spec)
        fraction, feats, shot = tm.score(rep, ref)
        lref = self.learned(spec)
        verdict = None
        if lref is not None and self.scorer is not None:
            # Only misconceptions some sentence is near (one vector product) are read closely.
            near: list[int] = []
            if ref.mis_vecs is not None:
                sims = (ref.mis_vecs @ rep.sent_vecs.T).max(axis=1)
                near = [int(i) for i in np.flatnonzero(sims >= MISCONCEPTION_MATCH)]
            verdict = tl.judge(self.scorer, lref, " ".join(rep.sentences), near)
            fraction = verdict.fraction
            feats.values.pop("certainty", None)  # the scorer's verdict, not the alignment's
        return self._verdict(spec, ref, info, fraction, feats, shot, verdict)

    def _truncated(self, rep: tm.TextRep) -> bool:
        too_long = getattr(self.encoder, "too_long", None)
        return callable(too_long) and any(too_long(s) for s in rep.sentences)

    def _verdict(
        self,
        spec: TextSpec,
        ref: tm.Reference,
        info: _Answer,
        fraction: float,
        feats: tm.Features,
        shot: tm.ShotFeatures | None,
        learned: tl.LearnedVerdict | None = None,
    ) -> CheckResult:
        rep = info.rep
        flags = list(info.flags)
        v = feats.values
        notes: list[str] = []
        # Sure where the model's score is far from its credit band's middle (text.scoring).
        confidence = 0.35 + 1.3 * abs(v.get("certainty", fraction) - 0.5)
        if shot is not None and shot.nearest_sim >= 0.95:
            confidence += 0.2  # nearly the same as an answer the instructor graded
        # Guards: each caps credit for a way of looking right without being right.
        if ref.exemplars and v["q_only"] >= 0.8 and v["q_sim"] >= v["whole"]:
            fraction = min(fraction, 0.2)
            notes.append("The answer mostly restates the question.")
            flags.append("restates_question")
        if info.keyword_list:
            fraction = min(fraction, 0.5)
            confidence = min(confidence, 0.45)
            notes.append("Please explain in full sentences rather than listing terms.")
            flags.append("keyword_list")
        # A negation in the best-matching sentence that its exemplar sentence lacks (or the
        # reverse) is counted, not understood: "not" in a side clause looks the same. The model
        # already weighs it (its fitted neg_mismatch feature), so here it only sends the
        # reading to a person. Halving the credit as well cost more than it caught on dev
        # (saf-networks MAE .176 -> .163 without it, os201 .092 -> .087, bio110 .072 -> .070).
        if learned is None and v["neg_mismatch"] and v["best"] >= 0.8 and fraction > 0.3:
            confidence = min(confidence, 0.45)
            notes.append("Check the statement: it seems to say the opposite of what is expected.")
            flags.append("negation")
        if ref.exemplars and v["best"] < 0.2 and v["tok_recall"] == 0.0 and shot is None:
            fraction, confidence = 0.0, max(confidence, 0.8)
            flags.append("off_topic")
        if info.not_english:
            confidence = min(confidence, 0.3)
            notes.append("The answer does not seem to be in English; a grader will look at it.")
            flags.append("language")
        mis_fb = ""
        mis_idx, said_idx = feats.misconception, feats.misconception_sentence
        stated = v["mis_sim"] >= MISCONCEPTION_MATCH and v["mis"] >= MISCONCEPTION_MARGIN
        if learned is not None:
            mis_idx, stated = learned.misconception, learned.misconception >= 0
            if stated and ref.mis_vecs is not None:
                said_idx = int((rep.sent_vecs @ ref.mis_vecs[mis_idx]).argmax())
        if mis_idx >= 0 and stated:
            m = spec.misconceptions[mis_idx]
            fraction *= 1.0 - m.penalty
            said = rep.sentences[max(0, said_idx)]
            mis_fb = f"You wrote: “{_quote(said)}”. " + (
                m.feedback or f"This is a common misconception: “{m.text}”."
            )
            flags.append("misconception")
        missing = [
            c.label or c.any_of[0]
            for c in spec.concepts
            if not any(_word_in(p, rep.text.casefold()) for p in c.any_of)
        ]
        if spec.concepts:
            # Each missing required concept costs its share of 60% of the credit.
            fraction *= 1.0 - 0.6 * len(missing) / len(spec.concepts)
        if "too_long" in flags or "exceeds_model_length" in flags:
            confidence = min(confidence, 0.45)
        if spec.binary:
            fraction = 1.0 if fraction >= 0.5 else 0.0
        fraction = min(1.0, max(0.0, fraction))
        confidence = min(1.0, max(0.0, confidence))
        evidence = (
            rep.sentences[feats.evidence] if 0 <= feats.evidence < len(rep.sentences) else None
        )
        feedback = _feedback(spec, fraction, evidence, missing, notes, mis_fb)
        details: dict[str, Any] = {
            "features": {k: round(x, 4) for k, x in v.items()},
            "flags": flags,
            "missing_concepts": missing,
        }
        if shot is not None:
            details["shots"] = {k: round(x, 4) for k, x in shot.values.items()}
        if learned is not None:
            details["learned"] = {
                "raw": round(learned.raw, 4),
                "fraction": round(learned.fraction, 4),
            }
        status = Status.NEEDS_REVIEW if confidence < 0.5 else Status.OK
        return CheckResult(
            round(fraction, 4),
            feedback=feedback,
            evidence=_quote(evidence) if evidence and fraction >= PARTIAL else None,
            confidence=round(confidence, 4),
            status=status,
            details=details,
        )


@dataclass(frozen=True)
class _Answer:
    """An answer prepared once, whichever criteria look at it."""

    rep: tm.TextRep
    flags: tuple[str, ...]
    keyword_list: bool
    not_english: bool


def _keyword_list(rep: tm.TextRep) -> bool:
    """Many content words with hardly any function words: a list of terms, not an explanation."""
    ws = tm.words(rep.text)
    if len(ws) < 6:
        return False
    function = sum(1 for w in ws if w in tm.STOPWORDS or w in tm.NEGATIONS)
    return function / len(ws) < LIST_FUNCTION_SHARE or all(is_term_list(s) for s in rep.sentences)


def _not_english(rep: tm.TextRep) -> bool:
    ws = tm.words(rep.text)
    if not rep.text.isascii():
        letters = [ch for ch in rep.text if ch.isalpha()]
        if len(letters) >= 20 and sum(ch.isascii() for ch in letters) / len(letters) < 0.5:
            return True
    if len(ws) < 8:
        return False
    return sum(1 for w in ws if w in tm.STOPWORDS) / len(ws) < 0.04


def _feedback(
    spec: TextSpec,
    fraction: float,
    evidence: str | None,
    missing: list[str],
    notes: list[str],
    misconception: str,
) -> str:
    what = spec.description.strip().rstrip(".")
    parts: list[str] = []
    if fraction >= MET:
        parts.append(f"Met: {what}." if what else "Met.")
        if evidence:
            parts.append(f"You wrote: “{_quote(evidence)}”.")
    elif fraction >= PARTIAL:
        parts.append(f"Partly met: {what}." if what else "Partly met.")
        if evidence:
            parts.append(f"Closest: “{_quote(evidence)}”.")
    else:
        parts.append(f"Missing: {what}." if what else "Not met.")
    if missing:
        parts.append("Not mentioned: " + ", ".join(missing) + ".")
    if misconception:
        parts.append(misconception)
    parts.extend(notes)
    if fraction < MET and spec.hint:
        parts.append(f"Hint: {spec.hint}")
    return " ".join(parts)


def register_text_checkers(
    registry: Any, encoder: tm.EncoderLike, scorer: tl.PairScorerLike | None = None
) -> None:
    """Register the `text` checker with `encoder` (e.g. `grader.embed.load_encoder(path)`) and
    the learned pair scorer (`grader.embed.scorer.load_scorer()`; None: alignment alone)."""
    registry.register(TextChecker(encoder, scorer=scorer))
    if "keywords" in registry:  # keyword groups not named literally may be met by meaning
        registry.get("keywords").use_scorer(scorer)
