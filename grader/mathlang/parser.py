"""Tokens -> AST (plain tuples), a recursive-descent parser with explicit depth/size limits.

AST nodes (tuples, hashable):
  ("num", Fraction, text)          non-negative literal; text kept for significant figures
  ("sym", name)                    canonical name: "x", "w_2", "alpha"
  ("const", "pi"|"e"|"i"|"inf")
  ("idx", base, sub)               x_n with a non-numeric subscript
  ("add", (terms...))              a chain a+b-c; subtracted terms are ("neg", t)
  ("neg", a) ("pos", a)
  ("mul", (factors...))            a chain a*b/c; divisors are ("inv", d)
  ("inv", d) ("pow", a, b) ("fact", a)
  ("call", fname, (args...))       known function or an uninterpreted one
  ("sum"|"prod", var, lo, hi, body)   lo/hi may be None (over the data points)
  ("deriv", num, den)              dE/dw as a label, e.g. a left-hand side
  ("eq", a, b) ("rel", op, a, b) ("assign", a, b) ("chain", ops, items)
  ("list", bracket, items) ("interval", left, a, b, right) ("pm", a, b) ("text", words)
"""

from __future__ import annotations

import re
from collections.abc import Collection
from fractions import Fraction
from typing import Any

from grader.mathlang.errors import MathSyntaxError, TooLarge
from grader.mathlang.lexer import GREEK_NAMES, Token, tokenize

Node = tuple[Any, ...]
MAX_DEPTH = 60
MAX_NODES = 3000

FUNCS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "cot": "cot",
    "sec": "sec",
    "csc": "csc",
    "cosec": "csc",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "acot": "acot",
    "asec": "asec",
    "acsc": "acsc",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "coth": "coth",
    "sech": "sech",
    "csch": "csch",
    "cosech": "csch",
    "asinh": "asinh",
    "acosh": "acosh",
    "atanh": "atanh",
    "acoth": "acoth",
    "arsinh": "asinh",
    "arcosh": "acosh",
    "artanh": "atanh",
    "ln": "log",
    "log": "log",
    "exp": "exp",
    "sqrt": "sqrt",
    "abs": "abs",
    "root": "root",
    "lg": "lg",
    "logbase": "lg",
    "log10": "log10",
    "factorial": "factorial",
    "binomial": "binomial",
    "binom": "binomial",
    "sign": "sign",
    "sgn": "sign",
    "floor": "floor",
    "ceil": "ceiling",
    "ceiling": "ceiling",
    "max": "max",
    "min": "min",
    "gamma_fn": "gamma",
}
CONSTS = {"pi": "pi", "e": "e", "i": "i", "inf": "inf", "infinity": "inf", "oo": "inf"}
# Python words that have no business in an answer: reject them instead of reading
# `[i for i in range(9)]` as a product of symbols.
_FORBIDDEN = frozenset(
    {
        "for",
        "while",
        "import",
        "def",
        "class",
        "return",
        "yield",
        "exec",
        "eval",
        "open",
        "print",
        "None",
        "True",
        "False",
        "global",
        "nonlocal",
        "async",
        "await",
        "del",
        "pass",
        "raise",
        "try",
        "except",
        "finally",
        "with",
        "assert",
        "elif",
        "lambda_",
        "nan",
        "zoo",
        "NaN",
        "undefined",
    }
)
_ATOM_START_OPS = frozenset({"(", "[", "{", "\\{"})
_REL = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "!=": "!=", "==": "="}
_DIGITS_NAME = re.compile(r"^([A-Za-z]+?)(\d+)$")


def canonical_name(name: str) -> str:
    """w2, w_2, w_{2} -> w_2 ; x_n stays x_n; eta stays eta."""
    name = name.replace("{", "").replace("}", "").strip()
    if "_" in name:
        base, _, sub = name.partition("_")
        return base + "_" + sub.replace("_", "")
    m = _DIGITS_NAME.match(name)
    if m and m.group(1) not in FUNCS:
        return m.group(1) + "_" + m.group(2)
    return name


