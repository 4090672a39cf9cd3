"""Help requests (inquiries), their way through the admissions pipeline, and screening.

An inquiry is not yet a chart, but what it holds is health information all the same: every
view and change is audited (section "inquiry"), and only the admissions team of its facility
and the clinician who owns it see it (selectors.visible_inquiries).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from openiop.accounts.models import Facility
from openiop.core import teds
from openiop.intake import rules
from openiop.patients.models import Patient


class Stage(models.TextChoices):
    NEW = rules.NEW, rules.STAGE_LABELS[rules.NEW]
    CONTACTED = rules.CONTACTED, rules.STAGE_LABELS[rules.CONTACTED]
    SCREENED = rules.SCREENED, rules.STAGE_LABELS[rules.SCREENED]
    ASSESSMENT_SCHEDULED = (
        rules.ASSESSMENT_SCHEDULED,
        rules.STAGE_LABELS[rules.ASSESSMENT_SCHEDULED],
    )
    ASSESSED = rules.ASSESSED, rules.STAGE_LABELS[rules.ASSESSED]
    ADMITTED = rules.ADMITTED, rules.STAGE_LABELS[rules.ADMITTED]
    REFERRED = rules.REFERRED, rules.STAGE_LABELS[rules.REFERRED]
    NOT_ADMITTED = rules.NOT_ADMITTED, rules.STAGE_LABELS[rules.NOT_ADMITTED]
    UNREACHABLE = rules.UNREACHABLE, rules.STAGE_LABELS[rules.UNREACHABLE]


class Inquiry(models.Model):
    class WhoNeedsHelp(models.TextChoices):
        SELF = "self", "Me"
        LOVED_ONE = "loved_one", "Someone I care about"

    class BestTime(models.TextChoices):
        ANY = "any", "Any time"
        MORNING = "morning", "Morning (8 am – noon)"
        AFTERNOON = "afternoon", "Afternoon (noon – 5 pm)"
        EVENING = "evening", "Evening (5 pm – 8 pm)"

    class Source(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        PHONE = "phone", "Phone"
        WALK_IN = "walk_in", "Walk-in"
        REFERRAL = "referral", "Referral"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="inquiries")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField("e-mail", blank=True)
    who_needs_help = models.CharField(
        max_length=10, choices=WhoNeedsHelp.choices, default=WhoNeedsHelp.SELF
    )
    person_name = models.CharField("name of the person who needs help", max_length=200, blank=True)
    concern_substances = models.BooleanField("alcohol or drugs", default=False)
    concern_mental_health = models.BooleanField("mental health", default=False)
    insurance_payer = models.CharField("insurance", max_length=100, blank=True)
    insurance_member_id = models.CharField("member ID", max_length=40, blank=True)
    best_time_to_call = models.CharField(
        max_length=10, choices=BestTime.choices, default=BestTime.ANY
    )
    consent_to_contact = models.BooleanField(default=False)
    message = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB_FORM)
    referred_by = models.CharField(max_length=200, blank=True)
    # TEDS PSOURCE (SPEC §9), copied to the episode at admission.
    referral_source = models.PositiveSmallIntegerField(
        choices=teds.ReferralSource.choices, null=True, blank=True
    )

    stage = models.CharField(max_length=24, choices=Stage.choices, default=Stage.NEW)
    referred_to = models.CharField(max_length=200, blank=True)
    not_admitted_reason = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_inquiries",
    )
    next_follow_up = models.DateField(null=True, blank=True)
    assessment_scheduled_for = models.DateTimeField(null=True, blank=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="inquiries"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    stage_changed_at = models.DateTimeField(default=timezone.now)
    admitted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "inquiries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["facility", "stage", "created_at"], name="inquiry_fac_stage"),
            models.Index(fields=["facility", "created_at"], name="inquiry_fac_created"),
            models.Index(fields=["patient", "created_at"], name="inquiry_patient"),
            models.Index(fields=["owner", "stage"], name="inquiry_owner"),
        ]

    def __str__(self) -> str:
        return f"Inquiry {self.pk}"

    @property
    def next_stage(self) -> str:
        """The pipeline stage after this one (what "Move to…" offers first)."""
        if self.stage in rules.PIPELINE[:-1]:
            return rules.PIPELINE[rules.PIPELINE.index(self.stage) + 1]
        return ""

    @property
    def short_name(self) -> str:
        """First name and last initial: what the board shows."""
        initial = f" {self.last_name[:1]}." if self.last_name else ""
        return f"{self.first_name}{initial}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_closed(self) -> bool:
        return self.stage in rules.CLOSED

    @property
    def concerns_label(self) -> str:
        named = [
            (self.concern_substances, "alcohol or drugs"),
            (self.concern_mental_health, "mental health"),
        ]
        return ", ".join(label for on, label in named if on) or "not said"


class InquiryStageChange(models.Model):
    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=24, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=24, choices=Stage.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["inquiry", "changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_stage or '—'} → {self.to_stage}"


class ContactAttempt(models.Model):
    class Method(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        TEXT = "text", "Text message"
        IN_PERSON = "in_person", "In person"

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached"
        LEFT_MESSAGE = "left_message", "Left a message"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        OTHER = "other", "Other"

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="contact_attempts")
    made_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.PHONE)
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    note = models.TextField(blank=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-made_at", "-id"]
        indexes = [models.Index(fields=["inquiry", "made_at"], name="contact_inquiry")]

    def __str__(self) -> str:
        return f"{self.get_method_display()}: {self.get_outcome_display()}"


class Screening(models.Model):
    """Screening for IOP fit (SPEC §3, §5), with the recommendation and the screener's choice."""

    class WithdrawalInstrument(models.TextChoices):
        NONE = "none", "None needed (no recent heavy alcohol or opioid use)"
        CIWA_AR = "ciwa_ar", "CIWA-Ar (alcohol), 0–67"
        COWS = "cows", "COWS (opioids), 0–48"

    class LivingSituation(models.TextChoices):
        STABLE_WITH_OTHERS = "stable_with_others", "Stable housing with others"
        ALONE = "alone", "Lives alone"
        FAMILY = "family", "With family"
        RECOVERY_RESIDENCE = "recovery_residence", "Recovery residence (sober living)"
        UNSTABLE = "unstable", "Unstable or temporary housing"
        HOMELESS = "homeless", "Homeless or in a shelter"

    class Motivation(models.TextChoices):
        WANTS_SOBRIETY = "wants_sobriety", "Wants sobriety"
        AMBIVALENT = "ambivalent", "Ambivalent"
        NOT_READY = "not_ready", "Not ready, or here only because it is mandated"

    class Track(models.TextChoices):
        DAY = "day", "Day track"
        EVENING = "evening", "Evening track"
        EITHER = "either", "Either"
        NEITHER = "neither", "Neither"

    class RecentStay(models.TextChoices):
        NONE = "none", "None"
        WITHIN_30 = "30_days", "Within the past 30 days"
        WITHIN_90 = "90_days", "Within the past 90 days"

    class StayLevel(models.TextChoices):
        INPATIENT = "inpatient", "Inpatient hospital"
        WITHDRAWAL = "withdrawal", "Withdrawal management (detox)"
        RESIDENTIAL = "residential", "Residential treatment"
        PHP = "php", "Partial hospitalization (PHP)"

    class Outcome(models.TextChoices):
        IOP = rules.IOP, rules.OUTCOME_LABELS[rules.IOP]
        WITHDRAWAL_MANAGEMENT = (
            rules.WITHDRAWAL_MANAGEMENT,
            rules.OUTCOME_LABELS[rules.WITHDRAWAL_MANAGEMENT],
        )
        HIGHER_LEVEL = rules.HIGHER_LEVEL, rules.OUTCOME_LABELS[rules.HIGHER_LEVEL]
        LOWER_LEVEL = rules.LOWER_LEVEL, rules.OUTCOME_LABELS[rules.LOWER_LEVEL]
        REFER_OUT = rules.REFER_OUT, rules.OUTCOME_LABELS[rules.REFER_OUT]

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="screenings")
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="screenings"
    )
    withdrawal_instrument = models.CharField(
        max_length=8, choices=WithdrawalInstrument.choices, default=WithdrawalInstrument.NONE
    )
    withdrawal_score = models.PositiveSmallIntegerField(null=True, blank=True)
    # C-SSRS screener: {"1": true|false, … "6": …, "6_when": …} and the band it scored.
    cssrs_answers = models.JSONField(default=dict)
    cssrs_band = models.CharField(max_length=10, blank=True)
    living_situation = models.CharField(max_length=20, choices=LivingSituation.choices)
    has_support_system = models.BooleanField()
    support_who = models.CharField("who supports them", max_length=200, blank=True)
    motivation = models.CharField(max_length=16, choices=Motivation.choices)
    track = models.CharField("track they can attend", max_length=8, choices=Track.choices)
    needs_24h_supervision = models.BooleanField("needs 24-hour supervision")
    unstable = models.BooleanField("medical or psychiatric instability needing a higher level")
    recent_stay = models.CharField(
        "recent inpatient or residential stay",
        max_length=8,
        choices=RecentStay.choices,
        default=RecentStay.NONE,
    )
    recent_stay_level = models.CharField(
        "level of that stay", max_length=12, choices=StayLevel.choices, blank=True
    )
    recommended_outcome = models.CharField(max_length=24, choices=Outcome.choices)
    recommendation_reasons = models.JSONField(default=list)
    urgent = models.BooleanField(default=False)
    next_step = models.CharField(max_length=300, blank=True)
    outcome = models.CharField("outcome chosen", max_length=24, choices=Outcome.choices)
    override_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    screened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-screened_at", "-id"]
        indexes = [models.Index(fields=["inquiry", "screened_at"], name="screening_inquiry")]

    def __str__(self) -> str:
        return f"Screening {self.pk}"

    @property
    def overridden(self) -> bool:
        return self.outcome != self.recommended_outcome
