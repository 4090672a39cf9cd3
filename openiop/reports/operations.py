"""The operational program reports (issue 7): census and flow, length of stay, completion and
discharge reasons, 90-day retention, attendance, dose compliance and caseload per clinician.

Every figure is a database aggregate (COUNT/SUM with GROUP BY over the facilities and dates of
``Filters``); Python only walks the days, weeks, months or stay lengths the database returns,
never the patients. A page costs a constant number of queries whatever the size of the data.
Nothing here names a patient; the caseload report names staff (``names_staff``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Field,
    Model,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from openiop.accounts.models import Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.admissions.rules import MINIMUM_STAY_DAYS
from openiop.core import teds
from openiop.discharge.models import Discharge
from openiop.discharge.rules import DISCHARGE_REASONS
from openiop.reports.base import Chart, Column, Filters, Result, Series, percent, register
from openiop.scheduling.models import Attendance, DoseDay
from openiop.scheduling.rules import MINUTE, service_day_minutes, week_start

# Attendance rows that count as attended, and the one that is not expected at all.
ATTENDED = (
    Attendance.Status.PRESENT,
    Attendance.Status.LATE,
    Attendance.Status.LEFT_EARLY,
)
NOT_EXPECTED = Attendance.Status.CANCELLED

# TEDS LOS groups (SPEC §9): codes 1–30 are single days, grouped here as one bar.
LOS_GROUPS: tuple[tuple[str, int, int | None], ...] = (
    ("1–30 days", 0, 30),
    ("31–45 days", 31, 45),
    ("46–60 days", 46, 60),
    ("61–90 days", 61, 90),
    ("91–120 days", 91, 120),
    ("121–180 days", 121, 180),
    ("181–365 days", 181, 365),
    ("More than 365 days", 366, None),
)
_LOS_CODES = ("1–30", "31", "32", "33", "34", "35", "36", "37")

_STAY = ExpressionWrapper(F("discharge_date") - F("admission_date"), output_field=DurationField())


# --- the rows every report starts from ---------------------------------------------------------


def today_of(filters: Filters) -> dt.date:
    return filters.today or timezone.localdate()


def episodes(filters: Filters) -> QuerySet[EpisodeOfCare]:
    """Episodes of the chosen facilities (and program)."""
    qs = EpisodeOfCare.objects.filter(facility_id__in=filters.facility_ids)
    if filters.program_id is not None:
        qs = qs.filter(program_id=filters.program_id)
    return qs


def in_care_on(qs: QuerySet[EpisodeOfCare], day: dt.date) -> QuerySet[EpisodeOfCare]:
    """In care on the day: admitted on or before it and not discharged before it (the
    discharge day itself counts, as it does for days in treatment)."""
    return qs.filter(admission_date__lte=day).filter(
        Q(discharge_date__isnull=True) | Q(discharge_date__gte=day)
    )


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    for n in range((end - start).days + 1):
        yield start + dt.timedelta(days=n)


def _as_date(value: object) -> dt.date:
    """A date from the database (a raw cursor on SQLite gives text, and a truncation may give
    a datetime)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:g} %"


def _num(value: float | int | None, places: int = 1) -> str:
    if value is None:
        return "—"
    return f"{round(float(value), places):g}"


# --- 1. census and admissions/discharges by day ------------------------------------------------


@dataclass(frozen=True)
class CensusDay:
    day: dt.date
    in_care: int
    admissions: int
    discharges: int


def census_days(filters: Filters) -> list[CensusDay]:
    """Per day of the range: the number in care, admissions and discharges. Three queries:
    the count in care on the first day, and admissions and discharges counted per day by
    GROUP BY; the census of each later day is the one before plus that day's admissions
    minus the previous day's discharges."""
    base = episodes(filters)
    first = in_care_on(base, filters.start).count()
    admitted = dict(
        base.filter(admission_date__range=(filters.start, filters.end))
        .values_list("admission_date")
        .annotate(n=Count("pk"))
        .order_by()
    )
    discharged = dict(
        base.filter(discharge_date__range=(filters.start, filters.end))
        .values_list("discharge_date")
        .annotate(n=Count("pk"))
        .order_by()
    )
    out: list[CensusDay] = []
    in_care = first
    for day in _days(filters.start, filters.end):
        if out:
            in_care += admitted.get(day, 0) - discharged.get(day - dt.timedelta(days=1), 0)
        out.append(CensusDay(day, in_care, admitted.get(day, 0), discharged.get(day, 0)))
    return out


