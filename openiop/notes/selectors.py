"""Reads of clinical documentation, scoped and in a constant number of queries.

Group-note privacy lives here: a patient's chart reads that patient's **entries** with their
group note's shared part — never the group note's other entries. Only the facilitator's
screen (``group_note_screen``) reads several attendees at once, and only those the user may
see.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from openiop.accounts.models import User
from openiop.notes import rules
from openiop.notes.models import (
    Addendum,
    Cosignature,
    GroupNote,
    GroupNoteEntry,
    Note,
    NoteObjective,
    NoteParticipant,
    NoteSettings,
)
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients
from openiop.plans.models import Objective, PlanVersion
from openiop.scheduling.models import Attendance, Session

ATTENDED = (Attendance.Status.PRESENT, Attendance.Status.LATE, Attendance.Status.LEFT_EARLY)


def require_reader(user: User) -> None:
    if not user.can("notes.view_note"):
        raise PermissionDenied("Only the clinical team reads clinical notes.")


def require_writer(user: User) -> None:
    if not user.can("notes.add_note"):
        raise PermissionDenied("Only the clinical team writes clinical notes.")


_addenda = Prefetch("addenda", queryset=Addendum.objects.select_related("author"))


def notes_of(patient: Patient) -> QuerySet[Note]:
    """The patient's individual, family and case-management notes, newest first. Call only
    after ``chart_access`` (which checks scope and audits)."""
    return (
        Note.objects.filter(patient=patient)
        .select_related("author", "signed_by", "cosignature__cosigned_by", "appointment")
        .prefetch_related(
            _addenda,
            Prefetch(
                "objective_links",
                queryset=NoteObjective.objects.select_related("objective"),
            ),
            Prefetch(
                "participant_links",
                queryset=NoteParticipant.objects.select_related("contact"),
            ),
        )
        .order_by("-started_at", "-id")
    )


def note_of(patient: Patient, pk: int) -> Note | None:
    return notes_of(patient).filter(pk=pk).first()


def group_entries_of(patient: Patient) -> QuerySet[GroupNoteEntry]:
    """The patient's own parts of group notes, each with the shared part of its note (and
    the shared addenda) — never another attendee's entry."""
    return (
        GroupNoteEntry.objects.filter(patient=patient)
        .select_related(
            "group_note__author",
            "group_note__signed_by",
            "group_note__session__group",
            "group_note__cosignature__cosigned_by",
            "objective",
        )
        .prefetch_related(
            _addenda,
            Prefetch(
                "group_note__addenda",
                queryset=Addendum.objects.select_related("author"),
            ),
        )
        .order_by("-group_note__started_at", "-id")
    )


def group_entry_of(patient: Patient, pk: int) -> GroupNoteEntry | None:
    return group_entries_of(patient).filter(pk=pk).first()


@dataclass(frozen=True)
class ChartItem:
    """One note in a patient's chart: an own note or the patient's part of a group note."""

    kind: str  # "note" or "group"
    when: dt.datetime
    note: Note | None = None
    entry: GroupNoteEntry | None = None

    @property
    def document(self) -> Note | GroupNote:
        if self.note is not None:
            return self.note
        assert self.entry is not None  # noqa: S101 (one of the two is always set)
        return self.entry.group_note


def chart_items(
    patient: Patient, *, kinds: set[str] | None = None, signed_only: bool = False
) -> list[ChartItem]:
    """Every note of the chart, newest first (two queries and their prefetches)."""
    notes = notes_of(patient)
    entries = group_entries_of(patient)
    if signed_only:
        notes = notes.filter(signed_at__isnull=False)
        entries = entries.filter(group_note__signed_at__isnull=False)
    items: list[ChartItem] = []
    if kinds is None or kinds - {"group"}:
        wanted = (kinds or set(Note.Kind.values)) & set(Note.Kind.values)
        items += [ChartItem("note", n.started_at, note=n) for n in notes.filter(kind__in=wanted)]
    if kinds is None or "group" in kinds:
        items += [ChartItem("group", e.group_note.started_at, entry=e) for e in entries]
    items.sort(key=lambda i: i.when, reverse=True)
    return items


# --- the facilitator's screen --------------------------------------------------------------------


@dataclass
class ScreenRow:
    attendance: Attendance
    entry: GroupNoteEntry | None
    objectives: list[Objective] = field(default_factory=list)

    @property
    def patient(self) -> Patient:
        return self.attendance.patient


@dataclass
class GroupNoteScreen:
    session: Session
    note: GroupNote | None
    rows: list[ScreenRow]
    not_shown: int  # attendees the user may not see: counted, never named
    absent: int  # enrolled or recorded but did not attend: they get no note


