"""Student pages of the worker pipeline: the GPU page, runs and reports."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
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


def _gpu_context(request: HtmxHttpRequest) -> dict:
    student = request.user
    token = selectors.token_current(student=student)
    server = _server_url(request)
    run = selectors.run_latest(student=student)
    return {
        "token": token,
        "new_token": request.session.pop("worker_token_once", None),
        "online": selectors.worker_online(token=token),
        "server_url": server,
        "wheel_url": server
        + reverse("diagnostics:worker_wheel", args=[packaging.wheel_filename()]),
        "run": run,
        "runs": selectors.runs_recent(student=student),
        "report": selectors.report_latest(student=student),
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
    if request.htmx:
        return _run_panel(request)
    return redirect(request.POST.get("next") or reverse("diagnostics:gpu"))


def _run_panel(request: HtmxHttpRequest) -> HttpResponse:
    context = _gpu_context(request)
    response = render(request, "diagnostics/_gpu_panel.html", context)
    run = context["run"]
    if run is not None and not run.is_active:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@require_GET
@login_required
def run_detail(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_for_student(run_id=run_id, student=request.user)
    if run is None:
        raise Http404
    services.runs_sweep_stale()
    if request.htmx:
        return _run_panel(request)
    return redirect("diagnostics:gpu")


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
