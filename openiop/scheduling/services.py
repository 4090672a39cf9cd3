"""Every write of the IOP week goes through these functions, each checked and audited.

- The catalog (groups, curriculum, rooms) and schedules are kept by the clinical
  leadership. A schedule's sessions are made some weeks ahead; an exception to the rule
  (cancelled, moved, covered, another room) changes one session and is kept as a
  SessionChange with the reason. A room or a facilitator is never booked twice.
- Enrollment checks eligibility (refused with the reason), capacity and clashes; a phase
  or track mismatch is a warning the clinician may accept with a reason.
- Saving a group's attendance is one transaction: the rows, their history, the audit
  records and the daily dose; a second screen saving the same group at once loses cleanly
  (nothing lost, nothing duplicated).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum, Value, Window
from django.db.models.functions import Greatest, RowNumber
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from openiop.accounts.models import Credential, Facility, Phase, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, plain, record, record_many, snapshot
from openiop.patients.alerts import raise_alert
from openiop.patients.models import ClinicalAlert, Patient, SupportContact
from openiop.patients.selectors import visible_patients
from openiop.scheduling import family, rules
from openiop.scheduling.models import (
    Appointment,
    Attendance,
    CalendarFeed,
    CurriculumTopic,
    DoseDay,
    Enrollment,
    GroupType,
    Room,
    Schedule,
    Session,
    SessionChange,
)

GROUP_FIELDS = (
    "name",
    "kind",
    "specialty",
    "description",
    "capacity",
    "duration_minutes",
    "facilitator_credentials",
    "billing_code_hint",
    "is_active",
)
SCHEDULE_FIELDS = (
    "track_id",
    "rrule",
    "start_date",
    "end_date",
    "start_time",
    "duration_minutes",
    "room_id",
    "telehealth",
    "facilitator_id",
    "co_facilitator_id",
)
ATTENDANCE_FIELDS = (
    "status",
    "arrived_at",
    "left_at",
    "minutes",
    "drop_in",
    "telehealth",
    "note",
)
UNEXCUSED_SOURCE = "scheduling.unexcused"
WEEK_SOURCE = "scheduling.week"
STALE_MESSAGE = (
    "Someone else saved this group's attendance while you had it open. Nothing of yours was "
    "saved: reload the page to see their entries, then make your changes again."
)


def _need(actor: User, permission: str, message: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied(message)


def _at_facility(actor: User, facility_id: int) -> None:
    if not actor.facilities.filter(pk=facility_id).exists():
        raise PermissionDenied("You do not work at this facility.")


def _raise(errors: Mapping[str, str | None]) -> None:
    found = {k: v for k, v in errors.items() if v}
    if found:
        raise ValidationError(found)


def _today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def _when(moment: dt.datetime, facility: Facility) -> str:
    local = moment.astimezone(facility.zone)
    return f"{local:%a %-d %b} at {local:%-I:%M %p}".replace("AM", "am").replace("PM", "pm")


# --- the catalog ---------------------------------------------------------------------------------


@transaction.atomic
def save_group_type(
    *,
    actor: User,
    program: Program,
    data: Mapping[str, Any],
    group: GroupType | None = None,
) -> GroupType:
    """Add a group to a program's catalog, or change one (fields left out of ``data``
    keep their value)."""
    _need(actor, "scheduling.change_grouptype", "Only clinical leadership keeps the groups.")
    _at_facility(actor, program.facility_id)
    phases: list[Phase] = list(data.get("phases") or [])
    if group is not None and "facilitator_credentials" not in data:
        credentials = list(group.facilitator_credentials)
    else:
        credentials = list(data.get("facilitator_credentials") or [])
    errors: dict[str, str | None] = {}
    if any(p.program_id != program.pk for p in phases):
        errors["phases"] = "Choose phases of this group's program."
    unknown = sorted(set(credentials) - set(Credential.Kind.values))
    if unknown:
        errors["facilitator_credentials"] = f"Unknown credentials: {', '.join(unknown)}."
    name = str(data.get("name", group.name if group else "")).strip()
    if not name:
        errors["name"] = "Give the group a name people recognize."
    elif (
        GroupType.objects.filter(program=program, name__iexact=name)
        .exclude(pk=group.pk if group else 0)
        .exists()
    ):
        errors["name"] = "This program already has a group with this name."
    _raise(errors)
    before = snapshot(group, GROUP_FIELDS) if group else {}
    target = group or GroupType(program=program)
    for name_ in GROUP_FIELDS:
        if name_ in data:
            setattr(target, name_, data[name_])
    target.name = name
    target.facilitator_credentials = credentials
    target.full_clean(exclude=["program"])
    target.save()
    if group is None or "phases" in data:
        target.phases.set(phases)
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE if group else AuditEvent.Action.CREATE,
        facility_id=program.facility_id,
        obj=target,
        section="group catalog",
        changes=diff(before, snapshot(target, GROUP_FIELDS)),
        detail={"phases": [p.pk for p in phases]} if "phases" in data else None,
    )
    return target


@transaction.atomic
def set_curriculum(
    *, actor: User, group: GroupType, topics: Sequence[tuple[str, str]]
) -> list[CurriculumTopic]:
    """Replace a group's curriculum with these (title, description) topics, in order."""
    _need(actor, "scheduling.change_grouptype", "Only clinical leadership keeps the groups.")
    _at_facility(actor, group.program.facility_id)
    clean = [(t.strip(), d.strip()) for t, d in topics if t.strip()]
    if any(len(t) > 200 for t, _ in clean):
        raise ValidationError({"topics": "Keep each topic's title under 200 characters."})
    before = list(group.topics.values_list("title", flat=True))
    group.topics.all().delete()
    rows = CurriculumTopic.objects.bulk_create(
        [
            CurriculumTopic(group=group, order=n, title=t, description=d)
            for n, (t, d) in enumerate(clean, start=1)
        ]
    )
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        facility_id=group.program.facility_id,
        obj=group,
        section="group curriculum",
        changes={"topics": [before, [t for t, _ in clean]]},
    )
    return rows


@transaction.atomic
def save_room(
    *, actor: User, facility: Facility, data: Mapping[str, Any], room: Room | None = None
) -> Room:
    _need(actor, "scheduling.change_grouptype", "Only clinical leadership keeps the rooms.")
    _at_facility(actor, facility.pk)
    name = str(data.get("name", "")).strip()
    if not name:
        raise ValidationError({"name": "Give the room a name."})
    if (
        Room.objects.filter(facility=facility, name__iexact=name)
        .exclude(pk=room.pk if room else 0)
        .exists()
    ):
        raise ValidationError({"name": "This facility already has a room with this name."})
    seats = data.get("seats", room.seats if room else None)
    if seats is not None and not 1 <= int(seats) <= 500:
        raise ValidationError(
            {"seats": "A room seats between 1 and 500 people (or leave it blank)."}
        )
    fields = ("name", "seats", "is_active")
    before = snapshot(room, fields) if room else {}
    target = room or Room(facility=facility)
    target.name = name
    target.seats = seats
    target.is_active = bool(data.get("is_active", target.is_active))
    target.save()
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE if room else AuditEvent.Action.CREATE,
        facility_id=facility.pk,
        obj=target,
        section="rooms",
        changes=diff(before, snapshot(target, fields)),
    )
    return target


# --- clashes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime


