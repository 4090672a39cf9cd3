"""Discharge readiness, kept from admission on (issue 7, SPEC §2 and §9).

The checklist is read from the chart — plan goals, weeks at full dose, drug tests, meetings,
the relapse-prevention plan, the support system — plus what only the clinician can confirm
(housing, work or school), kept on the episode's ``DischargePlan`` with the planned
step-down. Each item is worked out by the database in one aggregate query, so the checklist
costs the same handful of queries after a week or after a year of attendance.

``save_discharge_plan`` is the one write: the planned step-down and the clinician's
confirmations (audited; every version kept by simple_history).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, snapshot
from openiop.discharge.config import settings_for
from openiop.discharge.models import DischargePlan, DischargeSettings, StepDown
from openiop.patients.models import SupportContact
from openiop.plans.models import ObjectiveStatus, PlanVersion, RelapsePreventionPlan
from openiop.recovery import rules as recovery_rules
from openiop.recovery.models import DrugTestResult, Meeting
from openiop.scheduling import rules as dose_rules
from openiop.scheduling.models import DoseDay
from openiop.scheduling.selectors import day_bounds

__all__ = [
    "ITEM_LABELS",
    "PLANNED_STEP_DOWNS",
    "Item",
    "Readiness",
    "complete_weeks",
    "readiness",
    "save_discharge_plan",
]

SECTION = "discharge plan"

ITEM_LABELS: dict[str, str] = {
    "goals": "Treatment-plan goals met",
    "dose": "Weeks at full dose",
    "tests": "Negative drug tests",
    "relapse_plan": "Relapse-prevention plan in place",
    "support": "Support system",
    "meetings": "Mutual-help meeting attendance",
    "housing": "Safe, stable housing",
    "work_school": "Work, school or a daily structure",
}

# A planned step-down is a next step of care; "none" is only for a death or an incarceration
# recorded at discharge, never a plan.
PLANNED_STEP_DOWNS = [(value, label) for value, label in StepDown.choices if value != "none"]

# Objectives still pursued: a discontinued objective is no longer part of the goal.
_PURSUED = [ObjectiveStatus.NOT_STARTED, ObjectiveStatus.IN_PROGRESS, ObjectiveStatus.REVISED]
_OBJECTIVE = "problems__goals__objectives"
_READABLE = [
    recovery_rules.Reading.NEGATIVE,
    recovery_rules.Reading.EXPECTED,
    recovery_rules.Reading.UNEXPECTED,
    recovery_rules.Reading.MISSING,
]


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    done: bool
    detail: str
    # Housing and work or school are confirmed by the clinician, not read from the chart.
    confirmed_by_hand: bool = False


@dataclass(frozen=True)
class Readiness:
    episode: EpisodeOfCare
    as_of: dt.date
    items: list[Item]
    plan: DischargePlan | None
    settings: DischargeSettings

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.items if item.done)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> int:
        return round(100 * self.done_count / self.total) if self.total else 0

    @property
    def is_complete(self) -> bool:
        return self.done_count == self.total

    @property
    def to_do(self) -> list[Item]:
        return [item for item in self.items if not item.done]

    def item(self, key: str) -> Item:
        return next(item for item in self.items if item.key == key)

    @property
    def planned_step_down(self) -> str:
        return self.plan.planned_step_down if self.plan else ""

    @property
    def planned_step_down_label(self) -> str:
        if self.plan is None or not self.plan.planned_step_down:
            return ""
        return self.plan.get_planned_step_down_display()

    @property
    def planned_date(self) -> dt.date | None:
        return self.plan.planned_date if self.plan else None

    @property
    def step_down_provider(self) -> str:
        return self.plan.step_down_provider if self.plan else ""


def _s(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _day(value: dt.date) -> str:
    return f"{value:%m/%d/%Y}"


def complete_weeks(admitted: dt.date, end: dt.date, count: int) -> list[dt.date]:
    """The Mondays of the last ``count`` complete Monday–Sunday weeks before ``end`` (the
    first day not counted: today for an open stay, the day after discharge otherwise),
    newest first; only weeks wholly in treatment (Monday on or after the admission), so a
    short stay gives fewer."""
    mondays: list[dt.date] = []
    monday = dose_rules.week_start(end) - dt.timedelta(days=7)
    while monday >= admitted and len(mondays) < count:
        mondays.append(monday)
        monday -= dt.timedelta(days=7)
    return mondays


def _bounds(episode: EpisodeOfCare, today: dt.date) -> tuple[dt.date, dt.date]:
    """(last day counted, first day not counted): a discharged stay stops at discharge."""
    if episode.discharge_date is not None and episode.discharge_date < today:
        return episode.discharge_date, episode.discharge_date + dt.timedelta(days=1)
    return today, today


# --- the items ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Version:
    status: str
    activated_on: dt.date
    meetings_per_week: int
    pursued: int
    met: int
    dropped: int


def _versions(episode: EpisodeOfCare) -> list[_Version]:
    """Every plan version ever in force, oldest first, with its objectives counted: one
    query."""
    zone = episode.facility.zone
    rows = (
        PlanVersion.objects.filter(plan__episode=episode, activated_at__isnull=False)
        .annotate(
            pursued=Count(_OBJECTIVE, filter=Q(**{f"{_OBJECTIVE}__status__in": _PURSUED})),
            met=Count(_OBJECTIVE, filter=Q(**{f"{_OBJECTIVE}__status": ObjectiveStatus.MET})),
            dropped=Count(
                _OBJECTIVE,
                filter=Q(**{f"{_OBJECTIVE}__status": ObjectiveStatus.DISCONTINUED}),
            ),
        )
        .order_by("activated_at", "id")
        .values_list("status", "activated_at", "meetings_per_week", "pursued", "met", "dropped")
    )
    return [
        _Version(status, timezone.localtime(at, zone).date(), meetings, pursued, met, dropped)
        for status, at, meetings, pursued, met, dropped in rows
    ]


def _goals(versions: list[_Version]) -> Item:
    active = next((v for v in versions if v.status == PlanVersion.Status.ACTIVE), None)
    label = ITEM_LABELS["goals"]
    if active is None:
        return Item("goals", label, False, "No signed treatment plan yet.")
    total = active.pursued + active.met
    if total == 0:
        return Item("goals", label, False, "The signed plan has no objectives to meet.")
    dropped = ""
    if active.dropped:
        dropped = f" ({_s(active.dropped, 'discontinued objective')} not counted)"
    return Item(
        "goals",
        label,
        active.met == total,
        f"{active.met} of {_s(total, 'objective')} met{dropped}.",
    )


def _dose(episode: EpisodeOfCare, end: dt.date, weeks: int) -> Item:
    label = ITEM_LABELS["dose"]
    mondays = complete_weeks(episode.admission_date, end, weeks)
    program_rules = episode.program.dose_rules()
    minimum = (
        f"{program_rules.min_days_per_week} days and "
        f"{dose_rules.hours_text(program_rules.min_hours_per_week)} hours a week"
    )
    met = 0
    if mondays:
        threshold = dose_rules.service_day_minutes(program_rules)
        rows = (
            DoseDay.objects.filter(episode=episode, week_start__in=mondays)
            .values("week_start")
            .annotate(total=Sum("minutes"), days=Count("pk", filter=Q(minutes__gte=threshold)))
            .order_by()
        )
        # A week meets the minimum with enough service days and hours (SPEC §2, inclusive);
        # a week above the program's maximum still had the full dose.
        met = sum(
            1
            for r in rows
            if r["days"] >= program_rules.min_days_per_week
            and dose_rules.hours(r["total"] or 0) >= program_rules.min_hours_per_week
        )
    if len(mondays) < weeks:
        so_far = f" ({met} met the minimum)" if mondays else ""
        return Item(
            "dose",
            label,
            False,
            f"{_s(len(mondays), 'complete week')} in treatment so far{so_far}; "
            f"{weeks} needed at {minimum}.",
        )
    return Item(
        "dose",
        label,
        met == weeks,
        f"{met} of the last {_s(weeks, 'week')} met the minimum ({minimum}).",
    )


def _tests(episode: EpisodeOfCare, as_of: dt.date, weeks: int) -> Item:
    """At least one readable test in the last ``weeks`` weeks and no unexpected positive in
    them (a prescribed medication's positive is expected, SPEC recovery rules)."""
    label = ITEM_LABELS["tests"]
    first = as_of - dt.timedelta(days=7 * weeks - 1)
    start, _ = day_bounds(episode.facility, first)
    _, end = day_bounds(episode.facility, as_of)
    unexpected = Q(reading=recovery_rules.Reading.UNEXPECTED)
    found = DrugTestResult.objects.filter(
        test__episode=episode, test__collected_at__gte=start, test__collected_at__lt=end
    ).aggregate(
        tests=Count("test", distinct=True, filter=Q(reading__in=_READABLE)),
        unexpected=Count("test", distinct=True, filter=unexpected),
        latest=Max("test__collected_at", filter=unexpected),
    )
    tests, bad = found["tests"], found["unexpected"]
    window = f"the last {_s(weeks, 'week')}"
    if bad:
        latest = timezone.localtime(found["latest"], episode.facility.zone).date()
        return Item(
            "tests",
            label,
            False,
            f"{_s(bad, 'test')} with an unexpected positive in {window} (latest {_day(latest)}).",
        )
    if not tests:
        return Item("tests", label, False, f"No drug test in {window}: order or record one.")
    if episode.admission_date > first:
        return Item(
            "tests",
            label,
            False,
            f"In treatment fewer than {_s(weeks, 'week')}; "
            f"{_s(tests, 'negative test')} so far, none unexpected.",
        )
    return Item("tests", label, True, f"{_s(tests, 'test')} in {window}, none unexpected positive.")


def _relapse_plan(episode: EpisodeOfCare) -> Item:
    label = ITEM_LABELS["relapse_plan"]
    updated = (
        RelapsePreventionPlan.objects.filter(episode=episode)
        .values_list("updated_at", flat=True)
        .first()
    )
    if updated is None:
        return Item("relapse_plan", label, False, "Not written yet (on the Treatment plan tab).")
    day = timezone.localtime(updated, episode.facility.zone).date()
    return Item("relapse_plan", label, True, f"Written; last updated {_day(day)}.")


def _support(episode: EpisodeOfCare) -> Item:
    label = ITEM_LABELS["support"]
    found = SupportContact.objects.filter(patient_id=episode.patient_id, active=True).aggregate(
        people=Count("pk"), sponsors=Count("pk", filter=Q(is_sponsor=True))
    )
    people, sponsors = found["people"], found["sponsors"]
    if not people:
        return Item(
            "support", label, False, "Nobody recorded yet: add a support contact with the person."
        )
    sponsor = f", {_s(sponsors, 'sponsor')}" if sponsors else ""
    return Item("support", label, True, f"{_s(people, 'person', 'people')} recorded{sponsor}.")


def _meetings(episode: EpisodeOfCare, end: dt.date, weeks: int, versions: list[_Version]) -> Item:
    """Each of the last ``weeks`` complete weeks had the meetings the plan version in force
    at the week's end asked for (the program's default before a plan was active), as the
    Recovery tab shows them beside the dose."""
    label = ITEM_LABELS["meetings"]
    default = episode.program.required_meetings_per_week

    def required(sunday: dt.date) -> int:
        in_force = [v.meetings_per_week for v in versions if v.activated_on <= sunday]
        return in_force[-1] if in_force else default

    now_required = required(end - dt.timedelta(days=1))
    if now_required == 0:
        return Item("meetings", label, True, "The plan asks for no mutual-help meetings.")
    mondays = complete_weeks(episode.admission_date, end, weeks)
    met = 0
    if mondays:
        attended = dict(
            Meeting.objects.filter(episode=episode, week_start__in=mondays)
            .values("week_start")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("week_start", "n")
        )
        met = sum(
            1
            for monday in mondays
            if recovery_rules.meeting_week(
                attended.get(monday, 0), required(monday + dt.timedelta(days=6))
            )
            != recovery_rules.MeetingWeek.SHORT
        )
    asked = f"{now_required} a week"
    if len(mondays) < weeks:
        so_far = f" ({met} had the meetings asked for)" if mondays else ""
        return Item(
            "meetings",
            label,
            False,
            f"{_s(len(mondays), 'complete week')} in treatment so far{so_far}; "
            f"{weeks} needed at {asked}.",
        )
    return Item(
        "meetings",
        label,
        met == weeks,
        f"{met} of the last {_s(weeks, 'week')} had the meetings asked for ({asked}).",
    )


def _confirmed(key: str, ready: bool, note: str) -> Item:
    if ready:
        detail = f"Confirmed: {note}" if note else "Confirmed by the clinician."
    else:
        detail = f"Not confirmed yet: {note}" if note else "Not confirmed yet."
    return Item(key, ITEM_LABELS[key], ready, detail, confirmed_by_hand=True)


def readiness(episode: EpisodeOfCare, *, today: dt.date | None = None) -> Readiness:
    """The discharge-readiness checklist of an episode on ``today`` (the facility's date by
    default; a discharged episode is read as it stood at discharge). Eight queries whatever
    the length of the stay: the settings, the plan versions, the discharge plan, and one
    aggregate each for dose, drug tests, meetings, relapse-prevention plan and support."""
    facility = episode.facility
    if today is None:
        today = timezone.localdate(timezone=facility.zone)
    settings = settings_for(facility.organization_id)
    as_of, end = _bounds(episode, today)
    versions = _versions(episode)
    plan = DischargePlan.objects.filter(episode=episode).select_related("updated_by").first()
    items = [
        _goals(versions),
        _dose(episode, end, settings.full_dose_weeks),
        _tests(episode, as_of, settings.negative_test_weeks),
        _relapse_plan(episode),
        _support(episode),
        _meetings(episode, end, settings.meeting_weeks, versions),
        _confirmed("housing", bool(plan and plan.housing_ready), plan.housing_note if plan else ""),
        _confirmed(
            "work_school",
            bool(plan and plan.work_school_ready),
            plan.work_school_note if plan else "",
        ),
    ]
    return Readiness(episode=episode, as_of=as_of, items=items, plan=plan, settings=settings)


# --- the discharge plan ------------------------------------------------------------------------

PLAN_FIELDS = (
    "planned_step_down",
    "planned_date",
    "step_down_provider",
    "housing_ready",
    "housing_note",
    "work_school_ready",
    "work_school_note",
)


def _text(value: str | None, name: str, errors: dict[str, str]) -> str:
    text = (value or "").strip()
    limit = getattr(DischargePlan._meta.get_field(name), "max_length", None) or 0
    if limit and len(text) > limit:
        errors[name] = f"Keep it to {limit} characters ({len(text)} now)."
    return text


@transaction.atomic
def save_discharge_plan(
    *,
    actor: User,
    episode: EpisodeOfCare,
    planned_step_down: str = "",
    planned_date: dt.date | None = None,
    step_down_provider: str = "",
    housing_ready: bool = False,
    housing_note: str = "",
    work_school_ready: bool = False,
    work_school_note: str = "",
) -> DischargePlan:
    """The planned step-down and what the clinician confirms (housing, work or school),
    from admission on; every change audited and kept in the plan's history."""
    if not actor.can("discharge.change_dischargeplan"):
        raise PermissionDenied("Only the clinical team plans a discharge.")
    if not actor.facilities.filter(pk=episode.facility_id).exists():
        raise PermissionDenied("You do not work at this patient's facility.")
    # The episode row is locked so a discharge recorded meanwhile is seen (and refused here).
    locked = (
        EpisodeOfCare.objects.select_for_update(of=("self",))
        .select_related("patient")
        .get(pk=episode.pk)
    )
    if not locked.is_open:
        raise ValidationError(
            "This episode is discharged: its discharge plan no longer changes. The step-down "
            "decided is on the discharge summary."
        )
    errors: dict[str, str] = {}
    if planned_step_down and planned_step_down not in dict(PLANNED_STEP_DOWNS):
        errors["planned_step_down"] = "Choose a next step of care from the list."
    if planned_date is not None and planned_date < locked.admission_date:
        errors["planned_date"] = (
            f"The planned date is before the admission on {_day(locked.admission_date)}."
        )
    values = {
        "planned_step_down": planned_step_down or "",
        "planned_date": planned_date,
        "step_down_provider": _text(step_down_provider, "step_down_provider", errors),
        "housing_ready": bool(housing_ready),
        "housing_note": _text(housing_note, "housing_note", errors),
        "work_school_ready": bool(work_school_ready),
        "work_school_note": _text(work_school_note, "work_school_note", errors),
    }
    if errors:
        raise ValidationError(errors)
    # One plan per episode; the episode row locked above keeps two first saves apart.
    found = DischargePlan.objects.filter(episode=locked).first()
    created = found is None
    plan = found or DischargePlan(episode=locked)
    before = {} if created else snapshot(plan, PLAN_FIELDS)
    for name, value in values.items():
        setattr(plan, name, value)
    changes = diff(before, snapshot(plan, PLAN_FIELDS))
    if created or changes:
        plan.updated_at = timezone.now()
        plan.updated_by = actor
        plan.save()
        record(
            actor=actor,
            action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
            patient=locked.patient,
            obj=plan,
            section=SECTION,
            changes=changes,
        )
    return plan
