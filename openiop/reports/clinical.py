"""Clinical and quality reports: instrument outcomes, drug-test positivity, mutual-help
participation, alumni outcomes, overdue plan reviews and unsigned notes (issue 7).

Each builder computes its figures in the database for the facilities, program and dates of
``Filters`` in a fixed number of queries; Python only shapes the few rows that come back
(one per instrument, month, week, follow-up day or staff member). The rules are the ones the
chart uses: baseline, latest, response and remission from ``measures``; expected and
unexpected positives as recorded on each result (``recovery``); the meetings a plan requires
(``recovery.selectors.meeting_weeks``); when a plan review is overdue (``plans.rules``); when
a note is unsigned too long (``notes``). No report names a patient; the two work lists name
the staff they are about.

Dates are the facility's local days: a drug test at 11 p.m. in Los Angeles on March 31 counts
in March, whatever the server's clock says.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    RowRange,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import (
    Cast,
    Coalesce,
    LastValue,
    RowNumber,
    TruncDate,
    TruncMonth,
    TruncWeek,
)
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThanOrEqual
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.discharge.models import FollowUp
from openiop.measures import instruments
from openiop.measures import rules as measure_rules
from openiop.measures.models import Administration
from openiop.notes import rules as note_rules
from openiop.notes.models import GroupNote, Note
from openiop.notes.selectors import settings_for
from openiop.recovery import rules as recovery_rules
from openiop.recovery.models import DrugTest, DrugTestResult, Meeting
from openiop.reports.base import Chart, Column, Filters, Result, Series, percent, register
from openiop.scheduling import rules as dose_rules

__all__ = [
    "alumni_outcomes",
    "drug_test_positivity",
    "instrument_outcomes",
    "mutual_help",
    "plan_reviews_overdue",
    "unsigned_notes",
    "unsigned_notes_as_of",
]

DASH = "—"


# --- shared pieces -------------------------------------------------------------------------------


def _zones(filters: Filters) -> dict[str, tuple[int, ...]]:
    """Time zone name → the chosen facilities in it (one query)."""
    found: dict[str, list[int]] = {}
    for pk, zone in Facility.objects.filter(pk__in=filters.facility_ids).values_list(
        "pk", "time_zone"
    ):
        found.setdefault(zone, []).append(pk)
    return {zone: tuple(sorted(ids)) for zone, ids in sorted(found.items())}


def _midnight(day: dt.date, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(zone))


def _local_range(
    field: str, facility_field: str, zones: Mapping[str, tuple[int, ...]], filters: Filters
) -> Q:
    """``field`` (a moment) falls on a local day from ``filters.start`` to ``filters.end``, in the
    time zone of the row's facility. Empty zones (no facility) match nothing."""
    q = Q(pk__in=[])
    for zone, ids in zones.items():
        q |= Q(
            **{
                f"{facility_field}__in": ids,
                f"{field}__gte": _midnight(filters.start, zone),
                f"{field}__lt": _midnight(filters.end + dt.timedelta(days=1), zone),
            }
        )
    return q


def _by_zone(
    zones: Mapping[str, tuple[int, ...]],
    build: Callable[[zoneinfo.ZoneInfo], Any],
    output_field: Any,
    facility_field: str = "facility_id",
) -> Any:
    """An expression that depends on the row's facility time zone: ``build(zone)`` itself when
    every facility shares one zone, else a CASE over the zones."""
    if len(zones) <= 1:
        return build(zoneinfo.ZoneInfo(next(iter(zones), "UTC")))
    return Case(
        *(
            When(Q(**{f"{facility_field}__in": ids}), then=build(zoneinfo.ZoneInfo(zone)))
            for zone, ids in zones.items()
        ),
        output_field=output_field,
    )


def _program(filters: Filters, field: str) -> Q:
    return Q(**{field: filters.program_id}) if filters.program_id is not None else Q()


def _episodes(filters: Filters) -> QuerySet[EpisodeOfCare]:
    return EpisodeOfCare.objects.filter(
        _program(filters, "program_id"), facility_id__in=filters.facility_ids
    )


def _in_care_between(start: dt.date, end: dt.date) -> Q:
    """Episodes in care on at least one day from ``start`` to ``end``."""
    return Q(admission_date__lte=end) & (
        Q(discharge_date__isnull=True) | Q(discharge_date__gte=start)
    )


def _day(value: dt.date) -> dt.date:
    """A day out of a truncated date: PostgreSQL hands a CASE over truncations back as a
    timestamp (midnight), which Django leaves as it is."""
    return value.date() if isinstance(value, dt.datetime) else value


