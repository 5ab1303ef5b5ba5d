"""Which options an answer *states* as its choice, read from option ids the way students write them.

Students answer a multiple-choice question with the option's id in many shapes (`B`, `B.`,
`**B**:`, `(B)`, `B)`, `B, because …`, `Statement B is right`, `The answer is B`) and then
often argue about the other options (`A is wrong`, `C, not A`, `B confuses …`). This module
tells an id that is *chosen* from one that is only *mentioned*, for any set of option ids
the rubric declares (letters, roman numerals, words, digits).

Every occurrence of an id gets a rank:

- `STATED` (2): the whole answer is the id, or the id opens the answer (or one of its
  sentences or lines), follows a cue
  ("the answer is", "I choose", "statement", "so"), or is followed by a verdict ("is
  correct"), and in each case is followed by punctuation, the end, or a connective
  ("because") rather than by more of a sentence ("Statement A describes …" only mentions A);
- `MARKED` (1): set off by brackets or bold (`(C)`, `**C**`) elsewhere in the answer;
- `MENTIONED` (0): anything else (ignored when choosing);
- negated: preceded by "not", "rather than", "instead of", … or followed by "is wrong",
  "are incorrect", … (ignored).

Ids that are also words (`a`, `I`, `true`, lower-case letters read as variables) only count
when set off (brackets, bold) or followed by punctuation, the end or a connective: "A dense
layer" is an article, "A." or "(a)" is an answer. Ids joined by commas, "or", "and", "/"
form one run ("A, B, C, D", "A or C"), ranked as a whole; "A to D" is a range, a mention.
When two or more different ids are used as labels (`A: …, B: …`, `A) … B) …`), those
occurrences are labels of a list, not choices.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


class Rank(IntEnum):
    MENTIONED = 0
    MARKED = 1
    STATED = 2


@dataclass(frozen=True, slots=True)
class IdReading:
    """The options an answer states (or marks) as its choice, and where."""

    chosen: tuple[str, ...]  # option ids at the best rank found, in order of first appearance
    rank: Rank | None  # None: no id was chosen in any form
    start: int = 0
    end: int = 0
    negated: tuple[str, ...] = ()  # ids explicitly rejected ("A is wrong")


_CONNECTIVE = (
    r"because|since|as|so|for|therefore|thus|hence|which|due|given|since|is\s+correct"
    r"|is\s+right|is\s+true"
)
# After the id: end, punctuation (not a word-joining hyphen), or a connective word.
_FOLLOW_OK = re.compile(
    r"(?:[^\S\n]*\**[^\S\n]*(?:$|\n|[.,:;!?)\]}$—–=/\\(]|-(?!\w)|\s-\s)"
    r"|\s+(?:" + _CONNECTIVE + r")\b)"
)
_POSITIVE_AFTER = re.compile(
    r"\W{0,3}\s*(?:is|was|'s|would\s+be|must\s+be)\s+(?:the\s+)?"
    r"(?:correct|right|true|best|answer|valid|accurate)\b"
)
_NEGATIVE_AFTER = re.compile(
    r"\W{0,3}\s*(?:(?:is|are|was|were|would\s+be|'s)\s+(?:not\b|wrong|incorrect|false|invalid"
    r"|a\s+distractor|a\s+trap|misleading|ruled\s+out)|isn't|aren't|can't|cannot|doesn't"
    r"|does\s+not|fails)"
)
# Cues in the last few words before the id.
_DECLARATIVE_CUE = re.compile(
    r"(?:\banswer|\bchoice|\bi\s+(?:choose|chose|pick|picked|select|selected|go\s+with|say|think)"
    r"|\bchoose|\bpick|\bselect|\bit'?s|\bit\s+is|\bthat'?s|\bwould\s+be|\bmust\s+be"
    r"|\bshould\s+be|\bso|\bthus|\bhence|\btherefore|\bis|[:=→⇒]|=>|->)"
    r"[\s:*_$({\[]*(?:\\(?:text|textbf|mathrm|mathbf|boxed)\{[\s(]*)?$",
    re.IGNORECASE,
)
_NOUN_CUE = re.compile(
    r"\b(?:statement|option|alternative|letter|answer|choice)s?[\s:*_$({\[]*$", re.IGNORECASE
)
_NEGATIVE_BEFORE = re.compile(
    r"\b(?:not|n't|never|rather\s+than|instead\s+of|unlike|than|nor|neither|except|excluding"
    r"|exclude|eliminate|eliminated|rule\s+out|ruled\s+out|wrong\s+answer\s+is|incorrect\s+is"
    r"|versus|vs\.?)(?:\s+(?:option|statement|answer|choice|alternative))?[\s*_$({\[]*$",
    re.IGNORECASE,
)
_OPENING = re.compile(r"[\s*_$({\[>#-]*(?:\\(?:text|textbf|mathrm|mathbf|boxed)\{[\s(]*)?$")
# A sentence or line that opens with the id ("… is shared. C, because …").
_SENTENCE_OPENING = re.compile(
    r"(?:[.;!?]\s|\n)[\s*_$({\[>#-]*(?:\\(?:text|textbf|mathrm|mathbf|boxed)\{[\s(]*)?$"
)
_RUN_SEPARATOR = re.compile(
    r"[\s*$()\[\]]*(?:,\s*(?:and|or)?|/|&|\b(?:and|or|und|ou)\b)[\s*$()\[\]]*", re.IGNORECASE
)
_RANGE = re.compile(r"\s*(?:to|through|thru|-|–|—|\.\.\.?|…)\s*$", re.IGNORECASE)
_LABEL_AFTER = re.compile(r"[*\s]*[:=]|\)")
_LINE_LABEL_AFTER = re.compile(r"\.\s")  # "1. …" as the head of a line of a numbered list
_LINE_START = re.compile(r"(?:^|\n)[ \t*#>-]*$")
_BRACKETED = re.compile(r"(?:(?<!\w)\(|\[|\*\*)$")
_WINDOW = 48
# Ids read per answer: an answer that names options more often than this is padding, and each
# reading costs a few regex scans of a short window, so work stays bounded on hostile input.
MAX_RUNS = 100


@dataclass(frozen=True, slots=True)
class _Hit:
    option: str
    start: int
    end: int
    wordlike: bool  # needs to be set off to count (article, pronoun, variable, word id)


def _id_pattern(option_id: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(
        r"(?<![\w'’\\^_])(?<!\w-)" + re.escape(option_id) + r"(?![\w'’_+#])(?!-\w)", flags
    )


def _wordlike(option_id: str, written: str) -> bool:
    """A written id that could be ordinary prose: an article or pronoun, a word, a variable."""
    if written.casefold() in ("a", "i"):
        return True
    if len(written) > 1 and written.isalpha():
        return True
    return len(written) == 1 and written.isalpha() and written != option_id.upper()


def _hits(text: str, option_ids: Sequence[str]) -> list[_Hit]:
    folded = [o.casefold() for o in option_ids]
    ignore_case = len(set(folded)) == len(folded)
    hits: list[_Hit] = []
    for option_id in option_ids:
        if not option_id.strip():
            continue
        for m in _id_pattern(option_id, ignore_case).finditer(text):
            hits.append(_Hit(option_id, m.start(), m.end(), _wordlike(option_id, m.group())))
    hits.sort(key=lambda h: h.start)
    return hits


def _runs(text: str, hits: list[_Hit]) -> list[list[_Hit]]:
    """Ids joined only by separators ("A, B or D") form one run; a range ("A to D") too."""
    runs: list[list[_Hit]] = []
    for hit in hits:
        if runs:
            gap = text[runs[-1][-1].end : hit.start]
            joined = _RUN_SEPARATOR.fullmatch(gap) or _RANGE.fullmatch(gap)
            if joined and not (hit.wordlike and runs[-1][-1].wordlike):
                runs[-1].append(hit)
                continue
        runs.append([hit])
    return runs


def _is_range(text: str, run: list[_Hit]) -> bool:
    return any(
        _RANGE.fullmatch(text[a.end : b.start]) is not None
        for a, b in zip(run, run[1:], strict=False)
    )


def _is_label(text: str, hit: _Hit) -> bool:
    before = text[max(0, hit.start - 8) : hit.start]
    if _LABEL_AFTER.match(text, hit.end):
        return not before.rstrip(" *").endswith("(")
    return bool(_LINE_LABEL_AFTER.match(text, hit.end) and _LINE_START.search(before))


def _label_options(text: str, hits: list[_Hit]) -> set[str]:
    """Options used as labels of a list (`A: …`, `A) …`, lines `1. …`) when two or more are."""
    labelled = {h.option for h in hits if _is_label(text, h)}
    return labelled if len(labelled) >= 2 else set()


_NEGATED = -1


def _rank(text: str, run: list[_Hit], labels: set[str]) -> int | None:
    """The run's rank, `_NEGATED`, or None when it is not an option id at all (an article)."""
    head, tail = run[0], run[-1]
    before = text[max(0, head.start - _WINDOW) : head.start]
    after = text[tail.end : tail.end + _WINDOW]
    if _NEGATIVE_BEFORE.search(before) or _NEGATIVE_AFTER.match(after):
        return _NEGATED
    if len(run) > 1 and _is_range(text, run):
        return Rank.MENTIONED
    if len(run) == 1 and head.option in labels:
        return Rank.MENTIONED
    follow_ok = _FOLLOW_OK.match(after) is not None
    bracketed = _BRACKETED.search(before) is not None
    if _POSITIVE_AFTER.match(after):
        return Rank.STATED
    at_start = (
        head.start <= _WINDOW and _OPENING.fullmatch(text[: head.start]) is not None
    ) or _SENTENCE_OPENING.search(before) is not None
    if follow_ok and (at_start or _DECLARATIVE_CUE.search(before) or _NOUN_CUE.search(before)):
        return Rank.STATED
    if bracketed:
        return Rank.MARKED
    if any(h.wordlike for h in run):
        return None
    return Rank.MENTIONED


def read_ids(text: str, option_ids: Sequence[str]) -> IdReading:
    """The options `text` states as chosen (see the module docstring for the reading)."""
    hits = _hits(text, option_ids)
    labels = _label_options(text, hits)
    best: dict[int, list[tuple[list[_Hit], str]]] = {}
    negated: list[str] = []
    for run in _runs(text, hits)[:MAX_RUNS]:
        rank = _rank(text, run, labels)
        if rank == _NEGATED:
            negated.extend(h.option for h in run)
        elif rank is not None and rank >= Rank.MARKED:
            best.setdefault(rank, []).extend((run, h.option) for h in run)
    if not best:
        return IdReading((), None, negated=tuple(dict.fromkeys(negated)))
    top = max(best)
    found = best[top]
    chosen = tuple(dict.fromkeys(option for _, option in found))
    first_run = found[0][0]
    return IdReading(
        chosen,
        Rank(top),
        first_run[0].start,
        first_run[-1].end,
        negated=tuple(dict.fromkeys(o for o in negated if o not in chosen)),
    )
