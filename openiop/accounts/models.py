"""Organizations, facilities, programs, tracks and the staff who work there."""

from __future__ import annotations

import zoneinfo
from datetime import time
from decimal import Decimal

import rules
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from openiop.accounts import rules as program_rules
from openiop.accounts.roles import CASELOAD_ROLES, FACILITY_WIDE_ROLES, Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as America/Los_Angeles.")


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Facility(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="facilities"
    )
    name = models.CharField(max_length=200)
    code = models.CharField(
        max_length=8,
        help_text="Short code used at the start of medical record numbers, e.g. SUN.",
        validators=[RegexValidator(r"^[A-Z0-9]{2,8}$", "Use 2 to 8 capital letters or digits.")],
    )
    time_zone = models.CharField(
        max_length=64, default="America/Los_Angeles", validators=[validate_time_zone]
    )
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "facilities"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="facility_unique_name"),
            models.UniqueConstraint(fields=["code"], name="facility_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Program(models.Model):
    class LevelOfCare(models.TextChoices):
        OP = program_rules.LevelOfCare.OP, "1 — Outpatient (OP)"
        IOP = program_rules.LevelOfCare.IOP, "2.1 — Intensive outpatient (IOP)"
        PHP = program_rules.LevelOfCare.PHP, "2.5 — Partial hospitalization (PHP)"

    class Population(models.TextChoices):
        ADULT = program_rules.Population.ADULT, "Adult"
        ADOLESCENT = program_rules.Population.ADOLESCENT, "Adolescent"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="programs")
    name = models.CharField(max_length=200)
    level_of_care = models.CharField(max_length=4, choices=LevelOfCare.choices)
    population = models.CharField(
        max_length=12, choices=Population.choices, default=Population.ADULT
    )
    min_hours_per_day = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.25")), MaxValueValidator(Decimal("24"))],
        help_text="Attended hours that make a calendar day a service day.",
    )
    min_days_per_week = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    min_hours_per_week = models.DecimalField(max_digits=5, decimal_places=2)
    max_hours_per_week = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    plan_review_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    required_meetings_per_week = models.PositiveSmallIntegerField(
        "required mutual-help meetings per week",
        default=2,
        validators=[MaxValueValidator(21)],
        help_text="12-step or other mutual-help meetings each patient attends every week.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["facility__name", "level_of_care", "name"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="program_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.level_of_care})"

    def dose_rules(self) -> program_rules.DoseRules:
        return program_rules.DoseRules(
            min_hours_per_day=self.min_hours_per_day,
            min_days_per_week=self.min_days_per_week,
            min_hours_per_week=self.min_hours_per_week,
            max_hours_per_week=self.max_hours_per_week,
        )

    def clean(self) -> None:
        if None in (self.min_hours_per_day, self.min_days_per_week, self.min_hours_per_week):
            return
        errors = program_rules.dose_rule_errors(
            self.level_of_care, self.population, self.dose_rules()
        )
        if errors:
            raise ValidationError(errors)


