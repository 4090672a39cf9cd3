"""Assessment before admission: ASAM six dimensions and the biopsychosocial assessment.

Both start as drafts, are signed by a clinician (which locks them) and take addenda after.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from openiop.accounts.models import Organization
from openiop.assessments import rules
from openiop.core import teds
from openiop.patients.models import Patient

RATING_VALIDATORS = [MinValueValidator(rules.RATING_MIN), MaxValueValidator(rules.RATING_MAX)]


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class AsamRule(models.Model):
    """One row of an organization's level-of-care table (SPEC §5); first match wins."""

    class Match(models.TextChoices):
        ANY = rules.ANY, "Any of the dimensions is at least"
        ALL = rules.ALL, "All of the dimensions are at least"
        OTHERWISE = rules.OTHERWISE, "Otherwise (catch-all, last row)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="asam_rules"
    )
    order = models.PositiveSmallIntegerField()
    dimensions = models.JSONField(
        default=list, blank=True, help_text="Dimension numbers 1–6, e.g. [2, 3]."
    )
    match = models.CharField(max_length=10, choices=Match.choices, default=Match.ANY)
    at_least = models.PositiveSmallIntegerField(default=0, validators=RATING_VALIDATORS)
    recommendation = models.CharField(max_length=12, choices=list(rules.RECOMMENDATIONS.items()))
    label = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["organization", "order"]
        verbose_name = "ASAM level-of-care rule"
        constraints = [
            models.UniqueConstraint(fields=["organization", "order"], name="asamrule_unique_order"),
            models.CheckConstraint(
                condition=models.Q(at_least__lte=rules.RATING_MAX), name="asamrule_at_least_0_4"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.as_rule().describe()} → {self.recommendation}"

    def as_rule(self) -> rules.Rule:
        return rules.Rule(
            dimensions=tuple(int(d) for d in (self.dimensions or [])),
            match=self.match,
            at_least=self.at_least,
            recommendation=self.recommendation,
            label=self.label,
        )


class AsamRuleTable(Organization):
    """An organization seen as the owner of its ASAM table (the admin edits rows inline)."""

    class Meta:
        proxy = True
        verbose_name = "ASAM level-of-care table"


def _rating_checks(prefix: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=models.Q(**{f"d{d}_rating__gte": rules.RATING_MIN})
            & models.Q(**{f"d{d}_rating__lte": rules.RATING_MAX}),
            name=f"{prefix}_d{d}_rating_0_4",
        )
        for d in rules.DIMENSIONS
    ]


