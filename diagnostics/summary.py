"""A report's summary: the few facts a class dashboard shows, stored beside the report.

A report holds about 7 KiB of facts and 5 KiB of verdict. A dashboard of 1,000
students needs a few hundred bytes of each student's latest report: the GPU,
its VRAM, the driver, torch and its build, the bf16 and fp32 matmul results,
and the failing checks with their hints. `report_summary` picks those out once,
when the report is stored (and in a data migration for reports stored before),
so reading a class never decompresses or decodes the full JSON.

It is a pure function of the stored facts and the server's verdict. Bump
SUMMARY_VERSION when its shape changes and backfill in a migration.
"""

from __future__ import annotations

from diagnostics.report_view import torch_build

SUMMARY_VERSION = 1


def _first_device(section: dict) -> dict:
    devices = section.get("devices") or [{}]
    return devices[0] if isinstance(devices, list) and isinstance(devices[0], dict) else {}


def _number(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _bench(results, name: str) -> dict | None:
    for r in results if isinstance(results, list) else ():
        if (
            isinstance(r, dict)
            and r.get("name") == name
            and r.get("device") == "cuda"
            and r.get("median")
        ):
            return {"tflops": r["median"] / 1e12, "pct_of_peak": r.get("pct_of_peak")}
    return None


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def report_summary(facts: dict | None, verdict: dict | None, *, needs_review: bool = False) -> dict:
    """The dashboard's view of one report, as a small JSON-able dict. needs_review: the
    checks pass but the report is flagged (implausible or copied), so it does not verify."""
    facts, verdict = facts or {}, verdict or {}
    nvml, torch, bench = (_dict(facts.get(name)) for name in ("nvml", "torch", "bench"))
    nvml_gpu, torch_gpu = _first_device(nvml), _first_device(torch)
    vram = _number(nvml_gpu.get("memory_total")) or _number(torch_gpu.get("total_memory"))
    results = bench.get("results")
    checks = verdict.get("checks")
    return {
        "v": SUMMARY_VERSION,
        "gpu": nvml_gpu.get("name") or torch_gpu.get("name") or "no GPU found",
        "vram_gib": round(vram / 2**30, 1) if vram else None,
        "driver": nvml.get("driver_version") or "",
        "torch": torch.get("version") or "",
        "build": torch_build({"torch": torch}),
        "bf16": _bench(results, "matmul-bf16"),
        "fp32": _bench(results, "matmul-fp32"),
        "needs_review": needs_review,
        "failing": [
            {
                "id": c.get("id", "?"),
                "summary": c.get("summary") or "",
                "hint": c.get("hint") or "",
            }
            for c in (checks if isinstance(checks, list) else ())
            if isinstance(c, dict) and c.get("status") == "fail"
        ],
    }
