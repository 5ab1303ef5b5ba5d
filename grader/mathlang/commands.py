"""The parser's base: token helpers and limits, names and subscripts, function calls,
big operators (Σ, ∏), LaTeX commands (\\frac, \\sqrt, \\text) and derivative labels.
The grammar of operators lives in `grader.mathlang.parser`."""

from __future__ import annotations

import re
from collections.abc import Collection
from fractions import Fraction
from typing import Any, TypedDict

from grader.mathlang.errors import MathSyntaxError, TooLarge
from grader.mathlang.indexes import bind_index, free_indexes
from grader.mathlang.lexer import DECORATIONS, GREEK_NAMES, Token, tokenize
from grader.mathlang.names import CONSTS, FORBIDDEN, FUNCS, canonical_name, literal, split_name
from grader.mathlang.tree import Node

MAX_DEPTH = 60
MAX_NODES = 3000


_LN_NUMBER = re.compile(r"^ln(\d+)$")


def _call_name(node: Node) -> str:
    """The name a node would have as a function: x, f_1, update_w2 (else '')."""
    if node[0] == "sym":
        return str(node[1])
    if node[0] == "idx" and node[2][0] in ("sym", "num"):
        return f"{node[1]}_{node[2][1] if node[2][0] == 'sym' else node[2][2]}"
    return ""


class Notation(TypedDict, total=False):
    """How an answer is written: the options of `parse` and `grader.mathlang.read` (their
    defaults are those of `CommandParser`). Names in `functions` are unknown functions:
    y(x_i, w) is a call, not y times a tuple. With `functions_from_names` false (how students
    write), any other name before a bracket multiplies: 2q(1-q) is 2*q*(1-q). With
    `tight_division`, an implicit product after '/' is the divisor: 1/2x is 1/(2x) (the other
    reading of a product written after '/')."""

    variables: Collection[str]
    decimal_comma: bool
    functions: Collection[str]
    functions_from_names: bool
    tight_division: bool