@register(
    "census",
    "Census, admissions and discharges",
    "How many people were in care each day, and who came in and left.",
    order=10,
    default_days=90,
)
def census(filters: Filters, user: User) -> Result:
    days = census_days(filters)
    admissions = sum(d.admissions for d in days)
    discharges = sum(d.discharges for d in days)
    average = sum(d.in_care for d in days) / len(days) if days else None
    last = days[-1] if days else None
    return Result(
        columns=[
            Column("day", "Day", "date"),
            Column("in_care", "In care"),
            Column("admissions", "Admissions"),
            Column("discharges", "Discharges"),
        ],
        rows=[
            {
                "day": d.day,
                "in_care": d.in_care,
                "admissions": d.admissions,
                "discharges": d.discharges,
            }
            for d in days
        ],
        chart=Chart(
            "line",
            "day",
            (
                Series("in_care", "In care"),
                Series("admissions", "Admissions", kind="bar", axis="right"),
                Series("discharges", "Discharges", kind="bar", axis="right"),
            ),
            y_label="People in care",
        ),
        summary=[
            (f"In care on {filters.end:%m/%d/%Y}", str(last.in_care if last else 0)),
            ("Average daily census", _num(average)),
            ("Admissions", str(admissions)),
            ("Discharges", str(discharges)),
        ],
        notes=[
            "A person is in care on a day from their admission day to their discharge day, "
            "both included.",
            "Admissions and discharges are counted on the day they happened. A move between "
            "programs of the facility (PHP to IOP) is not a discharge: the episode goes on.",
        ],
    )


# --- 2. length of stay -------------------------------------------------------------------------


def stay_lengths(filters: Filters) -> dict[int, int]:
    """Discharges in the range by length of stay in days (discharge minus admission, as
    TEDS counts them): one GROUP BY; there are a few hundred distinct lengths at most."""
    rows = (
        episodes(filters)
        .filter(discharge_date__range=(filters.start, filters.end))
        .values_list(_STAY)
        .annotate(n=Count("pk"))
        .order_by()
    )
    out: dict[int, int] = {}
    for stay, n in rows:
        days = stay.days if isinstance(stay, dt.timedelta) else int(stay)
        out[days] = out.get(days, 0) + n
    return out


def median(histogram: dict[int, int]) -> float | None:
    """The median of values given as value → how many."""
    total = sum(histogram.values())
    if not total:
        return None
    lower_rank, upper_rank = (total + 1) // 2, total // 2 + 1
    seen = 0
    lower: int | None = None
    for value in sorted(histogram):
        seen += histogram[value]
        if lower is None and seen >= lower_rank:
            lower = value
        if seen >= upper_rank:
            return (lower + value) / 2 if lower is not None else float(value)
    return float(lower) if lower is not None else None


def los_group(days: int) -> int:
    """The index in ``LOS_GROUPS`` of a stay (the TEDS LOS code, grouped)."""
    code = teds.los_code(days)
    return 0 if code <= 30 else code - 30


