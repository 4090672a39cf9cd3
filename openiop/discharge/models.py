"""Discharge, step-down, referrals, level-of-care changes, follow-ups and alumni (SPEC §3.7–8, §9).

An episode of care ends with one ``Discharge``: recording it closes the episode (its
``discharge_date``), cancels what the person chose to cancel and schedules the follow-ups; the
summary is then completed and signed, and a signed discharge never changes (database
triggers, migration 0002). Referrals and follow-ups go on after the signature: they have their
own status.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openiop.accounts.models import Facility, Organization, Program, Track
from openiop.admissions.models import EpisodeOfCare
from openiop.core import teds
from openiop.discharge import rules
from openiop.patients.models import Patient


class StepDown(models.TextChoices):
    """The next step of care decided with the person (SPEC §9)."""

    OUTPATIENT = "outpatient", "Standard outpatient (level 1)"
    AFTERCARE = "aftercare", "Aftercare / continuing-care group"
    RECOVERY_RESIDENCE = "recovery_residence", "Recovery residence (sober living)"
    ALUMNI = "alumni", "Alumni program"
    MUTUAL_HELP = "mutual_help", "Mutual-help meetings only"
    HIGHER = "higher", "Higher level of care"
    NONE = "none", "None (death or incarceration)"


class SignMethod(models.TextChoices):
    PASSWORD = "password", "Password"
    MFA = "mfa", "Authenticator code"


def _default_followup_days() -> list[int]:
    return list(rules.DEFAULT_FOLLOWUP_DAYS)


class DischargeSettings(models.Model):
    """An organization's continuing-care rules (one row per organization; defaults when absent)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="discharge_settings"
    )
    followup_days = models.JSONField(
        "follow-ups, days after discharge",
        default=_default_followup_days,
        help_text="e.g. 30, 60, 90, 180, 365",
    )
    negative_test_weeks = models.PositiveSmallIntegerField(
        "weeks of negative drug tests before discharge",
        default=rules.DEFAULT_NEGATIVE_TEST_WEEKS,
        validators=[MinValueValidator(1), MaxValueValidator(52)],
    )
    full_dose_weeks = models.PositiveSmallIntegerField(
        "weeks at full dose before discharge",
        default=rules.DEFAULT_FULL_DOSE_WEEKS,
        validators=[MinValueValidator(1), MaxValueValidator(52)],
    )
    meeting_weeks = models.PositiveSmallIntegerField(
        "weeks of required mutual-help meetings before discharge",
        default=rules.DEFAULT_MEETING_WEEKS,
        validators=[MinValueValidator(1), MaxValueValidator(52)],
    )
    due_window_days = models.PositiveSmallIntegerField(
        "show follow-ups this many days before they are due",
        default=rules.DEFAULT_DUE_WINDOW_DAYS,
        validators=[MinValueValidator(0), MaxValueValidator(60)],
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Discharge settings of {self.organization}"


class DischargePlan(models.Model):
    """Discharge readiness, kept from admission on: the planned step-down and what the
    clinician confirms by hand (housing, work or school). The rest of the checklist is read
    from the chart (plan goals, dose, drug tests, meetings, relapse-prevention plan, support)."""

    episode = models.OneToOneField(
        EpisodeOfCare, on_delete=models.CASCADE, related_name="discharge_plan"
    )
    planned_step_down = models.CharField(
        "planned step-down", max_length=20, choices=StepDown.choices, blank=True
    )
    planned_date = models.DateField("planned discharge date", null=True, blank=True)
    step_down_provider = models.CharField(
        "stepping down to", max_length=200, blank=True, help_text="Program or provider, if known."
    )
    housing_ready = models.BooleanField("safe, stable housing to go to", default=False)
    housing_note = models.CharField("housing", max_length=300, blank=True)
    work_school_ready = models.BooleanField("work, school or a daily structure", default=False)
    work_school_note = models.CharField("work or school", max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return "Discharge plan"


class Discharge(models.Model):
    """The end of an episode of care, its summary and its step-down decision."""

    episode = models.OneToOneField(
        EpisodeOfCare, on_delete=models.PROTECT, related_name="discharge"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="discharges")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="discharges")
    discharge_date = models.DateField()
    reason_key = models.CharField("reason", max_length=24, choices=rules.REASON_CHOICES)
    # Derived from reason_key by the service (rules.teds_reason); kept for the export and reports.
    reason = models.PositiveSmallIntegerField("TEDS REASON", choices=teds.Reason.choices)
    reason_detail = models.CharField("what happened", max_length=500, blank=True)
    early_reason = models.TextField(
        "why before day 90", blank=True, help_text="Asked when the stay is shorter than 90 days."
    )
    continuing_care = models.TextField("recommended continuing care", blank=True)
    step_down = models.CharField("next step of care", max_length=20, choices=StepDown.choices)
    step_down_provider = models.CharField("program or provider", max_length=200, blank=True)
    step_down_date = models.DateField("first appointment there", null=True, blank=True)
    followup_agreed = models.BooleanField("agrees to follow-up calls", default=True)
    followup_contact = models.CharField(
        "how to reach them", max_length=200, blank=True, help_text="Best number and time."
    )
    # The facts at discharge (dates, stay, hours, attendance, instruments, drug tests, goals),
    # gathered by the service and frozen at signing.
    facts = models.JSONField(default=dict)
    course = models.TextField("course of treatment", blank=True)
    condition = models.TextField("condition at discharge", blank=True)
    recommendations = models.TextField("recommendations", blank=True)

    # --- TEDS discharge record (SPEC §9): status at discharge; None exports as −9 -----------
    teds_freq1_d = models.PositiveSmallIntegerField(
        "primary substance, use in the past month (FREQ1_D)",
        choices=teds.Frequency.choices,
        null=True,
        blank=True,
    )
    teds_freq2_d = models.PositiveSmallIntegerField(
        "secondary substance (FREQ2_D)", choices=teds.Frequency.choices, null=True, blank=True
    )
    teds_freq3_d = models.PositiveSmallIntegerField(
        "tertiary substance (FREQ3_D)", choices=teds.Frequency.choices, null=True, blank=True
    )
    teds_employ_d = models.PositiveSmallIntegerField(
        "employment (EMPLOY_D)", choices=teds.Employment.choices, null=True, blank=True
    )
    teds_livarag_d = models.PositiveSmallIntegerField(
        "living arrangement (LIVARAG_D)",
        choices=teds.LivingArrangement.choices,
        null=True,
        blank=True,
    )
    teds_arrests_d = models.PositiveSmallIntegerField(
        "arrests in the past 30 days (ARRESTS_D)",
        choices=teds.Arrests.choices,
        null=True,
        blank=True,
    )
    teds_self_help_d = models.PositiveSmallIntegerField(
        "mutual-help meetings in the past 30 days (FREQ_ATND_SELF_HELP_D)",
        choices=teds.SelfHelpAttendance.choices,
        null=True,
        blank=True,
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sign_method = models.CharField(max_length=8, choices=SignMethod.choices, blank=True)

    class Meta:
        ordering = ["-discharge_date", "-id"]
        indexes = [
            models.Index(fields=["facility", "discharge_date"], name="discharge_fac_date"),
            models.Index(fields=["signed_at"], name="discharge_signed"),
        ]

    def __str__(self) -> str:
        return f"Discharge of {self.discharge_date:%m/%d/%Y}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def length_of_stay(self) -> int:
        return rules.length_of_stay(self.episode.admission_date, self.discharge_date)

    @property
    def los_code(self) -> int:
        return teds.los_code(self.length_of_stay)


class Referral(models.Model):
    """A referral to another service (SPEC §9 kinds), made in treatment or at discharge."""

    class Kind(models.TextChoices):
        VOCATIONAL = "vocational", "Vocational training"
        MEDICAL = "medical", "Medical care"
        PSYCHIATRIC = "psychiatric", "Psychiatric care"
        HOUSING = "housing", "Housing"
        LEGAL = "legal", "Legal"
        EDUCATION = "education", "Education"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PLANNED = "planned", "To be made"
        MADE = "made", "Referral made"
        CONNECTED = "connected", "Connected (first appointment kept)"
        DECLINED = "declined", "Declined by the person"
        NOT_CONNECTED = "not_connected", "Did not connect"

    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.PROTECT, related_name="referrals")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    provider = models.CharField("referred to", max_length=200)
    contact = models.CharField("their contact", max_length=200, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.PLANNED)
    status_on = models.DateField("status since")
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["episode", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} referral"


class LevelOfCareChange(models.Model):
    """A transfer between programs of the facility (PHP → IOP → OP) inside one episode: the
    record stays continuous and this row keeps the level-of-care history. TEDS sees a change
    of ``SERVICES`` as a transfer discharge and a new admission (the export splits it)."""

    episode = models.ForeignKey(
        EpisodeOfCare, on_delete=models.PROTECT, related_name="level_changes"
    )
    changed_on = models.DateField("first day in the new program")
    from_program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    to_program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    from_level = models.CharField(max_length=4, choices=Program.LevelOfCare.choices)
    to_level = models.CharField(max_length=4, choices=Program.LevelOfCare.choices)
    from_track = models.ForeignKey(
        Track, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_track = models.ForeignKey(
        Track, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_services = models.PositiveSmallIntegerField(choices=teds.Services.choices)
    to_services = models.PositiveSmallIntegerField(choices=teds.Services.choices)
    reason = models.TextField("why")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["episode", "changed_on", "id"]
        indexes = [models.Index(fields=["changed_on"], name="locchange_day")]

    def __str__(self) -> str:
        return f"Level of care {self.from_level} → {self.to_level} on {self.changed_on:%m/%d/%Y}"

    @property
    def services_changed(self) -> bool:
        return self.from_services != self.to_services


class FollowUp(models.Model):
    """A continuing-care check-in N days after discharge, with its outcomes (SPEC §9)."""

    class Status(models.TextChoices):
        DUE = "due", "Due"
        COMPLETED = "completed", "Completed"
        UNREACHABLE = "unreachable", "Could not reach"
        DECLINED = "declined", "Declined to answer"
        CANCELLED = "cancelled", "Not needed (readmitted or died)"

    class Housing(models.TextChoices):
        STABLE = "stable", "Stable housing"
        RECOVERY_RESIDENCE = "recovery_residence", "Recovery residence"
        UNSTABLE = "unstable", "Unstable (staying with others, at risk)"
        HOMELESS = "homeless", "Homeless"
        INSTITUTION = "institution", "Jail, hospital or residential treatment"

    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.PROTECT, related_name="followups")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="followups")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="followups")
    days_after = models.PositiveSmallIntegerField("days after discharge")
    due_on = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DUE)
    completed_on = models.DateField(null=True, blank=True)
    any_use = models.BooleanField("any alcohol or drug use since discharge", null=True)
    days_used_30 = models.PositiveSmallIntegerField(
        "days of use in the past 30",
        null=True,
        blank=True,
        validators=[MaxValueValidator(30)],
    )
    meetings_30 = models.PositiveSmallIntegerField(
        "mutual-help meetings in the past 30 days",
        null=True,
        blank=True,
        validators=[MaxValueValidator(200)],
    )
    working_or_school = models.BooleanField("working or in school", null=True)
    housing = models.CharField(max_length=20, choices=Housing.choices, blank=True)
    readmitted = models.BooleanField("readmitted to treatment anywhere", null=True)
    note = models.TextField(blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "days_after"], name="followup_once_per_day"),
            models.CheckConstraint(
                condition=models.Q(days_used_30__isnull=True) | models.Q(days_used_30__lte=30),
                name="followup_days_used_30",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "status", "due_on"], name="followup_fac_due"),
        ]

    def __str__(self) -> str:
        return f"{self.days_after}-day follow-up"


