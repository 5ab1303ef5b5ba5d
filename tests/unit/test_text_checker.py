"""The `text` checker with a model-free fake encoder: scoring, guards, feedback, bad input."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pytest
from pydantic import ValidationError

from grader.checks.base import Status
from grader.checks.registry import CheckerRegistry
from grader.checks.text.checker import TextChecker, TextSpec, register_text_checkers
from grader.checks.text.scoring import Vectors, content_stems, negated

DIM = 512


class FakeEncoder:
    """Hashed bag of content stems (plus a negation bit): similar wording, similar vectors."""

    max_seq_length = 256

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.seen: set[str] = set()

    def _vec(self, text: str) -> Vectors:
        v = np.zeros(DIM, dtype=np.float32)
        for s in content_stems(text):
            h = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "big")
            v[h % DIM] += 1.0
        v[DIM - 1] += 0.3 if negated(text) else 0.0
        v[0] += 0.05  # never the zero vector
        return v / np.linalg.norm(v)

    def encode(self, texts: Sequence[str], *, pin: bool = False) -> Vectors:
        fresh = [t for t in dict.fromkeys(texts) if t not in self.seen]
        self.calls.append(len(fresh))
        self.seen.update(fresh)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def too_long(self, text: str) -> bool:
        return len(text.split()) > self.max_seq_length


QUESTION = "Explain why the sigmoid activation function saturates in the hidden layers."
SPEC = TextSpec(
    description="explains that sigmoid gradients vanish for large inputs",
    exemplars=[
        "For large positive or negative inputs the sigmoid output is flat, so its gradient is "
        "close to zero.",
        "The derivative of the sigmoid vanishes when the input magnitude is large.",
    ],
    misconceptions=[
        {
            "text": "Sigmoid saturates because it has too many trainable parameters.",
            "feedback": "Activation functions have no trainable parameters.",
        }
    ],
    hint="Look at the slope of the sigmoid far from zero.",
    question=QUESTION,
)
GOOD = (
    "The sigmoid becomes flat for large positive or negative inputs. "
    "Its gradient is then close to zero, so learning stalls."
)


def _with(**fields: object) -> TextSpec:
    return TextSpec.model_validate({**SPEC.model_dump(), **fields})


@pytest.fixture()
def checker() -> TextChecker:
    return TextChecker(FakeEncoder())


def test_good_answer_met_with_evidence(checker: TextChecker) -> None:
    res = checker.check(SPEC, GOOD)
    assert res.fraction >= 0.5
    assert res.evidence and res.evidence in GOOD
    assert "“" in res.feedback
    assert 0.0 <= res.confidence <= 1.0
    assert "features" in res.details


def test_off_topic_answer_missing_with_hint(checker: TextChecker) -> None:
    res = checker.check(SPEC, "Paris is the capital of France and has many museums.")
    assert res.fraction < 0.3
    assert "Hint:" in res.feedback and res.evidence is None


def test_better_answer_scores_higher(checker: TextChecker) -> None:
    # Credit is the model's score stretched (text_model.ZERO_STRETCH), so answers near an
    # exemplar all reach full credit; a weaker one must still land below the strong one.
    weak = checker.check(SPEC, "Sigmoid outputs are probabilities between zero and one.")
    strong = checker.check(SPEC, GOOD)
    assert strong.fraction > weak.fraction


def test_restated_question_capped(checker: TextChecker) -> None:
    res = checker.check(SPEC, "The sigmoid activation function saturates in the hidden layers.")
    assert res.fraction <= 0.2
    assert "restates_question" in res.details["flags"]


def test_keyword_stuffing_capped_and_reviewed(checker: TextChecker) -> None:
    res = checker.check(
        SPEC, "sigmoid gradient zero flat large inputs derivative vanishes saturation"
    )
    assert res.fraction <= 0.5
    assert "keyword_list" in res.details["flags"]
    assert res.status == Status.NEEDS_REVIEW


def test_negated_statement_goes_to_review_not_halved(checker: TextChecker) -> None:
    # A negation count cannot tell "never vanishes" from a "not" in a side clause, so it no
    # longer halves the credit: the model weighs the mismatch (a feature with its fitted
    # weight) and the reading goes to a person with a note.
    plain = checker.check(
        SPEC, "The derivative of the sigmoid vanishes when the input magnitude is large."
    )
    neg = checker.check(
        SPEC, "The derivative of the sigmoid never vanishes when the input magnitude is large."
    )
    assert plain.details["features"]["neg_mismatch"] == 0.0
    assert neg.details["features"]["neg_mismatch"] == 1.0
    assert "negation" in neg.details["flags"] and "negation" not in plain.details["flags"]
    assert neg.status == Status.NEEDS_REVIEW
    assert "opposite" in neg.feedback
    assert 0.5 * plain.fraction < neg.fraction <= plain.fraction  # not halved by the count


def test_misconception_costs_credit_and_explains(checker: TextChecker) -> None:
    res = checker.check(SPEC, "Sigmoid saturates because it has too many trainable parameters.")
    assert "misconception" in res.details["flags"]
    assert "no trainable parameters" in res.feedback
    assert "You wrote:" in res.feedback
    assert res.fraction < 0.35


def test_correct_answer_is_not_taken_for_the_misconception(checker: TextChecker) -> None:
    res = checker.check(SPEC, GOOD + " Sigmoid has no trainable parameters at all.")
    assert "misconception" not in res.details["flags"]


def test_required_concepts() -> None:
    spec = _with(
        concepts=[{"any_of": ["gradient", "derivative"]}, {"any_of": ["tanh"], "label": "tanh"}]
    )
    res = TextChecker(FakeEncoder()).check(spec, GOOD)
    assert res.details["missing_concepts"] == ["tanh"]
    assert "Not mentioned: tanh" in res.feedback


def test_examples_calibrate() -> None:
    spec = _with(
        examples=[
            {"answer": GOOD, "score": 1.0},
            {"answer": "It is bounded between zero and one.", "score": 0.0},
            {"answer": "Because of the exponential function.", "score": 0.0},
        ]
    )
    checker = TextChecker(FakeEncoder())
    same = checker.check(spec, GOOD)
    other = checker.check(spec, "It is bounded between zero and one.")
    assert same.fraction > other.fraction
    assert "shots" in same.details


def test_examples_alone_are_enough() -> None:
    spec = TextSpec(examples=[{"answer": GOOD, "score": 1.0}, {"answer": "No idea.", "score": 0.0}])
    res = TextChecker(FakeEncoder()).check(spec, GOOD)
    assert res.fraction > 0.5


def test_spec_needs_something_to_compare() -> None:
    with pytest.raises(ValidationError):
        TextSpec(description="x")
    with pytest.raises(ValidationError):
        TextSpec(exemplars=["a"], unknown_field=1)  # type: ignore[call-arg]  # refused on purpose


def test_plain_string_misconceptions_accepted() -> None:
    spec = TextSpec(exemplars=["a b c"], misconceptions=["wrong idea"])
    assert spec.misconceptions[0].text == "wrong idea"


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   \n\t ",
        "...!!!",
        "\x00\u202e\u200b",
        "🙂🙂🙂",
        "Die Sigmoidfunktion sättigt, weil ihre Ableitung für große Eingaben verschwindet und "
        "das Lernen dadurch sehr langsam wird.",
        "<p>The <b>sigmoid</b> is flat for large inputs, so the gradient is near zero.</p>",
        "**Answer:** the sigmoid is _flat_ for `large` inputs; gradient ~ 0.",
        "def f(x):\n    return 1 / (1 + math.exp(-x))  # flat for big x",
        "sigmoid " * 200_000,
        "x" * 1_000_000,
        "The sigmoid is flat. " * 5_000,
        "\ud800 lone surrogate and the gradient is zero",
        QUESTION,
    ],
)
def test_bad_inputs_never_crash(checker: TextChecker, answer: str) -> None:
    res = checker.check(SPEC, answer)
    assert 0.0 <= res.fraction <= 1.0
    assert res.feedback
    if not answer.strip() or not any(ch.isalnum() for ch in answer):
        assert res.fraction == 0.0


def test_huge_answer_is_cut_and_reviewed(checker: TextChecker) -> None:
    res = checker.check(SPEC, "The sigmoid is flat for large inputs. " * 30_000)
    assert "too_long" in res.details["flags"]
    assert res.status == Status.NEEDS_REVIEW


def test_many_sentences_flagged(checker: TextChecker) -> None:
    res = checker.check(SPEC, " ".join(f"Point {i} is here." for i in range(100)))
    assert "too_long" in res.details["flags"]


def test_over_long_sentence_flagged(checker: TextChecker) -> None:
    res = checker.check(SPEC, "the sigmoid is flat " * 100)
    assert "exceeds_model_length" in res.details["flags"]
    assert res.status == Status.NEEDS_REVIEW


def test_other_language_goes_to_review(checker: TextChecker) -> None:
    res = checker.check(
        SPEC, "Сигмоида насыщается, потому что её производная становится очень малой."
    )
    assert "language" in res.details["flags"]
    assert res.status == Status.NEEDS_REVIEW


def test_warm_encodes_everything_in_one_pass() -> None:
    enc = FakeEncoder()
    checker = TextChecker(enc)
    answers = [GOOD, GOOD, "It is flat.", "Gradients vanish. Learning is slow."]
    checker.warm([(SPEC, a) for a in answers])
    calls = len(enc.calls)
    for a in answers:
        checker.check(SPEC, a)
    assert all(n == 0 for n in enc.calls[calls:])  # nothing new after warming


def test_exemplars_prepared_once_per_spec() -> None:
    checker = TextChecker(FakeEncoder())
    first = checker.reference(SPEC)
    assert checker.reference(TextSpec.model_validate(SPEC.model_dump())) is first


def test_register() -> None:
    registry = CheckerRegistry()
    register_text_checkers(registry, FakeEncoder())
    assert "text" in registry
    spec = registry.parse_spec("text", {"exemplars": ["x y z"], "hint": "h"})
    assert isinstance(spec, TextSpec)


RUBRIC = """
id: t
title: T
questions:
  - id: q1
    prompt: Why does the sigmoid saturate?
    points: 2
    criteria:
      - id: flat
        points: 2
        check:
          kind: text
          description: the sigmoid is flat for large inputs, so gradients vanish
          question: Why does the sigmoid saturate?
          exemplars:
            - For large inputs the sigmoid is flat, so its gradient is close to zero.
          hint: Look at the slope far from zero.
          examples:
            - {answer: "It is flat for large inputs and the gradient vanishes.", score: 1.0}
            - {answer: "Because it is a function.", score: 0.0}