@register(
    "length-of-stay",
    "Length of stay",
    "Discharges by length of stay in the TEDS groups, with the median and mean.",
    order=20,
    default_days=365,
)
def length_of_stay(filters: Filters, user: User) -> Result:
    histogram = stay_lengths(filters)
    total = sum(histogram.values())
    groups = [0] * len(LOS_GROUPS)
    for days, n in histogram.items():
        groups[los_group(days)] += n
    mean = sum(d * n for d, n in histogram.items()) / total if total else None
    at_90 = sum(n for d, n in histogram.items() if d + 1 >= MINIMUM_STAY_DAYS)
    return Result(
        columns=[
            Column("group", "Length of stay", "text"),
            Column("los", "TEDS LOS code", "text"),
            Column("discharges", "Discharges"),
            Column("share", "Share", "percent"),
        ],
        rows=[
            {
                "group": label,
                "los": code,
                "discharges": groups[i],
                "share": percent(groups[i], total),
            }
            for i, ((label, _, _), code) in enumerate(zip(LOS_GROUPS, _LOS_CODES, strict=True))
        ],
        chart=Chart("bar", "group", (Series("discharges", "Discharges"),), y_label="Discharges"),
        summary=[
            ("Discharges", str(total)),
            ("Median stay", f"{_num(median(histogram))} days" if total else "—"),
            ("Mean stay", f"{_num(mean)} days" if total else "—"),
            (f"Stayed {MINIMUM_STAY_DAYS} days or more", _pct(percent(at_90, total))),
        ],
        notes=[
            "Discharges dated in the range. The length of stay is the days from admission to "
            "discharge, as TEDS counts them: leaving on the admission day is 0 days and falls "
            "in the 1–30 group.",
            f"Day {MINIMUM_STAY_DAYS} in treatment is {MINIMUM_STAY_DAYS - 1} days after "
            "admission: most people need at least 90 days (NIDA).",
        ],
    )


# --- 3. completion rate and discharge reasons --------------------------------------------------


def discharges(filters: Filters) -> QuerySet[Discharge]:
    qs = Discharge.objects.filter(
        facility_id__in=filters.facility_ids,
        discharge_date__range=(filters.start, filters.end),
    )
    if filters.program_id is not None:
        qs = qs.filter(episode__program_id=filters.program_id)
    return qs


def reason_counts(filters: Filters) -> dict[tuple[str, int], int]:
    """Discharges in the range by (reason, TEDS REASON): one GROUP BY."""
    rows = discharges(filters).values_list("reason_key", "reason").annotate(n=Count("pk"))
    return {(key, int(code)): n for key, code, n in rows.order_by()}


def completion_counts(filters: Filters) -> tuple[int, int]:
    """(completed, all discharges) in the range: one query."""
    totals = discharges(filters).aggregate(
        done=Count("pk", filter=Q(reason=teds.Reason.COMPLETED)), all=Count("pk")
    )
    return totals["done"], totals["all"]


@register(
    "completion",
    "Completion rate and discharge reasons",
    "Why people left, and the share who completed treatment (TEDS REASON 1).",
    order=30,
    default_days=365,
)
def completion(filters: Filters, user: User) -> Result:
    counts = reason_counts(filters)
    total = sum(counts.values())
    completed = sum(n for (_, code), n in counts.items() if code == teds.Reason.COMPLETED)
    by_teds: dict[int, int] = {}
    for (_, code), n in counts.items():
        by_teds[code] = by_teds.get(code, 0) + n
    rows = []
    for key, (label, code) in DISCHARGE_REASONS.items():
        n = sum(m for (k, _), m in counts.items() if k == key)
        rows.append(
            {
                "reason": label,
                "teds": f"{int(code)} — {code.label}",
                "discharges": n,
                "share": percent(n, total),
            }
        )
    # A reason no longer offered still counts (words change; the TEDS code was kept).
    for (key, code), n in sorted(counts.items()):
        if key not in DISCHARGE_REASONS:
            rows.append(
                {
                    "reason": key,
                    "teds": f"{code} — {teds.Reason(code).label}",
                    "discharges": n,
                    "share": percent(n, total),
                }
            )
    dropped = by_teds.get(teds.Reason.DROPPED_OUT, 0)
    return Result(
        columns=[
            Column("reason", "Reason", "text"),
            Column("teds", "TEDS REASON", "text"),
            Column("discharges", "Discharges"),
            Column("share", "Share", "percent"),
        ],
        rows=rows,
        chart=Chart("doughnut", "reason", (Series("discharges", "Discharges"),)),
        summary=[
            ("Completion rate", _pct(percent(completed, total))),
            ("Completed", f"{completed} of {total}"),
            ("Dropped out", _pct(percent(dropped, total))),
            ("Discharges", str(total)),
        ],
        notes=[
            "Discharges dated in the range, by the reason the clinician chose. The completion "
            "rate is the share with TEDS REASON 1 (treatment completed), which includes "
            "completing IOP and stepping down to less care.",
        ],
    )