def _clashes(
    facility: Facility,
    slots: Sequence[Slot],
    *,
    room: Room | None,
    staff: Iterable[User | None],
    patient: Patient | None = None,
    exclude_sessions: Iterable[int] = (),
    exclude_schedule: int | None = None,
    exclude_appointment: int | None = None,
) -> str | None:
    """The first double-booking of the room or a person in these slots, in plain words."""
    if not slots:
        return None
    people = [u for u in staff if u is not None]
    first = min(s.starts_at for s in slots)
    last = max(s.ends_at for s in slots)
    who = Q()
    if room is not None:
        who |= Q(room=room)
    for u in people:
        who |= Q(facilitator=u) | Q(co_facilitator=u)
    sessions = (
        Session.objects.filter(who, starts_at__lt=last, ends_at__gt=first)
        .exclude(status=Session.Status.CANCELLED)
        .exclude(pk__in=list(exclude_sessions))
        .select_related("group", "room", "facilitator", "co_facilitator")
    )
    if exclude_schedule is not None:
        sessions = sessions.exclude(schedule_id=exclude_schedule)
    appt_who = Q(staff__in=people) if people else Q(pk__in=[])
    if room is not None:
        appt_who |= Q(room=room)
    if patient is not None:
        appt_who |= Q(patient=patient)
    appointments = (
        Appointment.objects.filter(appt_who, starts_at__lt=last, ends_at__gt=first)
        .filter(status=Appointment.Status.SCHEDULED)
        .select_related("room", "staff")
    )
    if exclude_appointment is not None:
        appointments = appointments.exclude(pk=exclude_appointment)
    busy: list[tuple[dt.datetime, dt.datetime, str]] = []
    for s in sessions:
        what = s.group.name
        if room is not None and s.room_id == room.pk:
            busy.append((s.starts_at, s.ends_at, f"{room.name} is taken by {what}"))
        for u in people:
            if u.pk in (s.facilitator_id, s.co_facilitator_id):
                busy.append((s.starts_at, s.ends_at, f"{u.display_name} is running {what}"))
    for a in appointments:
        kind = a.get_kind_display().lower()
        if room is not None and a.room_id == room.pk:
            busy.append((a.starts_at, a.ends_at, f"{room.name} is booked for an appointment"))
        for u in people:
            if a.staff_id == u.pk:
                busy.append((a.starts_at, a.ends_at, f"{u.display_name} has an appointment"))
        if patient is not None and a.patient_id == patient.pk:
            busy.append((a.starts_at, a.ends_at, f"The patient already has {kind}"))
    busy.sort()
    for slot in sorted(slots, key=lambda s: s.starts_at):
        for start, end, text in busy:
            if rules.overlaps((slot.starts_at, slot.ends_at), (start, end)):
                return (
                    f"Double-booked: {text} on {_when(start, facility)}. "
                    "Choose another time, room or person."
                )
    return None


# --- schedules and sessions ----------------------------------------------------------------------


def _facilitator_errors(
    group: GroupType, facilitator: User | None, facility: Facility
) -> str | None:
    if facilitator is None:
        return "Choose who runs the group."
    if not facilitator.is_active or not facilitator.facilities.filter(pk=facility.pk).exists():
        return "Choose a staff member of this facility."
    required = set(group.facilitator_credentials or [])
    if required:
        held = set(facilitator.credentials.values_list("kind", flat=True))
        if not held & required:
            names = ", ".join(sorted(required))
            return f"{group.name} needs a facilitator with one of these credentials: {names}."
    return None


@transaction.atomic
def create_schedule(*, actor: User, group: GroupType, data: Mapping[str, Any]) -> Schedule:
    """Put a group on the calendar on a recurrence rule, refusing any double-booking in
    the weeks its sessions are made for."""
    _need(actor, "scheduling.change_grouptype", "Only clinical leadership schedules groups.")
    program = group.program
    facility = program.facility
    _at_facility(actor, facility.pk)
    rule = str(data.get("rrule", ""))
    room: Room | None = data.get("room")
    facilitator: User | None = data.get("facilitator")
    co: User | None = data.get("co_facilitator")
    track = data.get("track")
    start_date: dt.date | None = data.get("start_date")
    end_date: dt.date | None = data.get("end_date")
    start_time: dt.time | None = data.get("start_time")
    minutes = int(data.get("duration_minutes") or group.duration_minutes)
    telehealth = bool(data.get("telehealth"))
    errors: dict[str, str | None] = {
        "rrule": rules.rrule_error(rule),
        "facilitator": _facilitator_errors(group, facilitator, facility),
    }
    if not group.is_active:
        errors["group"] = "This group is retired; make it active before scheduling it."
    if co is not None:
        if facilitator is not None and co.pk == facilitator.pk:
            errors["co_facilitator"] = "The co-facilitator must be someone else."
        elif not co.is_active or not co.facilities.filter(pk=facility.pk).exists():
            errors["co_facilitator"] = "Choose a staff member of this facility."
    if room is None and not telehealth:
        errors["room"] = "Choose a room, or mark the group as telehealth."
    elif room is not None and (room.facility_id != facility.pk or not room.is_active):
        errors["room"] = "Choose a room of this facility."
    if track is not None and track.program_id != program.pk:
        errors["track"] = "Choose a track of the group's program."
    if start_date is None:
        errors["start_date"] = "Say from which day the group meets."
    if start_time is None:
        errors["start_time"] = "Say what time the group starts."
    if start_date and end_date and end_date < start_date:
        errors["end_date"] = "The last day cannot be before the first day."
    for name, day in (("start_date", start_date), ("end_date", end_date)):
        if day and not rules.FIRST_YEAR <= day.year <= rules.LAST_YEAR:
            errors[name] = f"Choose a day between {rules.FIRST_YEAR} and {rules.LAST_YEAR}."
    if not 15 <= minutes <= 480:
        errors["duration_minutes"] = "A session lasts between 15 minutes and 8 hours."
    _raise(errors)
    assert start_date is not None and start_time is not None  # noqa: S101 - checked above
    schedule = Schedule(
        group=group,
        facility=facility,
        track=track,
        rrule=rules.normalize_rrule(rule),
        start_date=start_date,
        end_date=end_date,
        start_time=start_time,
        duration_minutes=minutes,
        room=room,
        telehealth=telehealth,
        facilitator=facilitator,
        co_facilitator=co,
        created_by=actor,
    )
    through = max(start_date, _today(facility)) + dt.timedelta(days=rules.HORIZON_DAYS)
    occurrences = _occurrences(schedule, start_date, through)
    if not occurrences:
        raise ValidationError({"rrule": "This rule gives no sessions between these days."})
    if len(occurrences) > rules.MAX_SESSIONS_AT_ONCE:
        raise ValidationError(
            {
                "start_date": f"From this first day the group would have {len(occurrences):,} "
                f"sessions already (at most {rules.MAX_SESSIONS_AT_ONCE}). Check the year."
            }
        )
    slots = [Slot(o.starts_at, o.ends_at) for o in occurrences]
    clash = _clashes(facility, slots, room=room, staff=[facilitator, co])
    if clash:
        raise ValidationError({"__all__": ValidationError(clash, code="conflict")})
    schedule.save()
    _make_sessions(schedule, occurrences)
    schedule.materialized_through = through
    schedule.save(update_fields=["materialized_through"])
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        facility_id=facility.pk,
        obj=schedule,
        section="group schedule",
        changes={k: [None, v] for k, v in snapshot(schedule, SCHEDULE_FIELDS).items()},
        detail={"sessions": len(occurrences)},
    )
    return schedule


def _occurrences(schedule: Schedule, first: dt.date, last: dt.date) -> list[rules.Occurrence]:
    return rules.expand(
        schedule.rrule,
        start_date=schedule.start_date,
        start_time=schedule.start_time,
        minutes=schedule.duration_minutes,
        zone=schedule.facility.zone,
        window_start=first,
        window_end=last,
        end_date=schedule.end_date,
    )


