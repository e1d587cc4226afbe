"""Side-by-side diagnosis accuracy: our check, torch's collect_env and env-doctor.

A suite of environments broken the way students break them, each with the right
verdict and the right first step written down. Where this machine allows, the
environment is built for real under var/acc/ (venvs whose site-packages are hard
links of .venv's, a user site, PYTHONPATH, conda-like prefixes with conda-meta
records, a library that kills torch with SIGBUS, a stray libnvidia-ml on
LD_LIBRARY_PATH, variables) and all three tools run in it. This machine has no
NVIDIA GPU, so a built environment's report is judged twice: as it is (the right
first step is then "no NVIDIA GPU") and with the recorded GPU facts of an H100
machine (tests/diagnostics/fixtures/h100_ok.json: report.gpu and report.nvml
only, or report.gpu alone where NVML is what is broken), which is how its
environment fault would be judged on a student's GPU machine. Faults that need a
GPU (a wrong CUDA_VISIBLE_DEVICES, a garbage allocator setting, Blackwell, a K80,
torch 2.2 beside NumPy 2) use recorded reports; only our check can read those.

    .venv/bin/python perf/diagnosis_accuracy.py [--env-doctor PATH_TO_ITS_VENV]

Prints the table (right verdict, right first step, crash, wall time per tool)
that perf/RESULTS.md records.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diagnostics.agent.report import Report  # noqa: E402
from diagnostics.agent.verdict import judge  # noqa: E402

WORK = ROOT / "var" / "acc"
FIXTURES = ROOT / "tests" / "diagnostics" / "fixtures"
SITE = ROOT / ".venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
TIMEOUT = 300


@dataclass
class Scenario:
    name: str
    what: str
    step: str  # the check that is the right first step (ours), after grafting GPU facts
    verdict: str  # regex: a tool's output names the fault
    first: str  # regex: a tool's first recommendation is the right step
    build: Callable[[Path], tuple[str, dict[str, str]]] | None = None  # -> python, env
    recorded: Callable[[], Report] | None = None
    graft_nvml: bool = True


@dataclass
class Outcome:
    verdict: bool | None = None  # None: the tool gives none
    first: bool | None = None
    crash: str = ""
    wall: float = 0.0
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- building environments


def venv(path: Path, *, system_site: bool = False) -> str:
    """A venv with .venv's packages (hard links: inside the prefix, no copy)."""
    if path.exists():
        shutil.rmtree(path)
    base = [sys.executable, "-m", "venv", "--without-pip", str(path)]
    subprocess.run(base + (["--system-site-packages"] if system_site else []), check=True)
    site = path / "lib" / SITE.name / "site-packages"
    shutil.rmtree(site)
    subprocess.run(["cp", "-al", str(SITE / "site-packages"), str(site)], check=True)
    return str(path / "bin" / "python")


def conda_env(root: Path, name: str, *, user_site: bool = False) -> tuple[str, dict[str, str]]:
    """A conda-like env under root/envs/name: conda-meta, and sys.prefix its own (a
    sitecustomize makes the venv look like no venv, as a conda env's Python is)."""
    (root / "conda-meta").mkdir(parents=True, exist_ok=True)
    prefix = root / "envs" / name
    python = venv(prefix, system_site=user_site)  # a venv reads the user site only then
    (prefix / "conda-meta").mkdir()
    custom = prefix / "lib" / SITE.name / "site-packages" / "sitecustomize.py"
    custom.unlink(missing_ok=True)  # a hard link: never write through it
    custom.write_text("import sys\nsys.base_prefix = sys.prefix\n")
    return python, {"CONDA_PREFIX": str(prefix), "CONDA_DEFAULT_ENV": name}


def no_gpu_venv(tmp: Path) -> tuple[str, dict[str, str]]:
    return venv(tmp / "venv"), {}


