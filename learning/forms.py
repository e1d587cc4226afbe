from django import forms
from django.contrib.auth.forms import UserCreationForm

from learning.services.accounts import InvalidInviteCode, class_for_invite_code
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

    def __init__(self, *args, objective_id: int, **kwargs):
        # Unique ids per objective: the page holds one form per objective.
        super().__init__(*args, auto_id=f"objective-{objective_id}-%s", **kwargs)
        self.objective_id = objective_id
        reflection = self.fields["reflection"].widget.attrs
        reflection["aria-describedby"] = (
            f"objective-{objective_id}-reflection-error objective-{objective_id}-reflection-count"
        )


class SignupForm(UserCreationForm):
    invite_code = forms.CharField(
        max_length=40,
        help_text="Your instructor gives you this code, e.g. ABCD-EFGH-JKLM.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_invite_code(self) -> str:
        code = self.cleaned_data["invite_code"]
        try:
            class_for_invite_code(code)
        except InvalidInviteCode as exc:
            raise forms.ValidationError(exc.messages[0], code="invalid_invite_code") from exc
        return code

    def clean(self):
        data = super().clean()
        if "invite_code" in self.errors and self.has_error("username", "unique"):
            # Without a valid invite code, say nothing about which user names exist.
            del self.errors["username"]
        return data

    @property
    def wrong_invite_code(self) -> bool:
        return self.has_error("invite_code", "invalid_invite_code")


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
        self.fields["state"].choices = [("", "Any state"), *states.items()]
        self.fields["check"].choices = [("", "Any check"), *((c, c) for c in checks)]
        self.fields["gpu"].choices = [("", "Any GPU"), *((g, g) for g in gpus)]
        self.fields["sort"].choices = list(sorts.items())

    def values(self) -> dict:
        """The valid filters; an unknown value in a shared link is ignored, not an error."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) for name in self.fields if name != "module"}


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

    def __init__(self, *args, objective_id: int, **kwargs):
        super().__init__(*args, auto_id=f"review-{objective_id}-%s", **kwargs)
        self.objective_id = objective_id

    def clean(self):
        data = super().clean()
        if data.get("decision") == "returned" and not data.get("comment"):
            self.add_error("comment", "Say what to work on when you return a self-assessment.")
        return data
