"""Clinical documentation: group notes, individual/family/case-management notes, signatures.

- A **group note** belongs to one session. The facilitator writes the shared part once (topic,
  interventions, group process) and an **entry** per attendee (participation, response,
  progress on a linked objective, plan). A patient's chart shows the shared part and that
  patient's entry only — never another attendee's name or words.
- A **note** documents an individual, family or case-management service in the
  organization's format (DAP, BIRP or SOAP), with its times, linked plan objectives, a risk
  section and, for family sessions, the support-system members who took part.
- Signing stamps the time after the author re-enters their password or an authenticator
  code. A signed note, group note or entry never changes: database triggers refuse UPDATE and
  DELETE (migration 0002), so it holds for every code path. A change is an **addendum**
  (who, when, why); a supervisor's **co-signature** is its own row.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openiop.accounts.models import Facility, Organization
from openiop.admissions.models import EpisodeOfCare
from openiop.notes import rules
from openiop.patients.models import Patient, SupportContact
from openiop.plans.models import Objective
from openiop.scheduling.models import Appointment, Attendance, Session


class NoteFormat(models.TextChoices):
    DAP = rules.DAP, "DAP (data, assessment, plan)"
    BIRP = rules.BIRP, "BIRP (behavior, intervention, response, plan)"
    SOAP = rules.SOAP, "SOAP (subjective, objective, assessment, plan)"


class SignMethod(models.TextChoices):
    PASSWORD = "password", "Password"
    MFA = "mfa", "Authenticator code"


class NoteSettings(models.Model):
    """How an organization documents (one row per organization; defaults when absent)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="note_settings"
    )
    note_format = models.CharField(
        "note format", max_length=4, choices=NoteFormat.choices, default=NoteFormat.DAP
    )
    unsigned_after_hours = models.PositiveSmallIntegerField(
        "flag notes unsigned after (hours)",
        default=rules.DEFAULT_UNSIGNED_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
    )
    late_after_hours = models.PositiveSmallIntegerField(
        "a note written this many hours after the service is a late entry",
        default=rules.DEFAULT_LATE_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Note settings of {self.organization}"


class Signed(models.Model):
    """What every signed document shares: author, signature, co-signature need, late entry."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    service_date = models.DateField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    late_entry = models.BooleanField(default=False)
    late_reason = models.CharField("why this is written late", max_length=300, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sign_method = models.CharField(max_length=8, choices=SignMethod.choices, blank=True)
    needs_cosign = models.BooleanField(default=False)

    class Meta:
        abstract = True

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class GroupNote(Signed):
    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="group_note")
    topic = models.CharField(max_length=200)
    interventions = models.TextField("interventions used")
    process = models.TextField("group process")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-service_date", "-id"]
        indexes = [models.Index(fields=["author", "signed_at"], name="groupnote_author_signed")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__gte=models.F("started_at")),
                name="groupnote_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"Group note of {self.service_date:%m/%d/%Y}"


class GroupNoteEntry(models.Model):
    class Participation(models.TextChoices):
        ACTIVE = "active", "Active and engaged"
        ENGAGED = "engaged", "Engaged when prompted"
        MINIMAL = "minimal", "Minimal"
        WITHDRAWN = "withdrawn", "Withdrawn"
        DISRUPTIVE = "disruptive", "Disruptive"

    class Progress(models.TextChoices):
        PROGRESSING = "progressing", "Progressing"
        NO_CHANGE = "no_change", "No change"
        REGRESSING = "regressing", "Regressing"
        MET = "met", "Objective met"

    group_note = models.ForeignKey(GroupNote, on_delete=models.PROTECT, related_name="entries")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="group_entries")
    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.PROTECT, related_name="+")
    attendance = models.OneToOneField(
        Attendance, on_delete=models.PROTECT, related_name="group_note_entry"
    )
    participation = models.CharField(max_length=12, choices=Participation.choices)
    response = models.TextField("response to the group")
    objective = models.ForeignKey(
        Objective, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    progress = models.CharField(
        "progress on the objective", max_length=12, choices=Progress.choices, blank=True
    )
    plan = models.TextField("plan")
    history = HistoricalRecords()

    class Meta:
        ordering = ["group_note", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group_note", "patient"], name="groupnote_entry_once_per_patient"
            )
        ]
        indexes = [models.Index(fields=["patient", "group_note"], name="groupnote_entry_patient")]

    def __str__(self) -> str:
        return f"Group note entry {self.pk}"


class Note(Signed):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual session"
        FAMILY = "family", "Family session"
        CASE_MANAGEMENT = "case_management", "Case management"

    class Risk(models.TextChoices):
        NONE = "none", "No risk noted"
        LOW = "low", "Low"
        MODERATE = "moderate", "Moderate"
        HIGH = "high", "High"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="notes")
    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="notes"
    )
    note_format = models.CharField(max_length=4, choices=NoteFormat.choices)
    sections = models.JSONField(default=dict, help_text="Text per section of the note format.")
    risk_level = models.CharField("risk", max_length=10, choices=Risk.choices, default=Risk.NONE)
    risk_text = models.TextField("risk: what was assessed and the safety plan", blank=True)
    objectives: models.ManyToManyField[Objective, NoteObjective] = models.ManyToManyField(
        Objective, through="NoteObjective", related_name="+", blank=True
    )
    participants: models.ManyToManyField[SupportContact, NoteParticipant] = models.ManyToManyField(
        SupportContact, through="NoteParticipant", related_name="+", blank=True
    )
    history = HistoricalRecords(excluded_fields=["sections"])

    class Meta:
        ordering = ["-service_date", "-id"]
        indexes = [
            models.Index(fields=["patient", "service_date"], name="note_patient_day"),
            models.Index(fields=["author", "signed_at"], name="note_author_signed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__gte=models.F("started_at")),
                name="note_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} note of {self.service_date:%m/%d/%Y}"

    def section_items(self) -> list[tuple[str, str]]:
        """(label, text) in the note format's order."""
        return [
            (label, str(self.sections.get(key, "")))
            for key, label in rules.SECTIONS[self.note_format]
        ]


class NoteObjective(models.Model):
    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="objective_links")
    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["note", "objective"], name="note_objective_once")
        ]

    def __str__(self) -> str:
        return f"Objective {self.objective_id} of note {self.note_id}"


