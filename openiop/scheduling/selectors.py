"""Reads of the IOP week. Patient reads are scoped to what the user may see; dose figures
are added up by the database (DoseDay, one GROUP BY), never row by row in Python."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from openiop.accounts.models import Facility, Track, User
from openiop.accounts.rules import DoseRules
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient, SupportContact
from openiop.patients.selectors import visible_patients
from openiop.plans.models import PlanVersion
from openiop.scheduling import rules
from openiop.scheduling.models import (
    Appointment,
    Attendance,
    CalendarFeed,
    DoseDay,
    Enrollment,
    GroupType,
    Room,
    Schedule,
    Session,
)

NIGHT_FROM = dt.time(16, 0)  # a session without a track that starts at 4 pm or later is "night"


def require(user: User, permission: str, message: str) -> None:
    if not user.can(permission):
        raise PermissionDenied(message)


def today_at(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def week_bounds(facility: Facility, monday: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The aware instants that open and close a local Monday–Sunday week."""
    start = rules.localize(monday, dt.time(0, 0), facility.zone)
    end = rules.localize(monday + dt.timedelta(days=7), dt.time(0, 0), facility.zone)
    return start, end


def day_bounds(facility: Facility, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = rules.localize(day, dt.time(0, 0), facility.zone)
    end = rules.localize(day + dt.timedelta(days=1), dt.time(0, 0), facility.zone)
    return start, end


# --- catalog -------------------------------------------------------------------------------------


def group_types(facility: Facility) -> QuerySet[GroupType]:
    return (
        GroupType.objects.filter(program__facility=facility)
        .select_related("program")
        .prefetch_related("phases", "topics")
        .annotate(
            running=Count(
                "schedules",
                filter=Q(schedules__end_date__isnull=True)
                | Q(schedules__end_date__gte=today_at(facility)),
                distinct=True,
            )
        )
        .order_by("program__name", "-is_active", "name")
    )


def rooms(facility: Facility) -> QuerySet[Room]:
    return Room.objects.filter(facility=facility).order_by("-is_active", "name")


def schedules(facility: Facility, *, running_on: dt.date | None = None) -> QuerySet[Schedule]:
    qs = Schedule.objects.filter(facility=facility).select_related(
        "group__program", "track", "room", "facilitator", "co_facilitator"
    )
    if running_on is not None:
        qs = qs.filter(Q(end_date__isnull=True) | Q(end_date__gte=running_on))
    return qs.annotate(
        on_roster=Count(
            "enrollments",
            filter=Q(enrollments__start_date__lte=running_on or dt.date.max)
            & (
                Q(enrollments__end_date__isnull=True)
                | Q(enrollments__end_date__gte=running_on or dt.date.min)
            ),
            distinct=True,
        )
    ).order_by("group__name", "start_time", "pk")


# --- calendars -----------------------------------------------------------------------------------


def lane_of(track: Track | None, local_start: dt.time) -> str:
    if track is not None:
        return "night" if track.kind == Track.Kind.EVENING else "day"
    return "night" if local_start >= NIGHT_FROM else "day"


@dataclass
class Entry:
    """One thing on a calendar: a group session or an appointment."""

    kind: str  # "session" or "appointment"
    starts_at: dt.datetime
    ends_at: dt.datetime
    title: str
    where: str
    who: str
    lane: str
    cancelled: bool = False
    session: Session | None = None
    appointment: Appointment | None = None
    detail: str = ""


@dataclass
class Day:
    date: dt.date
    day: list[Entry] = field(default_factory=list)
    night: list[Entry] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.day and not self.night


def _where(room: Room | None, telehealth: bool) -> str:
    if telehealth and room is None:
        return "Telehealth"
    if telehealth:
        return f"{room} + telehealth"
    return str(room) if room else ""


def _session_entry(s: Session, zone: object) -> Entry:
    local = s.starts_at.astimezone(zone)  # type: ignore[arg-type]
    who = s.facilitator.display_name
    if s.co_facilitator_id:
        who += f" with {s.co_facilitator.display_name}"  # type: ignore[union-attr]
    count = getattr(s, "on_roster", None)
    return Entry(
        kind="session",
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        title=s.group.name,
        where=_where(s.room, s.telehealth),
        who=who,
        lane=lane_of(s.track, local.time()),
        cancelled=s.is_cancelled,
        session=s,
        detail=f"{count} on the roster" if count is not None else "",
    )


def _appointment_entry(a: Appointment, zone: object, *, named: bool) -> Entry:
    local = a.starts_at.astimezone(zone)  # type: ignore[arg-type]
    title = a.get_kind_display()
    if named:
        title += f" — {a.patient.display_name}"
    return Entry(
        kind="appointment",
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        title=title,
        where=_where(a.room, a.telehealth),
        who=a.staff.display_name,
        lane=lane_of(None, local.time()),
        cancelled=a.status in (Appointment.Status.CANCELLED, Appointment.Status.RESCHEDULED),
        appointment=a,
        detail=a.get_status_display(),
    )


def _sessions_between(start: dt.datetime, end: dt.datetime) -> QuerySet[Session]:
    return (
        Session.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("group", "room", "track", "facilitator", "co_facilitator")
        .order_by("starts_at", "pk")
    )


def _appointments_between(
    user: User, start: dt.datetime, end: dt.datetime
) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("patient", "staff", "room")
        .annotate(named=Exists(visible_patients(user).filter(pk=OuterRef("patient_id"))))
        .order_by("starts_at", "pk")
    )


