from django import forms
from django.contrib.auth.forms import UserCreationForm

from learning.models import Module
from learning.services.progress import REFLECTION_MAX

CONFIDENCE_CHOICES = [(n, str(n)) for n in range(1, 6)]


class SelfAssessmentForm(forms.Form):
    confidence = forms.TypedChoiceField(
        choices=CONFIDENCE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how confident you are, from 1 to 5.",
            "invalid_choice": "Confidence must be a whole number from 1 to 5.",
        },
    )
    reflection = forms.CharField(
        required=False,
        max_length=REFLECTION_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": REFLECTION_MAX}),
        error_messages={
            "max_length": f"Keep the reflection to {REFLECTION_MAX} characters or fewer "
            "(it has %(show_value)d)."
        },
    )

    def __init__(self, data=None, *, objective_id: int, **kwargs):
        # Unique ids per objective: the page holds one form per objective.
        super().__init__(data, auto_id=f"objective-{objective_id}-%s", **kwargs)
        self.objective_id = objective_id
        reflection = self.fields["reflection"].widget.attrs
        reflection["aria-describedby"] = (
            f"objective-{objective_id}-reflection-error objective-{objective_id}-reflection-count"
        )


def invite_code_field() -> forms.CharField:
    # Checked by the view (accounts.class_for_invite_code), which throttles wrong codes.
    return forms.CharField(
        max_length=40,
        help_text="Your instructor gives you this code, e.g. ABCD-EFGH-JKLM. "
        "Lower case and no dashes work too.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class SignupForm(UserCreationForm):
    display_name = forms.CharField(
        max_length=150,
        strip=True,
        help_text="Your name as your instructor will see it, e.g. Ada Lovelace.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    invite_code = invite_code_field()

    field_order = ["username", "display_name", "password1", "password2", "invite_code"]

    def hide_taken_username(self) -> None:
        """Without a valid invite code, say nothing about which user names exist."""
        if "invite_code" in self.errors and self.has_error("username", "unique"):
            del self.errors["username"]


class JoinClassForm(forms.Form):
    invite_code = invite_code_field()


class DashboardFilterForm(forms.Form):
    """The class dashboard's filters, read from the query string so a view can be bookmarked."""

    module = forms.CharField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search by name",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    state = forms.ChoiceField(required=False, label="State")
    check = forms.ChoiceField(required=False, label="Failing check")
    gpu = forms.ChoiceField(required=False, label="GPU model")
    contradicted = forms.BooleanField(
        required=False, label="Self-assessed but contradicted by evidence"
    )
    sort = forms.ChoiceField(required=False, label="Sort")

    def __init__(self, data, *, states: dict, sorts: dict, checks: list, gpus: list):
        super().__init__(data, auto_id="filter-%s")
        for name, choices in (
            ("state", [("", "Any state"), *states.items()]),
            ("check", [("", "Any check"), *((c, c) for c in checks)]),
            ("gpu", [("", "Any GPU"), *((g, g) for g in gpus)]),
            ("sort", list(sorts.items())),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices

    def values(self) -> dict:
        """The valid filters; an unknown value in a shared link is ignored, not an error."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) for name in self.fields if name != "module"}


OVERRIDE_NEEDED = "The latest GPU evidence fails. To confirm anyway, tick the override and say why."


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("confirmed", "Confirm"), ("returned", "Return")],
        error_messages={"required": "Choose confirm or return."},
    )
    comment = forms.CharField(
        required=False,
        max_length=REFLECTION_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": REFLECTION_MAX}),
        error_messages={"max_length": f"Keep the comment to {REFLECTION_MAX} characters or fewer."},
    )

    override = forms.BooleanField(required=False)

    def __init__(self, data=None, *, objective_id: int, evidence_fails: bool = False, **kwargs):
        super().__init__(data, auto_id=f"review-{objective_id}-%s", **kwargs)
        self.objective_id = objective_id
        self.evidence_fails = evidence_fails

    def clean(self):
        data = super().clean() or {}
        if data.get("decision") == "returned" and not data.get("comment"):
            self.add_error("comment", "Say what to work on when you return a self-assessment.")
        if data.get("decision") == "confirmed" and self.evidence_fails:
            if not data.get("override"):
                self.add_error("override", OVERRIDE_NEEDED)
            elif not data.get("comment"):
                self.add_error("comment", "Say why you confirm it despite the failing evidence.")
        return data


class ClassNameForm(forms.Form):
    name = forms.CharField(
        max_length=200, strip=True, error_messages={"required": "Give the class a name."}
    )


class CoInstructorForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        label="Instructor's user name",
        help_text="They see the invitation under Teach and accept it there.",
        error_messages={"required": "Type the user name of the instructor to invite."},
    )


class ClassModulesForm(forms.Form):
    modules = forms.ModelMultipleChoiceField(
        queryset=Module.objects.filter(archived_at__isnull=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Pick none to show the class every module.",
        error_messages={"invalid_choice": "That module is not available (archived?)."},
    )


class CourseUploadForm(forms.Form):
    file = forms.FileField(
        label="Markdown page or .zip of a course folder",
        error_messages={
            "required": "Choose a .md page or a .zip of a course folder to upload.",
            "empty": "The file is empty.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".md,.zip,text/markdown,application/zip"}),
    )
    whole_course = forms.BooleanField(
        required=False,
        initial=True,
        label="This zip is the whole course: archive modules whose page is not in it",
        help_text="Archived modules keep their students' progress and come back with their page.",
    )