class Parser:
    def __init__(
        self,
        text: str,
        *,
        variables: Collection[str] = (),
        decimal_comma: bool = False,
        functions_from_names: bool = True,
    ) -> None:
        self.toks = tokenize(text, decimal_comma=decimal_comma)
        self.i = 0
        self.depth = 0
        self.nodes = 0
        self.abs_depth = 0
        self.variables = {canonical_name(v) for v in variables}
        self.functions_from_names = functions_from_names
        self.bound: list[str] = []

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def at(self, text: str, kind: str = "op") -> bool:
        t = self.toks[self.i]
        return t.kind == kind and t.text == text

    def take(self, text: str, kind: str = "op") -> bool:
        if self.at(text, kind):
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.take(text):
            got = self.tok.text or "the end"
            raise MathSyntaxError(f"expected '{text}' but found '{got}'")

    def node(self, *parts: Any) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise TooLarge("the expression has too many parts")
        return tuple(parts)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooLarge("the expression is nested too deeply")

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise MathSyntaxError("the answer is empty")
        result = self.statement()
        if self.tok.kind != "end":
            raise MathSyntaxError(f"unexpected '{self.tok.text}'")
        return result

    def statement(self) -> Node:
        first = self.relation()
        if self.at(","):
            items = [first]
            while self.take(","):
                if self.tok.kind == "end":
                    break
                items.append(self.relation())
            return self.node("list", "", tuple(items))
        return first

    def relation(self) -> Node:
        items = [self.expr()]
        ops: list[str] = []
        while True:
            t = self.tok
            if (
                t.kind == "op"
                and t.text in ("=", "<-", ":=", "->")
                or (t.kind == "op" and t.text in _REL)
            ):
                self.i += 1
                ops.append(_REL.get(t.text, t.text))
                items.append(self.expr())
            elif t.kind == "cmd" and t.text in ("approx", "in"):
                self.i += 1
                ops.append(t.text)
                items.append(self.expr())
            else:
                break
        if not ops:
            return items[0]
        if len(ops) == 1:
            op, a, b = ops[0], items[0], items[1]
            if op == "=":
                return self.node("eq", a, b)
            if op in ("<-", ":="):
                return self.node("assign", a, b)
            return self.node("rel", op, a, b)
        return self.node("chain", tuple(ops), tuple(items))

    def expr(self) -> Node:
        self.enter()
        try:
            terms = [self.signed_term()]
            while self.tok.kind == "op" and self.tok.text in ("+", "-") or self.at("pm", "cmd"):
                t = self.tok
                self.i += 1
                if t.kind == "cmd":
                    rest = self.product()
                    left = terms[0] if len(terms) == 1 else self.node("add", tuple(terms))
                    terms = [self.node("pm", left, rest)]
                    continue
                term = self.signed_term() if t.text == "+" else self.product()
                terms.append(term if t.text == "+" else self.node("neg", term))
            return terms[0] if len(terms) == 1 else self.node("add", tuple(terms))
        finally:
            self.depth -= 1

    def signed_term(self) -> Node:
        if self.take("-"):
            self.enter()
            try:
                return self.node("neg", self.signed_term())
            finally:
                self.depth -= 1
        if self.take("+"):
            self.enter()
            try:
                return self.node("pos", self.signed_term())
            finally:
                self.depth -= 1
        if self.at("pm", "cmd"):
            self.i += 1
            return self.node("pm", self.node("num", Fraction(0), "0"), self.product())
        return self.product()

    def starts_atom(self) -> bool:
        t = self.tok
        if t.kind in ("num", "name"):
            return True
        if t.kind == "cmd":
            return t.text in ("frac", "sqrt", "sum", "prod", "partial", "binom", "text") or (
                t.text
                in (
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
                )
            )
        if t.kind == "op":
            if t.text == "|":
                return self.abs_depth == 0
            return t.text in _ATOM_START_OPS
        return False

    def product(self) -> Node:
        factors = [self.unary()]
        while True:
            t = self.tok
            if t.kind == "op" and t.text == "*":
                self.i += 1
                factors.append(self.unary())
            elif t.kind == "op" and t.text == "/":
                self.i += 1
                factors.append(self.node("inv", self.unary()))
            elif self.starts_atom():
                factors.append(self.power())
            else:
                break
        return factors[0] if len(factors) == 1 else self.node("mul", tuple(factors))

    def unary(self) -> Node:
        if self.take("-"):
            self.enter()
            try:
                return self.node("neg", self.unary())
            finally:
                self.depth -= 1
        if self.take("+"):
            self.enter()
            try:
                return self.node("pos", self.unary())
            finally:
                self.depth -= 1
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.take("^"):
            self.enter()
            try:
                exponent = self.script_arg() if self.at("{") else self.unary()
            finally:
                self.depth -= 1
            return self.postfix_ops(self.node("pow", base, exponent))
        return base

    def postfix(self) -> Node:
        return self.postfix_ops(self.atom())

    def postfix_ops(self, node: Node) -> Node:
        while True:
            if self.take("!"):
                node = self.node("fact", node)
            elif self.take("%"):
                hundred = self.node("num", Fraction(100), "100")
                node = self.node("mul", (node, self.node("inv", hundred)))
            elif self.at("circ", "cmd"):
                self.i += 1
            else:
                return node

    def script_arg(self) -> Node:
        """The argument of ^ or _ : a braced group or a single token."""
        if self.take("{"):
            self.enter()
            try:
                inner = self.relation()
            finally:
                self.depth -= 1
            self.expect("}")
            return inner
        t = self.tok
        if t.kind == "num" and len(t.text) > 1 and t.text.isdigit():
            # LaTeX x^23 means x^2 * 3 only in TeX's rules; students mean 23. Keep 23.
            self.i += 1
            return self.node("num", Fraction(int(t.text)), t.text)
        if t.kind == "name" and self.peek().text != "_":
            # a single-token script never calls a function: Σ_n (…) is a sum over n
            self.i += 1
            if t.text in _FORBIDDEN:
                raise MathSyntaxError(f"'{t.text}' is not allowed in a math answer")
            if t.text in CONSTS and t.text not in self.variables and t.text not in self.bound:
                return self.node("const", CONSTS[t.text])
            return self.node("sym", t.text)
        return self.atom()

    def group(self, closer: str, opener: str) -> Node:
        self.enter()
        try:
            if self.at(closer) and opener == "(":
                raise MathSyntaxError("empty brackets '()'")
            items = [self.relation()]
            while self.take(","):
                items.append(self.relation())
        finally:
            self.depth -= 1
        t = self.tok
        if opener in "([" and len(items) == 2 and t.kind == "op" and t.text in (")", "]"):
            self.i += 1
            if t.text != closer:
                return self.node("interval", opener, items[0], items[1], t.text)
            return self.node("list", opener, tuple(items))
        self.expect(closer)
        if len(items) == 1 and opener in "({":
            return items[0]
        return self.node("list", opener, tuple(items))

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.i += 1
            return self.node("num", _literal(t.text), t.text)
        if t.kind == "name":
            return self.name()
        if t.kind == "cmd":
            return self.command()
        if t.kind == "op":
            if t.text == "(":
                self.i += 1
                return self.group(")", "(")
            if t.text == "[":
                self.i += 1
                return self.group("]", "[")
            if t.text == "{":
                self.i += 1
                inner = self.group("}", "{")
                return inner
            if t.text == "\\{":
                self.i += 1
                node = self.group("\\}", "{")
                return node if node[0] == "list" else self.node("list", "{", (node,))
            if t.text == "|" and self.abs_depth == 0 or t.text == "|":
                self.i += 1
                self.abs_depth += 1
                try:
                    inner = self.expr()
                finally:
                    self.abs_depth -= 1
                self.expect("|")
                return self.node("call", "abs", (inner,))
        got = t.text or "the end of the answer"
        raise MathSyntaxError(f"unexpected '{got}'")

    def subscript(self, base: str) -> Node:
        sub = self.script_arg()
        if sub[0] == "num":
            return self.symbol(base + "_" + sub[2])
        if sub[0] == "sym" and "_" not in sub[1] and len(sub[1]) <= 2 and not sub[1][0].isupper():
            if base + "_" + sub[1] in self.variables and sub[1] not in self.bound:
                return self.node("sym", base + "_" + sub[1])
            return self.node("idx", base, sub)
        return self.node("idx", base, sub)

    def symbol(self, name: str) -> Node:
        name = canonical_name(name)
        return self.node("sym", name)

    def name(self) -> Node:
        t = self.tok
        self.i += 1
        raw = t.text
        if raw in _FORBIDDEN or raw.startswith("_"):
            raise MathSyntaxError(f"'{raw}' is not allowed in a math answer")
        if raw in ("sum", "prod") and self.at("_") and raw not in self.variables:
            return self.bigop(raw)
        if self.at("_"):
            self.i += 1
            base = self.subscript(raw)
            return self.after_name(base, raw + "_")
        return self.after_name(self.resolve(raw), raw)

    def resolve(self, raw: str) -> Node:
        if raw in self.bound:
            return self.node("sym", raw)
        canon = canonical_name(raw)
        if canon in self.variables or raw in self.variables:
            return self.node("sym", canon)
        if raw in CONSTS and raw not in self.variables:
            return self.node("const", CONSTS[raw])
        if raw in FUNCS:
            return self.node("fname", FUNCS[raw])
        if raw in ("sum", "prod", "d"):
            return self.node("fname", raw)
        if self.variables and raw not in GREEK_NAMES and len(raw) > 1:
            split = _split(raw, self.variables)
            if split:
                return self.node("mul", tuple(self.resolve_piece(p) for p in split))
        return self.node("sym", canon)

    def resolve_piece(self, piece: str) -> Node:
        if piece in CONSTS and piece not in self.variables:
            return self.node("const", CONSTS[piece])
        return self.node("sym", canonical_name(piece))

    def after_name(self, node: Node, raw: str) -> Node:
        if node[0] == "fname":
            return self.function(node[1])
        # f(x) is an unknown function in raw (STACK) mode; with declared variables, a
        # name before a bracket multiplies: w1(x+w2) means w1*(x+w2)
        if node[0] == "sym" and self.at("(") and self.functions_from_names and not self.variables:
            self.i += 1
            args = self.arglist()
            if node[1] == "matrix" and all(a[0] == "list" for a in args):
                return self.node("list", "[", args)  # Maxima's matrix([1,2],[3,4])
            return self.node("call", "f:" + node[1], args)
        return node

    def arglist(self) -> tuple[Node, ...]:
        self.enter()
        try:
            if self.take(")"):
                raise MathSyntaxError("a function needs an argument")
            args = [self.relation()]
            while self.take(","):
                args.append(self.relation())
            self.expect(")")
            return tuple(args)
        finally:
            self.depth -= 1

    def function(self, fname: str) -> Node:
        if fname in ("sum", "prod") and self.at("_"):
            return self.bigop(fname)
        power: Node | None = None
        if self.at("^") and self.peek().text != "(":
            # sin^2 x means (sin x)^2
            self.i += 1
            power = self.script_arg() if self.at("{") else self.atom()
        if self.take("("):
            args = self.arglist()
        elif self.starts_atom():
            self.enter()
            try:
                args = (self.power(),)
            finally:
                self.depth -= 1
        else:
            raise MathSyntaxError(f"the function {fname} needs an argument in brackets")
        if fname in ("sum", "prod") and len(args) == 4 and args[1][0] == "sym":
            result = self.node(fname, args[1][1], args[2], args[3], args[0])
        else:
            result = self.node("call", fname, args)
        return self.node("pow", result, power) if power is not None else result

    def bigop(self, kind: str) -> Node:
        var = lo = hi = None
        if self.take("_"):
            sub = self.script_arg()
            if sub[0] == "eq" and sub[1][0] in ("sym", "const"):
                var, lo = sub[1][1], sub[2]
            elif sub[0] in ("sym", "const"):
                var = sub[1]
            else:
                raise MathSyntaxError("write the index of a sum like \\sum_{n=1}^{N}")
        if self.take("^"):
            hi = self.script_arg()
        if var is None:
            var = "n"
        self.bound.append(var)
        try:
            self.enter()
            body = self.product()
        finally:
            self.bound.pop()
            self.depth -= 1
        return self.node(kind, var, lo, hi, body)

    def command(self) -> Node:
        t = self.tok
        self.i += 1
        cmd = t.text
        if cmd == "frac" and self.at("{") and self.peek().text in ("partial", "d"):
            # \frac{\partial E}{\partial w_2} (or \frac{dE}{dw}) is a derivative label
            deriv = self.frac_derivative()
            if deriv is not None:
                return deriv
        if cmd == "frac" or cmd == "binom":
            a = self.frac_arg()
            b = self.frac_arg()
            if cmd == "binom":
                return self.node("call", "binomial", (a, b))
            return self.node("mul", (a, self.node("inv", b)))
        if cmd == "sqrt":
            if self.take("["):
                index = self.expr()
                self.expect("]")
                return self.node("call", "root", (self.frac_arg(), index))
            return self.node("call", "sqrt", (self.frac_arg(),))
        if cmd in ("sum", "prod"):
            return self.bigop(cmd)
        if cmd == "partial" or (cmd == "nabla"):
            return self.derivative()
        if cmd == "text":
            return self.text()
        if cmd in ("emptyset", "varnothing"):
            return self.node("list", "{", ())
        if cmd in ("begin", "end"):
            raise MathSyntaxError("LaTeX environments are not supported in a single expression")
        name = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "ln": "log"}.get(cmd, cmd)
        if name in FUNCS.values():
            return self.function(name)
        raise MathSyntaxError(f"\\{cmd} cannot be used here")

    def frac_arg(self) -> Node:
        t = self.tok
        if t.kind == "num" and not self.at("{") and t.text.isdigit() and len(t.text) > 1:
            # \frac94 : TeX takes one digit per argument
            self.toks[self.i] = Token("num", t.text[1:], t.pos + 1)
            return self.node("num", Fraction(int(t.text[0])), t.text[0])
        return self.script_arg()

    def frac_derivative(self) -> Node | None:
        start = self.i
        parts: list[Node] = []
        for _ in range(2):
            if not self.take("{"):
                self.i = start
                return None
            if not (self.take("partial", "cmd") or self.take("d", "name")):
                self.i = start
                return None
            parts.append(self.atom())
            if not self.take("}"):
                self.i = start
                return None
        return self.node("deriv", parts[0], parts[1])

    def derivative(self) -> Node:
        num = self.atom()
        if not self.take("/"):
            raise MathSyntaxError("write a derivative as ∂E/∂w")
        if not self.take("partial", "cmd"):
            raise MathSyntaxError("write a derivative as ∂E/∂w")
        den = self.atom()
        return self.node("deriv", num, den)

    def text(self) -> Node:
        self.expect("{")
        words: list[str] = []
        depth = 1
        while depth:
            t = self.tok
            if t.kind == "end":
                raise MathSyntaxError("unbalanced braces")
            if t.kind == "op" and t.text == "{":
                depth += 1
            elif t.kind == "op" and t.text == "}":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    break
            words.append(t.text)
            self.i += 1
        joined = " ".join(words).strip()
        if re.fullmatch(r"[A-Za-z]", joined):
            return self.resolve(joined)
        if re.fullmatch(r"[\d.]+", joined):
            return self.node("num", _literal(joined), joined)
        return self.node("text", joined)