def _make_sessions(schedule: Schedule, occurrences: Sequence[rules.Occurrence]) -> int:
    rows = [
        Session(
            schedule=schedule,
            group_id=schedule.group_id,
            facility_id=schedule.facility_id,
            track_id=schedule.track_id,
            occurrence_date=o.occurrence_date,
            starts_at=o.starts_at,
            ends_at=o.ends_at,
            service_date=o.starts_at.date(),
            original_starts_at=o.starts_at,
            room_id=schedule.room_id,
            telehealth=schedule.telehealth,
            facilitator_id=schedule.facilitator_id,
            co_facilitator_id=schedule.co_facilitator_id,
        )
        for o in occurrences
    ]
    Session.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


@transaction.atomic
def materialize(schedule: Schedule, *, through: dt.date) -> int:
    """Make the schedule's sessions up to ``through`` (the nightly job keeps the horizon).
    Sessions made later do not check clashes again: the schedule was checked over its
    horizon when created, and a clash found on the calendar is fixed per session."""
    locked = (
        Schedule.objects.select_for_update(of=("self",))
        .select_related("facility")
        .get(pk=schedule.pk)
    )
    done = locked.materialized_through
    first = max(locked.start_date, done + dt.timedelta(days=1)) if done else locked.start_date
    if first > through:
        return 0
    made = _make_sessions(locked, _occurrences(locked, first, through))
    locked.materialized_through = through
    locked.save(update_fields=["materialized_through"])
    return made


def extend_sessions(*, today: dt.date | None = None) -> int:
    """Keep every running schedule's sessions made ``HORIZON_DAYS`` ahead. Only schedules
    with sessions still to make are read, so the nightly cost does not grow with every
    schedule ever ended."""
    made = 0
    # The latest local day anywhere is at most one day after UTC's.
    latest = today or timezone.now().date() + dt.timedelta(days=1)
    schedules = (
        Schedule.objects.filter(
            Q(materialized_through__isnull=True)
            | Q(materialized_through__lt=latest + dt.timedelta(days=rules.HORIZON_DAYS))
        )
        .filter(
            Q(end_date__isnull=True)
            | Q(materialized_through__isnull=True)
            | Q(end_date__gt=F("materialized_through"))
        )
        .select_related("facility")
    )
    for schedule in schedules:
        local_today = today or _today(schedule.facility)
        made += materialize(schedule, through=local_today + dt.timedelta(days=rules.HORIZON_DAYS))
    return made


@transaction.atomic
def end_schedule(*, actor: User, schedule: Schedule, last_date: dt.date, reason: str) -> Schedule:
    """Stop a group after a day: its later sessions without attendance come off the
    calendar (those already past stay, cancelled with the reason) and enrollments end.
    What happened before stays as it was."""
    _need(actor, "scheduling.change_grouptype", "Only clinical leadership ends a schedule.")
    _at_facility(actor, schedule.facility_id)
    reason = reason.strip()
    if len(reason) < 3:
        raise ValidationError({"reason": "Say why the group stops."})
    locked = (
        Schedule.objects.select_for_update(of=("self",))
        .select_related("facility")
        .get(pk=schedule.pk)
    )
    if last_date < locked.start_date:
        raise ValidationError({"last_date": "The last day cannot be before the first day."})
    if locked.end_date and last_date > locked.end_date:
        raise ValidationError({"last_date": "The schedule already ends before that day."})
    before = locked.end_date
    later = Session.objects.filter(
        schedule=locked, occurrence_date__gt=last_date, attendance__isnull=True
    )
    # Sessions from today on come off the calendar. Ones already past are history: they
    # stay, cancelled with the reason, so the record of those days is not rewritten.
    today = _today(locked.facility)
    removed = later.filter(service_date__gte=today).delete()[0]
    past = list(
        later.filter(service_date__lt=today).exclude(status=Session.Status.CANCELLED).distinct()
    )
    Session.objects.filter(pk__in=[x.pk for x in past]).update(status=Session.Status.CANCELLED)
    SessionChange.objects.bulk_create(
        SessionChange(
            session=x,
            kind=SessionChange.Kind.CANCEL,
            before={"status": "scheduled"},
            after={"status": "cancelled"},
            reason=f"The group stopped: {reason}"[:300],
            changed_by=actor,
        )
        for x in past
    )
    locked.end_date = last_date
    locked.save(update_fields=["end_date"])
    ended = Enrollment.objects.filter(schedule=locked).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=last_date)
    )
    ended_ids = list(ended.values_list("pk", flat=True))
    # One who was to join after the last day ends on their first day (never before it).
    ended.update(
        end_date=Greatest(F("start_date"), Value(last_date)),
        end_reason=f"The group stopped: {reason}"[:300],
    )
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        facility_id=locked.facility_id,
        obj=locked,
        section="group schedule",
        changes={"end_date": [plain(before), plain(last_date)]},
        reason=reason,
        detail={
            "sessions_removed": removed,
            "sessions_cancelled": [x.pk for x in past],
            "enrollments_ended": ended_ids,
        },
    )
    return locked


def _session_for_change(actor: User, session: Session, reason: str) -> Session:
    _need(actor, "scheduling.change_session", "Only the clinical team changes a session.")
    _at_facility(actor, session.facility_id)
    if len(reason.strip()) < 3:
        raise ValidationError({"reason": "Say why, so the change makes sense later."})
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("facility", "group", "room", "facilitator", "schedule")
        .get(pk=session.pk)
    )


def _has_attendance(session: Session) -> bool:
    return Attendance.objects.filter(session=session).exclude(status="cancelled").exists()


def _log_change(
    actor: User,
    session: Session,
    kind: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str,
) -> SessionChange:
    change = SessionChange.objects.create(
        session=session,
        kind=kind,
        before=dict(before),
        after=dict(after),
        reason=reason.strip(),
        changed_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        facility_id=session.facility_id,
        obj=session,
        section="group session",
        changes={k: [before.get(k), after.get(k)] for k in after},
        reason=reason.strip(),
        detail={"change": kind},
    )
    return change


@transaction.atomic
def cancel_session(*, actor: User, session: Session, reason: str) -> Session:
    locked = _session_for_change(actor, session, reason)
    if locked.is_cancelled:
        raise ValidationError("This session is already cancelled.")
    if _has_attendance(locked):
        raise ValidationError(
            "Attendance is already recorded for this session; mark it 'Session cancelled' "
            "on the attendance screen instead."
        )
    locked.status = Session.Status.CANCELLED
    locked.save(update_fields=["status"])
    _log_change(
        actor,
        locked,
        SessionChange.Kind.CANCEL,
        {"status": "scheduled"},
        {"status": "cancelled"},
        reason,
    )
    return locked


@transaction.atomic
def restore_session(*, actor: User, session: Session, reason: str) -> Session:
    locked = _session_for_change(actor, session, reason)
    if not locked.is_cancelled:
        raise ValidationError("This session is not cancelled.")
    clash = _clashes(
        locked.facility,
        [Slot(locked.starts_at, locked.ends_at)],
        room=locked.room,
        staff=[locked.facilitator, locked.co_facilitator],
        exclude_sessions=[locked.pk],
    )
    if clash:
        raise ValidationError(clash, code="conflict")
    locked.status = Session.Status.SCHEDULED
    locked.save(update_fields=["status"])
    _log_change(
        actor,
        locked,
        SessionChange.Kind.RESTORE,
        {"status": "cancelled"},
        {"status": "scheduled"},
        reason,
    )
    return locked