class AsamAssessment(models.Model):
    """Six dimensions rated 0–4 with a rationale each, the table's recommendation and the
    clinician's final level (with the reason when it differs)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="asam_assessments")
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT)
    d1_rating = models.PositiveSmallIntegerField(
        "D1 acute intoxication / withdrawal", validators=RATING_VALIDATORS
    )
    d1_rationale = models.TextField("D1 rationale")
    d2_rating = models.PositiveSmallIntegerField(
        "D2 biomedical conditions", validators=RATING_VALIDATORS
    )
    d2_rationale = models.TextField("D2 rationale")
    d3_rating = models.PositiveSmallIntegerField(
        "D3 emotional, behavioral, cognitive", validators=RATING_VALIDATORS
    )
    d3_rationale = models.TextField("D3 rationale")
    d4_rating = models.PositiveSmallIntegerField(
        "D4 readiness to change", validators=RATING_VALIDATORS
    )
    d4_rationale = models.TextField("D4 rationale")
    d5_rating = models.PositiveSmallIntegerField(
        "D5 relapse / continued use potential", validators=RATING_VALIDATORS
    )
    d5_rationale = models.TextField("D5 rationale")
    d6_rating = models.PositiveSmallIntegerField(
        "D6 recovery / living environment", validators=RATING_VALIDATORS
    )
    d6_rationale = models.TextField("D6 rationale")
    recommendation = models.CharField(max_length=12, choices=list(rules.RECOMMENDATIONS.items()))
    recommendation_reason = models.CharField(max_length=200, blank=True)
    table_version = models.CharField(
        max_length=40, help_text="Which level-of-care table gave the recommendation."
    )
    final_level = models.CharField(
        max_length=4, choices=list(rules.FINAL_LEVELS.items()), blank=True
    )
    override_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "ASAM assessment"
        indexes = [models.Index(fields=["patient", "status", "signed_at"], name="asam_patient")]
        constraints = [
            *_rating_checks("asam"),
            models.CheckConstraint(
                condition=models.Q(status=Status.DRAFT) | models.Q(signed_at__isnull=False),
                name="asam_signed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"ASAM assessment {self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.status == Status.SIGNED

    @property
    def ratings(self) -> dict[int, int]:
        return {d: getattr(self, f"d{d}_rating") for d in rules.DIMENSIONS}

    @property
    def dimension_rows(self) -> list[tuple[int, str, int, str]]:
        return [
            (
                d,
                rules.DIMENSION_NAMES[d],
                getattr(self, f"d{d}_rating"),
                getattr(self, f"d{d}_rationale"),
            )
            for d in rules.DIMENSIONS
        ]

    @property
    def is_override(self) -> bool:
        return rules.needs_override_reason(self.recommendation, self.final_level)


class Biopsychosocial(models.Model):
    """The biopsychosocial assessment: one long record in sections, saved as a draft."""

    class Pregnancy(models.TextChoices):
        NOT_APPLICABLE = "not_applicable", "Not applicable"
        NO = "no", "No"
        YES = "yes", "Yes"
        UNKNOWN = "unknown", "Unknown / not sure"

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="biopsychosocial_assessments"
    )
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT)
    # Substance use (rows in SubstanceUse)
    no_substance_use_reported = models.BooleanField(
        "no substance use reported",
        default=False,
        help_text="Tick only when the person reports no substance use at all.",
    )
    substance_use_notes = models.TextField("substance use — other notes", blank=True)
    # Prior treatment
    prior_treatment_episodes = models.PositiveSmallIntegerField(
        "prior substance-use treatment episodes",
        choices=teds.PriorTreatment.choices,
        null=True,
        blank=True,
    )
    prior_treatment_kinds = models.JSONField("kinds of prior treatment", default=list, blank=True)
    prior_treatment_notes = models.TextField("prior treatment — details", blank=True)
    # Mental health
    mental_health_history = models.TextField("mental-health history", blank=True)
    current_symptoms = models.JSONField("current symptoms", default=list, blank=True)
    current_symptoms_notes = models.TextField("current symptoms — details", blank=True)
    # Medical and physical
    medical_conditions = models.TextField("medical conditions", blank=True)
    medications = models.TextField("current medications", blank=True)
    allergies = models.TextField(blank=True)
    bp_systolic = models.PositiveSmallIntegerField(
        "blood pressure, systolic (mmHg)", null=True, blank=True
    )
    bp_diastolic = models.PositiveSmallIntegerField(
        "blood pressure, diastolic (mmHg)", null=True, blank=True
    )
    pulse = models.PositiveSmallIntegerField("pulse (per minute)", null=True, blank=True)
    respirations = models.PositiveSmallIntegerField(
        "respirations (per minute)", null=True, blank=True
    )
    temperature_f = models.DecimalField(
        "temperature (°F)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    weight_lb = models.DecimalField(
        "weight (lb)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    height_in = models.DecimalField(
        "height (inches)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    pregnancy = models.CharField(max_length=14, choices=Pregnancy.choices, blank=True)
    # Trauma (clinical team only — SPEC §7)
    trauma_history = models.TextField("trauma history", blank=True)
    # Life situation
    legal = models.TextField("legal situation", blank=True)
    work_school = models.TextField("work and school", blank=True)
    housing = models.TextField(blank=True)
    family_support = models.TextField("family and support", blank=True)
    strengths = models.TextField(blank=True)
    # Preferences for specialized groups (SPEC §7): preferences only, not eligibility.
    group_preferences = models.JSONField(
        "preferences for specialized groups", default=list, blank=True
    )
    group_preferences_notes = models.TextField("group preferences — notes", blank=True)
    goals_own_words = models.TextField("goals, in the person's own words", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "biopsychosocial assessment"
        indexes = [models.Index(fields=["patient", "status", "signed_at"], name="bps_patient")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status=Status.DRAFT) | models.Q(signed_at__isnull=False),
                name="bps_signed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Biopsychosocial assessment {self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.status == Status.SIGNED


class SubstanceUse(models.Model):
    """Primary, secondary and tertiary substance with TEDS codes (SPEC §9)."""

    class Rank(models.IntegerChoices):
        PRIMARY = 1, "Primary"
        SECONDARY = 2, "Secondary"
        TERTIARY = 3, "Tertiary"

    assessment = models.ForeignKey(
        Biopsychosocial, on_delete=models.CASCADE, related_name="substance_uses"
    )
    rank = models.PositiveSmallIntegerField(choices=Rank.choices)
    substance = models.PositiveSmallIntegerField(choices=teds.Substance.choices)
    route = models.PositiveSmallIntegerField(choices=teds.Route.choices, null=True, blank=True)
    frequency = models.PositiveSmallIntegerField(
        "frequency, past month", choices=teds.Frequency.choices, null=True, blank=True
    )
    age_first_use = models.PositiveSmallIntegerField(
        "age at first use",
        null=True,
        blank=True,
        validators=[MaxValueValidator(rules.AGE_FIRST_USE_MAX)],
    )
    last_use = models.DateField("last use", null=True, blank=True)
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["assessment", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "rank"], name="substanceuse_unique_rank"),
            models.CheckConstraint(
                condition=models.Q(rank__gte=1) & models.Q(rank__lte=3),
                name="substanceuse_rank_1_3",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rank_display()}: {self.get_substance_display()}"


class Diagnosis(models.Model):
    """A co-occurring diagnosis as an ICD-10-CM code."""

    assessment = models.ForeignKey(
        Biopsychosocial, on_delete=models.CASCADE, related_name="diagnoses"
    )
    code = models.CharField("ICD-10-CM code", max_length=8)
    description = models.CharField(max_length=300)
    not_in_list = models.BooleanField(
        "typed by the clinician",
        default=False,
        help_text="The code was not in the shipped list; the clinician typed the description.",
    )
    is_primary = models.BooleanField("primary", default=False)
    is_substance_use = models.BooleanField(default=False, editable=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["assessment", "-is_primary", "order", "id"]
        verbose_name_plural = "diagnoses"
        constraints = [
            models.UniqueConstraint(fields=["assessment", "code"], name="diagnosis_unique_code"),
        ]

    def __str__(self) -> str:
        return self.code


class Addendum(models.Model):
    """Text added after signing; the signed assessment itself never changes."""

    asam = models.ForeignKey(
        AsamAssessment, on_delete=models.CASCADE, null=True, blank=True, related_name="addenda"
    )
    biopsychosocial = models.ForeignKey(
        Biopsychosocial, on_delete=models.CASCADE, null=True, blank=True, related_name="addenda"
    )
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "addenda"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(asam__isnull=False) & models.Q(biopsychosocial__isnull=True))
                | (models.Q(asam__isnull=True) & models.Q(biopsychosocial__isnull=False)),
                name="addendum_one_assessment",
            ),
        ]

    def __str__(self) -> str:
        return f"Addendum {self.pk}"
