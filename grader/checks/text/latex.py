"""LaTeX inside prose read as the signs it stands for, so that words and meaning can be
compared: "$SE = s/\\sqrt{n}$ is halved, $n: 25 \\to 100$" reads "SE = s/√n is halved, n: 25 →
100", as an exemplar written with √ and → does.

Pure string work, linear in the text: each pattern matches innermost braces only, and the
passes are bounded. Nothing is evaluated; a command it does not know loses its backslash.
"""

from __future__ import annotations

import re

from grader.mathlang.charmaps import GREEK

# Letter names as the math reader knows them (the first letter of a name wins: ε, θ, φ),
# plus the three it reads otherwise (π as a constant; Π and Σ as products and sums).
_GREEK = {name: letter for letter, name in reversed(GREEK.items())} | {
    "pi": "π",
    "Pi": "Π",
    "Sigma": "Σ",
}
_SIGNS = {
    "to": "→", "rightarrow": "→", "Rightarrow": "⇒", "implies": "⇒", "leftarrow": "←",
    "approx": "≈", "sim": "~", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "neq": "≠",
    "ne": "≠", "cdot": "·", "times": "×", "pm": "±", "infty": "∞", "partial": "∂",
    "sum": "Σ", "prod": "Π", "int": "∫", "nabla": "∇", "in": "∈", "propto": "∝",
    "ll": "≪", "gg": "≫", "log": "log", "ln": "ln", "exp": "exp", "max": "max", "min": "min",
}  # fmt: skip
_ACCENTS = {"bar": "\u0304", "overline": "\u0304", "hat": "\u0302", "tilde": "\u0303"}
_LATEX_HINT = re.compile(r"\\[A-Za-z]|\$")
_INNER = r"\{([^{}]{0,200})\}"
_FRAC = re.compile(r"\\[dt]?frac\s*" + _INNER + r"\s*" + _INNER)
_SQRT = re.compile(r"\\sqrt\s*" + _INNER)
_ACCENT = re.compile(r"\\(bar|overline|hat|tilde)\s*" + _INNER)
_TEXT = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mathit|operatorname|mbox)\s*" + _INNER)
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad|\\left|\\right")
_BRACES = re.compile(_INNER)
PASSES = 4  # nesting depth that is unwrapped (a fraction in a root in a fraction ...)


def _group(body: str) -> str:
    body = body.strip()
    return body if len(body) <= 1 or body.isalnum() else f"({body})"


def _accent(m: re.Match[str]) -> str:
    body = m.group(2).strip()
    mark = _ACCENTS[m.group(1)]
    return body + mark if len(body) == 1 else f"{body}{mark}"


def prose_latex(text: str) -> str:
    """`text` with its LaTeX commands replaced by the signs they stand for, `$` dropped."""
    if not _LATEX_HINT.search(text):
        return text
    out = text.replace("$", "")
    out = _SPACING.sub(" ", out)
    for _ in range(PASSES):
        before = out
        out = _TEXT.sub(lambda m: m.group(1), out)
        out = _FRAC.sub(lambda m: f"{_group(m.group(1))}/{_group(m.group(2))}", out)
        out = _SQRT.sub(lambda m: "√" + _group(m.group(1)), out)
        out = _ACCENT.sub(_accent, out)
        if out == before:
            break
    out = _COMMAND.sub(lambda m: _GREEK.get(m.group(1)) or _SIGNS.get(m.group(1), m.group(1)), out)
    out = _BRACES.sub(lambda m: m.group(1), _BRACES.sub(lambda m: m.group(1), out))
    return out
