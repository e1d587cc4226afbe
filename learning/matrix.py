"""The class dashboard's matrix rows, rendered in Python.

A matrix row is about seventy template nodes (cells, progress, times, worker,
GPU facts). At 100 rows a page the template engine spent about 90 ms on them
on the shared 2-vCPU VM, more than all of the dashboard's SQL; built here with
format_html a row costs a few hundredths of a millisecond, and the cells, of
which a class has only a handful of distinct ones, are built once and shared.

The markup is the one the template had; every value still goes through
Django's escaping (format_html / conditional_escape) and its localisation.
"""

from __future__ import annotations

from functools import lru_cache

from django.template.defaultfilters import floatformat, timesince_filter
from django.utils.dates import MONTHS_3
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs

from learning.dashboard import Cell, GpuSummary, StudentRow
from learning.models import Status


def _value(value) -> str:
    """What {{ value }} renders: localised, then escaped."""
    return conditional_escape(localize(value))


@lru_cache(maxsize=1024)
def _cell(c: Cell) -> str:
    extra = " cell--contradicted" if c.contradicted else ""
    if c.status == Status.VERIFIED:
        body = '<span aria-hidden="true">✔</span> Verified'
    elif c.status == Status.NEEDS_WORK:
        body = '<span aria-hidden="true">!</span> Needs work'
        if c.contradicted:
            body += f'<span class="note">self-assessed {_value(c.confidence)}/5</span>'
    elif c.status == Status.NEEDS_REVIEW:
        body = '<span aria-hidden="true">?</span> Needs review'
    elif c.status == Status.RETURNED:
        body = (
            '<span aria-hidden="true">↩</span> Returned '
            f'<span class="conf">{_value(c.confidence)}/5</span>'
        )
    elif c.status == Status.SELF_ASSESSED:
        body = (
            '<span aria-hidden="true">✓</span> Self '
            f'<span class="conf">{_value(c.confidence)}/5</span>'
        )
    else:
        body = '<span class="muted">Not started</span>'
    if c.confirmed:
        body += '<span class="note note--confirmed">confirmed</span>'
    return f'<td class="cell cell--{c.status.value}{extra}">{body}</td>'


def _ago(when) -> str:
    return timesince_filter(when)


def _activity(s: StudentRow) -> str:
    if not s.last_activity:
        return '<td><span class="muted">never</span></td>'
    local = template_localtime(s.last_activity)
    return format_html(
        '<td><time datetime="{}" title="{}">{} ago</time></td>',
        local.isoformat(),  # the date filter's "c"
        _day_and_time(local),
        _ago(s.last_activity),
    )


def _day_and_time(when) -> str:
    """The date filter's "j M Y, H:i" without its per-call format lookups."""
    return f"{when.day} {MONTHS_3[when.month].title()} {when.year:04d}, {when:%H:%M}"


def _worker(s: StudentRow) -> str:
    if s.online:
        return '<td><span class="worker worker--online">● online</span></td>'
    if s.last_seen:
        return format_html(
            '<td><span class="worker">offline</span><span class="note">seen {} ago</span></td>',
            _ago(s.last_seen),
        )
    return '<td><span class="worker">no worker</span></td>'


def _gpu(g: GpuSummary | None) -> str:
    if not g:
        return '<td class="gpu"><span class="muted">no report yet</span></td>'
    if g.objective_met:
        verdict = '<span class="verdict verdict--ok">passes</span>'
    elif g.needs_review:
        verdict = '<span class="verdict verdict--review">needs review</span>'
    else:
        codes = format_html_join(", ", "<code>{}</code>", ((f.check_id,) for f in g.failing))
        verdict = format_html('<span class="verdict verdict--fail">fails: {}</span>', codes)
    vram = format_html(", {} GiB", _value(g.vram_gib)) if g.vram_gib else ""
    bench = ""
    if g.bf16 or g.fp32:
        parts = [
            f"{name} {floatformat(b.tflops, 1)}"
            for name, b in (("bf16", g.bf16), ("fp32", g.fp32))
            if b
        ]
        bench = f'<span class="gpu-facts">{" · ".join(parts)} TFLOP/s</span>'
    return format_html(
        '<td class="gpu">{}<span class="gpu-name">{}{}</span>'
        '<span class="gpu-facts">driver {} · torch {} · {}</span>{}</td>',
        mark_safe(verdict),
        g.gpu,
        vram,
        g.driver or "none",
        g.torch or "none",
        g.build,
        mark_safe(bench),
    )


def matrix_row(s: StudentRow) -> SafeString:
    """One student's row of the matrix: name, a cell per objective, progress, times, GPU."""
    label = s.name or s.username
    pct = _value(s.pct)
    username = format_html('<span class="username">{}</span>', s.username) if s.name else ""
    return mark_safe(
        format_html(
            '<tr id="student-{}"><th scope="row" class="student-col"><a href="{}">{}</a>{}</th>',
            _value(s.user_id),
            s.url,
            label,
            username,
        )
        + "".join(_cell(c) for c in s.cells)
        + format_html(
            '<td class="pct"><span class="pct-num">{}%</span><progress max="100" value="{}" '
            'aria-label="Progress of {}">{}%</progress></td>',
            pct,
            pct,
            label,
            pct,
        )
        + _activity(s)
        + _worker(s)
        + _gpu(s.gpu)
        + "</tr>"
    )