def _days(monday: dt.date, count: int) -> list[Day]:
    return [Day(monday + dt.timedelta(days=n)) for n in range(count)]


def _place(days: list[Day], entries: list[Entry], zone: object) -> list[Day]:
    by_date = {d.date: d for d in days}
    for e in sorted(entries, key=lambda e: e.starts_at):
        day = by_date.get(e.starts_at.astimezone(zone).date())  # type: ignore[arg-type]
        if day is not None:
            (day.night if e.lane == "night" else day.day).append(e)
    return days


def facility_week(user: User, facility: Facility, monday: dt.date) -> list[Day]:
    """The facility's week, day and night lanes: every group session, and the
    appointments (with the patient's name only where the user may see the patient)."""
    require(user, "scheduling.view_schedule", "The calendar is for the program's staff.")
    day_of = rules.week_start(monday)  # any day of the week may be asked for
    start, end = week_bounds(facility, day_of)
    sessions = _sessions_between(start, end).filter(facility=facility)
    sessions = sessions.annotate(
        on_roster=Count(
            "schedule__enrollments",
            filter=Q(schedule__enrollments__start_date__lte=F("service_date"))
            & (
                Q(schedule__enrollments__end_date__isnull=True)
                | Q(schedule__enrollments__end_date__gte=F("service_date"))
            ),
        )
    )
    appointments = _appointments_between(user, start, end).filter(facility=facility)
    zone = facility.zone
    entries = [_session_entry(s, zone) for s in sessions]
    entries += [_appointment_entry(a, zone, named=a.named) for a in appointments]  # type: ignore[attr-defined]
    return _place(_days(day_of, 7), entries, zone)


def staff_day(user: User, staff: User, facility: Facility, day: dt.date) -> list[Entry]:
    """A clinician's day: the groups they run and their appointments, in order."""
    require(user, "scheduling.view_schedule", "The calendar is for the program's staff.")
    start, end = day_bounds(facility, day)
    sessions = (
        _sessions_between(start, end)
        .filter(facility=facility)
        .filter(Q(facilitator=staff) | Q(co_facilitator=staff))
        .annotate(
            on_roster=Count(
                "schedule__enrollments",
                filter=Q(schedule__enrollments__start_date__lte=F("service_date"))
                & (
                    Q(schedule__enrollments__end_date__isnull=True)
                    | Q(schedule__enrollments__end_date__gte=F("service_date"))
                ),
                distinct=True,  # two joins: without it each count multiplies the other
            ),
            recorded=Count("attendance", distinct=True),
        )
    )
    appointments = _appointments_between(user, start, end).filter(facility=facility, staff=staff)
    zone = facility.zone
    entries = [_session_entry(s, zone) for s in sessions]
    entries += [_appointment_entry(a, zone, named=a.named) for a in appointments]  # type: ignore[attr-defined]
    return sorted(entries, key=lambda e: e.starts_at)


