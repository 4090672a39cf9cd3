"""Treatment plans (FHIR CarePlan + Goal): problems, goals in the patient's own words,
measurable objectives and interventions, kept as numbered versions.

A version is a draft until its first signature; from then on its content is locked and a
change is a new version with a reason. It becomes the active plan when the required
signatures (patient, clinician, and a supervisor where the clinician needs co-signing)
are present. Every version is kept. Items carry a ``key`` that stays the same across
versions, so versions compare line by line and services link to an objective for good.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openiop.accounts.models import Organization, Program, Track
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient, SupportContact
from openiop.plans import rules

DIMENSIONS_VALIDATOR = RegexValidator(
    r"^([1-6](,[1-6])*)?$", "List ASAM dimensions as numbers 1–6, e.g. 3,5."
)


class Category(models.TextChoices):
    SUBSTANCE_USE = "substance_use", "Substance use"
    DEPRESSION = "depression", "Depression"
    ANXIETY = "anxiety", "Anxiety"
    TRAUMA = "trauma", "Trauma"
    RECOVERY_ENVIRONMENT = "environment", "Recovery environment"
    OTHER = "other", "Other"


class Modality(models.TextChoices):
    GROUP = "group", "Group therapy"
    INDIVIDUAL = "individual", "Individual therapy"
    FAMILY = "family", "Family session"
    PSYCHOEDUCATION = "psychoeducation", "Psychoeducation"
    MUTUAL_HELP = "mutual_help", "Mutual-help meetings"
    CASE_MANAGEMENT = "case_management", "Case management"
    MEDICATION = "medication", "Medication management"
    DRUG_TESTING = "drug_testing", "Drug testing"


class ObjectiveStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    MET = "met", "Met"
    REVISED = "revised", "Revised"
    DISCONTINUED = "discontinued", "Discontinued"


class TreatmentPlan(models.Model):
    """The plan of one episode of care; its content lives in its versions."""

    episode = models.OneToOneField(
        EpisodeOfCare, on_delete=models.PROTECT, related_name="treatment_plan"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_plans")
    review_due_on = models.DateField(null=True, blank=True)
    review_due_reason = models.CharField(max_length=20, blank=True)
    last_reviewed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["review_due_on"], name="plan_review_due")]

    def __str__(self) -> str:
        return f"Treatment plan {self.pk}"


class PlanVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNING = "signing", "Waiting for signatures"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Replaced by a later version"

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    change_reason = models.TextField("reason for this version", blank=True)
    based_on = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    level_of_care = models.CharField(max_length=4, choices=Program.LevelOfCare.choices)
    # Planned intensity (SPEC §2), defaulting from the program and its track.
    hours_per_day = models.DecimalField(
        "planned hours per day",
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(24)],
    )
    days_per_week = models.PositiveSmallIntegerField(
        "planned days per week", validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    track = models.ForeignKey(Track, on_delete=models.PROTECT, null=True, blank=True)
    meetings_per_week = models.PositiveSmallIntegerField(
        "required mutual-help meetings per week", validators=[MaxValueValidator(21)]
    )
    strengths = models.TextField("strengths and resources", blank=True)
    discharge_criteria = models.TextField("what completing this program looks like", blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number"),
            models.UniqueConstraint(
                fields=["plan"],
                condition=models.Q(status="active"),
                name="plan_one_active_version",
            ),
            models.UniqueConstraint(
                fields=["plan"],
                condition=models.Q(status__in=["draft", "signing"]),
                name="plan_one_open_version",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(locked_at__isnull=False),
                name="plan_version_signed_is_locked",
            ),
        ]

    def __str__(self) -> str:
        return f"Version {self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_locked(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def hours_per_week(self) -> object:
        return self.hours_per_day * self.days_per_week


class Problem(models.Model):
    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="problems")
    key = models.UUIDField(default=uuid.uuid4, editable=False)
    order = models.PositiveSmallIntegerField(default=1)
    category = models.CharField(max_length=20, choices=Category.choices, default="other")
    statement = models.TextField("problem")
    asam_dimensions = models.CharField(
        "ASAM dimensions", max_length=11, blank=True, validators=[DIMENSIONS_VALIDATOR]
    )
    diagnosis_codes = models.JSONField("diagnoses (ICD-10-CM)", default=list, blank=True)

    class Meta:
        ordering = ["version", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="problem_key_per_version")
        ]

    def __str__(self) -> str:
        return self.statement[:60]

    @property
    def dimension_numbers(self) -> list[int]:
        return [int(d) for d in self.asam_dimensions.split(",") if d]


class Goal(models.Model):
    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="goals")
    key = models.UUIDField(default=uuid.uuid4, editable=False)
    order = models.PositiveSmallIntegerField(default=1)
    own_words = models.TextField("goal in the patient's own words")
    clinical = models.TextField("clinical restatement", blank=True)

    class Meta:
        ordering = ["problem", "order", "id"]

    def __str__(self) -> str:
        return self.own_words[:60]


class Objective(models.Model):
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="objectives")
    key = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    order = models.PositiveSmallIntegerField(default=1)
    text = models.TextField("measurable objective")
    target_date = models.DateField()
    status = models.CharField(
        max_length=12, choices=ObjectiveStatus.choices, default=ObjectiveStatus.NOT_STARTED
    )

    class Meta:
        ordering = ["goal", "order", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class Intervention(models.Model):
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="interventions")
    key = models.UUIDField(default=uuid.uuid4, editable=False)
    order = models.PositiveSmallIntegerField(default=1)
    modality = models.CharField(max_length=20, choices=Modality.choices)
    description = models.TextField(blank=True)
    frequency = models.CharField(max_length=100, help_text="For example: 3 times a week.")
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="responsible staff",
    )

    class Meta:
        ordering = ["objective", "order", "id"]

    def __str__(self) -> str:
        return self.get_modality_display()


class Signature(models.Model):
    class Role(models.TextChoices):
        PATIENT = rules.SignerRole.PATIENT, "Patient"
        CLINICIAN = rules.SignerRole.CLINICIAN, "Clinician"
        SUPERVISOR = rules.SignerRole.SUPERVISOR, "Clinical supervisor"

    class Method(models.TextChoices):
        PASSWORD = "password", "Password re-entered"
        TYPED = "typed", "Typed name with attestation"
        PAD = "pad", "Signature pad"

    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="signatures")
    role = models.CharField(max_length=12, choices=Role.choices)
    method = models.CharField(max_length=10, choices=Method.choices)
    # Staff sign as themselves; for the patient, the staff member who collected it.
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    typed_name = models.CharField(max_length=200, blank=True)
    attested = models.BooleanField(default=False)
    image = models.TextField("signature image (PNG data URL)", blank=True)
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["version", "signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "role"], name="signature_one_per_role")
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} signature"


class PlanReview(models.Model):
    class Reason(models.TextChoices):
        SCHEDULED = rules.DueReason.SCHEDULED, "Scheduled review"
        PHASE_CHANGED = rules.DueReason.PHASE_CHANGED, "Phase changed"
        LEVEL_CHANGED = rules.DueReason.LEVEL_CHANGED, "Level of care changed"
        OTHER = "other", "Other (clinical change)"

    class Decision(models.TextChoices):
        CONTINUE = "continue", "Continue the plan as it is"
        REVISE = "revise", "Revise the plan (new version)"
        STEP_DOWN = "step_down", "Step down to a less intensive level"
        STEP_UP = "step_up", "Step up to a more intensive level"

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="reviews")
    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="reviews")
    reviewed_on = models.DateField()
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.SCHEDULED)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    summary = models.TextField("progress summary")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["plan", "-reviewed_on", "-id"]

    def __str__(self) -> str:
        return f"Review of {self.reviewed_on:%m/%d/%Y}"


class ObjectiveProgress(models.Model):
    review = models.ForeignKey(PlanReview, on_delete=models.CASCADE, related_name="progress")
    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="progress")
    status = models.CharField(max_length=12, choices=ObjectiveStatus.choices)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["review", "objective__goal__problem__order", "objective__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "objective"], name="progress_one_per_objective"
            )
        ]

    def __str__(self) -> str:
        return self.get_status_display()


class ObjectiveLink(models.Model):
    """The golden thread: a service (a session, a note, a drug test…) that worked on an
    objective. Later documentation creates these; counts follow the objective's key, so
    links made under an earlier version still count after a revision."""

    class ServiceKind(models.TextChoices):
        GROUP = "group", "Group session"
        INDIVIDUAL = "individual", "Individual session"
        FAMILY = "family", "Family session"
        CASE_MANAGEMENT = "case_management", "Case management"
        MEDICATION = "medication", "Medication management"
        DRUG_TEST = "drug_test", "Drug test"
        MEETING = "meeting", "Mutual-help meeting"
        NOTE = "note", "Clinical note"
        OTHER = "other", "Other service"

    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="links")
    objective_key = models.UUIDField(db_index=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    service_kind = models.CharField(max_length=20, choices=ServiceKind.choices)
    service_date = models.DateField()
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.CharField(max_length=40, blank=True)
    label = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-service_date", "-id"]
        indexes = [
            models.Index(fields=["objective_key", "service_date"], name="objective_link_key"),
            models.Index(fields=["content_type", "object_id"], name="objective_link_target"),
        ]

    def __str__(self) -> str:
        return f"{self.get_service_kind_display()} on {self.service_date:%m/%d/%Y}"


class RelapsePreventionPlan(models.Model):
    """The person's own plan for staying well, printed as a pocket card."""

    episode = models.OneToOneField(
        EpisodeOfCare, on_delete=models.PROTECT, related_name="relapse_prevention_plan"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    triggers_people = models.TextField("people", blank=True)
    triggers_places = models.TextField("places", blank=True)
    triggers_feelings = models.TextField("feelings", blank=True)
    triggers_situations = models.TextField("situations", blank=True)
    warning_signs = models.TextField("my warning signs", blank=True)
    coping_strategies = models.TextField("what I will do instead", blank=True)
    reasons = models.TextField("my reasons for recovery", blank=True)
    after_lapse = models.TextField("if I slip", blank=True)
    crisis_resources = models.TextField(default=rules.CRISIS_RESOURCES)
    support_contacts = models.ManyToManyField(SupportContact, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    history = HistoricalRecords(m2m_fields=[support_contacts])

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Relapse-prevention plan {self.pk}"


# --- the organization's plan library ---------------------------------------------------------


class LibraryProblem(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="plan_library"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    title = models.CharField(max_length=120)
    statement = models.TextField("problem")
    asam_dimensions = models.CharField(
        "ASAM dimensions", max_length=11, blank=True, validators=[DIMENSIONS_VALIDATOR]
    )
    order = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization", "category", "order", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "title"], name="library_problem_unique_title"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def dimension_numbers(self) -> list[int]:
        return [int(d) for d in self.asam_dimensions.split(",") if d]


class LibraryGoal(models.Model):
    problem = models.ForeignKey(LibraryProblem, on_delete=models.CASCADE, related_name="goals")
    own_words_example = models.TextField("example in a patient's words")
    clinical = models.TextField("clinical goal", blank=True)

    class Meta:
        ordering = ["problem", "id"]

    def __str__(self) -> str:
        return self.clinical[:60] or self.own_words_example[:60]


class LibraryObjective(models.Model):
    problem = models.ForeignKey(LibraryProblem, on_delete=models.CASCADE, related_name="objectives")
    text = models.TextField("measurable objective")
    target_weeks = models.PositiveSmallIntegerField(
        "target (weeks from today)", default=4, validators=[MinValueValidator(1)]
    )

    class Meta:
        ordering = ["problem", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class LibraryIntervention(models.Model):
    problem = models.ForeignKey(
        LibraryProblem, on_delete=models.CASCADE, related_name="interventions"
    )
    modality = models.CharField(max_length=20, choices=Modality.choices)
    description = models.TextField(blank=True)
    frequency = models.CharField(max_length=100)

    class Meta:
        ordering = ["problem", "id"]

    def __str__(self) -> str:
        return f"{self.get_modality_display()}: {self.frequency}"
