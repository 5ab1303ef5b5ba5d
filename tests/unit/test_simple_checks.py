from __future__ import annotations

import pytest

from grader.checks.base import Status
from grader.checks.choice.checker import ChoiceChecker, ChoiceOption, ChoiceSpec
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
        groups=[
            KeywordGroup(any_of=["gradient"]),
            KeywordGroup(any_of=["saturat"], label="saturation"),
            KeywordGroup(any_of=["zero-centred", "zero centered"]),
        ]
    )
    result = KeywordsChecker().check(spec, "The gradient vanishes.")
    assert result.fraction == pytest.approx(1 / 3)
    assert "saturation" in result.feedback


def test_keywords_whole_words_only_and_forbidden() -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=["relu"])], forbidden=["sigmoid"])
    assert KeywordsChecker().check(spec, "prelude").fraction == 0.0
    asserted = KeywordsChecker().check(spec, "I would use ReLU or sigmoid here.")
    assert asserted.fraction == 0.0 and asserted.details["forbidden"] == "sigmoid"


@pytest.mark.parametrize(
    "answer",
    [
        "Use ReLU, not sigmoid.",
        "ReLU works; saying sigmoid works here is wrong.",
        "A common myth is that sigmoid is fine; ReLU is used.",
    ],
)
def test_keywords_forbidden_phrase_denied_by_the_student(answer: str) -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=["relu"])], forbidden=["sigmoid"])
    assert KeywordsChecker().check(spec, answer).fraction == 1.0


def test_keywords_forbidden_phrase_with_its_own_negation_still_voids() -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=["reject"])], forbidden=["not significant"])
    assert KeywordsChecker().check(spec, "It is not significant, so we reject.").fraction == 0.0


def test_keywords_in_a_bare_list_do_not_count() -> None:
    spec = KeywordsSpec(
        groups=[KeywordGroup(any_of=["gradient"]), KeywordGroup(any_of=["saturation"])]
    )
    listed = KeywordsChecker().check(spec, "gradient, saturation, sigmoid, tanh")
    assert listed.fraction == 0.0 and listed.details["listed"] == ["gradient", "saturation"]
    assert listed.status == Status.NEEDS_REVIEW and listed.details["hostile"] == "term_list"
    said = KeywordsChecker().check(spec, "The gradient vanishes because of saturation.")
    assert said.fraction == 1.0
    assert said.evidence is not None and "the gradient vanishes" in said.evidence


def test_keywords_data_with_numbers_is_not_a_term_list() -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=["4-6"])])
    assert KeywordsChecker().check(spec, "P1 0-1, P2 1-4, P4 4-6, P1 6-11").fraction == 1.0


class _LabelScorer:
    def score(self, reference: str, answer: str) -> float:
        return 0.9 if "own" in answer and "stack" in reference else 0.1


def test_keywords_group_met_by_meaning_with_a_scorer() -> None:
    spec = KeywordsSpec(
        groups=[
            KeywordGroup(
                any_of=["return address"], label="each thread needs a stack for its own calls"
            ),
            KeywordGroup(any_of=["registers"]),
        ]
    )
    answer = "Every thread executes its own sequence of calls."
    assert KeywordsChecker().check(spec, answer).fraction == 0.0
    res = KeywordsChecker(_LabelScorer()).check(spec, answer)
    assert res.fraction == 0.5 and res.details["by_meaning"] == [spec.groups[0].label]
    assert res.confidence == 0.9


def test_choice_single_multiple_none() -> None:
    spec = ChoiceSpec(
        options=[
            ChoiceOption(id="A", phrases=["network a"]),
            ChoiceOption(id="B", phrases=["network b"]),
        ],
        correct="A",
    )
    assert ChoiceChecker().check(spec, "Network A has more").fraction == 1.0
    assert ChoiceChecker().check(spec, "Network B has more").fraction == 0.0
    hedged = ChoiceChecker().check(spec, "network a or network b")
    assert hedged.fraction == 0.0 and hedged.confidence < 1
    assert ChoiceChecker().check(spec, "no idea").feedback


