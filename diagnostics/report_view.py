"""What the report page shows: facts in plain words, benchmarks, and what changed."""

from __future__ import annotations

from typing import Any

from .agent.verdict.ids import CheckId
from .models import Report


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def torch_build(facts: dict) -> str:
    torch = facts.get("torch") or {}
    if not torch.get("importable"):
        return "torch not importable"
    if torch.get("cuda"):
        return f"CUDA {torch['cuda']} build"
    if torch.get("hip"):
        return f"ROCm {torch['hip']} build"
    return "CPU-only build"


def gpu_names(facts: dict) -> str:
    devices = _get(facts, "nvml.devices") or _get(facts, "torch.devices") or []
    return ", ".join(d.get("name", "?") for d in devices) or "none found"


def environment(facts: dict) -> str:
    env = facts.get("env") or {}
    kind = env.get("kind", "unknown")
    if kind == "conda":
        name = env.get("conda_env_name") or "?"
        return f"conda env “{name}”" + (" (base)" if env.get("conda_is_base") else "")
    return {"venv": "a venv (not conda)", "none": "no virtual environment"}.get(kind, kind)


def fact_rows(facts: dict) -> list[tuple[str, str]]:
    host = facts.get("host") or {}
    return [
        ("GPU", gpu_names(facts)),
        ("Driver", _get(facts, "nvml.driver_version") or _get(facts, "nvml.error") or "not found"),
        ("Newest CUDA the driver supports", _get(facts, "nvml.cuda_driver_version") or "—"),
        ("torch", _get(facts, "torch.version") or "not installed"),
        ("torch build", torch_build(facts)),
        (
            "torch sees CUDA",
            {True: "yes", False: "no"}.get(_get(facts, "torch.cuda_available"), "—"),
        ),
        ("Environment", environment(facts)),
        ("Python", _get(facts, "python.version") or "—"),
        (
            "OS",
            " ".join(
                x for x in (host.get("os_name") or host.get("system"), host.get("machine")) if x
            )
            or "—",
        ),
        (
            "System nvcc",
            _get(facts, "toolkit.nvcc_version") or "none (fine: torch brings its own CUDA runtime)",
        ),
    ]


def bench_rows(facts: dict) -> list[dict]:
    rows = []
    for result in _get(facts, "bench.results") or []:
        unit = result.get("unit", "FLOP/s")
        scale, label = (1e12, "TFLOP/s") if unit == "FLOP/s" else (1e9, "GB/s")
        median = result.get("median")
        rows.append(
            {
                "name": result.get("name"),
                "device": result.get("device"),
                "status": result.get("status"),
                "value": f"{median / scale:.2f} {label}"
                if median is not None
                else result.get("reason") or "—",
                "pct_of_peak": result.get("pct_of_peak"),
                "bar": min(100, round(result.get("pct_of_peak") or 0)),
            }
        )
    return rows


CHECK_NAMES: dict[str, str] = {
    CheckId.PLATFORM: "Operating system",
    CheckId.GPU_PRESENT: "NVIDIA GPU in this machine",
    CheckId.WSL_DRIVER: "WSL GPU support",
    CheckId.DRIVER_LIBS: "Driver libraries on LD_LIBRARY_PATH",
    CheckId.DRIVER_PRESENT: "NVIDIA driver",
    CheckId.DRIVER_NEW_ENOUGH: "Driver new enough",
    CheckId.CONDA_ENV: "Conda env",
    CheckId.NO_MIXED_TORCH: "torch installed once",
    CheckId.TORCH_IMPORTABLE: "torch imports",
    CheckId.TORCH_IN_ENV: "torch from this env",
    CheckId.TORCH_NUMPY: "torch and NumPy agree",
    CheckId.TORCH_CUDA_BUILD: "torch built with CUDA",
    CheckId.GPU_VISIBLE: "torch sees the GPU",
    CheckId.ARCH_SUPPORTED: "GPU architecture supported",
    CheckId.CUDA_TENSOR_OP: "Tensor maths on the GPU",
    CheckId.GPU_BEATS_CPU: "GPU faster than CPU",
    CheckId.SYSTEM_NVCC: "System CUDA toolkit",
}


