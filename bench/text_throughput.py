"""Throughput of the `text` checker: one worker process, the machine's cores.

Generates seed-exam-like answers of two to four sentences, then measures in the same run:
  raw      the model encoding exactly those answers' unique sentences in big batches
  batched  end to end: grade_many (the text checker's `warm` encodes everything in one pass)
  naive    one answer at a time: no warm, no answer cache (grade() per sheet)
Each path starts with empty answer caches; the model is shared (loaded once, not timed).
Prints a short table and, as the last line, one JSON object.

    .venv/bin/python bench/text_throughput.py [--answers 1000] [--naive 200] [--quantize]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.checks import simple_registry  # noqa: E402
from grader.checks.text.checker import TextChecker, register_text_checkers  # noqa: E402
from grader.checks.text.scoring import texts_to_encode  # noqa: E402
from grader.embed import Encoder, load_encoder  # noqa: E402
from grader.embed.scorer import PairScorer, load_scorer  # noqa: E402
from grader.exams import load_exam  # noqa: E402
from grader.grading import DirectRunner, grade, grade_many  # noqa: E402

RUBRIC = """
id: bench
title: Text throughput bench
questions:
  - id: q1b
    prompt: Explain why the sigmoid activation saturates in hidden layers. Why is tanh better?
    points: 2
    criteria:
      - id: saturation
        points: 1
        check:
          kind: text
          description: explains that sigmoid gradients vanish for large inputs
          question: Explain why the sigmoid activation saturates in hidden layers.
          exemplars:
            - For large positive or negative inputs the sigmoid is flat, so its gradient is ~0.
            - The derivative of the sigmoid is at most 0.25 and vanishes for large inputs.
          hint: Look at the slope of the sigmoid far from zero.
      - id: tanh
        points: 1
        check:
          kind: text
          description: explains why tanh helps
          exemplars:
            - Tanh is zero-centred and its derivative is larger, up to 1, so gradients shrink less.
          hint: Compare the maximal derivative and the centre of both functions.
  - id: q3a
    prompt: Which role does the positional encoding play in a transformer?
    points: 1
    criteria:
      - id: order
        points: 1
        check:
          kind: text
          description: attention is permutation invariant; positions must be injected
          exemplars:
            - Self-attention ignores token order, so positional encodings add position information.
            - Without positional encoding the transformer would treat the input as a set of tokens.