class NoteParticipant(models.Model):
    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="participant_links")
    contact = models.ForeignKey(SupportContact, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["note", "contact"], name="note_participant_once")
        ]

    def __str__(self) -> str:
        return f"Participant {self.contact_id} of note {self.note_id}"


class Addendum(models.Model):
    """A later addition to a signed document: never changed, never removed.

    On a group note it is either about one attendee (``entry``: only that chart shows it) or
    about the shared part (``group_note``: every attendee's chart shows it).
    """

    note = models.ForeignKey(
        Note, on_delete=models.PROTECT, null=True, blank=True, related_name="addenda"
    )
    group_note = models.ForeignKey(
        GroupNote, on_delete=models.PROTECT, null=True, blank=True, related_name="addenda"
    )
    entry = models.ForeignKey(
        GroupNoteEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="addenda"
    )
    text = models.TextField()
    reason = models.CharField("why", max_length=300)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sign_method = models.CharField(max_length=8, choices=SignMethod.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "addenda"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(note__isnull=False, group_note__isnull=True, entry__isnull=True)
                    | models.Q(note__isnull=True, group_note__isnull=False, entry__isnull=True)
                    | models.Q(note__isnull=True, group_note__isnull=True, entry__isnull=False)
                ),
                name="addendum_has_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"Addendum of {self.created_at:%m/%d/%Y}"


class Cosignature(models.Model):
    note = models.OneToOneField(
        Note, on_delete=models.PROTECT, null=True, blank=True, related_name="cosignature"
    )
    group_note = models.OneToOneField(
        GroupNote, on_delete=models.PROTECT, null=True, blank=True, related_name="cosignature"
    )
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    cosigned_at = models.DateTimeField(default=timezone.now, editable=False)
    sign_method = models.CharField(max_length=8, choices=SignMethod.choices)
    comment = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(note__isnull=False, group_note__isnull=True)
                    | models.Q(note__isnull=True, group_note__isnull=False)
                ),
                name="cosignature_has_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"Co-signed {self.cosigned_at:%m/%d/%Y}"


class UnsignedFlag(models.Model):
    """That the author and the supervisor were told a document is unsigned (once each)."""

    note = models.OneToOneField(
        Note, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    group_note = models.OneToOneField(
        GroupNote, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    flagged_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Flagged {self.flagged_at:%m/%d/%Y}"
