"""Reads of recovery tracking, scoped to the patients the user may see.

A chart page reads each kind of record in one query (results, responses, collections
prefetched), so its cost does not grow with the number of tests, meetings or relapses;
meetings per week are counted by the database, beside the dose of the same weeks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.attachments.models import Attachment
from openiop.audit.models import AuditEvent
from openiop.audit.services import record_list
from openiop.patients.models import Patient, SupportContact
from openiop.patients.selectors import visible_patients
from openiop.plans.models import PlanVersion
from openiop.recovery import rules
from openiop.recovery.models import (
    ClinicalResponse,
    Collection,
    DrugTest,
    DrugTestOrder,
    DrugTestResult,
    Meeting,
    Prescription,
    RelapseEvent,
    SobrietyDate,
)
from openiop.scheduling import rules as dose_rules
from openiop.scheduling.selectors import WeekRow, episode_weeks

REFUSED = "Drug tests and prescriptions are for the clinical team."
RECOVERY_REFUSED = (
    "Recovery tracking (drug tests, meetings, relapses, sobriety date) is for the clinical team."
)
DUE_SECTION = "drug-test collections due"
RECENT_DAYS = 14  # how far back the chart shows each order's due days
CHART_TESTS = 25  # drug tests the chart lists (newest first)
CHART_MEETINGS = 25
MEETING_WEEKS = 8  # weeks of meetings beside the dose


def require(user: User, permission: str = "recovery.view_drugtest") -> None:
    if not user.can(permission):
        raise PermissionDenied(REFUSED)


def require_reader(user: User) -> None:
    if not user.can("recovery.view_recovery"):
        raise PermissionDenied(RECOVERY_REFUSED)


def _scoped(user: User) -> Any:
    return visible_patients(user, include_break_glass=False).values("pk")


def _tests() -> QuerySet[DrugTest]:
    return (
        DrugTest.objects.select_related("collected_by", "recorded_by", "response__responded_by")
        .prefetch_related(
            Prefetch("results", queryset=DrugTestResult.objects.order_by("substance"))
        )
        .order_by("-collected_at", "-id")
    )


def drug_tests(user: User) -> QuerySet[DrugTest]:
    """Drug tests of the patients the user may see, newest first, results included
    (a constant number of queries for any number of tests)."""
    require(user)
    return _tests().filter(patient__in=_scoped(user))


def prescriptions(user: User) -> QuerySet[Prescription]:
    require(user)
    return (
        Prescription.objects.filter(patient__in=_scoped(user))
        .select_related("recorded_by")
        .order_by("-start_date", "-id")
    )


def orders(user: User) -> QuerySet[DrugTestOrder]:
    require_reader(user)
    return (
        DrugTestOrder.objects.filter(patient__in=_scoped(user))
        .select_related("episode", "ordered_by", "stopped_by")
        .order_by("-start_date", "-id")
    )


def meetings(user: User) -> QuerySet[Meeting]:
    require_reader(user)
    return (
        Meeting.objects.filter(patient__in=_scoped(user))
        .select_related("verified_by", "sponsor_contact", "slip", "recorded_by")
        .order_by("-date", "-id")
    )


def relapses(user: User) -> QuerySet[RelapseEvent]:
    require_reader(user)
    return (
        RelapseEvent.objects.filter(patient__in=_scoped(user))
        .select_related("drug_test", "recorded_by")
        .order_by("-date", "-id")
    )


def sobriety_dates(user: User) -> QuerySet[SobrietyDate]:
    require_reader(user)
    return (
        SobrietyDate.objects.filter(patient__in=_scoped(user))
        .select_related("set_by", "relapse")
        .order_by("-set_at", "-id")
    )


def test_of(patient: Patient, pk: int) -> DrugTest | None:
    """One of the patient's tests (whose chart the caller opened), with its results."""
    return _tests().filter(patient=patient, pk=pk).first()


def order_of(patient: Patient, pk: int) -> DrugTestOrder | None:
    return (
        DrugTestOrder.objects.filter(patient=patient, pk=pk)
        .select_related("episode", "patient__facility")
        .first()
    )


def sponsors_of(patient: Patient) -> QuerySet[SupportContact]:
    return SupportContact.objects.filter(patient=patient, is_sponsor=True, active=True)