def test_choice_correct_must_be_an_option() -> None:
    with pytest.raises(ValueError, match="not one of the options"):
        ChoiceSpec(
            options=[ChoiceOption(id="A", phrases=["a"]), ChoiceOption(id="B", phrases=["b"])],
            correct="C",
        )


# --- choice: ids as students write them ------------------------------------------------------

ABCD = ChoiceSpec(options=[ChoiceOption(id=x) for x in "ABCD"], correct="C")


@pytest.mark.parametrize(
    "answer",
    [
        "C",
        "C.",
        "c",
        "**C**: the stack",
        "(C)",
        "C)",
        "C, because each thread runs its own calls",
        "C — about 95% of such intervals contain μ",
        "C - stack",
        "Statement C is right",
        "Statement C is the right one: it holds",
        "The answer is C",
        "answer is C , becaus the μ is fix",
        "answer: c",
        "I think it's C.",
        "The stack (C), because locals live there",
        r"$\text{(C)}$ — the stack",
        "C, not A because the heap is shared",
        "A is wrong and C is right",
        "Options A and D are wrong, so C.",
        "The correct answer is C. Statement A describes a misconception and D is wrong.",
        "The correct answer is C. B confuses bags with means, and D confuses it with means.",
        "B and D are wrong; C.",
        "The heap is shared.\nC, because each thread has its own calls.",
    ],
)
def test_choice_reads_the_stated_id(answer: str) -> None:
    result = ChoiceChecker().check(ABCD, answer)
    assert (result.fraction, result.details["chosen"]) == (1.0, "C"), answer
    assert result.confidence >= 0.5


@pytest.mark.parametrize(
    "answer",
    [
        "A dense layer has (n+1)·m parameters",  # the article
        "I don't know",
        "A competitive inhibitor changes Km; one of the statements A to D is correct.",  # range
        "vitamin C and B-cells",  # part of a word
        "P(A) = 0.3 and C++",
        "A: heap, B: globals, C: stack, D: files",  # labels of a list, no choice
        "Statement A describes inhibition",  # mentioned, not chosen
    ],
)
def test_choice_ignores_ids_that_are_not_a_choice(answer: str) -> None:
    result = ChoiceChecker().check(ABCD, answer)
    assert result.fraction == 0.0 and "chosen" not in result.details, answer
    assert result.feedback.startswith("No option was chosen")


def test_choice_wrong_option_is_named_in_the_feedback() -> None:
    spec = ChoiceSpec(
        options=[ChoiceOption(id="A", text="the heap"), ChoiceOption(id="B"), ChoiceOption(id="C")],
        correct="C",
    )
    result = ChoiceChecker().check(spec, "A — each thread mallocs its own objects")
    assert result.fraction == 0.0 and result.feedback == "You chose A (the heap)."
    assert ChoiceChecker().check(ABCD, "D, the file descriptors").feedback == "You chose D."


def test_choice_several_options_get_nothing_and_all_of_them_is_hostile() -> None:
    two = ChoiceChecker().check(ABCD, "A or C")
    assert two.fraction == 0.0 and "more than one option: A, C" in two.feedback
    assert two.details == {"candidates": 2, "matched": 1}
    every = ChoiceChecker().check(ABCD, "A, B, C, D")
    assert every.fraction == 0.0 and every.details["hostile"] == "all_options"
    nearly = ChoiceChecker().check(ABCD, "**B**, **C** and **D**")
    assert nearly.details.get("hostile") == "all_options"