# --- 4. 90-day retention -----------------------------------------------------------------------

RETAINED_STAY = dt.timedelta(days=MINIMUM_STAY_DAYS - 1)


def retained_q() -> Q:
    """Still in care on day 90 (day 1 is the admission day): not discharged, or discharged
    on day 90 or later (discharge − admission + 1 ≥ 90)."""
    return Q(discharge_date__isnull=True) | Q(stay__gte=RETAINED_STAY)


@dataclass(frozen=True)
class RetentionMonth:
    month: dt.date
    admitted: int
    reached: int  # whose day 90 has come
    retained: int

    @property
    def rate(self) -> float | None:
        return percent(self.retained, self.reached)


def retention_months(filters: Filters) -> list[RetentionMonth]:
    """Admissions in the range by month: how many, how many have reached day 90 by today,
    and how many of those were still in care on day 90. One GROUP BY."""
    last_reached = today_of(filters) - RETAINED_STAY
    rows = (
        episodes(filters)
        .filter(admission_date__range=(filters.start, filters.end))
        .annotate(stay=_STAY, month=TruncMonth("admission_date"))
        .values("month")
        .annotate(
            admitted=Count("pk"),
            reached=Count("pk", filter=Q(admission_date__lte=last_reached)),
            retained=Count("pk", filter=Q(admission_date__lte=last_reached) & retained_q()),
        )
        .order_by("month")
    )
    return [
        RetentionMonth(_as_date(r["month"]), r["admitted"], r["reached"], r["retained"])
        for r in rows
    ]


def retention_counts(filters: Filters) -> tuple[int, int]:
    """(retained, reached day 90) of the admissions in the range: one query."""
    last_reached = today_of(filters) - RETAINED_STAY
    totals = (
        episodes(filters)
        .filter(admission_date__range=(filters.start, min(filters.end, last_reached)))
        .annotate(stay=_STAY)
        .aggregate(reached=Count("pk"), retained=Count("pk", filter=retained_q()))
    )
    return totals["retained"], totals["reached"]


@register(
    "retention",
    "90-day retention",
    "Of the people admitted, the share still in care on their 90th day.",
    order=40,
    default_days=365,
)
def retention(filters: Filters, user: User) -> Result:
    months = retention_months(filters)
    reached = sum(m.reached for m in months)
    retained = sum(m.retained for m in months)
    waiting = sum(m.admitted - m.reached for m in months)
    return Result(
        columns=[
            Column("month", "Admitted in", "month"),
            Column("admitted", "Admissions"),
            Column("reached", "Reached day 90"),
            Column("retained", "In care on day 90"),
            Column("rate", "Retention", "percent"),
        ],
        rows=[
            {
                "month": m.month,
                "admitted": m.admitted,
                "reached": m.reached,
                "retained": m.retained,
                "rate": m.rate,
            }
            for m in months
        ],
        chart=Chart(
            "line", "month", (Series("rate", "Retention"),), y_label="Retention", percent=True
        ),
        summary=[
            ("90-day retention", _pct(percent(retained, reached))),
            ("In care on day 90", f"{retained} of {reached}"),
            ("Not at day 90 yet", str(waiting)),
        ],
        notes=[
            "Admissions dated in the range, by the month of admission. Day 1 is the admission "
            "day, so day 90 is 89 days after it.",
            "A person counts once their day 90 has come (admission + 89 days is today or "
            "earlier); people admitted more recently are left out of the rate until then.",
            "Retained means still in care on day 90: not discharged, or discharged on day 90 "
            "or later. A discharge on day 89 is not retained.",
        ],
    )


# --- 5. attendance rate ------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceWeek:
    week: dt.date
    expected: int
    attended: int
    excused: int
    unexcused: int

    @property
    def rate(self) -> float | None:
        return percent(self.attended, self.expected)


