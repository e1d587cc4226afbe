"""What ships to the student imports neither Django nor CUDA-initialising torch code."""

import subprocess
import sys

import pytest

from .reports import ROOT

pytestmark = pytest.mark.slow

CODE = """
import sys
import diagnostics, diagnostics.agent.probe, diagnostics.agent.bench
import diagnostics.agent.verdict, diagnostics.agent.cli
from diagnostics.agent.cli import parser
parser()  # builds the whole command line, worker hooks included
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'torch', 'celery'))
print(','.join(loaded))
import torch
print(torch.cuda.is_initialized())
"""


def test_worker_side_modules_import_neither_django_nor_torch():
    done = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    loaded, cuda_initialised = done.stdout.splitlines()
    assert loaded == ""  # no django, torch or celery module
    assert cuda_initialised == "False"