@transaction.atomic
def move_session(
    *, actor: User, session: Session, day: dt.date, start: dt.time, reason: str
) -> Session:
    """Move one session to another day or time (same length); the rule is untouched."""
    locked = _session_for_change(actor, session, reason)
    if locked.is_cancelled:
        raise ValidationError("A cancelled session cannot move; undo the cancellation first.")
    if _has_attendance(locked):
        raise ValidationError("Attendance is already recorded for this session; it cannot move.")
    facility = locked.facility
    starts = rules.localize(day, start, facility.zone)
    ends = (starts.astimezone(dt.UTC) + dt.timedelta(minutes=locked.minutes)).astimezone(
        facility.zone
    )
    clash = _clashes(
        facility,
        [Slot(starts, ends)],
        room=locked.room,
        staff=[locked.facilitator, locked.co_facilitator],
        exclude_sessions=[locked.pk],
    )
    if clash:
        raise ValidationError(clash, code="conflict")
    before = {"starts_at": locked.starts_at.isoformat(), "service_date": str(locked.service_date)}
    locked.starts_at, locked.ends_at, locked.service_date = starts, ends, starts.date()
    locked.save(update_fields=["starts_at", "ends_at", "service_date"])
    after = {"starts_at": starts.isoformat(), "service_date": str(starts.date())}
    _log_change(actor, locked, SessionChange.Kind.MOVE, before, after, reason)
    return locked


@transaction.atomic
def substitute_facilitator(
    *, actor: User, session: Session, facilitator: User, reason: str
) -> Session:
    locked = _session_for_change(actor, session, reason)
    error = _facilitator_errors(locked.group, facilitator, locked.facility)
    if error:
        raise ValidationError({"facilitator": error})
    if facilitator.pk == locked.facilitator_id:
        raise ValidationError({"facilitator": "This person already runs the session."})
    clash = _clashes(
        locked.facility,
        [Slot(locked.starts_at, locked.ends_at)],
        room=None,
        staff=[facilitator],
        exclude_sessions=[locked.pk],
    )
    if clash:
        raise ValidationError({"facilitator": ValidationError(clash, code="conflict")})
    before = {"facilitator": locked.facilitator_id}
    locked.facilitator = facilitator
    locked.save(update_fields=["facilitator"])
    _log_change(
        actor,
        locked,
        SessionChange.Kind.SUBSTITUTE,
        before,
        {"facilitator": facilitator.pk},
        reason,
    )
    return locked


@transaction.atomic
def change_room(
    *, actor: User, session: Session, room: Room | None, telehealth: bool, reason: str
) -> Session:
    locked = _session_for_change(actor, session, reason)
    if room is None and not telehealth:
        raise ValidationError({"room": "Choose a room, or mark the session as telehealth."})
    if room is not None and (room.facility_id != locked.facility_id or not room.is_active):
        raise ValidationError({"room": "Choose a room of this facility."})
    if room is not None:
        clash = _clashes(
            locked.facility,
            [Slot(locked.starts_at, locked.ends_at)],
            room=room,
            staff=[],
            exclude_sessions=[locked.pk],
        )
        if clash:
            raise ValidationError({"room": ValidationError(clash, code="conflict")})
    before = {"room": locked.room_id, "telehealth": locked.telehealth}
    locked.room, locked.telehealth = room, telehealth
    locked.save(update_fields=["room", "telehealth"])
    after = {"room": getattr(room, "pk", None), "telehealth": telehealth}
    _log_change(actor, locked, SessionChange.Kind.ROOM, before, after, reason)
    return locked


@transaction.atomic
def set_topic(*, actor: User, session: Session, topic: str) -> Session:
    locked = _session_for_change(actor, session, "Topic of the session")
    topic = topic.strip()[:200]
    before = {"topic": locked.topic}
    locked.topic = topic
    locked.save(update_fields=["topic"])
    _log_change(
        actor, locked, SessionChange.Kind.TOPIC, before, {"topic": topic}, "Topic of the session"
    )
    return locked


# --- enrollment ----------------------------------------------------------------------------------


def person_of(patient: Patient) -> rules.Person:
    return rules.Person(
        gender_identity=patient.gender_identity,
        veteran_status=patient.veteran_status,
        lgbtq_opt_in=patient.lgbtq_group_opt_in,
        survivor_opt_in=patient.survivor_group_opt_in,
    )


@dataclass
class EnrollmentCheck:
    """What enrolling would mean: refusals, warnings and the week's planned hours."""

    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    enrolled_on_day: int = 0
    capacity: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def check_enrollment(
    episode: EpisodeOfCare, schedule: Schedule, start_date: dt.date | None
) -> EnrollmentCheck:
    """Eligibility (refused with the reason), capacity and clashes (refused), phase and
    track (warnings), for enrolling this episode on this schedule from this day."""
    return check_enrollments(episode, [schedule], start_date)[schedule.pk]


def check_enrollments(
    episode: EpisodeOfCare, schedules: Sequence[Schedule], start_date: dt.date | None
) -> dict[int, EnrollmentCheck]:
    """``check_enrollment`` for every group the patient could join, by schedule id, in a
    constant number of queries whatever the number of groups (the enroll page checks all
    of them). The schedules come with their group, its phases and their track loaded."""
    checks = {s.pk: EnrollmentCheck(capacity=s.group.capacity) for s in schedules}
    if not episode.is_open:
        for check in checks.values():
            check.errors["episode"] = "The patient is not in treatment (the episode is closed)."
        return checks
    if start_date is None:
        for check in checks.values():
            check.errors["start_date"] = "Say from which day the patient joins."
        return checks
    person = person_of(episode.patient)
    still_on = Q(end_date__isnull=True) | Q(end_date__gte=start_date)
    # Everyone on the roster that day, and everyone who joins later and stays.
    taken = dict(
        Enrollment.objects.filter(schedule_id__in=[s.pk for s in schedules])
        .filter(
            (Q(start_date__lte=start_date) & still_on)
            | Q(start_date__gt=start_date, end_date__isnull=True)
        )
        .values("schedule_id")
        .annotate(n=Count("pk"))
        .values_list("schedule_id", "n")
    )
    open_to_them: list[Schedule] = []
    for schedule in schedules:
        check = checks[schedule.pk]
        check.enrolled_on_day = taken.get(schedule.pk, 0)
        if schedule.group.program_id != episode.program_id:
            check.errors["schedule"] = "This group belongs to another program."
            continue
        if start_date < episode.admission_date:
            check.errors["start_date"] = "The patient cannot join before their admission date."
        if schedule.end_date and start_date > schedule.end_date:
            check.errors["start_date"] = "The group has stopped by then."
        reason = rules.eligibility_error(schedule.group.specialty, person)
        if reason:
            check.errors["schedule"] = reason
            continue
        open_to_them.append(schedule)
    if not open_to_them:
        return checks
    ids = [s.pk for s in open_to_them]
    on_roster = set(
        Enrollment.objects.filter(episode=episode, schedule_id__in=ids)
        .filter(still_on)
        .values_list("schedule_id", flat=True)
    )
    clashes = _enrollment_clashes(episode, open_to_them, start_date)
    for schedule in open_to_them:
        check = checks[schedule.pk]
        group = schedule.group
        if schedule.pk in on_roster:
            check.errors["schedule"] = "The patient is already on this group's roster."
            continue
        if check.enrolled_on_day >= group.capacity:
            people = "person" if group.capacity == 1 else "people"
            check.errors["schedule"] = (
                f"{group.name} is full ({group.capacity} {people}). Choose another time, or "
                "ask the clinical director to raise its capacity."
            )
        if schedule.pk in clashes:
            check.errors["schedule"] = clashes[schedule.pk]
        phases = list(group.phases.all())
        warning = rules.phase_warning(
            [p.pk for p in phases], episode.phase_id, " or ".join(p.name for p in phases)
        )
        if warning:
            check.warnings.append(warning)
        track = rules.track_warning(
            schedule.track.name if schedule.track else None,
            episode.track.name if episode.track else None,
        )
        if track:
            check.warnings.append(track)
    return checks