class ContactAttempt(models.Model):
    """One try to reach the person for a follow-up."""

    class Method(models.TextChoices):
        PHONE = "phone", "Phone call"
        TEXT = "text", "Text message"
        EMAIL = "email", "E-mail"
        VIDEO = "video", "Video call"
        IN_PERSON = "in_person", "In person"
        LETTER = "letter", "Letter"

    class Result(models.TextChoices):
        REACHED = "reached", "Reached"
        NO_ANSWER = "no_answer", "No answer"
        LEFT_MESSAGE = "left_message", "Left a message"
        WRONG_NUMBER = "wrong_number", "Wrong or disconnected number"
        DECLINED = "declined", "Declined to talk"

    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    method = models.CharField(max_length=10, choices=Method.choices)
    result = models.CharField(max_length=14, choices=Result.choices)
    note = models.CharField(max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["followup", "attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_method_display()}: {self.get_result_display()}"


class AlumniEvent(models.Model):
    """An alumni gathering or a recurring alumni group's meeting, and who came."""

    class Kind(models.TextChoices):
        GROUP = "group", "Alumni group meeting"
        EVENT = "event", "Alumni event"
        SERVICE = "service", "Service or volunteer activity"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="alumni_events")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GROUP)
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    cancelled = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    attendees: models.ManyToManyField[Patient, AlumniAttendance] = models.ManyToManyField(
        Patient, through="AlumniAttendance", related_name="alumni_events"
    )

    class Meta:
        ordering = ["-starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="alumni_event_ends"
            )
        ]
        indexes = [models.Index(fields=["facility", "starts_at"], name="alumni_event_fac_day")]

    def __str__(self) -> str:
        return self.title


class AlumniAttendance(models.Model):
    event = models.ForeignKey(AlumniEvent, on_delete=models.CASCADE, related_name="attendance")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "patient"], name="alumni_attendance_once")
        ]

    def __str__(self) -> str:
        return "Alumni attendance"
