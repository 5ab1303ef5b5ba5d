"""One composition root: settings are read by the entry points, when a process starts, and
handed down; no module reads them at import time or writes os.environ; each task turns its
wire arguments into one typed payload for one service call (issue 14, part 1)."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.config import Settings
from grader.services import work
from grader.services.work import DeliverWebhook, GradeSheets, RegradeSheets

ROOT = Path(__file__).resolve().parents[2]

# The arguments of each task as queued by the publishers (workers/publisher.py) and by the
# beat, before and after this change: a message already on the queue must still run.
WIRE = {
    "grading.grade_submission": ["submission_id"],
    "grading.grade_chunk": ["submission_ids"],
    "grading.regrade_chunk": ["run_id", "submission_ids"],
    "grading.redrive": [],
    "webhooks.deliver": ["message_id"],
    "webhooks.dispatch": [],
    "webhooks.purge": [],
}


def test_modules_read_no_settings_when_imported(tmp_path: Path) -> None:
    """With a setting that cannot be read, importing the modules that start the service
    still works: only the entry points of gunicorn and Celery, whose import is the start of
    their process, read the environment (and fail, naming the variable)."""
    code = (
        "import importlib\n"
        "import grader.cli, service.cli, service.compose, workers.main, workers.tasks\n"
        "for entry in ('service.wsgi', 'service.celery_app'):\n"
        "    try:\n"
        "        importlib.import_module(entry)\n"
        "    except ValueError as exc:\n"
        "        print(entry, 'refused:', exc)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GRADER_DATA_DIR": str(tmp_path),
        "GRADER_TASK_TIME_LIMIT": "ninety",
    }
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    refusal = "refused: GRADER_TASK_TIME_LIMIT: cannot read 'ninety' as int"
    assert f"service.wsgi {refusal}" in out.stdout
    assert f"service.celery_app {refusal}" in out.stdout


def test_celery_finds_the_app_of_its_entry_module(tmp_path: Path) -> None:
    """`celery -A service.celery_app` takes the module's `celery`: the worker's app, with
    its tasks and the WorkerContext its signal handlers act on."""
    code = (
        "import service.celery_app as entry, workers.main\n"
        "ctx = workers.main.context_of(entry.celery)\n"
        "print(sorted(t for t in entry.celery.tasks if not t.startswith('celery.')))\n"
        "print(ctx.settings.data_dir, ctx.loaded)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADER_DATA_DIR": str(tmp_path)}
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    tasks, context = out.stdout.splitlines()
    assert tasks == str(sorted(WIRE))
    assert context == f"{tmp_path} False"  # the runtime is built by the worker, not here


def _production_files() -> list[Path]:
    return [
        f
        for package in ("grader", "workers", "service")
        for f in (ROOT / package).rglob("*.py")
        if "migrations" not in f.parts
    ]


def _lazy_globals(source: str) -> list[str]:
    """A module-level `__getattr__` (an attribute built on first access) or a `global`
    statement (a module variable a function fills in)."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            found.append("def __getattr__")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Global):
            found.append(ast.unparse(node))
    return found


def test_no_lazy_load_globals() -> None:
    """What a process holds is built by its entry point and passed down (a worker's signal
    handlers take their WorkerContext from their app), never kept in a module variable."""
    found = [
        f"{f.relative_to(ROOT)}: {g}"
        for f in _production_files()
        for g in _lazy_globals(f.read_text("utf-8"))
    ]
    assert found == []
    sample = "X = None\ndef get():\n    global X\n    X = 1\ndef __getattr__(name):\n    pass\n"
    assert len(_lazy_globals(sample)) == 2


def _environ_writes(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        text = ast.unparse(node) if isinstance(node, ast.expr | ast.stmt) else ""
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            if any("os.environ" in ast.unparse(t) for t in targets):
                found.append(text)
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name == "os.putenv" or (
                name.startswith("os.environ.")
                and name.split(".")[-1] in {"setdefault", "update", "pop", "clear", "popitem"}
            ):
                found.append(text)
    return found


def test_nothing_writes_os_environ() -> None:
    """Libraries get what they need through their API (local_files_only, torch's thread
    count) or a child process gets it in its own environment (`grader serve`)."""
    writes = [
        f"{f.relative_to(ROOT)}: {w}"
        for f in _production_files()
        for w in _environ_writes(f.read_text("utf-8"))
    ]
    assert writes == []


def test_the_environ_check_sees_a_write() -> None:
    sample = (
        'import os\nos.environ.setdefault("X", "1")\nos.environ["Y"] = "2"\nos.putenv("Z", "")\n'
    )
    assert len(_environ_writes(sample)) == 3
    assert (
        _environ_writes('import os\nx = os.environ.get("X")\nenv = dict(os.environ, X="1")\n') == []
    )


@pytest.fixture
def worker_app(tmp_path: Path) -> Any:
    from service.compose import create_worker

    return create_worker(Settings(data_dir=str(tmp_path), text_checks=False).resolved())


def test_tasks_keep_their_names_and_wire_arguments(worker_app: Any) -> None:
    tasks = {name: t for name, t in worker_app.tasks.items() if not name.startswith("celery.")}
    assert sorted(tasks) == sorted(WIRE)
    for name, params in WIRE.items():
        assert list(inspect.signature(tasks[name].run).parameters) == params, name


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, name: str) -> Any:
        def call(rt: Any, *args: Any) -> str:
            self.calls.append((name, args[0] if args else None))
            return name

        return call


def test_each_task_is_one_service_call_with_a_typed_payload(
    worker_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run each task on the arguments an already queued message carries: it builds the
    family's payload and calls the family's service function once."""
    record = Recorder()
    for name in ("grade", "regrade", "redrive", "deliver_webhook", "dispatch_webhooks"):
        monkeypatch.setattr(work, name, record(name))
    monkeypatch.setattr(work, "purge_webhooks", record("purge_webhooks"))
    monkeypatch.setattr("workers.context.Runtime.create", lambda settings: object())
    t = worker_app.tasks
    t["grading.grade_submission"].apply(args=["s1"]).get()
    t["grading.grade_chunk"].apply(args=[["s1", "s2"]]).get()
    t["grading.regrade_chunk"].apply(args=["r1", ["s1", "s2"]]).get()
    t["webhooks.deliver"].apply(args=["m1"]).get()
    t["webhooks.purge"].apply().get()
    assert record.calls == [
        ("grade", GradeSheets(("s1",))),
        ("grade", GradeSheets(("s1", "s2"), chunk=True)),
        ("regrade", RegradeSheets("r1", ("s1", "s2"))),
        ("deliver_webhook", DeliverWebhook("m1")),
        ("purge_webhooks", None),
    ]
