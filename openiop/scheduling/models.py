"""The IOP week: the group catalog, recurring sessions, enrollment, appointments,
attendance and the daily dose that the program's dose rules read (SPEC §2, §4, §7).

- A **group** (GroupType) is a kind of group a program runs: which phases it accepts,
  who may join (specialty), how many, how long, who may facilitate.
- A **schedule** repeats a group on an RFC 5545 recurrence rule in the facility's local
  time. Its occurrences are kept as **sessions** (materialized some weeks ahead), so a
  cancelled, moved or covered session is a change to that one row, recorded as a
  SessionChange with the reason: the rule and the past are never rewritten.
- **Enrollment** puts a patient on a schedule's roster from a date; **appointments** are
  one-to-one (or family) services.
- **Attendance** is one row per patient per session or appointment with the minutes
  attended. **DoseDay** adds those minutes up per episode and calendar day, inside the
  same transaction as the attendance write, so weekly dose is one GROUP BY in the
  database.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openiop.accounts.models import Facility, Phase, Program, Track
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient, SupportContact

DEFAULT_CAPACITY = 12
DEFAULT_GROUP_MINUTES = 90


class GroupKind(models.TextChoices):
    PROCESS = "process", "Process group"
    PSYCHOEDUCATION = "psychoeducation", "Psychoeducation"
    EARLY_RECOVERY = "early_recovery", "Early-recovery skills"
    RELAPSE_PREVENTION = "relapse_prevention", "Relapse prevention"
    CBT_DBT = "cbt_dbt", "CBT / DBT skills"
    FAMILY_EDUCATION = "family_education", "Family education"
    MUTUAL_HELP = "mutual_help", "Mutual-help facilitation / on-site 12-step meeting"
    SPECIALIZED = "specialized", "Specialized group"


class Specialty(models.TextChoices):
    """Who may join (SPEC §7): self-identified and opt-in attributes decide it."""

    OPEN = "", "Open to everyone in the accepted phases"
    WOMEN = "women", "Women's group"
    MEN = "men", "Men's group"
    LGBTQ = "lgbtq", "LGBTQ+ group"
    VETERANS = "veterans", "Veterans' group"
    SURVIVORS = "survivors", "Survivors' group (sexual abuse)"


class GroupType(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="group_types")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=GroupKind.choices)
    specialty = models.CharField(max_length=10, choices=Specialty.choices, blank=True)
    description = models.TextField(blank=True)
    phases = models.ManyToManyField(
        Phase,
        blank=True,
        related_name="group_types",
        help_text="The phases this group accepts; none chosen means every phase.",
    )
    capacity = models.PositiveSmallIntegerField(
        default=DEFAULT_CAPACITY, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    duration_minutes = models.PositiveSmallIntegerField(
        "length (minutes)",
        default=DEFAULT_GROUP_MINUTES,
        validators=[MinValueValidator(15), MaxValueValidator(480)],
    )
    facilitator_credentials = models.JSONField(
        "facilitator credentials",
        default=list,
        blank=True,
        help_text="A facilitator needs one of these credentials; none chosen means any.",
    )
    billing_code_hint = models.CharField(
        max_length=20, blank=True, help_text="For billing later, e.g. H0015 or 90853."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords(m2m_fields=[phases])

    class Meta:
        ordering = ["program", "name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="grouptype_unique_name"),
            models.CheckConstraint(
                condition=models.Q(capacity__gte=1), name="grouptype_capacity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=15, duration_minutes__lte=480),
                name="grouptype_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CurriculumTopic(models.Model):
    """One session topic of a group's curriculum, in order (e.g. the Matrix Model's)."""

    group = models.ForeignKey(GroupType, on_delete=models.CASCADE, related_name="topics")
    order = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["group", "order"]
        constraints = [
            models.UniqueConstraint(fields=["group", "order"], name="topic_unique_order"),
        ]

    def __str__(self) -> str:
        return self.title


class Room(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=100)
    seats = models.PositiveSmallIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["facility", "name"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="room_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Schedule(models.Model):
    """A group that meets on a recurrence rule (RFC 5545 RRULE) in local time."""

    group = models.ForeignKey(GroupType, on_delete=models.PROTECT, related_name="schedules")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="schedules")
    track = models.ForeignKey(
        Track, on_delete=models.PROTECT, null=True, blank=True, related_name="schedules"
    )
    rrule = models.CharField(
        "repeats",
        max_length=200,
        help_text="An RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=MO,WE,FR.",
    )
    start_date = models.DateField("first day")
    end_date = models.DateField("last day", null=True, blank=True)
    start_time = models.TimeField()
    duration_minutes = models.PositiveSmallIntegerField(
        "length (minutes)", validators=[MinValueValidator(15), MaxValueValidator(480)]
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="schedules"
    )
    telehealth = models.BooleanField(default=False)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="facilitated_schedules"
    )
    co_facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cofacilitated_schedules",
    )
    # Sessions exist up to this date; the nightly job moves it forward.
    materialized_through = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords(excluded_fields=["materialized_through"])

    class Meta:
        ordering = ["group__name", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(room__isnull=False) | models.Q(telehealth=True),
                name="schedule_room_or_telehealth",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="schedule_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group.name} {self.start_time:%H:%M}"


class Session(models.Model):
    """One occurrence of a schedule. ``occurrence_date`` is the date the rule gave; the
    ``original_*`` fields keep what the rule said when a change moved or covered it."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="sessions")
    group = models.ForeignKey(GroupType, on_delete=models.PROTECT, related_name="sessions")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="sessions")
    track = models.ForeignKey(
        Track, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    occurrence_date = models.DateField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    service_date = models.DateField(help_text="The local calendar day it takes place.")
    original_starts_at = models.DateTimeField()
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    telehealth = models.BooleanField(default=False)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="facilitated_sessions"
    )
    co_facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cofacilitated_sessions",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    topic = models.CharField(max_length=200, blank=True)
    attendance_saved_at = models.DateTimeField(null=True, blank=True)
    attendance_saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Bumped by every attendance save: a second screen saving the same group loses cleanly.
    attendance_revision = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "occurrence_date"], name="session_unique_occurrence"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="session_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "starts_at"], name="session_fac_start"),
            models.Index(fields=["room", "starts_at"], name="session_room_start"),
            models.Index(fields=["facilitator", "starts_at"], name="session_staff_start"),
        ]

    def __str__(self) -> str:
        return f"{self.group.name} {self.service_date}"

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED


