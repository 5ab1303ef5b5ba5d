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

from fractions import Fraction
from typing import Unpack

from grader.mathlang.charmaps import LATEX_FUNCTION_CMDS
from grader.mathlang.commands import MAX_DEPTH, MAX_NODES, CommandParser, Notation
from grader.mathlang.errors import MathSyntaxError
from grader.mathlang.names import CONSTS, FUNCS, canonical_name, literal
from grader.mathlang.tree import Node

__all__ = [
    "CONSTS",
    "FUNCS",
    "MAX_DEPTH",
    "MAX_NODES",
    "Notation",
    "Parser",
    "canonical_name",
    "parse",
]

_ATOM_START_OPS = frozenset({"(", "[", "{", "\\{"})
_REL = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "!=": "!=", "==": "="}


class Parser(CommandParser):
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise MathSyntaxError("the answer is empty")
        result = self.statement()
        if self.tok.kind != "end":
            raise MathSyntaxError(f"unexpected '{self.tok.text}'")
        return result

    def statement(self) -> Node:
        first = self.logic()
        if self.at(","):
            items = [first]
            while self.take(","):
                if self.tok.kind == "end":
                    break
                items.append(self.logic())
            return self.node("list", "", tuple(items))
        return first

    def logic(self) -> Node:
        """x > 1 and x < 3, x = 1 or x = 2: connectives between relations."""
        first = self.relation()
        t = self.tok
        if not (t.kind == "name" and t.text in ("and", "or")):
            return first
        op, items = t.text, [first]
        while self.tok.kind == "name" and self.tok.text == op:
            self.i += 1
            items.append(self.relation())
        return self.node("logic", op, tuple(items))

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
        if t.kind == "name" and t.text in ("and", "or"):
            return False  # connectives between relations, not factors
        if t.kind in ("num", "name"):
            return True
        if t.kind == "cmd":
            return (
                t.text in ("frac", "sqrt", "surd", "sum", "prod", "partial", "binom", "text")
                or t.text in LATEX_FUNCTION_CMDS
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
                divisor = self.unary()
                if self.tight_division and self.starts_atom():
                    # the other reading of 1/2x: the implicit product is the divisor
                    group = [divisor]
                    while self.starts_atom():
                        group.append(self.power())
                    divisor = self.node("mul", tuple(group))
                factors.append(self.node("inv", divisor))
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
            if base is self.last_split and base[0] == "mul":
                # te^x is t*e^x: the power belongs to the last letter of a split name
                last = self.postfix_ops(self.node("pow", base[1][-1], exponent))
                return self.node("mul", (*base[1][:-1], last))
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
            return self.node("num", literal(t.text), t.text)
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


def parse(text: str, **notation: Unpack[Notation]) -> Node:
    """Parse one expression, equation, relation or list. Raises MathError subclasses."""
    return Parser(text, **notation).parse()