"""


def test_grade_many_warms_once_through_the_rubric() -> None:
    from grader.checks import simple_registry
    from grader.exams import load_exam
    from grader.grading import DirectRunner, grade_many

    enc = FakeEncoder()
    registry = simple_registry()
    register_text_checkers(registry, enc)
    loaded = load_exam(RUBRIC, registry)
    sheets = [{"q1": GOOD}, {"q1": "It is a function."}, {"q1": GOOD}, {"q1": ""}]
    results = grade_many(loaded, sheets, DirectRunner(registry))
    assert results[0].score > results[1].score
    assert results[3].questions[0].status == "unanswered"
    assert sum(1 for n in enc.calls if n) <= 2  # exemplars+examples once, answers once


def test_clean_answer_keeps_comparisons_and_drops_markup() -> None:
    from grader.checks.text.checker import clean_answer

    text, cut = clean_answer("<p>The <b>sigmoid</b></p> is flat; a < b and c > d\n> quoted **x**")
    assert "<p>" not in text and "**" not in text
    assert "a < b and c > d" in text and "quoted" in text and not cut
    assert clean_answer("\ud800 ok")[0].endswith("ok")
    assert clean_answer("x" * 30_000)[1]


def test_criterion_level_examples_reach_the_spec() -> None:
    from grader.checks import simple_registry
    from grader.exams import load_exam

    registry = simple_registry()
    register_text_checkers(registry, FakeEncoder())
    rubric = RUBRIC.replace("          examples:\n", "        examples:\n").replace(
        "            - {answer", "          - {answer"
    )
    loaded = load_exam(rubric, registry)
    assert len(loaded.exam.questions[0].criteria[0].examples) == 2  # given beside `check:`
    spec = loaded.spec("q1", "flat")
    assert isinstance(spec, TextSpec) and len(spec.examples) == 2


class FakeScorer:
    """A stand-in for the learned pair scorer: share of the reference's content stems stated,
    zero for a sentence that negates; records every pair it is asked about."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str]] = []

    def score(self, reference: str, answer: str) -> float:
        self.pairs.append((reference, answer))
        ref, ans = content_stems(reference), content_stems(answer)
        if not ref or negated(answer) != negated(reference):
            return 0.0
        return len(ref & ans) / len(ref)


