"""Reading a free-text math answer the way a student writes it in an exam.

Beyond finding candidate snippets (grader.mathlang.extract), an exam answer defines names
and uses them later (`y = w1 ln(x+w2)`, then `grad = mean((y - t) * w1/(x+w2))`), writes
array code (`np.mean`, `np.sum` over the data), calls the learning rate `lr` or `alpha`,
and writes a sample as `x`, `x_n` or `x_i`. This module turns each candidate into a node
that can be compared with the criterion's expected expression.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

from grader.mathlang import MathError, canonical_name, read
from grader.mathlang.calculus import free_symbols, rename, substitute
from grader.mathlang.extract import candidates, formula_runs, spoken_numbers
from grader.mathlang.lexer import GREEK_NAMES
from grader.mathlang.numeric import DATA_POINTS
from grader.mathlang.parser import FUNCS
from grader.mathlang.tree import Node, map_children

MAX_CANDIDATES = 40
_DERIV = re.compile(r"(?<![A-Za-z])[d∂]\s*([A-Za-z]\w*)\s*/\s*[d∂]\s*([A-Za-z][\w{}_₀-₉]*)")
_CODE_PREFIX = re.compile(r"\b(?:np|numpy|math|torch|tf|jnp)\.")
_COMMENT = re.compile(r"#[^\n]*")
_KEYWORD_LEAD = re.compile(r"^\s*(?:return|yield|print)\b\s*")
_OPS = frozenset("=+-*/^·×−<←")
_TRAILING_CLAUSE = re.compile(
    r"\s(?:for|where|with|when|if|which|since|because|and|so|as|per|over)\s", re.I
)
_PROSE_KEEP = frozenset(FUNCS) | {"sum", "prod", "pi", "inf", "mean"} | GREEK_NAMES


_ITEM_LABEL = re.compile(
    r"^\s*(?:\(\s*(?:[a-hA-H]|[ivx]{1,4})\s*\)|(?:[a-h]|[ivx]{1,4})\))\s+(?=[^\s+\-*/^=<>)])"
)


def prepare(text: str) -> str:
    """dE/dw2 and ∂E/∂w2 become one derivative label; code prefixes, comments and an
    item label ("(a) z = ...", "ii) ...") go."""
    text = _ITEM_LABEL.sub("", text)
    text = _COMMENT.sub("", text)
    text = _KEYWORD_LEAD.sub("", text)
    text = _DERIV.sub(lambda m: f"\\partial {m.group(1)}/\\partial {m.group(2)}", text)
    return _CODE_PREFIX.sub("", text)


def indexed_bases(variables: Collection[str]) -> dict[str, str]:
    """Declared per-sample variables (x_n, t_i) by base name: {'x': 'x_n', 't': 't_n'}."""
    out = {}
    for v in variables:
        base, sep, sub = v.partition("_")
        if sep and sub.isalpha() and len(sub) == 1:
            out[base] = v
    return out


class AnswerReader:
    """Parse candidates of one answer for one criterion (variables, aliases, count symbol)."""

    def __init__(
        self,
        variables: Collection[str],
        aliases: Mapping[str, str],
        *,
        decimal_comma: bool = False,
        functions: Collection[str] = (),
        infer_from: Collection[str] = (),
    ) -> None:
        self.aliases = dict(aliases)
        self.functions = tuple(functions)
        self.variables = list(variables) + [a for a in self.aliases if a not in variables]
        self.declared = tuple(self.variables)  # without the names inferred below
        self.decimal_comma = decimal_comma
        if infer_from:
            # the rubric's own expressions name the symbols of this question: with them
            # known, `2pq` reads as 2*p*q and `2te^{-3t}` as 2*t*e^(-3t)
            self.variables += sorted(self._symbols_of(infer_from) - set(self.variables))
        self.bases = indexed_bases(variables)
        names = {v.replace("_", "") for v in variables} | set(variables)
        known = {v.replace("_", "") for v in self.variables} | set(self.variables)
        self.keep = frozenset(_PROSE_KEEP | known | set(self.functions) | {"ln"})
        self.count = next((c for c in ("N", "M", "n_samples") if c in names), None)

    def _symbols_of(self, texts: Collection[str]) -> set[str]:
        found: set[str] = set()
        for text in texts:
            try:
                node = self.parse_raw(text)
            except (MathError, RecursionError):
                continue  # the spec's own validation names the bad expression
            found |= {s for s in free_symbols(node) if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", s)}
        return found

    def parse(self, text: str) -> Node:
        return self.finish(self.parse_raw(text))

    def parse_raw(self, text: str, *, tight_division: bool = False) -> Node:
        """Read the text and apply the aliases (lr -> eta)."""
        node = read(
            prepare(text),
            variables=self.variables,
            decimal_comma=self.decimal_comma,
            functions=self.functions,
            functions_from_names=False,
            tight_division=tight_division,
        )
        if self.aliases:
            node = rename(node, {_canon(k): _canon(v) for k, v in self.aliases.items()})
        return node

    def finish(self, node: Node) -> Node:
        """Array means/sums over the data, one name per sample variable. Run after the
        answer's own definitions are substituted, so mean((y - t)...) sees y's x."""
        node = self._sample(self._arrays(node), frozenset())
        # outside a sum, x_n, x_i and x all denote "one sample": use one symbol
        unify = {}
        for sym in free_symbols(node):
            base, sep, sub = sym.partition("_")
            if sep and base in self.bases and sub.isalpha() and len(sub) == 1:
                unify[sym] = base
        return rename(node, unify) if unify else node

    def _arrays(self, n: Node) -> Node:
        op = n[0]
        if op == "call" and n[1] in ("f:mean", "f:average", "f:sum", "sum") and len(n[2]) == 1:
            body = self._over_data(self._arrays(n[2][0]))
            total: Node = ("sum", "n#", None, None, body)
            if n[1] in ("f:sum", "sum"):
                return total
            count: Node = (
                ("sym", self.count)
                if self.count
                else ("num", Fraction(DATA_POINTS), str(DATA_POINTS))
            )
            return ("mul", (total, ("inv", count)))
        return map_children(n, self._arrays)

    def _sample(self, n: Node, bound: frozenset[str]) -> Node:
        """x_i with i not bound by a sum is the sample x (x_n declared as per-sample)."""
        op = n[0]
        if op == "idx":
            sub = n[2]
            if n[1] in self.bases and sub[0] == "sym" and len(sub[1]) == 1:
                return n if sub[1] in bound else ("sym", n[1])
            return n
        if op in ("sum", "prod"):
            bound = bound | {n[1]}
        return map_children(n, lambda k: self._sample(k, bound))

    def _over_data(self, n: Node) -> Node:
        """Inside mean(...)/sum(...), the arrays x and t are the data points."""
        mapping: dict[str, Node] = {}
        for sym in free_symbols(n):
            base = sym.partition("_")[0]
            if base in self.bases and (sym == base or sym == self.bases[base]):
                mapping[sym] = ("idx", base, ("sym", "n#"))
        return substitute(n, mapping) if mapping else n

    def definitions(self, answer: str, protected: Collection[str]) -> dict[str, Node]:
        """Names the answer defines (`y = ...`, `grad := ...`) that are not in the expected
        expression, in the order written (a later definition wins)."""
        defs: dict[str, Node] = {}
        for line in answer.splitlines()[:200]:
            for piece in re.split(r"[;,]\s+|\.\s+|:\s+(?!=)", line):
                if not re.search(r"=|<-|←", piece):
                    continue
                try:
                    node = self.parse_raw(piece.strip())
                except (MathError, RecursionError):
                    continue
                if node[0] not in ("eq", "assign"):
                    continue
                lhs, rhs = node[1], node[2]
                if lhs[0] == "sym":
                    name = lhs[1]
                    if name not in protected and name not in free_symbols(rhs):
                        defs[name] = rhs
                elif lhs[0] == "deriv" and "'deriv'" not in repr(rhs):
                    defs[_label(lhs)] = rhs  # ∂E/∂w2 = G, later w2 ← w2 − η ∂E/∂w2
        return defs

    def snippets(
        self, answer: str, whole: bool, extra: list[str] | None = None
    ) -> Iterator[tuple[str, Node | str, Reading | None]]:
        """(text, raw node, None) for each readable candidate, or (text, error message,
        None); then other readings of the same text (a decimal comma, thousands
        separators) with what was read differently. The caller substitutes definitions,
        then calls `finish`."""
        texts = [answer]
        if not whole:
            texts = _with_stripped(candidates(answer)[:MAX_CANDIDATES], self.variables)
            # formulas inside prose ("A has 100D+101K+10200 parameters"), tried last
            runs = formula_runs(answer, self.keep)
            spoken = spoken_numbers(answer)  # "one hundred times D plus ..."
            runs += formula_runs(spoken, self.keep) if spoken != answer else []
            texts += [r for r in runs if r not in texts]
            texts += list(extra or [])
        for text in texts:
            try:
                yield text, self.parse_raw(text), None
            except (MathError, RecursionError) as exc:
                yield text, str(exc), None
        for text in texts:
            if _SLASH_PRODUCT.search(text):
                try:
                    tight = self.parse_raw(text, tight_division=True)
                    if tight != self.parse_raw(text):
                        yield text, tight, Reading(text, _TIGHT_NOTE, ambiguous=True)
                except (MathError, RecursionError):
                    pass
            for reading in [] if self.decimal_comma else comma_readings(text):
                try:
                    yield text, self.parse_raw(reading.text), reading
                except (MathError, RecursionError):
                    continue


@dataclass(frozen=True, slots=True)
class Reading:
    """Another reading of a text: `text` as rewritten, `note` says what was read how,
    `ambiguous` when the first reading was a plausible number too (1,500)."""

    text: str
    note: str
    ambiguous: bool


# "1/2x", "σ/2√n": after '/', an operand followed by another without an operator
_SLASH_PRODUCT = re.compile(r"/\s*(?:\d+(?:\.\d+)?|[A-Za-zα-ω])\s*[A-Za-zα-ω(√\\]")
_TIGHT_NOTE = "read the product after '/' as the divisor (1/2x as 1/(2x), not x/2)"
_COMMA_NUMBER = re.compile(r"(?<![\w.,])\d+(?:,\d+)+(?![\w,]|\.\d)")


def comma_readings(text: str) -> list[Reading]:
    """Numbers written with commas: 3,5 is 3.5 (a decimal comma: not a thousands group),
    12,000 is 12000, and 1,500 may also be 1.5 (offered second, marked ambiguous). Lists
    keep their spaces ("1, 2") and are not touched. (12 000 and 12'000 are one number to
    the lexer already.)"""
    first: list[tuple[str, str]] = []  # (written, read as) for the main other reading
    second: list[tuple[str, str]] = []  # 1,500 read as 1.5
    for m in list(_COMMA_NUMBER.finditer(text[:20_000]))[:20]:
        lit = m.group(0)
        head, *groups = lit.split(",")
        if len(head) <= 3 and all(len(g) == 3 for g in groups):
            first.append((lit, lit.replace(",", "")))
            if len(groups) == 1:
                second.append((lit, head + "." + groups[0]))
        elif len(groups) == 1:
            first.append((lit, head + "." + groups[0]))
    out = []
    # a three-digit group is first read as thousands (the usual English reading), and
    # only the decimal reading of it is marked ambiguous
    for swaps, ambiguous in ((first, False), (second, True)):
        if not swaps:
            continue
        rewritten = text
        for lit, new in swaps:
            rewritten = re.sub(r"(?<![\w.,])" + re.escape(lit) + r"(?![\w,])", new, rewritten)
        if rewritten == text:
            continue
        note = ", ".join(f"read {lit} as {new}" for lit, new in swaps)
        if ambiguous:
            note += " (the comma may also separate thousands)"
        out.append(Reading(rewritten, note, ambiguous))
    return out


def _label(n: Node) -> str:
    return "deriv:" + repr(n)


def _expand_labels(n: Node, defs: Mapping[str, Node]) -> Node:
    if n[0] == "deriv":
        return defs.get(_label(n), n)
    return map_children(n, lambda k: _expand_labels(k, defs))


def expand_definitions(node: Node, defs: Mapping[str, Node]) -> Node:
    if node[0] in ("eq", "assign") and node[1][0] in ("sym", "deriv"):  # keep the name
        return (node[0], node[1], expand_definitions(node[2], defs))
    if any(k.startswith("deriv:") for k in defs) and "'deriv'" in repr(node):
        node = _expand_labels(node, defs)
    for _ in range(3):
        names = free_symbols(node) & set(defs)
        if not names:
            break
        node = substitute(node, {k: defs[k] for k in names})
    return node


def _canon(name: str) -> str:
    return canonical_name(name)


def _with_stripped(texts: list[str], variables: list[str]) -> list[str]:
    out: list[str] = []
    for c in texts:
        stripped = strip_prose(prepare(c), variables)
        out.extend([stripped, c] if stripped and stripped != c else [c])
    return out


def strip_prose(text: str, variables: list[str]) -> str:
    """Drop leading/trailing words ('the gradient is ...', '... for each n')."""
    keep = _PROSE_KEEP | {v.replace("_", "") for v in variables} | set(variables)
    words = text.split()

    def prose(w: str) -> bool:
        core = w.strip(",.:;!?")
        return core.isalpha() and len(core) >= 2 and core not in keep and core.lower() not in keep

    def operator_next_to(i: int) -> bool:
        return 0 <= i < len(words) and (words[i][:1] in _OPS or words[i][-1:] in _OPS)

    # a word next to an operator is part of the formula: "grad = ...", "... + lr * grad"
    while words and prose(words[0]) and not operator_next_to(1):
        words.pop(0)
    while words and prose(words[-1]) and not operator_next_to(len(words) - 2):
        words.pop()
    text = " ".join(words).strip(" :,.")
    tail = _TRAILING_CLAUSE.search(text)
    if tail and any(c in _OPS for c in text[: tail.start()]):
        text = text[: tail.start()].strip(" :,.")  # "... for all n", "... where x > 0"
    return text