@dataclass
class PatientItem:
    entry: Entry
    attendance: Attendance | None


def patient_week(patient: Patient, monday: dt.date) -> list[PatientItem]:
    """A patient's week: the sessions of their groups, their appointments and how they
    attended each. The caller has opened the chart (chart_access, audited)."""
    monday = rules.week_start(monday)
    facility = patient.facility
    start, end = week_bounds(facility, monday)
    sunday = monday + dt.timedelta(days=6)
    enrolled = Enrollment.objects.filter(patient=patient, start_date__lte=sunday).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=monday)
    )
    attended = {
        (a.session_id, a.appointment_id): a
        for a in Attendance.objects.filter(
            patient=patient, service_date__gte=monday, service_date__lte=sunday
        )
    }
    windows = list(enrolled.values_list("schedule_id", "start_date", "end_date"))
    sessions = _sessions_between(start, end).filter(
        Q(schedule_id__in=[w[0] for w in windows]) | Q(pk__in=[k[0] for k in attended if k[0]])
    )
    appointments = (
        Appointment.objects.filter(patient=patient, starts_at__gte=start, starts_at__lt=end)
        .select_related("staff", "room")
        .order_by("starts_at")
    )
    zone = facility.zone
    items: list[PatientItem] = []
    for s in sessions:
        on_roster = any(
            sid == s.schedule_id
            and first <= s.service_date
            and (last is None or s.service_date <= last)
            for sid, first, last in windows
        )
        row = attended.get((s.pk, None))
        if on_roster or row is not None:
            items.append(PatientItem(_session_entry(s, zone), row))
    for a in appointments:
        items.append(
            PatientItem(_appointment_entry(a, zone, named=False), attended.get((None, a.pk)))
        )
    return sorted(items, key=lambda i: i.entry.starts_at)


def upcoming_for_patient(patient: Patient, *, start: dt.datetime, end: dt.datetime) -> list[Entry]:
    """Sessions of the patient's groups and their appointments in a window (ICS feed)."""
    enrolled = list(
        Enrollment.objects.filter(patient=patient).values_list(
            "schedule_id", "start_date", "end_date"
        )
    )
    sessions = _sessions_between(start, end).filter(schedule_id__in=[w[0] for w in enrolled])
    zone = patient.facility.zone
    out = [
        _session_entry(s, zone)
        for s in sessions
        if any(
            sid == s.schedule_id and a <= s.service_date and (b is None or s.service_date <= b)
            for sid, a, b in enrolled
        )
    ]
    out += [
        _appointment_entry(a, zone, named=False)
        for a in Appointment.objects.filter(
            patient=patient, starts_at__gte=start, starts_at__lt=end
        ).select_related("staff", "room")
    ]
    return sorted(out, key=lambda e: e.starts_at)


def upcoming_for_staff(staff: User, *, start: dt.datetime, end: dt.datetime) -> list[Entry]:
    """The staff member's groups and appointments in a window (ICS feed), each placed in
    the day or night lane by its own facility's local time (staff may work at several)."""
    sessions = (
        _sessions_between(start, end)
        .filter(Q(facilitator=staff) | Q(co_facilitator=staff))
        .select_related("facility")
    )
    appointments = (
        Appointment.objects.filter(staff=staff, starts_at__gte=start, starts_at__lt=end)
        .select_related("patient", "staff", "room", "facility")
        .order_by("starts_at")
    )
    out = [_session_entry(s, s.facility.zone) for s in sessions]
    out += [_appointment_entry(a, a.facility.zone, named=False) for a in appointments]
    return sorted(out, key=lambda e: e.starts_at)


