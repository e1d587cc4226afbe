from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from learning.forms import SelfAssessmentForm, SignupForm
from learning.models import Module, Objective
from learning.selectors import (
    ObjectiveRow,
    module_page,
    objective_rows,
    progress_summaries,
    progress_summary,
    resources_for,
    visible_modules,
)
from learning.services.accounts import InvalidInviteCode, student_signup
from learning.services.progress import objective_self_assess, objective_untick, resource_mark


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


MODULE_TEMPLATE = "learning/module.html"


@require_GET
@login_required
def my_modules(request: HtmxHttpRequest) -> HttpResponse:
    modules = list(visible_modules(user=request.user))
    summaries = progress_summaries(user=request.user, modules=modules)
    cards = [(module, summaries[module.pk]) for module in modules]
    return render(request, "learning/my_modules.html", {"cards": cards})


@require_GET
@login_required
def module_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    return _module_page(request, _module(request, slug))


@require_POST
@login_required
def objective_save(request: HtmxHttpRequest, slug: str, objective_id: int) -> HttpResponse:
    module = _module(request, slug)
    objective = _objective(module, objective_id)
    form = SelfAssessmentForm(request.POST, objective_id=objective.pk)
    if not form.is_valid():
        if request.htmx:
            return _objective_row(request, module, objective, form=form, status=400)
        return _module_page(request, module, bound=form, status=400)
    objective_self_assess(student=request.user, objective=objective, **form.cleaned_data)
    return _objective_changed(request, module, objective, "Saved", just_saved=True)


@require_POST
@login_required
def objective_clear(request: HtmxHttpRequest, slug: str, objective_id: int) -> HttpResponse:
    module = _module(request, slug)
    objective = _objective(module, objective_id)
    objective_untick(student=request.user, objective=objective)
    return _objective_changed(request, module, objective, "Unticked")


@require_POST
@login_required
def resource_done(request: HtmxHttpRequest, slug: str, resource_id: int) -> HttpResponse:
    module = _module(request, slug)
    resource = get_object_or_404(module.resources, pk=resource_id, archived_at__isnull=True)
    done = request.POST.get("done") == "on"
    resource_mark(student=request.user, resource=resource, done=done)
    if not request.htmx:
        messages.success(request, f"Marked “{resource.title}” as {'done' if done else 'not done'}.")
        return redirect(_module_url(module, f"resource-{resource.pk}"))
    context = {
        "module": module,
        "resource": resources_for(user=request.user, module=module).get(pk=resource.pk),
    }
    return _partial_with_progress(request, module, "resource-row", context)


@require_http_methods(["GET", "POST"])
def signup(request: HtmxHttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("learning:my_modules")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = student_signup(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                invite_code=form.cleaned_data["invite_code"],
            )
        except InvalidInviteCode as exc:  # the class went away since the form checked it
            form.add_error("invite_code", exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! You have joined your class.")
            return redirect("learning:my_modules")
    status = 400 if form.errors else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)


# Helpers ---------------------------------------------------------------------


def _module(request: HtmxHttpRequest, slug: str) -> Module:
    # Only modules this user may see; anything else is a 404, not a 403, so
    # nothing leaks about what exists.
    return get_object_or_404(visible_modules(user=request.user), slug=slug)


def _objective(module: Module, objective_id: int) -> Objective:
    return get_object_or_404(module.objectives, pk=objective_id, archived_at__isnull=True)


def _module_url(module: Module, anchor: str) -> str:
    return reverse("learning:module", args=[module.slug]) + f"#{anchor}"


def _form_for(row: ObjectiveRow) -> SelfAssessmentForm:
    initial = {}
    if row.progress and row.progress.self_assessed_at:
        initial = {"confidence": row.progress.confidence, "reflection": row.progress.reflection}
    return SelfAssessmentForm(initial=initial, objective_id=row.objective.pk)


def _module_page(
    request: HtmxHttpRequest,
    module: Module,
    *,
    bound: SelfAssessmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    page = module_page(user=request.user, module=module)
    for _, rows in page.objective_groups:
        for row in rows:
            row.form = bound if bound and bound.objective_id == row.objective.pk else _form_for(row)
    return render(request, MODULE_TEMPLATE, {"module": module, "page": page}, status=status)


def _objective_changed(
    request: HtmxHttpRequest, module: Module, objective: Objective, done: str, *, just_saved=False
) -> HttpResponse:
    """htmx gets the row back; a plain form post is redirected to it (post/redirect/get)."""
    if request.htmx:
        return _objective_row(request, module, objective, just_saved=just_saved)
    messages.success(request, f"{done}: “{objective.text}”.")
    return redirect(_module_url(module, f"objective-{objective.pk}"))


def _objective_row(
    request: HtmxHttpRequest,
    module: Module,
    objective: Objective,
    *,
    form: SelfAssessmentForm | None = None,
    status: int = 200,
    just_saved: bool = False,
) -> HttpResponse:
    [row] = objective_rows(user=request.user, module=module, only=objective)
    row.form = form or _form_for(row)
    context = {"module": module, "row": row, "just_saved": just_saved}
    if status != 200:
        html = render_to_string(f"{MODULE_TEMPLATE}#objective-row", context, request)
        return HttpResponse(html, status=status)
    return _partial_with_progress(request, module, "objective-row", context)


def _partial_with_progress(
    request: HtmxHttpRequest, module: Module, partial: str, context: dict
) -> HttpResponse:
    """The changed row, plus the progress summary swapped out of band."""
    row = render_to_string(f"{MODULE_TEMPLATE}#{partial}", context, request)
    summary = {"summary": progress_summary(user=request.user, module=module), "oob": True}
    progress = render_to_string(f"{MODULE_TEMPLATE}#progress", summary, request)
    return HttpResponse(row + progress)