def conda_b_while_a(tmp: Path) -> tuple[str, dict[str, str]]:
    root = tmp / "miniforge3"
    (root / "envs" / "torch-a" / "conda-meta").mkdir(parents=True)
    python, _ = conda_env(root, "torch-b")
    env_a = str(root / "envs" / "torch-a")
    return python, {"CONDA_PREFIX": env_a, "CONDA_DEFAULT_ENV": "torch-a"}


def user_site_twice(tmp: Path) -> tuple[str, dict[str, str]]:
    python, env = conda_env(tmp / "miniforge3", "course", user_site=True)
    user = tmp / "userbase"
    site = user / "lib" / SITE.name / "site-packages"
    site.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(SITE / "site-packages" / "torch"), str(site)], check=True)
    dist = next((SITE / "site-packages").glob("torch-*.dist-info"))
    shutil.copytree(dist, site / "torch-2.11.0.dist-info")
    meta = (site / "torch-2.11.0.dist-info" / "METADATA").read_text()
    meta = re.sub(r"^Version: .*$", "Version: 2.11.0", meta, count=1, flags=re.M)
    (site / "torch-2.11.0.dist-info" / "METADATA").write_text(meta)
    return python, {**env, "PYTHONUSERBASE": str(user)}


def torch_on_pythonpath(tmp: Path) -> tuple[str, dict[str, str]]:
    python, env = conda_env(tmp / "miniforge3", "course")
    other = tmp / "old-project" / "lib"
    other.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(SITE / "site-packages" / "torch"), str(other)], check=True)
    return python, {**env, "PYTHONPATH": str(other)}


def mixed_conda_and_pip(tmp: Path) -> tuple[str, dict[str, str]]:
    python, env = conda_env(tmp / "miniforge3", "course")
    prefix = Path(env["CONDA_PREFIX"])
    record = {"name": "pytorch", "version": "2.5.1", "build": "py3.11_cpu_0", "channel": "pytorch"}
    (prefix / "conda-meta" / "pytorch-2.5.1-py3.11_cpu_0.json").write_text(json.dumps(record))
    return python, env


def torch_sigbus(tmp: Path) -> tuple[str, dict[str, str]]:
    python, env = conda_env(tmp / "miniforge3", "course")
    site = Path(env["CONDA_PREFIX"]) / "lib" / SITE.name / "site-packages"
    # torch's own package, with a library that dies of SIGBUS when loaded: what a
    # truncated .so mapped from a short file does. Everything else is the real torch.
    shutil.rmtree(site / "torch")
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text(
        "import os, signal\n# _C: a truncated libtorch_cpu.so\n"
        "os.kill(os.getpid(), signal.SIGBUS)\n"
    )
    return python, env


def stray_nvml(tmp: Path) -> tuple[str, dict[str, str]]:
    python, env = conda_env(tmp / "miniforge3", "course")
    lib = tmp / "old-cuda" / "lib64"
    lib.mkdir(parents=True)
    (lib / "libnvidia-ml.so.1").write_bytes(b"\x7fELF" + b"\0" * 60)  # a broken copy
    return python, {**env, "LD_LIBRARY_PATH": str(lib)}


# ---------------------------------------------------------------- recorded reports


def fixture(name: str) -> Report:
    folder = FIXTURES / "heldout" if name.startswith("heldout_") else FIXTURES
    return Report.model_validate_json((folder / f"{name}.json").read_text())


def numpy_mismatch() -> Report:
    """torch 2.2.2 (built against NumPy 1) beside NumPy 2.1: torch's own import warning
    and from_numpy's error, as torch 2.2 prints them."""
    report = fixture("h100_ok")
    report.torch.version, report.torch.cuda = "2.2.2+cu121", "12.1"
    report.torch.import_warnings = [
        "A module that was compiled using NumPy 1.x cannot be run in NumPy 2.1.3 as it may "
        "crash. To support both 1.x and 2.x versions of NumPy, modules must be compiled with "
        "NumPy 2.0.",
        "Failed to initialize NumPy: _ARRAY_API not found (Triggered internally at "
        "../torch/csrc/utils/tensor_numpy.cpp:84.)",
    ]
    report.torch.numpy_version, report.torch.numpy_error = (
        "2.1.3",
        "RuntimeError: Numpy is not available",
    )
    return report