def feed_by_token(token: str) -> CalendarFeed | None:
    """The live feed of a token; a staff member's link dies with their account."""
    return (
        CalendarFeed.objects.filter(token_hash=CalendarFeed.hash(token), revoked_at__isnull=True)
        .filter(Q(staff__isnull=True) | Q(staff__is_active=True))
        .select_related("patient__facility", "staff")
        .first()
    )


def feeds_of(
    *, patient: Patient | None = None, staff: User | None = None
) -> QuerySet[CalendarFeed]:
    qs = CalendarFeed.objects.select_related("created_by", "revoked_by")
    if patient is not None:
        return qs.filter(patient=patient)
    return qs.filter(staff=staff)


# --- rosters -------------------------------------------------------------------------------------


@dataclass
class RosterRow:
    patient: Patient
    episode_id: int
    enrolled: bool
    attendance: Attendance | None


def session_for(user: User, facility_ids: list[int], pk: int) -> Session | None:
    return (
        Session.objects.filter(pk=pk, facility_id__in=facility_ids)
        .select_related(
            "group__program",
            "facility",
            "room",
            "track",
            "facilitator",
            "co_facilitator",
            "schedule",
            "attendance_saved_by",
        )
        .prefetch_related("changes__changed_by")
        .first()
    )


@dataclass
class Roster:
    rows: list[RosterRow]
    not_shown: int  # on the roster or recorded, but not patients the user may see