def _enrollment_clashes(
    episode: EpisodeOfCare, schedules: Sequence[Schedule], start: dt.date
) -> dict[int, str]:
    """By schedule id: a group of the patient's at the same time as one of that schedule's
    sessions in the four weeks from ``start`` (two queries for all the schedules)."""
    horizon = start + dt.timedelta(days=28)
    mine = list(
        Session.objects.filter(
            schedule__in=schedules, service_date__gte=start, service_date__lte=horizon
        ).exclude(status=Session.Status.CANCELLED)
    )
    if not mine:
        return {}
    theirs = Enrollment.objects.filter(episode=episode).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start)
    )
    others = list(
        Session.objects.filter(
            schedule__in=theirs.values("schedule_id"),
            starts_at__lt=max(s.ends_at for s in mine),
            ends_at__gt=min(s.starts_at for s in mine),
        )
        .exclude(status=Session.Status.CANCELLED)
        .select_related("group", "facility")
        .order_by("starts_at")
    )
    found: dict[int, str] = {}
    for s in mine:
        if s.schedule_id in found:
            continue
        for other in others:
            if other.schedule_id != s.schedule_id and rules.overlaps(
                (s.starts_at, s.ends_at), (other.starts_at, other.ends_at)
            ):
                found[s.schedule_id] = (
                    f"The patient is already in {other.group.name} at that time "
                    f"({_when(other.starts_at, other.facility)})."
                )
                break
    return found


@transaction.atomic
def enroll(
    *,
    actor: User,
    episode: EpisodeOfCare,
    schedule: Schedule,
    start_date: dt.date,
    override_reason: str = "",
) -> Enrollment:
    """Put the patient on a group's roster from a day. Refused with the reason when they
    may not join; a phase or track warning needs a reason to go ahead."""
    _need(actor, "scheduling.add_enrollment", "Only the clinical team enrolls patients.")
    _at_facility(actor, episode.facility_id)
    locked = (
        Schedule.objects.select_for_update(of=("self",))  # track is an outer join
        .select_related("group__program", "facility", "track")
        .get(pk=schedule.pk)
    )  # one enrollment at a time per group keeps capacity true
    check = check_enrollment(episode, locked, start_date)
    if check.errors:
        raise ValidationError(check.errors)
    override_reason = override_reason.strip()
    if check.warnings and len(override_reason) < 5:
        warning = " ".join(check.warnings) + " Say why the patient joins anyway."
        # The code goes on the field's error: a dict drops a code given beside it.
        raise ValidationError({"override_reason": ValidationError(warning, code="warning")})
    enrollment = Enrollment.objects.create(
        episode=episode,
        patient=episode.patient,
        schedule=locked,
        start_date=start_date,
        override_reason=override_reason if check.warnings else "",
        enrolled_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=episode.patient,
        obj=enrollment,
        section="group enrollment",
        changes={"schedule": [None, locked.pk], "start_date": [None, str(start_date)]},
        reason=enrollment.override_reason,
        detail={"warnings": check.warnings} if check.warnings else None,
    )
    return enrollment


@transaction.atomic
def end_enrollment(
    *, actor: User, enrollment: Enrollment, end_date: dt.date, reason: str
) -> Enrollment:
    _need(actor, "scheduling.add_enrollment", "Only the clinical team changes enrollments.")
    _at_facility(actor, enrollment.episode.facility_id)
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    errors: dict[str, str | None] = {}
    if len(reason.strip()) < 3:
        errors["reason"] = "Say why the patient leaves the group."
    if end_date < locked.start_date:
        errors["end_date"] = "The last day cannot be before the day they joined."
    if locked.end_date and end_date > locked.end_date:
        errors["end_date"] = "The enrollment already ends before that day."
    _raise(errors)
    before = locked.end_date
    locked.end_date, locked.end_reason = end_date, reason.strip()[:300]
    locked.save(update_fields=["end_date", "end_reason"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient_id,
        facility_id=enrollment.episode.facility_id,
        obj=locked,
        section="group enrollment",
        changes={"end_date": [plain(before), plain(end_date)]},
        reason=reason.strip(),
    )
    return locked


# --- appointments --------------------------------------------------------------------------------


@transaction.atomic
def book_appointment(
    *,
    actor: User,
    episode: EpisodeOfCare,
    kind: str,
    staff: User | None,
    day: dt.date | None,
    start: dt.time | None,
    minutes: int | None = None,
    room: Room | None = None,
    telehealth: bool = False,
    participants: Iterable[SupportContact] = (),
) -> Appointment:
    """An individual, family, case-management, medication or drug-testing appointment,
    the usual length for its kind when ``minutes`` is not given."""
    minutes = rules.appointment_minutes(kind, minutes)
    _need(actor, "scheduling.change_appointment", "Only the clinical team and the front desk book.")
    facility = episode.facility
    _at_facility(actor, facility.pk)
    people = list(participants)
    errors: dict[str, str | None] = {}
    if not episode.is_open:
        errors["episode"] = "The patient is not in treatment (the episode is closed)."
    if kind not in Appointment.Kind.values:
        errors["kind"] = "Choose the kind of appointment."
    if staff is None or not staff.is_active or not staff.facilities.filter(pk=facility.pk).exists():
        errors["staff"] = "Choose a staff member of this facility."
    if day is None:
        errors["day"] = "Choose the day."
    if start is None:
        errors["start"] = "Choose the time."
    if not 5 <= minutes <= 480:
        errors["minutes"] = "An appointment lasts between 5 minutes and 8 hours."
    if room is None and not telehealth:
        errors["room"] = "Choose a room, or mark it as telehealth."
    elif room is not None and (room.facility_id != facility.pk or not room.is_active):
        errors["room"] = "Choose a room of this facility."
    if any(p.patient_id != episode.patient_id for p in people):
        errors["participants"] = "Choose people from this patient's support system."
    elif people and kind != Appointment.Kind.FAMILY:
        errors["participants"] = "Support-system members take part in family sessions only."
    elif people and day is not None and (refused := family.consent_refusal(people, on=day)):
        # Their presence discloses the patient's treatment: a consent must name each one.
        errors["participants"] = refused
    _raise(errors)
    assert day is not None and start is not None and staff is not None  # noqa: S101
    starts = rules.localize(day, start, facility.zone)
    ends = (starts.astimezone(dt.UTC) + dt.timedelta(minutes=minutes)).astimezone(facility.zone)
    clash = _clashes(
        facility, [Slot(starts, ends)], room=room, staff=[staff], patient=episode.patient
    )
    if clash:
        raise ValidationError({"__all__": ValidationError(clash, code="conflict")})
    appointment = Appointment.objects.create(
        facility=facility,
        episode=episode,
        patient=episode.patient,
        kind=kind,
        staff=staff,
        starts_at=starts,
        ends_at=ends,
        service_date=starts.date(),
        room=room,
        telehealth=telehealth,
        created_by=actor,
    )
    if people:
        appointment.participants.set(people)
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=episode.patient,
        obj=appointment,
        section="appointment",
        changes={
            "kind": [None, kind],
            "staff": [None, staff.pk],
            "starts_at": [None, starts.isoformat()],
            "participants": [None, [p.pk for p in people]],
        },
    )
    return appointment


