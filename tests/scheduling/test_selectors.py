"""Reads of the IOP week: the weekly dose per patient (in constant queries), the episode's
totals, the at-risk list, the calendars and who may see which patients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.models import Facility, Program, Track, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.scheduling import rules, selectors, services
from openiop.scheduling.models import DoseDay, GroupType, Room, Schedule
from openiop.scheduling.rules import WeekStatus
from tests.admissions.factories import episode, program_with_phases
from tests.factories import PatientFactory
from tests.scheduling import factories as f
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db

WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def room_a(director: User, facility: Facility) -> Room:
    return f.room(director, facility)


@pytest.fixture
def process(director: User, program: Program) -> GroupType:
    return f.group(director, program)


@pytest.fixture
def mwf(director: User, process: GroupType, clinician: User, room_a: Room) -> Schedule:
    return f.schedule(director, process, clinician, where=room_a)


def dose(episode: EpisodeOfCare, *minutes_by_day: tuple[dt.date, int]) -> None:
    """Daily minutes as the attendance service leaves them."""
    DoseDay.objects.bulk_create(
        DoseDay(
            episode=episode,
            patient_id=episode.patient_id,
            facility_id=episode.facility_id,
            date=day,
            week_start=rules.week_start(day),
            minutes=minutes,
        )
        for day, minutes in minutes_by_day
    )


def days(*minutes: int, start: dt.date = MONDAY) -> list[tuple[dt.date, int]]:
    return [(start + dt.timedelta(days=n), m) for n, m in enumerate(minutes)]


# --- weekly dose ---------------------------------------------------------------------------------


def test_each_patients_week_has_its_status(
    director: User, facility: Facility, program: Program, clinician: User
) -> None:
    meets = f.admitted(facility, program, clinician, "Adams")
    dose(meets, *days(180, 0, 180, 0, 180))  # 9 h over 3 days
    short_day = f.admitted(facility, program, clinician, "Baker")
    dose(short_day, *days(180, 180, 179, 1))  # 9 h over 2 service days
    short_hours = f.admitted(facility, program, clinician, "Chen")
    dose(short_hours, *days(180, 180, 179))  # 8.98 h over 2 days
    above = f.admitted(facility, program, clinician, "Diaz")
    dose(above, *days(240, 240, 240, 240, 181))  # 19.02 h
    nothing = f.admitted(facility, program, clinician, "Evans")
    dose(nothing, *days(600, start=MONDAY - dt.timedelta(days=7)))  # another week
    rows = {
        r.episode.patient.last_name: r
        for r in selectors.facility_week_dose(director, facility, MONDAY)
    }
    assert list(rows) == ["Adams", "Baker", "Chen", "Diaz", "Evans"]
    assert (rows["Adams"].minutes, rows["Adams"].service_days, rows["Adams"].status) == (
        540,
        3,
        WeekStatus.MEETS,
    )
    assert (rows["Baker"].minutes, rows["Baker"].service_days) == (540, 2)
    assert rows["Baker"].status == WeekStatus.BELOW
    assert rows["Baker"].shortfall == "1 more service day"
    assert rows["Chen"].hours_text == "8.98" and rows["Chen"].status == WeekStatus.BELOW
    assert rows["Diaz"].status == WeekStatus.ABOVE
    assert (rows["Evans"].minutes, rows["Evans"].service_days) == (0, 0)
    assert selectors.weekly_counts(list(rows.values())) == {"meets": 1, "below": 3, "above": 1}


def test_the_service_day_follows_the_programs_rule_in_the_database(
    director: User, facility: Facility, clinician: User
) -> None:
    program = program_with_phases(
        facility, min_hours_per_day=Decimal("2.5"), min_hours_per_week=Decimal("6")
    )
    episode = f.admitted(facility, program, clinician)
    dose(episode, *days(150, 149, 150, 150))
    (row,) = selectors.facility_week_dose(director, facility, MONDAY)
    assert row.service_days == 3
    _, week = selectors.episode_week(episode, MONDAY)
    assert week.service_days == 3 and week.minutes == 599


def report_queries(user: User, facility: Facility) -> int:
    with CaptureQueriesContext(connection) as queries:
        rows = selectors.facility_week_dose(user, facility, MONDAY)
        _ = [(r.status, r.shortfall, r.episode.patient.last_name) for r in rows]
    return len(queries)


def test_the_weekly_report_costs_the_same_queries_for_3_or_12_patients(
    director: User,
    facility: Facility,
    program: Program,
    clinician: User,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    for n in range(3):
        dose(f.admitted(facility, program, clinician, f"Few{n}"), *days(180, 120, 180))
    few = report_queries(director, facility)
    for n in range(9):
        dose(f.admitted(facility, program, clinician, f"Many{n}"), *days(180, 0, 180, 180))
    with django_assert_num_queries(few):
        rows = selectors.facility_week_dose(director, facility, MONDAY)
        _ = [(r.status, r.shortfall, r.episode.patient.last_name) for r in rows]
    assert len(rows) == 12


def test_a_clinician_sees_only_their_patients_in_the_report(
    director: User,
    facility: Facility,
    program: Program,
    clinician: User,
    mwf: Schedule,
    make_user: Callable[..., User],
) -> None:
    episode = f.admitted(facility, program, clinician)
    dose(episode, *days(180))
    stranger = make_user(Role.CLINICIAN)
    assert selectors.facility_week_dose(stranger, facility, MONDAY) == []
    assert [r.episode for r in selectors.facility_week_dose(clinician, facility, MONDAY)] == [
        episode
    ]
    # a facilitator sees the patients on the rosters of their groups
    facilitator = make_user(Role.CLINICIAN)
    other = f.schedule(
        director,
        f.group(director, program, "Evening process"),
        facilitator,
        start_time=dt.time(18, 0),
    )
    assert selectors.facility_week_dose(facilitator, facility, MONDAY) == []
    f.enrolled(clinician, episode, other)
    assert [r.episode for r in selectors.facility_week_dose(facilitator, facility, MONDAY)] == [
        episode
    ]
    assert selectors.facility_week_dose(stranger, facility, MONDAY) == []


# --- the episode --------------------------------------------------------------------------------


def test_episode_dose_totals_and_days_since_last(
    facility: Facility, program: Program, clinician: User
) -> None:
    episode = f.admitted(facility, program, clinician)
    dose(episode, *days(180, 90, 200), (MONDAY + dt.timedelta(days=3), 0))
    totals = selectors.episode_dose(episode, MONDAY + dt.timedelta(days=9))
    assert (totals.minutes, totals.service_days) == (470, 2)
    assert totals.hours_text == "7.83"
    assert totals.last_attended == WEDNESDAY  # a day of 0 minutes is not attendance
    assert totals.days_since_last == 7 and totals.at_risk
    assert (
        totals.days_in_treatment == (MONDAY + dt.timedelta(days=9) - dt.date(2026, 1, 5)).days + 1
    )
    assert not selectors.episode_dose(episode, WEDNESDAY + dt.timedelta(days=6)).at_risk
    weeks = selectors.episode_weeks(episode)
    assert [(w.week, w.minutes, w.service_days) for w in weeks] == [(MONDAY, 470, 2)]


def test_the_at_risk_list_starts_at_7_days(
    director: User,
    facility: Facility,
    program: Program,
    clinician: User,
) -> None:
    today = dt.date(2026, 3, 20)
    six = f.admitted(facility, program, clinician, "Six")
    dose(six, (today - dt.timedelta(days=6), 180))
    seven = f.admitted(facility, program, clinician, "Seven")
    dose(seven, (today - dt.timedelta(days=7), 180))
    never = f.admitted(facility, program, clinician, "Never")
    newcomer = PatientFactory.create(facility=facility, last_name="New")
    episode(newcomer, program, clinician, admission_date=today - dt.timedelta(days=6))
    rows = selectors.at_risk(director, facility, today)
    assert [(r.episode, r.days_since) for r in rows] == [(never, None), (seven, 7)]
    assert six not in [r.episode for r in rows]


# --- calendars ----------------------------------------------------------------------------------


def test_the_week_has_day_and_night_lanes(
    director: User,
    facility: Facility,
    program: Program,
    mwf: Schedule,
    make_user: Callable[..., User],
) -> None:
    evening = Track.objects.get(program=program, kind="evening")
    night = f.schedule(
        director,
        f.group(director, program, "Evening process"),
        make_user(Role.CLINICIAN),
        rrule="FREQ=WEEKLY;BYDAY=TU,TH",
        start_time=dt.time(18, 0),
        track=evening,
    )
    late_untracked = f.schedule(
        director,
        f.group(director, program, "Family education", duration_minutes=60),
        make_user(Role.CLINICIAN),
        rrule="FREQ=WEEKLY;BYDAY=MO",
        start_time=dt.time(16, 0),
    )
    week = selectors.facility_week(director, facility, MONDAY + dt.timedelta(days=3))
    assert [d.date for d in week] == [MONDAY + dt.timedelta(days=n) for n in range(7)]
    monday, tuesday = week[0], week[1]
    assert [e.session.schedule for e in monday.day if e.session] == [mwf]
    assert [e.session.schedule for e in monday.night if e.session] == [late_untracked]
    assert [e.session.schedule for e in tuesday.night if e.session] == [night]
    assert tuesday.day == [] and week[6].empty
    assert monday.day[0].where == "Room A" and monday.day[0].detail == "0 on the roster"


def test_a_staff_feed_places_an_untracked_evening_group_in_the_night_lane(
    director: User, facility: Facility, program: Program, mwf: Schedule, clinician: User
) -> None:
    """By the facility's clock (18:00 in Los Angeles is 02:00 UTC the next morning)."""
    late = f.schedule(
        director,
        f.group(director, program, "Family education", duration_minutes=60),
        clinician,
        rrule="FREQ=WEEKLY;BYDAY=TU",
        start_time=dt.time(18, 0),
    )
    start = dt.datetime.combine(MONDAY, dt.time(0), tzinfo=facility.zone)
    entries = selectors.upcoming_for_staff(clinician, start=start, end=start + dt.timedelta(7))
    lanes = {(e.session.schedule_id, e.lane) for e in entries if e.session}
    assert lanes == {(mwf.pk, "day"), (late.pk, "night")}


