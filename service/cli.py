"""The `grader` console script: the commands that start the service (serve, worker,
redrive), which build the Flask and Celery apps through the composition root
(`service.compose`), on top of every command of `grader.cli`, which this hands the rest to
unchanged. Every subcommand reads its settings from GRADER_ env vars when it starts."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader import cli as offline
from grader.config import Settings


def cmd_serve(args: argparse.Namespace, _rest: list[str]) -> int:
    """API (gunicorn), a grading worker and a webhook worker, supervised (grader.supervisor):
    any that dies is restarted, stale work is re-driven from here, and SIGTERM stops it all
    within GRADER_SHUTDOWN_GRACE, returning unfinished sheets to the queue."""
    settings = Settings.from_env()
    settings.ensure_data_dir()
    from grader.services.submissions import requeue_claimed
    from grader.store import Database
    from grader.supervisor import Child, Supervisor, redrive_loop
    from service.compose import create_publisher, webhook_queue

    db = Database(settings.database_url)
    db.upgrade()
    env = dict(os.environ, GRADER_DATA_DIR=settings.data_dir, HF_HUB_OFFLINE="1")
    # the children run this same command (`python -m service` is the `grader` script)
    grader = [sys.executable, "-m", "service"]
    api = [
        *(sys.executable, "-m", "gunicorn", "--bind", f"{args.host}:{args.port}"),
        *("--worker-class", "gthread", "--workers", str(args.api_workers), "--threads", "8"),
        *("--timeout", "60", "--graceful-timeout", str(int(settings.shutdown_grace))),
        *("--access-logfile", "-", "service.wsgi:app"),
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

    settings = Settings.from_env()
    from grader.supervisor import redrive_loop
    from service.compose import create_publisher

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
    settings = Settings.from_env()
    settings.ensure_data_dir()
    from grader.store import Database

    Database(settings.database_url).upgrade()
    from service.compose import create_worker, webhook_queue

    celery = create_worker(settings)
    argv = ["worker", "--loglevel", args.loglevel, "--pool", "prefork"]
    argv += ["--concurrency", str(args.concurrency or settings.worker_concurrency)]
    queues = args.queues or f"{settings.queue},{webhook_queue(settings)}"
    argv += ["--queues", queues, "--hostname", args.hostname]
    if not args.no_beat:
        argv += ["--beat", "--schedule", str(Path(settings.data_dir) / "beat-schedule")]
    celery.worker_main(argv)
    return 0


def add_commands(sub: Any) -> None:
    """Register `serve`, `redrive` and `worker` on the `grader` command's subparsers."""
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


def main(argv: Sequence[str] | None = None) -> int:
    return offline.run(offline.build_parser(add_commands), argv)


if __name__ == "__main__":
    sys.exit(main())
