"""The operational reports on a small hand-built program history, with every figure worked
out by hand (the dataset is in conftest.py; ``TODAY`` is Tuesday 06/30/2026):

=========  ==============  ==============  =====  ======================  ===============
episode    admitted        discharged      LOS    reason                  clinician
=========  ==============  ==============  =====  ======================  ===============
open_long  12/12/2025      —               —      —                       clinician
day90      01/01/2026      03/31/2026      89     completed               clinician
day89      01/01/2026      03/30/2026      88     left against advice     director
same_day   05/21/2026      05/21/2026      0      stopped attending       director
los30      05/01/2026      05/31/2026      30     completed, step-down    clinician
los31 *    05/11/2026      06/11/2026      31     transferred out         director
recent     06/10/2026      —               —      —                       clinician
today *    06/30/2026      —               —      —                       director
foreign    another organization's facility, never counted
=========  ==============  ==============  =====  ======================  ===============

(* in the second program, "Evening IOP")
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from openiop.accounts.models import Facility, Program, User
from openiop.audit.models import AuditEvent
from openiop.reports import operations as op
from openiop.reports import registry, selectors
from openiop.reports.base import Filters, Result, csv_cell
from tests.admissions.factories import program_with_phases
from tests.reports.conftest import TODAY, Dataset, Stays

D = dt.date


def over(
    facility: Facility,
    start: dt.date,
    end: dt.date,
    *,
    program: Program | None = None,
    today: dt.date = TODAY,
) -> Filters:
    return Filters((facility.pk,), program.pk if program else None, start, end, today=today)


def build(key: str, filters: Filters, user: User) -> Result:
    report = registry.get(key)
    assert report is not None
    return report.build(filters, user)


def summary(result: Result) -> dict[str, str]:
    return dict(result.summary)


# --- the registry ------------------------------------------------------------------------------


def test_it_registers_every_operational_report() -> None:
    reports = registry.load()
    for key in ("census", "length-of-stay", "completion", "retention", "attendance", "dose"):
        assert key in reports
        assert not reports[key].names_staff
        assert reports[key].permission == "reports.view_reports"
    assert reports["caseload"].names_staff


# --- 1. census ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_census_counts_the_discharge_day_and_carries_the_count_from_day_to_day(
    report_dataset: Dataset, facility: Facility, director: User
) -> None:
    days = op.census_days(over(facility, D(2026, 3, 29), D(2026, 4, 1)))
    assert [(d.day, d.in_care, d.admissions, d.discharges) for d in days] == [
        (D(2026, 3, 29), 3, 0, 0),
        (D(2026, 3, 30), 3, 0, 1),  # day89 leaves on 03/30 and is in care that day
        (D(2026, 3, 31), 2, 0, 1),  # day90 leaves on 03/31
        (D(2026, 4, 1), 1, 0, 0),
    ]


@pytest.mark.django_db
def test_census_counts_a_same_day_admission_and_discharge_on_that_day_only(
    report_dataset: Dataset, facility: Facility, director: User
) -> None:
    result = build("census", over(facility, D(2026, 5, 20), D(2026, 5, 22)), director)
    assert [(r["in_care"], r["admissions"], r["discharges"]) for r in result.rows] == [
        (3, 0, 0),
        (4, 1, 1),
        (3, 0, 0),
    ]
    assert summary(result) == {
        "In care on 05/22/2026": "3",
        "Average daily census": "3.3",
        "Admissions": "1",
        "Discharges": "1",
    }
    assert result.chart is not None and result.chart.label_key == "day"


@pytest.mark.django_db
def test_census_by_program(
    report_dataset: Dataset, facility: Facility, program: Program, second_program: Program
) -> None:
    def on_today(p: Program | None) -> int:
        return op.census_days(over(facility, TODAY, TODAY, program=p))[0].in_care

    assert (on_today(None), on_today(program), on_today(second_program)) == (3, 2, 1)


@pytest.mark.django_db
def test_census_of_a_year_agrees_with_counting_each_day(
    report_dataset: Dataset, facility: Facility
) -> None:
    """The running sums give the same count as asking the database for each day."""
    days = op.census_days(over(facility, D(2025, 12, 1), TODAY))
    assert len(days) == 212
    base = op.episodes(over(facility, TODAY, TODAY))
    for d in days[::7] + days[-3:]:
        assert d.in_care == op.in_care_on(base, d.day).count(), d.day


# --- 2. length of stay -------------------------------------------------------------------------


@pytest.mark.django_db
def test_length_of_stay_groups_median_and_mean(
    report_dataset: Dataset, facility: Facility, director: User
) -> None:
    result = build("length-of-stay", over(facility, D(2026, 1, 1), TODAY), director)
    assert [(r["group"], r["discharges"]) for r in result.rows] == [
        ("1–30 days", 2),  # 0 (same day) and 30
        ("31–45 days", 1),  # 31
        ("46–60 days", 0),
        ("61–90 days", 2),  # 88 and 89
        ("91–120 days", 0),
        ("121–180 days", 0),
        ("181–365 days", 0),
        ("More than 365 days", 0),
    ]
    assert [r["los"] for r in result.rows] == ["1–30", "31", "32", "33", "34", "35", "36", "37"]
    assert summary(result) == {
        "Discharges": "5",
        "Median stay": "31 days",
        "Mean stay": "47.6 days",  # (0 + 30 + 31 + 88 + 89) / 5
        "Stayed 90 days or more": "20 %",  # day90 only: 89 days after admission is day 90
    }


@pytest.mark.django_db
def test_length_of_stay_of_one_program(
    report_dataset: Dataset, facility: Facility, program: Program
) -> None:
    assert op.stay_lengths(over(facility, D(2026, 1, 1), TODAY, program=program)) == {
        0: 1,
        30: 1,
        88: 1,
        89: 1,
    }


def test_median_of_an_even_and_an_odd_number_of_stays() -> None:
    assert op.median({0: 1, 30: 1, 88: 1, 89: 1}) == 59.0
    assert op.median({5: 3}) == 5.0
    assert op.median({1: 1, 2: 1, 10: 1}) == 2.0
    assert op.median({}) is None


@pytest.mark.parametrize(
    ("days", "group"),
    [
        *[(0, 0), (30, 0), (31, 1), (45, 1), (46, 2), (60, 2), (61, 3), (90, 3), (91, 4)],
        *[(120, 4), (121, 5), (180, 5), (181, 6), (365, 6), (366, 7), (2000, 7)],
    ],
)
def test_los_groups_follow_the_teds_codes(days: int, group: int) -> None:
    assert op.los_group(days) == group


# --- 3. completion -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_completion_rate_and_reasons(
    report_dataset: Dataset, facility: Facility, director: User
) -> None:
    result = build("completion", over(facility, D(2026, 1, 1), TODAY), director)
    counted = {r["reason"]: r["discharges"] for r in result.rows if r["discharges"]}
    assert counted == {
        "Completed treatment": 1,
        "Completed IOP, stepping down to less care": 1,
        "Left against clinical advice": 1,
        "Stopped attending (lost contact)": 1,
        "Transferred to another program or facility": 1,
    }
    rows = {r["reason"]: r for r in result.rows}
    assert rows["Completed IOP, stepping down to less care"]["teds"] == "1 — Treatment completed"
    assert rows["Completed treatment"]["share"] == 20.0
    assert summary(result) == {
        "Completion rate": "40 %",  # the other organization's completion is not counted
        "Completed": "2 of 5",
        "Dropped out": "40 %",
        "Discharges": "5",
    }
    assert op.completion_counts(over(facility, D(2026, 1, 1), TODAY)) == (2, 5)


@pytest.mark.django_db
def test_completion_of_one_program_and_of_a_range_without_discharges(
    report_dataset: Dataset, facility: Facility, second_program: Program, director: User
) -> None:
    evening = build(
        "completion", over(facility, D(2026, 1, 1), TODAY, program=second_program), director
    )
    assert summary(evening)["Completion rate"] == "0 %"
    assert summary(evening)["Discharges"] == "1"
    empty = build("completion", over(facility, D(2026, 4, 1), D(2026, 4, 30)), director)
    assert summary(empty)["Completion rate"] == "—"
    assert all(r["share"] is None for r in empty.rows)


# --- 4. retention ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retention_by_admission_month(
    report_dataset: Dataset, facility: Facility, director: User
) -> None:
    result = build("retention", over(facility, D(2025, 12, 1), TODAY), director)
    assert [
        (r["month"], r["admitted"], r["reached"], r["retained"], r["rate"]) for r in result.rows
    ] == [
        (D(2025, 12, 1), 1, 1, 1, 100.0),
        (D(2026, 1, 1), 2, 2, 1, 50.0),  # day90 retained, day89 not
        (D(2026, 5, 1), 3, 0, 0, None),
        (D(2026, 6, 1), 2, 0, 0, None),
    ]
    assert summary(result) == {
        "90-day retention": "66.7 %",
        "In care on day 90": "2 of 3",
        "Not at day 90 yet": "5",
    }
    assert any("day 90" in n for n in result.notes)


@pytest.mark.django_db
def test_retention_at_the_day_89_and_day_90_boundary(
    stays: Stays, program: Program, facility: Facility
) -> None:
    today = D(2026, 6, 30)
    stays.stay(program, today - dt.timedelta(days=89))  # open, day 90 is today: counts, kept
    stays.stay(program, today - dt.timedelta(days=88))  # open, day 89 today: not counted yet
    a = D(2026, 3, 1)
    stays.stay(program, a, a + dt.timedelta(days=89))  # left on day 90: retained
    stays.stay(program, a, a + dt.timedelta(days=88), reason="stopped_attending")  # day 89
    b = D(2026, 3, 2)
    stays.stay(program, b, b + dt.timedelta(days=120))  # left well after day 90
    f = over(facility, D(2026, 1, 1), today, today=today)
    assert op.retention_counts(f) == (3, 4)
    months = {m.month: m for m in op.retention_months(f)}
    assert (months[D(2026, 3, 1)].reached, months[D(2026, 3, 1)].retained) == (3, 2)
    assert (months[D(2026, 4, 1)].admitted, months[D(2026, 4, 1)].reached) == (2, 1)
    # A day earlier, the person admitted 89 days ago has not reached day 90 either.
    yesterday = over(facility, D(2026, 1, 1), today, today=today - dt.timedelta(days=1))
    assert op.retention_counts(yesterday) == (2, 3)


# --- 5. attendance -----------------------------------------------------------------------------


@pytest.fixture
def attendance(report_dataset: Dataset, stays: Stays) -> Dataset:
    e = report_dataset.episodes
    for day, status in [
        (D(2026, 6, 1), "present"),
        (D(2026, 6, 2), "late"),
        (D(2026, 6, 3), "left_early"),
        (D(2026, 6, 4), "excused"),
        (D(2026, 6, 5), "unexcused"),
        (D(2026, 6, 5), "cancelled"),  # a cancelled session is not expected
    ]:
        stays.attend(e["open_long"], day, status)
    stays.attend(e["los31"], D(2026, 6, 8), "present")
    stays.attend(e["los31"], D(2026, 6, 9), "unexcused")
    stays.attend(e["recent"], D(2026, 6, 10), "present")
    stays.attend(e["foreign"], D(2026, 6, 1), "unexcused")
    return report_dataset


@pytest.mark.django_db
def test_attendance_rate_by_week(attendance: Dataset, facility: Facility, director: User) -> None:
    result = build("attendance", over(facility, D(2026, 6, 1), D(2026, 6, 14)), director)
    assert [
        (r["week"], r["expected"], r["attended"], r["excused"], r["unexcused"], r["rate"])
        for r in result.rows
    ] == [
        (D(2026, 6, 1), 5, 3, 1, 1, 60.0),
        (D(2026, 6, 8), 3, 2, 0, 1, 66.7),
    ]
    assert summary(result) == {
        "Attendance rate": "62.5 %",
        "Attended": "5 of 8",
        "Unexcused absences": "2",
    }


@pytest.mark.django_db
def test_attendance_keeps_to_the_dates_and_the_program(
    attendance: Dataset, facility: Facility, second_program: Program
) -> None:
    inside = op.attendance_weeks(over(facility, D(2026, 6, 2), D(2026, 6, 9)))
    assert [(w.week, w.expected, w.attended) for w in inside] == [
        (D(2026, 6, 1), 4, 2),
        (D(2026, 6, 8), 2, 1),
    ]
    evening = op.attendance_weeks(over(facility, D(2026, 6, 1), TODAY, program=second_program))
    assert [(w.week, w.expected, w.attended, w.rate) for w in evening] == [
        (D(2026, 6, 8), 2, 1, 50.0)
    ]
    assert op.attendance_counts(over(facility, D(2026, 6, 1), D(2026, 6, 14))) == (5, 8)


# --- 6. dose compliance ------------------------------------------------------------------------


@pytest.fixture
def dose_weeks(stays: Stays, program: Program, second_program: Program) -> dict[str, object]:
    """Week of Monday 06/01/2026 (and one day of the next week). ``program``: 3 h a day,
    3 days, 9 h a week, at most 19 h; ``second_program``: 2 h, 3 days, 6 h."""
    admitted = D(2026, 5, 4)
    mon, tue, wed, thu = (D(2026, 6, n) for n in (1, 2, 3, 4))
    at_minimum = stays.stay(program, admitted)
    stays.dose(at_minimum, (mon, 180), (tue, 180), (wed, 180), (D(2026, 6, 8), 180))
    a_minute_short = stays.stay(program, admitted)
    stays.dose(a_minute_short, (mon, 180), (tue, 180), (wed, 179))  # 2 service days, 8 h 59
    hours_no_days = stays.stay(program, admitted)
    stays.dose(hours_no_days, (mon, 200), (tue, 200), (wed, 140))  # 9 h but 2 service days
    above = stays.stay(program, admitted)
    stays.dose(above, (mon, 300), (tue, 300), (wed, 300), (thu, 300))  # 20 h: meets, above 19
    evening = stays.stay(second_program, admitted)
    stays.dose(evening, (mon, 120), (tue, 120), (wed, 120))  # 2 h × 3 = 6 h: meets
    evening_short = stays.stay(second_program, admitted)
    stays.dose(evening_short, (mon, 120), (tue, 120), (wed, 119))
    return {"at_minimum": at_minimum}


@pytest.mark.django_db
def test_dose_compliance_by_week_against_each_program_s_rules(
    dose_weeks: dict[str, object],
    foreign_program: Program,
    stays: Stays,
    facility: Facility,
    director: User,
) -> None:
    theirs = stays.stay(foreign_program, D(2026, 5, 4))
    stays.dose(theirs, (D(2026, 6, 1), 180), (D(2026, 6, 2), 180), (D(2026, 6, 3), 180))
    result = build("dose", over(facility, D(2026, 6, 1), D(2026, 6, 14)), director)
    assert [
        (r["week"], r["episode_weeks"], r["meeting"], r["above"], r["rate"]) for r in result.rows
    ] == [
        (D(2026, 6, 1), 6, 3, 1, 50.0),
        (D(2026, 6, 8), 1, 0, 0, 0.0),
    ]
    assert summary(result) == {
        "Dose compliance": "42.9 %",
        "Weeks at the minimum": "3 of 7",
        "Weeks above the maximum": "1",
    }
    assert op.dose_counts(over(facility, D(2026, 6, 1), D(2026, 6, 14))) == (3, 7)


@pytest.mark.django_db
def test_dose_week_needs_both_the_service_days_and_the_hours(
    stays: Stays, facility: Facility
) -> None:
    """A program whose week asks for more hours than its days give: 2 h days, 3 days, 9 h."""
    loose = program_with_phases(
        facility,
        name="Loose IOP",
        min_hours_per_day=Decimal("2"),
        min_days_per_week=3,
        min_hours_per_week=Decimal("9"),
        max_hours_per_week=None,
    )
    mon = D(2026, 6, 1)
    short = stays.stay(loose, D(2026, 5, 4))
    stays.dose(short, (mon, 180), (D(2026, 6, 2), 180), (D(2026, 6, 3), 179))  # 3 days, 8 h 59
    enough = stays.stay(loose, D(2026, 5, 4))
    stays.dose(enough, (mon, 180), (D(2026, 6, 2), 180), (D(2026, 6, 3), 180))  # 3 days, 9 h
    weeks = op.dose_weeks(over(facility, mon, D(2026, 6, 7), program=loose))
    assert [(w.episode_weeks, w.meeting, w.above) for w in weeks] == [(2, 1, 0)]


@pytest.mark.django_db
def test_dose_rules_in_whole_minutes_keep_the_boundaries(facility: Facility) -> None:
    """Attended minutes are whole: "at least 0.35 h" is 21 minutes, "at least 8.98 h" 539
    (538.8 is not reached by 538), "at most 18.99 h" is above from 1,140 (1,139.4)."""
    odd = program_with_phases(
        facility,
        min_hours_per_day=Decimal("0.35"),
        min_days_per_week=2,
        min_hours_per_week=Decimal("8.98"),
        max_hours_per_week=Decimal("18.99"),
    )
    assert op.DoseRule.of(odd) == op.DoseRule(odd.pk, 21, 2, 539, 1139)
    odd.max_hours_per_week = None
    assert op.DoseRule.of(odd).max_minutes == -1


@pytest.mark.django_db
def test_dose_week_belongs_to_the_range_that_holds_its_monday(
    dose_weeks: dict[str, object], facility: Facility, second_program: Program
) -> None:
    later = op.dose_weeks(over(facility, D(2026, 6, 2), D(2026, 6, 14)))
    assert [(w.week, w.episode_weeks) for w in later] == [(D(2026, 6, 8), 1)]
    evening = op.dose_weeks(over(facility, D(2026, 6, 1), D(2026, 6, 7), program=second_program))
    assert [(w.episode_weeks, w.meeting) for w in evening] == [(2, 1)]


@pytest.mark.django_db
def test_dose_marks_the_week_in_progress(
    dose_weeks: dict[str, object], facility: Facility, director: User
) -> None:
    result = build(
        "dose", over(facility, D(2026, 6, 1), D(2026, 6, 9), today=D(2026, 6, 9)), director
    )
    assert [r["status"] for r in result.rows] == ["", "week not over yet"]


# --- 7. caseload -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_caseload_per_clinician(
    report_dataset: Dataset, facility: Facility, clinician: User, director: User
) -> None:
    result = build("caseload", over(facility, D(2026, 6, 1), TODAY), director)
    assert {(r["clinician"], r["open"], r["admissions"], r["discharges"]) for r in result.rows} == {
        (clinician.display_name, 2, 1, 0),  # open_long, recent; the foreign stay not counted
        (director.display_name, 1, 1, 1),  # today; los31 discharged 06/11
    }
    names = [r["clinician"] for r in result.rows]
    by_last_name = sorted([clinician, director], key=lambda u: (u.last_name, u.first_name, u.pk))
    assert names == [u.display_name for u in by_last_name]
    assert summary(result)["Open on 06/30/2026"] == "3"
    assert result.columns[1].label == "Open on 06/30/2026"


@pytest.mark.django_db
def test_caseload_open_at_the_end_of_the_range(
    report_dataset: Dataset, facility: Facility, clinician: User, director: User
) -> None:
    rows = op.caseload_rows(over(facility, D(2026, 6, 1), D(2026, 6, 15)), D(2026, 6, 15))
    assert {(r.name, r.open, r.admissions, r.discharges) for r in rows} == {
        (clinician.display_name, 2, 1, 0),
        (director.display_name, 0, 0, 1),
    }


# --- the dashboard -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_dashboard_tiles(
    attendance: Dataset, dose_weeks: dict[str, object], facility: Facility
) -> None:
    tiles = {t.label: t for t in op.dashboard_tiles((facility.pk,), TODAY)}
    # open_long, recent and today, and the six stays of the dose weeks (admitted 05/04).
    assert tiles["In care today"].value == "9"
    assert tiles["Admissions"].value == "2"  # recent and today
    assert tiles["Discharges"].value == "1"  # los31; the other organization's is not counted
    assert tiles["Completion rate"].value == "40 %"
    assert tiles["90-day retention"].value == "66.7 %"
    # The last 4 weeks (06/03–06/30): 06/03 left early, 06/04 excused, 06/05 unexcused,
    # 06/08 present, 06/09 unexcused, 06/10 present.
    assert tiles["Attendance rate"].value == "50 %"
    # The last 4 complete weeks: Mondays 06/01 to 06/22.
    assert tiles["Dose compliance"].value == "42.9 %"
    assert (tiles["Dose compliance"].start, tiles["Dose compliance"].end) == (
        D(2026, 6, 1),
        D(2026, 6, 28),
    )


# --- scoping -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_run_refuses_a_facility_of_another_organization(
    report_dataset: Dataset, facility: Facility, foreign_facility: Facility, director: User
) -> None:
    report = registry.get("census")
    assert report is not None
    filters = Filters((facility.pk, foreign_facility.pk), None, TODAY, TODAY, today=TODAY)
    with pytest.raises(PermissionDenied):
        selectors.run(director, report, filters)
    denied = AuditEvent.objects.get(action=AuditEvent.Action.DENIED)
    assert denied.detail == {"facilities": [foreign_facility.pk]}


@pytest.mark.django_db
def test_run_refuses_a_program_of_another_facility(
    report_dataset: Dataset, facility: Facility, foreign_program: Program, director: User
) -> None:
    report = registry.get("census")
    assert report is not None
    with pytest.raises(PermissionDenied):
        selectors.run(director, report, over(facility, TODAY, TODAY, program=foreign_program))


@pytest.mark.django_db
def test_run_records_who_read_what(
    report_dataset: Dataset, facility: Facility, program: Program, director: User
) -> None:
    report = registry.get("completion")
    assert report is not None
    selectors.run(director, report, over(facility, D(2026, 1, 1), TODAY, program=program))
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert event.actor == director
    assert event.facility_id == facility.pk
    assert event.patient_id is None
    assert event.detail == {
        "report": "completion",
        "facilities": [facility.pk],
        "program": program.pk,
        "start": "2026-01-01",
        "end": "2026-06-30",
    }


# --- CSV cells ---------------------------------------------------------------------------------


def test_csv_cells() -> None:
    assert csv_cell(D(2026, 6, 1), "date") == "2026-06-01"
    assert csv_cell(D(2026, 6, 1), "month") == "2026-06"
    assert csv_cell(None, "percent") == ""
    assert csv_cell(62.5, "percent") == "62.5"
    assert csv_cell(-3, "int") == "-3"
    assert csv_cell("=HYPERLINK(1)", "text") == "'=HYPERLINK(1)"
    assert csv_cell("Test Staff", "text") == "Test Staff"


@pytest.mark.django_db
def test_a_week_of_absences_or_cancelled_sessions_only_is_not_counted(
    stays: Stays, program: Program, facility: Facility
) -> None:
    """The attendance service keeps a day of 0 minutes for an absence or a cancelled session;
    a week with nothing attended is not a week the person "attended" (the report's words)."""
    mon = D(2026, 6, 1)
    came = stays.stay(program, D(2026, 5, 4))
    stays.dose(came, (mon, 180), (D(2026, 6, 2), 180), (D(2026, 6, 3), 180))
    away = stays.stay(program, D(2026, 5, 4))
    stays.dose(away, (mon, 0), (D(2026, 6, 2), 0))
    weeks = op.dose_weeks(over(facility, mon, D(2026, 6, 7)))
    assert [(w.episode_weeks, w.meeting) for w in weeks] == [(1, 1)]