class SessionChange(models.Model):
    """An exception to the rule for one session, with who, when and why."""

    class Kind(models.TextChoices):
        CANCEL = "cancel", "Cancelled"
        RESTORE = "restore", "Cancellation undone"
        MOVE = "move", "Moved"
        SUBSTITUTE = "substitute", "Substitute facilitator"
        ROOM = "room", "Room changed"
        TOPIC = "topic", "Topic set"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    reason = models.CharField(max_length=300)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Enrollment(models.Model):
    """A patient on a schedule's roster from ``start_date`` (to ``end_date``, inclusive)."""

    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.PROTECT, related_name="enrollments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrollments")
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="enrollments")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    override_reason = models.CharField(
        "why, despite the warning",
        max_length=300,
        blank=True,
        help_text="Recorded when a phase or track warning was accepted.",
    )
    end_reason = models.CharField(max_length=300, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="enrollment_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["schedule", "start_date"], name="enrollment_sched_start"),
            models.Index(fields=["episode", "end_date"], name="enrollment_episode_end"),
        ]

    def __str__(self) -> str:
        return f"Enrollment {self.pk}"

    def active_on(self, day: object) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)  # type: ignore[operator]


class Appointment(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual therapy"
        FAMILY = "family", "Family session"
        CASE_MANAGEMENT = "case_management", "Case management"
        MEDICATION = "medication", "Medication management"
        DRUG_TEST = "drug_test", "Drug testing"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"
        RESCHEDULED = "rescheduled", "Rescheduled"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="appointments")
    episode = models.ForeignKey(
        EpisodeOfCare, on_delete=models.PROTECT, related_name="appointments"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    service_date = models.DateField()
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    telehealth = models.BooleanField(default=False)
    participants = models.ManyToManyField(
        SupportContact,
        blank=True,
        related_name="appointments",
        help_text="Support-system members who take part (family sessions).",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    status_reason = models.CharField(max_length=300, blank=True)
    rescheduled_to = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rescheduled_from"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords(m2m_fields=[participants])

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "starts_at"], name="appt_fac_start"),
            models.Index(fields=["staff", "starts_at"], name="appt_staff_start"),
            models.Index(fields=["patient", "starts_at"], name="appt_patient_start"),
            models.Index(fields=["room", "starts_at"], name="appt_room_start"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.service_date}"

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class Attendance(models.Model):
    """Who came to a session or an appointment, and for how long."""

    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        LATE = "late", "Late"
        LEFT_EARLY = "left_early", "Left early"
        EXCUSED = "excused", "Excused absence"
        UNEXCUSED = "unexcused", "Unexcused absence"
        CANCELLED = "cancelled", "Session cancelled"

    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, null=True, blank=True, related_name="attendance"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="attendance"
    )
    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.PROTECT, related_name="attendance")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="attendance")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="attendance")
    service_date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices)
    arrived_at = models.TimeField(null=True, blank=True)
    left_at = models.TimeField(null=True, blank=True)
    minutes = models.PositiveSmallIntegerField(default=0)
    drop_in = models.BooleanField(default=False)
    telehealth = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["service_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(session__isnull=False) & models.Q(appointment__isnull=True))
                | (models.Q(session__isnull=True) & models.Q(appointment__isnull=False)),
                name="attendance_session_or_appointment",
            ),
            models.UniqueConstraint(
                fields=["session", "patient"],
                condition=models.Q(session__isnull=False),
                name="attendance_once_per_session",
            ),
            models.UniqueConstraint(
                fields=["appointment", "patient"],
                condition=models.Q(appointment__isnull=False),
                name="attendance_once_per_appointment",
            ),
        ]
        indexes = [
            models.Index(fields=["episode", "service_date"], name="attendance_episode_day"),
            models.Index(fields=["patient", "service_date"], name="attendance_patient_day"),
        ]

    def __str__(self) -> str:
        return self.get_status_display()