def _attendance(filters: Filters) -> QuerySet[Attendance]:
    qs = Attendance.objects.filter(
        facility_id__in=filters.facility_ids,
        service_date__range=(filters.start, filters.end),
    ).exclude(status=NOT_EXPECTED)
    if filters.program_id is not None:
        qs = qs.filter(episode__program_id=filters.program_id)
    return qs


def attendance_weeks(filters: Filters) -> list[AttendanceWeek]:
    """Attendance rows of sessions and appointments in the range by week (Monday): expected
    (every row but a cancelled session), attended (present, late, left early). One GROUP BY
    per day (cheaper than truncating every row to its week); the days are added up into
    their weeks here."""
    rows = (
        _attendance(filters)
        .values_list("service_date")
        .annotate(
            expected=Count("pk"),
            attended=Count("pk", filter=Q(status__in=ATTENDED)),
            excused=Count("pk", filter=Q(status=Attendance.Status.EXCUSED)),
            unexcused=Count("pk", filter=Q(status=Attendance.Status.UNEXCUSED)),
        )
        .order_by("service_date")
    )
    weeks: dict[dt.date, list[int]] = {}
    for day, *counts in rows:
        total = weeks.setdefault(week_start(_as_date(day)), [0, 0, 0, 0])
        for i, n in enumerate(counts):
            total[i] += n
    return [AttendanceWeek(week, *counts) for week, counts in sorted(weeks.items())]


def attendance_counts(filters: Filters) -> tuple[int, int]:
    """(attended, expected) in the range: one query."""
    totals = _attendance(filters).aggregate(
        attended=Count("pk", filter=Q(status__in=ATTENDED)), all=Count("pk")
    )
    return totals["attended"], totals["all"]


@register(
    "attendance",
    "Attendance rate",
    "Sessions and appointments attended, of those expected, by week.",
    order=50,
    default_days=84,
)
def attendance(filters: Filters, user: User) -> Result:
    weeks = attendance_weeks(filters)
    expected = sum(w.expected for w in weeks)
    attended = sum(w.attended for w in weeks)
    unexcused = sum(w.unexcused for w in weeks)
    return Result(
        columns=[
            Column("week", "Week of", "date"),
            Column("expected", "Expected"),
            Column("attended", "Attended"),
            Column("excused", "Excused absences"),
            Column("unexcused", "Unexcused absences"),
            Column("rate", "Attendance rate", "percent"),
        ],
        rows=[
            {
                "week": w.week,
                "expected": w.expected,
                "attended": w.attended,
                "excused": w.excused,
                "unexcused": w.unexcused,
                "rate": w.rate,
            }
            for w in weeks
        ],
        chart=Chart(
            "line",
            "week",
            (Series("rate", "Attendance rate"),),
            y_label="Attended",
            percent=True,
        ),
        summary=[
            ("Attendance rate", _pct(percent(attended, expected))),
            ("Attended", f"{attended} of {expected}"),
            ("Unexcused absences", str(unexcused)),
        ],
        notes=[
            "Every group session and appointment recorded for a person in the range counts "
            "as expected, except sessions the program cancelled. Present, late and left "
            "early count as attended; excused and unexcused absences do not.",
            "Weeks run Monday to Sunday; the first and last week may hold only the days "
            "inside the range.",
        ],
    )


# --- 6. dose compliance by week ----------------------------------------------------------------


@dataclass(frozen=True)
class DoseWeek:
    week: dt.date
    episode_weeks: int
    meeting: int
    above: int

    @property
    def rate(self) -> float | None:
        return percent(self.meeting, self.episode_weeks)


