"""Text -> tokens: Unicode normalisation, confusables, LaTeX commands, hostile-input rejection.

Nothing here evaluates anything; a token is (kind, text, position) with kind in
num | name | op | cmd | end.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from grader.mathlang.errors import MathSyntaxError, TooLarge

MAX_CHARS = 4000
MAX_DIGITS = 400

_SUPERSCRIPTS = {
    "⁰": "0",
    "¹": "1",
    "²": "2",
    "³": "3",
    "⁴": "4",
    "⁵": "5",
    "⁶": "6",
    "⁷": "7",
    "⁸": "8",
    "⁹": "9",
    "⁺": "+",
    "⁻": "-",
    "⁽": "(",
    "⁾": ")",
    "ⁿ": "n",
    "ⁱ": "i",
    "ᵀ": "T",
}
_SUBSCRIPTS = {
    "₀": "0",
    "₁": "1",
    "₂": "2",
    "₃": "3",
    "₄": "4",
    "₅": "5",
    "₆": "6",
    "₇": "7",
    "₈": "8",
    "₉": "9",
    "₊": "+",
    "₋": "-",
    "ₙ": "n",
    "ᵢ": "i",
    "ⱼ": "j",
    "ₖ": "k",
    "ₘ": "m",
    "ₜ": "t",
    "ₓ": "x",
    "ₐ": "a",
    "ₑ": "e",
    "ₒ": "o",
    "ₗ": "l",
    "ₛ": "s",
}
GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ϵ": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ϑ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "ϕ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "Γ": "Gamma",
    "Δ": "Delta",
    "Θ": "Theta",
    "Λ": "Lambda",
    "Ξ": "Xi",
    "Φ": "Phi",
    "Ψ": "Psi",
    "Ω": "Omega",
}
GREEK_NAMES = frozenset(GREEK.values()) | {"varepsilon", "varphi", "vartheta"}
# Letters that look Latin but are not: a student's keyboard layout must not change the answer.
_CONFUSABLES = {
    "а": "a",
    "в": "B",
    "е": "e",
    "к": "k",
    "м": "M",
    "н": "H",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "T",
    "у": "y",
    "х": "x",
    "А": "A",
    "В": "B",
    "Е": "E",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "ı": "i",
}
_SYMBOLS = {
    "−": "-",
    "–": "-",
    "—": "-",
    "‐": "-",
    "·": "*",
    "⋅": "*",
    "∙": "*",
    "×": "*",
    "÷": "/",
    "∕": "/",
    "π": " pi ",
    "∞": " inf ",
    "≤": "<=",
    "⩽": "<=",
    "≥": ">=",
    "⩾": ">=",
    "≠": "!=",
    "←": "<-",
    "⟵": "<-",
    "→": "->",
    "√": "\\sqrt ",
    "∂": "\\partial ",
    "Σ": "\\sum ",
    "∑": "\\sum ",
    "∏": "\\prod ",
    "Π": "\\prod ",
    "±": "\\pm ",
    "′": "'",
    "≈": "\\approx ",
    "∈": "\\in ",
    "∪": "\\cup ",
    "−\u0301": "-",
    "°": "\\circ ",
}
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

OPS = (
    "<=",
    ">=",
    "!=",
    "<-",
    ":=",
    "->",
    "**",
    "==",
    "+",
    "-",
    "*",
    "/",
    "^",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    "<",
    ">",
    "!",
    "|",
    "_",
    "'",
    "%",
    "&",
)
# LaTeX spacing and sizing commands carry no meaning for the value.
_LATEX_SKIP = frozenset(
    {
        ",",
        ";",
        "!",
        ":",
        " ",
        "quad",
        "qquad",
        "left",
        "right",
        "big",
        "Big",
        "bigg",
        "Bigg",
        "bigl",
        "bigr",
        "Bigl",
        "Bigr",
        "displaystyle",
        "textstyle",
        "limits",
        "nolimits",
        "mathrm",
        "mathit",
        "mathbf",
        "boldsymbol",
        "operatorname",
        "mathnormal",
        "boxed",
        "text",
        "textrm",
        "textbf",
        "textit",
        "mbox",
        "mathsf",
        "bf",
        "rm",
        "it",
        "$",
        "[",
        "]",
        "(",
        ")",
    }
)
LATEX_OPS = {
    "cdot": "*",
    "times": "*",
    "ast": "*",
    "div": "/",
    "le": "<=",
    "leq": "<=",
    "leqslant": "<=",
    "ge": ">=",
    "geq": ">=",
    "geqslant": ">=",
    "ne": "!=",
    "neq": "!=",
    "lt": "<",
    "gt": ">",
    "gets": "<-",
    "leftarrow": "<-",
    "to": "->",
    "rightarrow": "->",
    "{": "\\{",
    "}": "\\}",
    "%": "%",
    "lbrace": "\\{",
    "rbrace": "\\}",
    "vert": "|",
    "lvert": "|",
    "rvert": "|",
    "mid": "|",
    "colon": ":",
    "coloneqq": ":=",
}
LATEX_NAMES = {"infty": "inf", "pi": "pi", "ell": "l", "imath": "i"} | {g: g for g in GREEK_NAMES}
LATEX_CMDS = frozenset(
    {
        "frac",
        "dfrac",
        "tfrac",
        "cfrac",
        "sqrt",
        "sum",
        "prod",
        "partial",
        "pm",
        "mp",
        "approx",
        "in",
        "cup",
        "circ",
        "nabla",
        "binom",
        "exp",
        "ln",
        "log",
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "coth",
        "lg",
        "max",
        "min",
        "land",
        "lor",
        "neg",
        "cap",
        "setminus",
        "emptyset",
        "varnothing",
        "det",
    }
)


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
    if _CONTROL.search(text):
        raise MathSyntaxError("the answer contains control characters")
    if _BIDI.search(text):
        raise MathSyntaxError("the answer contains invisible text-direction characters")
    text = text.translate(_INVISIBLE)
    # Superscripts and subscripts must be read before NFKC turns '²' into a plain '2'.
    text = _script(text, _SUPERSCRIPTS, "^")
    text = _script(text, _SUBSCRIPTS, "_")
    out: list[str] = []
    for ch in text:
        if ch in _SYMBOLS:
            out.append(_SYMBOLS[ch])
        elif ch in GREEK:
            out.append(" " + GREEK[ch] + " ")
        elif ch in _CONFUSABLES:
            out.append(_CONFUSABLES[ch])
        else:
            out.append(ch)
    text = unicodedata.normalize("NFKC", "".join(out))
    # NFKC may produce new Greek letters (e.g. mathematical italic) or symbols: map again.
    if any(ord(c) > 127 for c in text):
        text = "".join(
            _SYMBOLS.get(c) or (" " + GREEK[c] + " " if c in GREEK else _CONFUSABLES.get(c, c))
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
            if cmd in _LATEX_SKIP or cmd == "\\":
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