def _appointment_for_change(actor: User, appointment: Appointment) -> Appointment:
    _need(actor, "scheduling.change_appointment", "Only the clinical team and the front desk book.")
    _at_facility(actor, appointment.facility_id)
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("facility", "episode", "patient", "staff", "room")
        .get(pk=appointment.pk)
    )
    if locked.status != Appointment.Status.SCHEDULED:
        raise ValidationError(f"This appointment is already {locked.get_status_display().lower()}.")
    return locked


@transaction.atomic
def reschedule_appointment(
    *, actor: User, appointment: Appointment, day: dt.date, start: dt.time, reason: str
) -> Appointment:
    """A new appointment at the new time; the old one stays, marked rescheduled."""
    locked = _appointment_for_change(actor, appointment)
    if len(reason.strip()) < 3:
        raise ValidationError({"reason": "Say why it moves."})
    new = _rebook(actor, locked, day, start)
    locked.status = Appointment.Status.RESCHEDULED
    locked.status_reason = reason.strip()[:300]
    locked.rescheduled_to = new
    locked.save(update_fields=["status", "status_reason", "rescheduled_to"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section="appointment",
        changes={"status": ["scheduled", "rescheduled"], "rescheduled_to": [None, new.pk]},
        reason=reason.strip(),
    )
    return new


def _rebook(actor: User, old: Appointment, day: dt.date, start: dt.time) -> Appointment:
    facility = old.facility
    starts = rules.localize(day, start, facility.zone)
    ends = (starts.astimezone(dt.UTC) + dt.timedelta(minutes=old.minutes)).astimezone(facility.zone)
    clash = _clashes(
        facility,
        [Slot(starts, ends)],
        room=old.room,
        staff=[old.staff],
        patient=old.patient,
        exclude_appointment=old.pk,
    )
    if clash:
        raise ValidationError({"__all__": ValidationError(clash, code="conflict")})
    if refused := family.consent_refusal(list(old.participants.all()), on=starts.date()):
        raise ValidationError({"participants": refused})
    new = Appointment.objects.create(
        facility=facility,
        episode=old.episode,
        patient=old.patient,
        kind=old.kind,
        staff=old.staff,
        starts_at=starts,
        ends_at=ends,
        service_date=starts.date(),
        room=old.room,
        telehealth=old.telehealth,
        created_by=actor,
    )
    new.participants.set(old.participants.all())
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=old.patient,
        obj=new,
        section="appointment",
        changes={"starts_at": [old.starts_at.isoformat(), starts.isoformat()]},
        detail={"rescheduled_from": old.pk},
    )
    return new


@transaction.atomic
def cancel_appointment(*, actor: User, appointment: Appointment, reason: str) -> Appointment:
    locked = _appointment_for_change(actor, appointment)
    if len(reason.strip()) < 3:
        raise ValidationError({"reason": "Say why it is cancelled."})
    locked.status = Appointment.Status.CANCELLED
    locked.status_reason = reason.strip()[:300]
    locked.save(update_fields=["status", "status_reason"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section="appointment",
        changes={"status": ["scheduled", "cancelled"]},
        reason=reason.strip(),
    )
    return locked


@transaction.atomic
def close_appointment(
    *,
    actor: User,
    appointment: Appointment,
    status: str,
    arrived: dt.time | None = None,
    left: dt.time | None = None,
    minutes: int | None = None,
    note: str = "",
) -> Attendance:
    """Record how an appointment went: attended (present, late, left early) completes it;
    an unexcused absence is a no-show; an excused one cancels it. Counted in the dose."""
    _need(
        actor,
        "scheduling.change_attendance",
        "Only the clinical team and the front desk record attendance.",
    )
    locked = _appointment_for_change(actor, appointment)
    if timezone.now() < locked.starts_at:
        raise ValidationError("This appointment has not started yet; record it once it has.")
    if status not in (set(rules.COUNTED) | {"excused", "unexcused"}):
        raise ValidationError({"status": "Choose how the appointment went."})
    local_start = locked.starts_at.astimezone(locked.facility.zone).time()
    errors = rules.attendance_errors(
        status, minutes, session_minutes=locked.minutes, arrived=arrived, left=left
    )
    _raise(errors)
    counted = (
        minutes
        if minutes is not None
        else rules.minutes_attended(
            status,
            session_start=local_start,
            session_minutes=locked.minutes,
            arrived=arrived,
            left=left,
        )
    )
    attendance = Attendance.objects.create(
        appointment=locked,
        episode=locked.episode,
        patient=locked.patient,
        facility=locked.facility,
        service_date=locked.service_date,
        status=status,
        arrived_at=arrived,
        left_at=left,
        minutes=counted,
        telehealth=locked.telehealth,
        note=note.strip()[:300],
        recorded_by=actor,
    )
    locked.status = {
        "unexcused": Appointment.Status.NO_SHOW,
        "excused": Appointment.Status.CANCELLED,
    }.get(status, Appointment.Status.COMPLETED)
    locked.save(update_fields=["status"])
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=locked.patient,
        obj=attendance,
        section="attendance",
        changes={k: [None, v] for k, v in snapshot(attendance, ATTENDANCE_FIELDS).items()},
        detail={"appointment": locked.pk},
    )
    refresh_dose([(locked.episode_id, locked.patient_id, locked.facility_id, locked.service_date)])
    if status == "unexcused":
        check_unexcused_streaks([locked.episode], actor=actor)
    return attendance


# --- attendance ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One patient's line on a group's attendance screen."""

    patient_id: int
    status: str
    arrived_at: dt.time | None = None
    left_at: dt.time | None = None
    minutes: int | None = None  # None: the default for the status and times
    drop_in: bool = False
    telehealth: bool = False
    note: str = ""


class AttendanceRefused(ValidationError):
    """Attendance not saved; ``lines`` holds field messages per patient id."""

    def __init__(
        self,
        message: str,
        lines: Mapping[int, Mapping[str, str]] | None = None,
        code: str = "invalid",
    ) -> None:
        super().__init__(message, code=code)
        self.lines = {k: dict(v) for k, v in (lines or {}).items()}