def check_name(check_id: str) -> str:
    return CHECK_NAMES.get(check_id) or check_id.replace("-", " ").capitalize()


def check_groups(verdict: dict, failing_order: list[dict]) -> dict:
    """Failing checks first (root cause first), then the rest; checks that were not
    judged (skipped, or blocked by a failure) grouped under the reason why."""
    checks = [c for c in verdict.get("checks", []) if isinstance(c, dict)]
    by_id = {c.get("id"): c for c in checks}
    named = [{**c, "name": check_name(c.get("id", ""))} for c in checks]
    skipped: dict[str, list[dict]] = {}
    for check in named:
        if check.get("status") not in ("skip", "blocked"):
            continue
        summary = check.get("summary") or ""
        cause = by_id.get(check.get("blocked_by")) or (
            by_id.get(summary[4:]) if summary.startswith("see ") else None
        )
        reason = (
            f"{check_name(cause['id'])} failed: {cause.get('summary', '')}" if cause else summary
        )
        skipped.setdefault(reason, []).append(check)
    rank = {c.get("id"): i for i, c in enumerate(failing_order)}
    failing = sorted(
        (c for c in named if c.get("status") == "fail"),
        key=lambda c: rank.get(c["id"], len(rank)),
    )
    return {
        "failing": failing,
        "passing": [c for c in named if c.get("status") in ("pass", "warn")],
        "warnings": sum(c.get("status") == "warn" for c in named),
        "skipped": list(skipped.items()),
    }


def report_context(report: Report) -> dict:
    return {
        "checks": report.verdict.get("checks", []),
        "facts": fact_rows(report.facts),
        "bench": bench_rows(report.facts),
        "findings": report.facts.get("findings", []),
    }


def compare_rows(report: Report, other: Report) -> list[tuple[str, str, str]]:
    """(what, this report, the other) for every fact and benchmark figure that differs."""
    pairs = zip(fact_rows(report.facts), fact_rows(other.facts), strict=True)
    rows = [(label, now, then) for (label, now), (_, then) in pairs if now != then]
    now_bench = {(b["name"], b["device"]): b["value"] for b in bench_rows(report.facts)}
    then_bench = {(b["name"], b["device"]): b["value"] for b in bench_rows(other.facts)}
    for key in sorted(now_bench.keys() | then_bench.keys(), key=str):
        now, then = now_bench.get(key, "not run"), then_bench.get(key, "not run")
        if now != then:
            rows.append((f"{key[0]} ({key[1]})", now, then))
    return rows


def report_changes(report: Report, previous: Report | None) -> list[str]:
    """What changed since the previous report, in words a student understands."""
    if previous is None:
        return []
    now, before = report.facts, previous.facts
    changes = []
    build_now, build_before = torch_build(now), torch_build(before)
    if build_now != build_before:
        changes.append(
            f"torch is now a {build_now}"
            if "build" in build_now
            else f"{build_now} (was {build_before})"
        )
    for label, path in (
        ("torch", "torch.version"),
        ("the driver", "nvml.driver_version"),
        ("Python", "python.version"),
    ):
        a, b = _get(before, path), _get(now, path)
        if a != b:
            changes.append(f"{label} changed from {a or 'none'} to {b or 'none'}")
    if environment(now) != environment(before):
        changes.append(f"the environment is now {environment(now)} (was {environment(before)})")
    if gpu_names(now) != gpu_names(before):
        changes.append(f"GPUs seen: {gpu_names(now)} (was {gpu_names(before)})")
    old_status = {c.get("id"): c.get("status") for c in previous.verdict.get("checks", [])}
    for check in report.verdict.get("checks", []):
        was = old_status.get(check.get("id"))
        if was and was != check.get("status"):
            name = check_name(check.get("id", ""))
            changes.append(f"check “{name}”: {was} → {check.get('status')}")
    return changes
