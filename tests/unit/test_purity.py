"""The domain core imports no framework, broker or database (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

CORE = ["grader.checks", "grader.grading", "grader.exams", "grader.mathlang"]
FORBIDDEN = ["flask", "celery", "kombu", "redis", "sqlalchemy", "psycopg", "werkzeug"]


def test_core_modules_import_no_framework() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {CORE!r}:\n"
        "    try:\n"
        "        pkg = importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        continue\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, name + '.'):\n"
        "        importlib.import_module(info.name)\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imports {out.stdout.strip()}"
