"""The matrix rows, built in Python (learning.matrix): every branch, escaped."""

from datetime import timedelta

from django.utils import timezone

from learning.dashboard import Bench, Cell, Failing, GpuSummary, StudentRow
from learning.matrix import matrix_row
from learning.models import Status

NOW = timezone.now()
HOSTILE = "<script>alert(1)</script>"


def row(**fields) -> StudentRow:
    values = {
        "user_id": 7,
        "username": "alice",
        "name": "",
        "cells": [],
        "last_activity": None,
        "last_seen": None,
        "online": False,
        "gpu": None,
        "stuck_since": None,
        "url": "/teach/1/students/7/",
    }
    return StudentRow(**{**values, **fields})


def test_names_and_gpu_facts_are_escaped():
    gpu = GpuSummary(
        "r",
        NOW,
        False,
        HOSTILE,
        None,
        HOSTILE,
        "",
        "CPU-only build",
        None,
        None,
        (Failing(HOSTILE, "s", "h"),),
    )
    html = matrix_row(row(name=HOSTILE, username=HOSTILE, gpu=gpu))
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 6
    assert 'href="/teach/1/students/7/"' in html and 'id="student-7"' in html


def test_cells_show_state_confidence_and_review():
    cells = [
        Cell(1, Status.VERIFIED, confirmed=True),
        Cell(2, Status.NEEDS_WORK, confidence=4, contradicted=True),
        Cell(3, Status.SELF_ASSESSED, confidence=2),
        Cell(4, Status.NOT_STARTED),
        Cell(5, Status.RETURNED, confidence=3),
    ]
    html = matrix_row(row(cells=cells))
    assert '<td class="cell cell--verified">' in html and "note--confirmed" in html
    assert "cell--needs_work cell--contradicted" in html and "self-assessed 4/5" in html
    assert 'Self <span class="conf">2/5</span>' in html
    assert '<td class="cell cell--returned">' in html and 'Returned <span class="conf">3/5' in html
    assert "Not started" in html
    assert "40%</span>" in html  # verified and self-assessed count as done; returned does not


def test_times_worker_and_benchmarks():
    gpu = GpuSummary(
        "r",
        NOW,
        True,
        "NVIDIA H100",
        79.6,
        "550.54",
        "2.5.1",
        "CUDA 12.4 build",
        Bench(724.04, 67.7),
        None,
        (),
    )
    now = timezone.now()
    active, seen = now - timedelta(hours=3), now - timedelta(days=2)
    html = matrix_row(row(last_activity=active, last_seen=seen, gpu=gpu))
    assert ">3\xa0hours" in html and f'<time datetime="{active.isoformat()}"' in html
    assert "offline" in html and "seen 2\xa0days" in html
    assert "verdict--ok" in html and "NVIDIA H100, 79.6 GiB" in html
    assert "bf16 724.0 TFLOP/s" in html and "fp32" not in html
    html = matrix_row(row(online=True))
    assert "● online" in html and "never" in html and "no report yet" in html
