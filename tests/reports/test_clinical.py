"""The clinical and quality reports: exact figures on small hand-built states, the filters
(facility, program, dates) respected, empty ranges, the response and remission boundaries,
and a number of queries that does not grow with the data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.discharge.models import FollowUp
from openiop.notes.models import NoteSettings
from openiop.reports import clinical, selectors
from openiop.reports.base import REGISTRY, Result
from tests.admissions.factories import program_with_phases
from tests.factories import FacilityFactory, UserFactory
from tests.reports import clinical_data as data
from tests.reports.clinical_data import filters, local, stay

pytestmark = pytest.mark.django_db

D = dt.date
MARCH: dict[str, Any] = {"start": D(2026, 3, 1), "end": D(2026, 3, 31)}


@pytest.fixture
def program(facility: Facility) -> Program:
    """The adult IOP the reports are filtered on (one mutual-help meeting a week)."""
    return program_with_phases(facility, required_meetings_per_week=1)


@pytest.fixture
def evening(facility: Facility) -> Program:
    """Another program of the same facility."""
    return program_with_phases(facility, required_meetings_per_week=1)


@pytest.fixture
def elsewhere(other_facility: Facility, other_clinician: User) -> Program:
    return program_with_phases(other_facility, required_meetings_per_week=1)


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


def test_the_reports_are_registered_with_their_permissions_and_order() -> None:
    keys = [
        "instrument-outcomes",
        "drug-test-positivity",
        "mutual-help",
        "alumni-outcomes",
        "plan-reviews-overdue",
        "unsigned-notes",
    ]
    reports = [REGISTRY[k] for k in keys]
    assert [r.order for r in reports] == [200, 210, 220, 230, 240, 250]
    assert {r.key for r in reports if r.names_staff} == {"plan-reviews-overdue", "unsigned-notes"}
    assert REGISTRY["alumni-outcomes"].permission == "reports.view_alumni_outcomes"
    assert {r.permission for r in reports if r.key != "alumni-outcomes"} == {"reports.view_reports"}


# --- 1. instrument outcomes ----------------------------------------------------------------------


@pytest.fixture
def scored(
    program: Program, evening: Program, elsewhere: Program, clinician: User, other_clinician: User
) -> dict[str, EpisodeOfCare]:
    """PHQ-9 first and latest scores of stays of the program; March is the range asked."""
    s = {
        # 20 → 10: exactly half, a response; 10 is not a remission. A later score in April
        # is after the end date and does not count.
        "half": stay(program, clinician, admitted=D(2026, 1, 5)),
        # 10 → 5, the 5 given at 11:30 p.m. local on March 31 (April 1 in UTC): a response,
        # and 5 is not a remission.
        "five": stay(program, clinician, admitted=D(2026, 2, 2)),
        # 9 → 4: response and remission.
        "remits": stay(program, clinician, admitted=D(2026, 2, 9)),
        # 8 → 5: no response (37.5 %); a 0 entered in error later is left out.
        "slow": stay(program, clinician, admitted=D(2026, 2, 9)),
        # One score only: no later one to compare.
        "single": stay(program, clinician, admitted=D(2026, 3, 2)),
        # Latest score before March: not counted for March.
        "earlier": stay(program, clinician, admitted=D(2026, 1, 12)),
        # A 22 at the screening before admission is not the baseline: 16 → 7.
        "readmitted": stay(program, clinician, admitted=D(2026, 2, 16)),
        # Discharged March 10: a 3 on March 20 is after the stay. 18 → 9.
        "discharged": stay(program, clinician, admitted=D(2026, 1, 12), discharged=D(2026, 3, 10)),
        # Another program of the facility: 20 → 2 (counted without the program filter).
        "evening": stay(evening, clinician, admitted=D(2026, 1, 5)),
        # Another facility: never counted.
        "elsewhere": stay(elsewhere, other_clinician, admitted=D(2026, 1, 5)),
    }
    data.phq9_series(s["half"], (D(2026, 1, 6), 20), (D(2026, 2, 3), 12), (D(2026, 3, 3), 10))
    data.score(s["half"], "phq9", 2, D(2026, 4, 7))
    data.score(s["half"], "gad7", 15, D(2026, 1, 6))
    data.score(s["half"], "gad7", 6, D(2026, 3, 10))
    data.score(s["half"], "bam", 4, D(2026, 1, 6))
    data.score(s["half"], "bam", 1, D(2026, 3, 10))
    data.score(s["five"], "phq9", 10, D(2026, 2, 2))
    data.score(s["five"], "phq9", 5, D(2026, 3, 31), hour=23, minute=30)
    data.phq9_series(s["remits"], (D(2026, 2, 9), 9), (D(2026, 3, 20), 4))
    data.phq9_series(s["slow"], (D(2026, 2, 9), 8), (D(2026, 3, 2), 5))
    data.score(s["slow"], "phq9", 0, D(2026, 3, 25), in_error=True)
    data.phq9_series(s["single"], (D(2026, 3, 5), 14))
    data.phq9_series(s["earlier"], (D(2026, 1, 20), 15), (D(2026, 2, 20), 7))
    data.phq9_series(
        s["readmitted"], (D(2026, 2, 10), 22), (D(2026, 2, 16), 16), (D(2026, 3, 9), 7)
    )
    data.phq9_series(s["discharged"], (D(2026, 1, 12), 18), (D(2026, 3, 5), 9), (D(2026, 3, 20), 3))
    data.phq9_series(s["evening"], (D(2026, 1, 6), 20), (D(2026, 3, 4), 2))
    data.phq9_series(s["elsewhere"], (D(2026, 1, 6), 20), (D(2026, 3, 4), 2))
    return s


def test_instrument_outcomes_count_baseline_latest_response_and_remission(
    facility: Facility, program: Program, director: User, scored: dict[str, EpisodeOfCare]
) -> None:
    result = clinical.instrument_outcomes(filters(facility, program=program, **MARCH), director)

    rows = by(result.rows, "instrument")
    assert list(rows) == ["PHQ-9", "GAD-7", "BAM (use)"]
    # half 20→10, five 10→5, remits 9→4, slow 8→5, readmitted 16→7, discharged 18→9.
    assert rows["PHQ-9"] == {
        "instrument": "PHQ-9",
        "patients": 6,
        "mean_baseline": 13.5,  # 81 / 6
        "mean_latest": 6.7,  # 40 / 6
        "mean_change": -6.8,
        "responses": 5,  # all but 8 → 5
        "response_share": 83.3,
        "remissions": 1,  # only 4; a latest 5 is not a remission
        "remission_share": 16.7,
    }
    assert rows["GAD-7"] == {
        "instrument": "GAD-7",
        "patients": 1,
        "mean_baseline": 15.0,
        "mean_latest": 6.0,
        "mean_change": -9.0,
        "responses": None,
        "response_share": None,
        "remissions": None,
        "remission_share": None,
    }
    assert (rows["BAM (use)"]["mean_baseline"], rows["BAM (use)"]["mean_latest"]) == (4.0, 1.0)
    assert result.summary == [("Stays with a first and a later score", "6")]
    assert result.chart is not None and result.chart.label_key == "instrument"
    assert [s.key for s in result.chart.series] == ["mean_baseline", "mean_latest"]


def test_instrument_outcomes_respect_program_facility_and_dates(
    facility: Facility,
    other_facility: Facility,
    program: Program,
    director: User,
    scored: dict[str, EpisodeOfCare],
) -> None:
    whole_facility = clinical.instrument_outcomes(filters(facility, **MARCH), director)
    phq = by(whole_facility.rows, "instrument")["PHQ-9"]
    # The evening program's 20 → 2 joins in; the other facility's never does.
    assert (phq["patients"], phq["responses"], phq["remissions"]) == (7, 6, 2)

    both = clinical.instrument_outcomes(filters(facility, other_facility, **MARCH), director)
    assert by(both.rows, "instrument")["PHQ-9"]["patients"] == 8

    february = clinical.instrument_outcomes(
        filters(facility, program=program, start=D(2026, 2, 1), end=D(2026, 2, 28)), director
    )
    # half 20 → 12 (latest up to February 28) and earlier 15 → 7; five's only February score
    # is its baseline.
    phq = by(february.rows, "instrument")["PHQ-9"]
    assert (phq["patients"], phq["mean_baseline"], phq["mean_latest"], phq["responses"]) == (
        2,
        17.5,
        9.5,
        1,
    )


def test_instrument_outcomes_of_an_empty_range_are_empty(
    facility: Facility, director: User, scored: dict[str, EpisodeOfCare]
) -> None:
    result = clinical.instrument_outcomes(
        filters(facility, start=D(2025, 6, 1), end=D(2025, 6, 30)), director
    )
    assert (result.rows, result.summary) == ([], [])


@pytest.mark.parametrize(
    ("baseline", "latest", "response", "remission"),
    [(10, 5, 1, 0), (11, 6, 0, 0), (8, 4, 1, 1), (5, 4, 0, 1), (0, 0, 0, 1), (4, 5, 0, 0)],
)
def test_response_and_remission_boundaries_follow_the_measures_rule(
    facility: Facility,
    program: Program,
    clinician: User,
    director: User,
    baseline: int,
    latest: int,
    response: int,
    remission: int,
) -> None:
    """Exactly half counts as a response (10 → 5), just under half does not (11 → 6); a
    latest 5 is not a remission, 4 is; a baseline of 0 cannot respond."""
    s = stay(program, clinician, admitted=D(2026, 3, 2))
    data.phq9_series(s, (D(2026, 3, 2), baseline), (D(2026, 3, 16), latest))

    row = clinical.instrument_outcomes(filters(facility, **MARCH), director).rows[0]

    assert (row["responses"], row["remissions"]) == (response, remission)


def test_instrument_outcomes_take_a_constant_number_of_queries(
    facility: Facility,
    program: Program,
    clinician: User,
    director: User,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            s = stay(program, clinician, admitted=D(2026, 2, 2))
            data.phq9_series(s, (D(2026, 2, 2), 12), (D(2026, 3, 2), 6))
            data.score(s, "bam", 3, D(2026, 3, 2))

    add(1)
    with django_assert_max_num_queries(2):
        small = clinical.instrument_outcomes(filters(facility, **MARCH), director)
    add(6)
    with django_assert_max_num_queries(2):
        large = clinical.instrument_outcomes(filters(facility, **MARCH), director)
    assert (small.rows[0]["patients"], large.rows[0]["patients"]) == (1, 7)


# --- 2. drug-test positivity ---------------------------------------------------------------------


@pytest.fixture
def tested(
    facility: Facility,
    program: Program,
    evening: Program,
    elsewhere: Program,
    clinician: User,
    other_clinician: User,
) -> None:
    one = stay(program, clinician, admitted=D(2026, 1, 5))
    two = stay(program, clinician, admitted=D(2026, 1, 5))
    three = stay(program, clinician, admitted=D(2026, 1, 5))
    data.prescribe(two, "buprenorphine", D(2026, 1, 5))
    data.drug_test(one, local(facility, D(2026, 2, 27)), cocaine="positive")  # before March
    data.drug_test(one, local(facility, D(2026, 3, 2)), cocaine="positive", fentanyl="negative")
    data.drug_test(two, local(facility, D(2026, 3, 9)), buprenorphine="positive")  # expected
    data.drug_test(three, local(facility, D(2026, 3, 16)), cocaine="negative", thc="negative")
    data.drug_test(three, local(facility, D(2026, 3, 17)), cocaine="dilute")
    # 11:30 p.m. local on March 31 is April 1 in UTC: still a March test.
    data.drug_test(one, local(facility, D(2026, 3, 31), 23, 30), thc="positive", cocaine="positive")
    data.drug_test(two, local(facility, D(2026, 4, 2)), opiates="positive")
    data.drug_test(
        stay(evening, clinician, admitted=D(2026, 1, 5)),
        local(facility, D(2026, 3, 3)),
        cocaine="positive",
    )
    outside = stay(elsewhere, other_clinician, admitted=D(2026, 1, 5))
    data.drug_test(outside, local(outside.facility, D(2026, 3, 3)), cocaine="positive")


def test_drug_test_positivity_by_month_and_substance(
    facility: Facility, program: Program, director: User, tested: None
) -> None:
    result = clinical.drug_test_positivity(
        filters(facility, program=program, start=D(2026, 3, 1), end=D(2026, 4, 30)), director
    )

    assert result.rows == [
        {
            "month": "Mar 2026",
            "tests": 5,
            "positive": 3,
            "positive_share": 60.0,
            "unexpected": 2,
            "unexpected_share": 40.0,
            "positive_buprenorphine": 1,
            "positive_cocaine": 2,
            "positive_opiates": 0,
            "positive_thc": 1,
        },
        {
            "month": "Apr 2026",
            "tests": 1,
            "positive": 1,
            "positive_share": 100.0,
            "unexpected": 1,
            "unexpected_share": 100.0,
            "positive_buprenorphine": 0,
            "positive_cocaine": 0,
            "positive_opiates": 1,
            "positive_thc": 0,
        },
    ]
    assert [c.key for c in result.columns][-4:] == [
        "positive_buprenorphine",
        "positive_cocaine",
        "positive_opiates",
        "positive_thc",
    ]
    assert result.summary[:3] == [
        ("Tests", "6"),
        ("Any positive", "4 of 6 (66.7 %)"),
        ("Unexpected positive", "3 of 6 (50.0 %)"),
    ]
    assert result.summary[3][1].startswith("Cocaine 2")
    assert result.chart is not None and result.chart.percent


def test_drug_test_positivity_respects_program_facility_and_dates(
    facility: Facility, director: User, tested: None
) -> None:
    march = clinical.drug_test_positivity(filters(facility, **MARCH), director)
    # The evening program's positive joins in; the other facility's does not; February's
    # and April's tests are outside the dates.
    assert [(r["month"], r["tests"], r["positive"], r["unexpected"]) for r in march.rows] == [
        ("Mar 2026", 6, 4, 3)
    ]
    assert march.rows[0]["positive_cocaine"] == 3


def test_drug_tests_count_in_the_local_month_of_each_facility(
    facility: Facility, program: Program, clinician: User, director: User
) -> None:
    """Two time zones at once: each test counts on its own facility's calendar."""
    east = FacilityFactory.create(name="East Test Facility", time_zone="America/New_York")
    east_clinician = UserFactory.create(facilities=[east])
    east_stay = stay(program_with_phases(east), east_clinician, admitted=D(2026, 1, 5))
    west_stay = stay(program, clinician, admitted=D(2026, 1, 5))
    # 11:30 p.m. in New York on March 31 (April 1, 3:30 UTC) and 9:30 p.m. in Los Angeles
    # on March 31 (April 1, 4:30 UTC) are both March; 12:30 a.m. in New York on April 1
    # (March 31, 9:30 p.m. in Los Angeles) is April.
    data.drug_test(east_stay, local(east, D(2026, 3, 31), 23, 30), cocaine="positive")
    data.drug_test(west_stay, local(facility, D(2026, 3, 31), 21, 30))
    data.drug_test(east_stay, local(east, D(2026, 4, 1), 0, 30))

    result = clinical.drug_test_positivity(
        filters(facility, east, start=D(2026, 3, 1), end=D(2026, 4, 30)), director
    )

    assert [(r["month"], r["tests"], r["positive"]) for r in result.rows] == [
        ("Mar 2026", 2, 1),
        ("Apr 2026", 1, 0),
    ]