def roster(user: User, session: Session) -> Roster:
    """Who is expected (enrolled that day) and who came (attendance, drop-ins included),
    only the patients the user may see, in a constant number of queries; how many others
    there are is counted, never named."""
    day = session.service_date
    mine = Exists(visible_patients(user).filter(pk=OuterRef("patient_id")))
    enrolled = (
        Enrollment.objects.filter(schedule_id=session.schedule_id, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .annotate(mine=mine)
        .select_related("patient")
    )
    attendance = {
        a.patient_id: a
        for a in Attendance.objects.filter(session=session)
        .annotate(mine=mine)
        .select_related("patient", "recorded_by")
    }
    rows: list[RosterRow] = []
    hidden = 0
    for e in enrolled:
        saved = attendance.pop(e.patient_id, None)
        if e.mine:
            rows.append(RosterRow(e.patient, e.episode_id, True, saved))
        else:
            hidden += 1
    for a in attendance.values():
        if a.mine:
            rows.append(RosterRow(a.patient, a.episode_id, False, a))
        else:
            hidden += 1
    rows.sort(key=lambda r: (r.patient.last_name, r.patient.first_name, r.patient.pk))
    return Roster(rows, hidden)


def drop_in_candidates(user: User, session: Session, term: str) -> QuerySet[Patient]:
    """Patients in treatment at the session's facility the user may see, by name or MRN."""
    term = term.strip()
    qs = visible_patients(user).filter(
        facility_id=session.facility_id,
        episodes__discharge_date__isnull=True,
    )
    if term:
        qs = qs.filter(
            Q(last_name__istartswith=term) | Q(first_name__istartswith=term) | Q(mrn__iexact=term)
        )
    return qs.distinct().order_by("last_name", "first_name")[:10]


# --- dose ----------------------------------------------------------------------------------------


@dataclass
class WeekRow:
    episode: EpisodeOfCare
    week: dt.date
    minutes: int
    service_days: int

    @property
    def dose_rules(self) -> DoseRules:
        return self.episode.program.dose_rules()

    @property
    def hours(self) -> Decimal:
        return rules.hours(self.minutes)

    @property
    def hours_text(self) -> str:
        return rules.hours_text(self.hours)

    @property
    def status(self) -> rules.WeekStatus:
        return rules.week_status(self.hours, self.service_days, self.dose_rules)

    @property
    def shortfall(self) -> str:
        return rules.week_shortfall(self.hours, self.service_days, self.dose_rules)


# A weekly row names the patient (display name, MRN) and nothing else of theirs: the rest
# of the record is not read (minimum necessary, and most of the cost of 500 rows).
_PATIENT_SHOWN = {"id", "facility", "first_name", "preferred_name", "last_name", "mrn"}
_PATIENT_UNUSED = [
    f.name
    for f in Patient._meta.concrete_fields
    if f.name not in _PATIENT_SHOWN and not f.primary_key
]


# Program hours are decimals with two places; an hour in minutes compared with a tolerance
# far below 0.6 minute keeps SQLite's floating point on the same side as the rule.
_TOLERANCE = Value(Decimal("0.001"))


def week_dose(episodes: QuerySet[EpisodeOfCare], monday: dt.date) -> QuerySet[EpisodeOfCare]:
    """The episodes with ``week_minutes``, ``week_days`` (service days) and ``week_status``
    for the week that holds ``monday``, all worked out by the database: one GROUP BY over
    the week's DoseDay rows, joined on (episode, week_start) — the index — so the cost does
    not grow with anyone's history. The status is ``rules.week_status`` written in SQL, so
    a report can count and filter by it without reading every row."""
    monday = rules.week_start(monday)
    minute = Value(rules.MINUTE)
    return (
        episodes.annotate(
            week=FilteredRelation("dose_days", condition=Q(dose_days__week_start=monday))
        )
        .annotate(
            week_minutes=Coalesce(Sum("week__minutes"), 0),
            week_days=Count(
                "week", filter=Q(week__minutes__gte=F("program__min_hours_per_day") * minute)
            ),
        )
        .annotate(
            week_status=Case(
                When(
                    Q(program__max_hours_per_week__isnull=False)
                    & Q(week_minutes__gt=F("program__max_hours_per_week") * minute + _TOLERANCE),
                    then=Value(rules.WeekStatus.ABOVE.value),
                ),
                When(
                    Q(week_days__gte=F("program__min_days_per_week"))
                    & Q(week_minutes__gte=F("program__min_hours_per_week") * minute - _TOLERANCE),
                    then=Value(rules.WeekStatus.MEETS.value),
                ),
                default=Value(rules.WeekStatus.BELOW.value),
                output_field=CharField(),
            )
        )
    )


def with_status(week: QuerySet[EpisodeOfCare], status: str) -> QuerySet[EpisodeOfCare]:
    """Only the ``week_dose`` episodes whose week has this status (a WHERE in SQL)."""
    return week.filter(**{"week_status": status})


def for_showing(week: QuerySet[EpisodeOfCare]) -> QuerySet[EpisodeOfCare]:
    """``week_dose`` episodes ready to show, by patient name: the patient's name and MRN
    joined; the few programs, tracks, phases and clinicians read once each (prefetch)
    rather than joined and built again on every row."""
    return (
        week.select_related("patient")
        .defer(*(f"patient__{name}" for name in _PATIENT_UNUSED))
        .prefetch_related("program", "primary_clinician", "track", "phase")
        .order_by("patient__last_name", "patient__first_name", "pk")
    )


def as_week_rows(episodes: Iterable[EpisodeOfCare], monday: dt.date) -> list[WeekRow]:
    monday = rules.week_start(monday)
    return [WeekRow(e, monday, e.week_minutes, e.week_days) for e in episodes]  # type: ignore[attr-defined]


def week_dose_rows(episodes: QuerySet[EpisodeOfCare], monday: dt.date) -> list[WeekRow]:
    """Hours, service days and status of each episode in the week: one query (and one
    per related table, whatever the number of rows)."""
    return as_week_rows(for_showing(week_dose(episodes, monday)), monday)


def week_counts(episodes: QuerySet[EpisodeOfCare]) -> dict[str, int]:
    """How many ``week_dose`` episodes meet, are below or above, and in all: one query."""
    return episodes.aggregate(
        total=Count("pk"),
        **{
            status.value: Count("pk", filter=Q(week_status=status.value))
            for status in rules.WeekStatus
        },
    )


def _in_care_during(user: User, facility: Facility, monday: dt.date) -> QuerySet[EpisodeOfCare]:
    """Every episode of the facility open during the week, for the patients the user may
    see."""
    require(user, "scheduling.view_dose", "Dose figures are for the clinical team and billing.")
    sunday = monday + dt.timedelta(days=6)
    return EpisodeOfCare.objects.filter(
        facility=facility,
        admission_date__lte=sunday,
        patient__in=visible_patients(user).values("pk"),
    ).filter(Q(discharge_date__isnull=True) | Q(discharge_date__gte=monday))


def facility_week_query(user: User, facility: Facility, monday: dt.date) -> QuerySet[EpisodeOfCare]:
    """The facility's weekly dose report as a query (count, filter and page it): every
    episode in care during the week that the user may see, with its ``week_dose``."""
    monday = rules.week_start(monday)
    return week_dose(_in_care_during(user, facility, monday), monday)


def facility_week_dose(user: User, facility: Facility, monday: dt.date) -> list[WeekRow]:
    """Every row of the facility's weekly dose report (exports; pages take a page)."""
    monday = rules.week_start(monday)
    return week_dose_rows(_in_care_during(user, facility, monday), monday)


@dataclass
class DayDose:
    date: dt.date
    minutes: int
    service_day: bool

    @property
    def text(self) -> str:
        return rules.minutes_text(self.minutes) if self.minutes else "—"


def episode_for_week(
    patient: Patient, monday: dt.date, *, wanted: int | None = None
) -> EpisodeOfCare | None:
    """The episode asked for (``wanted``, one of the patient's), else the one in care during
    the week (the latest admitted), else the patient's latest; None if there is none."""
    episodes = EpisodeOfCare.objects.filter(patient=patient).select_related("program")
    if wanted:
        return episodes.filter(pk=wanted).first()
    sunday = monday + dt.timedelta(days=6)
    return (
        episodes.filter(admission_date__lte=sunday)
        .filter(Q(discharge_date__isnull=True) | Q(discharge_date__gte=monday))
        .order_by("-admission_date")
        .first()
    ) or episodes.order_by("-admission_date").first()


def episode_week(episode: EpisodeOfCare, monday: dt.date) -> tuple[list[DayDose], WeekRow]:
    """The seven days of one week for one episode, and the week's status."""
    monday = rules.week_start(monday)
    dose_rules = episode.program.dose_rules()
    minutes = dict(
        DoseDay.objects.filter(episode=episode, week_start=monday).values_list("date", "minutes")
    )
    days = []
    for n in range(7):
        day = monday + dt.timedelta(days=n)
        m = minutes.get(day, 0)
        days.append(DayDose(day, m, rules.is_service_day(m, dose_rules)))
    total = DoseDay.objects.filter(episode=episode, week_start=monday).aggregate(
        m=Coalesce(Sum("minutes"), 0),
        d=Count("pk", filter=Q(minutes__gte=rules.service_day_minutes(dose_rules))),
    )
    return days, WeekRow(episode, monday, total["m"], total["d"])


def episode_weeks(episode: EpisodeOfCare, *, limit: int = 16) -> list[WeekRow]:
    """The episode's most recent weeks with attendance, newest first, grouped in SQL."""
    threshold = rules.service_day_minutes(episode.program.dose_rules())
    rows = (
        DoseDay.objects.filter(episode=episode)
        .values("week_start")
        .annotate(m=Sum("minutes"), d=Count("pk", filter=Q(minutes__gte=threshold)))
        .order_by("-week_start")[:limit]
    )
    return [WeekRow(episode, r["week_start"], r["m"], r["d"]) for r in rows]


@dataclass
class EpisodeDose:
    minutes: int
    service_days: int
    days_in_treatment: int
    last_attended: dt.date | None
    today: dt.date

    @property
    def hours_text(self) -> str:
        return rules.hours_text(rules.hours(self.minutes))

    @property
    def days_since_last(self) -> int | None:
        return (self.today - self.last_attended).days if self.last_attended else None

    @property
    def at_risk(self) -> bool:
        return rules.is_at_risk(self.days_since_last, self.days_in_treatment)


def episode_dose(episode: EpisodeOfCare, today: dt.date) -> EpisodeDose:
    """Cumulative hours and service days, days in treatment and since last attendance."""
    threshold = rules.service_day_minutes(episode.program.dose_rules())
    totals = DoseDay.objects.filter(episode=episode).aggregate(
        m=Coalesce(Sum("minutes"), 0),
        d=Count("pk", filter=Q(minutes__gte=threshold)),
        last=Max("date", filter=Q(minutes__gt=0)),
    )
    return EpisodeDose(
        minutes=totals["m"],
        service_days=totals["d"],
        days_in_treatment=episode.days_in_treatment(today),
        last_attended=totals["last"],
        today=today,
    )


@dataclass
class RiskRow:
    episode: EpisodeOfCare
    last_attended: dt.date | None
    days_since: int | None


def at_risk(user: User, facility: Facility, today: dt.date) -> list[RiskRow]:
    """Patients in treatment with no attendance for ``AT_RISK_DAYS`` days or more."""
    require(user, "scheduling.view_dose", "Dose figures are for the clinical team and billing.")
    cutoff = today - dt.timedelta(days=rules.AT_RISK_DAYS)
    qs = (
        EpisodeOfCare.objects.filter(
            facility=facility,
            discharge_date__isnull=True,
            admission_date__lte=cutoff,
            patient__in=visible_patients(user).values("pk"),
        )
        .annotate(
            # the newest attended day, one probe of the (episode, date) index per episode
            last=Subquery(
                DoseDay.objects.filter(episode=OuterRef("pk"), minutes__gt=0)
                .order_by("-date")
                .values("date")[:1]
            )
        )
        .filter(Q(last__isnull=True) | Q(last__lte=cutoff))
        .select_related("patient", "primary_clinician", "program")
        .order_by(F("last").asc(nulls_first=True), "patient__last_name")
    )
    return [RiskRow(e, e.last, (today - e.last).days if e.last else None) for e in qs]


# --- enrollment ----------------------------------------------------------------------------------


@dataclass
class Planned:
    """The patient's planned week: from their groups against the plan and the program."""

    enrolled_minutes: int
    with_new_minutes: int | None
    plan_hours: Decimal | None
    program_min_hours: Decimal
    program_max_hours: Decimal | None

    @property
    def enrolled_text(self) -> str:
        return rules.hours_text(rules.hours(self.enrolled_minutes))

    @property
    def with_new_text(self) -> str:
        return rules.hours_text(rules.hours(self.with_new_minutes or 0))

    @property
    def below_minimum(self) -> bool:
        shown = (
            self.with_new_minutes if self.with_new_minutes is not None else self.enrolled_minutes
        )
        return rules.hours(shown) < self.program_min_hours


def planned_week(
    episode: EpisodeOfCare, week_of: dt.date, *, adding: Schedule | None = None
) -> Planned:
    """Hours a week from the groups the patient is on (and with ``adding``), beside the
    active treatment plan's planned hours and the program's minimum and maximum."""
    enrolled = (
        Schedule.objects.filter(enrollments__episode=episode, enrollments__start_date__lte=week_of)
        .filter(Q(enrollments__end_date__isnull=True) | Q(enrollments__end_date__gte=week_of))
        .distinct()
    )
    minutes = sum(
        rules.weekly_minutes(
            s.rrule,
            minutes=s.duration_minutes,
            start_date=s.start_date,
            end_date=s.end_date,
            week_of=week_of,
        )
        for s in enrolled
    )
    extra = None
    if adding is not None:
        extra = minutes + rules.weekly_minutes(
            adding.rrule,
            minutes=adding.duration_minutes,
            start_date=adding.start_date,
            end_date=adding.end_date,
            week_of=max(week_of, adding.start_date),
        )
    active = (
        PlanVersion.objects.filter(plan__episode=episode, status=PlanVersion.Status.ACTIVE)
        .only("hours_per_day", "days_per_week")
        .first()
    )
    program = episode.program
    return Planned(
        enrolled_minutes=minutes,
        with_new_minutes=extra,
        plan_hours=active.hours_per_day * active.days_per_week if active else None,
        program_min_hours=program.min_hours_per_week,
        program_max_hours=program.max_hours_per_week,
    )


def enrollments_of(episode: EpisodeOfCare) -> QuerySet[Enrollment]:
    return (
        Enrollment.objects.filter(episode=episode)
        .select_related(
            "schedule__group",
            "schedule__track",
            "schedule__room",
            "schedule__facilitator",
            "enrolled_by",
        )
        .order_by(F("end_date").desc(nulls_first=True), "-start_date")
    )


def enrollment_of(patient: Patient, pk: int) -> Enrollment | None:
    """One of this patient's enrollments (the caller opened the chart)."""
    return (
        Enrollment.objects.filter(pk=pk, patient=patient)
        .select_related("schedule__group", "episode")
        .first()
    )


def contacts_of(patient: Patient) -> QuerySet[SupportContact]:
    """The patient's support-system members, who may take part in a family session."""
    return SupportContact.objects.filter(patient=patient).order_by("name", "pk")


def open_schedules_for(episode: EpisodeOfCare, day: dt.date) -> QuerySet[Schedule]:
    return (
        schedules(episode.facility, running_on=day)
        .filter(group__program=episode.program, group__is_active=True)
        .prefetch_related(Prefetch("group__phases"))
    )


def appointments_of(patient: Patient) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(patient=patient)
        .select_related("staff", "room", "rescheduled_to")
        .prefetch_related("participants")
        .order_by("-starts_at")
    )


