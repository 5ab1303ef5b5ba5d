"""The `regex` checker: the rubric's pattern matches somewhere in the answer.

Patterns run on RE2 (google-re2), whose matching time is linear in the answer's length,
so no pattern can make a worker backtrack for seconds on a hostile answer. RE2 lacks
backreferences and lookaround; a pattern that uses them is refused when the rubric loads
with a message naming the construct. One exception keeps the documented idioms working:
lookaheads at the very start of the pattern, right after `^` (`^(?=[\\s\\S]*A)(?![\\s\\S]*B)C`),
are checked as separate RE2 matches anchored at the start of the answer ("A is there, B is
not, and C matches from the start"), which is exactly what they mean there; and a lookahead
that ends the match (`2(?![0-9])`) only asks what follows it, so it is matched as such.

RE2's `\\w`, `\\d` and `\\s` are ASCII only; Python's (which rubric authors test against) are
Unicode. They are rewritten to the Unicode classes, so `\\w+` still reads "naïve" whole.
`\\b` stays ASCII: RE2 cannot express a Unicode word boundary.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import re2
from pydantic import model_validator

from grader.checks.base import BaseChecker, CheckResult, CheckSpec
from grader.checks.textutil import MAX_SCAN_CHARS, quote

Flag = Literal["IGNORECASE", "MULTILINE", "DOTALL"]
_INLINE = {"IGNORECASE": "i", "MULTILINE": "m", "DOTALL": "s"}

# Python's Unicode classes in RE2 syntax, outside and inside a character class.
_SPACE = r"\t-\r \x{1c}-\x{1f}\x{85}\p{Z}"
_WORD = r"\p{L}\p{N}_"
_OUTSIDE = {
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "d": r"\p{Nd}",
    "D": r"\P{Nd}",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "Z": r"\z",  # Python's end of string; RE2 reads `\Z` as an error
}
# a negated class cannot be nested in another class: `[\W…]` and `[\S…]` keep RE2's meaning
_INSIDE = {"w": _WORD, "d": r"\p{Nd}", "D": r"\P{Nd}", "s": _SPACE}


class PatternError(ValueError):
    pass


def _unicode_classes(pattern: str) -> str:
    """Rewrite `\\w \\W \\d \\D \\s \\S` to their Unicode meaning, skipping escaped backslashes."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            table = _INSIDE if in_class else _OUTSIDE
            out.append(table.get(e, c + e))
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
            out.append(c)
            i += 1
            # a `]` (after an optional `^`) right at the start of a class is a literal
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("]")
                i += 1
            continue
        if c == "[" and in_class and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            if end != -1:
                out.append(pattern[i : end + 2])
                i = end + 2
                continue
        if c == "]" and in_class:
            in_class = False
        if c == "{" and not in_class and pattern.startswith("{,", i):
            # Python reads `{,n}` as `{0,n}`; RE2 would read it as literal text
            close = pattern.find("}", i)
            if close > i + 2 and pattern[i + 2 : close].isdigit():
                out.append("{0,")
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _structure(pattern: str, start: int) -> Iterator[tuple[int, str]]:
    """The characters of `pattern` from `start` that are its structure: (index, character)
    outside escapes and character classes (a `]` right after `[` or `[^` is a literal)."""
    i, n, in_class = start, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern.startswith(("[^]", "[]"), i):
                i += 2 if pattern[i + 1] == "^" else 1
        else:
            yield i, c
        i += 1


def _closing(pattern: str, start: int, depth: int) -> int:
    """Index of the `)` that brings the group depth (`depth` at `start`) to 0, or -1."""
    for i, c in _structure(pattern, start):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _group_end(pattern: str, start: int) -> int:
    """Index just past the group opening at `start` (a `(`), or -1 if it never closes."""
    end = _closing(pattern, start, 0)
    return -1 if end == -1 else end + 1


def split_leading_lookaheads(pattern: str) -> tuple[list[tuple[bool, str]], str] | None:
    """`^(?=A)(?!B)C` -> ([(True, "A"), (False, "B")], "C"); None if the pattern does not
    start with `^` followed by at least one lookahead."""
    for anchor in ("^", r"\A"):
        if pattern.startswith(anchor):
            i = len(anchor)
            break
    else:
        return None
    looks: list[tuple[bool, str]] = []
    while pattern.startswith(("(?=", "(?!"), i):
        end = _group_end(pattern, i)
        if end == -1:
            return None
        looks.append((pattern[i + 2] == "=", pattern[i + 3 : end - 1]))
        i = end
    if not looks:
        return None
    return looks, pattern[i:]


def _alternative_end(pattern: str, i: int) -> int:
    """From a `|` at `i`, the index of the `)` that closes the enclosing group (or the end)."""
    end = _closing(pattern, i, 1)
    return len(pattern) if end == -1 else end


