"""Student pages of the worker pipeline: the GPU page, runs and reports."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from . import packaging, selectors, services
from .models import CheckRun
from .report_view import report_changes, report_context


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _server_url(request: HttpRequest) -> str:
    return settings.TORCHREADY_PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


def panel_context(request: HttpRequest, *, next_url: str = "", target: str = "") -> dict:
    """What the GPU panel shows; `target` is the element it refreshes on a module page."""
    student = request.user
    token = selectors.token_current(student=student)
    run = selectors.run_latest(student=student)
    report = selectors.report_latest(student=student)
    online = selectors.worker_online(token=token)
    return {
        "token": token,
        "online": online,
        "server_url": _server_url(request),
        "run": run,
        "report": report,
        # Changes whenever the panel would look different: the poll compares it.
        "version": f"{run and run.pk}.{run and run.state}.{report and report.pk}.{online:d}",
        "next": next_url,
        "target": target,
    }


def _gpu_context(request: HtmxHttpRequest) -> dict:
    server = _server_url(request)
    return {
        **panel_context(request),
        "new_token": request.session.pop("worker_token_once", None),
        "wheel_url": server
        + reverse("diagnostics:worker_wheel", args=[packaging.wheel_filename()]),
        "runs": selectors.runs_recent(student=request.user),
    }


@require_GET
@login_required
def gpu(request: HtmxHttpRequest) -> HttpResponse:
    services.runs_sweep_stale()
    return render(request, "diagnostics/gpu.html", _gpu_context(request))


@require_POST
@login_required
def token(request: HtmxHttpRequest) -> HttpResponse:
    action = request.POST.get("action")
    if action in ("create", "rotate"):
        _, raw = services.token_create(student=request.user)
        # Shown once, on the page the redirect lands on; only the hash is kept.
        request.session["worker_token_once"] = raw
        messages.success(request, "New worker token created. Copy it now: it is shown only once.")
    elif action == "revoke":
        services.token_revoke_all(student=request.user)
        messages.success(
            request, "Worker token revoked. A worker using it stops being able to post."
        )
    else:
        return HttpResponse("unknown action", status=400)
    return redirect("diagnostics:gpu")


@require_POST
@login_required
def run_start(request: HtmxHttpRequest) -> HttpResponse:
    mode = request.POST.get("mode", CheckRun.Mode.QUICK)
    if mode not in CheckRun.Mode.values:
        return HttpResponse("unknown mode", status=400)
    services.run_create(student=request.user, mode=mode)
    next_url = _safe_next(request, request.POST.get("next"))
    if request.htmx and not next_url:
        return _panel(request)
    # On a module page htmx follows this redirect and picks the objective's row.
    return redirect(next_url or reverse("diagnostics:gpu"))


@require_GET
@login_required
def panel(request: HtmxHttpRequest) -> HttpResponse:
    """The panel's poll: 204 while nothing changed, else the fresh panel (or its page)."""
    services.runs_sweep_stale()
    if request.GET.get("v") == panel_context(request)["version"]:
        return HttpResponse(status=204)
    next_url = _safe_next(request, request.GET.get("next"))
    if next_url or not request.htmx:
        return redirect(next_url or reverse("diagnostics:gpu"))
    return _panel(request)


def _panel(request: HtmxHttpRequest) -> HttpResponse:
    context = panel_context(request)
    response = render(request, "diagnostics/_gpu_panel.html", context)
    run = context["run"]
    if run is not None and not run.is_active:
        # This run's poller is done; the fresh panel only listens for new evidence.
        response.status_code = HttpResponseStopPolling.status_code
    return response


def _safe_next(request: HttpRequest, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return ""


@require_GET
@login_required
def report_detail(request: HtmxHttpRequest, report_id) -> HttpResponse:
    report = selectors.report_for_student(report_id=report_id, student=request.user)
    if report is None:
        raise Http404
    previous = selectors.report_previous(report=report)
    context = {
        "report": report,
        "previous": previous,
        "changes": report_changes(report, previous),
        "needs_review": bool(report.flags and report.verdict.get("objective_met")),
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
