"""The facts a discharge summary starts from (issue 7: dates, length of stay, hours attended,
attendance rate, instruments at baseline and last, drug tests, goals), gathered by the database.

``gather_facts`` costs the same handful of queries for a week-long stay or a year of
attendance: every figure is an aggregate (``Sum``, ``Count``, ``Max``) or a window function,
never a loop over rows. The result is JSON (it is stored on the ``Discharge`` and frozen at
signing), so dates are ISO strings; ``fact_rows`` and ``instrument_rows`` turn it back into
what the page and the PDF show.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from openiop.admissions.models import EpisodeOfCare
from openiop.core import teds
from openiop.discharge import rules
from openiop.discharge.models import LevelOfCareChange
from openiop.measures import instruments
from openiop.measures.models import Administration
from openiop.plans.models import Goal, Objective, ObjectiveStatus, PlanVersion
from openiop.recovery.models import DrugTest, DrugTestResult, Meeting, RelapseEvent
from openiop.recovery.rules import Reading
from openiop.scheduling import rules as dose
from openiop.scheduling.models import Attendance, DoseDay

__all__ = [
    "FACTS_VERSION",
    "FactRow",
    "InstrumentRow",
    "fact_rows",
    "gather_facts",
    "instrument_rows",
]

FACTS_VERSION = 1
ATTENDED = (
    Attendance.Status.PRESENT,
    Attendance.Status.LATE,
    Attendance.Status.LEFT_EARLY,
)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _local_day(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo) -> str | None:
    return timezone.localtime(moment, zone).date().isoformat() if moment else None


def _stay_bounds(
    episode: EpisodeOfCare, discharged: dt.date, zone: zoneinfo.ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """From the first moment of the admission day to the end of the discharge day (local)."""
    start = dt.datetime.combine(episode.admission_date, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(discharged + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


# --- the parts ---------------------------------------------------------------------------------


def _level_history(episode: EpisodeOfCare) -> list[dict[str, Any]]:
    changes = (
        LevelOfCareChange.objects.filter(episode=episode)
        .select_related("from_program", "to_program")
        .order_by("changed_on", "id")
    )
    return [
        {
            "changed_on": c.changed_on.isoformat(),
            "from_program": c.from_program.name,
            "from_level": c.from_level,
            "to_program": c.to_program.name,
            "to_level": c.to_level,
        }
        for c in changes
    ]


def _dose(episode: EpisodeOfCare, discharged: dt.date) -> dict[str, Any]:
    """Hours attended, service days and the weeks meeting the program's minimum (SPEC §2):
    two GROUP BYs over the episode's DoseDay rows."""
    program = episode.program
    threshold = dose.service_day_minutes(program.dose_rules())
    days = DoseDay.objects.filter(episode=episode, date__lte=discharged)
    totals = days.aggregate(
        total_minutes=Coalesce(Sum("minutes"), 0),
        total_days=Count("pk", filter=Q(minutes__gte=threshold)),
    )
    week_minutes = math.ceil(program.min_hours_per_week * dose.MINUTE)
    weeks_meeting = (
        days.values("week_start")
        .annotate(m=Sum("minutes"), d=Count("pk", filter=Q(minutes__gte=threshold)))
        .filter(m__gte=week_minutes, d__gte=program.min_days_per_week)
        .count()
    )
    first_week = dose.week_start(episode.admission_date)
    weeks = (dose.week_start(discharged) - first_week).days // 7 + 1
    minutes = int(totals["total_minutes"])
    return {
        "minutes_attended": minutes,
        "hours_attended": float(round(dose.hours(minutes), 2)),
        "service_days": int(totals["total_days"]),
        "weeks_in_treatment": weeks,
        "weeks_meeting_dose": weeks_meeting,
    }


def _attendance(episode: EpisodeOfCare, discharged: dt.date) -> dict[str, Any]:
    """Sessions and appointments attended (present, late or left early) out of every one
    recorded, leaving out sessions that were cancelled."""
    counts = (
        Attendance.objects.filter(episode=episode, service_date__lte=discharged)
        .exclude(status=Attendance.Status.CANCELLED)
        .aggregate(recorded=Count("pk"), attended=Count("pk", filter=Q(status__in=ATTENDED)))
    )
    recorded, attended = int(counts["recorded"]), int(counts["attended"])
    return {
        "recorded": recorded,
        "attended": attended,
        "rate": round(100 * attended / recorded, 1) if recorded else None,
    }


