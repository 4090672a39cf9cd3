"""Continuing care and alumni (SPEC §3.8, §9): follow-ups after discharge with their contact
attempts and outcomes, the alumni coordinator's due list, alumni events and who came, and the
organization's continuing-care settings.

Reads take the user and return only what the user may see (``visible_patients``), in a
constant number of queries; writes are keyword-only, atomic and audited, and refuse bad input
with field-keyed messages in plain words before anything is written. The follow-up rows
themselves are scheduled at discharge (``services.discharge_patient``); this module works them.
Alumni coordinators see the step-down and how to reach the person, never the clinical summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from openiop.accounts.models import Facility, Organization, User
from openiop.accounts.selectors import facilities_for
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, plain, record, record_many, snapshot
from openiop.discharge import rules
from openiop.discharge.config import settings_for
from openiop.discharge.models import (
    AlumniAttendance,
    AlumniEvent,
    ContactAttempt,
    Discharge,
    DischargeSettings,
    FollowUp,
    StepDown,
)
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients

DUE_SECTION = "follow-ups due"
FOLLOWUP_SECTION = "follow-up"
ALUMNI_SECTION = "alumni"
EVENT_SECTION = "alumni event"
SETTINGS_SECTION = "continuing-care settings"

REFUSED = (
    "Follow-ups and alumni events are the clinical team's and the alumni coordinator's work. "
    "Ask them if a person needs a call."
)
SETTINGS_REFUSED = (
    "Only the clinical director or an administrator changes the continuing-care settings."
)
NOT_HERE = "This person is not in your care at this facility."

# Which open follow-ups the due list shows.
SHOW_DUE = "due"  # overdue, and due within the window
SHOW_OVERDUE = "overdue"
SHOW_SOON = "soon"  # due within the window, not yet overdue
SHOW_OPEN = "open"  # every follow-up still to do, however far ahead
SHOW_CHOICES = (SHOW_DUE, SHOW_OVERDUE, SHOW_SOON, SHOW_OPEN)

CLOSING_STATUSES = (
    FollowUp.Status.UNREACHABLE,
    FollowUp.Status.DECLINED,
    FollowUp.Status.CANCELLED,
)
OUTCOME_FIELDS = (
    "status",
    "completed_on",
    "any_use",
    "days_used_30",
    "meetings_30",
    "working_or_school",
    "housing",
    "readmitted",
    "note",
)
EVENT_FIELDS = ("kind", "title", "starts_at", "ends_at", "location", "description", "cancelled")
SETTINGS_FIELDS = (
    "followup_days",
    "negative_test_weeks",
    "full_dose_weeks",
    "meeting_weeks",
    "due_window_days",
)
MAX_EVENT_HOURS = 24
MAX_MEETINGS_30 = 200


# --- shared ------------------------------------------------------------------------------------


def settings_of(organization: Organization) -> DischargeSettings:
    return settings_for(organization.pk)


def local_today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def may_follow_up(user: User) -> bool:
    return user.can("discharge.view_followup")


def _require(actor: User, permission: str, message: str = REFUSED) -> None:
    if not actor.can(permission):
        raise PermissionDenied(message)


def _require_patient(actor: User, patient_id: int) -> None:
    if not visible_patients(actor).filter(pk=patient_id).exists():
        raise PermissionDenied(NOT_HERE)


def _require_facility(actor: User, facility_id: int) -> None:
    if not facilities_for(actor).filter(pk=facility_id).exists():
        raise PermissionDenied("You do not work at this facility.")


def _scoped(user: User) -> QuerySet[Patient]:
    """Lists leave break-the-glass grants out: a grant opens one chart, not a list."""
    return visible_patients(user, include_break_glass=False)


def _in_treatment_now() -> Exists:
    """An open episode of care anywhere in the organization's records (a readmission)."""
    return Exists(
        EpisodeOfCare.objects.filter(patient_id=OuterRef("patient_id"), discharge_date__isnull=True)
    )


# --- the due list ------------------------------------------------------------------------------


def _last_attempt() -> QuerySet[ContactAttempt]:
    return ContactAttempt.objects.filter(followup_id=OuterRef("pk")).order_by(
        "-attempted_at", "-id"
    )