def test_drug_test_positivity_of_an_empty_range_is_empty(
    facility: Facility, director: User, tested: None
) -> None:
    result = clinical.drug_test_positivity(
        filters(facility, start=D(2026, 5, 1), end=D(2026, 5, 31)), director
    )
    assert (result.rows, result.summary) == ([], [])
    assert [c.key for c in result.columns][:2] == ["month", "tests"]


def test_drug_test_positivity_takes_a_constant_number_of_queries(
    facility: Facility,
    program: Program,
    clinician: User,
    director: User,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    def add(n: int, day: dt.date) -> None:
        for _ in range(n):
            s = stay(program, clinician, admitted=D(2026, 1, 5))
            data.drug_test(s, local(facility, day), cocaine="positive", thc="negative")

    add(1, D(2026, 3, 3))
    with django_assert_max_num_queries(3):
        clinical.drug_test_positivity(filters(facility, **MARCH), director)
    add(5, D(2026, 3, 20))
    with django_assert_max_num_queries(3):
        result = clinical.drug_test_positivity(filters(facility, **MARCH), director)
    assert result.rows[0]["tests"] == 6


# --- 3. mutual-help participation ----------------------------------------------------------------

WEEK_1, WEEK_2 = D(2026, 3, 2), D(2026, 3, 9)


@pytest.fixture
def met(
    facility: Facility,
    program: Program,
    elsewhere: Program,
    clinician: User,
    other_clinician: User,
) -> dict[str, EpisodeOfCare]:
    """Two weeks of meetings; the program asks one a week."""
    none_required = program_with_phases(facility, required_meetings_per_week=0)
    s = {
        "steady": stay(program, clinician, admitted=D(2026, 1, 5)),
        "planned": stay(program, clinician, admitted=D(2026, 2, 2)),
        "leaving": stay(program, clinician, admitted=D(2026, 1, 5), discharged=D(2026, 3, 4)),
        "new": stay(program, clinician, admitted=D(2026, 3, 11)),
        "free": stay(none_required, clinician, admitted=D(2026, 1, 5)),
        "elsewhere": stay(elsewhere, other_clinician, admitted=D(2026, 1, 5)),
    }
    # Steady: no plan, the program's 1 a week. Met, met; the Sunday before is outside.
    data.meetings(
        s["steady"],
        (D(2026, 3, 1), "aa"),
        (D(2026, 3, 3), "aa"),
        (D(2026, 3, 5), "na"),
        (D(2026, 3, 10), "aa"),
    )
    # Planned: 3 a week since February 10. Short (2), then met (3).
    data.plan_in_force(s["planned"], meetings_per_week=3, since=local(facility, D(2026, 2, 10)))
    data.meetings(
        s["planned"],
        (D(2026, 3, 3), "na"),
        (D(2026, 3, 4), "na"),
        (D(2026, 3, 9), "smart"),
        (D(2026, 3, 11), "smart"),
        (D(2026, 3, 13), "smart"),
    )
    # Leaving (discharged Wednesday of week 1): in care that week, no meeting.
    # New (admitted in week 2): a plan of 2 a week signed at 11:30 p.m. local on Sunday
    # March 15 (Monday in UTC) is in force that week: 1 meeting is short.
    data.plan_in_force(s["new"], meetings_per_week=2, since=local(facility, D(2026, 3, 15), 23, 30))
    data.meetings(s["new"], (D(2026, 3, 12), "na"))
    # A program that asks none: the meeting counts, the week is not judged.
    data.meetings(s["free"], (D(2026, 3, 6), "celebrate"))
    data.meetings(s["elsewhere"], (D(2026, 3, 3), "aa"), (D(2026, 3, 10), "aa"))
    return s


def test_mutual_help_by_week_with_the_plan_in_force(
    facility: Facility, director: User, met: dict[str, EpisodeOfCare]
) -> None:
    result = clinical.mutual_help(
        filters(facility, start=D(2026, 3, 4), end=D(2026, 3, 12)), director
    )

    assert result.rows == [
        {
            "week": WEEK_1,
            "meetings": 5,
            "people": 3,
            "weeks_in_care": 3,  # steady, planned, leaving
            "weeks_met": 1,  # steady
            "met_share": 33.3,
            "meetings_aa": 1,
            "meetings_na": 3,
            "meetings_smart": 0,
            "meetings_celebrate": 1,
        },
        {
            "week": WEEK_2,
            "meetings": 5,
            "people": 3,
            "weeks_in_care": 3,  # steady, planned, new
            "weeks_met": 2,  # steady, planned
            "met_share": 66.7,
            "meetings_aa": 1,
            "meetings_na": 1,
            "meetings_smart": 3,
            "meetings_celebrate": 0,
        },
    ]
    assert result.summary == [
        ("Meetings", "10"),
        ("People with a meeting", "4"),
        ("Weeks meeting the plan", "3 of 6 (50.0 %)"),
    ]


def test_mutual_help_respects_the_program_and_dates(
    facility: Facility, program: Program, director: User, met: dict[str, EpisodeOfCare]
) -> None:
    week_2 = clinical.mutual_help(
        filters(facility, program=program, start=WEEK_2, end=WEEK_2 + dt.timedelta(days=6)),
        director,
    )
    assert [
        (r["week"], r["meetings"], r["weeks_in_care"], r["weeks_met"]) for r in week_2.rows
    ] == [(WEEK_2, 5, 3, 2)]
    week_1 = clinical.mutual_help(
        filters(facility, program=program, start=WEEK_1, end=WEEK_1), director
    )
    # Without the program that asks none, its celebrate meeting is gone.
    assert [(r["meetings"], r["people"]) for r in week_1.rows] == [(4, 2)]
    assert "meetings_celebrate" not in {c.key for c in week_1.columns}


def test_mutual_help_of_an_empty_range_is_empty(
    facility: Facility, director: User, met: dict[str, EpisodeOfCare]
) -> None:
    result = clinical.mutual_help(
        filters(facility, start=D(2025, 3, 1), end=D(2025, 3, 31)), director
    )
    assert (result.rows, result.summary) == ([], [])


def test_weeks_in_care_without_meetings_still_count(
    facility: Facility, program: Program, clinician: User, director: User
) -> None:
    stay(program, clinician, admitted=D(2026, 3, 3))
    result = clinical.mutual_help(filters(facility, start=WEEK_1, end=D(2026, 3, 15)), director)
    assert [(r["weeks_in_care"], r["weeks_met"], r["met_share"]) for r in result.rows] == [
        (1, 0, 0.0),
        (1, 0, 0.0),
    ]


def test_a_new_plan_version_counts_from_its_week(
    facility: Facility, program: Program, clinician: User, director: User
) -> None:
    """Three a week from February 10; two a week from the version signed Wednesday March 11
    (the first one stops counting then): two meetings fall short in the week of March 2 and
    are enough in the week of March 9, counted once."""
    s = stay(program, clinician, admitted=D(2026, 2, 2))
    data.plan_changed(
        s,
        first=(3, local(facility, D(2026, 2, 10))),
        then=(2, local(facility, D(2026, 3, 11))),
    )
    data.meetings(
        s,
        (D(2026, 3, 3), "aa"),
        (D(2026, 3, 5), "aa"),
        (D(2026, 3, 10), "aa"),
        (D(2026, 3, 12), "na"),
    )

    result = clinical.mutual_help(filters(facility, start=WEEK_1, end=D(2026, 3, 15)), director)

    assert [
        (r["week"], r["meetings"], r["weeks_in_care"], r["weeks_met"]) for r in result.rows
    ] == [
        (WEEK_1, 2, 1, 0),
        (WEEK_2, 2, 1, 1),
    ]


def test_mutual_help_takes_a_constant_number_of_queries(
    facility: Facility,
    program: Program,
    clinician: User,
    director: User,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            s = stay(program, clinician, admitted=D(2026, 2, 2))
            data.plan_in_force(s, meetings_per_week=2, since=local(facility, D(2026, 2, 3)))
            data.meetings(s, (D(2026, 3, 3), "aa"), (D(2026, 3, 4), "na"))

    add(1)
    with django_assert_max_num_queries(7):
        clinical.mutual_help(filters(facility, **MARCH), director)
    add(4)
    with django_assert_max_num_queries(7):
        result = clinical.mutual_help(filters(facility, **MARCH), director)
    week = by(result.rows, "week")[WEEK_1]
    assert (week["weeks_in_care"], week["weeks_met"]) == (5, 5)


# --- 4. alumni outcomes --------------------------------------------------------------------------

JUNE: dict[str, Any] = {"start": D(2026, 6, 1), "end": D(2026, 6, 30)}
DONE = FollowUp.Status.COMPLETED


@pytest.fixture
def followed(
    program: Program, evening: Program, elsewhere: Program, clinician: User, other_clinician: User
) -> None:
    def alum(p: Program = program, who: User = clinician) -> EpisodeOfCare:
        return stay(p, who, admitted=D(2026, 1, 5), discharged=D(2026, 5, 1))

    data.follow_up(
        alum(),
        30,
        D(2026, 6, 1),
        status=DONE,
        any_use=False,
        days_used_30=0,
        working_or_school=True,
        housing="stable",
        readmitted=False,
    )
    data.follow_up(
        alum(),
        30,
        D(2026, 6, 10),
        status=DONE,
        any_use=True,
        days_used_30=6,
        working_or_school=False,
        housing="recovery_residence",
        readmitted=True,
    )
    data.follow_up(alum(), 30, D(2026, 6, 12), status="unreachable")
    data.follow_up(alum(), 30, D(2026, 6, 12), status="cancelled")
    data.follow_up(alum(), 30, D(2026, 6, 25))  # still due
    ninety = alum()
    data.follow_up(
        ninety,
        90,
        D(2026, 6, 30),
        status=DONE,
        any_use=False,
        days_used_30=0,
        working_or_school=True,
        housing="homeless",
        readmitted=False,
    )
    data.follow_up(ninety, 60, D(2026, 5, 31))  # due before June: outside, and overdue
    data.follow_up(alum(), 90, D(2026, 6, 2), status="declined")
    data.follow_up(alum(), 60, D(2026, 7, 1))
    data.follow_up(alum(evening), 30, D(2026, 6, 5), status=DONE, any_use=False)
    data.follow_up(alum(elsewhere, other_clinician), 30, D(2026, 6, 5), status=DONE)


def test_alumni_outcomes_by_follow_up_day(
    facility: Facility, program: Program, director: User, followed: None
) -> None:
    result = clinical.alumni_outcomes(filters(facility, program=program, **JUNE), director)

    assert result.rows == [
        {
            "follow_up": "30 days",
            "due": 4,  # the cancelled one is not due
            "completed": 2,
            "reach_rate": 50.0,
            "abstinent": 1,
            "abstinent_share": 50.0,
            "days_used": 3.0,
            "working": 1,
            "working_share": 50.0,
            "housed": 2,  # a recovery residence is stable housing
            "housed_share": 100.0,
            "readmitted": 1,
            "readmitted_share": 50.0,
        },
        {
            "follow_up": "90 days",
            "due": 2,
            "completed": 1,
            "reach_rate": 50.0,
            "abstinent": 1,
            "abstinent_share": 100.0,
            "days_used": 0.0,
            "working": 1,
            "working_share": 100.0,
            "housed": 0,
            "housed_share": 0.0,
            "readmitted": 0,
            "readmitted_share": 0.0,
        },
    ]
    assert result.summary == [
        ("Follow-ups due", "6"),
        ("Reached", "3 of 6 (50.0 %)"),
        ("No use since discharge", "2 of 3 (66.7 %)"),
    ]
    assert result.chart is not None and result.chart.percent and not result.chart.stacked


def test_alumni_outcomes_respect_program_facility_and_dates(
    facility: Facility, director: User, followed: None
) -> None:
    result = clinical.alumni_outcomes(filters(facility, **JUNE), director)
    thirty = by(result.rows, "follow_up")["30 days"]
    assert (thirty["due"], thirty["completed"], thirty["abstinent"]) == (5, 3, 2)
    empty = clinical.alumni_outcomes(
        filters(facility, start=D(2026, 8, 1), end=D(2026, 8, 31)), director
    )
    assert (empty.rows, empty.summary) == ([], [])


def test_alumni_outcome_shares_are_none_without_a_completed_follow_up(
    facility: Facility, program: Program, clinician: User, director: User
) -> None:
    data.follow_up(
        stay(program, clinician, admitted=D(2026, 1, 5), discharged=D(2026, 5, 1)),
        30,
        D(2026, 6, 3),
    )
    row = clinical.alumni_outcomes(filters(facility, **JUNE), director).rows[0]
    assert (row["due"], row["reach_rate"], row["abstinent_share"], row["days_used"]) == (
        1,
        0.0,
        None,
        None,
    )


def test_the_dashboard_s_follow_ups_due_counts_those_waiting_up_to_today(
    facility: Facility, program: Program, director: User, followed: None
) -> None:
    # Waiting on July 1: June 25, May 31 and July 1 itself; none yet on May 30.
    assert selectors.followups_due((facility.pk,), D(2026, 7, 1)) == 3
    assert selectors.followups_due((facility.pk,), D(2026, 5, 30)) == 0


def test_alumni_outcomes_take_one_query(
    facility: Facility,
    program: Program,
    clinician: User,
    director: User,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            s = stay(program, clinician, admitted=D(2026, 1, 5), discharged=D(2026, 5, 1))
            data.follow_up(s, 30, D(2026, 6, 1), status=DONE, any_use=False)
            data.follow_up(s, 60, D(2026, 6, 30))

    add(1)
    with django_assert_max_num_queries(1):
        clinical.alumni_outcomes(filters(facility, **JUNE), director)
    add(5)
    with django_assert_max_num_queries(1):
        result = clinical.alumni_outcomes(filters(facility, **JUNE), director)
    assert [r["due"] for r in result.rows] == [6, 6]


# --- 5. overdue plan reviews ---------------------------------------------------------------------


@pytest.fixture
def reviews(
    program: Program, evening: Program, elsewhere: Program, clinician: User, other_clinician: User
) -> User:
    """Reviews on March 31 (the end date); returns the second clinician."""
    second = UserFactory.create(
        first_name="Avery", last_name="Okafor", facilities=[program.facility]
    )

    def open_stay(who: User, due: dt.date | None, p: Program = program, **kw: Any) -> None:
        s = stay(p, who, admitted=D(2026, 1, 5), **kw)
        if due is not None:
            data.plan_review_due(s, due)

    open_stay(clinician, D(2026, 3, 1))  # 30 days overdue
    open_stay(clinician, D(2026, 3, 30))  # 1 day
    open_stay(clinician, D(2026, 3, 31))  # due on the end date: not overdue yet
    open_stay(clinician, None)  # no signed plan yet
    open_stay(clinician, D(2026, 3, 10), evening)  # another program
    open_stay(second, D(2026, 2, 15))  # 44 days
    open_stay(second, D(2026, 3, 1), discharged=D(2026, 3, 20))  # gone before the end date
    open_stay(second, D(2026, 3, 1), discharged=D(2026, 4, 10))  # still open on March 31
    open_stay(other_clinician, D(2026, 1, 1), elsewhere)
    return second


def test_overdue_plan_reviews_per_clinician_with_a_total(
    facility: Facility, program: Program, clinician: User, director: User, reviews: User
) -> None:
    result = clinical.plan_reviews_overdue(filters(facility, program=program, **MARCH), director)

    assert result.rows == [
        {
            "clinician": "Avery Okafor",
            "overdue": 2,
            "oldest_due": D(2026, 2, 15),
            "oldest_days": 44,
        },
        {
            "clinician": clinician.display_name,
            "overdue": 2,
            "oldest_due": D(2026, 3, 1),
            "oldest_days": 30,
        },
        {
            "clinician": "All clinicians",
            "overdue": 4,
            "oldest_due": D(2026, 2, 15),
            "oldest_days": 44,
        },
    ]
    assert result.summary == [("Reviews overdue", "4")]


def test_overdue_plan_reviews_respect_program_facility_and_end_date(
    facility: Facility, director: User, reviews: User
) -> None:
    whole = clinical.plan_reviews_overdue(filters(facility, **MARCH), director)
    assert whole.rows[-1]["overdue"] == 5  # the evening program's joins in
    on_april_1 = filters(facility, start=D(2026, 4, 1), end=D(2026, 4, 1))
    # The March 31 one is now overdue too.
    assert clinical.plan_reviews_overdue(on_april_1, director).rows[-1]["overdue"] == 6
    early = filters(facility, start=D(2026, 1, 1), end=D(2026, 1, 31))
    assert clinical.plan_reviews_overdue(early, director).rows == []


def test_overdue_plan_reviews_take_one_query(
    facility: Facility,
    program: Program,
    director: User,
    reviews: User,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    with django_assert_max_num_queries(1):
        clinical.plan_reviews_overdue(filters(facility, **MARCH), director)
    for n in range(4):
        who = UserFactory.create(facilities=[facility])
        data.plan_review_due(stay(program, who, admitted=D(2026, 1, 5)), D(2026, 3, 1 + n))
    with django_assert_max_num_queries(1):
        result = clinical.plan_reviews_overdue(filters(facility, **MARCH), director)
    assert len(result.rows) == 7


# --- 6. unsigned notes ---------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


def utc(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=dt.UTC)


@pytest.fixture
def unsigned(
    facility: Facility,
    program: Program,
    evening: Program,
    elsewhere: Program,
    clinician: User,
    other_clinician: User,
    director: User,
) -> User:
    """The organization flags notes unsigned 48 hours after the service; it is March 20, noon
    UTC. Returns the second author."""
    NoteSettings.objects.create(organization=facility.organization, unsigned_after_hours=48)
    second = UserFactory.create(first_name="Blake", last_name="Moreno", facilities=[facility])
    s = stay(program, clinician, admitted=D(2026, 1, 5))
    data.note(s, clinician, utc(18, 10))  # 50 h: past the limit
    data.note(s, clinician, utc(19, 20))  # 16 h
    data.note(s, clinician, utc(17, 20), signed=True)
    data.note(s, clinician, dt.datetime(2026, 2, 27, 20, 0, tzinfo=dt.UTC))  # before March
    session = data.group_session(director, program, clinician, D(2026, 3, 16))
    data.group_note(session, clinician)  # 9:00–12:00 local March 16: 89 h, past the limit
    data.note(s, second, utc(20, 11))  # 1 h
    data.note(s, second, utc(18, 12))  # exactly 48 h: not past the limit yet
    data.note(stay(evening, clinician, admitted=D(2026, 1, 5)), clinician, utc(10, 18))
    outside = stay(elsewhere, other_clinician, admitted=D(2026, 1, 5))
    data.note(outside, other_clinician, utc(10, 18))
    return second


def test_unsigned_notes_per_author_with_a_total(
    facility: Facility, program: Program, clinician: User, director: User, unsigned: User
) -> None:
    result = clinical.unsigned_notes_as_of(filters(facility, program=program, **MARCH), now=NOW)

    assert result.rows == [
        {
            "author": clinician.display_name,
            "notes": 2,
            "group_notes": 1,
            "unsigned": 3,
            "past_limit": 2,
            "oldest_hours": 89,
            "oldest_days": 3,
        },
        {
            "author": "Blake Moreno",
            "notes": 2,
            "group_notes": 0,
            "unsigned": 2,
            "past_limit": 0,
            "oldest_hours": 48,
            "oldest_days": 2,
        },
        {
            "author": "All authors",
            "notes": 4,
            "group_notes": 1,
            "unsigned": 5,
            "past_limit": 2,
            "oldest_hours": 89,
            "oldest_days": 3,
        },
    ]
    assert result.columns[4].label == "Unsigned over 48 h"
    assert result.summary == [("Unsigned", "5"), ("Over 48 h", "2")]


def test_unsigned_notes_respect_program_facility_and_dates(
    facility: Facility, director: User, unsigned: User
) -> None:
    whole = clinical.unsigned_notes_as_of(filters(facility, **MARCH), now=NOW)
    assert whole.rows[-1]["unsigned"] == 6  # the evening program's note joins in
    february = filters(facility, start=D(2026, 2, 1), end=D(2026, 2, 28))
    assert [r["unsigned"] for r in clinical.unsigned_notes_as_of(february, now=NOW).rows] == [
        1,
        1,
    ]
    empty = filters(facility, start=D(2026, 4, 1), end=D(2026, 4, 30))
    result = clinical.unsigned_notes_as_of(empty, now=NOW)
    assert (result.rows, result.summary) == ([], [])


def test_unsigned_notes_use_the_default_limit_without_settings(
    facility: Facility, program: Program, clinician: User, director: User
) -> None:
    s = stay(program, clinician, admitted=D(2026, 1, 5))
    data.note(s, clinician, utc(19, 11))  # 25 h
    result = clinical.unsigned_notes_as_of(filters(facility, **MARCH), now=NOW)
    assert result.rows[0]["past_limit"] == 1
    assert result.columns[4].label == "Unsigned over 24 h"


def test_unsigned_notes_take_a_constant_number_of_queries(
    facility: Facility,
    program: Program,
    director: User,
    unsigned: User,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    with django_assert_max_num_queries(4):
        clinical.unsigned_notes_as_of(filters(facility, **MARCH), now=NOW)
    for _ in range(3):
        who = UserFactory.create(facilities=[facility])
        data.note(stay(program, who, admitted=D(2026, 1, 5)), who, utc(19, 9))
    with django_assert_max_num_queries(4):
        result = clinical.unsigned_notes_as_of(filters(facility, **MARCH), now=NOW)
    assert len(result.rows) == 6


def test_every_report_answers_an_empty_database(facility: Facility, director: User) -> None:
    for key in [
        "instrument-outcomes",
        "drug-test-positivity",
        "mutual-help",
        "alumni-outcomes",
        "plan-reviews-overdue",
        "unsigned-notes",
    ]:
        result: Result = REGISTRY[key].build(filters(facility, **MARCH), director)
        assert result.rows == [], key
        assert result.columns, key
