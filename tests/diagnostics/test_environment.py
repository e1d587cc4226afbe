"""Environment detection against real directory layouts: conda base, named envs, venvs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.agent.probe.common import Findings
from diagnostics.agent.probe.environment import (
    channel_name,
    collect_env,
    conda_records,
    is_conda_root,
)

from .reports import ROOT, judged_with_an_nvidia_gpu, run_cli


def make_conda_root(tmp_path: Path) -> Path:
    """The layout `conda`/Miniforge leave: conda-meta with history and records, condabin, envs."""
    root = tmp_path / "miniforge3"
    (root / "conda-meta").mkdir(parents=True)
    (root / "conda-meta" / "history").write_text("==> 2024-05-01 10:00:00 <==\n# cmd: install\n")
    (root / "condabin").mkdir()
    write_record(
        root,
        "conda",
        "24.3.0",
        "py311h06a4308_0",
        "https://conda.anaconda.org/conda-forge/linux-64",
    )
    write_record(root, "python", "3.11.9", "hb806964_0_cpython", "conda-forge")
    return root


def make_named_env(root: Path, name: str) -> Path:
    env = root / "envs" / name
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text(f"==> 2024-05-02 <==\n# cmd: create -n {name}\n")
    write_record(env, "python", "3.11.9", "hb806964_0_cpython", "conda-forge")
    write_record(
        env, "pytorch", "2.3.1", "py3.11_cpu_0", "https://conda.anaconda.org/pytorch/linux-64"
    )
    write_record(env, "cpuonly", "2.0", "0", "https://conda.anaconda.org/pytorch/noarch")
    write_record(env, "pytorch-mutex", "1.0", "cpu", "https://conda.anaconda.org/pytorch/noarch")
    write_record(env, "libgcc-ng", "13.2.0", "h77fa898_7", "conda-forge")
    return env


def write_record(prefix: Path, name: str, version: str, build: str, channel: str) -> None:
    record = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "channel": channel,
        "files": [f"lib/{name}.so"],
        "depends": [],
    }
    path = prefix / "conda-meta" / f"{name}-{version}-{build}.json"
    path.write_text(json.dumps(record))


@pytest.fixture
def running_in(monkeypatch):
    def use(prefix: Path, base_prefix: Path | None = None, **variables: str) -> None:
        monkeypatch.setattr(sys, "prefix", str(prefix))
        monkeypatch.setattr(sys, "base_prefix", str(base_prefix or prefix))
        for name in ("CONDA_PREFIX", "CONDA_DEFAULT_ENV"):
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return use


def test_the_root_install_is_the_base_env(tmp_path, running_in):
    root = make_conda_root(tmp_path)
    running_in(root, CONDA_PREFIX=str(root), CONDA_DEFAULT_ENV="base")
    env = collect_env()
    assert (env.kind, env.conda_is_base, env.conda_env_name) == ("conda", True, "base")


def test_a_named_env_under_envs_is_not_base(tmp_path, running_in):
    root = make_conda_root(tmp_path)
    env_dir = make_named_env(root, "torch-gpu")
    running_in(env_dir, CONDA_PREFIX=str(env_dir), CONDA_DEFAULT_ENV="torch-gpu")
    env = collect_env()
    assert (env.kind, env.conda_is_base, env.conda_env_name) == ("conda", False, "torch-gpu")


def test_a_named_env_is_not_base_even_if_conda_default_env_says_base(tmp_path, running_in):
    root = make_conda_root(tmp_path)
    env_dir = make_named_env(root, "dl")
    running_in(env_dir, CONDA_PREFIX=str(env_dir), CONDA_DEFAULT_ENV="base")
    assert collect_env().conda_is_base is False


def test_an_env_created_with_a_path_is_named_after_its_folder(tmp_path, running_in):
    env_dir = tmp_path / "projects" / "env"
    (env_dir / "conda-meta").mkdir(parents=True)
    (env_dir / "conda-meta" / "history").write_text("")
    running_in(env_dir, CONDA_PREFIX=str(env_dir), CONDA_DEFAULT_ENV=str(env_dir))
    env = collect_env()
    assert (env.kind, env.conda_is_base) == ("conda", False)


def test_a_micromamba_root_without_condabin_is_base_through_its_envs_folder(tmp_path, running_in):
    root = tmp_path / "micromamba"
    (root / "conda-meta").mkdir(parents=True)
    (root / "envs").mkdir()
    assert is_conda_root(root)
    running_in(root)
    assert collect_env().conda_is_base is True


def test_a_venv_is_a_venv_and_knows_its_base_is_conda(tmp_path, running_in):
    root = make_conda_root(tmp_path)
    venv = tmp_path / "proj" / ".venv"
    venv.mkdir(parents=True)
    running_in(venv, base_prefix=root, CONDA_PREFIX=str(root), CONDA_DEFAULT_ENV="base")
    env = collect_env()
    assert (env.kind, env.venv_base_is_conda) == ("venv", True)


def test_a_system_python_with_a_conda_env_activated_is_no_env(tmp_path, running_in):
    root = make_conda_root(tmp_path)
    env_dir = make_named_env(root, "torch-gpu")
    system = tmp_path / "usr"
    system.mkdir()
    running_in(system, CONDA_PREFIX=str(env_dir), CONDA_DEFAULT_ENV="torch-gpu")
    env = collect_env()
    assert (env.kind, env.activated_conda_env) == ("none", "torch-gpu")


def test_conda_records_give_name_version_build_and_channel(tmp_path):
    env_dir = make_named_env(make_conda_root(tmp_path), "cpu")
    records = {r.name: r for r in conda_records(str(env_dir), Findings())}
    assert set(records) == {"python", "pytorch", "cpuonly", "pytorch-mutex"}  # not libgcc-ng
    assert (records["pytorch"].build, records["pytorch"].channel) == ("py3.11_cpu_0", "pytorch")
    assert records["pytorch-mutex"].build == "cpu"


def test_a_broken_conda_record_is_a_finding_not_a_crash(tmp_path):
    env_dir = make_named_env(make_conda_root(tmp_path), "x")
    (env_dir / "conda-meta" / "pytorch-2.4.0-broken_0.json").write_text("{not json")
    findings = Findings()
    records = conda_records(str(env_dir), findings)
    assert {r.name for r in records} >= {"pytorch", "cpuonly"}
    assert [f.code for f in findings.as_list()] == ["conda-record-unreadable"]


@pytest.mark.parametrize(
    "channel, name",
    [
        ("https://conda.anaconda.org/conda-forge/linux-64", "conda-forge"),
        ("https://repo.anaconda.com/pkgs/main/win-64", "pkgs/main"),
        ("pytorch", "pytorch"),
    ],
)
def test_channel_urls_become_channel_names(channel, name):
    assert channel_name(channel) == name


def test_a_simulated_conda_env_end_to_end_is_judged_cpu_only_with_the_conda_hint(tmp_path):
    """The real CLI, run by a Python whose prefix is a conda env with cpuonly records."""
    env_dir = make_named_env(make_conda_root(tmp_path), "course")
    # The check probes in a child process too, so the prefix is set by a sitecustomize
    # that every Python started with this PYTHONPATH runs.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os, sys\nsys.prefix = sys.base_prefix = os.environ['FAKE_PREFIX']\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "diagnostics", "check", "--json", "--no-bench"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{site}:{ROOT}",
            "FAKE_PREFIX": str(env_dir),
            "CONDA_PREFIX": str(env_dir),
            "CONDA_DEFAULT_ENV": "course",
            "HOME": str(tmp_path),
        },
    )
    doc = json.loads(done.stdout)
    assert doc["report"]["env"]["conda_env_name"] == "course"
    checks = judged_with_an_nvidia_gpu(doc["report"])
    assert checks["conda-env"]["status"] == "pass"
    assert checks["torch-cuda-build"]["status"] == "fail"
    hint = checks["torch-cuda-build"]["hint"]
    assert "conda remove -y --force pytorch cpuonly pytorch-mutex" in hint
    assert done.returncode == 1


def test_torch_found_outside_the_prefix_is_flagged(tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "torch").mkdir(parents=True)
    (outside / "torch" / "__init__.py").write_text("raise ImportError('not a real torch')\n")
    done = run_cli(
        "check",
        "--json",
        "--no-bench",
        env={"PYTHONPATH": os.pathsep.join([str(outside), str(ROOT)])},
    )
    report = json.loads(done.stdout)["report"]
    assert report["packages"]["torch_outside_prefix"] is True
    assert report["packages"]["torch_origin"].startswith(str(outside))
    assert report["torch"]["importable"] is False