class Phase(models.Model):
    """A stage of treatment (SPEC §4); groups declare which phases they accept."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="phases")
    order = models.PositiveSmallIntegerField()
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    typical_start_week = models.PositiveSmallIntegerField(default=1)
    typical_end_week = models.PositiveSmallIntegerField(null=True, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["program", "order"]
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="phase_unique_code"),
            models.UniqueConstraint(fields=["program", "order"], name="phase_unique_order"),
        ]

    def __str__(self) -> str:
        return self.name


class Track(models.Model):
    """A time of day the program runs, so people can keep working or studying."""

    class Kind(models.TextChoices):
        DAY = "day", "Day"
        EVENING = "evening", "Evening / night"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="tracks")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    start_time = models.TimeField(default=time(9, 0))
    end_time = models.TimeField(default=time(12, 0))
    weekdays = models.CharField(
        max_length=13,
        default="0,1,2,3,4",
        help_text="Days it meets, 0 = Monday … 6 = Sunday, comma separated.",
        validators=[RegexValidator(r"^[0-6](,[0-6])*$", "List weekdays as 0–6, e.g. 0,2,4.")],
    )

    class Meta:
        ordering = ["program", "start_time"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="track_unique_name"),
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")),
                name="track_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    @property
    def weekday_numbers(self) -> list[int]:
        return [int(d) for d in self.weekdays.split(",") if d != ""]

    @property
    def hours_per_day(self) -> Decimal:
        minutes = (self.end_time.hour * 60 + self.end_time.minute) - (
            self.start_time.hour * 60 + self.start_time.minute
        )
        return Decimal(minutes) / Decimal(60)

    def clean(self) -> None:
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The track must end after it starts."})


class StaffManager(UserManager["User"]):
    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: object
    ) -> User:
        extra.setdefault("username", email.lower())
        return super().create_user(email=email, password=password, **extra)  # type: ignore[arg-type]

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: object
    ) -> User:
        extra.setdefault("username", email.lower())
        extra.setdefault("role", Role.ADMINISTRATOR)
        return super().create_superuser(email=email, password=password, **extra)  # type: ignore[arg-type]


class User(AbstractUser):
    """A member of staff. Patients never sign in to OpenIOP."""

    email = models.EmailField("e-mail address", unique=True)
    role = models.CharField(max_length=24, choices=Role.choices, default=Role.FRONT_DESK)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="staff", null=True, blank=True
    )
    facilities = models.ManyToManyField(Facility, related_name="staff", blank=True)
    title = models.CharField(max_length=100, blank=True)
    supervisor = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="supervisees"
    )
    needs_cosign = models.BooleanField(
        "needs a supervisor's co-signature",
        default=False,
        help_text="Their notes and plans wait for the supervisor's co-signature.",
    )

    objects = StaffManager()  # type: ignore[misc]

    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role in Role.values else self.role

    # Role families (see roles.py and permissions.py); properties so templates can ask too.
    @property
    def sees_whole_facility(self) -> bool:
        return self.role in FACILITY_WIDE_ROLES

    @property
    def sees_caseload_only(self) -> bool:
        return self.role in CASELOAD_ROLES

    def can(self, permission: str) -> bool:
        """A `rules` permission, ignoring the superuser flag (see accounts/permissions.py)."""
        return bool(rules.has_perm(permission, self))

    @property
    def may_open_charts(self) -> bool:
        return self.can("patients.view_patient")

    @property
    def is_clinical(self) -> bool:
        return self.can("patients.view_sensitive")

    @property
    def may_register_patients(self) -> bool:
        return self.can("patients.add_patient")

    @property
    def may_break_glass(self) -> bool:
        return self.can("patients.break_glass")

    @property
    def reads_audit_trail(self) -> bool:
        return self.can("audit.view_auditevent")

    @property
    def reviews_break_glass(self) -> bool:
        return self.can("patients.review_break_glass")

    @property
    def may_assign_care_team(self) -> bool:
        return self.can("patients.assign_care_team")

    @property
    def may_delete_patients(self) -> bool:
        return self.can("patients.delete_patient")

    @property
    def sees_calendar(self) -> bool:
        return self.can("scheduling.view_schedule")

    @property
    def works_inquiries(self) -> bool:
        return self.can("intake.view_inquiry")

    @property
    def edits_asam_table(self) -> bool:
        return self.can("assessments.change_asamrule")

    @property
    def follows_up(self) -> bool:
        return self.can("discharge.view_followup")

    @property
    def reads_reports(self) -> bool:
        return self.can("reports.view_reports") or self.can("reports.view_alumni_outcomes")


class Credential(models.Model):
    class Kind(models.TextChoices):
        CADC = "CADC", "CADC — Certified alcohol and drug counselor"
        LADC = "LADC", "LADC — Licensed alcohol and drug counselor"
        LCSW = "LCSW", "LCSW — Licensed clinical social worker"
        LPC = "LPC", "LPC — Licensed professional counselor"
        LMFT = "LMFT", "LMFT — Licensed marriage and family therapist"
        PSYCHOLOGIST = "PSYD", "Psychologist (PhD/PsyD)"
        MD = "MD", "MD / DO — Physician"
        NP = "NP", "NP — Nurse practitioner"
        RN = "RN", "RN — Registered nurse"
        LVN = "LVN", "LVN / LPN — Licensed vocational nurse"
        CPRS = "CPRS", "Certified peer recovery specialist"
        OTHER = "OTHER", "Other"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    number = models.CharField("licence or certificate number", max_length=40, blank=True)
    state = models.CharField(max_length=2, blank=True)
    expires_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["user", "kind"]

    def __str__(self) -> str:
        return self.kind
