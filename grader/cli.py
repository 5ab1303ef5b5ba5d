"""The `grader` command. Every subcommand reads its settings from GRADER_ env vars."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grader.config import Settings

Handler = Callable[[argparse.Namespace, list[str]], int]


def _settings() -> Settings:
    return Settings.from_env()


def cmd_serve(args: argparse.Namespace, _rest: list[str]) -> int:
    """API (gunicorn), a grading worker and a webhook worker, supervised (grader.supervisor):
    any that dies is restarted, stale work is re-driven from here, and SIGTERM stops it all
    within GRADER_SHUTDOWN_GRACE, returning unfinished sheets to the queue."""
    settings = _settings()
    settings.ensure_data_dir()
    from grader.compose import create_publisher, webhook_queue
    from grader.services.submissions import requeue_claimed
    from grader.store import Database
    from grader.supervisor import Child, Supervisor, redrive_loop

    db = Database(settings.database_url)
    db.upgrade()
    env = dict(os.environ, GRADER_DATA_DIR=settings.data_dir, HF_HUB_OFFLINE="1")
    grader = [sys.executable, "-m", "grader"]
    api = [
        *(sys.executable, "-m", "gunicorn", "--bind", f"{args.host}:{args.port}"),
        *("--worker-class", "gthread", "--workers", str(args.api_workers), "--threads", "8"),
        *("--timeout", "60", "--graceful-timeout", str(int(settings.shutdown_grace))),
        *("--access-logfile", "-", "grader.api.wsgi:app"),
    ]
    children = [
        Child("api", api, env),
        Child("worker", [*grader, "worker", "--no-beat", "--queues", settings.queue], env),
        # Deliveries wait on other people's servers: a process of their own, so a slow
        # receiver never delays a grade; it runs the webhook schedule too.
        Child(
            "webhook worker",
            [*grader, "worker", "--queues", webhook_queue(settings), "--hostname", "webhooks@%h"],
            {**env, "GRADER_TEXT_CHECKS": "false", "GRADER_WORKER_CONCURRENCY": "2"},
        ),
    ]
    print(
        f"grader: API on http://{args.host}:{args.port} (docs: /api/docs), data in "
        f"{settings.data_dir}",
        flush=True,
    )

    def release() -> None:
        released = requeue_claimed(db)
        if released:
            print(f"grader: {released} unfinished sheet(s) returned to the queue", flush=True)

    supervisor = Supervisor(children, grace_s=settings.shutdown_grace, on_stopped=release)
    supervisor.background = redrive_loop(
        settings,
        create_publisher(settings),
        lambda stall: supervisor.restart_wedged("worker", stall.last_progress_s),
    )
    return supervisor.run()


def cmd_redrive(args: argparse.Namespace, _rest: list[str]) -> int:
    """The re-drive alone (compose runs it as a service of its own): never on a worker."""
    import threading

    settings = _settings()
    from grader.compose import create_publisher
    from grader.supervisor import redrive_loop

    stopping = threading.Event()
    if args.once:
        stopping.set()
        from grader.services.grading import redrive
        from grader.store import Database

        print(redrive(Database(settings.database_url), settings, create_publisher(settings)))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    redrive_loop(settings, create_publisher(settings))(stopping)
    return 0


def cmd_worker(args: argparse.Namespace, _rest: list[str]) -> int:
    settings = _settings()
    settings.ensure_data_dir()
    from grader.store import Database

    Database(settings.database_url).upgrade()
    from grader.compose import create_worker, webhook_queue

    celery = create_worker(settings)
    argv = ["worker", "--loglevel", args.loglevel, "--pool", "prefork"]
    argv += ["--concurrency", str(args.concurrency or settings.worker_concurrency)]
    queues = args.queues or f"{settings.queue},{webhook_queue(settings)}"
    argv += ["--queues", queues, "--hostname", args.hostname]
    if not args.no_beat:
        argv += ["--beat", "--schedule", str(Path(settings.data_dir) / "beat-schedule")]
    celery.worker_main(argv)
    return 0


def cmd_db_upgrade(_args: argparse.Namespace, _rest: list[str]) -> int:
    settings = _settings()
    settings.ensure_data_dir()
    from grader.store import Database

    Database(settings.database_url).upgrade()
    print("database is at the newest schema")
    return 0


def cmd_tokens_create(args: argparse.Namespace, _rest: list[str]) -> int:
    settings = _settings()
    settings.ensure_data_dir()
    from grader.services.auth import create_token, parse_duration
    from grader.services.errors import ServiceError
    from grader.store import Database

    db = Database(settings.database_url)
    db.upgrade()
    try:
        expires = parse_duration(args.expires_in) if args.expires_in else None
        key_id, token = create_token(
            db,
            args.role,
            student_id=args.student_id,
            name=args.name,
            exams=args.exam,
            expires_in=expires,
        )
    except ServiceError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print(f"created {args.role} key {key_id} (the token is shown once):", file=sys.stderr)
    print(token)
    return 0


def cmd_tokens_revoke(args: argparse.Namespace, _rest: list[str]) -> int:
    settings = _settings()
    from grader.services.auth import revoke_token
    from grader.store import Database

    ok = revoke_token(Database(settings.database_url), args.key_id)
    print("revoked" if ok else "no such active key")
    return 0 if ok else 1


def cmd_exams_check(args: argparse.Namespace, _rest: list[str]) -> int:
    """Errors fail (exit 1); the self-test's warnings are printed but do not."""
    from grader.exams.loader import RubricInvalid, load_exam
    from grader.services.runtime import build_registry

    # Text checkers load their model on first use: only a self-test of text criteria pays it.
    settings = Settings.from_env(text_checks=True)
    registry, _ = build_registry(settings)
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        loaded = load_exam(text, registry)
    except RubricInvalid as exc:
        for err in exc.errors:
            print(f"{path}:{err.line or 1}: {err.field or '(document)'}: {err.message}")
        print(f"{len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    exam = loaded.exam
    criteria = sum(len(q.criteria) for q in exam.questions)
    print(
        f"{path}: ok: exam {exam.id!r}, {len(exam.questions)} questions, {criteria} criteria, "
        f"{exam.max_score:g} points"
    )
    if args.no_self_test:
        return 0
    warnings = _self_test(settings, registry, loaded)
    for warning in warnings:
        print(f"{path}:{warning.line or 1}: warning: {warning.message}")
    print(
        f"self-test: {len(warnings)} warning(s) (model answers and graded examples)",
        file=sys.stderr,
    )
    return 0


def _self_test(settings: Settings, registry: Any, loaded: Any) -> list[Any]:
    from grader.grading.selftest import self_test
    from grader.services.runtime import build_runner

    runner = build_runner(settings, registry)
    try:
        return self_test(loaded, runner)
    finally:
        close = getattr(runner, "close", None)
        if callable(close):
            close()


def cmd_eval(args: argparse.Namespace, rest: list[str]) -> int:
    import importlib

    module = importlib.import_module(f"grader.evaluation.{args.what}_eval")
    return int(module.main(rest))


def cmd_fit(args: argparse.Namespace, rest: list[str]) -> int:
    import importlib

    module = importlib.import_module(f"grader.evaluation.{args.what}_fit")
    return int(module.main(rest))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the API and a worker (embedded defaults)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--api-workers", type=int, default=1)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("redrive", help="republish stale work every GRADER_REDRIVE_INTERVAL")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.set_defaults(handler=cmd_redrive)

    p = sub.add_parser("worker", help="run a Celery worker")
    p.add_argument("--concurrency", type=int, default=0)
    p.add_argument(
        "--queues", default="", help="default: GRADER_QUEUE and its webhooks queue (both)"
    )
    p.add_argument("--hostname", default="grader@%h")
    p.add_argument("--loglevel", default="INFO")
    p.add_argument("--no-beat", action="store_true", help="don't run the re-drive schedule here")
    p.set_defaults(handler=cmd_worker)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=cmd_db_upgrade)

    tokens = sub.add_parser("tokens", help="API keys").add_subparsers(
        dest="tokens_command", required=True
    )
    p = tokens.add_parser("create", help="create a key; prints the token as the last line")
    p.add_argument("--role", required=True, choices=["admin", "instructor", "student", "lms"])
    p.add_argument("--student-id")
    p.add_argument("--name", default="")
    p.add_argument(
        "--exam",
        action="append",
        help="an exam the key may submit to (lms, student); repeat for several",
    )
    p.add_argument("--expires-in", help="the key stops working after this: 90d, 12h, 30m")
    p.set_defaults(handler=cmd_tokens_create)
    p = tokens.add_parser("revoke", help="revoke a key by id")
    p.add_argument("key_id")
    p.set_defaults(handler=cmd_tokens_revoke)

    exams = sub.add_parser("exams", help="rubrics").add_subparsers(
        dest="exams_command", required=True
    )
    p = exams.add_parser(
        "check",
        help="validate a rubric file (errors with their lines), then grade its model answers "
        "and graded examples with it (warnings)",
    )
    p.add_argument("file")
    p.add_argument("--no-self-test", action="store_true", help="only validate")
    p.set_defaults(handler=cmd_exams_check)

    p = sub.add_parser(
        "eval", help="measure agreement with human graders / test suites", add_help=False
    )
    p.add_argument("what", choices=["math", "text", "exam", "hostile"])
    p.set_defaults(handler=cmd_eval)
    p = sub.add_parser("fit", help="fit what is learned from ../shared/eval data", add_help=False)
    p.add_argument("what", choices=["credit", "review", "text", "weights"])
    p.set_defaults(handler=cmd_fit)

    from grader.batches.cli import add_commands as add_batch_commands

    add_batch_commands(sub)  # batch upload/status/export, grade (offline), stats
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.handler not in (cmd_eval, cmd_fit):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.handler(args, rest))


if __name__ == "__main__":
    sys.exit(main())
