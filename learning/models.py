import secrets

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from diagnostics.agent.verdict.ids import Verifier

VERIFIER_CHOICES = [(v.value, v.value) for v in Verifier]


class Module(models.Model):
    """A knowledge module, imported from one Markdown page of a course."""

    slug = models.SlugField(max_length=200, unique=True)
    source_path = models.CharField(
        max_length=500, unique=True, help_text="Path relative to the course folder."
    )
    title = models.CharField(max_length=300)
    sort = models.IntegerField(null=True, blank=True)
    # The chapter it belongs to: its front matter `parent` (the parent page's title).
    # Without one, its folder groups it (see selectors.module_chapters).
    parent = models.CharField(max_length=300, blank=True)
    intro_html = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = [models.F("sort").asc(nulls_last=True), "title"]

    def __str__(self) -> str:
        return self.title


class Section(models.Model):
    """A `##` section of a module page, rendered and sanitised."""

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="sections")
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    anchor = models.SlugField(max_length=200)
    html = models.TextField(blank=True)

    class Meta:
        ordering = ["module", "order"]
        constraints = [
            models.UniqueConstraint(fields=["module", "order"], name="section_order_unique")
        ]

    def __str__(self) -> str:
        return self.title


class Objective(models.Model):
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="objectives")
    order = models.PositiveIntegerField()
    text = models.TextField()
    # Normalised text, used to match an objective across re-imports.
    key = models.CharField(max_length=300)
    # The lead-in heading of its list when a page has several ("Part 1 ...").
    group = models.CharField(max_length=300, blank=True)
    # Which evidence can verify it (a Verifier); empty for self-assessment only.
    verifier = models.CharField(max_length=50, blank=True, choices=VERIFIER_CHOICES)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["module", "order"]

    def __str__(self) -> str:
        return self.text


class Resource(models.Model):
    class Kind(models.TextChoices):
        TABLE = "table", "Table row"
        LINK = "link", "Link"
        VIDEO = "video", "Video"

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="resources")
    section = models.ForeignKey(
        Section, on_delete=models.SET_NULL, null=True, blank=True, related_name="resources"
    )
    order = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=500)
    url = models.URLField(max_length=2000, blank=True)
    material_type = models.CharField(max_length=200, blank=True)
    developer = models.CharField(max_length=200, blank=True)
    time_text = models.CharField(max_length=100, blank=True)
    minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Parsed from time_text where possible."
    )
    level = models.CharField(max_length=100, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="Other table columns, by header.")
    key = models.CharField(max_length=500)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["module", "order"]

    def __str__(self) -> str:
        return self.title


class Klass(models.Model):
    """A class (course run) that students join with an invite code."""

    name = models.CharField(max_length=200)
    invite_code = models.CharField(max_length=32, unique=True, editable=False)
    instructors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teaching")
    students = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="classes", blank=True)
    modules = models.ManyToManyField(Module, blank=True, help_text="Empty means every module.")
    created_at = models.DateTimeField(auto_now_add=True)
    # An archived class keeps its students and progress, but no one can join it.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "class"
        verbose_name_plural = "classes"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.invite_code:
            self.invite_code = new_invite_code()
        super().save(*args, **kwargs)


def new_invite_code() -> str:
    # Unambiguous characters, easy to read aloud in a lecture hall.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


class CoInstructorInvite(models.Model):
    """An instructor asks another instructor to co-teach a class; the invitee accepts."""

    klass = models.ForeignKey(Klass, on_delete=models.CASCADE, related_name="invites")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="class_invites"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["klass", "invitee"], name="one_invite_per_instructor")
        ]

    def __str__(self) -> str:
        return f"{self.invitee} → {self.klass}"


class Status(models.TextChoices):
    """One student's state on one objective: the one vocabulary for it.

    The models, the dashboard (matrix, counts, filters), the charts, the exports
    and the templates all use these members; the order is the order the charts
    and counts show them in.
    """

    VERIFIED = "verified", "Verified"
    SELF_ASSESSED = "self_assessed", "Self-assessed"
    # An instructor returned the self-assessment; the student has not reworked it yet.
    RETURNED = "returned", "Returned: action needed"
    NEEDS_WORK = "needs_work", "Needs work"
    # Evidence that passes but cannot be true, or that another student sent too:
    # it does not count until an instructor has looked (issue 11).
    NEEDS_REVIEW = "needs_review", "Needs review"
    NOT_STARTED = "not_started", "Not started"

    @property
    def done(self) -> bool:
        """Counts towards progress: verified, or self-assessed with no evidence against it."""
        return self in (Status.VERIFIED, Status.SELF_ASSESSED)


def status_of(*, evidence: str, self_assessed: bool, returned: bool = False) -> Status:
    """The status rule, written once: a current return by an instructor comes first
    (it asks for action); then evidence decides; else the self-assessment does.

    `returned` means returned since the student last self-assessed (review_current).
    """
    if returned and self_assessed:
        return Status.RETURNED
    if evidence:
        return Status(evidence)
    return Status.SELF_ASSESSED if self_assessed else Status.NOT_STARTED


class ObjectiveProgress(models.Model):
    """One student's state on one objective: a self-assessment and/or evidence.

    No row means "not started".
    """

    class Evidence(models.TextChoices):
        NONE = "", "No evidence"
        # Evidence's values are statuses: status_of passes them through.
        VERIFIED = Status.VERIFIED.value, "Verified by evidence"
        NEEDS_WORK = Status.NEEDS_WORK.value, "Needs work"
        NEEDS_REVIEW = Status.NEEDS_REVIEW.value, "Needs review"

    class Review(models.TextChoices):
        NONE = "", "Not reviewed"
        CONFIRMED = "confirmed", "Confirmed by an instructor"
        RETURNED = "returned", "Returned by an instructor"

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="objective_progress"
    )
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="progress")
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    reflection = models.TextField(blank=True, validators=[MaxLengthValidator(2000)])
    self_assessed_at = models.DateTimeField(null=True, blank=True)
    evidence = models.CharField(max_length=12, choices=Evidence.choices, blank=True, default="")
    evidence_at = models.DateTimeField(null=True, blank=True)
    evidence_summary = models.CharField(max_length=500, blank=True)
    # An instructor's review of the self-assessment, with who and when for the audit trail.
    review = models.CharField(max_length=10, choices=Review.choices, blank=True, default="")
    review_comment = models.TextField(blank=True, validators=[MaxLengthValidator(2000)])
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "objective"], name="objective_progress_unique"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=5),
                name="confidence_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.objective}"

    @property
    def review_current(self) -> bool:
        """The review is about the self-assessment as it stands, not an older one."""
        return bool(
            self.review
            and self.reviewed_at
            and self.self_assessed_at
            and self.reviewed_at >= self.self_assessed_at
        )

    @property
    def status(self) -> Status:
        return status_of(
            evidence=self.evidence,
            self_assessed=self.self_assessed_at is not None,
            returned=self.review == self.Review.RETURNED and self.review_current,
        )


class ResourceProgress(models.Model):
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resource_progress"
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="progress")
    done_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "resource"], name="resource_progress_unique")
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.resource}"


class StudentActivity(models.Model):
    """How many times what the class dashboard shows of a student has changed.

    One row a student, counted up by the services that write their progress,
    resources done or reports (learning.services.live). The dashboard's poll sums
    the counts of the class's members, instead of reading their rows.
    """

    student = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    changes = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.student} · {self.changes} changes"