def _instruments(
    episode: EpisodeOfCare, start: dt.datetime, end: dt.datetime, zone: zoneinfo.ZoneInfo
) -> list[dict[str, Any]]:
    """For each instrument given during the stay: the first (baseline) and the last result,
    picked by window functions in one query; results entered in error left out."""
    by_instrument = [F("instrument")]
    rows = (
        Administration.objects.filter(
            patient_id=episode.patient_id,
            administered_at__gte=start,
            administered_at__lt=end,
            entered_in_error_at__isnull=True,
        )
        .annotate(
            first_n=Window(
                RowNumber(),
                partition_by=by_instrument,
                order_by=[F("administered_at").asc(), F("id").asc()],
            ),
            last_n=Window(
                RowNumber(),
                partition_by=by_instrument,
                order_by=[F("administered_at").desc(), F("id").desc()],
            ),
            given=Window(Count("id"), partition_by=by_instrument),
        )
        .filter(Q(first_n=1) | Q(last_n=1))
        .values("instrument", "administered_at", "total", "band", "first_n", "last_n", "given")
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        code = row["instrument"]
        item = found.setdefault(code, {"code": code, "given": int(row["given"])})
        result = {
            "date": _local_day(row["administered_at"], zone),
            "total": row["total"],
            "band": row["band"],
        }
        if row["first_n"] == 1:
            item["baseline"] = result
        if row["last_n"] == 1:
            item["last"] = result
    order = list(instruments.DEFINITIONS)
    out = []
    for code in sorted(found, key=lambda c: (order.index(c) if c in order else len(order), c)):
        item = found[code]
        definition = instruments.DEFINITIONS.get(code)
        item["name"] = definition.name if definition else code
        first, last = item["baseline"]["total"], item["last"]["total"]
        item["change"] = last - first if first is not None and last is not None else None
        out.append(item)
    return out


def _drug_tests(
    episode: EpisodeOfCare, end: dt.datetime, zone: zoneinfo.ZoneInfo
) -> dict[str, Any]:
    unexpected = DrugTestResult.objects.filter(test=OuterRef("pk"), reading=Reading.UNEXPECTED)
    found = (
        DrugTest.objects.filter(episode=episode, collected_at__lt=end)
        .annotate(has_unexpected=Exists(unexpected))
        .aggregate(
            count=Count("pk"),
            unexpected=Count("pk", filter=Q(has_unexpected=True)),
            last_unexpected=Max("collected_at", filter=Q(has_unexpected=True)),
            last_test=Max("collected_at"),
        )
    )
    return {
        "count": int(found["count"]),
        "unexpected_positive": int(found["unexpected"]),
        "last_unexpected_positive": _local_day(found["last_unexpected"], zone),
        "last_test": _local_day(found["last_test"], zone),
    }


def _goals(episode: EpisodeOfCare) -> dict[str, Any] | None:
    """Goals and objectives of the episode's active plan: objectives by status, and the goals
    whose every current objective (not revised or discontinued) is met. None without a plan."""
    in_active_plan = Q(
        problem__version__plan__episode=episode,
        problem__version__status=PlanVersion.Status.ACTIVE,
    )
    closed = [ObjectiveStatus.REVISED, ObjectiveStatus.DISCONTINUED]
    goals = (
        Goal.objects.filter(in_active_plan)
        .annotate(
            current=Count("objectives", filter=~Q(objectives__status__in=closed)),
            met=Count("objectives", filter=Q(objectives__status=ObjectiveStatus.MET)),
        )
        .aggregate(
            goals_total=Count("pk"),
            goals_met=Count("pk", filter=Q(current__gt=0, met__gte=F("current"))),
        )
    )
    if not goals["goals_total"]:
        return None
    by_status = dict(
        Objective.objects.filter(
            goal__problem__version__plan__episode=episode,
            goal__problem__version__status=PlanVersion.Status.ACTIVE,
        )
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {
        "goals": int(goals["goals_total"]),
        "goals_met": int(goals["goals_met"]),
        "objectives": {s.value: int(by_status.get(s.value, 0)) for s in ObjectiveStatus},
        "objectives_total": sum(int(n) for n in by_status.values()),
    }


# --- the whole --------------------------------------------------------------------------------


def gather_facts(episode: EpisodeOfCare, discharge_date: dt.date) -> dict[str, Any]:
    """Everything the summary states about the stay, as JSON; a constant number of queries."""
    zone = episode.facility.zone
    start, end = _stay_bounds(episode, discharge_date, zone)
    program = episode.program
    stay = rules.length_of_stay(episode.admission_date, discharge_date)
    return {
        "version": FACTS_VERSION,
        "gathered_at": timezone.now().isoformat(),
        "admission_date": episode.admission_date.isoformat(),
        "discharge_date": discharge_date.isoformat(),
        "program": program.name,
        "level_of_care": episode.level_of_care,
        "level_history": _level_history(episode),
        "days_in_treatment": stay + 1,
        "length_of_stay": stay,
        "los_code": teds.los_code(max(stay, 0)),
        **_dose(episode, discharge_date),
        "attendance": _attendance(episode, discharge_date),
        "instruments": _instruments(episode, start, end, zone),
        "drug_tests": _drug_tests(episode, end, zone),
        "meetings": Meeting.objects.filter(episode=episode, date__lte=discharge_date).count(),
        "goals": _goals(episode),
        "relapses": RelapseEvent.objects.filter(
            patient_id=episode.patient_id,
            date__gte=episode.admission_date,
            date__lte=discharge_date,
        ).count(),
    }


# --- showing them ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactRow:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class InstrumentRow:
    name: str
    baseline: str
    last: str
    change: str
    given: int


def _us(iso: str | None) -> str:
    if not iso:
        return "—"
    return dt.date.fromisoformat(iso).strftime("%m/%d/%Y")


def _number(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def fact_rows(facts: dict[str, Any]) -> list[FactRow]:
    """The facts as label and words, in the order the summary states them."""
    if not facts:
        return []
    rows = [
        FactRow("Admitted", _us(facts.get("admission_date"))),
        FactRow("Discharged", _us(facts.get("discharge_date"))),
        FactRow("Program", f"{facts.get('program', '')} (level {facts.get('level_of_care', '')})"),
    ]
    history = facts.get("level_history") or []
    if history:
        moves = "; ".join(
            f"{_us(h['changed_on'])}: {h['from_program']} ({h['from_level']}) → "
            f"{h['to_program']} ({h['to_level']})"
            for h in history
        )
        rows.append(FactRow("Level-of-care changes", moves))
    days = int(facts.get("days_in_treatment", 0))
    rows.append(
        FactRow(
            "Days in treatment",
            str(days),
            "before day 90" if days < rules.MINIMUM_STAY_DAYS else "",
        )
    )
    rows.append(
        FactRow(
            "Length of stay",
            _plural(int(facts.get("length_of_stay", 0)), "day"),
            f"TEDS LOS code {facts.get('los_code')}",
        )
    )
    rows.append(FactRow("Hours attended", _number(facts.get("hours_attended", 0))))
    rows.append(FactRow("Service days", str(facts.get("service_days", 0))))
    if "weeks_meeting_dose" in facts:
        rows.append(
            FactRow(
                "Weeks meeting the program's minimum",
                f"{facts['weeks_meeting_dose']} of {facts.get('weeks_in_treatment', 0)}",
            )
        )
    attendance = facts.get("attendance") or {}
    rate = attendance.get("rate")
    rows.append(
        FactRow(
            "Attendance",
            f"{_number(rate)} %" if rate is not None else "No attendance recorded",
            f"{attendance.get('attended', 0)} of {attendance.get('recorded', 0)} sessions and "
            "appointments (cancelled sessions left out)"
            if rate is not None
            else "",
        )
    )
    tests = facts.get("drug_tests") or {}
    count = int(tests.get("count", 0))
    if count:
        unexpected = int(tests.get("unexpected_positive", 0))
        text = f"{_plural(count, 'test')}, {unexpected} with an unexpected positive"
        note = f"last test {_us(tests.get('last_test'))}"
        if unexpected:
            note += f"; last unexpected positive {_us(tests.get('last_unexpected_positive'))}"
        rows.append(FactRow("Drug tests", text, note))
    else:
        rows.append(FactRow("Drug tests", "None recorded"))
    rows.append(FactRow("Mutual-help meetings", str(facts.get("meetings", 0))))
    goals = facts.get("goals")
    if goals:
        objectives = goals.get("objectives", {})
        rows.append(
            FactRow(
                "Treatment-plan goals",
                f"{goals['goals_met']} of {goals['goals']} met",
                f"objectives: {objectives.get('met', 0)} met, "
                f"{objectives.get('in_progress', 0)} in progress, "
                f"{objectives.get('not_started', 0)} not started, "
                f"{objectives.get('discontinued', 0)} discontinued, "
                f"{objectives.get('revised', 0)} revised",
            )
        )
    else:
        rows.append(FactRow("Treatment-plan goals", "No active treatment plan"))
    rows.append(FactRow("Relapse events", str(facts.get("relapses", 0))))
    return rows


def _result(result: dict[str, Any] | None) -> str:
    if not result:
        return "—"
    parts = [str(result["total"])] if result.get("total") is not None else []
    if result.get("band"):
        parts.append(str(result["band"]))
    return f"{' · '.join(parts) or 'given'} ({_us(result.get('date'))})"


def instrument_rows(facts: dict[str, Any]) -> list[InstrumentRow]:
    rows = []
    for item in facts.get("instruments") or []:
        given = int(item.get("given", 1))
        change = item.get("change")
        rows.append(
            InstrumentRow(
                name=str(item.get("name", item.get("code", ""))),
                baseline=_result(item.get("baseline")),
                last=_result(item.get("last")) if given > 1 else "—",
                change=f"{change:+d}" if isinstance(change, int) and given > 1 else "",
                given=given,
            )
        )
    return rows
