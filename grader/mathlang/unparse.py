"""Our AST -> plain text (ASCII math), to show a student how their answer was read."""

from __future__ import annotations

from grader.mathlang.tree import Node

MAX_OUT = 500
_PREC = {"add": 1, "neg": 2, "pos": 2, "mul": 3, "pow": 5}


def to_text(n: Node) -> str:
    out = _t(n)
    return out if len(out) <= MAX_OUT else out[: MAX_OUT - 1] + "…"


def _wrap(n: Node, outer: int) -> str:
    text = _t(n)
    return f"({text})" if _PREC.get(n[0], 9) < outer else text


def _t(n: Node) -> str:
    op = n[0]
    if op == "num":
        return str(n[2])
    if op == "sym":
        return str(n[1])
    if op == "const":
        return "∞" if n[1] == "inf" else str(n[1])
    if op == "idx":
        return f"{n[1]}_{_t(n[2])}"
    if op == "add":
        parts = [_t(n[1][0])]
        for term in n[1][1:]:
            if term[0] == "neg":
                parts.append(" - " + _wrap(term[1], 3))
            else:
                parts.append(" + " + _t(term))
        return "".join(parts)
    if op == "neg":
        return "-" + _wrap(n[1], 3)
    if op == "pos":
        return "+" + _wrap(n[1], 3)
    if op == "mul":
        parts = []
        for i, f in enumerate(n[1]):
            if f[0] == "inv":
                parts.append("/" + _wrap(f[1], 4))
            else:
                parts.append(("*" if i else "") + _wrap(f, 3))
        return "".join(parts)
    if op == "inv":
        return "1/" + _wrap(n[1], 4)
    if op == "pow":
        return _wrap(n[1], 6) + "^" + _wrap(n[2], 6)
    if op == "fact":
        return _wrap(n[1], 6) + "!"
    if op == "call":
        return f"{str(n[1]).removeprefix('f:')}({', '.join(_t(a) for a in n[2])})"
    if op in ("sum", "prod"):
        sign = "Σ" if op == "sum" else "∏"
        rng = f"_{n[1]}" if n[2] is None else f"_({n[1]}={_t(n[2])})"
        hi = "" if n[3] is None else f"^{_wrap(n[3], 6)}"
        return f"{sign}{rng}{hi} {_wrap(n[4], 3)}"
    if op == "deriv":
        return f"∂{_t(n[1])}/∂{_t(n[2])}"
    if op == "eq":
        return f"{_t(n[1])} = {_t(n[2])}"
    if op == "assign":
        return f"{_t(n[1])} ← {_t(n[2])}"
    if op == "rel":
        return f"{_t(n[2])} {n[1]} {_t(n[3])}"
    if op == "chain":
        out = _t(n[2][0])
        for o, item in zip(n[1], n[2][1:], strict=True):
            out += f" {o} {_t(item)}"
        return out
    if op == "list":
        brackets = {"[": "[]", "(": "()", "{": "{}"}.get(n[1], "  ")
        inner = ", ".join(_t(x) for x in n[2])
        return f"{brackets[0]}{inner}{brackets[1]}".strip()
    if op == "interval":
        return f"{n[1]}{_t(n[2])}, {_t(n[3])}{n[4]}"
    if op == "pm":
        return f"{_t(n[1])} ± {_t(n[2])}"
    if op == "text":
        return str(n[1])
    return repr(n)
