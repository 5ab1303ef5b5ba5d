"""A learned scorer of meaning: does `answer` state what `reference` says? -> [0, 1].

A cross-encoder built from the packaged all-MiniLM-L6-v2 weights: the reference and the
answer are read together (one BERT pass over `[CLS] reference [SEP] answer [SEP]`), so
negation, contrast and paraphrase are judged in context instead of from two separate vectors.
Only the top layers and a small head were fine-tuned (`grader fit text`); the artifact
holds just those (fp16) and is laid over the packaged base when it loads. Nothing downloads.

Determinism: every pair runs alone (batch of one, no padding) on one numeric path (int8
dynamic quantization by default, ~2x faster; its activation scales are those of the pair
itself), so a pair's score never depends on which other answers share the process or batch.
Scores are cached by the pair's content hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ARTIFACT_DIR = Path(__file__).resolve().parent / "scorer_model"
WEIGHTS_FILE = "weights.safetensors"
META_FILE = "meta.json"
MAX_PAIR_TOKENS = 192  # reference + answer word pieces read together
MAX_TEXT_CHARS = 4_000  # a hostile megabyte is cut before the tokenizer sees it
CACHE_SIZE = 100_000


def pair_key(reference: str, answer: str) -> bytes:
    raw = (
        reference.encode("utf-8", "surrogatepass")
        + b"\x00"
        + answer.encode("utf-8", "surrogatepass")
    )
    return hashlib.blake2b(raw, digest_size=16).digest()


def additive_mask(mask: Any) -> Any:
    """(batch, seq) 0/1 mask -> the additive (batch, 1, 1, seq) mask BERT layers take."""
    import torch

    return (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min


def run_top(layers: Any, head: Any, hidden: Any, mask: Any) -> Any:
    """The fine-tuned part: top BERT layers, masked mean pooling, a linear head -> logits."""
    ext = additive_mask(mask)
    for layer in layers:
        out = layer(hidden, attention_mask=ext)
        hidden = out[0] if isinstance(out, tuple) else out
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
    return head(pooled).squeeze(-1)


def run_bottom(model: Any, ids: Any, types: Any, mask: Any, n_frozen: int) -> Any:
    """The frozen part: embeddings and the first `n_frozen` layers of the packaged model."""
    hidden = model.embeddings(input_ids=ids, token_type_ids=types)
    ext = additive_mask(mask)
    for layer in model.encoder.layer[:n_frozen]:
        out = layer(hidden, attention_mask=ext)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def load_base(model_path: Path) -> tuple[Any, Any]:
    """The packaged MiniLM as a plain BERT (eager attention) and its tokenizer, offline:
    local_files_only (not os.environ) makes a missing file fail instead of downloading."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tok = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    model = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    )
    model.eval()  # safe: torch inference mode, nothing is evaluated from text
    return model, tok


class PairScorer:
    """Loads lazily once per process; `score(reference, answer)` is cached and thread-safe."""

    def __init__(
        self,
        artifact_dir: str | Path | None = None,
        *,
        base_path: str | Path | None = None,
        threads: int | None = None,
        cache_size: int = CACHE_SIZE,
        quantize: bool = True,
    ) -> None:
        self.artifact_dir = Path(artifact_dir) if artifact_dir else ARTIFACT_DIR
        self.base_path = Path(base_path) if base_path else None
        self.threads = threads
        self.cache_size = cache_size
        self.quantize = quantize
        self._parts: tuple[Any, Any, Any, Any, int] | None = None
        self._load_lock = threading.Lock()
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, float] = OrderedDict()
        self.stats = {"scored": 0, "hits": 0}

    @staticmethod
    def available(artifact_dir: str | Path | None = None) -> bool:
        d = Path(artifact_dir) if artifact_dir else ARTIFACT_DIR
        return (d / WEIGHTS_FILE).is_file() and (d / META_FILE).is_file()

    @property
    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = json.loads((self.artifact_dir / META_FILE).read_text("utf-8"))
        return meta

    def _load(self) -> tuple[Any, Any, Any, Any, int]:
        import torch
        from safetensors.torch import load_file

        from grader.embed.encoder import default_model_path

        meta = self.meta
        n_frozen = int(meta["frozen_layers"])
        model, tok = load_base(self.base_path or default_model_path())
        state = load_file(str(self.artifact_dir / WEIGHTS_FILE))
        layers = model.encoder.layer[n_frozen:]
        layer_state = {
            k.removeprefix("layers."): v.float()
            for k, v in state.items()
            if k.startswith("layers.")
        }
        layers.load_state_dict(layer_state)
        head = torch.nn.Linear(model.config.hidden_size, 1)
        head.load_state_dict(
            {k.removeprefix("head."): v.float() for k, v in state.items() if k.startswith("head.")}
        )
        head.eval()  # safe: torch inference mode
        if self.quantize:
            with warnings.catch_warnings():  # torch's deprecation notice
                warnings.simplefilter("ignore")
                torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
                )
            layers = model.encoder.layer[n_frozen:]
        if self.threads:
            torch.set_num_threads(self.threads)
        log.info("loaded pair scorer %s over %s", self.artifact_dir, meta.get("base"))
        return model, tok, layers, head, n_frozen

    @property
    def parts(self) -> tuple[Any, Any, Any, Any, int]:
        if self._parts is None:
            with self._load_lock:
                if self._parts is None:
                    self._parts = self._load()
        return self._parts

    def score(self, reference: str, answer: str) -> float:
        """P(the answer states the reference), from one batch-of-one forward pass."""
        reference, answer = reference[:MAX_TEXT_CHARS], answer[:MAX_TEXT_CHARS]
        if not reference.strip() or not answer.strip():
            return 0.0
        key = pair_key(reference, answer)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                self.stats["hits"] += 1
                return hit
            value = self._forward(reference, answer)
            self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            self.stats["scored"] += 1
            return value

    def _forward(self, reference: str, answer: str) -> float:
        import torch

        model, tok, layers, head, n_frozen = self.parts
        enc = tok(
            reference,
            answer,
            truncation="longest_first",
            max_length=MAX_PAIR_TOKENS,
            return_tensors="pt",
        )
        with torch.inference_mode():
            ids, types, mask = enc["input_ids"], enc["token_type_ids"], enc["attention_mask"]
            hidden = run_bottom(model, ids, types, mask, n_frozen)
            logit = run_top(layers, head, hidden, mask)
        return float(torch.sigmoid(logit)[0])


_SCORERS: dict[str, PairScorer] = {}
_SCORERS_LOCK = threading.Lock()


def load_scorer(artifact_dir: str | Path | None = None, **options: Any) -> PairScorer | None:
    """The process-wide scorer (None when no artifact is installed: the checkers fall back)."""
    if not PairScorer.available(artifact_dir):
        return None
    key = str(Path(artifact_dir).resolve()) if artifact_dir else "default"
    with _SCORERS_LOCK:
        scorer = _SCORERS.get(key)
        if scorer is None:
            scorer = _SCORERS[key] = PairScorer(artifact_dir, **options)
        return scorer