def slips_of(patient: Patient) -> QuerySet[Attachment]:
    """The patient's uploaded documents a meeting slip may be chosen from."""
    return Attachment.objects.filter(patient=patient, removed_at__isnull=True).order_by(
        "-uploaded_at", "-id"
    )


def tests_for_relapse(patient: Patient) -> QuerySet[DrugTest]:
    """The patient's tests a relapse may point to, newest first (not sliced: the form
    checks the choice against it)."""
    return DrugTest.objects.filter(patient=patient).order_by("-collected_at", "-id")


# --- orders and their due days -----------------------------------------------------------------


@dataclass(frozen=True)
class DueDay:
    date: dt.date
    collection: Collection | None
    today: dt.date

    @property
    def state(self) -> str:
        """collected, not_collected, refused, due (today) or missed (a past day left open)."""
        if self.collection is not None:
            return self.collection.status
        return "due" if self.date >= self.today else "missed"

    @property
    def label(self) -> str:
        if self.collection is not None:
            return self.collection.get_status_display()
        return "Due today" if self.date >= self.today else "Missed (nothing recorded)"


@dataclass
class OrderRow:
    order: DrugTestOrder
    days: list[DueDay]
    active: bool

    @property
    def due_today(self) -> DueDay | None:
        return next((d for d in self.days if d.date == d.today), None)


def order_rows(patient: Patient, today: dt.date, *, days: int = RECENT_DAYS) -> list[OrderRow]:
    """The patient's orders, newest first, each with its due days of the last ``days`` days
    up to today (never later: random days are not shown in advance). Two queries."""
    since = today - dt.timedelta(days=days - 1)
    rows = (
        DrugTestOrder.objects.filter(patient=patient)
        .select_related("episode", "ordered_by", "stopped_by")
        .prefetch_related(
            Prefetch(
                "collections",
                queryset=Collection.objects.filter(due_date__gte=since).select_related(
                    "test", "recorded_by"
                ),
                to_attr="recent",
            )
        )
        .order_by("-start_date", "-id")
    )
    result = []
    for order in rows:
        recorded = {c.due_date: c for c in order.recent}
        due = rules.due_days(order.spec(), since, today)
        result.append(
            OrderRow(
                order=order,
                days=[DueDay(d, recorded.get(d), today) for d in reversed(due)],
                active=order.active_on(today) or order.start_date > today,
            )
        )
    return result


@dataclass(frozen=True)
class DueRow:
    order: DrugTestOrder
    patient: Patient
    collection: Collection | None
    day: dt.date

    @property
    def state(self) -> str:
        return DueDay(self.day, self.collection, self.day).state