def test_a_patients_week_shows_their_groups_from_the_day_they_joined(
    director: User,
    front_desk: User,
    clinician: User,
    facility: Facility,
    program: Program,
    mwf: Schedule,
    make_user: Callable[..., User],
) -> None:
    episode = f.admitted(facility, program, clinician)
    f.schedule(
        director,
        f.group(director, program, "Not theirs"),
        make_user(Role.CLINICIAN),
        start_time=dt.time(13, 0),
    )
    f.enrolled(clinician, episode, mwf, start=WEDNESDAY)
    services.book_appointment(
        actor=front_desk,
        episode=episode,
        kind="individual",
        staff=clinician,
        day=MONDAY + dt.timedelta(days=1),
        start=dt.time(13, 0),
        minutes=50,
        telehealth=True,
    )
    f.came(clinician, f.session_on(mwf, WEDNESDAY), episode)
    items = selectors.patient_week(episode.patient, MONDAY)
    assert [(i.entry.kind, i.entry.starts_at.astimezone(facility.zone).date()) for i in items] == [
        ("appointment", MONDAY + dt.timedelta(days=1)),
        ("session", WEDNESDAY),
        ("session", WEDNESDAY + dt.timedelta(days=2)),
    ]
    assert items[1].attendance is not None and items[1].attendance.minutes == 180
    assert items[2].attendance is None
    assert items[0].entry.title == "Individual therapy"  # no name on the patient's own sheet