class CommandParser:
    def __init__(
        self,
        text: str,
        *,
        variables: Collection[str] = (),
        decimal_comma: bool = False,
        functions_from_names: bool = True,
        functions: Collection[str] = (),
        tight_division: bool = False,
    ) -> None:
        self.toks = tokenize(text, decimal_comma=decimal_comma)
        self.i = 0
        self.depth = 0
        self.nodes = 0
        self.abs_depth = 0
        self.variables = {canonical_name(v) for v in variables}
        self.functions_from_names = functions_from_names
        self.functions = frozenset(canonical_name(f) for f in functions)
        self.bound: list[str] = []
        # the product an undeclared name was split into (`te` -> t*e): a power after it
        # binds to its last letter, 2te^{-3t} = 2*t*e^(-3t)
        self.last_split: Node | None = None
        self.tight_division = tight_division

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
            if t.text in FORBIDDEN:
                raise MathSyntaxError(f"'{t.text}' is not allowed in a math answer")
            if t.text in CONSTS and t.text not in self.variables and t.text not in self.bound:
                return self.node("const", CONSTS[t.text])
            return self.node("sym", t.text)
        return self.atom()

    def subscript(self, base: str) -> Node:
        sub = self.script_arg()
        if sub[0] == "const" and sub[1] in ("i", "e"):
            sub = ("sym", sub[1])  # x_i: a subscript letter is an index, not sqrt(-1)
        if sub[0] == "num":
            return self.symbol(base + "_" + sub[2])
        if sub[0] == "sym" and sub[1] in DECORATIONS and len(base) == 1:
            return self.symbol(base + sub[1])  # x_bar is xbar
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
        if raw in FORBIDDEN or raw.startswith("_"):
            raise MathSyntaxError(f"'{raw}' is not allowed in a math answer")
        if raw in ("sum", "prod") and self.at("_") and raw not in self.variables:
            return self.bigop(raw)
        if raw == "log" and self.at("_") and raw not in self.variables:
            return self.log_base()
        digits = _LN_NUMBER.match(raw)
        if digits and raw not in self.variables:  # ln2 is ln(2)
            return self.node("call", "log", (self.node("num", literal(digits[1]), digits[1]),))
        if self.at("_"):
            self.i += 1
            base = self.subscript(raw)
            return self.after_name(base, raw + "_")
        return self.after_name(self.resolve(raw), raw)

    def resolve(self, raw: str) -> Node:
        if raw in self.bound:
            return self.node("sym", raw)
        canon = canonical_name(raw)
        if canon in self.variables or raw in self.variables or canon in self.functions:
            return self.node("sym", canon)
        if raw in CONSTS and raw not in self.variables:
            return self.node("const", CONSTS[raw])
        if raw in FUNCS:
            return self.node("fname", FUNCS[raw])
        if raw in ("sum", "prod") or (raw == "d" and self.at("(")):
            return self.node("fname", raw)  # d alone is a symbol: C = πd
        if self.variables and raw not in GREEK_NAMES and len(raw) > 1:
            split = split_name(raw, self.variables)
            if split:
                self.last_split = self.node("mul", tuple(self.resolve_piece(p) for p in split))
                return self.last_split
        return self.node("sym", canon)

    def resolve_piece(self, piece: str) -> Node:
        if piece in CONSTS and piece not in self.variables:
            return self.node("const", CONSTS[piece])
        return self.node("sym", canonical_name(piece))

    def after_name(self, node: Node, raw: str) -> Node:
        if node[0] == "sym" and self.at("'"):
            primes = 0
            while self.take("'"):
                primes += 1
            node = self.node("sym", node[1] + "'" * min(primes, 3))
            if self.take("("):  # f'(x), y''(t): a derivative is always a function
                return self.node("call", "f:" + node[1], self.arglist())
            return node
        if node[0] == "fname":
            return self.function(node[1])
        # f(x) is an unknown function in raw (STACK) mode; with declared variables, a
        # name before a bracket multiplies: w1(x+w2) means w1*(x+w2)
        if node[0] == "sym" and self.at("(") and node[1] in self.functions:
            self.i += 1  # a declared unknown function: y(x_i, w)
            return self.node("call", "f:" + node[1], self.arglist())
        if node[0] == "sym" and self.at("(") and node[1] in ("mean", "average"):
            self.i += 1  # array code: np.mean(...) with declared variables too
            return self.node("call", "f:" + node[1], self.arglist())
        fname = _call_name(node)
        if (
            fname
            and self.at("(")
            and fname not in self.variables
            and len(fname) <= 24
            and self.comma_group()
        ):
            self.i += 1  # E(w1, w2), f_1(x, y): a name before an argument list is a function
            return self.node("call", "f:" + fname, self.arglist())
        if node[0] == "sym" and self.at("(") and self.functions_from_names and not self.variables:
            self.i += 1
            args = self.arglist()
            if node[1] == "matrix" and all(a[0] == "list" for a in args):
                return self.node("list", "[", args)  # Maxima's matrix([1,2],[3,4])
            return self.node("call", "f:" + node[1], args)
        return node

    def log_base(self) -> Node:
        """log_2 8, log_{b}(x), \\log_2 8: a logarithm to a base, ln(x)/ln(b)."""
        self.expect("_")
        base = self.script_arg()
        value = self.function("log")
        return self.node("mul", (value, self.node("inv", self.node("call", "log", (base,)))))

    def comma_group(self) -> bool:
        """Does the bracket group opening here hold a top-level comma?"""
        depth = 0
        for t in self.toks[self.i : self.i + 400]:
            if t.kind == "op" and t.text in ("(", "[", "{"):
                depth += 1
            elif t.kind == "op" and t.text in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and t.kind == "op" and t.text == ",":
                return True
            elif t.kind == "end":
                return False
        return False

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
        implicit = var is None
        if var is None:
            var = "n"
        self.bound.append(var)
        try:
            self.enter()
            body = self.product()
        finally:
            self.bound.pop()
            self.depth -= 1
        if implicit:
            # Σ |t_i − y(x_i)| without a subscript on Σ: the one index its body uses
            letters = free_indexes(body, frozenset(self.bound), self.variables)
            if len(letters) == 1 and "n" not in letters:
                var = letters.pop()
                body = bind_index(body, var, self.variables)
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
        if cmd == "surd":
            self.enter()
            try:
                return self.node("call", "sqrt", (self.postfix(),))
            finally:
                self.depth -= 1
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
        if name == "log" and self.at("_"):
            return self.log_base()
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
            return self.node("num", literal(joined), joined)
        return self.node("text", joined)

    # -- the operator grammar (implemented by Parser) ----------------------------------
    def relation(self) -> Node:
        raise NotImplementedError

    def expr(self) -> Node:
        raise NotImplementedError

    def product(self) -> Node:
        raise NotImplementedError

    def power(self) -> Node:
        raise NotImplementedError

    def atom(self) -> Node:
        raise NotImplementedError

    def starts_atom(self) -> bool:
        raise NotImplementedError

    def postfix(self) -> Node:
        raise NotImplementedError
