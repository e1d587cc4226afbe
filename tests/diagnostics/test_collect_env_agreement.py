"""Our facts agree with `python -m torch.utils.collect_env` run in the same env."""

import re
import subprocess
import sys

import pytest

from .reports import ROOT, run_json

pytestmark = pytest.mark.slow


def collect_env() -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "torch.utils.collect_env"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    return dict(re.findall(r"^([^:\n]+): (.*)$", done.stdout, re.M))


def test_torch_cuda_python_and_os_agree_with_collect_env():
    theirs = collect_env()
    _, doc = run_json("--no-bench")
    ours = doc["report"]
    assert ours["torch"]["version"] == theirs["PyTorch version"]
    cuda = theirs["CUDA used to build PyTorch"]
    assert (ours["torch"]["cuda"] or "Could not collect") == (
        "Could not collect" if cuda in ("None", "Could not collect") else cuda
    )
    assert theirs["Python version"].startswith(ours["python"]["version"] + " ")
    # collect_env: "OS: Debian GNU/Linux 12 (bookworm) (x86_64)"
    assert theirs["OS"] == f"{ours['host']['os_name']} ({ours['host']['machine']})"
    assert theirs["Is CUDA available"] == str(ours["torch"]["cuda_available"])