def _attempt_count() -> Subquery:
    counted = (
        ContactAttempt.objects.filter(followup_id=OuterRef("pk"))
        .order_by()
        .values("followup_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


def _with_facts(qs: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
    """The row's facts in the same query: attempts, the last one, a readmission now."""
    return qs.select_related("patient", "episode", "episode__discharge").annotate(
        attempt_count=Coalesce(_attempt_count(), 0),
        last_attempt_at=Subquery(_last_attempt().values("attempted_at")[:1]),
        last_method=Subquery(_last_attempt().values("method")[:1]),
        last_result=Subquery(_last_attempt().values("result")[:1]),
        in_treatment_now=_in_treatment_now(),
    )


def open_followups(
    user: User,
    facility: Facility,
    *,
    today: dt.date | None = None,
    window_days: int | None = None,
    show: str = SHOW_DUE,
) -> QuerySet[FollowUp]:
    """Follow-ups still to do at ``facility`` for the patients the user may see, the longest
    overdue first; ``show`` narrows it (see SHOW_CHOICES). One query, whatever the size; wrap
    the rows with ``due_rows``."""
    if not may_follow_up(user):
        return FollowUp.objects.none()
    today = today or local_today(facility)
    if window_days is None:
        window_days = settings_for(facility.organization_id).due_window_days
    horizon = today + dt.timedelta(days=window_days)
    qs = FollowUp.objects.filter(
        facility=facility,
        status=FollowUp.Status.DUE,
        patient__in=_scoped(user).values("pk"),
    )
    if show == SHOW_OVERDUE:
        qs = qs.filter(due_on__lt=today)
    elif show == SHOW_SOON:
        qs = qs.filter(due_on__gte=today, due_on__lte=horizon)
    elif show != SHOW_OPEN:
        qs = qs.filter(due_on__lte=horizon)
    return _with_facts(qs).order_by(
        "due_on", "patient__last_name", "patient__first_name", "patient_id", "days_after", "id"
    )


@dataclass(frozen=True)
class DueRow:
    """One follow-up on the due list, read only from what ``open_followups`` loaded."""

    followup: FollowUp
    today: dt.date

    @property
    def patient(self) -> Patient:
        return self.followup.patient

    @property
    def discharge(self) -> Discharge | None:
        return _discharge_of(self.followup)

    @property
    def discharge_date(self) -> dt.date | None:
        return self.followup.episode.discharge_date

    @property
    def step_down(self) -> str:
        d = self.discharge
        return d.get_step_down_display() if d is not None else ""

    @property
    def contact(self) -> str:
        d = self.discharge
        return d.followup_contact if d is not None else ""

    @property
    def agreed(self) -> bool:
        d = self.discharge
        return d.followup_agreed if d is not None else True

    @property
    def days_after(self) -> int:
        return self.followup.days_after

    @property
    def due_on(self) -> dt.date:
        return self.followup.due_on

    @property
    def overdue_days(self) -> int:
        return max((self.today - self.followup.due_on).days, 0)

    @property
    def is_overdue(self) -> bool:
        return self.overdue_days > 0

    @property
    def due_in_days(self) -> int:
        return max((self.followup.due_on - self.today).days, 0)

    @property
    def attempts(self) -> int:
        return int(getattr(self.followup, "attempt_count", 0) or 0)

    @property
    def last_attempt_at(self) -> dt.datetime | None:
        value: dt.datetime | None = getattr(self.followup, "last_attempt_at", None)
        return value

    @property
    def last_method(self) -> str:
        value = getattr(self.followup, "last_method", None)
        return ContactAttempt.Method(value).label if value else ""

    @property
    def last_result(self) -> str:
        value = getattr(self.followup, "last_result", None)
        return ContactAttempt.Result(value).label if value else ""

    @property
    def readmitted(self) -> bool:
        return bool(getattr(self.followup, "in_treatment_now", False))


def _discharge_of(followup: FollowUp) -> Discharge | None:
    try:
        return followup.episode.discharge
    except Discharge.DoesNotExist:
        return None


def due_rows(followups: Iterable[FollowUp], today: dt.date) -> list[DueRow]:
    return [DueRow(f, today) for f in followups]


def due_followups(
    user: User,
    facility: Facility,
    *,
    today: dt.date | None = None,
    window_days: int | None = None,
    show: str = SHOW_DUE,
) -> list[DueRow]:
    """The alumni coordinator's due list: follow-ups due by ``today`` + the window (the
    organization's ``due_window_days``, 7 by default), overdue first, for the facility's
    patients the user may see. Two queries at most (the settings and the rows)."""
    today = today or local_today(facility)
    return due_rows(
        open_followups(user, facility, today=today, window_days=window_days, show=show), today
    )


@dataclass(frozen=True)
class DueCounts:
    overdue: int
    due_soon: int
    open: int

    @property
    def due(self) -> int:
        return self.overdue + self.due_soon


def due_counts(user: User, facility: Facility, *, today: dt.date, window_days: int) -> DueCounts:
    """How many follow-ups are overdue, due within the window and open at all: one query."""
    if not may_follow_up(user):
        return DueCounts(0, 0, 0)
    horizon = today + dt.timedelta(days=window_days)
    counts = FollowUp.objects.filter(
        facility=facility,
        status=FollowUp.Status.DUE,
        patient__in=_scoped(user).values("pk"),
    ).aggregate(
        overdue=Count("id", filter=Q(due_on__lt=today)),
        soon=Count("id", filter=Q(due_on__gte=today, due_on__lte=horizon)),
        open=Count("id"),
    )
    return DueCounts(counts["overdue"], counts["soon"], counts["open"])


def facility_due_counts(facility: Facility, *, today: dt.date, window_days: int) -> DueCounts:
    """The same counts for the whole facility, for the nightly e-mail (no patient shown)."""
    horizon = today + dt.timedelta(days=window_days)
    counts = FollowUp.objects.filter(facility=facility, status=FollowUp.Status.DUE).aggregate(
        overdue=Count("id", filter=Q(due_on__lt=today)),
        soon=Count("id", filter=Q(due_on__gte=today, due_on__lte=horizon)),
        open=Count("id"),
    )
    return DueCounts(counts["overdue"], counts["soon"], counts["open"])


# --- one follow-up -----------------------------------------------------------------------------


def followup_for(user: User, pk: int, *, action: str = AuditEvent.Action.VIEW) -> FollowUp:
    """One follow-up of a patient the user may see (404 otherwise, the refusal audited); the
    opening is audited against the patient."""
    followup = (
        FollowUp.objects.select_related(
            "patient__facility",
            "facility__organization",
            "episode__program",
            "episode__discharge",
            "completed_by",
        )
        .filter(pk=pk)
        .first()
    )
    if followup is None or not visible_patients(user).filter(pk=followup.patient_id).exists():
        record(
            actor=user,
            action=AuditEvent.Action.DENIED,
            section=FOLLOWUP_SECTION,
            detail={"followup_id": pk},
        )
        raise Http404("No such follow-up for the people in your care.")
    record(
        actor=user,
        action=action,
        patient=followup.patient,
        obj=followup,
        facility_id=followup.facility_id,
        section=FOLLOWUP_SECTION,
    )
    return followup


@dataclass(frozen=True)
class FollowUpPage:
    followup: FollowUp
    discharge: Discharge | None
    episode_followups: list[FollowUp]  # every follow-up of the episode, this one included
    attempts: list[ContactAttempt]
    readmitted_now: bool
    events_attended: int


def followup_page(followup: FollowUp) -> FollowUpPage:
    """What the follow-up's page shows beside the header (already opened and audited by
    ``followup_for``): the episode's schedule with outcomes, the attempts, a readmission now.
    Four queries."""
    attempts = list(followup.attempts.select_related("by").order_by("-attempted_at", "-id"))
    schedule = list(
        FollowUp.objects.filter(episode_id=followup.episode_id)
        .select_related("completed_by")
        .order_by("days_after", "id")
    )
    readmitted = EpisodeOfCare.objects.filter(
        patient_id=followup.patient_id, discharge_date__isnull=True
    ).exists()
    attended = AlumniAttendance.objects.filter(
        patient_id=followup.patient_id, event__cancelled=False
    ).count()
    return FollowUpPage(
        followup=followup,
        discharge=_discharge_of(followup),
        episode_followups=schedule,
        attempts=attempts,
        readmitted_now=readmitted,
        events_attended=attended,
    )


# --- follow-up writes --------------------------------------------------------------------------


def _locked(followup: FollowUp) -> FollowUp:
    """The row again, locked, so two people saving at once cannot both close it."""
    fresh = (
        FollowUp.objects.select_for_update()
        .select_related("patient", "episode", "facility")
        .get(pk=followup.pk)
    )
    return fresh


def _still_due(followup: FollowUp) -> None:
    if followup.status != FollowUp.Status.DUE:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: (
                    f"This follow-up is already closed ({followup.get_status_display()}). "
                    "Nothing more can be recorded on it."
                )
            }
        )


def _discharged_on(followup: FollowUp) -> dt.date:
    day = followup.episode.discharge_date
    return day if day is not None else followup.due_on - dt.timedelta(days=followup.days_after)


@transaction.atomic
def record_attempt(
    *,
    actor: User,
    followup: FollowUp,
    attempted_at: dt.datetime | None,
    method: str,
    result: str,
    note: str = "",
) -> ContactAttempt:
    """One try to reach the person: when, how, what happened. Not in the future, not before
    the discharge, and only while the follow-up is due."""
    _require(actor, "discharge.change_followup")
    _require_patient(actor, followup.patient_id)
    followup = _locked(followup)
    _still_due(followup)
    zone = followup.facility.zone
    errors: dict[str, str] = {}
    discharged = _discharged_on(followup)
    if attempted_at is None:
        errors["attempted_at"] = "Say when you tried to reach them."
    elif attempted_at > timezone.now():
        errors["attempted_at"] = "The time of the attempt is in the future. Record it after."
    elif timezone.localtime(attempted_at, zone).date() < discharged:
        errors["attempted_at"] = (
            f"That is before the discharge on {discharged:%m/%d/%Y}: follow-ups start after it."
        )
    if method not in ContactAttempt.Method.values:
        errors["method"] = "Choose how you tried: phone, text, e-mail, video, in person or letter."
    if result not in ContactAttempt.Result.values:
        errors["result"] = "Choose what happened: reached, no answer, left a message…"
    if len(note) > 500:
        errors["note"] = f"Keep the note to 500 characters ({len(note)} now)."
    if errors:
        raise ValidationError(errors)
    assert attempted_at is not None  # noqa: S101 - checked above
    attempt = ContactAttempt.objects.create(
        followup=followup,
        attempted_at=attempted_at,
        method=method,
        result=result,
        note=note.strip(),
        by=actor,
    )
    followup.updated_at = timezone.now()
    followup.save(update_fields=["updated_at"])
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=followup.patient,
        facility_id=followup.facility_id,
        obj=attempt,
        section=f"{FOLLOWUP_SECTION}: contact attempt",
        changes={
            "attempted_at": [None, plain(attempted_at)],
            "method": [None, method],
            "result": [None, result],
        },
        detail={"followup_id": followup.pk},
    )
    return attempt


