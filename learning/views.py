from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from diagnostics.report_view import report_context
from learning import dashboard, exports
from learning.charts import class_charts
from learning.forms import (
    DashboardFilterForm,
    JoinClassForm,
    ReviewForm,
    SelfAssessmentForm,
    SignupForm,
)
from learning.matrix import matrix_row
from learning.models import Klass, Module, Objective, ObjectiveProgress
from learning.selectors import (
    ObjectiveRow,
    module_chapters,
    module_page,
    objective_rows,
    progress_summaries,
    progress_summary,
    resources_for,
    visible_modules,
)
from learning.services.accounts import (
    InvalidInviteCode,
    InviteCodeThrottled,
    class_for_invite_code,
    class_join,
    client_address,
    is_instructor,
    student_signup,
)
from learning.services.progress import objective_self_assess, objective_untick, resource_mark
from learning.services.review import objective_review


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
    # The views typed with it are @login_required (the sign-up view never reads it).
    user: User


MODULE_TEMPLATE = "learning/module.html"


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    """Signed out: what TorchReady is. Signed in: instructors' classes, or my modules."""
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    return redirect(home_url(request.user))


def home_url(user) -> str:
    return reverse("learning:teach" if is_instructor(user) else "learning:my_modules")


@require_GET
@login_required
def my_modules(request: HtmxHttpRequest) -> HttpResponse:
    modules = list(visible_modules(user=request.user))
    summaries = progress_summaries(user=request.user, modules=modules)
    chapters = [
        (chapter, [(module, summaries[module.pk]) for module in chapter.modules])
        for chapter in module_chapters(modules)
    ]
    return render(request, "learning/my_modules.html", {"chapters": chapters})


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
        return redirect("learning:join")
    data = request.POST if request.method == "POST" else None
    form = SignupForm(data, initial={"invite_code": request.GET.get("code", "")})
    klass = _invite_code_class(request, form) if request.method == "POST" else None
    if klass is not None and form.is_valid():
        user = student_signup(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            display_name=form.cleaned_data["display_name"],
            klass=klass,
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.first_name}! You have joined {klass.name}.")
        return redirect("learning:my_modules")
    form.hide_taken_username()
    return _invite_form_page(request, "registration/signup.html", form)


@require_http_methods(["GET", "POST"])
@login_required
def join(request: HtmxHttpRequest) -> HttpResponse:
    """An existing account joins another class with its invite code."""
    data = request.POST if request.method == "POST" else None
    form = JoinClassForm(data, initial={"invite_code": request.GET.get("code", "")})
    klass = _invite_code_class(request, form) if request.method == "POST" else None
    if klass is not None:
        if class_join(student=request.user, klass=klass):
            messages.success(request, f"You have joined {klass.name}.")
        else:
            messages.info(request, f"You are already in {klass.name}.")
        return redirect("learning:my_modules")
    return _invite_form_page(request, "learning/join.html", form)


def _invite_code_class(request: HtmxHttpRequest, form) -> Klass | None:
    """The class for the form's invite code, or None with the error on the form."""
    if not form.is_valid() and "invite_code" in form.errors:
        return None
    try:
        return class_for_invite_code(
            form.cleaned_data["invite_code"], address=client_address(request)
        )
    except InviteCodeThrottled as exc:
        form.add_error("invite_code", exc)
        setattr(request, "invite_retry_after", exc.retry_after)  # noqa: B010  (read below)
    except InvalidInviteCode as exc:
        form.add_error("invite_code", exc)
    return None


def _invite_form_page(request: HtmxHttpRequest, template: str, form) -> HttpResponse:
    response = render(request, template, {"form": form}, status=400 if form.errors else 200)
    wait = getattr(request, "invite_retry_after", 0)
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response


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


# Instructors' class dashboard -------------------------------------------------------
# Only a class's own instructors see it; anyone else gets a 404, as for a class
# that does not exist, so nothing leaks about other classes or students.

DASHBOARD_TEMPLATE = "learning/dashboard.html"
STUDENT_TEMPLATE = "learning/dashboard_student.html"
PAGE_SIZE = 100


@require_GET
@login_required
def class_dashboard(request: HtmxHttpRequest, class_id: int) -> HttpResponse:
    poll_url = _query_url(request, drop=("v",))
    # The live region polls with the version it shows. The version comes from one
    # aggregate query (the members, their tokens and their activity counts), so an
    # unchanged region is a cheap 204, which htmx leaves alone (focus and scroll
    # stay where they are); only a change renders.
    version = dashboard.live_version(user=request.user, class_id=class_id, query=poll_url)
    if version is None:
        raise Http404
    if request.htmx and request.GET.get("v") == version:
        return HttpResponse(status=204)
    klass = taught_class(request, class_id)
    snapshot = dashboard.class_snapshot(klass=klass, module_slug=request.GET.get("module", ""))
    form = DashboardFilterForm(
        request.GET,
        states=dashboard.STATES,
        sorts=dashboard.SORTS,
        checks=snapshot.check_ids(),
        gpus=snapshot.gpu_models(),
    )
    filters = dashboard.Filters(**{k: v for k, v in form.values().items() if v})
    students = dashboard.filter_students(snapshot.students, filters)
    page = Paginator(students, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "klass": klass,
        "snapshot": snapshot,
        "form": form,
        "filters": filters,
        "page": page,
        "matrix_rows": [matrix_row(s) for s in page.object_list],
        "shown": len(students),
        "counts": dashboard.state_counts(students),
        "stuck_groups": dashboard.stuck_groups(snapshot.students),
        "stuck_longest": dashboard.stuck_longest(snapshot.students),
        "page_urls": _page_urls(request, page),
        "poll_url": poll_url,
        "version": version,
    }
    if request.htmx:
        return render(request, f"{DASHBOARD_TEMPLATE}#live", context)
    context["charts"] = class_charts(snapshot)
    context["module_chapters"] = module_chapters(snapshot.modules)
    return render(request, DASHBOARD_TEMPLATE, context)


