"""`python -m diagnostics check` as a real subprocess in this CPU-torch test env."""

import json

import pytest

from diagnostics.agent import cli
from diagnostics.agent.probe.presence import pci_presence

from .reports import judged_with_an_nvidia_gpu, run_cli, run_json


@pytest.mark.slow
@pytest.mark.skipif(pci_presence().nvidia is not False, reason="needs a machine without NVIDIA")
def test_this_gpu_less_machine_gets_its_own_verdict_and_exit_1():
    done = run_cli("check", "--quick")
    assert done.returncode == 1, done.stderr
    line = next(row for row in done.stdout.splitlines() if "gpu-present" in row)
    assert line.split()[0] == "FAIL" and "No NVIDIA GPU in this machine" in line
    assert "Next step (gpu-present)" in done.stdout and "GPU server" in done.stdout
    line = next(row for row in done.stdout.splitlines() if "torch-cuda-build" in row)
    assert line.split()[0] == "WAIT"  # no driver or wheel advice for hardware that isn't there
    assert "index-url" not in done.stdout and "ubuntu-drivers" not in done.stdout
    assert "Objective not met yet" in done.stdout
    assert "torch…" in done.stderr and "verdict…" in done.stderr  # progress goes to stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_json_output_holds_the_report_and_the_verdict_and_matches_the_file(tmp_path):
    out = tmp_path / "check.json"
    done, doc = run_json("--quick", "--output", str(out))
    assert done.returncode == 1
    assert set(doc) == {"report", "verdict"}
    assert doc["verdict"]["objective_met"] is False
    assert doc["verdict"]["next_step"] == "gpu-present"
    checks = judged_with_an_nvidia_gpu(doc["report"])
    assert checks["torch-cuda-build"]["status"] == "fail"
    assert checks["torch-cuda-build"]["evidence"]["torch.version.cuda"] is None
    # torch 2.13 here: the same release's CUDA build, with torchvision and torchaudio.
    hint = '"torch==2.13.*" "torchvision==0.28.*" "torchaudio==2.13.*" --index-url '
    assert hint + "https://download.pytorch.org/whl/cu" in checks["torch-cuda-build"]["hint"]
    written = json.loads(out.read_text())
    assert written["report"]["report_id"] == doc["report"]["report_id"]
    bench = doc["report"]["bench"]
    assert bench["quick"] is True
    assert any(r["name"] == "matmul-fp32" and r["status"] == "ok" for r in bench["results"])


@pytest.mark.slow
def test_no_bench_skips_timings_but_still_checks_correctness():
    _, doc = run_json("--no-bench")
    assert doc["report"]["bench"] is None
    assert doc["report"]["correctness"][0]["device"] == "cpu"
    gpu_vs_cpu = next(c for c in doc["verdict"]["checks"] if c["id"] == "gpu-beats-cpu")
    # No GPU here: the speed check is skipped, or blocked by the missing GPU or driver.
    assert gpu_vs_cpu["status"] in ("skip", "blocked")


@pytest.mark.slow
def test_usage_errors_exit_2():
    assert run_cli("check", "--no-such-flag").returncode == 2
    assert run_cli().returncode == 2


@pytest.mark.slow
def test_the_quick_check_runs_the_quick_benchmarks():
    # Its wall time (about 3 s idle, most of it torch's import) is measured by
    # perf/probe_bench.py, not asserted here: it stretches with the machine's load.
    done = run_cli("check", "--quick", "--json")
    assert done.returncode == 1
    bench = json.loads(done.stdout)["report"]["bench"]
    assert bench["quick"] is True
    matmul = next(r for r in bench["results"] if (r["name"], r["device"]) == ("matmul-fp32", "cpu"))
    # A loaded machine cuts the budget, never the figure: the minimum samples are taken.
    assert matmul["status"] == "ok" and matmul["samples"] >= 1 and matmul["median"], matmul


def test_the_cli_and_the_json_name_the_same_next_step():
    from diagnostics.agent.verdict import judge

    from .reports import fixture_report

    report = fixture_report("venv_not_conda")
    report.nvml = report.nvml.model_copy(
        update={"available": False, "devices": [], "error": "NVMLError_LibraryNotFound"}
    )
    report.torch.cuda_available, report.torch.device_count, report.torch.devices = False, 0, []
    verdict = judge(report)
    doc = cli.document(report, verdict)["verdict"]
    assert doc["next_step"] == "driver-present"
    text = cli.render(report, verdict)
    assert f"Next step (driver-present): {doc['summary']}" in text
    # The venv is still judged, but it comes after the driver.
    conda = next(c for c in doc["checks"] if c["id"] == "conda-env")
    assert (conda["status"], conda["blocked_by"]) == ("fail", "driver-present")
    assert text.index("Next step") < text.index("After that") < text.index("conda-env: ")


def test_the_table_shows_a_shared_fix_once_and_the_benchmarks_with_their_peaks():
    from diagnostics.agent.verdict import judge

    from .reports import fixture_report

    report = fixture_report("unsupported_arch")
    text = cli.render(report, judge(report))
    assert text.count("whl/cu128") == 1
    assert "FAIL  arch-supported" in text and "WAIT  cuda-tensor-op" in text
    assert "Next step (arch-supported):" in text
    report = fixture_report("h100_ok")
    text = cli.render(report, judge(report))
    assert "matmul-bf16   cuda   724.00 TFLOP/s" in text and "68% of peak" in text
    assert text.rstrip().endswith("Objective met: the conda env runs PyTorch on the GPU.")