def _outcome_errors(
    *,
    completed_on: dt.date | None,
    discharged: dt.date,
    today: dt.date,
    any_use: bool | None,
    days_used_30: int | None,
    meetings_30: int | None,
    housing: str,
    note: str,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if completed_on is None:
        errors["completed_on"] = "Enter the day you spoke with them."
    elif completed_on < discharged:
        errors["completed_on"] = (
            f"That is before the discharge on {discharged:%m/%d/%Y}. Enter the day of the call."
        )
    elif completed_on > today:
        errors["completed_on"] = "That day is in the future. Record the outcome after the call."
    if any_use is None:
        errors["any_use"] = "Say whether they used any alcohol or drugs since discharge."
    if days_used_30 is not None and not 0 <= days_used_30 <= 30:
        errors["days_used_30"] = "Days of use in the past 30 are 0 to 30."
    elif any_use is False and days_used_30:
        errors["days_used_30"] = (
            "They said no use since discharge, so days of use in the past 30 must be 0. "
            "Change one of the two answers."
        )
    elif any_use is True and days_used_30 is None:
        errors["days_used_30"] = "They used since discharge: enter the days of use in the past 30."
    if meetings_30 is not None and not 0 <= meetings_30 <= MAX_MEETINGS_30:
        errors["meetings_30"] = f"Meetings in the past 30 days are 0 to {MAX_MEETINGS_30}."
    if housing and housing not in FollowUp.Housing.values:
        errors["housing"] = "Choose one of the housing answers, or leave it empty."
    if len(note) > 5000:
        errors["note"] = "Keep the note shorter (5,000 characters at most)."
    return errors


def _noon(day: dt.date, zone: Any) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=zone)


