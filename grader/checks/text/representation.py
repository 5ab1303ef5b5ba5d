"""Turning texts into what the scorer compares: sentences, their vectors, stems, negation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from grader.checks.text.latex import prose_latex
from grader.checks.text.words import content_stems, negated

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TextRep:
    """A text prepared for scoring: whole vector, sentence vectors, content stems, negation."""

    text: str
    vec: Vectors  # (d,)
    sentences: tuple[str, ...]
    sent_vecs: Vectors  # (n, d)
    stems: frozenset[str]
    neg: tuple[bool, ...]  # per sentence

    @property
    def empty(self) -> bool:
        return not self.sentences


class EncoderLike(Protocol):
    def encode(self, texts: Sequence[str], *, pin: bool = False) -> Vectors: ...


def sentences_of(text: str, max_sentences: int = 64) -> list[str]:
    """The sentences that are compared, LaTeX read as the signs it stands for."""
    from grader.embed.sentences import split_sentences

    return split_sentences(prose_latex(text), max_sentences=max_sentences)


def texts_to_encode(text: str) -> list[str]:
    """Every text `prepare` will ask the encoder for (so a batch can encode them first)."""
    return sentences_of(text)


def _mean_direction(vecs: Vectors) -> Vectors:
    # The whole answer is represented by the normalised mean of its sentence vectors: no
    # second forward pass over the (longer, maybe truncated) whole text.
    mean = vecs.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else mean).astype(np.float32)


def prepare(encoder: EncoderLike, texts: Sequence[str], *, pin: bool = False) -> list[TextRep]:
    """TextReps of `texts`, encoding every distinct sentence once."""
    split = [sentences_of(t) for t in texts]
    wanted = [s for sents in split for s in sents]
    vecs = encoder.encode(wanted, pin=pin) if wanted else None
    out: list[TextRep] = []
    pos = 0
    for text, sents in zip(texts, split, strict=True):
        if not sents:
            empty = np.zeros((0, 0), np.float32)
            out.append(TextRep(text, np.zeros(0, np.float32), (), empty, frozenset(), ()))
            continue
        assert vecs is not None
        sv = vecs[pos : pos + len(sents)]
        pos += len(sents)
        out.append(
            TextRep(
                text,
                _mean_direction(sv),
                tuple(sents),
                sv,
                content_stems(" ".join(sents)),
                tuple(negated(s) for s in sents),
            )
        )
    return out
