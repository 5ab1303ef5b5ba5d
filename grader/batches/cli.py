"""`grader batch ...`, `grader grade` and `grader stats`: the instructor workflow on the command
line. Unlike the rest of `grader.batches` this module does I/O: it talks to a running service
over HTTP (stdlib urllib) or grades files locally.

    grader batch upload answers.csv --exam demo --wait     # progress bar, then a JSON line
    grader batch status BATCH_ID
    grader batch export BATCH_ID --what gradebook --form moodle --out grades.csv
    grader batch regrade BATCH_ID [--version N] [--apply]     # dry-run diff, then apply
    grader grade rubric.yaml answers.csv --out results.jsonl   # offline, no server
    grader stats results.jsonl --html > report.html             # offline; HTML on stdout
    grader stats --batch BATCH_ID --html-out report.html        # from the service, to a file
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".zip": "application/zip",
}


class ApiError(Exception):
    pass


class Client:
    """A minimal JSON/bytes client for the grader API."""

    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ApiError(f"the service URL must start with http:// or https://: {url!r}")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(
        self, method: str, path: str, data: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        # The scheme was checked in __init__: http(s) only, never file: or custom schemes.
        req = urllib.request.Request(  # noqa: S310
            self.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - http(s) only
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                problem = json.loads(body)
            except ValueError:
                raise ApiError(f"HTTP {exc.code}") from None
            lines = [f"HTTP {exc.code}: {problem.get('detail') or problem.get('title')}"]
            for err in problem.get("errors") or []:
                where = ", ".join(
                    str(p)
                    for p in (
                        err.get("file"),
                        err.get("row") and f"row {err['row']}",
                        err.get("column"),
                    )
                    if p
                )
                lines.append(f"  {where or err.get('field')}: {err.get('message')}")
            raise ApiError("\n".join(lines)) from None
        except urllib.error.URLError as exc:
            raise ApiError(f"cannot reach {self.url}: {exc.reason}") from None

    def json(
        self, method: str, path: str, data: bytes | None = None, content_type: str | None = None
    ) -> Any:
        return json.loads(self.request(method, path, data, content_type)[1])


def _client(args: argparse.Namespace) -> Client:
    token = args.token or os.environ.get("GRADER_TOKEN", "")
    if not token:
        raise ApiError("give an API token with --token or GRADER_TOKEN")
    return Client(args.url or os.environ.get("GRADER_URL", "http://127.0.0.1:8000"), token)


def wait_for_batch(
    client: Client,
    batch_id: str,
    *,
    interval: float = 1.0,
    timeout: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    from tqdm import tqdm

    started = time.monotonic()
    status = client.json("GET", f"/api/v1/batches/{batch_id}")
    with tqdm(
        total=status["total"],
        unit="sheet",
        disable=not progress,
        file=sys.stderr,
        desc=f"batch {batch_id[:8]}",
    ) as bar:
        while True:
            bar.n = status["done"]
            bar.set_postfix(
                review=status["needs_review"], failed=status["counts"]["failed"], refresh=False
            )
            bar.refresh()
            if status["status"] == "completed":
                return dict(status)
            if timeout is not None and time.monotonic() - started > timeout:
                raise ApiError(f"batch {batch_id} not completed after {timeout:.0f} s")
            time.sleep(interval)
            status = client.json("GET", f"/api/v1/batches/{batch_id}")


def cmd_batch_upload(args: argparse.Namespace, _rest: list[str]) -> int:
    path = Path(args.file)
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    if content_type is None:
        raise ApiError("the file must be .csv, .jsonl, .ndjson or .zip")
    client = _client(args)
    query = "?filename=" + quote(path.name)
    created = client.json(
        "POST",
        f"/api/v1/exams/{quote(args.exam)}/batches" + query,
        path.read_bytes(),
        content_type,
    )
    print(f"batch {created['id']}: {created['total']} sheets queued", file=sys.stderr)
    result = created
    if args.wait:
        result = wait_for_batch(
            client, created["id"], timeout=args.timeout, progress=not args.no_progress
        )
    print(json.dumps(result))
    return 1 if result.get("counts", {}).get("failed") else 0


def cmd_batch_status(args: argparse.Namespace, _rest: list[str]) -> int:
    print(json.dumps(_client(args).json("GET", f"/api/v1/batches/{args.batch_id}"), indent=2))
    return 0


def cmd_batch_export(args: argparse.Namespace, _rest: list[str]) -> int:
    path = f"/api/v1/batches/{args.batch_id}/"
    if args.what == "gradebook":
        path += f"gradebook?form={args.form}" + ("&feedback=1" if args.feedback else "")
    else:
        path += "results?format=csv&criteria=1"
    _, body = _client(args).request("GET", path)
    _write(args.out, body)
    return 0


def cmd_batch_regrade(args: argparse.Namespace, _rest: list[str]) -> int:
    """Dry run first (who changes, by how much); `--apply` then stores it."""
    client = _client(args)
    body = json.dumps({"version": args.version} if args.version else {}).encode()
    run = client.json("POST", f"/api/v1/batches/{args.batch_id}/regrade", body, "application/json")
    started = time.monotonic()
    while run["status"] == "grading":
        if time.monotonic() - started > args.timeout:
            raise ApiError(f"regrade {run['id']} not ready after {args.timeout:.0f} s")
        time.sleep(1.0)
        run = client.json("GET", f"/api/v1/regrades/{run['id']}")
    if run["status"] != "ready":
        raise ApiError(f"regrade {run['id']} is {run['status']}: {run.get('error', '')}")
    summary = run["summary"]
    print(
        f"regrade {run['id']} to version {run['to_version']}: {summary['changed']} of "
        f"{summary['n']} change (up {summary['increased']}, down {summary['decreased']}, "
        f"mean {summary['mean_delta']:+g}); {summary['orphaned_overrides']} override(s) "
        "no longer fit",
        file=sys.stderr,
    )
    for change in run["changes"][: args.show]:
        print(
            f"  {change['student_id']:<20} {change['old_score']} -> {change['new_score']} "
            f"({change['delta']:+g})",
            file=sys.stderr,
        )
    if args.apply:
        run = client.json("POST", f"/api/v1/regrades/{run['id']}/apply", b"{}", "application/json")
        print("applied", file=sys.stderr)
    else:
        print(
            f"dry run only: apply with `grader batch regrade {args.batch_id} --apply` or "
            f"POST /api/v1/regrades/{run['id']}/apply",
            file=sys.stderr,
        )
    print(json.dumps({k: run[k] for k in ("id", "status", "to_version", "summary")}))
    return 0


def _write(out: str | None, body: bytes) -> None:
    if out in (None, "-"):
        sys.stdout.write(body.decode("utf-8"))
    else:
        Path(out).write_bytes(body)
        print(f"wrote {out}", file=sys.stderr)


def _registry_for(settings: Any) -> Any:
    from grader.assembly import build_registry

    return build_registry(settings)[0]


def _runner_for(settings: Any, registry: Any) -> Any:
    from grader.assembly import build_runner

    return build_runner(settings, registry)


def cmd_grade(args: argparse.Namespace, _rest: list[str]) -> int:
    from grader.batches.intake import IntakeRejected
    from grader.batches.offline import grade_file
    from grader.config import Settings
    from grader.exams import RubricInvalid

    settings = Settings.from_env(text_checks=not args.no_text)
    try:
        summary = grade_file(
            args.rubric,
            args.submissions,
            args.out,
            registry_factory=functools.partial(_registry_for, settings),
            runner_factory=functools.partial(_runner_for, settings),
            workers=args.workers or None,
            chunk_size=args.chunk_size,
            progress=not args.no_progress,
        )
    except RubricInvalid as exc:
        for err in exc.errors:
            print(
                f"{args.rubric}:{err.line or 1}: {err.field or '(document)'}: {err.message}",
                file=sys.stderr,
            )
        return 2
    except IntakeRejected as exc:
        for intake_err in exc.errors:
            print(f"{args.submissions}: {intake_err}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 1 if summary["failed"] else 0


def cmd_stats(args: argparse.Namespace, _rest: list[str]) -> int:
    """The summary table goes to stderr; stdout gets the HTML report with `--html`, else one
    JSON line (so `grader stats --batch ID --html > report.html` is a clean page)."""
    page: bytes | None = None
    want_html = bool(args.html or args.html_out)
    if args.results:
        from grader.batches.offline import read_results
        from grader.batches.stats import compute_stats
        from grader.grading import SubmissionResult

        records = read_results(args.results)
        stats = compute_stats(
            [SubmissionResult.from_dict(r["result"]) for r in records if r.get("result")]
        )
        if want_html:
            from grader.batches.report import render_html

            html = render_html(stats, title=f"Results: {Path(args.results).name}")
            page = html.encode("utf-8")
    else:
        if not (args.batch or args.exam):
            raise ApiError("give a results file, --batch ID or --exam ID")
        client = _client(args)
        base = f"/api/v1/batches/{args.batch}" if args.batch else f"/api/v1/exams/{args.exam}"
        stats = client.json("GET", base + "/stats")
        if want_html:
            page = client.request("GET", base + "/stats?format=html")[1]
    _print_summary(stats)
    if page is not None and args.html_out:
        _write(args.html_out, page)
    if page is not None and args.html:
        _write("-", page)
        return 0
    print(
        json.dumps(
            stats
            if args.full
            else {k: stats[k] for k in ("n", "max_score", "total", "needs_review")}
        )
    )
    return 0


def _print_summary(stats: dict[str, Any]) -> None:
    total = stats["total"]
    print(
        f"{stats['n']} graded, mean {total['mean']}, median {total['median']}, "
        f"std {total['std']} of {stats['max_score']}",
        file=sys.stderr,
    )
    print(f"{'question':<12}{'facility':>10}{'discrim.':>10}{'review':>8}", file=sys.stderr)
    for q in stats["questions"]:
        print(
            f"{q['id']:<12}{_num(q['facility']):>10}{_num(q['discrimination']):>10}"
            f"{q['needs_review']:>8}",
            file=sys.stderr,
        )


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _server_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url", default="", help="service URL (default: GRADER_URL or http://127.0.0.1:8000)"
    )
    p.add_argument("--token", default="", help="API token (default: GRADER_TOKEN)")


def add_commands(sub: Any) -> None:
    """Register `batch`, `grade` and `stats` on the `grader` command's subparsers."""
    batch = sub.add_parser("batch", help="batches on a running service").add_subparsers(
        dest="batch_command", required=True
    )
    p = batch.add_parser("upload", help="upload CSV / JSON Lines / ZIP answer sheets")
    p.add_argument("file")
    p.add_argument("--exam", required=True)
    p.add_argument("--wait", action="store_true", help="show progress until graded")
    p.add_argument("--timeout", type=float, default=None)
    p.add_argument("--no-progress", action="store_true")
    _server_args(p)
    p.set_defaults(handler=_guard(cmd_batch_upload))
    p = batch.add_parser("status", help="a batch's progress")
    p.add_argument("batch_id")
    _server_args(p)
    p.set_defaults(handler=_guard(cmd_batch_status))
    p = batch.add_parser("export", help="results or a gradebook as CSV")
    p.add_argument("batch_id")
    p.add_argument("--what", choices=["results", "gradebook"], default="gradebook")
    p.add_argument("--form", choices=["canvas", "moodle"], default="canvas")
    p.add_argument("--feedback", action="store_true")
    p.add_argument("--out", default="-")
    _server_args(p)
    p.set_defaults(handler=_guard(cmd_batch_export))

    p = batch.add_parser("regrade", help="regrade under a rubric version: diff, then --apply")
    p.add_argument("batch_id")
    p.add_argument("--version", type=int, default=0, help="default: the exam's current one")
    p.add_argument("--apply", action="store_true", help="store the new results after the diff")
    p.add_argument("--show", type=int, default=20, help="changes to list")
    p.add_argument("--timeout", type=float, default=1800.0)
    _server_args(p)
    p.set_defaults(handler=_guard(cmd_batch_regrade))

    p = sub.add_parser("grade", help="grade a submissions file offline (no server)")
    p.add_argument("rubric")
    p.add_argument("submissions")
    p.add_argument("--out", required=True, help="results JSON Lines")
    p.add_argument("--workers", type=int, default=0, help="processes (default: cores, max 4)")
    p.add_argument("--chunk-size", type=int, default=32)
    p.add_argument("--no-text", action="store_true", help="skip text criteria (no model)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=_guard(cmd_grade))

    p = sub.add_parser("stats", help="statistics of a results file, a batch or an exam")
    p.add_argument("results", nargs="?", help="results JSON Lines from `grader grade`")
    p.add_argument("--batch")
    p.add_argument("--exam")
    p.add_argument(
        "--html", action="store_true", help="write the HTML report to stdout (not the JSON line)"
    )
    p.add_argument("--html-out", metavar="PATH", help="write the HTML report to this file")
    p.add_argument("--full", action="store_true", help="print every statistic as JSON")
    _server_args(p)
    p.set_defaults(handler=_guard(cmd_stats))


def _guard(fn: Any) -> Any:
    """Errors a user can act on are printed as one message, not a traceback."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace, rest: list[str]) -> int:
        try:
            return int(fn(args, rest))
        except (ApiError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run