def alloc_conf_garbage() -> Report:
    report = fixture("h100_ok")
    report.variables.values["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments=yes please"
    for c in report.correctness:
        if c.device == "cuda":
            c.ok, c.rel_err = False, None
            c.error = (
                "RuntimeError: Unrecognized CachingAllocator option: expandable_segments=yes please"
            )
    report.bench = None
    return report


def blackwell_580() -> Report:
    report = fixture("unsupported_arch")
    report.torch.version = "2.13.0+cu126"
    report.nvml.driver_version = "580.95.05"
    return report


def k80_470() -> Report:
    report = fixture("driver_too_old")
    for d in report.torch.devices:
        d.name, d.major, d.minor = "Tesla K80", 3, 7
    for n in report.nvml.devices:
        n.name, n.compute_capability = "Tesla K80", "3.7"
    report.nvml.driver_version = "470.256.02"
    return report


def pascal_cu130() -> Report:
    report = fixture("gpu_slower_than_cpu")
    report.torch.version, report.torch.cuda = "2.13.0+cu130", "13.0"
    report.torch.arch_list = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]
    report.nvml.driver_version = "580.95.05"
    return report


SCENARIOS = [
    Scenario(
        "no NVIDIA GPU, venv",
        "a venv on a machine with no NVIDIA GPU",
        "gpu-present",
        r"no nvidia gpu|no (nvidia )?gpu (was )?(found|detected)",
        r"gpu server|colab|machine with an nvidia gpu",
        build=no_gpu_venv,
    ),
    Scenario(
        "conda env B runs, A active",
        "torch-b's Python while torch-a is activated",
        "conda-env",
        r"torch-a.*torch-b|torch-b.*torch-a|wrong (conda )?env",
        r"conda (de)?activate",
        build=conda_b_while_a,
    ),
    Scenario(
        "torch twice (venv + user site)",
        "pip torch in the venv and in the user site",
        "no-mixed-torch",
        r"installed (2|two|twice|multiple) times|duplicate torch|two torch",
        r"pip uninstall",
        build=user_site_twice,
    ),
    Scenario(
        "torch from PYTHONPATH",
        "PYTHONPATH leads to another project's torch",
        "torch-in-env",
        r"outside the active env|pythonpath",
        r"unset pythonpath",
        build=torch_on_pythonpath,
    ),
    Scenario(
        "conda + pip torch",
        "a conda pytorch record beside pip's torch",
        "no-mixed-torch",
        r"both conda and pip|mixed",
        r"conda remove",
        build=mixed_conda_and_pip,
    ),
    Scenario(
        "torch dies of SIGBUS",
        "a truncated torch library: SIGBUS on import",
        "torch-importable",
        r"crash|sigbus|signal 7",
        r"reinstall|pip uninstall",
        build=torch_sigbus,
    ),
    Scenario(
        "stray libnvidia-ml",
        "a broken libnvidia-ml.so.1 on LD_LIBRARY_PATH",
        "driver-libs",
        r"ld_library_path",
        r"unset ld_library_path|ld_library_path",
        build=stray_nvml,
        graft_nvml=False,
    ),
    Scenario(
        "torch 2.2 + NumPy 2 (recorded)",
        "torch built for NumPy 1 beside NumPy 2",
        "torch-numpy",
        r"numpy",
        r"numpy<2",
        recorded=numpy_mismatch,
    ),
    Scenario(
        "garbage ALLOC_CONF (recorded)",
        "PYTORCH_CUDA_ALLOC_CONF with a bad value",
        "cuda-tensor-op",
        r"alloc",
        r"unset pytorch_cuda_alloc_conf",
        recorded=alloc_conf_garbage,
    ),
    Scenario(
        "CUDA_VISIBLE_DEVICES=-1 (recorded)",
        "a variable hides every GPU",
        "gpu-visible",
        r"cuda_visible_devices",
        r"unset cuda_visible_devices",
        recorded=lambda: fixture("heldout_cvd_minus_one"),
    ),
    Scenario(
        "Blackwell, driver 580 (recorded)",
        "sm_120 with a cu126 torch",
        "arch-supported",
        r"sm_120",
        r"whl/cu13[02]",
        recorded=blackwell_580,
    ),
    Scenario(
        "Pascal on cu130 (recorded)",
        "sm_61 with a cu130 torch",
        "arch-supported",
        r"sm_61",
        r"whl/cu126",
        recorded=pascal_cu130,
    ),
    Scenario(
        "K80 on driver 470 (recorded)",
        "a Kepler GPU on its last driver branch",
        "driver-new-enough",
        r"too old|kepler",
        r"last driver branch",
        recorded=k80_470,
    ),
    Scenario(
        "macOS (recorded)",
        "a Mac: no CUDA",
        "platform",
        r"no cuda on macs|macos",
        r"gpu server|colab",
        recorded=lambda: fixture("macos"),
    ),
]


