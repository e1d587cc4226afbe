"""The rules' data file, and every install command a hint can print."""

import re
import shlex
import subprocess
from datetime import date
from itertools import product

import pytest

from diagnostics.agent.report import Report
from diagnostics.agent.verdict import judge
from diagnostics.agent.verdict.tables import choose, min_driver, tables

from .reports import FIXTURES, fixture_names, fixture_report

COMMAND = re.compile(r"`([^`]+)`")
PIP_NAMES = {"torch", "torchvision", "torchaudio", "nvidia-ml-py", "numpy<2"}
CONDA_NAMES = {"pytorch", "torch", "torchvision", "torchaudio", "pytorch-cuda", "cpuonly"}
CONDA_NAMES |= {"pytorch-mutex", "pytorch-gpu"}


def test_every_row_names_its_source_and_a_date():
    t = tables()
    rows = [*t.releases, *t.cuda_drivers, *t.last_driver_branches, t.conda]
    for row in rows:
        assert row.source.strip(), row
        assert date.fromisoformat(row.date) <= date(2026, 12, 31), row


def test_the_release_rows_say_what_pytorch_published():
    rows = {r.torch: r for r in tables().releases}
    assert set(rows["2.12"].variants) == set(rows["2.13"].variants) == {"cu126", "cu130"}
    assert rows["2.14"].pypi == "cu132" and "cu126" in rows["2.14"].variants
    assert "cu126" not in rows["2.15"].variants
    assert all("cu128" not in r.variants for r in rows.values() if r.torch >= "2.12")
    assert min_driver(12, windows=True) == "528.33"


@pytest.mark.parametrize(
    "gpu, driver, installed, wanted",
    [
        ((12, 0), "580.95.05", "2.13.0+cu126", ("2.13", "cu130")),  # Blackwell: cu130
        ((12, 0), "570.86.10", "2.13.0+cu126", ("2.11", "cu128")),  # only 2.11 runs on 570
        ((6, 1), "580.95.05", "2.13.0+cu130", ("2.13", "cu126")),  # Pascal: cu126, not cu118
        ((7, 0), "580.95.05", "2.15.0+cu132", ("2.14", "cu126")),  # Volta: back to 2.14
        ((8, 6), "580.95.05", None, ("2.14", "cu132")),  # nothing installed: the newest
        ((3, 7), "470.256.02", None, None),  # a K80: nothing
    ],
)
def test_the_build_chosen_for_a_gpu_and_driver(gpu, driver, installed, wanted):
    build = choose(gpus=[gpu], driver=driver, windows=False, installed=installed)
    assert (build and (build.release.torch, build.tag)) == wanted


def variants_of_every_fixture():
    """Every recorded report, on Linux, Windows and WSL, with GPUs old and new."""
    names = [(FIXTURES, n) for n in fixture_names()]
    names += [(FIXTURES / "heldout", p.stem) for p in (FIXTURES / "heldout").glob("*.json")]
    gpus = [(6, 1), (7, 0), (8, 6), (12, 0), (3, 7)]
    drivers = ["470.256.02", "560.35.03", "580.95.05"]
    for (folder, name), system, gpu, driver in product(
        names, ["Linux", "Windows", "WSL"], gpus, drivers
    ):
        report = Report.model_validate_json((folder / f"{name}.json").read_text())
        report.host.system = "Linux" if system == "WSL" else system
        report.host.wsl = system == "WSL"
        for d in report.torch.devices:
            d.major, d.minor = gpu
        for d in report.nvml.devices:
            d.compute_capability = f"{gpu[0]}.{gpu[1]}"
        if report.nvml.driver_version:
            report.nvml.driver_version = driver
        if gpu == (8, 6) and report.torch.importable:  # and a NumPy 1 torch beside NumPy 2
            report.torch.numpy_version = "2.0.2"
            report.torch.numpy_error = "RuntimeError: Numpy is not available"
        yield report


def printed_commands():
    seen = {}
    for report in variants_of_every_fixture():
        for check in judge(report).checks:
            for command in COMMAND.findall(check.hint or ""):
                seen.setdefault((command, report.host.system), check.id)
    return seen


COMMANDS = printed_commands()


def test_the_hints_print_install_commands_at_all():
    installs = [c for c, _ in COMMANDS if "--index-url" in c]
    assert len(installs) > 10
    tags = {c.rsplit("/", 1)[1] for c in installs}
    assert "cu126" in tags and tags & {"cu130", "cu132"}


@pytest.mark.parametrize("command, system", sorted(COMMANDS))
def test_every_printed_command_is_from_the_table_and_valid_in_its_shell(command, system):
    for step in re.split(r" && ", command):
        words = shlex.split(step)
        if words[:4] == ["python", "-m", "pip", "install"]:
            check_pip_install(words[4:])
        elif words[:4] == ["python", "-m", "pip", "uninstall"]:
            assert set(words[5:]) <= PIP_NAMES and words[4] == "-y", step
        elif words[:2] == ["conda", "remove"]:
            assert set(words[4:]) <= CONDA_NAMES, step
        elif words[:2] == ["conda", "install"]:
            check_conda_install(words[2:])
    if system == "Windows":
        # One command per backtick pair: cmd has no '...' quoting, PowerShell 5 no &&.
        assert command.count('"') % 2 == 0
        bare = re.sub(r'"[^"]*"', "", command)
        assert not re.search(r"&&|[;'<>|]", bare), command
    else:
        done = subprocess.run(["bash", "-n", "-c", command], capture_output=True, check=False)
        assert done.returncode == 0, (command, done.stderr)
        bare = re.sub(r"'[^']*'", "", re.sub(r'"[^"]*"', "", command))
        assert "*" not in bare, "unquoted glob: " + command


def check_conda_install(words: list[str]) -> None:
    """conda-forge's GPU build and its two companions, pinned to a CUDA the table ships."""
    conda = tables().conda
    assert words[:3] == ["-y", "-c", conda.channel], words
    *packages, pin = words[3:]
    assert packages == conda.packages and set(packages) <= CONDA_NAMES, words
    cuda = pin.removeprefix("cuda-version=")
    variants = {v for r in tables().releases for v in r.variants}
    assert f"cu{cuda.replace('.', '')}" in variants, pin


def check_pip_install(words: list[str]) -> None:
    if "--index-url" not in words:
        assert set(words) <= PIP_NAMES, words
        return
    url = words[words.index("--index-url") + 1]
    specs = dict(w.split("==") for w in words if "==" in w)
    assert set(specs) == {"torch", "torchvision", "torchaudio"}, words
    base, tag = url.rsplit("/", 1)
    assert base == tables().index_url
    rows = [r for r in tables().releases if specs["torch"] == f"{r.torch}.*"]
    assert rows and rows[0].status == "released", specs
    assert tag in rows[0].variants, (tag, rows[0].torch)
    assert specs["torchvision"] == f"{rows[0].torchvision}.*"
    assert specs["torchaudio"] == f"{rows[0].torchaudio}.*"


def test_a_mixed_conda_and_pip_torch_is_removed_by_both_and_all_three_packages_move():
    hint = judge(fixture_report("mixed_pip_conda")).check("no-mixed-torch").hint
    conda, pip_out, pip_in = re.findall(r"(?:^|&& )([^&`]+)", COMMAND.findall(hint)[0])
    assert conda.startswith("conda remove -y --force pytorch")
    assert pip_out.strip() == "python -m pip uninstall -y torch torchvision torchaudio"
    assert '"torchvision==' in pip_in and '"torchaudio==' in pip_in