class DoseDay(models.Model):
    """Minutes attended per episode and local calendar day, kept by the attendance service.

    Whether the day is a service day is decided when read, against the program's current
    ``min_hours_per_day``, so a changed rule applies to the past without rewriting rows.
    """

    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.CASCADE, related_name="dose_days")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="dose_days")
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="dose_days")
    date = models.DateField()
    week_start = models.DateField(help_text="The Monday of its week.")
    minutes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "date"], name="doseday_unique_day"),
        ]
        indexes = [
            models.Index(fields=["facility", "week_start"], name="doseday_fac_week"),
            models.Index(fields=["episode", "week_start"], name="doseday_episode_week"),
            # The dose-compliance report groups a range of weeks by (week, episode): on
            # PostgreSQL an index-only scan in that order (SQLite skips covering indexes).
            models.Index(
                fields=["week_start", "episode"],
                include=["minutes", "facility"],
                name="doseday_week_episode",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.minutes} min"


class CalendarFeed(models.Model):
    """A private ICS address for one patient's or one staff member's schedule.

    Only a hash of the token is kept; the address is shown once, when it is made, and a
    revoked feed answers 404 like any unknown one.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="calendar_feeds"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
    )
    label = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(patient__isnull=False) & models.Q(staff__isnull=True))
                | (models.Q(patient__isnull=True) & models.Q(staff__isnull=False)),
                name="feed_patient_or_staff",
            ),
        ]

    def __str__(self) -> str:
        return self.label or f"Calendar feed {self.pk}"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class FamilyAttendance(models.Model):
    """A support-system member on a family-education session's list, and whether they came.

    A member is put on the list (and their attendance recorded) only with an active 42 CFR
    Part 2 consent naming them on the session's day (openiop.scheduling.family); the consent
    relied on is kept with the row.
    """

    class Status(models.TextChoices):
        EXPECTED = "expected", "Expected"
        PRESENT = "present", "Present"
        ABSENT = "absent", "Absent"
        EXCUSED = "excused", "Excused"

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="family_attendance")
    support_contact = models.ForeignKey(
        SupportContact, on_delete=models.PROTECT, related_name="family_attendance"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="family_attendance")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.EXPECTED)
    consent = models.ForeignKey(
        "patients.Consent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The consent naming them that allowed it.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "support_contact"], name="family_attendance_once_per_session"
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "session"], name="family_attendance_patient"),
        ]

    def __str__(self) -> str:
        return self.get_status_display()
