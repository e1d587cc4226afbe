"""The worker's command-line parts, hooked into `python -m diagnostics`.

- `python -m diagnostics worker --server URL --token TOKEN` runs the worker.
- `python -m diagnostics check --post URL --token TOKEN` posts one report, for
  machines that cannot reach the broker, with the same spool and retries.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from diagnostics.agent.worker.spool import Spool, SpoolError

log = logging.getLogger("torchready.worker")


def _token(value: str | None) -> str | None:
    return value or os.environ.get("TORCHREADY_TOKEN")


def add_worker_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "worker",
        help="run a worker that takes GPU checks from your class server",
        description="Consume your own queue on the class server's broker; "
        "each check runs in a fresh subprocess.",
    )
    parser.add_argument(
        "--server", required=True, help="the class server, e.g. https://torchready.example.org"
    )
    parser.add_argument("--token", help="your worker token (or set TORCHREADY_TOKEN)")
    parser.add_argument(
        "--spool",
        type=Path,
        help="where reports wait until the server has them (~/.torchready/spool)",
    )
    parser.add_argument("--verbose", action="store_true")
    parser.set_defaults(func=run_worker)
    return parser


def add_post_arguments(parser: argparse.ArgumentParser) -> None:
    """--post and --token for `check`."""
    group = parser.add_argument_group("posting (for machines that cannot reach the broker)")
    group.add_argument("--post", metavar="URL", help="post the report to this class server")
    group.add_argument("--token", help="your worker token (or set TORCHREADY_TOKEN)")
    group.add_argument(
        "--spool",
        type=Path,
        help="where reports wait until the server has them (~/.torchready/spool)",
    )
    group.add_argument(
        "--post-deadline", type=float, default=300.0, help="seconds to keep retrying (default 300)"
    )


def run_worker(args: argparse.Namespace) -> int:
    from diagnostics.agent.worker.app import WorkerSettings, configure_logging, start
    from diagnostics.agent.worker.client import ApiError

    configure_logging(args.verbose)
    token = _token(args.token)
    if not token:
        print("worker: a token is needed: --token TOKEN or TORCHREADY_TOKEN", file=sys.stderr)
        return 2
    try:
        return start(WorkerSettings(server=args.server, token=token, spool_dir=args.spool))
    except SpoolError as exc:
        print(f"worker: {exc.strerror}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(
            f"worker: the server refused: {exc}. Create a new token on your GPU page.",
            file=sys.stderr,
        )
        return 2


NOT_DELIVERED = 3


def post_report(args: argparse.Namespace, report: dict[str, Any]) -> int:
    """Spool the report, then post it: 0 when the server has it, else NOT_DELIVERED."""
    from diagnostics.agent.worker import poster
    from diagnostics.agent.worker.client import ApiClient

    token = _token(args.token)
    if not token:
        print("check: --post needs --token TOKEN or TORCHREADY_TOKEN", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    report = {k: v for k, v in report.items() if k != "verdict"}
    try:
        spool = Spool(args.spool)
        path = poster.spool_submission(spool, poster.submission_body(report, run_id=None))
    except SpoolError as exc:
        print(f"check: {exc.strerror}", file=sys.stderr)
        return 2
    client = ApiClient(args.post, token)
    result = poster.deliver(client, spool, path, deadline_s=args.post_deadline)
    if result == "accepted":
        poster.flush(client, spool)  # older reports that waited for a way through
        return 0
    if result == "pending":
        print(
            f"check: the report waits in {spool.folder}; "
            "it is resent on the next --post or worker start",
            file=sys.stderr,
        )
    else:
        print(
            f"check: the server rejected the report; it is kept in {spool.rejected}",
            file=sys.stderr,
        )
    return NOT_DELIVERED