def test_choice_option_text_names_the_option_and_a_term_list_is_hostile() -> None:
    spec = ChoiceSpec(
        options=[
            ChoiceOption(id="A", text="The heap"),
            ChoiceOption(id="B", text="the global variables"),
            ChoiceOption(id="C", text="the stack"),
            ChoiceOption(id="D", text="the open file descriptors."),
        ],
        correct="C",
    )
    assert ChoiceChecker().check(spec, "Each thread has its own stack.").fraction == 1.0
    listed = ChoiceChecker().check(spec, "stack, heap, global variables, open file descriptors")
    assert listed.fraction == 0.0 and listed.details["hostile"] == "all_options"
    # the stated id wins over words that name another option while arguing
    argued = ChoiceChecker().check(spec, "C. The heap is shared by all threads.")
    assert argued.fraction == 1.0


def test_choice_words_against_a_bracketed_id_go_to_review() -> None:
    spec = ChoiceSpec(
        options=[ChoiceOption(id="A", text="the heap"), ChoiceOption(id="C", text="the stack")],
        correct="C",
    )
    result = ChoiceChecker().check(spec, "Only (A) is shared; each thread has its own stack")
    assert result.details["chosen"] == "A" and result.confidence < 0.5
    assert result.details["ambiguous"] is True and result.details["review_reason"]


def test_choice_any_option_ids() -> None:
    spec = ChoiceSpec(options=[ChoiceOption(id=x) for x in ("i", "ii", "iii", "iv")], correct="iii")
    assert ChoiceChecker().check(spec, "iii").fraction == 1.0
    assert ChoiceChecker().check(spec, "I would say (iii), since").fraction == 1.0
    assert ChoiceChecker().check(spec, "I think ii is correct").details["chosen"] == "ii"
    tf = ChoiceSpec(options=[ChoiceOption(id="true"), ChoiceOption(id="false")], correct="false")
    assert ChoiceChecker().check(tf, "False, because the sum diverges").fraction == 1.0
    assert ChoiceChecker().check(tf, "It is true that it diverges").feedback.startswith("No option")


def test_choice_phrases_still_work_and_ids_need_no_spelling() -> None:
    spec = ChoiceSpec(
        options=[
            ChoiceOption(id="A", phrases=["first network has more"]),
            ChoiceOption(id="B", phrases=["second network has more"]),
        ],
        correct="A",
    )
    assert ChoiceChecker().check(spec, "The first network has more weights").fraction == 1.0
    # mentioned network names are not a choice; the words decide
    assert (
        ChoiceChecker().check(spec, "So A has more than B: the first network has more").fraction
        == 1.0
    )


def test_choice_ids_must_be_distinct() -> None:
    with pytest.raises(ValueError, match="duplicate option ids"):
        ChoiceSpec(options=[ChoiceOption(id="A"), ChoiceOption(id="A")], correct="A")


def test_choice_long_hostile_answer_is_bounded() -> None:
    result = ChoiceChecker().check(ABCD, "A, " * 30_000 + "C")
    assert result.fraction == 0.0


def test_choice_answer_opening_with_an_option_in_words_chooses_it() -> None:
    spec = ChoiceSpec(
        options=[
            ChoiceOption(id="A", text="the heap"),
            ChoiceOption(id="B", text="the global variables"),
            ChoiceOption(id="C", text="the stack"),
            ChoiceOption(id="D", text="the open file descriptors"),
        ],
        correct="C",
    )
    opens = ChoiceChecker().check(spec, "The stack, because the heap is shared by all threads.")
    assert opens.fraction == 1.0 and opens.details["chosen"] == "C"
    argued = ChoiceChecker().check(spec, "Threads share the heap but each has its own stack.")
    assert argued.fraction == 0.0 and argued.confidence < 0.5  # two named in words: review


def test_choice_option_named_by_its_place() -> None:
    assert ChoiceChecker().check(ABCD, "The third one, since it is the stack.").fraction == 1.0
    assert ChoiceChecker().check(ABCD, "I'd take the last option.").details["chosen"] == "D"