def _in_tail(pattern: str, j: int) -> bool:
    """Nothing is matched after index `j`: only group ends (unquantified) and other
    alternatives follow, up to the end of the pattern."""
    n = len(pattern)
    while j < n:
        if pattern[j] == ")":
            if j + 1 < n and pattern[j + 1] in "*+?{":
                return False
            j += 1
        elif pattern[j] == "|":
            j = _alternative_end(pattern, j)
        else:
            return False
    return True


def _one_char(body: str) -> str | None:
    """`body` as the inside of a character class if it matches exactly one character."""
    if body.startswith("[") and not body.startswith("[^") and _group_end_class(body) == len(body):
        return body[1:-1]
    if len(body) == 2 and body[0] == "\\" and body[1] in "wdsWDS.":
        return body
    if len(body) == 1 and body not in "()[]|*+?{}^$.":
        return "\\" + body if not body.isalnum() else body
    return None


def _group_end_class(body: str) -> int:
    i, n = 1, len(body)
    if body.startswith("[]"):
        i = 2
    while i < n:
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == "]":
            return i + 1
        i += 1
    return -1


def _tail_lookaheads(pattern: str) -> str:
    """A lookahead that ends the match (nothing is matched after it) only asks what follows
    the match: `P(?=X)` matches somewhere exactly when `P(?:X)` does, and `P(?![c])` for one
    character exactly when `P(?:[^c]|\\z)` does. Rewrite those; RE2 refuses the others."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(" and i > 0 and pattern.startswith(("(?=", "(?!"), i):
            end = _group_end(pattern, i)
            body = pattern[i + 3 : end - 1] if end != -1 else ""
            if end != -1 and _in_tail(pattern, end):
                if pattern[i + 2] == "=":
                    out.append(f"(?:{_tail_lookaheads(body)})")
                    i = end
                    continue
                char = _one_char(body)
                if char is not None:
                    out.append(f"(?:[^{char}]|\\z)")
                    i = end
                    continue
        out.append(c)
        i += 1
    return "".join(out)


def _compile(body: str, flags: str, what: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    prefix = f"(?{flags})" if flags else ""
    try:
        return re2.compile(prefix + _unicode_classes(_tail_lookaheads(body)), options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(
            f"{what} cannot run on RE2 ({reason}); RE2 has no backreferences or lookbehind, "
            "and lookaheads only right after a leading ^ (e.g. '^(?=[\\s\\S]*A)(?![\\s\\S]*B)') "
            "or at the end of the match ('2(?![0-9])')"
        ) from None


@dataclass(frozen=True)
class CompiledPattern:
    """A rubric pattern as RE2 programs: lookaheads anchored at the start, then the rest."""

    requires: tuple[Any, ...]  # each must match at the start of the answer
    forbids: tuple[Any, ...]  # none may match at the start of the answer
    main: Any  # matched at the start when there were lookaheads, searched otherwise
    anchored: bool

    def search(self, text: str) -> tuple[int, int] | None:
        if any(p.match(text) is None for p in self.requires):
            return None
        if any(p.match(text) is not None for p in self.forbids):
            return None
        match = self.main.match(text) if self.anchored else self.main.search(text)
        return None if match is None else match.span()


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str, flags: tuple[str, ...] = ("IGNORECASE",)) -> CompiledPattern:
    inline = "".join(_INLINE[f] for f in flags)
    split = split_leading_lookaheads(pattern)
    if split is None:
        return CompiledPattern((), (), _compile(pattern, inline, "the pattern"), anchored=False)
    if "m" in inline:
        raise PatternError(
            "lookaheads after a leading ^ need a pattern without MULTILINE "
            "(^ must mean the start of the answer)"
        )
    looks, rest = split
    requires = tuple(_compile(b, inline, "a lookahead") for positive, b in looks if positive)
    forbids = tuple(
        _compile(b, inline, "a negative lookahead") for positive, b in looks if not positive
    )
    return CompiledPattern(requires, forbids, _compile(rest, inline, "the pattern"), anchored=True)


class RegexSpec(CheckSpec):
    pattern: str
    flags: list[Flag] = ["IGNORECASE"]

    @model_validator(mode="after")
    def _compiles(self) -> RegexSpec:
        try:
            compile_pattern(self.pattern, tuple(self.flags))
        except PatternError as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        return self


class RegexChecker(BaseChecker[RegexSpec]):
    """The rubric's regular expression matches somewhere in the answer."""

    kind: ClassVar[str] = "regex"
    spec_model: ClassVar[type[CheckSpec]] = RegexSpec

    def check(self, spec: RegexSpec, answer: str) -> CheckResult:
        compiled = compile_pattern(spec.pattern, tuple(spec.flags))
        text = unicodedata.normalize("NFKC", answer)[:MAX_SCAN_CHARS]
        span = compiled.search(text)
        if span is None:
            return CheckResult(0.0)
        return CheckResult(1.0, evidence=quote(text, span[0], span[1]))