def weekly_counts(rows: list[WeekRow]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[str(r.status)] += 1
    return dict(counts)


# --- catalog pages (views_catalog) ---------------------------------------------------------------


def group_of(facility: Facility, pk: int) -> GroupType | None:
    """A group of the facility's programs, with its phases and curriculum."""
    return (
        GroupType.objects.filter(pk=pk, program__facility=facility)
        .select_related("program")
        .prefetch_related("phases", "topics")
        .first()
    )


def ended_schedules(group: GroupType, today: dt.date, *, limit: int = 10) -> list[Schedule]:
    """The group's schedules that have stopped, the latest first."""
    return list(
        Schedule.objects.filter(group=group, end_date__lt=today)
        .select_related("track", "room", "facilitator", "co_facilitator")
        .order_by("-end_date")[:limit]
    )


def schedule_of(facility: Facility, pk: int) -> Schedule | None:
    return (
        Schedule.objects.filter(pk=pk, facility=facility)
        .select_related("group__program", "facility", "track", "room", "facilitator")
        .first()
    )


def end_schedule_preview(schedule: Schedule, last_date: dt.date) -> tuple[int, int]:
    """What ending a schedule after ``last_date`` does: (sessions taken off the calendar,
    people whose enrollment ends)."""
    sessions = Session.objects.filter(
        schedule=schedule, occurrence_date__gt=last_date, attendance__isnull=True
    ).count()
    people = (
        Enrollment.objects.filter(schedule=schedule)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=last_date))
        .count()
    )
    return sessions, people


# --- attendance screen and appointment pages (views_attendance, views_appointments) ---------------


def drop_ins_by_id(user: User, session: Session, ids: list[int]) -> list[Patient]:
    """The patients added to a session's screen as drop-ins that the user may see and that
    are in treatment at the session's facility (the service checks eligibility)."""
    if not ids:
        return []
    return list(
        visible_patients(user)
        .filter(pk__in=ids, facility_id=session.facility_id, episodes__discharge_date__isnull=True)
        .distinct()
        .order_by("last_name", "first_name", "pk")
    )


def appointment_by_id(pk: int) -> Appointment | None:
    """One appointment with what its page shows; the caller opens the patient's chart
    (chart_access) before showing any of it."""
    return (
        Appointment.objects.filter(pk=pk)
        .select_related(
            "facility",
            "episode",
            "patient",
            "staff",
            "room",
            "created_by",
            "rescheduled_to",
            "rescheduled_from",
        )
        .prefetch_related("participants", "attendance__recorded_by")
        .first()
    )
