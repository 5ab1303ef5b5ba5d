"""What an answer test takes and gives: the three texts (student, teacher, options) in,
a Verdict out. A verdict is pass, fail, or invalid (the input cannot be used: unreadable,
undefined such as 1/0, or an unusable option). Tests that judge trees read the texts with
`parse_side` and `parse_options`, and `on_trees` makes such a test a text test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from grader.mathlang import MathError, read
from grader.mathlang.tree import Node

Result = Literal["pass", "fail", "invalid"]


@dataclass(frozen=True, slots=True)
class Verdict:
    result: Result
    feedback: str = ""
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.result == "pass"


PASS = Verdict("pass")


def fail(feedback: str = "", note: str = "") -> Verdict:
    return Verdict("fail", feedback, note)


def invalid(feedback: str, note: str = "") -> Verdict:
    return Verdict("invalid", feedback, note)


class Invalid(Exception):
    """Raised inside a test to return an `invalid` verdict with this message."""


# every answer test, as the table holds it: (student, teacher, options) -> Verdict
AnswerTest = Callable[[str, str, str], Verdict]
# a test of trees: (student, teacher, option list or None) -> Verdict
TreeTest = Callable[[Node, Node, "list[Node] | None"], Verdict]


@lru_cache(maxsize=256)  # at most ~1,000 nodes each (2,000 characters): bounded memory
def _read(text: str) -> Node | MathError:
    """read(), remembered: a criterion runs its test on one answer against the expected
    value, each alternative and each mistake, and parsing was most of that time. Trees
    are tuples, so sharing them is safe."""
    try:
        node: Node = read(text)
    except MathError as exc:
        return exc
    return node


def parse_side(text: str, who: str) -> Node:
    if not text or not text.strip():
        raise Invalid(f"the {who} answer is empty")
    got = _read(text) if len(text) <= 2000 else _read.__wrapped__(text)
    if isinstance(got, MathError):
        raise Invalid(f"the {who} answer cannot be read: {got}") from None
    return got


def parse_options(text: str | None) -> list[Node] | None:
    """None if empty; a list of option nodes (a bare option becomes a one-item list)."""
    if text is None or not text.strip():
        return None
    try:
        node = read(text)
    except MathError as exc:
        raise Invalid(f"the test option cannot be read: {exc}") from None
    if node[0] == "list" and node[1] in ("[", ""):
        return list(node[2])
    return [node]


def on_trees(test: TreeTest) -> AnswerTest:
    """`test` on the trees of the texts: the options are read first, then the student's
    answer, then the teacher's (the first unreadable one is the verdict's reason)."""

    def run(student: str, teacher: str, options: str) -> Verdict:
        opts = parse_options(options)
        s = parse_side(student, "student's")
        t = parse_side(teacher, "teacher's")
        return test(s, t, opts)

    return run
