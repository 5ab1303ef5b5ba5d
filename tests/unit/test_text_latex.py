from __future__ import annotations

import pytest

from grader.checks.keywords import KeywordGroup, KeywordsChecker, KeywordsSpec
from grader.checks.text.latex import PASSES, prose_latex
from grader.checks.text.representation import sentences_of


@pytest.mark.parametrize(
    ("latex", "read"),
    [
        (r"$SE = s/\sqrt{n}$ is halved", "SE = s/√n is halved"),
        (r"$n: 25 \to 100$", "n: 25 → 100"),
        (r"the mean $\bar{x}$ estimates $\mu$", "the mean x̄ estimates μ"),
        (r"$\frac{\partial E}{\partial w} \approx 0$", "(∂ E)/(∂ w) ≈ 0"),
        (r"$\tfrac{1}{2}$ of $\sigma^2$", "1/2 of σ^2"),
        (r"$\sqrt{\frac{a}{b}}$", "√(a/b)"),
        (r"$p \le 0.05$, $\text{reject } H_0$", "p ≤ 0.05, reject  H_0"),
        ("plain text, no LaTeX", "plain text, no LaTeX"),
        (r"an \unknowncommand stays a word", "an unknowncommand stays a word"),
    ],
)
def test_latex_in_prose_is_read_as_its_signs(latex: str, read: str) -> None:
    assert prose_latex(latex) == read


def test_deep_latex_is_unwrapped_a_bounded_number_of_times() -> None:
    # Innermost braces only, PASSES times: deeper nesting keeps its outer braces as text
    # rather than costing more passes (the speed of long answers is in bench/text_throughput.py).
    deep = r"\sqrt{" * 10 + "x" + "}" * 10
    assert prose_latex(deep).count("√") == PASSES


def test_sentences_compared_are_the_read_ones() -> None:
    assert sentences_of(r"The SE is $s/\sqrt{n}$. It halves.") == ["The SE is s/√n.", "It halves."]


def test_keywords_find_a_phrase_written_with_latex_signs() -> None:
    spec = KeywordsSpec(groups=[KeywordGroup(any_of=["x̄ estimates μ"])])
    assert KeywordsChecker().check(spec, r"Here $\bar{x}$ estimates $\mu$ well.").fraction == 1.0
