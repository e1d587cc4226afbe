"""Student pages of the worker pipeline: the GPU page, runs and reports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from . import packaging, selectors, services, setup_guide
from .models import CheckRun
from .next_steps import failing_in_order, next_steps
from .panel import panel_version, poll_interval
from .report_view import check_groups, compare_rows, report_changes, report_context


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
    # The views typed with it are @login_required (the sign-up view never reads it).
    user: User


def _server_url(request: HttpRequest) -> str:
    return settings.TORCHREADY_PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


def _wheel_url(request: HttpRequest) -> str:
    return _server_url(request) + reverse(
        "diagnostics:worker_wheel", args=[packaging.wheel_filename()]
    )


def panel_context(
    request: HtmxHttpRequest, *, page_url: str, target: str = "", reveal: bool = True
) -> dict:
    """What the GPU panel shows on `page_url`; `target` is the element it refreshes there.

    A token created a moment ago is in the session once: it is shown inside the
    start command on this render and gone after (only its hash is stored).
    """
    student = request.user
    token = selectors.token_current(student=student)
    run = selectors.run_latest(student=student)
    report = selectors.report_latest(student=student)
    online = selectors.worker_online(token=token)
    new_token = request.session.pop("worker_token_once", None) if token and reveal else None
    seen = (token.last_seen_info if token else None) or {}
    setup = setup_guide.setup_steps(
        token=token,
        online=online,
        report=report,
        wheel_url=_wheel_url(request),
        shell=_shell(request, seen),
    )
    pending = bool(run and run.is_pending)
    every = poll_interval(token=token, online=online, pending=pending, report=report)
    steps = _next_steps(request, report, seen)
    return {
        "token": token,
        "new_token": new_token,
        "commands": setup_guide.worker_commands(_server_url(request), new_token or ""),
        "online": online,
        "run": run,
        "report": report,
        "setup": setup,
        "steps": steps,
        "pending": pending,
        "poll_every": every,
        # Changes whenever the panel would look different: the poll compares it.
        "version": panel_version(token=token, online=online, run=run, report=report, every=every),
        "next": page_url,
        "target": target,
    }


def _shell(request: HttpRequest, seen: dict) -> setup_guide.Shell:
    return setup_guide.shell_for(
        requested=request.GET.get("shell"),
        platform=seen.get("platform", ""),
        user_agent=request.headers.get("User-Agent", ""),
    )


def _next_steps(request: HttpRequest, report, seen: dict) -> list:
    """The "do this next" list for a needs-work report; restarts name the worker's env."""
    if report is None or report.objective_met:
        return []
    env_name = seen.get("env_name") or (report.facts.get("env") or {}).get("conda_env_name")
    return next_steps(
        verdict=report.verdict,
        env_name=env_name if env_name not in (None, "", "base") else setup_guide.ENV_NAME,
        wheel_url=_wheel_url(request),
    )


def _gpu_context(request: HtmxHttpRequest) -> dict:
    return {
        **panel_context(request, page_url=reverse("diagnostics:gpu")),
        "runs": selectors.runs_recent(student=request.user),
    }


@require_GET
@login_required
def gpu(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "diagnostics/gpu.html", _gpu_context(request))


@require_POST
@login_required
def token(request: HtmxHttpRequest) -> HttpResponse:
    action = request.POST.get("action")
    if action in ("create", "rotate"):
        _, raw = services.token_create(student=request.user)
        # Shown once, on the page the redirect lands on; only the hash is kept.
        request.session["worker_token_once"] = raw
        messages.success(
            request, "New worker token created: copy the start command now, it is shown only once."
        )
    elif action == "revoke":
        services.token_revoke_all(student=request.user)
        messages.success(
            request,
            "Worker token revoked. A worker using it is disconnected from its queue "
            "within a minute and can no longer post.",
        )
    else:
        return HttpResponse("unknown action", status=400)
    next_url = _safe_next(request, request.POST.get("next"))
    return redirect(next_url or reverse("diagnostics:gpu"))


@require_POST
@login_required
def run_start(request: HtmxHttpRequest) -> HttpResponse:
    mode = request.POST.get("mode", CheckRun.Mode.QUICK)
    if mode not in CheckRun.Mode.values:
        return HttpResponse("unknown mode", status=400)
    services.run_create(student=request.user, mode=mode)
    # htmx follows the redirect and picks the panel (and what else changed) from the page.
    return redirect(_safe_next(request, request.POST.get("next")) or reverse("diagnostics:gpu"))


@require_GET
@login_required
def panel(request: HtmxHttpRequest) -> HttpResponse:
    """The panel's poll: 204 while nothing changed, else the page it sits on, from
    which htmx selects the panel and what else changed (progress, history)."""
    next_url = _safe_next(request, request.GET.get("next")) or reverse("diagnostics:gpu")
    context = panel_context(request, page_url=next_url, reveal=False)
    if request.GET.get("v") == context["version"]:
        if not context["poll_every"]:
            return HttpResponseStopPolling()  # nothing pending: this poller may stop
        return HttpResponse(status=204)
    return redirect(next_url)


def _safe_next(request: HttpRequest, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return ""


@require_GET
@login_required
def report_detail(request: HtmxHttpRequest, report_id) -> HttpResponse:
    student = request.user
    report = selectors.report_for_student(report_id=report_id, student=student)
    if report is None:
        raise Http404
    other = selectors.report_previous(report=report)
    if wanted := request.GET.get("compare"):
        try:
            other = selectors.report_for_student(report_id=uuid.UUID(wanted), student=student)
        except ValueError:
            return HttpResponse("compare: not a report id", status=400)
        if other is None:
            raise Http404
    token = selectors.token_current(student=student)
    seen = (token.last_seen_info if token else None) or {}
    context = {
        "report": report,
        "steps": _next_steps(request, report, seen),
        "suffix": "",
        "setup": {"shell": _shell(request, seen), "shells": list(setup_guide.Shell)},
        "groups": check_groups(report.verdict, failing_in_order(report.verdict)),
        "other": other,
        "others": [r for r in selectors.reports_for_student(student=student) if r.pk != report.pk],
        "changes": report_changes(report, other),
        "compare": compare_rows(report, other) if other else [],
        "needs_review": report.needs_review,
        "clock_notice": services.clock_notice(skew_s=report.clock_skew_s),
        "keep_raw": settings.DIAGNOSTICS_KEEP_RAW_REPORTS,
        **report_context(report),
    }
    return render(request, "diagnostics/report.html", context)


@require_GET
def worker_wheel(request: HtmxHttpRequest, filename: str) -> HttpResponse:
    """The worker side as a wheel, built from this server's own code: no torch, no Django."""
    if filename != packaging.wheel_filename():
        raise Http404
    response = HttpResponse(packaging.worker_wheel(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