"""

SUBJECTS = [
    "the sigmoid",
    "the logistic function",
    "its output",
    "the activation",
    "tanh",
    "the gradient",
    "self-attention",
    "the transformer",
    "the positional encoding",
    "the network",
    "the derivative",
    "backpropagation",
]
VERBS = [
    "becomes flat",
    "saturates",
    "is close to zero",
    "ignores the order",
    "is zero-centred",
    "shrinks",
    "vanishes",
    "adds position information",
    "cannot distinguish positions",
    "slows down learning",
    "is at most one quarter",
    "treats tokens as a set",
]
TAILS = [
    "for large inputs",
    "in deep networks",
    "during training",
    "when inputs are large",
    "for every layer",
    "because of the exponential",
    "so updates are tiny",
    "unless we add sine and cosine signals",
    "which hurts the early layers",
    "",
]


def make_answers(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    answers = []
    for i in range(n):
        sents = []
        for _ in range(rng.randint(2, 4)):
            tail = rng.choice(TAILS)
            s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)}{(' ' + tail) if tail else ''}."
            sents.append(s[0].upper() + s[1:])
        answers.append(" ".join(sents) + ("" if i % 3 else f" (Note {i % 97}.)"))
    return answers


def _fresh_encoder(shared: Encoder, **options: int) -> Encoder:
    enc = Encoder(shared.model_path, quantize=shared.quantize, **options)
    enc._model = shared.model  # the same loaded weights; only the caches are new
    return enc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=1000)
    ap.add_argument("--naive", type=int, default=100, help="answers timed on the naive path")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for raw and batched")
    ap.add_argument("--quantize", action="store_true", help="int8 dynamic quantization")
    ap.add_argument("--no-scorer", action="store_true", help="without the learned pair scorer")
    args = ap.parse_args()
    scorer = None if args.no_scorer else load_scorer()
    if scorer is not None:
        scorer.score("warm-up reference.", "warm-up answer.")  # loads the model (not timed)

    shared = load_encoder(quantize=args.quantize)
    t0 = time.perf_counter()
    shared.encode(["warm-up sentence for the model."])
    load_s = time.perf_counter() - t0
    answers = make_answers(args.answers)
    sheets = [{"q1b": answers[i], "q3a": answers[-1 - i]} for i in range(len(answers))]
    n_items = sum(len(s) for s in sheets)  # answers graded (per question)

    sentences = list(dict.fromkeys(s for a in answers for s in texts_to_encode(a)))

    def registry_with(encoder: Encoder):  # type: ignore[no-untyped-def]
        reg = simple_registry()
        fresh = None
        if scorer is not None:  # the same loaded weights, an empty cache
            fresh = PairScorer(scorer.artifact_dir, quantize=scorer.quantize)
            fresh._parts = scorer.parts
        register_text_checkers(reg, encoder, fresh)
        return reg

    # raw and batched alternate (best of --repeat each, wall clock and process CPU time): the
    # machine is shared, and a neighbour's burst must not decide the ratio.
    raw_s = batched_s = raw_cpu = batched_cpu = float("inf")
    for _ in range(args.repeat):
        # raw: the unique sentences of all those answers, in big batches, straight to the model
        t0, c0 = time.perf_counter(), time.process_time()
        shared.model.encode(
            sentences,
            batch_size=shared.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        raw_s = min(raw_s, time.perf_counter() - t0)
        raw_cpu = min(raw_cpu, time.process_time() - c0)
        # batched, end to end, with empty caches
        reg = registry_with(_fresh_encoder(shared))
        loaded = load_exam(RUBRIC, reg)
        t0, c0 = time.perf_counter(), time.process_time()
        results = grade_many(loaded, sheets, DirectRunner(reg))
        batched_s = min(batched_s, time.perf_counter() - t0)
        batched_cpu = min(batched_cpu, time.process_time() - c0)
        print(
            f"  round: raw {raw_s:.2f} s ({raw_cpu:.2f} cpu), batched {batched_s:.2f} s "
            f"({batched_cpu:.2f} cpu)",
            file=sys.stderr,
        )
    review = sum(q.needs_review for r in results for q in r.questions) / max(1, n_items)

    # naive: one sheet at a time, answers never cached
    naive_sheets = sheets[: args.naive]
    reg_n = registry_with(_fresh_encoder(shared, cache_size=0))
    loaded_n = load_exam(RUBRIC, reg_n)
    runner_n = DirectRunner(reg_n)
    t0 = time.perf_counter()
    for sheet in naive_sheets:
        grade(loaded_n, sheet, runner_n)
    naive_s = time.perf_counter() - t0
    naive_items = sum(len(s) for s in naive_sheets)

    checker = reg.get("text")
    assert isinstance(checker, TextChecker)
    rate = n_items / batched_s
    # raw rate expressed per answer: the time the model alone needs for these answers' text
    raw_rate = n_items / raw_s
    naive_rate = naive_items / naive_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'path':<10}{'answers/s':>12}{'seconds':>10}")
    print(f"{'raw':<10}{raw_rate:>12.1f}{raw_s:>10.2f}   ({len(sentences)} unique sentences)")
    print(f"{'batched':<10}{rate:>12.1f}{batched_s:>10.2f}")
    print(f"{'naive':<10}{naive_rate:>12.1f}{naive_s:>10.2f}   ({naive_items} answers)")
    out = {
        "answers": n_items,
        "unique_sentences": len(sentences),
        "answers_per_s": round(rate, 1),
        "raw_answers_per_s": round(raw_rate, 1),
        "raw_sentences_per_s": round(len(sentences) / raw_s, 1),
        "naive_answers_per_s": round(naive_rate, 1),
        "share_of_raw": round(rate / raw_rate, 3),
        "share_of_raw_cpu": round(raw_cpu / batched_cpu, 3),
        "speedup_vs_naive": round(rate / naive_rate, 2),
        "needs_review_share": round(review, 3),
        "model_load_s": round(load_s, 2),
        "threads": shared.threads,
        "quantized": args.quantize,
        "scorer": scorer is not None,
        "batched_cpu_s": round(batched_cpu, 2),
        "peak_rss_mb": round(peak_mb, 1),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