def _one_decimal(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _share_text(part: int, whole: int) -> str:
    """ "12 of 40 (30.0 %)", or "—" with nothing to divide."""
    share = percent(part, whole)
    return DASH if share is None else f"{part} of {whole} ({share} %)"


def _staff_name(first: str, last: str, email: str) -> str:
    return f"{first} {last}".strip() or email


# --- 1. instrument outcomes ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Measure:
    """What a row follows: an instrument's total, or (the BAM, which has no total) its "use"
    subscale: days and amount of use in the past 30 days."""

    key: str
    code: str
    label: str
    subscale: str | None = None

    def value(self) -> Any:
        if self.subscale is None:
            return F("total")
        return Cast(KT(f"subscales__{self.subscale}"), IntegerField())


def _measures() -> list[_Measure]:
    found = []
    for code, definition in instruments.DEFINITIONS.items():
        if definition.total_range is not None:
            found.append(_Measure(code, code, definition.name))
        elif "use" in definition.subscales:
            title = instruments.SUBSCALE_TITLES["use"].lower()
            found.append(_Measure(f"{code}_use", code, f"{definition.name} ({title})", "use"))
    return found


def _stay_scores(
    filters: Filters, zones: Mapping[str, tuple[int, ...]], measures: list[_Measure]
) -> QuerySet[Any]:
    """One row per stay and instrument: the stay's first valid result (``value``, the baseline)
    with its latest result up to the end date (``last_value``), for stays with two results or
    more whose latest falls within the dates.

    The results of a stay are its patient's, given from the admission day to the discharge day
    (local days), as the chart's trend reads them (measures.selectors.trends). One window over
    the stay's results in the order given gives the first, the last and the count in a single
    sort; the first row of each window is kept."""
    stay = "patient__episodes__"
    local_day = _by_zone(
        zones,
        lambda z: TruncDate("administered_at", tzinfo=z),
        DateField(),
        f"{stay}facility_id",
    )
    before_end = Q(pk__in=[])
    for zone, ids in zones.items():
        before_end |= Q(
            **{
                f"{stay}facility_id__in": ids,
                "administered_at__lt": _midnight(filters.end + dt.timedelta(days=1), zone),
            }
        )
    # One filter() call: every condition is on the same stay (one join).
    results = Administration.objects.filter(
        before_end,
        _program(filters, f"{stay}program_id"),
        Q(**{f"{stay}discharge_date__isnull": True})
        | Q(**{f"{stay}discharge_date__gte": filters.start}),
        Q(GreaterThanOrEqual(local_day, F(f"{stay}admission_date"))),
        Q(LessThanOrEqual(local_day, Coalesce(F(f"{stay}discharge_date"), Value(filters.end)))),
        **{
            f"{stay}facility_id__in": filters.facility_ids,
            f"{stay}admission_date__lte": filters.end,
        },
        instrument__in=sorted({m.code for m in measures}),
        entered_in_error_at__isnull=True,
    )
    value = Case(
        *(When(instrument=m.code, then=m.value()) for m in measures if m.subscale is not None),
        default=F("total"),
        output_field=IntegerField(),
    )
    window: dict[str, Any] = {
        "partition_by": [F(f"{stay}id"), F("instrument")],
        "order_by": [F("administered_at").asc(), F("pk").asc()],
        "frame": RowRange(start=None, end=None),
    }
    latest_from = _by_zone(
        zones,
        lambda z: Value(_midnight(filters.start, z.key)),
        DateTimeField(),
        f"{stay}facility_id",
    )
    return (
        results.annotate(
            stay=F(f"{stay}id"),
            value=value,
            nth=Window(RowNumber(), **window),
            given=Window(Count("pk"), **window),
            last_value=Window(LastValue("value"), **window),
            last_at=Window(LastValue("administered_at"), **window),
            latest_from=latest_from,
        )
        .filter(nth=1, given__gte=2, last_at__gte=F("latest_from"))
        .order_by()
    )


@register(
    "instrument-outcomes",
    "Instrument outcomes",
    "First and latest scores of each questionnaire during a stay, the mean change and, for the "
    "PHQ-9, how many people responded (score down by half or more) or reached remission.",
    order=200,
)
def instrument_outcomes(filters: Filters, user: User) -> Result:
    """Per instrument: the stays with a baseline (the first valid result of the stay) and a
    later result, whose latest result up to the end date falls within the dates. Two queries."""
    measures = _measures()
    zones = _zones(filters)
    firsts = _stay_scores(filters, zones, measures)
    aggregates: dict[str, Any] = {"stays": Count("stay", distinct=True)}
    for m in measures:
        mine = Q(instrument=m.code)
        aggregates |= {
            f"n_{m.key}": Count("pk", filter=mine),
            f"base_{m.key}": Avg("value", filter=mine),
            f"last_{m.key}": Avg("last_value", filter=mine),
        }
        rule = measure_rules.RESPONSE_RULES.get(m.code) if m.subscale is None else None
        if rule is not None:
            drop, below = rule
            # measures.rules._progress: a response is a drop of ``drop`` × the baseline or
            # more (a baseline of 0 cannot respond); a remission a latest total under
            # ``below``. Whole percents, so exactly half is compared without rounding.
            responded: Any = GreaterThanOrEqual(
                (F("value") - F("last_value")) * Value(100), F("value") * Value(round(drop * 100))
            )
            aggregates[f"response_{m.key}"] = Count(
                "pk", filter=mine & Q(value__gt=0) & Q(responded)
            )
            aggregates[f"remission_{m.key}"] = Count("pk", filter=mine & Q(last_value__lt=below))
    totals = firsts.aggregate(**aggregates)

    rows: list[dict[str, Any]] = []
    for m in measures:
        n = totals[f"n_{m.key}"]
        if not n:
            continue
        mean_base = _one_decimal(totals[f"base_{m.key}"])
        mean_last = _one_decimal(totals[f"last_{m.key}"])
        change = (
            round(float(totals[f"last_{m.key}"]) - float(totals[f"base_{m.key}"]), 1)
            if mean_base is not None and mean_last is not None
            else None
        )
        response = totals.get(f"response_{m.key}")
        remission = totals.get(f"remission_{m.key}")
        rows.append(
            {
                "instrument": m.label,
                "patients": n,
                "mean_baseline": mean_base,
                "mean_latest": mean_last,
                "mean_change": change,
                "responses": response,
                "response_share": percent(response, n),
                "remissions": remission,
                "remission_share": percent(remission, n),
            }
        )
    return Result(
        columns=[
            Column("instrument", "Instrument", "text"),
            Column("patients", "People counted"),
            Column("mean_baseline", "Mean first score", "decimal"),
            Column("mean_latest", "Mean latest score", "decimal"),
            Column("mean_change", "Mean change", "decimal"),
            Column("responses", "Response"),
            Column("response_share", "Response rate", "percent"),
            Column("remissions", "Remission"),
            Column("remission_share", "Remission rate", "percent"),
        ],
        rows=rows,
        chart=Chart(
            "bar",
            "instrument",
            (Series("mean_baseline", "First score (mean)"), Series("mean_latest", "Latest (mean)")),
            y_label="Score",
        ),
        summary=[("Stays with a first and a later score", str(totals["stays"]))] if rows else [],
        notes=[
            "A stay counts for an instrument when it has a first score and a later one, and "
            "its latest score up to the end date was given within these dates. A person with "
            "two stays counts once per stay.",
            "Response (PHQ-9): the latest score is half the first score or less. Remission "
            "(PHQ-9): the latest score is under 5. Other instruments have no such rule; their "
            "rates are left empty.",
            "The BAM has no total: its row follows the use score (questions 4 to 6). Lower "
            "is better on every row.",
            "Results marked entered in error are left out, as on the chart.",
        ],
    )


# --- 2. drug-test positivity ---------------------------------------------------------------------


def _month_label(month: dt.date) -> str:
    return f"{month:%b %Y}"


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month from ``start``'s to ``end``'s."""
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _local_month(zones: Mapping[str, tuple[int, ...]], field: str, facility_field: str) -> Any:
    return _by_zone(
        zones,
        lambda z: TruncMonth(field, output_field=DateField(), tzinfo=z),
        DateField(),
        facility_field,
    )


@register(
    "drug-test-positivity",
    "Drug-test positivity",
    "Drug tests collected, the share with any positive result and with a positive that no "
    "prescription explains, by month and by substance.",
    order=210,
)
def drug_test_positivity(filters: Filters, user: User) -> Result:
    """Tests collected within the dates (local days), by month, with the positives found for
    each substance. A result's reading (expected or unexpected) is the one stored when it was
    recorded, as the chart shows it. Three queries."""
    zones = _zones(filters)
    tests = DrugTest.objects.filter(
        _local_range("collected_at", "facility_id", zones, filters),
        _program(filters, "episode__program_id"),
        facility_id__in=filters.facility_ids,
    )
    results = DrugTestResult.objects.filter(test=OuterRef("pk"))
    positive = DrugTestResult.Result.POSITIVE
    by_month = {
        _day(r["month"]): r
        for r in tests.annotate(month=_local_month(zones, "collected_at", "facility_id"))
        .values("month")
        .annotate(
            tests=Count("pk"),
            with_positive=Count("pk", filter=Q(Exists(results.filter(result=positive)))),
            with_unexpected=Count(
                "pk",
                filter=Q(Exists(results.filter(reading=DrugTestResult.Reading.UNEXPECTED))),
            ),
        )
        .order_by()
    }
    substance_counts = (
        DrugTestResult.objects.filter(test__in=tests.values("pk"), result=positive)
        .annotate(month=_local_month(zones, "test__collected_at", "test__facility_id"))
        .values("month", "substance")
        .annotate(n=Count("pk"))
        .order_by()
    )
    per_month: dict[tuple[dt.date, str], int] = {}
    substance_totals: dict[str, int] = {}
    for r in substance_counts:
        per_month[(_day(r["month"]), r["substance"])] = r["n"]
        substance_totals[r["substance"]] = substance_totals.get(r["substance"], 0) + r["n"]
    substances = [s for s in recovery_rules.SUBSTANCES if s in substance_totals]

    rows: list[dict[str, Any]] = []
    if by_month:
        for month in _months(filters.start, filters.end):
            found = by_month.get(month, {})
            n = found.get("tests", 0)
            row: dict[str, Any] = {
                "month": _month_label(month),
                "tests": n,
                "positive": found.get("with_positive", 0),
                "positive_share": percent(found.get("with_positive", 0), n),
                "unexpected": found.get("with_unexpected", 0),
                "unexpected_share": percent(found.get("with_unexpected", 0), n),
            }
            for s in substances:
                row[f"positive_{s}"] = per_month.get((month, s), 0)
            rows.append(row)

    total = sum(r["tests"] for r in by_month.values())
    total_positive = sum(r["with_positive"] for r in by_month.values())
    total_unexpected = sum(r["with_unexpected"] for r in by_month.values())
    summary: list[tuple[str, str]] = []
    if total:
        summary = [
            ("Tests", str(total)),
            ("Any positive", _share_text(total_positive, total)),
            ("Unexpected positive", _share_text(total_unexpected, total)),
        ]
    if substances:
        most_first = sorted(substances, key=lambda s: -substance_totals[s])
        summary.append(
            (
                "Positives by substance",
                ", ".join(
                    f"{recovery_rules.SUBSTANCES[s]} {substance_totals[s]}" for s in most_first
                ),
            )
        )
    return Result(
        columns=[
            Column("month", "Month", "text"),
            Column("tests", "Tests"),
            Column("positive", "Any positive"),
            Column("positive_share", "Any positive (%)", "percent"),
            Column("unexpected", "Unexpected positive"),
            Column("unexpected_share", "Unexpected positive (%)", "percent"),
            *(
                Column(f"positive_{s}", f"Positive: {recovery_rules.SUBSTANCES[s]}")
                for s in substances
            ),
        ],
        rows=rows,
        chart=Chart(
            "line",
            "month",
            (
                Series("positive_share", "Any positive"),
                Series("unexpected_share", "Unexpected positive"),
            ),
            y_label="Share of tests (%)",
            percent=True,
        ),
        summary=summary,
        notes=[
            "A test counts in the month it was collected (the facility's local day).",
            "Unexpected: a positive that no prescription current on the day explains (SPEC "
            "§8), as read when the result was recorded. Invalid or dilute results are not "
            "positives.",
            "The substance columns count positive results; one test can be positive for "
            "several substances.",
        ],
    )


# --- 3. mutual-help participation ----------------------------------------------------------------


def _mondays(start: dt.date, end: dt.date) -> list[dt.date]:
    first, last = dose_rules.week_start(start), dose_rules.week_start(end)
    return [first + dt.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def _plan_in_force(zones: Mapping[str, tuple[int, ...]]) -> FilteredRelation:
    """The plan version in force in a meeting's week, as the Recovery tab reads it
    (recovery.selectors.meeting_weeks): the last one activated on or before the week's Sunday
    (local day). A version stays in force until the next one is activated (``superseded_at``),
    so at most one matches a week. A join rather than a lookup per meeting."""
    versions = "episode__treatment_plan__versions__"

    def week_of(field: str) -> Any:
        return _by_zone(
            zones,
            lambda z: TruncWeek(
                TruncDate(f"{versions}{field}", tzinfo=z), output_field=DateField()
            ),
            DateField(),
        )

    return FilteredRelation(
        "episode__treatment_plan__versions",
        condition=Q(LessThanOrEqual(week_of("activated_at"), F("week_start")))
        & (
            Q(**{f"{versions}superseded_at__isnull": True})
            | Q(GreaterThan(week_of("superseded_at"), F("week_start")))
        ),
    )


def _fellowship_label(code: str) -> str:
    return "Other fellowship" if code == "other" else recovery_rules.FELLOWSHIPS[code]


@register(
    "mutual-help",
    "Mutual-help participation",
    "Mutual-help meetings attended each week, how many people went, and the share of weeks "
    "in care in which a person attended the meetings their plan requires.",
    order=220,
)
def mutual_help(filters: Filters, user: User) -> Result:
    """Per week (Monday to Sunday; the weeks holding the start and end dates count whole):
    meetings by fellowship, people with a meeting, and the weeks in care of stays whose program
    requires meetings, with those that met the requirement. Seven queries."""
    mondays = _mondays(filters.start, filters.end)
    first, last_sunday = mondays[0], mondays[-1] + dt.timedelta(days=6)
    zones = _zones(filters)
    meetings = Meeting.objects.filter(
        _program(filters, "episode__program_id"),
        facility_id__in=filters.facility_ids,
        week_start__gte=first,
        week_start__lte=mondays[-1],
    )
    by_fellowship: dict[tuple[dt.date, str], int] = {
        (r["week_start"], r["fellowship"]): r["n"]
        for r in meetings.values("week_start", "fellowship").annotate(n=Count("pk")).order_by()
    }
    people = {
        r["week_start"]: r["n"]
        for r in meetings.values("week_start")
        .annotate(n=Count("patient", distinct=True))
        .order_by()
    }
    people_total = meetings.aggregate(n=Count("patient", distinct=True))["n"]
    # A week meets the plan when its n-th meeting exists, n being the meetings it requires:
    # number each stay's meetings within the week and keep the one numbered n.
    nth_required = (
        meetings.filter(episode__program__required_meetings_per_week__gt=0)
        .annotate(version=_plan_in_force(zones))
        .annotate(
            nth=Window(
                RowNumber(),
                partition_by=[F("episode_id"), F("week_start")],
                order_by=[F("date").asc(), F("pk").asc()],
            ),
            # The plan's number, else the program's (before a plan is signed).
            required=Coalesce(
                F("version__meetings_per_week"),
                F("episode__program__required_meetings_per_week"),
            ),
        )
        .filter(nth=F("required"))
    )
    met = {
        r["week_start"]: r["n"]
        for r in Meeting.objects.filter(pk__in=nth_required.values("pk"))
        .values("week_start")
        .annotate(n=Count("pk"))
        .order_by()
    }
    in_care = _weeks_in_care(filters, mondays)

    fellowships = [
        code for code in recovery_rules.FELLOWSHIPS if any(f == code for _, f in by_fellowship)
    ]
    rows: list[dict[str, Any]] = []
    if by_fellowship or any(in_care.values()):
        for monday in mondays:
            counts = {code: by_fellowship.get((monday, code), 0) for code in fellowships}
            weeks, met_weeks = in_care[monday], met.get(monday, 0)
            rows.append(
                {
                    "week": monday,
                    "meetings": sum(counts.values()),
                    "people": people.get(monday, 0),
                    "weeks_in_care": weeks,
                    "weeks_met": met_weeks,
                    "met_share": percent(met_weeks, weeks),
                    **{f"meetings_{code}": n for code, n in counts.items()},
                }
            )
    weeks_total = sum(in_care.values())
    met_total = sum(met.values())
    summary: list[tuple[str, str]] = []
    if rows:
        summary = [
            ("Meetings", str(sum(r["meetings"] for r in rows))),
            ("People with a meeting", str(people_total)),
            ("Weeks meeting the plan", _share_text(met_total, weeks_total)),
        ]
    return Result(
        columns=[
            Column("week", "Week of", "date"),
            Column("meetings", "Meetings"),
            Column("people", "People with a meeting"),
            Column("weeks_in_care", "People in care"),
            Column("weeks_met", "Met their plan"),
            Column("met_share", "Met their plan (%)", "percent"),
            *(Column(f"meetings_{code}", _fellowship_label(code)) for code in fellowships),
        ],
        rows=rows,
        chart=Chart(
            "line",
            "week",
            (Series("met_share", "Met the meetings their plan requires"),),
            y_label="Share of people in care (%)",
            percent=True,
        ),
        summary=summary,
        notes=[
            "Weeks run Monday to Sunday; the weeks that hold the first and the last date "
            "count whole.",
            "A week meets the plan when the person attended at least the meetings per week of "
            "the plan version in force that week (the program's number before a plan is "
            "signed), as the Recovery tab counts it. People in care are counted in every "
            "week of their stay, the weeks of admission and discharge included; programs "
            "that require no meetings are left out of these columns. Weeks from "
            f"{first:%m/%d/%Y} to {last_sunday:%m/%d/%Y}.",
        ],
    )


def _weeks_in_care(filters: Filters, mondays: list[dt.date]) -> dict[dt.date, int]:
    """Monday → stays in care on at least one day of that week, in programs that require
    mutual-help meetings: admitted by its Sunday and not discharged before its Monday. Counted
    as a running census from admissions and discharges by week (two queries)."""
    first, last_sunday = mondays[0], mondays[-1] + dt.timedelta(days=6)
    stays = _episodes(filters).filter(
        _in_care_between(first, last_sunday), program__required_meetings_per_week__gt=0
    )
    admitted = {
        _day(r["week"]): r["n"]
        for r in stays.annotate(
            week=Case(
                When(admission_date__lt=first, then=Value(first)),
                default=TruncWeek("admission_date", output_field=DateField()),
                output_field=DateField(),
            )
        )
        .values("week")
        .annotate(n=Count("pk"))
        .order_by()
    }
    discharged = {
        _day(r["week"]): r["n"]
        for r in stays.filter(discharge_date__lte=last_sunday)
        .annotate(week=TruncWeek("discharge_date", output_field=DateField()))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by()
    }
    census: dict[dt.date, int] = {}
    running = 0
    gone_before = 0  # discharged in an earlier week of the range
    for monday in mondays:
        running += admitted.get(monday, 0)
        census[monday] = running - gone_before
        gone_before += discharged.get(monday, 0)
    return census


# --- 4. alumni outcomes --------------------------------------------------------------------------

# Follow-ups still expected (cancelled ones, after a readmission or a death, are not due).
_DUE_STATUSES = (
    FollowUp.Status.DUE,
    FollowUp.Status.COMPLETED,
    FollowUp.Status.UNREACHABLE,
    FollowUp.Status.DECLINED,
)
_STABLE_HOUSING = (FollowUp.Housing.STABLE, FollowUp.Housing.RECOVERY_RESIDENCE)


@register(
    "alumni-outcomes",
    "Alumni outcomes",
    "Follow-ups after discharge (30, 60, 90, 180 and 365 days): how many were reached, and "
    "of those, how many stayed free of alcohol and drugs, work or study, have stable housing "
    "or were readmitted.",
    permission="reports.view_alumni_outcomes",
    order=230,
)
def alumni_outcomes(filters: Filters, user: User) -> Result:
    """Follow-ups due within the dates, by days after discharge; the outcomes are shares of
    the completed ones. One query."""
    completed = Q(status=FollowUp.Status.COMPLETED)
    found = list(
        FollowUp.objects.filter(
            _program(filters, "episode__program_id"),
            facility_id__in=filters.facility_ids,
            status__in=_DUE_STATUSES,
            due_on__gte=filters.start,
            due_on__lte=filters.end,
        )
        .values("days_after")
        .annotate(
            due=Count("pk"),
            completed=Count("pk", filter=completed),
            abstinent=Count("pk", filter=completed & Q(any_use=False)),
            days_used=Avg("days_used_30", filter=completed),
            working=Count("pk", filter=completed & Q(working_or_school=True)),
            housed=Count("pk", filter=completed & Q(housing__in=_STABLE_HOUSING)),
            readmitted=Count("pk", filter=completed & Q(readmitted=True)),
        )
        .order_by("days_after")
    )
    rows = [
        {
            "follow_up": f"{r['days_after']} days",
            "due": r["due"],
            "completed": r["completed"],
            "reach_rate": percent(r["completed"], r["due"]),
            "abstinent": r["abstinent"],
            "abstinent_share": percent(r["abstinent"], r["completed"]),
            "days_used": _one_decimal(r["days_used"]),
            "working": r["working"],
            "working_share": percent(r["working"], r["completed"]),
            "housed": r["housed"],
            "housed_share": percent(r["housed"], r["completed"]),
            "readmitted": r["readmitted"],
            "readmitted_share": percent(r["readmitted"], r["completed"]),
        }
        for r in found
    ]
    due = sum(r["due"] for r in rows)
    done = sum(r["completed"] for r in rows)
    summary: list[tuple[str, str]] = []
    if rows:
        summary = [
            ("Follow-ups due", str(due)),
            ("Reached", _share_text(done, due)),
            ("No use since discharge", _share_text(sum(r["abstinent"] for r in rows), done)),
        ]
    return Result(
        columns=[
            Column("follow_up", "Follow-up", "text"),
            Column("due", "Due"),
            Column("completed", "Completed"),
            Column("reach_rate", "Reached (%)", "percent"),
            Column("abstinent", "No use since discharge"),
            Column("abstinent_share", "No use since discharge (%)", "percent"),
            Column("days_used", "Days of use in the past 30 (mean)", "decimal"),
            Column("working", "Working or in school"),
            Column("working_share", "Working or in school (%)", "percent"),
            Column("housed", "Stable housing"),
            Column("housed_share", "Stable housing (%)", "percent"),
            Column("readmitted", "Readmitted"),
            Column("readmitted_share", "Readmitted (%)", "percent"),
        ],
        rows=rows,
        chart=Chart(
            "bar",
            "follow_up",
            (
                Series("reach_rate", "Reached"),
                Series("abstinent_share", "No use since discharge"),
                Series("working_share", "Working or in school"),
                Series("housed_share", "Stable housing"),
            ),
            y_label="Share (%)",
            percent=True,
        ),
        summary=summary,
        notes=[
            "Due: follow-ups whose due date is within the dates, cancelled ones left out (not "
            "needed after a readmission or a death). Reached: completed, out of those due.",
            "The outcomes are shares of the completed follow-ups, as the person answered. "
            "Stable housing includes a recovery residence.",
        ],
    )


# --- 5. overdue plan reviews ---------------------------------------------------------------------


def _overdue_reviews(filters: Filters) -> QuerySet[EpisodeOfCare]:
    """Stays open on the end date whose plan review was due before it (plans.rules.review_state:
    "overdue" is a due date before the day). The due date is the plan's current one, kept by
    the plans services from the program's review cycle, phase and level-of-care changes."""
    as_of = filters.end
    return _episodes(filters).filter(
        Q(discharge_date__isnull=True) | Q(discharge_date__gt=as_of),
        admission_date__lte=as_of,
        treatment_plan__review_due_on__lt=as_of,
    )


@register(
    "plan-reviews-overdue",
    "Overdue plan reviews",
    "For each clinician, the open stays whose treatment plan review is overdue on the end "
    "date, and how late the oldest one is.",
    names_staff=True,
    order=240,
)
def plan_reviews_overdue(filters: Filters, user: User) -> Result:
    """Per primary clinician, most overdue first, with a total. One query."""
    as_of = filters.end
    found = list(
        _overdue_reviews(filters)
        .values(
            "primary_clinician",
            "primary_clinician__first_name",
            "primary_clinician__last_name",
            "primary_clinician__email",
        )
        .annotate(n=Count("pk"), oldest=Min("treatment_plan__review_due_on"))
        .order_by()
    )
    rows = [
        {
            "clinician": _staff_name(
                r["primary_clinician__first_name"],
                r["primary_clinician__last_name"],
                r["primary_clinician__email"],
            ),
            "overdue": r["n"],
            "oldest_due": r["oldest"],
            "oldest_days": (as_of - r["oldest"]).days,
        }
        for r in found
    ]
    rows.sort(key=lambda r: (-r["overdue"], -r["oldest_days"], r["clinician"]))
    if rows:
        oldest = min(r["oldest_due"] for r in rows)
        rows.append(
            {
                "clinician": "All clinicians",
                "overdue": sum(r["overdue"] for r in rows),
                "oldest_due": oldest,
                "oldest_days": (as_of - oldest).days,
            }
        )
    return Result(
        columns=[
            Column("clinician", "Clinician", "text"),
            Column("overdue", "Reviews overdue"),
            Column("oldest_due", "Oldest was due", "date"),
            Column("oldest_days", "Days overdue (oldest)", "days"),
        ],
        rows=rows,
        summary=[("Reviews overdue", str(rows[-1]["overdue"]))] if rows else [],
        notes=[
            f"Open stays on {as_of:%m/%d/%Y} (the end date) whose treatment plan review was "
            "due before that day, by primary clinician. The due date is the plan's current "
            "one: a review done after the end date no longer shows here.",
            "Stays without a signed plan have no review date yet and are not listed.",
        ],
    )


# --- 6. unsigned notes ---------------------------------------------------------------------------


def _unsigned(filters: Filters) -> tuple[QuerySet[Note], QuerySet[GroupNote]]:
    """Notes and group notes not signed yet, for services within the dates."""
    common = Q(
        facility_id__in=filters.facility_ids,
        signed_at__isnull=True,
        service_date__gte=filters.start,
        service_date__lte=filters.end,
    )
    notes = Note.objects.filter(common, _program(filters, "episode__program_id"))
    groups = GroupNote.objects.filter(common, _program(filters, "session__group__program_id"))
    return notes, groups


def _unsigned_after_hours(filters: Filters) -> int:
    """The organization's limit (notes settings) for the chosen facilities (two queries)."""
    organization_id = (
        Facility.objects.filter(pk__in=filters.facility_ids)
        .order_by("pk")
        .values_list("organization_id", flat=True)
        .first()
    )
    return settings_for(organization_id).unsigned_after_hours


@register(
    "unsigned-notes",
    "Unsigned notes",
    "For each author, the notes and group notes not signed yet, how many are past the "
    "organization's limit and how old the oldest one is.",
    names_staff=True,
    order=250,
)
def unsigned_notes(filters: Filters, user: User) -> Result:
    return unsigned_notes_as_of(filters, now=timezone.now())


def unsigned_notes_as_of(filters: Filters, *, now: dt.datetime) -> Result:
    """Per author, unsigned at ``now``, for services within the dates, most past the limit
    first, with a total. Four queries."""
    limit = _unsigned_after_hours(filters)
    cutoff = note_rules.unsigned_cutoff(now, limit)
    by_author: dict[int, dict[str, Any]] = {}
    for kind, documents in zip(("notes", "group_notes"), _unsigned(filters), strict=True):
        found = (
            documents.values("author", "author__first_name", "author__last_name", "author__email")
            .annotate(
                n=Count("pk"),
                late=Count("pk", filter=Q(ended_at__lt=cutoff)),
                oldest=Min("ended_at"),
            )
            .order_by()
        )
        for r in found:
            row = by_author.setdefault(
                r["author"],
                {
                    "author": _staff_name(
                        r["author__first_name"], r["author__last_name"], r["author__email"]
                    ),
                    "notes": 0,
                    "group_notes": 0,
                    "late": 0,
                    "oldest": r["oldest"],
                },
            )
            row[kind] = r["n"]
            row["late"] += r["late"]
            row["oldest"] = min(row["oldest"], r["oldest"])
    rows = [_unsigned_row(r, now) for r in by_author.values()]
    rows.sort(key=lambda r: (-r["past_limit"], -r["oldest_hours"], r["author"]))
    if rows:
        rows.append(
            _unsigned_row(
                {
                    "author": "All authors",
                    "notes": sum(r["notes"] for r in rows),
                    "group_notes": sum(r["group_notes"] for r in rows),
                    "late": sum(r["past_limit"] for r in rows),
                    "oldest": min(r["oldest"] for r in by_author.values()),
                },
                now,
            )
        )
    return Result(
        columns=[
            Column("author", "Author", "text"),
            Column("notes", "Notes"),
            Column("group_notes", "Group notes"),
            Column("unsigned", "Unsigned"),
            Column("past_limit", f"Unsigned over {limit} h"),
            Column("oldest_hours", "Oldest (hours)"),
            Column("oldest_days", "Oldest (days)", "days"),
        ],
        rows=rows,
        summary=(
            [
                ("Unsigned", str(rows[-1]["unsigned"])),
                (f"Over {limit} h", str(rows[-1]["past_limit"])),
            ]
            if rows
            else []
        ),
        notes=[
            "Notes and group notes not signed yet, for services within the dates, by author. "
            "The age counts from the end of the service.",
            f"The organization's limit is {limit} hours after the service ends; notes past it "
            "are flagged to the author and their supervisor.",
        ],
    )


def _unsigned_row(r: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    hours = max(int((now - r["oldest"]).total_seconds() // 3600), 0)
    return {
        "author": r["author"],
        "notes": r["notes"],
        "group_notes": r["group_notes"],
        "unsigned": r["notes"] + r["group_notes"],
        "past_limit": r["late"],
        "oldest_hours": hours,
        "oldest_days": hours // 24,
    }
