"""A deterministic, model-free encoder for fast unit tests of the text checker."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from grader.checks.text_model import Vectors, content_stems, negated

DIM = 512


class FakeEncoder:
    """Hashed bag of content stems (plus a negation bit): similar wording, similar vectors."""

    max_seq_length = 256

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.seen: set[str] = set()

    def _vec(self, text: str) -> Vectors:
        v = np.zeros(DIM, dtype=np.float32)
        for s in content_stems(text):
            h = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "big")
            v[h % DIM] += 1.0
        v[DIM - 1] += 0.3 if negated(text) else 0.0
        v[0] += 0.05  # never the zero vector
        return v / np.linalg.norm(v)

    def encode(self, texts: Sequence[str], *, pin: bool = False) -> Vectors:
        fresh = [t for t in dict.fromkeys(texts) if t not in self.seen]
        self.calls.append(len(fresh))
        self.seen.update(fresh)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def too_long(self, text: str) -> bool:
        return len(text.split()) > self.max_seq_length
