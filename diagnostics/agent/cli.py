"""`python -m diagnostics check`: probe, benchmark, judge, print.

Exit codes: 0 the objective is met, 1 it is not, 2 a usage error (argparse).
This runs as a plain process; the worker starts it as a fresh subprocess, so
CUDA is never initialised in a parent that forks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from time import perf_counter
from typing import Any, TextIO

from diagnostics.agent.report import Finding, Report
from diagnostics.agent.verdict import Verdict, judge

SYMBOLS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "skip", "blocked": "WAIT"}


class Progress:
    """One line per stage on stderr, with the time since start, so stdout stays clean."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = perf_counter()

    def __call__(self, stage: str) -> None:
        print(f"[{perf_counter() - self.started:5.1f}s] {stage}…", file=self.stream, flush=True)


def run_check(
    *, quick: bool, bench: bool, share_identifiers: bool, progress: Progress
) -> tuple[Report, Verdict]:
    # Imported here so that `--help` and usage errors stay instant.
    from diagnostics.agent import bench as benchmarks
    from diagnostics.agent import probe

    report, findings = probe.collect(share_identifiers=share_identifiers, progress=progress)
    progress("correctness of a matmul against a float64 reference")
    report.correctness = findings.guard(
        "correctness", lambda: benchmarks.correctness(report, findings), list
    )
    if bench:
        report.bench = findings.guard(
            "bench",
            lambda: benchmarks.run_benchmarks(report, findings, quick=quick, progress=progress),
            lambda: None,
        )
    report = probe.redact(report, findings.as_list())
    progress("verdict")
    return report, judge(report)


def crash_report(exc: BaseException) -> tuple[Report, Verdict]:
    """The last line of defence: an unexpected error still yields a report and a verdict."""
    from diagnostics.agent.probe.common import clip

    finding = Finding(
        section="cli", code="internal-error", message=clip(f"{type(exc).__name__}: {exc}", 1000)
    )
    report = Report(findings=[finding])
    try:
        verdict = judge(report)
    except Exception:  # noqa: BLE001
        verdict = Verdict(objective_met=False, checks=[])
    return report, verdict


def format_rate(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "B/s":
        return f"{value / 1e9:.1f} GB/s"
    return f"{value / 1e12:.2f} TFLOP/s" if value >= 1e12 else f"{value / 1e9:.1f} GFLOP/s"


def render(report: Report, verdict: Verdict) -> str:
    lines = ["", "TorchReady check", ""]
    width = max((len(c.id) for c in verdict.checks), default=10)
    for c in verdict.checks:
        lines.append(f"  {SYMBOLS[c.status]}  {c.id:<{width}}  {c.summary}")
    if report.bench:
        lines += ["", "Benchmarks (median of N, [min..max])"]
        for r in report.bench.results:
            if r.status == "skipped":
                continue
            spread = f"[{format_rate(r.min, r.unit)}..{format_rate(r.max, r.unit)}]"
            extra = f", {r.pct_of_peak:.0f}% of peak" if r.pct_of_peak is not None else ""
            if r.vs_other_device is not None:
                extra += f", {r.vs_other_device:.3g}x the other device"
            lines.append(
                f"  {r.name:<13} {r.device:<4} {format_rate(r.median, r.unit):>16} "
                f"{spread} n={r.samples}{extra}" + (f" ({r.status})" if r.status != "ok" else "")
            )
        skipped = [r for r in report.bench.results if r.status == "skipped"]
        if skipped:
            names = ", ".join(f"{r.name} ({r.device})" for r in skipped)
            lines.append(f"  skipped: {names}: {skipped[0].reason}")
    lines += fix_lines(verdict)
    lines += [
        "",
        "Objective met: the conda env runs PyTorch on the GPU."
        if verdict.objective_met
        else "Objective not met yet: do the next step above, then run the check again.",
        "",
    ]
    return "\n".join(lines)


def fix_lines(verdict: Verdict) -> list[str]:
    """The next step first (the root cause), then what waits for it, each fix once."""
    step = verdict.next_check()
    lines: list[str] = []
    shown: set[str] = set()
    if step is not None:
        lines += ["", f"Next step ({step.id}): {step.summary}"]
        if step.hint:
            lines.append(f"  {step.hint}")
            shown.add(step.hint)
    later = [
        c
        for c in verdict.checks
        if c.hint
        and c.status in ("fail", "warn", "skip")
        and c is not step
        and c.hint not in shown  # one cause can fail two checks with the same fix
    ]
    if later:
        lines += ["", "After that" if step is not None else "How to fix"]
        for c in later:
            if c.hint not in shown:
                shown.add(c.hint or "")
                lines.append(f"  {c.id}: {c.hint}")
    blocked = [c.id for c in verdict.checks if c.status == "blocked"]
    if blocked and step is not None:
        lines += [
            "",
            f"Waiting for {step.id}: {', '.join(blocked)} can't be judged until it passes.",
        ]
    return lines


def document(report: Report, verdict: Verdict) -> dict[str, Any]:
    return {"report": report.model_dump(mode="json"), "verdict": verdict.model_dump(mode="json")}


def cmd_check(args: argparse.Namespace) -> int:
    progress = Progress(sys.stderr)
    try:
        report, verdict = run_check(
            quick=args.quick,
            bench=not args.no_bench,
            share_identifiers=args.share_identifiers,
            progress=progress,
        )
    except Exception as exc:  # noqa: BLE001 - the CLI must never crash
        report, verdict = crash_report(exc)
    doc = document(report, verdict)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
        except OSError as exc:
            print(f"cannot write {args.output}: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(render(report, verdict))
    if args.post:  # worker pipeline: the one-shot path, spooled and retried
        from diagnostics.agent.worker.cli import post_report

        posted = post_report(args, doc["report"])
        if posted:
            return posted
    return 0 if verdict.objective_met else 1


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(Report.model_json_schema(), indent=2, sort_keys=True))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m diagnostics", description="TorchReady GPU environment diagnostics"
    )
    commands = root.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="probe this environment, benchmark and judge it")
    check.add_argument("--json", action="store_true", help="print {report, verdict} as JSON")
    check.add_argument("--output", metavar="FILE", help="also write {report, verdict} to FILE")
    check.add_argument("--quick", action="store_true", help="short benchmarks (about 3 s)")
    check.add_argument("--no-bench", action="store_true", help="facts and correctness only")
    check.add_argument(
        "--share-identifiers",
        action="store_true",
        help="send hostname and GPU UUIDs in clear instead of hashed",
    )
    check.set_defaults(func=cmd_check)
    schema = commands.add_parser("schema", help="print the report's JSON Schema")
    schema.set_defaults(func=cmd_schema)
    # The worker pipeline: `check --post URL --token T`, and `worker`, which takes
    # runs from the server's queue and runs `check` in a fresh subprocess per run.
    from diagnostics.agent.worker.cli import add_post_arguments, add_worker_parser

    add_post_arguments(check)
    add_worker_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))