def test_learned_scorer_decides_the_fraction() -> None:
    scorer = FakeScorer()
    checker = TextChecker(FakeEncoder(), scorer=scorer)
    res = checker.check(SPEC, GOOD)
    assert res.details["learned"]["fraction"] == res.fraction
    reference, answer = scorer.pairs[0]
    assert all(" ".join(e.split()) in reference for e in SPEC.exemplars)  # exemplars together
    assert "flat" in answer
    off = checker.check(SPEC, "Paris is the capital of France.")
    assert off.fraction < res.fraction


def test_learned_scorer_calibrated_by_examples() -> None:
    spec = _with(
        examples=[
            {"answer": "The sigmoid is flat for large inputs.", "score": 1.0},
            {"answer": "It uses the gradient.", "score": 0.2},
        ]
    )
    plain = TextChecker(FakeEncoder(), scorer=FakeScorer()).check(SPEC, "The sigmoid is flat.")
    calibrated = TextChecker(FakeEncoder(), scorer=FakeScorer()).check(spec, "The sigmoid is flat.")
    assert calibrated.fraction > plain.fraction  # the instructor gives more for less wording


def test_learned_misconception_only_when_stated() -> None:
    checker = TextChecker(FakeEncoder(), scorer=FakeScorer())
    said = checker.check(SPEC, "Sigmoid saturates because it has too many trainable parameters.")
    assert "misconception" in said.details["flags"]
    assert "trainable parameters" in said.feedback
    denied = checker.check(
        SPEC, "Sigmoid does not saturate because it has too many trainable parameters."
    )
    assert "misconception" not in denied.details["flags"]