@transaction.atomic
def save_group_attendance(
    *,
    actor: User,
    session: Session,
    lines: Sequence[Line],
    revision: int | None = None,
    topic: str | None = None,
) -> list[Attendance]:
    """Record a whole group at once: one transaction, all lines or none.

    ``revision`` is the session's attendance revision the screen was loaded with; if
    someone saved in between, nothing is saved and the screen says so.
    """
    _need(
        actor,
        "scheduling.change_attendance",
        "Only the clinical team and the front desk record attendance.",
    )
    _at_facility(actor, session.facility_id)
    locked = (
        Session.objects.select_for_update(of=("self",))
        .select_related("facility", "group")
        .get(pk=session.pk)
    )
    if revision is not None and revision != locked.attendance_revision:
        raise AttendanceRefused(STALE_MESSAGE, code="stale")
    if timezone.now() < locked.starts_at:
        raise AttendanceRefused(
            "This session has not started yet. Record attendance once it has begun."
        )
    by_patient: dict[int, Line] = {}
    for line in lines:
        if line.patient_id in by_patient:
            raise AttendanceRefused("A patient appears twice on this screen.")
        by_patient[line.patient_id] = line
    day = locked.service_date
    roster = {
        e.patient_id: e
        for e in Enrollment.objects.filter(schedule_id=locked.schedule_id, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .select_related("episode")
    }
    existing = {a.patient_id: a for a in Attendance.objects.filter(session=locked)}
    in_care = set(
        visible_patients(actor).filter(pk__in=list(by_patient)).values_list("pk", flat=True)
    )
    outside = [pid for pid in by_patient if pid not in roster and pid not in existing]
    drop_ins = {
        e.patient_id: e
        for e in EpisodeOfCare.objects.filter(
            patient_id__in=outside, facility_id=locked.facility_id, discharge_date__isnull=True
        ).select_related("patient")
    }
    errors: dict[int, dict[str, str]] = {}
    local_start = locked.starts_at.astimezone(locked.facility.zone).time()
    episodes: dict[int, int] = {}
    for pid, line in by_patient.items():
        problems = dict(
            rules.attendance_errors(
                line.status,
                line.minutes,
                session_minutes=locked.minutes,
                arrived=line.arrived_at,
                left=line.left_at,
            )
        )
        if line.status not in Attendance.Status.values:
            problems["status"] = "Choose whether the patient came."
        if locked.is_cancelled and line.status != Attendance.Status.CANCELLED:
            problems["status"] = "This session was cancelled; mark everyone 'Session cancelled'."
        if pid not in in_care:  # never said whether they are on the roster
            problems = {"patient": "Choose a patient in your care."}
        elif pid in roster:
            episodes[pid] = roster[pid].episode_id
        elif pid in existing:
            episodes[pid] = existing[pid].episode_id
        elif pid in drop_ins:
            drop = drop_ins[pid]
            reason = rules.eligibility_error(locked.group.specialty, person_of(drop.patient))
            if reason:
                problems["patient"] = reason
            episodes[pid] = drop.pk
        else:
            problems["patient"] = "This patient is not in treatment at this facility."
        if problems:
            errors[pid] = problems
    if errors:
        raise AttendanceRefused("Nothing was saved: fix the lines marked below.", errors)
    now = timezone.now()
    create: list[Attendance] = []
    update: list[Attendance] = []
    changed: set[str] = set()
    audit: list[dict[str, Any]] = []
    for pid, line in by_patient.items():
        minutes = (
            line.minutes
            if line.minutes is not None
            else rules.minutes_attended(
                line.status,
                session_start=local_start,
                session_minutes=locked.minutes,
                arrived=line.arrived_at,
                left=line.left_at,
            )
        )
        values = {
            "status": line.status,
            "arrived_at": line.arrived_at,
            "left_at": line.left_at,
            "minutes": minutes,
            "drop_in": pid not in roster,
            "telehealth": line.telehealth or locked.telehealth,
            "note": line.note.strip()[:300],
        }
        row = existing.get(pid)
        if row is None:
            row = Attendance(
                session=locked,
                episode_id=episodes[pid],
                patient_id=pid,
                facility_id=locked.facility_id,
                service_date=day,
                recorded_by=actor,
                recorded_at=now,
                **values,
            )
            create.append(row)
            audit.append(
                {
                    "actor": actor,
                    "action": AuditEvent.Action.CREATE,
                    "patient": pid,
                    "facility_id": locked.facility_id,
                    "obj": None,
                    "section": "attendance",
                    "changes": {k: [None, plain(v)] for k, v in values.items()},
                    "detail": {"session": locked.pk},
                }
            )
            continue
        before = {k: getattr(row, k) for k in values}
        changes = {k: [plain(before[k]), plain(v)] for k, v in values.items() if before[k] != v}
        if not changes:
            continue
        for k, v in values.items():
            setattr(row, k, v)
        row.recorded_by, row.recorded_at = actor, now
        update.append(row)
        changed.update(changes)
        audit.append(
            {
                "actor": actor,
                "action": AuditEvent.Action.UPDATE,
                "patient": pid,
                "facility_id": locked.facility_id,
                "obj": row,
                "section": "attendance correction",
                "changes": changes,
                "detail": {"session": locked.pk},
            }
        )
    if create:
        bulk_create_with_history(create, Attendance, default_user=actor)
    if update:
        # Only the columns some line changed: each is a CASE over the rows, and building
        # them is most of the cost of a save.
        bulk_update_with_history(
            update,
            Attendance,
            [*(f for f in ATTENDANCE_FIELDS if f in changed), "recorded_by", "recorded_at"],
            default_user=actor,
        )
    record_many(audit)
    locked.attendance_revision += 1
    locked.attendance_saved_at = now
    locked.attendance_saved_by = actor
    if topic is not None:
        locked.topic = topic.strip()[:200]
    locked.save(
        update_fields=["attendance_revision", "attendance_saved_at", "attendance_saved_by", "topic"]
    )
    refresh_dose([(episodes[pid], pid, locked.facility_id, day) for pid in by_patient])
    unexcused = [pid for pid, line in by_patient.items() if line.status == "unexcused"]
    if unexcused:
        check_unexcused_streaks(
            list(EpisodeOfCare.objects.filter(pk__in=[episodes[p] for p in unexcused])),
            actor=actor,
        )
    return [*create, *update]


@transaction.atomic
def correct_attendance(
    *, actor: User, attendance: Attendance, data: Mapping[str, Any], reason: str
) -> Attendance:
    """Correct one line of attendance after the fact, with the reason (audited; the
    previous values stay in its history)."""
    _need(
        actor,
        "scheduling.change_attendance",
        "Only the clinical team and the front desk record attendance.",
    )
    _at_facility(actor, attendance.facility_id)
    if len(reason.strip()) < 3:
        raise ValidationError({"reason": "Say why the attendance is corrected."})
    locked = (
        Attendance.objects.select_for_update(of=("self",))
        .select_related("session", "appointment", "facility")
        .get(pk=attendance.pk)
    )
    source = locked.session or locked.appointment
    assert source is not None  # noqa: S101 - a check constraint keeps one of them
    status = data.get("status", locked.status)
    arrived = data.get("arrived_at", locked.arrived_at)
    left = data.get("left_at", locked.left_at)
    minutes = data.get("minutes")
    errors = rules.attendance_errors(
        status, minutes, session_minutes=source.minutes, arrived=arrived, left=left
    )
    if status not in Attendance.Status.values:
        errors["status"] = "Choose whether the patient came."
    _raise(errors)
    if minutes is None:
        local_start = source.starts_at.astimezone(locked.facility.zone).time()
        minutes = rules.minutes_attended(
            status,
            session_start=local_start,
            session_minutes=source.minutes,
            arrived=arrived,
            left=left,
        )
    before = snapshot(locked, ATTENDANCE_FIELDS)
    locked.status, locked.arrived_at, locked.left_at, locked.minutes = (
        status,
        arrived,
        left,
        minutes,
    )
    if "note" in data:
        locked.note = str(data["note"]).strip()[:300]
    locked.recorded_by, locked.recorded_at = actor, timezone.now()
    locked._change_reason = reason.strip()  # type: ignore[attr-defined]  # simple_history
    locked.save()
    if locked.session_id:
        Session.objects.filter(pk=locked.session_id).update(
            attendance_revision=F("attendance_revision") + 1
        )
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient_id,
        facility_id=locked.facility_id,
        obj=locked,
        section="attendance correction",
        changes=diff(before, snapshot(locked, ATTENDANCE_FIELDS)),
        reason=reason.strip(),
    )
    refresh_dose([(locked.episode_id, locked.patient_id, locked.facility_id, locked.service_date)])
    return locked


# --- the daily dose ------------------------------------------------------------------------------


