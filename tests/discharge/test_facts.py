"""The facts a discharge summary starts from, gathered by the database from the chart built
through the services: dates and stay, hours and service days, attendance rate, instruments at
baseline and last, drug tests, meetings, goals, relapses — in a constant number of queries."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.discharge.facts import fact_rows, gather_facts, instrument_rows
from openiop.discharge.models import LevelOfCareChange
from openiop.measures import services as measures
from openiop.plans import services as plans
from openiop.scheduling import services as scheduling
from openiop.scheduling.models import Schedule
from tests.admissions.factories import program_with_phases
from tests.measures.factories import gad7, given_on, phq9
from tests.plans.factories import active_plan
from tests.recovery.factories import a_meeting, a_relapse, a_test
from tests.scheduling import factories
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 4, 20)


def at(day: dt.date, hour: int = 17) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 30, tzinfo=dt.UTC)


@pytest.fixture
def mwf(director: User, clinician: User, facility: Facility, program: Program) -> Schedule:
    group = factories.group(director, program, capacity=15)
    return factories.schedule(director, group, clinician, where=factories.room(director, facility))


def attend_week(
    clinician: User, episode: EpisodeOfCare, schedule: Schedule, monday: dt.date
) -> None:
    """Present Monday, Wednesday and Friday: 9 hours, 3 service days (meets the minimum)."""
    for offset in (0, 2, 4):
        session = factories.session_on(schedule, monday + dt.timedelta(days=offset))
        factories.came(clinician, session, episode)


@pytest.fixture
def chart(
    clinician: User,
    director: User,
    facility: Facility,
    program: Program,
    episode: EpisodeOfCare,
    mwf: Schedule,
) -> EpisodeOfCare:
    factories.enrolled(clinician, episode, mwf)
    # week 1 meets the minimum; week 2: present, late (2 h), unexcused; week 3 cancelled
    attend_week(clinician, episode, mwf, MONDAY)
    week2 = MONDAY + dt.timedelta(days=7)
    factories.came(clinician, factories.session_on(mwf, week2), episode)
    factories.came(
        clinician,
        factories.session_on(mwf, week2 + dt.timedelta(days=2)),
        episode,
        status="late",
        minutes=120,
    )
    factories.came(
        clinician,
        factories.session_on(mwf, week2 + dt.timedelta(days=4)),
        episode,
        status="unexcused",
    )
    cancelled = factories.session_on(mwf, MONDAY + dt.timedelta(days=14))
    scheduling.cancel_session(actor=director, session=cancelled, reason="Facilitator ill")
    factories.came(clinician, cancelled, episode, status="cancelled")
    # drug tests: negative, unexpected positive, negative
    a_test(clinician, episode, collected_at=at(dt.date(2026, 3, 4)))
    a_test(
        clinician,
        episode,
        collected_at=at(dt.date(2026, 3, 11)),
        results={"cocaine": "positive", "fentanyl": "negative"},
    )
    a_test(clinician, episode, collected_at=at(dt.date(2026, 3, 18)))
    a_meeting(clinician, episode, date=dt.date(2026, 3, 5))
    a_meeting(clinician, episode, date=dt.date(2026, 3, 12))
    a_relapse(clinician, episode, date=dt.date(2026, 3, 10))
    # PHQ-9 18 → 12 → 6 (the last one corrected to 8); GAD-7 once; one PHQ-9 before admission
    patient = episode.patient
    give = measures.administer
    give(
        actor=clinician,
        patient=patient,
        code="phq9",
        answers=phq9(20),
        administered_at=given_on(facility, dt.date(2026, 1, 2)),
    )
    give(
        actor=clinician,
        patient=patient,
        code="phq9",
        answers=phq9(18),
        administered_at=given_on(facility, dt.date(2026, 1, 6)),
    )
    give(
        actor=clinician,
        patient=patient,
        code="gad7",
        answers=gad7(11),
        administered_at=given_on(facility, dt.date(2026, 1, 6)),
    )
    give(
        actor=clinician,
        patient=patient,
        code="phq9",
        answers=phq9(12),
        administered_at=given_on(facility, dt.date(2026, 2, 15)),
    )
    wrong = give(
        actor=clinician,
        patient=patient,
        code="phq9",
        answers=phq9(6),
        administered_at=given_on(facility, dt.date(2026, 3, 20)),
    )
    give(
        actor=clinician,
        patient=patient,
        code="phq9",
        answers=phq9(8),
        administered_at=given_on(facility, dt.date(2026, 3, 20), hour=11),
        corrects=wrong,
        correction_reason="Item 4 was scored wrongly.",
    )
    # a plan with one goal and two objectives, one met at review
    version = active_plan(clinician, episode, objectives=2)
    objectives = list(version.problems.get().goals.get().objectives.order_by("order"))
    plans.record_review(
        actor=clinician,
        plan=version.plan,
        reviewed_on=dt.date(2026, 3, 20),
        decision="continue",
        summary="Good progress on attendance.",
        progress=[
            {"objective": objectives[0].pk, "status": "met"},
            {"objective": objectives[1].pk, "status": "in_progress"},
        ],
    )
    # a transfer from PHP to this IOP program in the same episode
    php = program_with_phases(facility, name="Partial hospitalization", level_of_care="2.5")
    LevelOfCareChange.objects.create(
        episode=episode,
        changed_on=dt.date(2026, 2, 2),
        from_program=php,
        to_program=program,
        from_level="2.5",
        to_level=program.level_of_care,
        from_services=6,
        to_services=6,
        reason="Stable enough for fewer hours.",
        changed_by=clinician,
    )
    return episode


def test_it_gathers_the_dates_and_the_stay(chart: EpisodeOfCare) -> None:
    facts = gather_facts(chart, ON)
    assert facts["admission_date"] == "2026-01-05"
    assert facts["discharge_date"] == "2026-04-20"
    assert facts["days_in_treatment"] == 106
    assert facts["length_of_stay"] == 105
    assert facts["los_code"] == 34
    assert facts["program"] == chart.program.name
    assert facts["level_history"] == [
        {
            "changed_on": "2026-02-02",
            "from_program": "Partial hospitalization",
            "from_level": "2.5",
            "to_program": chart.program.name,
            "to_level": chart.program.level_of_care,
        }
    ]


def test_it_adds_up_hours_service_days_and_attendance(chart: EpisodeOfCare) -> None:
    facts = gather_facts(chart, ON)
    assert facts["minutes_attended"] == 540 + 180 + 120
    assert facts["hours_attended"] == 14.0
    assert facts["service_days"] == 4  # the 2-hour day is not a service day
    assert facts["weeks_meeting_dose"] == 1
    assert facts["weeks_in_treatment"] == 16
    # 6 sessions recorded (the cancelled one left out), 5 attended (present, late)
    assert facts["attendance"] == {"recorded": 6, "attended": 5, "rate": 83.3}


def test_it_reads_instruments_at_baseline_and_last(chart: EpisodeOfCare) -> None:
    facts = gather_facts(chart, ON)
    by_code = {i["code"]: i for i in facts["instruments"]}
    assert list(by_code) == ["phq9", "gad7"]
    phq = by_code["phq9"]
    assert phq["baseline"] == {"date": "2026-01-06", "total": 18, "band": "moderately severe"}
    assert phq["last"] == {"date": "2026-03-20", "total": 8, "band": "mild"}
    assert phq["change"] == -10
    assert phq["given"] == 3  # the one before admission and the one in error left out
    assert by_code["gad7"]["given"] == 1
    assert by_code["gad7"]["baseline"] == by_code["gad7"]["last"]


def test_it_summarizes_drug_tests_meetings_goals_and_relapses(chart: EpisodeOfCare) -> None:
    facts = gather_facts(chart, ON)
    assert facts["drug_tests"] == {
        "count": 3,
        "unexpected_positive": 1,
        "last_unexpected_positive": "2026-03-11",
        "last_test": "2026-03-18",
    }
    assert facts["meetings"] == 2
    assert facts["relapses"] == 1
    goals = facts["goals"]
    assert goals["goals"] == 1
    assert goals["goals_met"] == 0  # one of two objectives met
    assert goals["objectives"]["met"] == 1
    assert goals["objectives"]["in_progress"] == 1
    assert goals["objectives_total"] == 2


def test_a_goal_is_met_when_every_current_objective_is(
    clinician: User, chart: EpisodeOfCare
) -> None:
    version = chart.treatment_plan.versions.get(status="active")
    objectives = list(version.problems.get().goals.get().objectives.order_by("order"))
    plans.record_review(
        actor=clinician,
        plan=version.plan,
        reviewed_on=dt.date(2026, 4, 1),
        decision="continue",
        summary="The second objective was dropped for a better one.",
        progress=[{"objective": objectives[1].pk, "status": "discontinued"}],
    )
    goals = gather_facts(chart, ON)["goals"]
    assert (goals["goals"], goals["goals_met"]) == (1, 1)
    assert goals["objectives"]["discontinued"] == 1


def test_the_facts_stop_at_the_discharge_date(chart: EpisodeOfCare) -> None:
    facts = gather_facts(chart, dt.date(2026, 3, 6))  # end of week 1
    assert facts["minutes_attended"] == 540
    assert facts["attendance"] == {"recorded": 3, "attended": 3, "rate": 100.0}
    assert facts["drug_tests"]["count"] == 1
    assert facts["meetings"] == 1
    assert facts["relapses"] == 0
    assert [i["given"] for i in facts["instruments"]] == [2, 1]


def test_the_facts_are_json(chart: EpisodeOfCare) -> None:
    facts = gather_facts(chart, ON)
    assert json.loads(json.dumps(facts)) == facts


def test_an_empty_chart_has_empty_facts(episode: EpisodeOfCare) -> None:
    facts = gather_facts(episode, ON)
    assert facts["hours_attended"] == 0
    assert facts["attendance"] == {"recorded": 0, "attended": 0, "rate": None}
    assert facts["instruments"] == []
    assert facts["goals"] is None
    assert facts["drug_tests"]["last_test"] is None
    labels = {row.label: row.value for row in fact_rows(facts)}
    assert labels["Attendance"] == "No attendance recorded"
    assert labels["Treatment-plan goals"] == "No active treatment plan"
    assert labels["Drug tests"] == "None recorded"


def test_the_rows_read_as_the_summary_states_them(chart: EpisodeOfCare) -> None:
    facts = gather_facts(chart, ON)
    rows = {row.label: row for row in fact_rows(facts)}
    assert rows["Admitted"].value == "01/05/2026"
    assert rows["Length of stay"].value == "105 days"
    assert rows["Length of stay"].note == "TEDS LOS code 34"
    assert rows["Attendance"].value == "83.3 %"
    assert rows["Drug tests"].note == "last test 03/18/2026; last unexpected positive 03/11/2026"
    assert "Partial hospitalization (2.5)" in rows["Level-of-care changes"].value
    phq = instrument_rows(facts)[0]
    assert phq.baseline == "18 · moderately severe (01/06/2026)"
    assert phq.last == "8 · mild (03/20/2026)"
    assert phq.change == "-10"


def _more_history(clinician: User, episode: EpisodeOfCare, schedule: Schedule) -> None:
    for week in range(3, 7):
        attend_week(clinician, episode, schedule, MONDAY + dt.timedelta(days=7 * week))
        a_test(clinician, episode, collected_at=at(MONDAY + dt.timedelta(days=7 * week + 1)))
        a_meeting(clinician, episode, date=MONDAY + dt.timedelta(days=7 * week + 2))
        measures.administer(
            actor=clinician,
            patient=episode.patient,
            code="gad7",
            answers=gad7(10 - week),
            administered_at=given_on(episode.facility, MONDAY + dt.timedelta(days=7 * week)),
        )


def test_it_costs_the_same_queries_for_a_short_and_a_long_history(
    clinician: User, chart: EpisodeOfCare, mwf: Schedule, django_assert_max_num_queries: Any
) -> None:
    with CaptureQueriesContext(connection) as short:
        gather_facts(chart, ON)
    _more_history(clinician, chart, mwf)
    with django_assert_max_num_queries(len(short.captured_queries)):
        facts = gather_facts(chart, ON)
    assert facts["weeks_meeting_dose"] == 5
    assert facts["drug_tests"]["count"] == 7
    assert len(short.captured_queries) <= 12