def group_note_screen(user: User, session: Session) -> GroupNoteScreen:
    """The session's note with one row per attendee the user may see (constant queries)."""
    note = (
        GroupNote.objects.filter(session=session)
        .select_related("author", "signed_by", "cosignature__cosigned_by")
        .prefetch_related(_addenda)
        .first()
    )
    mine = Exists(
        visible_patients(user, include_break_glass=False).filter(pk=OuterRef("patient_id"))
    )
    recorded = list(
        Attendance.objects.filter(session=session)
        .annotate(mine=mine)
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "patient_id")
    )
    came = [a for a in recorded if a.status in ATTENDED]
    shown = [a for a in came if a.mine]
    entries: dict[int, GroupNoteEntry] = {}
    if note is not None:
        entries = {
            e.patient_id: e
            for e in GroupNoteEntry.objects.filter(
                group_note=note, patient_id__in=[a.patient_id for a in shown]
            )
            .select_related("objective")
            .prefetch_related(_addenda)
        }
    objectives: dict[int, list[Objective]] = defaultdict(list)
    for objective in active_objectives([a.patient_id for a in shown]):
        objectives[objective.patient_id].append(objective)  # type: ignore[attr-defined]
    rows = [ScreenRow(a, entries.get(a.patient_id), objectives[a.patient_id]) for a in shown]
    return GroupNoteScreen(
        session=session,
        note=note,
        rows=rows,
        not_shown=len(came) - len(shown),
        absent=len(recorded) - len(came),
    )


def active_objectives(patient_ids: list[int]) -> QuerySet[Objective]:
    """The objectives of each patient's active (signed) plan, annotated with ``patient_id``."""
    from django.db.models import F

    return (
        Objective.objects.filter(
            goal__problem__version__status=PlanVersion.Status.ACTIVE,
            goal__problem__version__plan__patient_id__in=patient_ids,
        )
        .annotate(patient_id=F("goal__problem__version__plan__patient_id"))
        .order_by("goal__problem__order", "goal__order", "order", "id")
    )


# --- work lists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToSign:
    document: Note | GroupNote
    overdue: bool

    @property
    def is_group(self) -> bool:
        return isinstance(self.document, GroupNote)


def settings_for(organization_id: int | None) -> NoteSettings:
    """The organization's note settings, or the defaults (unsaved) when none were chosen."""
    found = (
        NoteSettings.objects.filter(organization_id=organization_id).first()
        if organization_id is not None
        else None
    )
    return found or NoteSettings(organization_id=organization_id)  # type: ignore[misc]


def _unsigned_hours(user: User) -> int:
    return settings_for(user.organization_id).unsigned_after_hours


def to_sign(user: User, *, now: dt.datetime | None = None) -> list[ToSign]:
    """The user's unsigned drafts, oldest first, with those past the limit flagged."""
    now = now or timezone.now()
    cutoff = rules.unsigned_cutoff(now, _unsigned_hours(user))
    notes = Note.objects.filter(author=user, signed_at__isnull=True).select_related(
        "patient", "facility"
    )
    groups = GroupNote.objects.filter(author=user, signed_at__isnull=True).select_related(
        "session__group", "facility"
    )
    docs: list[Note | GroupNote] = [*notes, *groups]
    rows = [ToSign(d, d.ended_at < cutoff) for d in docs]
    rows.sort(key=lambda r: r.document.started_at)
    return rows


def supervisees_overdue(user: User, *, now: dt.datetime | None = None) -> list[ToSign]:
    """Notes of the staff this user supervises that are unsigned past the limit."""
    now = now or timezone.now()
    cutoff = rules.unsigned_cutoff(now, _unsigned_hours(user))
    mine = Q(author__supervisor=user, signed_at__isnull=True, ended_at__lt=cutoff)
    notes = Note.objects.filter(mine).select_related("author", "patient", "facility")
    groups = GroupNote.objects.filter(mine).select_related("author", "session__group", "facility")
    docs: list[Note | GroupNote] = [*notes, *groups]
    rows = [ToSign(d, True) for d in docs]
    rows.sort(key=lambda r: r.document.started_at)
    return rows


def cosign_queue(user: User) -> list[Note | GroupNote]:
    """Signed notes waiting for this user's co-signature, oldest first."""
    if not user.can("notes.cosign_note"):
        return []
    whose = Q(author__supervisor=user)
    if user.role == "clinical_director":
        whose |= Q(author__organization_id=user.organization_id)
    waiting = Q(signed_at__isnull=False, needs_cosign=True) & whose & ~Q(author=user)
    facilities = list(user.facilities.values_list("pk", flat=True))
    notes = (
        Note.objects.filter(waiting, patient__in=visible_patients(user))
        .exclude(pk__in=Cosignature.objects.filter(note__isnull=False).values("note"))
        .select_related("author", "patient", "facility")
    )
    groups = (
        GroupNote.objects.filter(waiting, facility_id__in=facilities)
        .exclude(pk__in=Cosignature.objects.filter(group_note__isnull=False).values("group_note"))
        .select_related("author", "session__group", "facility")
    )
    items: list[Note | GroupNote] = [*notes, *groups]
    items.sort(key=lambda d: d.signed_at or d.started_at)
    return items
