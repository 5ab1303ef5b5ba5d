"""The `grader` command. Every subcommand reads its settings from GRADER_ env vars.

This module holds the commands that need no queue: database, keys, rubrics, evaluation and
fitting, batches on a running service, offline grading, statistics (`python -m grader`
runs these alone). The `grader` console script is `service.cli`, which adds the commands
that start the service (serve, worker, redrive) and hands everything else to `run` here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grader.config import Settings

Handler = Callable[[argparse.Namespace, list[str]], int]
# Registers more subcommands on the `grader` command's subparsers (service.cli's).
AddCommands = Callable[[Any], None]


def _settings() -> Settings:
    return Settings.from_env()


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


def build_parser(add_service_commands: AddCommands | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    if add_service_commands is not None:
        add_service_commands(sub)

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


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv` with `parser` (this module's, perhaps with more commands) and run the
    chosen command's handler."""
    args, rest = parser.parse_known_args(argv)
    if rest and args.handler not in (cmd_eval, cmd_fit):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.handler(args, rest))


def main(argv: Sequence[str] | None = None) -> int:
    """The commands that need no queue (`python -m grader`)."""
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