@transaction.atomic
def complete_followup(
    *,
    actor: User,
    followup: FollowUp,
    completed_on: dt.date | None,
    any_use: bool | None,
    days_used_30: int | None,
    meetings_30: int | None,
    working_or_school: bool | None,
    housing: str,
    readmitted: bool | None,
    note: str = "",
    method: str = ContactAttempt.Method.PHONE,
    today: dt.date | None = None,
) -> FollowUp:
    """The person answered: their outcomes since discharge. Refused as a whole when an answer
    does not fit (days of use 0–30, "no use" with days of use, a day before the discharge or in
    the future). A "reached" attempt that day is recorded for them if there is none."""
    _require(actor, "discharge.change_followup")
    _require_patient(actor, followup.patient_id)
    followup = _locked(followup)
    _still_due(followup)
    zone = followup.facility.zone
    today = today or timezone.localdate(timezone=zone)
    errors = _outcome_errors(
        completed_on=completed_on,
        discharged=_discharged_on(followup),
        today=today,
        any_use=any_use,
        days_used_30=days_used_30,
        meetings_30=meetings_30,
        housing=housing,
        note=note,
    )
    if method not in ContactAttempt.Method.values:
        errors["method"] = "Choose how you reached them."
    if errors:
        raise ValidationError(errors)
    assert completed_on is not None  # noqa: S101 - checked above
    before = snapshot(followup, OUTCOME_FIELDS)
    followup.status = FollowUp.Status.COMPLETED
    followup.completed_on = completed_on
    followup.any_use = any_use
    followup.days_used_30 = 0 if any_use is False and days_used_30 is None else days_used_30
    followup.meetings_30 = meetings_30
    followup.working_or_school = working_or_school
    followup.housing = housing
    followup.readmitted = readmitted
    followup.note = note.strip()
    followup.completed_by = actor
    followup.updated_at = timezone.now()
    followup.save()
    reached_that_day = any(
        timezone.localtime(at, zone).date() == completed_on
        for at in followup.attempts.filter(result=ContactAttempt.Result.REACHED).values_list(
            "attempted_at", flat=True
        )
    )
    if not reached_that_day:
        # The call was now when it is recorded on the day; else at noon of that day.
        now = timezone.now()
        when = now if completed_on == timezone.localdate(now, zone) else _noon(completed_on, zone)
        ContactAttempt.objects.create(
            followup=followup,
            attempted_at=min(when, now),
            method=method,
            result=ContactAttempt.Result.REACHED,
            note="Recorded with the outcome.",
            by=actor,
        )
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=followup.patient,
        facility_id=followup.facility_id,
        obj=followup,
        section=f"{FOLLOWUP_SECTION}: outcome",
        changes=diff(before, snapshot(followup, OUTCOME_FIELDS)),
    )
    return followup


