"""Corrections teach the grader: an instructor's overrides become graded examples of the
criteria that calibrate on them (pure code; the service adds the database and versions).

A criterion override gives its criterion's example directly (score / points). A question
override is a score for the whole answer: the criteria that cannot learn from examples keep
their automatic points, and the rest of the instructor's score is shared among the criteria
that can, in proportion to their points (with `combine: max`, each learnable criterion is
given the question's fraction). This is the one reading of "the instructor gave this answer
N points" that does not invent a verdict for a criterion the instructor did not look at.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from grader.batches.review import normalise_answer
from grader.grading.core import SubmissionResult

# A criterion keeps at most this many graded examples: the text scorer's shot features are
# a few nearest examples, so more only slow loading; the newest corrections are kept.
MAX_EXAMPLES = 50


@dataclass(frozen=True)
class NewExample:
    """One graded example made from a correction."""

    question_id: str
    criterion_id: str
    answer: str
    score: float  # fraction of the criterion's points, in [0, 1]
    submission_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fraction(points: float, max_points: float) -> float:
    if max_points <= 0:
        return 0.0
    return round(min(max(points / max_points, 0.0), 1.0), 4)


def criterion_targets(
    question: Mapping[str, Any],
    auto_criteria: Mapping[str, float],
    points: float,
    learnable: set[str],
) -> dict[str, float]:
    """A question-level score `points` as fractions for the learnable criteria of
    `question` (a rubric question: id, points, combine, criteria), given the automatic
    points of every criterion (`auto_criteria`)."""
    crits = [c for c in question["criteria"] if c["id"] in learnable]
    if not crits:
        return {}
    if question.get("combine", "sum") == "max":
        frac = _fraction(points, float(question["points"]))
        return {c["id"]: frac for c in crits}
    fixed = sum(
        float(auto_criteria.get(c["id"], 0.0))
        for c in question["criteria"]
        if c["id"] not in learnable
    )
    share = _fraction(points - fixed, sum(float(c["points"]) for c in crits))
    return {c["id"]: share for c in crits}


def examples_from_override(
    question: Mapping[str, Any],
    auto_result: SubmissionResult | None,
    override: Mapping[str, Any],
    answer: str,
    learnable: set[str],
    submission_id: str = "",
) -> list[NewExample]:
    """The examples one override (`question_id`, `criterion_id` or None, `score`) teaches."""
    if not answer.strip():
        return []  # a blank answer is scored 0 before any checker runs: nothing to learn
    qid = str(question["id"])
    cid = override.get("criterion_id")
    score = float(override["score"])
    if cid is not None:
        crit = next((c for c in question["criteria"] if c["id"] == cid), None)
        if crit is None or cid not in learnable:
            return []
        targets = {str(cid): _fraction(score, float(crit["points"]))}
    else:
        questions = auto_result.questions if auto_result is not None else []
        auto_q = next((q for q in questions if q.id == qid), None)
        auto = {c.id: float(c.score) for c in (auto_q.criteria if auto_q else [])}
        targets = criterion_targets(question, auto, score, learnable)
    return [NewExample(qid, c, answer, f, submission_id) for c, f in targets.items()]


def add_examples(
    definition: Mapping[str, Any], examples: Iterable[NewExample]
) -> tuple[dict[str, Any], list[NewExample]]:
    """A copy of the rubric `definition` with `examples` added to their criteria, and the
    examples actually added. An example for an answer the criterion already has (same text
    up to case and spacing) replaces it: the newest decision counts; the same answer with the
    same score is not added again."""
    out: dict[str, Any] = copy.deepcopy(dict(definition))
    crits = {(q["id"], c["id"]): c for q in out["questions"] for c in q["criteria"]}
    added: list[NewExample] = []
    for ex in examples:
        crit = crits.get((ex.question_id, ex.criterion_id))
        if crit is None:
            continue
        # Examples written inside `check:` take precedence over the criterion's (the loader
        # hands the checker those), so new ones join whichever list the rubric uses.
        holder = crit["check"] if "examples" in crit["check"] else crit
        key = normalise_answer(ex.answer)
        have = holder.get("examples") or []
        if any(normalise_answer(e["answer"]) == key and e["score"] == ex.score for e in have):
            continue  # already taught: nothing new
        kept = [e for e in have if normalise_answer(e["answer"]) != key]
        kept.append({"answer": ex.answer, "score": ex.score})
        holder["examples"] = kept[-MAX_EXAMPLES:]
        added.append(ex)
    return out, added


@dataclass(frozen=True)
class Corrected:
    """One corrected answer of a question: what the grader gave it and what it should get
    (fractions of the question's points), and the examples its correction teaches."""

    answer: str
    auto: float
    target: float
    examples: tuple[NewExample, ...]


def leave_one_out(
    definition: Mapping[str, Any],
    corrected: list[Corrected],
    grade: Callable[[dict[str, Any], str], float],
) -> dict[str, float] | None:
    """Do a question's corrections generalise? Each corrected answer is graded (`grade`:
    rubric definition, answer -> fraction of the question) under the rubric taught by the
    *other* corrections, and its error compared with the automatic one. None when there are
    fewer than two teaching corrections (nothing to hold out)."""
    teaching = [c for c in corrected if c.examples]
    if len(teaching) < 2:
        return None
    before = after = 0.0
    for c in teaching:
        others = [e for o in teaching if o is not c for e in o.examples]
        taught, _ = add_examples(definition, others)
        after += abs(grade(taught, c.answer) - c.target)
        before += abs(c.auto - c.target)
    n = len(teaching)
    return {"n": n, "error_before": round(before / n, 4), "error_held_out": round(after / n, 4)}