# ---------------------------------------------------------------- running the tools


def run(
    command: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str] | None, float]:
    started = time.perf_counter()
    full = {"PATH": os.environ["PATH"], "HOME": str(WORK / "home"), "LANG": "C.UTF-8", **env}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            cwd=WORK,
            env=full,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - started
    return done, time.perf_counter() - started


def crash_of(done: subprocess.CompletedProcess[str] | None) -> str:
    if done is None:
        return "hang"
    if done.returncode < 0:
        return f"signal {-done.returncode}"
    if "Traceback (most recent call last)" in done.stderr:
        return "traceback"
    return ""


def graft(report: Report, scenario: Scenario) -> Report:
    """The facts only a GPU machine has, from the recorded H100 report."""
    h100 = fixture("h100_ok")
    report = report.model_copy(deep=True)
    report.gpu = report.gpu.model_copy(
        update={"nvidia": True, "nvidia_devices": ["10de:2330 H100"]}
    )
    if scenario.graft_nvml:
        report.nvml = h100.nvml
    return report


def ours(scenario: Scenario, python: str | None, env: dict[str, str]) -> tuple[Outcome, Outcome]:
    """(as judged on this machine, as judged with the recorded GPU facts)"""
    if python is None:
        assert scenario.recorded is not None
        started = time.perf_counter()
        verdict = judge(scenario.recorded())
        wall = time.perf_counter() - started
        return Outcome(note="recorded"), score_ours(verdict, scenario, wall)
    env = {**env, "PYTHONPATH": os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)}
    done, wall = run([python, "-m", "diagnostics", "check", "--json", "--no-bench"], env)
    crash = crash_of(done)
    if done is None or not done.stdout.strip():
        return Outcome(crash=crash or "no output", wall=wall), Outcome(crash=crash, wall=wall)
    report = Report.model_validate(json.loads(done.stdout)["report"])
    here = judge(report)
    local = Outcome(
        verdict=here.next_step == "gpu-present",
        first=here.next_step == "gpu-present",
        crash=crash,
        wall=wall,
        note=f"next: {here.next_step}",
    )
    if scenario.step == "gpu-present":
        return local, score_ours(here, scenario, wall, crash)
    return local, score_ours(judge(graft(report, scenario)), scenario, wall, crash)


def score_ours(verdict, scenario: Scenario, wall: float, crash: str = "") -> Outcome:
    step = verdict.next_check()
    found = any(c.id == scenario.step and c.status == "fail" for c in verdict.checks)
    first = (
        step is not None
        and step.id == scenario.step
        and bool(re.search(scenario.first, (step.hint or "").lower()))
    )
    return Outcome(
        verdict=found, first=first, crash=crash, wall=wall, note=f"next: {verdict.next_step}"
    )