@transaction.atomic
def close_followup(
    *,
    actor: User,
    followup: FollowUp,
    status: str,
    note: str,
    today: dt.date | None = None,
) -> FollowUp:
    """Close a follow-up without an answer: could not reach (after at least one attempt),
    declined, or not needed (readmitted or died); the reason is required. ``completed_on``
    keeps the day it was closed."""
    _require(actor, "discharge.change_followup")
    _require_patient(actor, followup.patient_id)
    followup = _locked(followup)
    _still_due(followup)
    today = today or timezone.localdate(timezone=followup.facility.zone)
    errors: dict[str, str] = {}
    if status not in CLOSING_STATUSES:
        errors["status"] = "Choose why: could not reach, declined, or not needed."
    elif status == FollowUp.Status.UNREACHABLE and not followup.attempts.exists():
        errors["status"] = (
            "Record at least one contact attempt before closing it as “could not reach”."
        )
    if not note.strip():
        errors["note"] = "Say why in a few words (for example: three calls, number disconnected)."
    elif len(note) > 5000:
        errors["note"] = "Keep the reason shorter (5,000 characters at most)."
    if errors:
        raise ValidationError(errors)
    before = snapshot(followup, OUTCOME_FIELDS)
    followup.status = status
    followup.note = note.strip()
    followup.completed_on = today
    followup.completed_by = actor
    followup.updated_at = timezone.now()
    followup.save(update_fields=["status", "note", "completed_on", "completed_by", "updated_at"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=followup.patient,
        facility_id=followup.facility_id,
        obj=followup,
        section=f"{FOLLOWUP_SECTION}: closed",
        changes=diff(before, snapshot(followup, OUTCOME_FIELDS)),
        reason=note.strip()[:500],
    )
    return followup


# --- alumni ------------------------------------------------------------------------------------


def _discharged_here(facility_id: int) -> Exists:
    return Exists(Discharge.objects.filter(patient_id=OuterRef("pk"), facility_id=facility_id))


def _open_episode() -> Exists:
    return Exists(
        EpisodeOfCare.objects.filter(patient_id=OuterRef("pk"), discharge_date__isnull=True)
    )


def eligible_alumni(user: User, facility: Facility) -> QuerySet[Patient]:
    """Alumni of the facility the user may see: discharged there, not in treatment now."""
    if not may_follow_up(user):
        return Patient.objects.none()
    return (
        _scoped(user)
        .filter(_discharged_here(facility.pk))
        .exclude(_open_episode())
        .order_by("last_name", "first_name", "id")
    )


def _latest_completed() -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(
        patient_id=OuterRef("pk"), status=FollowUp.Status.COMPLETED
    ).order_by("-completed_on", "-days_after", "-id")


def _latest_discharge(facility_id: int) -> QuerySet[Discharge]:
    return Discharge.objects.filter(patient_id=OuterRef("pk"), facility_id=facility_id).order_by(
        "-discharge_date", "-id"
    )


@dataclass(frozen=True)
class RosterRow:
    """One alumnus, read only from the annotations of ``alumni_roster``."""

    patient: Patient

    def _get(self, name: str) -> Any:
        return getattr(self.patient, name, None)

    @property
    def discharge_date(self) -> dt.date | None:
        value: dt.date | None = self._get("last_discharge_date")
        return value

    @property
    def step_down(self) -> str:
        value = self._get("last_step_down")
        return StepDown(value).label if value in StepDown.values else ""

    @property
    def events_attended(self) -> int:
        return int(self._get("events_attended") or 0)

    @property
    def followup_days_after(self) -> int | None:
        value: int | None = self._get("fu_days_after")
        return value

    @property
    def followup_on(self) -> dt.date | None:
        value: dt.date | None = self._get("fu_completed_on")
        return value

    @property
    def any_use(self) -> bool | None:
        value: bool | None = self._get("fu_any_use")
        return value

    @property
    def days_used_30(self) -> int | None:
        value: int | None = self._get("fu_days_used_30")
        return value

    @property
    def meetings_30(self) -> int | None:
        value: int | None = self._get("fu_meetings_30")
        return value

    @property
    def next_due(self) -> dt.date | None:
        value: dt.date | None = self._get("next_due")
        return value


def alumni_roster_queryset(user: User, facility: Facility) -> QuerySet[Patient]:
    """Alumni of the facility the user may see whose step-down was the alumni program or who
    came to an alumni event, with their latest follow-up outcome: one query."""
    if not may_follow_up(user):
        return Patient.objects.none()
    attended = AlumniAttendance.objects.filter(
        patient_id=OuterRef("pk"), event__facility_id=facility.pk, event__cancelled=False
    )
    attended_count = attended.order_by().values("patient_id").annotate(n=Count("id")).values("n")
    to_alumni = Discharge.objects.filter(
        patient_id=OuterRef("pk"), facility_id=facility.pk, step_down=StepDown.ALUMNI
    )
    latest = _latest_completed()
    return (
        eligible_alumni(user, facility)
        .filter(Q(Exists(to_alumni)) | Q(Exists(attended)))
        .annotate(
            last_discharge_date=Subquery(
                _latest_discharge(facility.pk).values("discharge_date")[:1]
            ),
            last_step_down=Subquery(_latest_discharge(facility.pk).values("step_down")[:1]),
            events_attended=Coalesce(Subquery(attended_count, output_field=IntegerField()), 0),
            fu_days_after=Subquery(latest.values("days_after")[:1]),
            fu_completed_on=Subquery(latest.values("completed_on")[:1]),
            fu_any_use=Subquery(latest.values("any_use")[:1]),
            fu_days_used_30=Subquery(latest.values("days_used_30")[:1]),
            fu_meetings_30=Subquery(latest.values("meetings_30")[:1]),
            next_due=Subquery(
                FollowUp.objects.filter(patient_id=OuterRef("pk"), status=FollowUp.Status.DUE)
                .order_by("due_on")
                .values("due_on")[:1]
            ),
        )
        .order_by("last_name", "first_name", "id")
    )


def alumni_roster(user: User, facility: Facility) -> list[RosterRow]:
    """The facility's alumni (see ``alumni_roster_queryset``) as rows; the caller audits."""
    return [RosterRow(p) for p in alumni_roster_queryset(user, facility)]


def events_of(user: User, facility: Facility, *, when: str = "upcoming") -> QuerySet[AlumniEvent]:
    """The facility's alumni events with how many came: "upcoming" (not yet ended, soonest
    first) or "past" (newest first). One query; no patient is named."""
    if not may_follow_up(user) or not facilities_for(user).filter(pk=facility.pk).exists():
        return AlumniEvent.objects.none()
    now = timezone.now()
    qs = AlumniEvent.objects.filter(facility=facility).annotate(came=Count("attendance"))
    if when == "past":
        return qs.filter(ends_at__lt=now).order_by("-starts_at", "-id")
    return qs.filter(ends_at__gte=now).order_by("starts_at", "id")


def event_for(user: User, pk: int) -> AlumniEvent:
    """An alumni event of one of the user's facilities (404 otherwise)."""
    event = (
        AlumniEvent.objects.select_related("facility", "created_by")
        .filter(pk=pk, facility__in=facilities_for(user).values("pk"))
        .first()
        if may_follow_up(user)
        else None
    )
    if event is None:
        record(
            actor=user,
            action=AuditEvent.Action.DENIED,
            section=EVENT_SECTION,
            detail={"event_id": pk},
        )
        raise Http404("No such alumni event at your facilities.")
    return event


def attendance_choices(user: User, event: AlumniEvent) -> QuerySet[Patient]:
    """The attendance checklist: the facility's alumni roster the user may see, and whoever is
    already recorded at the event (even if readmitted since). One query when read."""
    if not may_follow_up(user):
        return Patient.objects.none()
    roster = alumni_roster_queryset(user, event.facility).values("pk")
    came = AlumniAttendance.objects.filter(event=event).values("patient_id")
    return (
        _scoped(user)
        .filter(Q(pk__in=roster) | Q(pk__in=came))
        .order_by("last_name", "first_name", "id")
    )


def attendance_of(user: User, event: AlumniEvent) -> list[AlumniAttendance]:
    """Who came, among the patients the user may see; the caller audits the list."""
    return list(
        AlumniAttendance.objects.filter(event=event, patient_id__in=_scoped(user).values("pk"))
        .select_related("patient", "recorded_by")
        .order_by("patient__last_name", "patient__first_name", "patient_id")
    )


def patient_events(user: User, patient: Patient) -> QuerySet[AlumniEvent]:
    """The alumni events a patient came to, newest first (empty outside the user's scope)."""
    if not may_follow_up(user) or not _scoped(user).filter(pk=patient.pk).exists():
        return AlumniEvent.objects.none()
    return (
        AlumniEvent.objects.filter(attendance__patient=patient)
        .select_related("facility")
        .order_by("-starts_at", "-id")
    )


# --- alumni writes -----------------------------------------------------------------------------


def _event_errors(
    *,
    kind: str,
    title: str,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    location: str,
    description: str,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if kind not in AlumniEvent.Kind.values:
        errors["kind"] = "Choose what it is: an alumni group meeting, an event or a service day."
    if not title.strip():
        errors["title"] = "Give it a name people will recognize, e.g. “Thursday alumni group”."
    elif len(title.strip()) > 200:
        errors["title"] = "Keep the name to 200 characters."
    if starts_at is None:
        errors["starts_at"] = "Say when it starts."
    if ends_at is None:
        errors["ends_at"] = "Say when it ends."
    elif starts_at is not None:
        if ends_at <= starts_at:
            errors["ends_at"] = "It must end after it starts."
        elif ends_at - starts_at > dt.timedelta(hours=MAX_EVENT_HOURS):
            errors["ends_at"] = (
                f"An event lasts {MAX_EVENT_HOURS} hours at most. Make one event for each day."
            )
    if len(location.strip()) > 200:
        errors["location"] = "Keep the place to 200 characters."
    if len(description) > 5000:
        errors["description"] = "Keep the description shorter (5,000 characters at most)."
    return errors


@transaction.atomic
def create_event(
    *,
    actor: User,
    facility: Facility,
    kind: str,
    title: str,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    location: str = "",
    description: str = "",
) -> AlumniEvent:
    """An alumni group meeting, event or service day at the facility."""
    _require(actor, "discharge.change_alumnievent")
    _require_facility(actor, facility.pk)
    errors = _event_errors(
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location,
        description=description,
    )
    if errors:
        raise ValidationError(errors)
    assert starts_at is not None and ends_at is not None  # noqa: S101 - checked above
    event = AlumniEvent.objects.create(
        facility=facility,
        kind=kind,
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        location=location.strip(),
        description=description.strip(),
        created_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        facility_id=facility.pk,
        obj=event,
        section=EVENT_SECTION,
        changes={k: [None, v] for k, v in snapshot(event, EVENT_FIELDS).items()},
    )
    return event


def _locked_event(event: AlumniEvent) -> AlumniEvent:
    return AlumniEvent.objects.select_for_update().select_related("facility").get(pk=event.pk)


def _not_cancelled(event: AlumniEvent) -> None:
    if event.cancelled:
        raise ValidationError({NON_FIELD_ERRORS: "This event is cancelled: nothing more changes."})


@transaction.atomic
def update_event(
    *,
    actor: User,
    event: AlumniEvent,
    kind: str,
    title: str,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    location: str = "",
    description: str = "",
) -> AlumniEvent:
    _require(actor, "discharge.change_alumnievent")
    _require_facility(actor, event.facility_id)
    event = _locked_event(event)
    _not_cancelled(event)
    errors = _event_errors(
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location,
        description=description,
    )
    if errors:
        raise ValidationError(errors)
    assert starts_at is not None and ends_at is not None  # noqa: S101 - checked above
    before = snapshot(event, EVENT_FIELDS)
    event.kind = kind
    event.title = title.strip()
    event.starts_at = starts_at
    event.ends_at = ends_at
    event.location = location.strip()
    event.description = description.strip()
    event.save()
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        facility_id=event.facility_id,
        obj=event,
        section=EVENT_SECTION,
        changes=diff(before, snapshot(event, EVENT_FIELDS)),
    )
    return event


@transaction.atomic
def cancel_event(*, actor: User, event: AlumniEvent, reason: str = "") -> AlumniEvent:
    """Cancel an event nobody is recorded at (remove the attendance first, if it was wrong)."""
    _require(actor, "discharge.change_alumnievent")
    _require_facility(actor, event.facility_id)
    event = _locked_event(event)
    _not_cancelled(event)
    if event.attendance.exists():
        raise ValidationError(
            {
                NON_FIELD_ERRORS: (
                    "People are recorded as having come to this event. If it did not take "
                    "place, untick them in the attendance list first, then cancel it."
                )
            }
        )
    event.cancelled = True
    event.save(update_fields=["cancelled"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        facility_id=event.facility_id,
        obj=event,
        section=EVENT_SECTION,
        changes={"cancelled": [False, True]},
        reason=reason.strip()[:500],
    )
    return event


@transaction.atomic
def record_alumni_attendance(
    *, actor: User, event: AlumniEvent, patients: Iterable[Patient]
) -> list[AlumniAttendance]:
    """Who came: the list replaces the earlier one for the patients the actor may see (others'
    attendance is kept). Only alumni of the event's facility — discharged there and not in
    treatment now — may be recorded, and only once the event has started."""
    _require(actor, "discharge.change_alumnievent")
    _require_facility(actor, event.facility_id)
    event = _locked_event(event)
    _not_cancelled(event)
    if event.starts_at > timezone.now():
        raise ValidationError(
            {"patients": "The event has not started yet. Record who came once it has."}
        )
    wanted = {p.pk: p for p in patients}
    existing = set(
        AlumniAttendance.objects.filter(event=event).values_list("patient_id", flat=True)
    )
    # Someone already recorded stays recorded even if readmitted since; the rules apply to
    # the people added now.
    added = sorted(set(wanted) - existing)
    visible = set(_scoped(actor).filter(pk__in=list(wanted)).values_list("pk", flat=True))
    alumni = set(
        eligible_alumni(actor, event.facility).filter(pk__in=added).values_list("pk", flat=True)
    )
    in_treatment = set(
        EpisodeOfCare.objects.filter(patient_id__in=added, discharge_date__isnull=True)
        .values_list("patient_id", flat=True)
        .distinct()
    )
    problems: list[str] = []
    for pk, p in sorted(wanted.items(), key=lambda i: (i[1].last_name, i[1].first_name, i[0])):
        if pk not in visible:
            problems.append("One of the people chosen is not in your care at this facility.")
        elif pk not in added:
            continue
        elif pk in in_treatment:
            problems.append(
                f"{p.display_name} is in treatment now: alumni events are for people after "
                "discharge."
            )
        elif pk not in alumni:
            problems.append(f"{p.display_name} was never discharged from {event.facility.name}.")
    if problems:
        raise ValidationError({"patients": problems})
    # Only the attendance the actor can see is theirs to untick; the rest stays.
    existing_visible = set(
        _scoped(actor).filter(pk__in=list(existing)).values_list("pk", flat=True)
    )
    removed = sorted(existing_visible - set(wanted))
    if removed:
        AlumniAttendance.objects.filter(event=event, patient_id__in=removed).delete()
    AlumniAttendance.objects.bulk_create(
        AlumniAttendance(event=event, patient_id=pk, recorded_by=actor) for pk in added
    )
    record_many(
        [
            *(
                {
                    "actor": actor,
                    "action": AuditEvent.Action.CREATE,
                    "patient": pk,
                    "facility_id": event.facility_id,
                    "obj": event,
                    "section": f"{EVENT_SECTION}: attendance",
                    "detail": {"came": True},
                }
                for pk in added
            ),
            *(
                {
                    "actor": actor,
                    "action": AuditEvent.Action.DELETE,
                    "patient": pk,
                    "facility_id": event.facility_id,
                    "obj": event,
                    "section": f"{EVENT_SECTION}: attendance",
                    "detail": {"came": False},
                }
                for pk in removed
            ),
        ]
    )
    return list(
        AlumniAttendance.objects.filter(event=event)
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "patient_id")
    )


# --- settings ----------------------------------------------------------------------------------


def _settings_errors(
    *,
    followup_days: Sequence[int],
    negative_test_weeks: int | None,
    full_dose_weeks: int | None,
    meeting_weeks: int | None,
    due_window_days: int | None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    problem = rules.followup_days_error(list(followup_days))
    if problem:
        errors["followup_days"] = problem
    for name, value, what in (
        ("negative_test_weeks", negative_test_weeks, "Weeks of negative drug tests"),
        ("full_dose_weeks", full_dose_weeks, "Weeks at full dose"),
        ("meeting_weeks", meeting_weeks, "Weeks of meetings"),
    ):
        if value is None or not 1 <= value <= 52:
            errors[name] = f"{what} are 1 to 52."
    if due_window_days is None or not 0 <= due_window_days <= 60:
        errors["due_window_days"] = "Show follow-ups 0 to 60 days before they are due."
    return errors


def _checked(value: int | None) -> int:
    assert value is not None  # noqa: S101 - _settings_errors refused None
    return value


@transaction.atomic
def save_settings(
    *,
    actor: User,
    organization: Organization,
    followup_days: Sequence[int],
    negative_test_weeks: int | None,
    full_dose_weeks: int | None,
    meeting_weeks: int | None,
    due_window_days: int | None,
) -> DischargeSettings:
    """The organization's continuing-care rules. New follow-up days apply to discharges
    recorded after the change; follow-ups already scheduled keep their dates."""
    _require(actor, "discharge.change_dischargesettings", SETTINGS_REFUSED)
    if not facilities_for(actor).filter(organization=organization).exists():
        raise PermissionDenied("You do not work for this organization.")
    errors = _settings_errors(
        followup_days=followup_days,
        negative_test_weeks=negative_test_weeks,
        full_dose_weeks=full_dose_weeks,
        meeting_weeks=meeting_weeks,
        due_window_days=due_window_days,
    )
    if errors:
        raise ValidationError(errors)
    row = DischargeSettings.objects.select_for_update().filter(organization=organization).first()
    created = row is None
    if row is None:
        row = DischargeSettings(organization=organization)
    before = {} if created else snapshot(row, SETTINGS_FIELDS)
    row.followup_days = sorted(set(followup_days))
    row.negative_test_weeks = _checked(negative_test_weeks)
    row.full_dose_weeks = _checked(full_dose_weeks)
    row.meeting_weeks = _checked(meeting_weeks)
    row.due_window_days = _checked(due_window_days)
    row.updated_by = actor
    row.save()
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        obj=row,
        section=SETTINGS_SECTION,
        changes=diff(before, snapshot(row, SETTINGS_FIELDS)),
        detail={"organization_id": organization.pk},
    )
    return row
