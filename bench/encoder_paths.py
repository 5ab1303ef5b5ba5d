"""How far the encoder's numeric path (int8 vs fp32) moves question scores on dev exams.

    .venv/bin/python bench/encoder_paths.py [EXAM ...]   # default: the dev exams + seed

Grades every answer of each exam twice, in fresh processes with GRADER_EMBED_QUANTIZE=true and
=false, and prints per exam the largest move of a question's score (as a share of its points),
the share of answers moved by more than 5% of their points, and the MAE against gold of each
path. The last line is one JSON object with those figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"


def sets(names: list[str]) -> list[tuple[str, Path, Path]]:
    out = []
    for d in sorted((EVAL / "exams").glob("*")):
        if (not names and d.name != "saf-networks") or d.name in names:
            out.append((d.name, d / "exam.yaml", d / "gold.jsonl"))
    if not names or "seed" in names:
        out.append(("seed", ROOT / "rubrics" / "dl-ws2324.yaml", EVAL / "seed_exam_dev.jsonl"))
    return out


def grade(rubric: Path, gold: Path, quantize: bool) -> dict[tuple[str, str], tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cases.jsonl"
        env = {**os.environ, "GRADER_EMBED_QUANTIZE": str(quantize).lower(), "HF_HUB_OFFLINE": "1"}
        subprocess.run(
            [sys.executable, "-m", "grader", "eval", "exam", str(rubric), str(gold),
             "--cases-jsonl", str(out)],
            env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {(r["id"], r["qid"]): (r["pred"], r["gold"]) for r in rows}


def main() -> int:
    figures = {}
    for name, rubric, gold in sets(sys.argv[1:]):
        q8, f32 = grade(rubric, gold, True), grade(rubric, gold, False)
        moves = [abs(q8[k][0] - f32[k][0]) for k in q8]
        worst = max(q8, key=lambda k: abs(q8[k][0] - f32[k][0]))
        figures[name] = {
            "n": len(moves),
            "max_move": round(max(moves), 4),
            "worst": f"{worst[0]}/{worst[1]}",
            "moved_over_5pct": round(sum(m > 0.05 + 1e-9 for m in moves) / len(moves), 4),
            "mae_int8": round(sum(abs(p - g) for p, g in q8.values()) / len(q8), 4),
            "mae_fp32": round(sum(abs(p - g) for p, g in f32.values()) / len(f32), 4),
        }
        print(name, figures[name], flush=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
