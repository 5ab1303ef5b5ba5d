from __future__ import annotations

import pytest

from grader.checks.choice import ChoiceChecker, ChoiceOption, ChoiceSpec
from grader.checks.exact import ExactChecker, ExactSpec
from grader.checks.keywords import KeywordGroup, KeywordsChecker, KeywordsSpec
from grader.checks.regex import RegexChecker, RegexSpec


def test_exact_folds_case_space_and_unicode() -> None:
    spec = ExactSpec(accept=["Network A"])
    assert ExactChecker().check(spec, "  network   a ").fraction == 1.0
    assert ExactChecker().check(spec, "ｎｅｔｗｏｒｋ Ａ").fraction == 1.0  # fullwidth, NFKC
    assert ExactChecker().check(spec, "network b").fraction == 0.0


def test_regex_quotes_evidence() -> None:
    result = RegexChecker().check(RegexSpec(pattern=r"7\s?880"), "A has 7880 more weights")
    assert result.fraction == 1.0 and result.evidence is not None and "7880" in result.evidence


def test_keywords_partial_credit_and_missing_feedback() -> None:
    spec = KeywordsSpec(
        groups=[KeywordGroup(any_of=["gradient"]), KeywordGroup(any_of=["saturat"], label="saturation"),
                KeywordGroup(any_of=["zero-centred", "zero centered"])]
    )
    result = KeywordsChecker().check(spec, "The gradient vanishes.")
    assert result.fraction == pytest.approx(1 / 3)
    assert "saturation" in result.feedback


def test_keywords_whole_words_only_and_forbidden() -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=["relu"])], forbidden=["sigmoid"])
    assert KeywordsChecker().check(spec, "prelude").fraction == 0.0
    assert KeywordsChecker().check(spec, "ReLU, not sigmoid").fraction == 0.0


def test_choice_single_multiple_none() -> None:
    spec = ChoiceSpec(
        options=[ChoiceOption(id="A", phrases=["network a"]), ChoiceOption(id="B", phrases=["network b"])],
        correct="A",
    )
    assert ChoiceChecker().check(spec, "Network A has more").fraction == 1.0
    assert ChoiceChecker().check(spec, "Network B has more").fraction == 0.0
    hedged = ChoiceChecker().check(spec, "network a or network b")
    assert hedged.fraction == 0.0 and hedged.confidence < 1
    assert ChoiceChecker().check(spec, "no idea").feedback


def test_choice_correct_must_be_an_option() -> None:
    with pytest.raises(ValueError, match="not one of the options"):
        ChoiceSpec(options=[ChoiceOption(id="A", phrases=["a"]), ChoiceOption(id="B", phrases=["b"])],
                   correct="C")