@dataclass(frozen=True)
class DoseRule:
    """A program's dose rules in whole minutes (attended minutes are whole numbers, so
    "at least 3.0 h" is "at least 180 minutes" and "at most 19 h" is "at most 1,140")."""

    program_id: int
    day_minutes: int  # a service day has at least this many
    days: int  # service days a week
    week_minutes: int  # minutes a week, at least
    max_minutes: int  # above this is flagged; -1 for no maximum

    @classmethod
    def of(cls, program: Program) -> DoseRule:
        rules = program.dose_rules()
        week = rules.min_hours_per_week * MINUTE
        most = rules.max_hours_per_week
        return cls(
            program.pk,
            service_day_minutes(rules),
            rules.min_days_per_week,
            int(week.to_integral_value(rounding=ROUND_CEILING)),
            -1 if most is None else int((most * MINUTE).to_integral_value(rounding=ROUND_FLOOR)),
        )

    @property
    def sql(self) -> str:
        return (
            f"({int(self.program_id)}, {int(self.day_minutes)}, {int(self.days)}, "
            f"{int(self.week_minutes)}, {int(self.max_minutes)})"
        )


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):  # a reverse relation has no column
        raise TypeError(f"{model.__name__}.{name} is not a column.")
    return field.column


def dose_rules(filters: Filters) -> list[DoseRule]:
    """The rules of the programs the filters cover (one small query)."""
    programs = Program.objects.filter(facility_id__in=filters.facility_ids)
    if filters.program_id is not None:
        programs = programs.filter(pk=filters.program_id)
    return [DoseRule.of(p) for p in programs.order_by("pk")]