def collect_env(scenario: Scenario, python: str, env: dict[str, str]) -> Outcome:
    done, wall = run([python, "-m", "torch.utils.collect_env"], env)
    text = ((done.stdout + done.stderr) if done else "").lower()
    # collect_env lists facts and never recommends a step; it names a fault only in passing.
    return Outcome(
        verdict=bool(re.search(scenario.verdict, text))
        and done is not None
        and done.returncode == 0,
        first=False,
        crash=crash_of(done),
        wall=wall,
    )


def env_doctor(scenario: Scenario, python: str, env: dict[str, str], site: Path) -> Outcome:
    code = (
        f"import sys; sys.path.append({str(site)!r}); from env_doctor.cli import main; "
        "sys.argv = ['env-doctor', 'check', '--json']; sys.exit(main())"
    )
    done, wall = run([python, "-c", code], env)
    crash = crash_of(done)
    try:
        doc = json.loads(done.stdout[done.stdout.index("{") :]) if done else {}
    except ValueError:
        doc = {}
    text = json.dumps(doc).lower()
    steps = [
        r
        for check in (doc.get("checks") or {}).values()
        if isinstance(check, dict) and check.get("status") not in ("success", "ok")
        for r in (check.get("issues") or []) + (check.get("recommendations") or [])
    ]
    first = str(steps[0]).lower() if steps else ""
    return Outcome(
        verdict=bool(doc) and bool(re.search(scenario.verdict, text)),
        first=bool(re.search(scenario.first, first)),
        crash=crash,
        wall=wall,
        note=first[:60],
    )


def mark(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env-doctor", type=Path, default=Path("/tmp/i13/envdoctor-venv"))
    args = parser.parse_args()
    doctor_site = next(args.env_doctor.glob("lib/python*/site-packages"), None)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "home").mkdir(exist_ok=True)
    header = f"| {'scenario':<36} | {'tool':<22} | verdict | first step | crash | wall s | note |"
    rows = [header, "|" + "|".join("---" for _ in range(7)) + "|"]
    totals: dict[str, list[int]] = {}
    for s in SCENARIOS:
        tmp = WORK / re.sub(r"\W+", "-", s.name.lower()).strip("-")
        python, env = (None, {})
        if s.build:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            python, env = s.build(tmp)
        local, judged = ours(s, python, env)
        results = [
            ("ours, with GPU facts" if python and s.step != "gpu-present" else "ours", judged)
        ]
        if python and s.step != "gpu-present":
            results.append(("ours, this machine", local))
        if python:
            results.append(("torch collect_env", collect_env(s, python, env)))
            if doctor_site:
                results.append(("env-doctor 0.3.5", env_doctor(s, python, env, doctor_site)))
        else:
            results += [
                ("torch collect_env", Outcome(note="needs the machine")),
                ("env-doctor 0.3.5", Outcome(note="needs the machine")),
            ]
        for tool, o in results:
            key = tool.split(",")[0]
            if o.verdict is not None and tool != "ours, this machine":
                t = totals.setdefault(key, [0, 0, 0, 0])
                t[0] += int(bool(o.verdict))
                t[1] += int(bool(o.first))
                t[2] += int(bool(o.crash))
                t[3] += 1
            rows.append(
                f"| {s.name:<36} | {tool:<22} | {mark(o.verdict):^7} | {mark(o.first):^10} | "
                f"{o.crash or '-':^5} | {o.wall:6.1f} | {o.note.replace('|', '/')} |"
            )
    print("\n".join(rows))
    print()
    for tool, (v, f, c, n) in totals.items():
        print(f"{tool}: right verdict {v}/{n}, right first step {f}/{n}, crashed {c}/{n}")


if __name__ == "__main__":
    main()