def _literal(text: str) -> Fraction:
    try:
        return Fraction(text if not text.endswith(".") else text[:-1])
    except (ValueError, ZeroDivisionError):
        raise MathSyntaxError(f"'{text}' is not a number") from None


def _split(raw: str, variables: Collection[str]) -> list[str] | None:
    """Split an undeclared name like 'xy' or 'w1x' into declared names (fewest pieces)."""
    known = {v.replace("_", "") for v in variables} | set(CONSTS)
    n = len(raw)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        cur = best[i]
        if cur is None:
            continue
        for j in range(i + 1, n + 1):
            piece = raw[i:j]
            if piece in known or (j == i + 1 and piece.isalpha()):
                cand = cur + [piece]
                old = best[j]
                if old is None or len(cand) < len(old):
                    best[j] = cand
    result = best[n]
    if result is None or len(result) < 2:
        return None
    # a split into many single unknown letters is a guess; only accept it if it uses a
    # declared name, or every letter is itself a declared variable.
    if not any(p in known for p in result):
        return None
    return result


def parse(
    text: str,
    *,
    variables: Collection[str] = (),
    decimal_comma: bool = False,
) -> Node:
    """Parse one expression, equation, relation or list. Raises MathError subclasses."""
    return Parser(text, variables=variables, decimal_comma=decimal_comma).parse()
