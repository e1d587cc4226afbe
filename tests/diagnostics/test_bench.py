"""Benchmarks: the peak formulas, the timing loops and a real CPU run within budget."""

import time

import pytest
import torch

from diagnostics.agent.bench import correctness, run_benchmarks
from diagnostics.agent.bench.correctness import THRESHOLDS, check_matmul
from diagnostics.agent.bench.peak import matmul_peak, memory_peak, pcie_peak
from diagnostics.agent.bench.suite import fit_matmul
from diagnostics.agent.bench.timing import MIN_SAMPLES, time_cpu
from diagnostics.agent.probe import collect
from diagnostics.agent.probe.common import Findings


@pytest.mark.parametrize(
    "gpu, dtype, expected_tflops",
    [
        (("NVIDIA A100-SXM4-80GB", 8, 0, 108, 1410), "fp16", 312),
        (("NVIDIA A100-SXM4-80GB", 8, 0, 108, 1410), "tf32", 156),
        (("NVIDIA H100 80GB HBM3", 9, 0, 132, 1980), "fp32", 66.9),
        (("NVIDIA GeForce RTX 3090", 8, 6, 82, 1695), "fp32", 35.6),
        (("NVIDIA GeForce RTX 3090", 8, 6, 82, 1695), "fp16", 71.2),  # GeForce: half-rate fp32 acc
        (("NVIDIA A40", 8, 6, 84, 1740), "fp16", 149.7),
        (("NVIDIA GeForce RTX 4090", 8, 9, 128, 2520), "tf32", 82.6),
    ],
)
def test_matmul_peaks_match_the_datasheets(gpu, dtype, expected_tflops):
    name, major, minor, sms, clock = gpu
    peak = matmul_peak(
        name=name, major=major, minor=minor, sm_count=sms, clock_mhz=clock, dtype=dtype
    )
    assert peak / 1e12 == pytest.approx(expected_tflops, rel=0.01)


def test_unknown_archs_and_missing_clocks_have_no_peak():
    assert matmul_peak(name="x", major=3, minor=5, sm_count=15, clock_mhz=900, dtype="fp32") is None
    assert (
        matmul_peak(name="x", major=9, minor=0, sm_count=132, clock_mhz=None, dtype="fp32") is None
    )
    assert (
        matmul_peak(name="x", major=7, minor=5, sm_count=40, clock_mhz=1590, dtype="bf16") is None
    )


def test_memory_and_pcie_peaks():
    assert memory_peak(mem_clock_mhz=2619, bus_width_bits=5120) / 1e12 == pytest.approx(3.35, 0.01)
    assert memory_peak(mem_clock_mhz=9751, bus_width_bits=384) / 1e9 == pytest.approx(936, 0.01)
    assert pcie_peak(generation=4, width=16) / 1e9 == pytest.approx(31.5, 0.01)
    assert pcie_peak(generation=None, width=16) is None


def test_matmul_size_fits_half_the_free_memory():
    assert fit_matmul(80 * 2**30, 2, [8192, 4096, 2048]) == 8192
    assert fit_matmul(600 * 2**20, 4, [8192, 4096, 2048]) == 4096  # 3 x 64 MiB < 300 MiB
    assert fit_matmul(10 * 2**20, 4, [8192, 4096, 2048]) == 2048  # smallest as a last resort


def test_the_cpu_timer_stops_at_its_budget():
    started = time.perf_counter()
    timed = time_cpu(lambda: time.sleep(0.02), budget_s=0.2)
    assert time.perf_counter() - started < 0.35
    assert 3 <= len(timed.seconds) <= 10 and not timed.timed_out
    assert all(s >= 0.02 for s in timed.seconds)


def test_a_call_slower_than_the_budget_still_gives_the_minimum_samples():
    # A loaded machine: each call outlasts the whole budget, yet there is a figure.
    timed = time_cpu(lambda: time.sleep(0.05), budget_s=0.01)
    assert timed.timed_out and len(timed.seconds) == MIN_SAMPLES
    assert timed.rates(1.0)[0] > 0


def test_a_budget_already_spent_still_gives_the_minimum_samples():
    timed = time_cpu(lambda: None, budget_s=-1.0)
    assert len(timed.seconds) == MIN_SAMPLES


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_cpu_matmuls_agree_with_float64_within_the_dtypes_threshold(dtype):
    result = check_matmul(torch, "cpu", dtype)
    assert result.ok and 0 < result.rel_err < THRESHOLDS[dtype]


def test_the_correctness_check_catches_a_wrong_result(monkeypatch):
    real = torch.Tensor.__matmul__

    # One corrupted output column, as a bad kernel or broken memory would give.
    def wrong(a, b):
        out = real(a, b)
        if a.dtype == torch.float32:
            out = out.clone()
            out[:, 0] = 0
        return out

    monkeypatch.setattr(torch.Tensor, "__matmul__", wrong)
    result = check_matmul(torch, "cpu", "fp32")
    assert not result.ok and result.rel_err > THRESHOLDS["fp32"]


def test_a_real_cpu_only_run_times_the_cpu_and_skips_the_gpu_with_a_reason():
    report, findings = collect()
    report.correctness = correctness(report, findings)
    started = time.perf_counter()
    bench = run_benchmarks(report, findings, quick=True)
    assert time.perf_counter() - started < 2.0
    by_key = {(r.name, r.device): r for r in bench.results}
    matmul = by_key[("matmul-fp32", "cpu")]
    assert matmul.status == "ok" and matmul.samples >= 3 and matmul.unit == "FLOP/s"
    assert matmul.min <= matmul.median <= matmul.max and matmul.median > 1e9
    assert by_key[("copy", "cpu")].unit == "B/s"
    gpu = [r for r in bench.results if r.device == "cuda"]
    assert len(gpu) == 9 and all(r.status == "skipped" for r in gpu)
    assert gpu[0].reason == "torch is not a CUDA build"
    assert [c.device for c in report.correctness] == ["cpu"] and report.correctness[0].ok


def test_benchmark_errors_are_findings_not_crashes():
    from diagnostics.agent.bench.suite import Runner

    findings = Findings()
    runner = Runner(
        torch,
        quick=True,
        deadline=time.perf_counter() + 5,
        findings=findings,
        progress=lambda _: None,
    )

    def broken():
        raise RuntimeError("boom")

    runner.run("matmul-fp32", "cpu", "cpu-matmul", broken)
    assert runner.results[0].status == "error" and "boom" in runner.results[0].reason
    assert findings.as_list()[0].code == "bench-error"
