"""`python -m diagnostics check`: probe, benchmark, judge, print.

Exit codes:
  0  the objective is met
  1  it is not (the report says why and what to do next)
  2  a usage error (argparse)
  3  the check itself failed: an internal error; the report says what happened

Everything that loads CUDA (NVML, torch, the GPU matmuls and timings) runs in a
child process (diagnostics.agent.isolate): a SIGBUS on import or a hang becomes
a finding and a verdict, never a missing report. The output survives a closed
or broken stdout and any encoding, falling back to ASCII.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from time import monotonic, perf_counter
from typing import Any, TextIO

from diagnostics.agent.isolate import (
    BUDGET_ENV,
    CHILD_ENV,
    crashed_stages,
    emit_stage,
    run_child,
)
from diagnostics.agent.report import Correctness, Finding, Report
from diagnostics.agent.verdict import Verdict, judge

EXIT_MET, EXIT_NOT_MET, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
# A child that takes longer is hung; the full benchmarks take about a minute.
CHILD_TIMEOUT = {"quick": 300.0, "full": 900.0}
ASCII = {"≥": ">=", "≤": "<=", "…": "...", "→": "->", "—": "-", "–": "-", "×": "x", "“": '"'}
ASCII |= {"”": '"', "‘": "'", "’": "'", "±": "+-", "≈": "~", "µ": "u"}


def emit(stream: TextIO | None, text: str) -> bool:
    """Write and flush; False when nobody reads any more (closed, broken pipe)."""
    if stream is None:  # started with stdout closed (`>&-`, pythonw)
        return False
    try:
        try:
            stream.write(text)
        except UnicodeEncodeError:  # cp1252 and friends: say it in ASCII instead
            plain = "".join(ASCII.get(ch, ch) for ch in text)
            stream.write(plain.encode("ascii", errors="replace").decode("ascii"))
        stream.flush()
        return True
    except (OSError, ValueError):  # a broken pipe (`| head -1`) or a closed file
        silence(stream)
        return False


def silence(stream: TextIO) -> None:
    """Point a dead stream at devnull, so the interpreter's last flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


SYMBOLS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "skip", "blocked": "WAIT"}


class Progress:
    """One line per stage on stderr, with the time since start, so stdout stays clean."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = perf_counter()

    def __call__(self, stage: str) -> None:
        emit(self.stream, f"[{perf_counter() - self.started:5.1f}s] {stage}…\n")


def run_check(
    *,
    quick: bool,
    bench: bool,
    share_identifiers: bool,
    progress: Progress,
    crashed: dict[str, str] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[Report, Verdict]:
    # Imported here so that `--help` and usage errors stay instant.
    from diagnostics.agent import bench as benchmarks
    from diagnostics.agent import probe

    crashed = crashed or {}
    done = on_stage or (lambda _: None)
    report, findings = probe.collect(
        share_identifiers=share_identifiers, progress=progress, crashed=crashed, on_stage=done
    )
    progress("correctness of a matmul against a float64 reference")
    if "correctness" in crashed:
        findings.add("correctness", "correctness-crashed", crashed["correctness"])
        error = f"the process running a matmul on the GPU {crashed['correctness']}"
        report.correctness = [
            Correctness(device="cuda", dtype="fp32", threshold=1e-4, ok=False, error=error)
        ]
    else:
        report.correctness = findings.guard(
            "correctness", lambda: benchmarks.correctness(report, findings), list
        )
    done("correctness")
    if bench and "bench" in crashed:
        findings.add("bench", "bench-crashed", f"the benchmarks {crashed['bench']}")
    elif bench:
        report.bench = findings.guard(
            "bench",
            lambda: benchmarks.run_benchmarks(report, findings, quick=quick, progress=progress),
            lambda: None,
        )
    done("bench")
    report = probe.redact(report, findings.as_list())
    progress("verdict")
    return report, judge(report)


def crash_report(what: str) -> tuple[Report, Verdict]:
    """The last line of defence: an unexpected error still yields a report and a verdict."""
    from diagnostics.agent.probe import redact
    from diagnostics.agent.probe.common import clip

    finding = Finding(section="cli", code="internal-error", message=clip(what, 1000))
    report = Report()
    try:
        report = redact(report, [finding])  # an error message may hold paths and URLs
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


def child_timeout(args: argparse.Namespace) -> float:
    """How long before a child counts as hung; TORCHREADY_CHECK_TIMEOUT overrides it."""
    default = CHILD_TIMEOUT["quick" if args.quick or args.no_bench else "full"]
    return _seconds(os.environ.get("TORCHREADY_CHECK_TIMEOUT")) or default


def child_deadline() -> float | None:
    """When the worker that started this check kills it (BUDGET_ENV), if one did."""
    budget = _seconds(os.environ.get(BUDGET_ENV))
    return monotonic() + budget if budget else None


def _seconds(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def child_argv(args: argparse.Namespace) -> list[str]:
    flags = [("--quick", args.quick), ("--no-bench", args.no_bench)]
    flags.append(("--share-identifiers", args.share_identifiers))
    return ["check", "--json", *(flag for flag, on in flags if on)]


def cmd_check(args: argparse.Namespace) -> int:
    if os.environ.get(CHILD_ENV):
        return child_check(args)
    try:
        report, verdict, failed = check_in_child(args)
    except Exception as exc:  # noqa: BLE001 - exit 3 with a report, never a traceback
        report, verdict = crash_report(f"{type(exc).__name__}: {exc}")
        failed = True
    doc = document(report, verdict)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
        except OSError as exc:
            emit(sys.stderr, f"cannot write {args.output}: {exc}\n")
    emit(sys.stdout, json.dumps(doc, indent=2) + "\n" if args.json else render(report, verdict))
    if args.post:  # worker pipeline: the one-shot path, spooled and retried
        from diagnostics.agent.worker.cli import post_report

        posted = post_report(args, doc["report"])
        if posted:
            return posted
    if failed:
        return EXIT_FAILED
    return EXIT_MET if verdict.objective_met else EXIT_NOT_MET


def check_in_child(args: argparse.Namespace) -> tuple[Report, Verdict, bool]:
    """Probe in a child process (a crash or hang there is a finding); judge here."""
    result = run_child(
        child_argv(args),
        timeout=child_timeout(args),
        deadline=child_deadline(),
        relay=lambda line: emit(sys.stderr, line + "\n"),
    )
    if result.document is None:
        ends = "; ".join(f"{stage}: {why}" for stage, why in result.crashed.items())
        report, verdict = crash_report(f"the check's process {ends or result.code}")
        return report, verdict, True
    report = Report.model_validate(result.document["report"])
    return report, judge(report), result.code == EXIT_FAILED


def child_check(args: argparse.Namespace) -> int:
    """In the child: probe and judge, with a JSON line per finished stage, then the document."""
    try:
        report, verdict = run_check(
            quick=args.quick,
            bench=not args.no_bench,
            share_identifiers=args.share_identifiers,
            progress=Progress(sys.stderr),
            crashed=crashed_stages(),
            on_stage=lambda stage: emit_stage(sys.stdout, stage),
        )
        code = EXIT_MET if verdict.objective_met else EXIT_NOT_MET
    except Exception as exc:  # noqa: BLE001 - the CLI must never crash
        report, verdict = crash_report(f"{type(exc).__name__}: {exc}")
        code = EXIT_FAILED
    emit(sys.stdout, json.dumps(document(report, verdict)) + "\n")
    return code


def cmd_schema(args: argparse.Namespace) -> int:
    emit(sys.stdout, json.dumps(Report.model_json_schema(), indent=2, sort_keys=True) + "\n")
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
