"""The instructor workspace: classes, their students and the course content.

Instructors never need the admin. Every view here answers 404 to anyone who is
not an instructor (or not one of this class's instructors), as for a page that
does not exist. Actions are plain form POSTs that redirect back to their page;
a refused one renders the page again with the message and status 400.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from learning import dashboard
from learning.forms import ClassModulesForm, ClassNameForm, CoInstructorForm, CourseUploadForm
from learning.models import CoInstructorInvite, Klass, Module
from learning.selectors import invitations_for, module_chapters
from learning.services import classes, uploads
from learning.services.accounts import is_instructor
from learning.views import HtmxHttpRequest, taught_class


def _instructor(request: HtmxHttpRequest) -> None:
    if not is_instructor(request.user):
        raise Http404


# --- Your classes ----------------------------------------------------------------


@require_GET
@login_required
def teach(request: HtmxHttpRequest) -> HttpResponse:
    _instructor(request)
    return _teach_page(request, ClassNameForm())


@require_POST
@login_required
def class_new(request: HtmxHttpRequest) -> HttpResponse:
    _instructor(request)
    form = ClassNameForm(request.POST)
    if form.is_valid():
        klass = classes.class_create(instructor=request.user, name=form.cleaned_data["name"])
        messages.success(request, f"Created {klass.name}. Its invite code is {klass.invite_code}.")
        return redirect("learning:class_manage", klass.pk)
    return _teach_page(request, form, status=400)


def _teach_page(request: HtmxHttpRequest, form: ClassNameForm, status: int = 200) -> HttpResponse:
    taught = list(dashboard.classes_taught(user=request.user))
    context = {
        "current": [k for k in taught if k.archived_at is None],
        "archived": [k for k in taught if k.archived_at is not None],
        "invites": invitations_for(user=request.user),
        "form": form,
    }
    return render(request, "learning/teach.html", context, status=status)


@require_POST
@login_required
def invite_accept(request: HtmxHttpRequest, invite_id: int) -> HttpResponse:
    invite = get_object_or_404(CoInstructorInvite, pk=invite_id, invitee=request.user)
    klass = classes.invite_accept(invite=invite, user=request.user)
    messages.success(request, f"You now teach {klass.name}.")
    return redirect("learning:dashboard", klass.pk)


@require_POST
@login_required
def invite_decline(request: HtmxHttpRequest, invite_id: int) -> HttpResponse:
    invite = get_object_or_404(CoInstructorInvite, pk=invite_id, invitee=request.user)
    classes.invite_withdraw(invite=invite)
    messages.success(request, f"Declined the invitation to {invite.klass.name}.")
    return redirect("learning:teach")


# --- One class ----------------------------------------------------------------------


@require_GET
@login_required
def class_manage(request: HtmxHttpRequest, class_id: int) -> HttpResponse:
    return _manage_page(request, taught_class(request, class_id))


@require_POST
@login_required
def class_rename(request: HtmxHttpRequest, class_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    form = ClassNameForm(request.POST, prefix="rename")
    return _act(request, klass, form, lambda d: classes.class_rename(klass=klass, **d), "Renamed.")


@require_POST
@login_required
def class_archive(request: HtmxHttpRequest, class_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    archived = request.POST.get("archived") == "on"
    classes.class_archive(klass=klass, archived=archived)
    done = "Archived: its invite code no longer works." if archived else "Restored."
    return _done(request, klass, done)


@require_POST
@login_required
def class_rotate_code(request: HtmxHttpRequest, class_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    code = classes.invite_code_rotate(klass=klass)
    return _done(request, klass, f"New invite code {code}. The old one no longer works.")


@require_POST
@login_required
def class_student_remove(request: HtmxHttpRequest, class_id: int, user_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    student = get_object_or_404(klass.students, pk=user_id)
    classes.student_remove(klass=klass, student=student)
    name = student.get_full_name() or student.get_username()
    return _done(request, klass, f"Removed {name} from the class. Their progress is kept.")


@require_POST
@login_required
def class_instructor_remove(request: HtmxHttpRequest, class_id: int, user_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    instructor = get_object_or_404(klass.instructors, pk=user_id)
    try:
        classes.instructor_remove(klass=klass, instructor=instructor)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("learning:class_manage", klass.pk)
    if instructor.pk == request.user.pk:
        messages.success(request, f"You no longer teach {klass.name}.")
        return redirect("learning:teach")
    return _done(request, klass, f"{instructor.get_username()} no longer teaches this class.")


@require_POST
@login_required
def class_invite(request: HtmxHttpRequest, class_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    form = CoInstructorForm(request.POST, prefix="invite")

    def invite(data: dict) -> None:
        classes.co_instructor_invite(klass=klass, invited_by=request.user, **data)

    return _act(request, klass, form, invite, "Invited. They accept under Teach.")


@require_POST
@login_required
def class_invite_withdraw(request: HtmxHttpRequest, class_id: int, invite_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    classes.invite_withdraw(invite=get_object_or_404(klass.invites, pk=invite_id))
    return _done(request, klass, "Invitation withdrawn.")


@require_POST
@login_required
def class_modules(request: HtmxHttpRequest, class_id: int) -> HttpResponse:
    klass = taught_class(request, class_id)
    form = ClassModulesForm(request.POST, prefix="modules")
    return _act(
        request,
        klass,
        form,
        lambda d: classes.modules_set(klass=klass, modules=list(d["modules"])),
        "Saved the modules this class sees.",
    )


def _act(request: HtmxHttpRequest, klass: Klass, form: Form, action, done: str) -> HttpResponse:
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _done(request, klass, done)
    return _manage_page(request, klass, bound=form, status=400)


def _done(request: HtmxHttpRequest, klass: Klass, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("learning:class_manage", klass.pk)


def _manage_page(
    request: HtmxHttpRequest, klass: Klass, *, bound: Form | None = None, status: int = 200
) -> HttpResponse:
    forms = {
        "rename": ClassNameForm(initial={"name": klass.name}, prefix="rename"),
        "invite": CoInstructorForm(prefix="invite"),
        "modules": ClassModulesForm(
            initial={"modules": list(klass.modules.all())}, prefix="modules"
        ),
    }
    if bound is not None and bound.prefix:
        forms[bound.prefix] = bound
    picked = {m.pk for m in klass.modules.all()}
    context = {
        "klass": klass,
        "forms": forms,
        "students": klass.students.order_by("first_name", "username"),
        "instructors": klass.instructors.order_by("username"),
        "invites": klass.invites.select_related("invitee").order_by("created_at"),
        "chapters": module_chapters(Module.objects.filter(archived_at__isnull=True)),
        "picked": picked
        if bound is None or bound.prefix != "modules"
        else {int(pk) for pk in request.POST.getlist("modules-modules") if pk.isdigit()},
    }
    return render(request, "learning/class_manage.html", context, status=status)


# --- Course content -----------------------------------------------------------------


@require_GET
@login_required
def content(request: HtmxHttpRequest) -> HttpResponse:
    _instructor(request)
    return _content_page(request, CourseUploadForm())


@require_POST
@login_required
def content_upload(request: HtmxHttpRequest) -> HttpResponse:
    _instructor(request)
    form = CourseUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            staged = uploads.stage_upload(
                user=request.user,
                upload=form.cleaned_data["file"],
                whole_course=form.cleaned_data["whole_course"],
            )
        except uploads.UploadError as exc:
            form.add_error("file", exc)
        else:
            return redirect("learning:content_preview", staged.token)
    return _content_page(request, form, status=400)


@require_POST
@login_required
def content_folder(request: HtmxHttpRequest) -> HttpResponse:
    _instructor(request)
    try:
        staged = uploads.stage_course_folder(user=request.user)
    except uploads.UploadError as exc:
        messages.error(request, exc.messages[0])
        return redirect("learning:content")
    return redirect("learning:content_preview", staged.token)


@require_http_methods(["GET", "POST"])
@login_required
def content_preview(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """GET: the dry run. POST: apply it (action=confirm) or drop it (action=cancel)."""
    _instructor(request)
    staged = uploads.staged_for(user=request.user, token=token)
    if staged is None:
        raise Http404
    if request.method == "GET":
        summary = uploads.preview(staged=staged)
        context = {"staged": staged, "summary": summary, "totals": _totals(summary)}
        return render(request, "learning/content_preview.html", context)
    if request.POST.get("action") == "confirm":
        try:
            summary = uploads.apply(staged=staged)
        except uploads.UploadError as exc:
            messages.error(request, exc.messages[0])
            return redirect("learning:content")
        totals = _totals(summary)
        messages.success(
            request,
            f"Imported: {totals['imported']} new and {totals['updated']} updated page(s), "
            f"{len(summary.archived_modules)} module(s) archived, {totals['failed']} failed.",
        )
    else:
        uploads.discard(staged=staged)
        messages.success(request, "Cancelled: nothing was imported.")
    return redirect("learning:content")


def _totals(summary) -> dict[str, int]:
    statuses = ("imported", "updated", "skipped", "failed")
    totals = {status: summary.count(status) for status in statuses}
    totals["unchanged"] = sum(r.detail == "unchanged" for r in summary.results)
    return totals


def _content_page(request: HtmxHttpRequest, form: CourseUploadForm, status: int = 200):
    modules = Module.objects.filter(archived_at__isnull=True)
    context = {
        "form": form,
        "chapters": module_chapters(modules),
        "archived": Module.objects.filter(archived_at__isnull=False).order_by("title"),
        "course_dir": settings.COURSE_DIR,
    }
    return render(request, "learning/content.html", context, status=status)