def refresh_dose(days: Iterable[tuple[int, int, int, dt.date]]) -> int:
    """Add up the minutes attended for these (episode, patient, facility, day)s in the
    database and keep DoseDay in step; called inside the attendance transaction."""
    wanted = {(e, d): (p, f) for e, p, f, d in days}
    if not wanted:
        return 0
    by_day: dict[dt.date, set[int]] = defaultdict(set)
    for e, d in wanted:
        by_day[d].add(e)
    match = Q(pk__in=[])
    for d, eps in by_day.items():
        match |= Q(service_date=d, episode_id__in=sorted(eps))
    sums = {
        (row["episode_id"], row["service_date"]): row["total"]
        for row in Attendance.objects.filter(match)
        .values("episode_id", "service_date")
        .annotate(total=Sum("minutes"))
        .order_by()
    }
    rows = [
        DoseDay(
            episode_id=e,
            patient_id=p,
            facility_id=f,
            date=d,
            week_start=rules.week_start(d),
            minutes=sums.get((e, d)) or 0,
        )
        for (e, d), (p, f) in wanted.items()
    ]
    DoseDay.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["episode", "date"],
        update_fields=["minutes"],
    )
    return len(rows)


# --- alerts --------------------------------------------------------------------------------------


def check_unexcused_streaks(episodes: Sequence[EpisodeOfCare], *, actor: User | None) -> int:
    """Two unexcused absences in a row alert the primary clinician. While that alert is
    open nothing more is raised; once it is acknowledged, only a NEW unexcused absence that
    keeps the streak going alerts again (a correction elsewhere in the history does not)."""
    if not episodes:
        return 0
    ids = [e.pk for e in episodes]
    recent: dict[int, list[str]] = defaultdict(list)
    last_id: dict[int, int] = {}  # the latest unexcused absence of each episode
    # The last 10 rows of EACH episode (a window per episode): a slice over all of them
    # let one patient's long history crowd the others out of the same group save.
    for row in (
        Attendance.objects.filter(episode_id__in=ids)
        .annotate(
            n=Window(
                RowNumber(),
                partition_by=[F("episode_id")],
                order_by=[F("service_date").desc(), F("id").desc()],
            )
        )
        .filter(n__lte=10)
        .order_by("episode_id", "-service_date", "-id")
        .values("episode_id", "status", "id")
    ):
        if len(recent[row["episode_id"]]) < 10:
            recent[row["episode_id"]].append(row["status"])
            if row["status"] == Attendance.Status.UNEXCUSED:
                last_id.setdefault(row["episode_id"], row["id"])
    open_alerts: set[int] = set()
    alerted: set[str] = set()  # absences an alert was already raised for
    for patient_id, source_id, acknowledged in ClinicalAlert.objects.filter(
        Q(acknowledged_at__isnull=True) | Q(source_id__in=[str(i) for i in last_id.values()]),
        source_type=UNEXCUSED_SOURCE,
        patient_id__in=[e.patient_id for e in episodes],
    ).values_list("patient_id", "source_id", "acknowledged_at"):
        alerted.add(source_id)
        if acknowledged is None:
            open_alerts.add(patient_id)
    raised = 0
    for episode in EpisodeOfCare.objects.filter(pk__in=ids).select_related(
        "patient__facility", "primary_clinician"
    ):
        streak = rules.unexcused_streak(recent[episode.pk])
        if (
            streak < rules.UNEXCUSED_IN_A_ROW
            or episode.patient_id in open_alerts
            or str(last_id[episode.pk]) in alerted
        ):
            continue
        raise_alert(
            patient=episode.patient,
            kind=ClinicalAlert.Kind.ATTENDANCE,
            severity=ClinicalAlert.Severity.WARNING,
            message=f"{streak} unexcused absences in a row.",
            next_step="Reach out to the patient today and review barriers to attending.",
            source_type=UNEXCUSED_SOURCE,
            source_id=str(last_id[episode.pk]),
            raised_by=actor,
            recipients=[episode.primary_clinician],
        )
        raised += 1
    return raised


def check_week(*, week: dt.date) -> int:
    """After a week ends: every episode open all that week whose attended dose is below
    the program's minimum alerts its primary clinician (once per week)."""
    from openiop.scheduling import selectors  # reads stay in selectors

    monday = rules.week_start(week)
    raised = 0
    suffix = f":{monday.isoformat()}"
    done = set(
        ClinicalAlert.objects.filter(
            source_type=WEEK_SOURCE, source_id__endswith=suffix
        ).values_list("source_id", flat=True)
    )
    in_care = EpisodeOfCare.objects.filter(admission_date__lte=monday).filter(
        Q(discharge_date__isnull=True) | Q(discharge_date__gte=monday + dt.timedelta(days=6))
    )
    below = selectors.with_status(selectors.week_dose(in_care, monday), rules.WeekStatus.BELOW)
    for row in selectors.as_week_rows(selectors.for_showing(below), monday):
        source_id = f"{row.episode.pk}{suffix}"
        if source_id in done:
            continue
        raise_alert(
            patient=row.episode.patient,
            kind=ClinicalAlert.Kind.ATTENDANCE,
            severity=ClinicalAlert.Severity.WARNING,
            message=(
                f"Week of {monday:%b %-d} below the program minimum: {row.hours_text} h over "
                f"{row.service_days} service day{'s' if row.service_days != 1 else ''} "
                f"(needs {row.shortfall})."
            ),
            next_step="Review the schedule with the patient and the treatment plan's intensity.",
            source_type=WEEK_SOURCE,
            source_id=source_id,
            recipients=[row.episode.primary_clinician],
        )
        raised += 1
    return raised


# --- calendar feeds ------------------------------------------------------------------------------


@transaction.atomic
def create_feed(
    *, actor: User, patient: Patient | None = None, staff: User | None = None, label: str = ""
) -> tuple[CalendarFeed, str]:
    """A private calendar address; the token is returned once and only its hash is kept."""
    if (patient is None) == (staff is None):
        raise ValidationError("A calendar feed is for one patient or one staff member.")
    if staff is not None and staff.pk != actor.pk:
        raise PermissionDenied("You can only make a calendar feed of your own schedule.")
    if patient is not None:
        _need(
            actor,
            "scheduling.change_appointment",
            "Only the clinical team and the front desk do this.",
        )
        _at_facility(actor, patient.facility_id)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        token_hash=CalendarFeed.hash(token),
        patient=patient,
        staff=staff,
        label=label.strip()[:100],
        created_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        facility_id=patient.facility_id if patient else None,
        obj=feed,
        section="calendar feed",
    )
    return feed, token


@transaction.atomic
def revoke_feed(*, actor: User, feed: CalendarFeed) -> CalendarFeed:
    if feed.staff_id is not None and feed.staff_id != actor.pk:
        raise PermissionDenied("You can only stop your own calendar feed.")
    if feed.patient_id is not None:
        _need(
            actor,
            "scheduling.change_appointment",
            "Only the clinical team and the front desk do this.",
        )
        _at_facility(
            actor, Patient.objects.values_list("facility_id", flat=True).get(pk=feed.patient_id)
        )
    locked = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at, locked.revoked_by = timezone.now(), actor
    locked.save(update_fields=["revoked_at", "revoked_by"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient_id,
        obj=locked,
        section="calendar feed",
        changes={"revoked": [False, True]},
    )
    return locked


def feed_link(token: str) -> str:
    return reverse("scheduling:feed", args=[token])


@transaction.atomic
def record_feed_use(*, feed: CalendarFeed, events: int) -> CalendarFeed:
    """A calendar app fetched a feed: note when, and put the fetch in the audit trail.
    Nobody is signed in (the token is the only key), so the actor is the system."""
    now = timezone.now()
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    feed.last_used_at = now
    record(
        actor=None,
        action=AuditEvent.Action.VIEW,
        patient=feed.patient_id,
        facility_id=feed.patient.facility_id if feed.patient is not None else None,
        obj=feed,
        section="calendar feed",
        detail={"feed": "patient" if feed.patient_id else "staff", "events": events},
    )
    return feed