def test_choice_lines_of_an_answer() -> None:
    assert ChoiceChecker().check(ABCD, "C\n\nA is wrong, the heap is shared").fraction == 1.0
    listed = ChoiceChecker().check(ABCD, "A. heap\nB. globals\nC. stack\nD. files")
    assert listed.fraction == 0.0 and "chosen" not in listed.details  # a list, not a choice
    assert ChoiceChecker().check(ABCD, "A\nB\nC\nD").details["hostile"] == "all_options"
    numbered = ChoiceSpec(options=[ChoiceOption(id=x) for x in "1234"], correct="3")
    steps = "1. The heap is shared\n2. Globals are shared\nSo 3."
    assert ChoiceChecker().check(numbered, steps).details["chosen"] == "3"


def test_keywords_tolerate_one_spelling_slip_in_long_words() -> None:
    spec = KeywordsSpec(
        groups=[KeywordGroup(any_of=["standard deviation"]), KeywordGroup(any_of=["cause"])]
    )
    res = KeywordsChecker().check(spec, "The standart deviation stays the same in this case.")
    assert res.details["found"] == ["standard deviation"]  # "case" is no slip for "cause"
    assert KeywordsChecker().check(spec, "The deviation is standard.").fraction == 0.0


@pytest.mark.parametrize(
    ("answer", "is_list"),
    [
        ("standard error, s/√n, z*, margin of error, confidence interval, grams", True),
        ("stack, heap, global variables, open file descriptors, registers", True),
        ("z = (xbar - mu0)/(sigma/sqrt(n)) = 3/2 = 1.5. |z| < 1.96 -> fail to reject H0.", False),
        ("def update_w2(w1, w2, x, t, lr):", False),
        ("Heap, globals and files are shared by all the threads of a process.", False),
        # one item with function words does not make a list a statement
        ("p-value, null hypothesis, assuming H0 true, at least as extreme, reject H0", True),
        ("First, we compute the mean, then the variance, and finally the standard error.", False),
    ],
)
def test_term_lists_are_told_from_data_and_statements(answer: str, is_list: bool) -> None:
    from grader.checks.keywords import _sentences

    assert any(s.is_list for s in _sentences(answer)) is is_list


def test_keywords_a_plural_is_no_spelling_slip() -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=["weights decay"])])
    assert KeywordsChecker().check(spec, "Weight decay is like dropout.").fraction == 0.0


@pytest.mark.parametrize(
    ("phrase", "answer", "met"),
    [
        # own word forms and a few words between: counted
        ("assuming the null", "It is computed under the assumption that the null is true.", True),
        ("if the mean really were 50", "If the mean reaction time really were 50 ms.", True),
        ("the standard error decreases", "The standard error of the mean decreased.", True),
        ("stays the same", "Its value stays ≈ the same.", True),
        # a negation the phrase does not have, before it or inside the gap: not counted
        ("if h0 is true", "This only holds if h0 is not true.", False),
        ("rejects the null", "We do not reject the null hypothesis.", False),
        ("does not change", "The spread does not really change.", False),
        # one content word: only its form may differ, no words in between; a plural is
        # another word
        ("is significant", "The result is 3% significant, so we keep H0.", False),
        # numbers as written, and every word of the phrase is needed
        ("6 to 11", "P4 runs 6-8 and P2 8-11.", False),
        ("weights decay", "Weight decay is like dropout.", False),
        (
            "if the null hypothesis is true",
            "There is a 3% chance the null hypothesis is true.",
            False,
        ),
        # too far apart
        (
            "assuming the null",
            "Assuming a normal model with known variance, the null holds.",
            False,
        ),
    ],
)
def test_keywords_count_a_phrase_in_the_students_own_word_forms(
    phrase: str, answer: str, met: bool
) -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=[phrase])])
    assert KeywordsChecker().check(spec, answer).fraction == (1.0 if met else 0.0)


def test_keywords_own_word_forms_do_not_count_in_a_list() -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=["assuming the null"])])
    res = KeywordsChecker().check(spec, "assumption, null hypothesis, p-value, significance")
    assert res.fraction == 0.0