def test_the_planned_week_against_the_program(
    director: User,
    clinician: User,
    facility: Facility,
    program: Program,
    mwf: Schedule,
    make_user: Callable[..., User],
) -> None:
    episode = f.admitted(facility, program, clinician)
    empty = selectors.planned_week(episode, MONDAY)
    assert (empty.enrolled_minutes, empty.with_new_minutes, empty.below_minimum) == (0, None, True)
    f.enrolled(clinician, episode, mwf)
    planned = selectors.planned_week(episode, MONDAY)
    assert planned.enrolled_minutes == 540 and planned.enrolled_text == "9"
    assert not planned.below_minimum
    assert (planned.program_min_hours, planned.program_max_hours) == (Decimal("9"), Decimal("19"))
    extra = f.schedule(
        director,
        f.group(director, program, "Relapse prevention", duration_minutes=90),
        make_user(Role.CLINICIAN),
        rrule="FREQ=WEEKLY;BYDAY=TU",
        start_time=dt.time(13, 0),
    )
    adding = selectors.planned_week(episode, MONDAY, adding=extra)
    assert adding.with_new_minutes == 630 and adding.with_new_text == "10.5"
    assert adding.plan_hours is None


def test_a_clinicians_day_counts_the_roster_and_the_attendance_once_each(
    director: User, facility: Facility, program: Program, mwf: Schedule, clinician: User
) -> None:
    people = [f.admitted(facility, program, clinician, name) for name in ("Ash", "Birch", "Cole")]
    for e in people:
        f.enrolled(clinician, e, mwf)
    f.came(clinician, f.session_on(mwf, MONDAY), *people)
    [entry] = selectors.staff_day(director, clinician, facility, MONDAY)
    assert entry.session is not None
    assert (entry.session.on_roster, entry.session.recorded) == (3, 3)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("per_day", "hours_a_day", "max_week"),
    [
        # 2 h 59 / 3 h 00 a day, 8.98 / 9.0 h and 2 / 3 service days a week, the maximum.
        ([180, 180, 179], "3", "19"),
        ([180, 180, 180], "3", "19"),
        ([180, 180, 179, 1], "3", "19"),
        ([240, 240, 240, 240, 180], "3", "19"),
        ([240, 240, 240, 240, 181], "3", "19"),
        ([0], "3", "19"),
        # Program rules with awkward decimals (floating point in SQLite).
        ([537, 537, 537], "8.95", "26.85"),
        ([537, 537, 538], "8.95", "26.85"),
        ([149, 150, 150, 150], "2.5", None),
    ],
)
def test_the_database_gives_every_week_the_status_the_rule_gives(
    director: User,
    facility: Facility,
    clinician: User,
    per_day: list[int],
    hours_a_day: str,
    max_week: str | None,
) -> None:
    program = program_with_phases(
        facility,
        min_hours_per_day=Decimal(hours_a_day),
        min_days_per_week=3,
        min_hours_per_week=Decimal(hours_a_day) * 3,
        max_hours_per_week=Decimal(max_week) if max_week else None,
    )
    episode = f.admitted(facility, program, clinician)
    dose(episode, *days(*per_day))
    week = selectors.facility_week_query(director, facility, MONDAY)
    [row] = selectors.as_week_rows(selectors.for_showing(week), MONDAY)
    minutes, service_days = row.minutes, row.service_days
    in_sql = selectors.with_status(week, row.status).count() == 1
    expected = rules.week_status(rules.hours(minutes), service_days, program.dose_rules())
    assert row.status == expected and in_sql  # the rule in Python and in SQL agree
    assert service_days == sum(1 for m in per_day if rules.is_service_day(m, program.dose_rules()))
    counts = {s.value: int(s == expected) for s in WeekStatus}
    counts["total"] = 1
    assert selectors.week_counts(week) == counts


def test_the_report_counts_and_filters_by_status_in_the_database(
    director: User, facility: Facility, program: Program, clinician: User
) -> None:
    dose(f.admitted(facility, program, clinician, "Adams"), *days(180, 0, 180, 0, 180))
    dose(f.admitted(facility, program, clinician, "Baker"), *days(180, 180))
    dose(f.admitted(facility, program, clinician, "Chen"), *days(60))
    week = selectors.facility_week_query(director, facility, MONDAY)
    assert selectors.week_counts(week) == {"total": 3, "meets": 1, "below": 2, "above": 0}
    below = selectors.for_showing(selectors.with_status(week, WeekStatus.BELOW))
    rows = selectors.as_week_rows(below, MONDAY)
    assert [r.episode.patient.last_name for r in rows] == ["Baker", "Chen"]
    assert all(r.status == WeekStatus.BELOW for r in rows)