def due_on(user: User, facility: Facility, day: dt.date) -> list[DueRow]:
    """The facility's collections due on ``day`` for the patients the user may see, by
    patient name, with what is already recorded; audited as one list (one record per
    patient shown). The same few queries for any number of patients."""
    require_reader(user)
    orders_then = (
        DrugTestOrder.objects.filter(
            facility=facility, patient__in=_scoped(user), start_date__lte=day
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .filter(Q(episode__discharge_date__isnull=True) | Q(episode__discharge_date__gte=day))
        .select_related("patient", "episode")
        .prefetch_related(
            Prefetch(
                "collections",
                queryset=Collection.objects.filter(due_date=day).select_related("test"),
                to_attr="that_day",
            )
        )
        .order_by("patient__last_name", "patient__first_name", "patient_id", "id")
    )
    rows = [
        DueRow(order, order.patient, next(iter(order.that_day), None), day)
        for order in orders_then
        if rules.is_due(order.spec(), day)
    ]
    record_list(
        actor=user,
        patients=[r.patient for r in rows],
        section=DUE_SECTION,
        action=AuditEvent.Action.VIEW,
        facility_id=facility.pk,
        detail={"day": day.isoformat()},
    )
    return rows


# --- meetings beside the dose ------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingWeekRow:
    monday: dt.date
    attended: int
    verified: int
    minutes: int
    required: int
    required_from: str  # "plan" or "program"
    dose: WeekRow

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def status(self) -> rules.MeetingWeek:
        return rules.meeting_week(self.attended, self.required)

    @property
    def short_by(self) -> int:
        return max(self.required - self.attended, 0)


def _required_meetings(episode: EpisodeOfCare) -> list[tuple[dt.date, int]]:
    """(first local day in force, meetings per week) of each plan version ever activated,
    oldest first: one query."""
    zone = episode.facility.zone
    return [
        (timezone.localtime(at, zone).date(), n)
        for at, n in PlanVersion.objects.filter(plan__episode=episode, activated_at__isnull=False)
        .order_by("activated_at", "id")
        .values_list("activated_at", "meetings_per_week")
    ]


def meeting_weeks(
    episode: EpisodeOfCare, today: dt.date, *, weeks: int = MEETING_WEEKS
) -> list[MeetingWeekRow]:
    """The episode's last ``weeks`` ISO weeks, newest first: meetings attended (and verified)
    against the meetings per week of the plan version in force at the week's end (the
    program's default before a plan is active), beside the week's dose hours and status.
    Three queries, whatever the number of meetings."""
    last = min(today, episode.discharge_date) if episode.discharge_date else today
    newest = dose_rules.week_start(last)
    oldest = max(
        dose_rules.week_start(episode.admission_date), newest - dt.timedelta(weeks=weeks - 1)
    )
    mondays = []
    monday = newest
    while monday >= oldest:
        mondays.append(monday)
        monday -= dt.timedelta(days=7)
    counted = {
        r["week_start"]: r
        for r in Meeting.objects.filter(episode=episode, week_start__gte=oldest)
        .values("week_start")
        .annotate(
            n=Count("pk"),
            verified=Count("pk", filter=~Q(verification="self")),
            minutes=Sum("minutes"),
        )
        .order_by()
    }
    dose = {r.week: r for r in episode_weeks(episode, limit=len(mondays) or 1)}
    versions = _required_meetings(episode)
    program_default = episode.program.required_meetings_per_week
    rows = []
    for monday in mondays:
        week_end = min(monday + dt.timedelta(days=6), last)
        in_force = [n for since, n in versions if since <= week_end]
        c = counted.get(monday, {})
        rows.append(
            MeetingWeekRow(
                monday=monday,
                attended=c.get("n", 0),
                verified=c.get("verified", 0),
                minutes=c.get("minutes") or 0,
                required=in_force[-1] if in_force else program_default,
                required_from="plan" if in_force else "program",
                dose=dose.get(monday) or WeekRow(episode, monday, 0, 0),
            )
        )
    return rows


# --- the chart page ----------------------------------------------------------------------------


@dataclass
class RecoveryChart:
    sobriety: SobrietyDate | None
    sobriety_history: list[SobrietyDate]
    days_sober: int | None
    tests: list[DrugTest]
    tests_total: int
    orders: list[OrderRow]
    prescriptions: list[Prescription]
    weeks: list[MeetingWeekRow]
    meetings: list[Meeting]
    relapses: list[RelapseEvent]
    episode: EpisodeOfCare | None
    responses_needed: list[DrugTest] = field(default_factory=list)


def chart(patient: Patient, episode: EpisodeOfCare | None, today: dt.date) -> RecoveryChart:
    """Everything the Recovery tab shows, for a chart the caller already opened: a constant
    number of queries."""
    history = list(
        SobrietyDate.objects.filter(patient=patient)
        .select_related("set_by", "relapse")
        .order_by("-set_at", "-id")
    )
    current = history[0] if history else None
    tests = list(_tests().filter(patient=patient)[:CHART_TESTS])
    total = DrugTest.objects.filter(patient=patient).count()
    return RecoveryChart(
        sobriety=current,
        sobriety_history=history,
        days_sober=rules.days_sober(current.sobriety_date if current else None, today),
        tests=tests,
        tests_total=total,
        orders=order_rows(patient, today),
        prescriptions=list(
            Prescription.objects.filter(patient=patient)
            .select_related("recorded_by")
            .order_by("-start_date", "-id")
        ),
        weeks=meeting_weeks(episode, today) if episode is not None else [],
        meetings=list(
            Meeting.objects.filter(patient=patient)
            .select_related("verified_by", "sponsor_contact", "slip")
            .order_by("-date", "-id")[:CHART_MEETINGS]
        ),
        relapses=list(
            RelapseEvent.objects.filter(patient=patient)
            .select_related("drug_test", "recorded_by")
            .order_by("-date", "-id")
        ),
        episode=episode,
        responses_needed=[t for t in tests if t.needs_response],
    )


def response_of(test: DrugTest) -> ClinicalResponse | None:
    return ClinicalResponse.objects.filter(test=test).select_related("responded_by").first()
