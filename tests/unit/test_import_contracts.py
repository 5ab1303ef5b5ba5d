"""The architecture's import contracts ([tool.importlinter] in pyproject.toml) hold.

`lint-imports` reads the source, it imports nothing, so this stays a fast unit test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), "import-linter is missing: pip install -e '.[dev]'"
    # --no-cache: never a stale graph, and no cache directory left in the checkout.
    out = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=240,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{len(_config()['contracts'])} kept, 0 broken" in out.stdout, out.stdout


def test_every_grader_module_has_a_layer() -> None:
    """A module missing from the layers contract is checked by nothing, and a folder of
    modules without __init__.py is invisible to import-linter (as grader/services was)."""
    # the layers of grader (the other layers contracts order modules inside one package)
    (layers,) = [c for c in _config()["contracts"] if c["id"] == "layers"]
    named = {
        name.strip()
        for layer in layers["layers"]
        for part in layer.replace(":", "|").split("|")
        if (name := part.strip())
    }
    grader = ROOT / "grader"
    modules = {f"grader.{p.stem}" for p in grader.glob("*.py") if p.stem != "__init__"}
    packages = {
        p.parent
        for p in grader.rglob("*.py")
        if p.parent != grader and "migrations" not in p.relative_to(grader).parts
    }
    unseen = sorted(str(p.relative_to(ROOT)) for p in packages if not (p / "__init__.py").exists())
    assert unseen == [], f"folders of modules without __init__.py: {unseen}"
    modules |= {f"grader.{p.relative_to(grader).parts[0]}" for p in packages}
    assert sorted(modules - named) == [], "name these in the layers contract in pyproject.toml"


def test_every_batches_module_has_a_layer() -> None:
    """A module of grader.batches missing from the batches contract could close a loop (as
    archive <-> intake did) unseen."""
    (contract,) = [c for c in _config()["contracts"] if c["id"] == "batches"]
    named = {
        name.strip()
        for layer in contract["layers"]
        for part in layer.replace(":", "|").split("|")
        if (name := part.strip())
    }
    modules = {p.stem for p in (ROOT / "grader" / "batches").glob("*.py")} - {"__init__"}
    assert sorted(modules - named) == [], "name these in the batches contract in pyproject.toml"