@require_GET
@login_required
def student_detail(request: HtmxHttpRequest, class_id: int, user_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    student = get_object_or_404(klass.students, pk=user_id)
    return _student_page(request, klass, student)


@require_POST
@login_required
def objective_review_save(
    request: HtmxHttpRequest, class_id: int, user_id: int, objective_id: int
) -> HttpResponse:
    klass = taught_class(request, class_id)
    student = get_object_or_404(klass.students, pk=user_id)
    progress = get_object_or_404(
        ObjectiveProgress.objects.select_related("objective"),
        student=student,
        objective_id=objective_id,
        objective__archived_at__isnull=True,
        self_assessed_at__isnull=False,
    )
    evidence_fails = progress.evidence == ObjectiveProgress.Evidence.NEEDS_WORK
    form = ReviewForm(request.POST, objective_id=objective_id, evidence_fails=evidence_fails)
    if not form.is_valid():
        if request.htmx:
            return _review_row(request, klass, student, progress.objective, form=form, status=400)
        return _student_page(request, klass, student, bound=form, status=400)
    objective_review(reviewer=request.user, progress=progress, **form.cleaned_data)
    if request.htmx:
        return _review_row(request, klass, student, progress.objective, just_saved=True)
    verb = "Confirmed" if form.cleaned_data["decision"] == "confirmed" else "Returned"
    messages.success(request, f"{verb}: “{progress.objective.text}”.")
    url = reverse("learning:dashboard_student", args=[klass.pk, student.pk])
    return redirect(f"{url}#objective-{objective_id}")


@require_GET
@login_required
def export_csv(request: HtmxHttpRequest, class_id: int) -> StreamingHttpResponse:
    klass = taught_class(request, class_id)
    chunks = exports.progress_csv(klass=klass)
    return _download(klass, chunks, "text/csv; charset=utf-8", "progress.csv")


@require_GET
@login_required
def export_json(request: HtmxHttpRequest, class_id: int) -> StreamingHttpResponse:
    klass = taught_class(request, class_id)
    return _download(klass, exports.evidence_json(klass=klass), "application/json", "evidence.json")


def _download(klass: Klass, chunks, content_type: str, suffix: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    name = slugify(klass.name) or "class"
    response["Content-Disposition"] = f'attachment; filename="{name}-{suffix}"'
    return response


def taught_class(request: HtmxHttpRequest, class_id: int) -> Klass:
    """The class if the user teaches it; a 404 otherwise, as for no such class."""
    klass = dashboard.class_for_instructor(user=request.user, class_id=class_id)
    if klass is None:
        raise Http404
    return klass


def _query_url(request: HtmxHttpRequest, *, drop=(), **changes) -> str:
    query = request.GET.copy()
    for key in drop:
        query.pop(key, None)
    for key, value in changes.items():
        query[key] = value
    return f"{request.path}?{query.urlencode()}" if query else request.path


def _page_urls(request: HtmxHttpRequest, page) -> dict[str, str]:
    urls = {}
    if page.has_previous():
        urls["previous"] = _query_url(request, drop=("v",), page=page.previous_page_number())
    if page.has_next():
        urls["next"] = _query_url(request, drop=("v",), page=page.next_page_number())
    return urls


def _student_page(
    request: HtmxHttpRequest,
    klass: Klass,
    student,
    *,
    bound: ReviewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    modules = dashboard.student_modules(klass=klass, student=student)
    for _, rows in modules:
        for row in rows:
            row.form = bound if bound and bound.objective_id == row.objective.pk else None
    reports = dashboard.student_reports(student=student)
    latest = next((e.report for e in reports if e.report.outcome == "completed"), None)
    context = {
        "klass": klass,
        "student": student,
        "modules": modules,
        "reports": reports,
        "latest": latest and report_context(latest),
    }
    return render(request, STUDENT_TEMPLATE, context, status=status)


def _review_row(
    request: HtmxHttpRequest,
    klass: Klass,
    student,
    objective: Objective,
    *,
    form: ReviewForm | None = None,
    status: int = 200,
    just_saved: bool = False,
) -> HttpResponse:
    [row] = objective_rows(user=student, module=objective.module, only=objective)
    row.form = form
    context = {"klass": klass, "student": student, "row": row, "just_saved": just_saved}
    return render(request, f"{STUDENT_TEMPLATE}#objective-row", context, status=status)
