"""Server-side SVG charts for the class dashboard: no JavaScript, no CDN.

Every chart has a <title> and <desc> for screen readers and comes with the same
figures as a table. Bars are placed in percentages of the chart's width and
text in pixels, so a chart fills a phone or a desktop without shrinking its
text.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from statistics import median

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from learning.dashboard import NO_GPU, ClassSnapshot, StudentRow
from learning.models import Status

ROW = 44  # px per bar: a label line, then the bar
LABEL_MAX = 42  # characters that fit a 375 px wide phone


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    desc: str
    svg: SafeString
    columns: list[str]
    rows: list[list[str]]
    legend: tuple[tuple[str, str], ...] = ()

    @property
    def tbody(self) -> SafeString:
        """The data table's rows, the first cell a row header. Built here, not in the
        template: a strip chart has a row per student, and a template loop over 1,000
        rows costs tens of milliseconds."""
        return mark_safe(
            "".join(
                f'<tr><th scope="row">{_esc(row[0])}</th>'
                + "".join(f"<td>{_esc(v)}</td>" for v in row[1:])
                + "</tr>"
                for row in self.rows
            )
        )


def _esc(value) -> str:
    # What Django's escape does (html.escape with quotes), without its lazy-string wrapper.
    return html.escape(str(value))


def _svg(chart_id: str, title: str, desc: str, height: int, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" role="img" width="100%" height="{}" '
        'aria-labelledby="{}-title {}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        desc,
        body,
    )


def _label(top: int, text: str, *, limit: int = LABEL_MAX) -> SafeString:
    # SVG text does not wrap: a long label is cut short, and said in full in the table.
    short = Truncator(text).chars(limit)
    return format_html('<text class="chart-label" x="0" y="{}">{}</text>', top + 15, short)


def bar_chart(*, chart_id: str, title: str, desc: str, counts: list[tuple[str, int]]) -> Chart:
    """Horizontal bars, one per label, longest first."""
    most = max((n for _, n in counts), default=0) or 1
    parts = []
    for i, (label, n) in enumerate(counts):
        top, width = i * ROW, 88 * n / most
        parts.append(_label(top, label))
        parts.append(
            format_html(
                '<rect class="bar" x="0" y="{}" width="{}%" height="14" rx="3">'
                '<title>{}: {}</title></rect><text class="chart-value" x="{}%" y="{}">{}</text>',
                top + 22,
                f"{width:.2f}",
                label,
                n,
                f"{width + 1:.2f}",
                top + 34,
                n,
            )
        )
    body = mark_safe("".join(parts))
    rows = [[label, str(n)] for label, n in counts]
    svg = _svg(chart_id, title, desc, max(len(counts), 1) * ROW, body)
    return Chart(chart_id, title, desc, svg, ["", "Students"], rows)


def stacked_chart(
    *, chart_id: str, title: str, desc: str, rows: list[tuple[str, dict[Status, int]]]
) -> Chart:
    """One full-width bar per row, split by state."""
    parts = []
    for i, (label, counts) in enumerate(rows):
        top, total, x = i * ROW, sum(counts.values()) or 1, 0.0
        parts.append(_label(top, label))
        for state in Status:
            width = 100 * counts.get(state, 0) / total
            if width:
                parts.append(
                    format_html(
                        '<rect class="seg seg--{}" x="{}%" y="{}" width="{}%" height="14">'
                        "<title>{}: {}</title></rect>",
                        state,
                        f"{x:.2f}",
                        top + 22,
                        f"{width:.2f}",
                        state.label,
                        counts[state],
                    )
                )
            x += width
    svg = _svg(chart_id, title, desc, max(len(rows), 1) * ROW, mark_safe("".join(parts)))
    table = [[label, *(str(counts.get(s, 0)) for s in Status)] for label, counts in rows]
    legend = tuple((s.value, s.label) for s in Status)
    return Chart(chart_id, title, desc, svg, ["Objective", *Status.labels], table, legend)


def strip_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    groups: list[tuple[str, list[tuple[str, float, str]]]],
) -> Chart:
    """Per group, one dot per student at their % of peak (0 to 100), with a shared axis."""
    parts, table = [], []
    for i, (label, dots) in enumerate(groups):
        top = i * ROW
        mid = median(pct for _, pct, _ in dots)
        stats = f" · {len(dots)} · median {mid:.0f}%"
        parts.append(_label(top, Truncator(label).chars(LABEL_MAX - len(stats)) + stats))
        parts.append(
            format_html('<line class="axis" x1="1%" x2="99%" y1="{}" y2="{}"/>', top + 29, top + 29)
        )
        for name, pct, text in dots:  # one per student: plain f-strings, not format_html
            x = 1 + 0.98 * min(max(pct, 0), 100)
            parts.append(
                f'<circle class="dot" cx="{x:.2f}%" cy="{top + 29}" r="6">'
                f"<title>{_esc(name)}: {_esc(text)}</title></circle>"
            )
            table.append([label, name, text])
    top = len(groups) * ROW
    ticks = format_html_join(
        "",
        '<text class="chart-tick" x="{}%" y="{}" text-anchor="{}">{}%</text>',
        (
            (1 + 0.98 * t, top + 14, anchor, t)
            for t, anchor in ((0, "start"), (50, "middle"), (100, "end"))
        ),
    )
    svg = _svg(chart_id, title, desc, top + 20, mark_safe("".join(parts)) + ticks)
    return Chart(chart_id, title, desc, svg, ["GPU model", "Student", "Result"], table)


# --- The class's charts -----------------------------------------------------------


def class_charts(snapshot: ClassSnapshot) -> list[Chart]:
    students = snapshot.students
    with_report = [s for s in students if s.gpu]
    charts = [
        stacked_chart(
            chart_id="chart-completion",
            title="Completion per objective",
            desc=f"For each objective of “{snapshot.module}”, how many of the "
            f"{len(students)} students are verified, self-assessed, need work or have not started.",
            rows=[
                (o.text, dict(Counter(s.cells[i].status for s in students)))
                for i, o in enumerate(snapshot.objectives)
            ],
        ),
        bar_chart(
            chart_id="chart-gpus",
            title="GPU models in the class",
            desc="Students per GPU model, from each student's latest report.",
            counts=Counter(s.gpu_name for s in students).most_common(),
        ),
        bar_chart(
            chart_id="chart-drivers",
            title="NVIDIA driver versions",
            desc="Students per driver version, from each student's latest report.",
            counts=Counter(s.gpu.driver or "none found" for s in with_report).most_common(),
        ),
        bar_chart(
            chart_id="chart-cuda",
            title="torch builds (CUDA version)",
            desc="Students per torch build, from each student's latest report.",
            counts=Counter(s.gpu.build for s in with_report).most_common(),
        ),
    ]
    for dtype in ("bf16", "fp32"):
        groups = _bench_groups(with_report, dtype)
        if groups:
            charts.append(
                strip_chart(
                    chart_id=f"chart-bench-{dtype}",
                    title=f"{dtype} matmul: each student's % of peak, per GPU model",
                    desc=f"One dot per student with a {dtype} matmul result, placed at its "
                    "percentage of the GPU's theoretical peak.",
                    groups=groups,
                )
            )
    return charts


def _bench_groups(students: list[StudentRow], dtype: str):
    groups: dict[str, list[tuple[str, float, str]]] = {}
    for s in students:
        bench = getattr(s.gpu, dtype)
        if bench and bench.pct_of_peak is not None and s.gpu_name != NO_GPU:
            text = f"{bench.tflops:.1f} TFLOP/s, {bench.pct_of_peak:.0f}% of peak"
            dot = (s.name or s.username, bench.pct_of_peak, text)
            groups.setdefault(s.gpu_name, []).append(dot)
    return sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