def test_learned_scores_do_not_depend_on_batch() -> None:
    a = TextChecker(FakeEncoder(), scorer=FakeScorer())
    b = TextChecker(FakeEncoder(), scorer=FakeScorer())
    a.warm([(SPEC, GOOD), (SPEC, "Something else entirely."), (SPEC, "The gradient is zero.")])
    assert a.check(SPEC, GOOD) == b.check(SPEC, GOOD)


def test_register_gives_keywords_the_scorer() -> None:
    from grader.checks import simple_registry

    registry = simple_registry()
    scorer = FakeScorer()
    register_text_checkers(registry, FakeEncoder(), scorer)
    assert registry.get("keywords").scorer is scorer


def test_sentences_about_another_part_of_the_question_do_not_dilute_a_criterion() -> None:
    # A criterion is one part of a question; the whole answer also covers the other parts.
    checker = TextChecker(FakeEncoder())
    alone = "For large inputs the sigmoid is flat, so its gradient is close to zero."
    other_parts = (
        " The learning rate was set to a small constant. Batch normalisation rescales the "
        "activations of each layer before the next one."
    )
    focused = checker.check(SPEC, alone)
    whole = checker.check(SPEC, alone + other_parts)
    assert whole.details["features"]["align"] == pytest.approx(
        focused.details["features"]["align"], abs=0.02
    )
    assert whole.fraction >= focused.fraction - 0.1


def test_focused_precision_keeps_the_best_sentences_per_exemplar() -> None:
    from grader.checks.text.scoring import focused_precision

    colmax = np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.7]], dtype=np.float32)
    got = focused_precision(colmax, np.array([1.0, 2.0]))
    assert got.tolist() == pytest.approx([0.9, 0.75])
    # never more sentences than the answer has
    assert focused_precision(colmax[:, :1], np.array([3.0, 3.0])).tolist() == pytest.approx(
        [0.9, 0.3]
    )
