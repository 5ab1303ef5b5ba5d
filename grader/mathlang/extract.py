"""Find the mathematical answer(s) inside free text: \\boxed{}, $...$, \\[...\\], a final
"answer is ..." phrase, the last equation, or the last number. Pure string work; the found
snippets are then parsed by our own parser.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_TEXT = 100_000
_MATRIX = re.compile(r"\\begin\{([pbvBV]?matrix|array)\}(\{[^}]*\})?(.*?)\\end\{\1\}", re.S)
_DOLLAR2 = re.compile(r"\$\$(.+?)\$\$", re.S)
_DOLLAR1 = re.compile(r"(?<![\\$])\$([^$\n]+?)\$")
_BRACKETS = re.compile(r"\\\[(.+?)\\\]|\\\((.+?)\\\)", re.S)
_WORDS = re.compile(r"[A-Za-z]{2,}")
_NUMBER = re.compile(
    r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.,])-?\d+,\d{1,2}(?![\d,])"
    r"|(?<![\w.])-?\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?(?![A-Za-z]*\d)"
)


def _balanced(text: str, start: int) -> tuple[str, int] | None:
    """Content of the brace group opening at text[start] == '{', and the end index."""
    depth = 0
    for i in range(start, min(len(text), start + 20_000)):
        c = text[i]
        if c == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif c == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    return None


def boxed(text: str) -> list[tuple[str, int, int]]:
    """All \\boxed{...} / \\fbox{...} contents with their spans."""
    out = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*(?=\{)", text):
        got = _balanced(text, m.end())
        if got:
            out.append((got[0], m.start(), got[1]))
    return out


def _join_close(items: list[tuple[str, int, int]], text: str, max_words: int = 3) -> str:
    """Join the last run of items separated only by short connecting text ('and', ',')."""
    run = [items[-1]]
    for prev in reversed(items[:-1]):
        between = text[prev[2] : run[0][1]]
        between = re.sub(r"\\text\{([^}]*)\}|\\quad|\\,|[$\\]", r" \1 ", between)
        if len(_WORDS.findall(between)) <= max_words and len(between) < 60:
            run.insert(0, prev)
        else:
            break
    return ", ".join(x[0] for x in run)


def clean_latex(s: str) -> str:
    """Normalise a math snippet: matrices to lists, units/text words and degrees removed,
    thousands separators, percent signs, \\approx tails."""
    s = s.replace("\\\\n", " ")
    s = re.sub(r"\\\\(?=[A-Za-z])", r"\\", s)  # doubly escaped commands
    s = re.sub(r"\\left\s*[\[(]\s*(?=\\begin)", "", s)
    s = re.sub(r"(\\end\{[^}]*\})\s*\\right\s*[\])]", r"\1", s)
    s = _MATRIX.sub(lambda m: _matrix(m.group(3)), s)
    s = re.sub(r"\^\s*\{?\\circ\}?|°|\\circ", "", s)
    s = re.sub(r"\\[%$]|[%$]", "", s)
    s = re.sub(r"\b(pct|percent|percentage)\b", "", s)
    s = re.sub(r"(\d)(?:,\\!\s*|\\,|\{,\})(?=\d{3})", r"\1", s)  # 1,\!000  1\,000  1{,}000
    s = re.sub(r"(\d),(?=\d{3}(?!\d))", r"\1", s)
    s = s.replace("\\!", "")
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox|textrm)\{\s*(and|or)\s*\}", ",", s)
    s = re.sub(r"\\(?:quad|qquad)", " ", s)
    words = re.sub(r"\\(?:text|textbf|mbox|textrm)\{\s*([A-Za-z ]+)\}", "", s)
    if re.search(r"[\dA-Za-z]", re.sub(r"\\[A-Za-z]+", "", words)):
        s = words
    s = re.sub(r"\s+(?:and|or)\s+|(?<=[)\]}])\s*or\s*(?=[(\[{])", ", ", s)
    s = re.sub(r"\\approx.*$", "", s, flags=re.S)
    s = re.sub(r"(\d)\s*(cm|mm|km|m|kg|g|s|m²|m\^2|€|\$|dollars?|meters?|units?)\b", r"\1", s)
    s = s.replace("€", "").replace("m²", "")
    s = s.strip().rstrip(".").strip()
    s = re.sub(r",\s*$", "", s)
    return s


def _matrix(body: str) -> str:
    rows = [r for r in re.split(r"\\\\", body) if r.strip()]
    cells = [[c.strip() for c in r.split("&")] for r in rows]
    if all(len(r) == 1 for r in cells):
        return "[" + ",".join(r[0] for r in cells) + "]"
    return "[" + ",".join("[" + ",".join(r) + "]" for r in cells) + "]"


def math_segments(text: str) -> list[tuple[str, int, int]]:
    segs: list[tuple[str, int, int]] = []
    taken: list[tuple[int, int]] = []
    for rx in (_DOLLAR2, _BRACKETS, _DOLLAR1):
        for m in rx.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            body = next(g for g in m.groups() if g is not None)
            segs.append((body, m.start(), m.end()))
            taken.append((m.start(), m.end()))
    return sorted(segs, key=lambda x: x[1])


_ITEM = r"\s*-?(?:\d+(?:\.\d+)?|\\?infty|inf|∞)\s*"
_STRUCTURE = re.compile(
    r"(?<![\w])(?:[\[(]" + _ITEM + r"(?:," + _ITEM + r")+[\])]"  # interval, tuple
    r"|\{" + _ITEM + r"(?:," + _ITEM + r")*\}"  # set
    r"|\d+(?:\.\d+)?\s*:\s*\d+(?:\.\d+)?(?![\d:]))"  # a ratio 7:32 (not 9:3:3:1)
)


def final_answer(text: str) -> str | None:
    """The answer part of free text, as a snippet to parse (None if nothing is found)."""
    text = text[:MAX_TEXT]
    text = re.sub(r"\\\\(?=[A-Za-z\[\]()])", r"\\", text)
    boxes = boxed(text)
    if boxes:
        return clean_latex(_join_close(boxes, text))
    m = list(re.finditer(r"(?i)final answer\W*(?:is|:)?", text))
    tail = text[m[-1].end() :] if m else text
    segs = math_segments(tail)
    if segs:
        after = tail[segs[-1][2] :]
        late_nums = _NUMBER.findall(after)
        concluding = re.search(
            r"(?i)\b(therefore|thus|hence|so|answer)\b[^.$]*\d[^.$]*\.?\s*$", after
        )
        if late_nums and (m or not re.search(r"\d", segs[-1][0]) or concluding):
            # a number written after the last formula is the later answer:
            # "the largest $n$ is 34.", "... increases by 100%."
            return clean_latex(late_nums[-1])
        return clean_latex(_join_close(segs, tail, max_words=1))
    if tail.count("$") >= 2:
        return None  # math delimiters that enclose nothing usable: no answer
    structures = _STRUCTURE.findall(tail)
    if structures:
        # an interval, set, tuple or ratio written in prose: "the interval is (1, 3]"
        return clean_latex(structures[0] if m else structures[-1])
    if m:
        nums = _NUMBER.findall(tail)
        if nums:
            return clean_latex(nums[0])
    stripped = tail.strip()
    if stripped and not _WORDS.search(re.sub(r"\\[A-Za-z]+|\b(?:and|or)\b", "", stripped)):
        return clean_latex(stripped)
    nums = _NUMBER.findall(tail)
    if nums:
        return clean_latex(nums[-1])
    return clean_latex(stripped) if len(stripped) < 200 else None


_EQ_LIKE = re.compile(r"(?:=|<-|←|:=)")
_CLAUSE_END = re.compile(r"(?<![=<:])[;,]\s+(?=[A-Za-z∂])|\.\s+|:\s+")
_IMPLIES = re.compile(
    r"\\(?:Rightarrow|Longrightarrow|implies|iff|Leftrightarrow|therefore)\b|[⇒⟹⇔∴]"
)


def _clauses(line: str) -> list[str]:
    """A line cut at clause ends ('; ', ', ', '. ', ': ') outside brackets, so the
    comma of E(w1, w2) does not cut the formula, and at implication arrows."""
    out: list[str] = []
    depth = start = 0
    for m in re.finditer(r"[([{]|[)\]}]|" + _CLAUSE_END.pattern + "|" + _IMPLIES.pattern, line):
        tok = m.group(0)
        if tok in "([{":
            depth += 1
        elif tok in ")]}":
            depth = max(0, depth - 1)
        elif depth == 0 or _IMPLIES.fullmatch(tok):
            out.append(line[start : m.start()])
            start = m.end()
    out.append(line[start:])
    return [c for c in out if c.strip()]


def candidates(text: str) -> list[str]:
    """Every snippet that may hold an expression or equation, best first: boxed, display
    math, inline math, then lines and clauses with an '=' or an arrow, then the whole text."""
    text = text[:MAX_TEXT]
    out: list[str] = []
    for body, _, _ in reversed(boxed(text)):
        out.append(body)
    for body, _, _ in reversed(math_segments(text)):
        pieces = _IMPLIES.split(body)
        out.extend(p.strip() for p in reversed(pieces) if len(pieces) > 1 and p.strip())
        out.append(body)
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not line:
            continue
        for clause in reversed(_clauses(line)):
            if _EQ_LIKE.search(clause) or clause is line:
                out.append(clause.strip().rstrip(".").strip())
    seen: set[str] = set()
    unique = []
    for c in out:
        if c and c not in seen:
            seen.add(c)
            unique.append(c)
    return unique


_RUN_TOKEN = re.compile(
    r"(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-zΑ-ω][A-Za-z0-9Α-ω]*(?:_\{[^{}\n]{1,20}\}|_[A-Za-z0-9]+)*)"
    r"|(?P<cmd>\\[A-Za-z]+)"
    r"|(?P<op>[-+*/^·×−⋅=<>←|()\[\]{}!'Σ∑∏√∂_∈⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻₀₁₂₃₄₅₆₇₈₉])"
    r"|(?P<comma>,)"
    r"|(?P<space>[ \t]+)"
    r"|(?P<other>.)"
)
_GLUED = re.compile(r"\d+(?:\.\d+)?[A-Za-zΑ-ω]")
_BINARY = frozenset("-+*/^·×−⋅=←") | {"\\cdot", "\\times", "\\frac", "\\sum", "\\prod"}
_BREAK_CMDS = frozenset({"\\text", "\\textbf", "\\mathrm", "\\quad", "\\qquad", "\\mbox"})
MAX_RUNS = 20


def formula_runs(text: str, keep: frozenset[str]) -> list[str]:
    """Formulas written inside prose without $ or '=': 'Network A has 100D+101K+10200
    parameters' gives '100D+101K+10200'. A run is a stretch of numbers, one-letter names
    (x, w1, t_i), names in `keep` (declared variables, functions) and operators, with
    at least one binary operator between two operands; a longer word ends it."""
    out: list[str] = []
    for line in text[:MAX_TEXT].splitlines()[:400]:
        for run in _runs_of_line(line, keep):
            if run not in out:
                out.append(run)
        if len(out) >= MAX_RUNS:
            break
    return out[:MAX_RUNS]


def _runs_of_line(line: str, keep: frozenset[str]) -> list[str]:
    out: list[str] = []
    start = end = -1
    depth = operands = ops = 0
    for m in [*_RUN_TOKEN.finditer(line), None]:
        ok = m is not None
        if m is not None:
            kind, tok = m.lastgroup, m.group(0)
            if kind == "space":
                continue
            if kind == "name":
                core = re.sub(r"_.*$", "", tok)
                ok = (
                    len(core.rstrip("0123456789")) == 1
                    or tok in keep
                    or core in keep
                    or (len(core) <= 6 and all(c in keep for c in core))  # pq of p and q
                )
                operands += ok
            elif kind == "num":
                operands += 1
            elif kind == "cmd":
                ok = tok not in _BREAK_CMDS
                ops += tok in _BINARY
            elif kind == "op":
                ok = depth > 0 or tok not in ")]}"  # "(so 100D + 101K)": the run ends
                depth += ok * ((tok in "([{") - (tok in ")]}"))
                ops += ok * (tok in _BINARY)
            elif kind in ("comma", "other"):
                ok = kind == "comma" and depth > 0
            if ok:
                start = m.start() if start < 0 else start
                end = m.end()
                continue
        implicit = start >= 0 and _GLUED.match(line, start) is not None  # 2pq, 3x
        if start >= 0 and operands >= 2 and (ops >= 1 or implicit) and depth == 0:
            run = line[start:end].strip().rstrip("-+*/^·×−⋅=(←").lstrip("*/^·×⋅=←").strip()
            if run:
                out.append(run)
        start = end = -1
        depth = operands = ops = 0
    return out


_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_UNITS = {w: i for i, w in enumerate(_UNIT_WORDS.split())}
_TENS = {
    w: 10 * i
    for i, w in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2
    )
}
_SCALES = {"thousand": 1000, "million": 1_000_000}
_SPOKEN_OPS = {"plus": "+", "minus": "-", "times": "*"}
_SPOKEN_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)?|\S|\s+")


@lru_cache(maxsize=64)  # a checker and its reader both ask for the same answer
def spoken_numbers(text: str) -> str:
    """'one hundred times D plus ten thousand two hundred' -> '100 * D + 10200': number
    words become digits and plus/minus/times/divided by/squared operators, so
    formula_runs can read them."""
    out: list[str] = []
    value: int | None = None
    current = 0
    pending: list[str] = []  # "and" / spaces inside a number, kept if the number ends

    def close() -> None:
        nonlocal value, current
        if value is not None:
            out.append(str(value + current))
        value, current = None, 0

    for m in _SPOKEN_WORD.finditer(text[:MAX_TEXT]):
        tok = m.group(0)
        low = tok.lower()
        parts = low.split("-")
        if all(p in _UNITS or p in _TENS for p in parts) or low in ("hundred", *_SCALES):
            pending.clear()
            value = 0 if value is None else value
            if low == "hundred":
                current = max(current, 1) * 100
            elif low in _SCALES:
                value, current = value + max(current, 1) * _SCALES[low], 0
            else:
                current += sum(_UNITS.get(p, _TENS.get(p, 0)) for p in parts)
            continue
        if value is not None and (tok.isspace() or low == "and"):
            pending.append(tok)
            continue
        close()
        out.extend(pending)
        pending.clear()
        out.append(_SPOKEN_OPS.get(low, tok))
    close()
    out.extend(pending)
    return _spoken_ops("".join(out))


_SPOKEN_PHRASES = [
    (re.compile(r"(\d+) and (?:a|one|1) half\b", re.I), r"\1.5"),
    (re.compile(r"(\d+) and (?:a|one|1) quarter\b", re.I), r"\1.25"),
    (re.compile(r"\b(?:a|1) half\b", re.I), "1/2"),
    (re.compile(r"\b(?:a|1) (quarter|third|fifth|tenth)\b", re.I), r"1/\1"),
    (re.compile(r"\b(\d+) (quarter|third|fifth|tenth)s\b", re.I), r"\1/\2"),
    (re.compile(r"/quarter\b"), "/4"),
    (re.compile(r"/third\b"), "/3"),
    (re.compile(r"/fifth\b"), "/5"),
    (re.compile(r"/tenth\b"), "/10"),
    # "the answer is minus three": after a word of prose, minus is a sign
    (re.compile(r"((?:^|[^\w)])[A-Za-z]{2,}\s+)-\s+(?=\d)"), r"\1-"),
    (re.compile(r"\s+divided by\s+", re.I), " / "),
    (re.compile(r"\s+multiplied by\s+", re.I), " * "),
    (re.compile(r"(?<=[\w)])\s+squared\b", re.I), "^2"),
    (re.compile(r"(?<=[\w)])\s+cubed\b", re.I), "^3"),
    (re.compile(r"\b(\w{1,12}) choose (\w{1,12})\b", re.I), r"binomial(\1, \2)"),
]


def _spoken_ops(text: str) -> str:
    """'3 and a half' -> 3.5, 'a divided by b' -> a / b, 'x squared' -> x^2."""
    for rx, new in _SPOKEN_PHRASES:
        text = rx.sub(new, text)
    return text
