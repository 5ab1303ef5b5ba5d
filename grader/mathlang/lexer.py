"""Text -> tokens: Unicode normalisation, confusables, LaTeX commands, hostile-input rejection.

Nothing here evaluates anything; a token is (kind, text, position) with kind in
num | name | op | cmd | end.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

from grader.mathlang.charmaps import (
    BIDI,
    CONFUSABLES,
    CONTROL,
    GREEK,
    GREEK_NAMES,
    INVISIBLE,
    LATEX_CMDS,
    LATEX_NAMES,
    LATEX_OPS,
    LATEX_SKIP,
    OPS,
    SUBSCRIPTS,
    SUPERSCRIPTS,
    SYMBOLS,
)
from grader.mathlang.errors import MathSyntaxError, TooLarge

__all__ = [
    "DECORATIONS",
    "GREEK_NAMES",
    "MAX_CHARS",
    "MAX_DIGITS",
    "Token",
    "normalise",
    "tokenize",
]

MAX_CHARS = 4000
MAX_DIGITS = 400


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num | name | op | cmd | end
    text: str
    pos: int


def _script(text: str, table: dict[str, str], marker: str) -> str:
    out: list[str] = []
    run: list[str] = []
    for ch in text:
        if ch in table:
            run.append(table[ch])
            continue
        if run:
            out.append(marker + "{" + "".join(run) + "}")
            run = []
        out.append(ch)
    if run:
        out.append(marker + "{" + "".join(run) + "}")
    return "".join(out)


# Accents on a letter name a different symbol of their own: x̄ = \bar{x} = \overline{x} =
# xbar = x_bar, p̂ = \hat{p} = phat. The mark becomes a suffix of the name.
_MARKS = {"\u0304": "bar", "\u0305": "bar", "\u0302": "hat", "\u0303": "tilde", "\u20d7": "vec"}
DECORATIONS = frozenset(_MARKS.values()) | {"dot"}
_MARK_CMDS = {
    "bar": "bar",
    "overline": "bar",
    "hat": "hat",
    "widehat": "hat",
    "tilde": "tilde",
    "widetilde": "tilde",
    "vec": "vec",
    "dot": "dot",
}
_MARKED = re.compile("([^\\W\\d_])([" + "".join(_MARKS) + "])")
_MARK_CMD = re.compile(
    r"\\(" + "|".join(_MARK_CMDS) + r")(?![A-Za-z])\s*"
    r"(?:\{\s*(\\?[A-Za-z]+|[^\W\d_])\s*\}|(\\[A-Za-z]+|[A-Za-z]))"
)


def _decorations(text: str) -> str:
    if (
        not any(ch in text for ch in _MARKS)
        and "\\" not in text
        and not any(unicodedata.decomposition(c)[-4:] in ("0304", "0302", "0303") for c in text)
    ):
        return text
    # precomposed letters (ā, ô) are split first so that one rule reads both forms
    text = "".join(
        unicodedata.normalize("NFD", c)
        if unicodedata.decomposition(c)[-4:] in ("0304", "0302", "0303")
        else c
        for c in text
    )
    text = _MARKED.sub(lambda m: "\\" + _MARKS[m.group(2)] + "{" + m.group(1) + "}", text)

    def name(m: re.Match[str]) -> str:
        base = (m.group(2) or m.group(3)).lstrip("\\")
        base = GREEK.get(base, base)
        return " " + base + _MARK_CMDS[m.group(1)] + " "

    return _MARK_CMD.sub(name, text)


_GROUPED = re.compile(r"(?<![\w.,'])\d{1,3}(?:[ \u00a0\u2009\u202f']\d{3})+(?:\.\d+)?(?![\w.,'])")
_VULGAR = re.compile(r"(\d*)\s*([½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞])")
_TIMES_X = re.compile(r"(\d)\s+[x×]\s+(10\s*(?:\^|\*\*|[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]))")


def _vulgar(m: re.Match[str]) -> str:
    """½ is (1/2) and 1½ is (1+1/2): NFKC alone would turn 1½ into 11/2."""
    part = Fraction(unicodedata.numeric(m.group(2))).limit_denominator(10)
    frac = f"{part.numerator}/{part.denominator}"
    return f"({m.group(1)}+{frac})" if m.group(1) else f"({frac})"


def normalise(text: str) -> str:
    """Map what students type (Unicode, confusables) to our ASCII-plus-LaTeX syntax.

    Raises MathSyntaxError for characters that can only be an attack or an accident
    (NUL and control characters, direction overrides, lone surrogates).
    """
    if len(text) > MAX_CHARS:
        raise TooLarge(f"the expression is too long ({len(text)} characters, at most {MAX_CHARS})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MathSyntaxError("the answer contains invalid characters (broken encoding)") from None
    if CONTROL.search(text):
        raise MathSyntaxError("the answer contains control characters")
    if BIDI.search(text):
        raise MathSyntaxError("the answer contains invisible text-direction characters")
    text = text.translate(INVISIBLE)
    text = _decorations(text)
    text = _VULGAR.sub(_vulgar, text)
    # 1 000 000, 12 000 (thin or no-break space), 12'000: one number, never a product
    text = _GROUPED.sub(lambda m: re.sub(r"[ \u00a0\u2009\u202f']", "", m.group(0)), text)
    # 3.0 x 10^8: a letter x between a number and a power of ten is a times sign
    text = _TIMES_X.sub(r"\1*\2", text)
    # Superscripts and subscripts must be read before NFKC turns '²' into a plain '2'.
    text = _script(text, SUPERSCRIPTS, "^")
    text = _script(text, SUBSCRIPTS, "_")
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in SYMBOLS:
            out.append(SYMBOLS[ch])
        elif ch in GREEK:
            # μ0 is one name (mu0 = mu_0); μx is mu times x
            tail = "" if text[i + 1 : i + 2].isdigit() else " "
            out.append(" " + GREEK[ch] + tail)
        elif ch in CONFUSABLES:
            out.append(CONFUSABLES[ch])
        else:
            out.append(ch)
    text = unicodedata.normalize("NFKC", "".join(out))
    # NFKC may produce new Greek letters (e.g. mathematical italic) or symbols: map again.
    if any(ord(c) > 127 for c in text):
        text = "".join(
            SYMBOLS.get(c) or (" " + GREEK[c] + " " if c in GREEK else CONFUSABLES.get(c, c))
            for c in text
        )
    return text


_NUM = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def tokenize(text: str, *, decimal_comma: bool = False) -> list[Token]:
    text = normalise(text)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch == "$":
            i += 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            m = _NUM.match(text, i)
            assert m is not None
            lit = m.group(0)
            end = m.end()
            # "2e" alone is 2*e; only a digit-bearing exponent is scientific notation.
            if decimal_comma and "." not in lit and end + 1 < n and text[end] == ",":
                m2 = re.match(r",(\d+)(?![\d,])", text[end:])
                if m2 and not text[end + 1 : end + 2].isspace():
                    lit = lit + "." + m2.group(1)
                    end += m2.end()
            if sum(c.isdigit() for c in lit) > MAX_DIGITS:
                raise TooLarge(f"a number has more than {MAX_DIGITS} digits")
            tokens.append(Token("num", lit, i))
            i = end
            continue
        if ch == "%" and text[i + 1 : i + 2].isalpha():
            i += 1  # Maxima's %pi, %e, %i are the constants pi, e, i
            continue
        if ch.isalpha():
            m = _NAME.match(text, i)
            if m is None:
                raise MathSyntaxError(f"the character {ch!r} cannot be used here")
            tokens.append(Token("name", m.group(0), i))
            i = m.end()
            continue
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", text[i:], re.S)
            if m is None:
                raise MathSyntaxError("a lone backslash cannot be used here")
            cmd = m.group(1)
            i += m.end()
            if cmd in LATEX_SKIP or cmd == "\\":
                if cmd in ("text", "textrm", "mathrm", "mbox", "operatorname", "textbf", "textit"):
                    tokens.append(Token("cmd", "text", i))
                continue
            if cmd in LATEX_OPS:
                tokens.append(Token("op", LATEX_OPS[cmd], i))
            elif cmd in LATEX_NAMES:
                tokens.append(Token("name", LATEX_NAMES[cmd], i))
            elif cmd in LATEX_CMDS or cmd in ("begin", "end"):
                tokens.append(Token("cmd", "frac" if cmd.endswith("frac") else cmd, i))
            else:
                raise MathSyntaxError(f"the LaTeX command \\{cmd} is not supported")
            continue
        if ch in "'\"`":
            prev = tokens[-1] if tokens else None
            if ch == "'" and prev and prev.kind in ("name", "op") and prev.text != "(":
                tokens.append(Token("op", "'", i))  # a prime: f'(x)
                i += 1
                continue
            raise MathSyntaxError("text in quotes is not allowed in a math answer")
        for op in OPS:
            if text.startswith(op, i):
                tokens.append(Token("op", "^" if op == "**" else op, i))
                i += len(op)
                break
        else:
            if ch == ";":
                raise MathSyntaxError("';' is not allowed: write one expression")
            if ch == ".":
                raise MathSyntaxError("'.' can only be a decimal point")
            if ch == ":":
                raise MathSyntaxError("':' is not allowed here (use ':=' for an assignment)")
            raise MathSyntaxError(f"the character {ch!r} cannot be used in a math answer")
    tokens.append(Token("end", "", n))
    return tokens