def dose_weeks(filters: Filters) -> list[DoseWeek]:
    """Episode-weeks with time attended (a week of absences or cancelled sessions only is
    not counted) in the weeks whose Monday is in the range, by week, and how many met their
    program's minimum (and went above its maximum): two queries.

    The inner GROUP BY makes one row per (week, episode) with its minutes and service days
    (before any join), the outer one counts them per week against the episode's program. The
    ORM cannot group a grouped query, so this is SQL (the same on SQLite and PostgreSQL); the
    programs' rules come in as whole minutes in a VALUES list, so the per-row work is integer
    comparisons. At 10 facilities × 5 years (4.8 million DoseDay rows) grouping before the
    join, in the order of an index, is what keeps it under the 2 s target."""
    rules = dose_rules(filters)
    if not rules:
        return []
    values = ", ".join(r.sql for r in rules)
    day = DoseDay._meta
    ep = EpisodeOfCare._meta
    col = {f: _column(DoseDay, f) for f in ("week_start", "episode", "minutes", "facility")}
    program_col = _column(EpisodeOfCare, "program")
    places = ", ".join(["%s"] * len(filters.facility_ids))
    params: list[Any] = [*filters.facility_ids, filters.start, filters.end]
    only_program = ""
    if filters.program_id is not None:
        episodes = f"SELECT id FROM {ep.db_table} WHERE {program_col} = %s"  # noqa: S608
        only_program = f"AND d.{col['episode']} IN ({episodes})"
        params.append(filters.program_id)
    # The dose days are grouped by week and episode on their own (an index-only scan of
    # doseday_week_episode on PostgreSQL, no join per row), counting the service days once per
    # distinct day minimum of the programs; the episode's program picks its count afterwards.
    thresholds = sorted({r.day_minutes for r in rules})
    day_counts = ",\n".join(
        f"SUM(CASE WHEN d.{col['minutes']} >= {int(m)} THEN 1 ELSE 0 END) AS days_{i}"
        for i, m in enumerate(thresholds)
    )
    days = (
        "CASE p.column2 "
        + " ".join(f"WHEN {int(m)} THEN t.days_{i}" for i, m in enumerate(thresholds))
        + " END"
    )
    # Identifiers come from the models' metadata and the numbers are ints: nothing typed by a
    # person reaches the SQL text, which takes the filters as parameters.
    sql = f"""
        SELECT t.week_start, COUNT(*),
               SUM(CASE WHEN {days} >= p.column3 AND t.minutes >= p.column4 THEN 1 ELSE 0 END),
               SUM(CASE WHEN p.column5 >= 0 AND t.minutes > p.column5 THEN 1 ELSE 0 END)
        FROM (
            SELECT d.{col["week_start"]} AS week_start, d.{col["episode"]} AS episode_id,
                   SUM(d.{col["minutes"]}) AS minutes,
                   {day_counts}
            FROM {day.db_table} d
            WHERE d.{col["facility"]} IN ({places})
              AND d.{col["week_start"]} BETWEEN %s AND %s {only_program}
            GROUP BY d.{col["week_start"]}, d.{col["episode"]}
            HAVING SUM(d.{col["minutes"]}) > 0
        ) t
        JOIN {ep.db_table} e ON e.id = t.episode_id
        JOIN (VALUES {values}) p ON p.column1 = e.{program_col}
        GROUP BY t.week_start
        ORDER BY t.week_start
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [DoseWeek(_as_date(w), int(n), int(m or 0), int(a or 0)) for w, n, m, a in rows]


def dose_counts(filters: Filters) -> tuple[int, int]:
    """(episode-weeks meeting the minimum, episode-weeks with attendance)."""
    weeks = dose_weeks(filters)
    return sum(w.meeting for w in weeks), sum(w.episode_weeks for w in weeks)


@register(
    "dose",
    "Dose compliance by week",
    "Of the people who attended in a week, the share who met the program's weekly minimum.",
    order=60,
    default_days=84,
)
def dose(filters: Filters, user: User) -> Result:
    weeks = dose_weeks(filters)
    today = today_of(filters)
    total = sum(w.episode_weeks for w in weeks)
    meeting = sum(w.meeting for w in weeks)
    above = sum(w.above for w in weeks)
    return Result(
        columns=[
            Column("week", "Week of", "date"),
            Column("episode_weeks", "People who attended"),
            Column("meeting", "Met the minimum"),
            Column("above", "Above the maximum"),
            Column("rate", "Compliance", "percent"),
            Column("status", "Note", "text"),
        ],
        rows=[
            {
                "week": w.week,
                "episode_weeks": w.episode_weeks,
                "meeting": w.meeting,
                "above": w.above,
                "rate": w.rate,
                "status": "week not over yet" if w.week + dt.timedelta(days=6) >= today else "",
            }
            for w in weeks
        ],
        chart=Chart(
            "bar",
            "week",
            (Series("rate", "Met the minimum"),),
            y_label="People who attended",
            percent=True,
        ),
        summary=[
            ("Dose compliance", _pct(percent(meeting, total))),
            ("Weeks at the minimum", f"{meeting} of {total}"),
            ("Weeks above the maximum", str(above)),
        ],
        notes=[
            "For each person and week (Monday to Sunday) with any attendance: the week meets "
            "the minimum with enough service days (days with at least the program's daily "
            "hours) and enough hours in the week, by the person's program rules. A week "
            "above the program's maximum still meets the minimum and is counted apart too.",
            "A week belongs to the range that holds its Monday. Weeks with no attendance at "
            "all are not counted here: see the attendance rate.",
        ],
    )


# --- 7. caseload per clinician -----------------------------------------------------------------


@dataclass(frozen=True)
class ClinicianLoad:
    name: str
    open: int
    admissions: int
    discharges: int


def caseload_rows(filters: Filters, as_of: dt.date) -> list[ClinicianLoad]:
    """Per primary clinician: episodes open on ``as_of`` and admissions and discharges in the
    range. One GROUP BY."""
    open_q = Q(admission_date__lte=as_of) & (
        Q(discharge_date__isnull=True) | Q(discharge_date__gte=as_of)
    )
    admitted_q = Q(admission_date__range=(filters.start, filters.end))
    discharged_q = Q(discharge_date__range=(filters.start, filters.end))
    rows = (
        episodes(filters)
        .filter(open_q | admitted_q | discharged_q)
        .values(
            "primary_clinician_id",
            "primary_clinician__first_name",
            "primary_clinician__last_name",
            "primary_clinician__email",
        )
        .annotate(
            open=Count("pk", filter=open_q),
            admissions=Count("pk", filter=admitted_q),
            discharges=Count("pk", filter=discharged_q),
        )
        .order_by(
            "primary_clinician__last_name", "primary_clinician__first_name", "primary_clinician_id"
        )
    )
    out = []
    for r in rows:
        name = f"{r['primary_clinician__first_name']} {r['primary_clinician__last_name']}".strip()
        out.append(
            ClinicianLoad(
                name or r["primary_clinician__email"], r["open"], r["admissions"], r["discharges"]
            )
        )
    return out


@register(
    "caseload",
    "Caseload per clinician",
    "Open episodes by primary clinician, with admissions and discharges in the range.",
    names_staff=True,
    order=70,
    default_days=30,
)
def caseload(filters: Filters, user: User) -> Result:
    as_of = min(filters.end, today_of(filters))
    rows = caseload_rows(filters, as_of)
    total = sum(r.open for r in rows)
    busiest = max((r.open for r in rows), default=0)
    return Result(
        columns=[
            Column("clinician", "Primary clinician", "text"),
            Column("open", f"Open on {as_of:%m/%d/%Y}"),
            Column("admissions", "Admissions"),
            Column("discharges", "Discharges"),
        ],
        rows=[
            {
                "clinician": r.name,
                "open": r.open,
                "admissions": r.admissions,
                "discharges": r.discharges,
            }
            for r in rows
        ],
        chart=Chart(
            "bar",
            "clinician",
            (Series("open", "Open episodes"),),
            y_label="Open episodes",
        ),
        summary=[
            (f"Open on {as_of:%m/%d/%Y}", str(total)),
            ("Clinicians", str(sum(1 for r in rows if r.open))),
            ("Largest caseload", str(busiest)),
            (
                "Average per clinician",
                _num(total / sum(1 for r in rows if r.open)) if total else "—",
            ),
        ],
        notes=[
            "Each episode counts for its primary clinician (the one named at admission or "
            "since). Open means in care on the date shown: the end of the range, or today.",
        ],
    )


# --- the director's dashboard ------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    detail: str = ""
    report: str = ""  # the report that explains it
    start: dt.date | None = None
    end: dt.date | None = None


def dashboard_tiles(facility_ids: tuple[int, ...], today: dt.date) -> list[Tile]:
    """The director's headline figures, each a handful of aggregate queries (eight in all)."""

    def over(start: dt.date, end: dt.date) -> Filters:
        return Filters(facility_ids, None, start, end, today=today)

    month = over(today - dt.timedelta(days=29), today)
    year = over(today - dt.timedelta(days=364), today)
    four_weeks = over(today - dt.timedelta(days=27), today)
    monday = week_start(today)
    complete_weeks = over(monday - dt.timedelta(days=28), monday - dt.timedelta(days=1))

    in_care = in_care_on(episodes(month), today).count()
    flow = episodes(month).aggregate(
        admitted=Count("pk", filter=Q(admission_date__range=(month.start, today))),
        discharged=Count("pk", filter=Q(discharge_date__range=(month.start, today))),
    )
    completed, discharged = completion_counts(year)
    retained, reached = retention_counts(year)
    attended, expected = attendance_counts(four_weeks)
    meeting, weeks = dose_counts(complete_weeks)
    return [
        Tile("In care today", str(in_care), "", "census", today - dt.timedelta(days=89), today),
        Tile("Admissions", str(flow["admitted"]), "last 30 days", "census", month.start, today),
        Tile("Discharges", str(flow["discharged"]), "last 30 days", "census", month.start, today),
        Tile(
            "Completion rate",
            _pct(percent(completed, discharged)),
            f"{completed} of {discharged} discharges, last 12 months",
            "completion",
            year.start,
            today,
        ),
        Tile(
            "90-day retention",
            _pct(percent(retained, reached)),
            f"{retained} of {reached} admitted in the last 12 months who reached day 90",
            "retention",
            year.start,
            today,
        ),
        Tile(
            "Attendance rate",
            _pct(percent(attended, expected)),
            f"{attended} of {expected}, last 4 weeks",
            "attendance",
            four_weeks.start,
            today,
        ),
        Tile(
            "Dose compliance",
            _pct(percent(meeting, weeks)),
            f"{meeting} of {weeks} person-weeks, last 4 complete weeks",
            "dose",
            complete_weeks.start,
            complete_weeks.end,
        ),
    ]
