"""The facility's week and a clinician's day, through the test client."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import Facility, Program, Track, User
from openiop.accounts.roles import Role
from openiop.scheduling import services
from openiop.scheduling.models import GroupType, Schedule
from tests.admissions.factories import program_with_phases
from tests.conftest import body, signed_in
from tests.factories import UserFactory
from tests.scheduling.factories import MONDAY, admitted, group, room, schedule, session_on

WEEK = reverse("scheduling:week")
DAY = reverse("scheduling:day")


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def process(director: User, program: Program) -> GroupType:
    return group(director, program, "Early recovery", duration_minutes=90)


@pytest.fixture
def morning(director: User, process: GroupType, clinician: User, facility: Facility) -> Schedule:
    return schedule(director, process, clinician, where=room(director, facility, "Cedar Room"))


def _week(client: Client, monday: dt.date = MONDAY, **params: str) -> str:
    response = client.get(WEEK, {"week": monday.isoformat(), **params})
    assert response.status_code == 200
    return body(response)


def _lane(html: str, day: dt.date, lane: str) -> str:
    """The HTML of one lane of one day."""
    section = html.split(f'id="day-{day:%Y%m%d}"', 1)[1].split('<section class="cal-day', 1)[0]
    return section.split(f"lane-{lane}", 1)[1].split("cal-lane ", 1)[0]


def test_it_shows_the_week_with_time_room_facilitator_and_roster(
    director: User, clinician: User, morning: Schedule, facility: Facility, program: Program
) -> None:
    stay = admitted(facility, program, clinician)
    services.enroll(actor=clinician, episode=stay, schedule=morning, start_date=MONDAY)
    html = _week(signed_in(clinician))
    monday = _lane(html, MONDAY, "day")
    assert "9:00 am – 10:30 am" in monday
    assert "Early recovery" in monday and "Cedar Room" in monday
    assert clinician.display_name in monday
    assert "1 on the roster" in monday
    session = session_on(morning, MONDAY)
    assert reverse("scheduling:session", args=[session.pk]) in monday
    # Tuesday has nothing (Monday, Wednesday, Friday rule).
    assert "Early recovery" not in _lane(html, MONDAY + dt.timedelta(days=1), "day")
    assert "Week of March 2, 2026" in html
    assert "?week=2026-02-23" in html and "?week=2026-03-09" in html


def test_any_day_of_the_week_opens_that_week_and_bad_dates_open_this_week(
    clinician: User, morning: Schedule
) -> None:
    client = signed_in(clinician)
    assert "Week of March 2, 2026" in _week(client, MONDAY + dt.timedelta(days=4))
    response = client.get(WEEK, {"week": "not-a-date"})
    assert response.status_code == 200
    assert "Week of March 2, 2026" not in body(response)


def test_an_evening_group_stays_at_6_pm_across_the_daylight_saving_change(
    director: User, clinician: User, program: Program, facility: Facility
) -> None:
    evening = Track.objects.get(program=program, kind="evening")
    night_group = group(director, program, "Evening process", duration_minutes=180)
    plan = schedule(
        director,
        night_group,
        clinician,
        rrule="FREQ=DAILY",
        start_time=dt.time(18, 0),
        track=evening,
    )
    # The clocks change on Sunday 8 March 2026 in Los Angeles: 6 pm is 02:00 UTC before,
    # 01:00 UTC after.
    before, after = session_on(plan, dt.date(2026, 3, 7)), session_on(plan, dt.date(2026, 3, 9))
    assert before.starts_at.astimezone(dt.UTC).hour == 2
    assert after.starts_at.astimezone(dt.UTC).hour == 1
    client = signed_in(clinician)
    for monday in (MONDAY, dt.date(2026, 3, 9)):
        html = _week(client, monday)
        for n in range(7):
            day = monday + dt.timedelta(days=n)
            night = _lane(html, day, "night")
            assert "6:00 pm – 9:00 pm" in night, day
            assert "Evening process" not in _lane(html, day, "day")
        assert "7:00 pm" not in html and "5:00 pm" not in html


def test_a_cancelled_session_shows_cancelled_in_words(
    director: User, clinician: User, morning: Schedule
) -> None:
    session = session_on(morning, MONDAY + dt.timedelta(days=2))
    services.cancel_session(actor=clinician, session=session, reason="Staff training day")
    html = _week(signed_in(clinician))
    wednesday = _lane(html, MONDAY + dt.timedelta(days=2), "day")
    assert "Cancelled" in wednesday
    assert "<s>9:00 am – 10:30 am</s>" in wednesday
    assert "Cancelled" not in _lane(html, MONDAY, "day")


def test_the_lane_and_track_filters_keep_only_what_is_asked(
    director: User, clinician: User, program: Program, morning: Schedule
) -> None:
    evening = Track.objects.get(program=program, kind="evening")
    night_group = group(director, program, "Evening process", duration_minutes=180)
    schedule(
        director,
        night_group,
        clinician,
        start_time=dt.time(18, 0),
        track=evening,
        rrule="FREQ=WEEKLY;BYDAY=TU",
    )
    client = signed_in(clinician)
    everything = _week(client)
    assert "Evening process" in everything and "Early recovery" in everything
    nights = _week(client, lane="night")
    assert "Evening process" in nights and "Early recovery" not in nights
    by_track = _week(client, track=str(evening.pk))
    assert "Evening process" in by_track and "Early recovery" not in by_track


def _count(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(WEEK, {"week": MONDAY.isoformat()})
    assert response.status_code == 200
    return len(queries)


def test_the_week_costs_the_same_queries_for_2_or_10_schedules(
    director: User, clinician: User, program: Program, facility: Facility
) -> None:
    people = [clinician] + [
        UserFactory.create(role=Role.CLINICIAN, facilities=[facility]) for _ in range(9)
    ]
    groups = [group(director, program, f"Group {n}", duration_minutes=60) for n in range(10)]
    stay = admitted(facility, program, clinician)

    def add(n: int) -> None:
        made = schedule(director, groups[n], people[n], start_time=dt.time(8 + n, 0))
        services.enroll(actor=clinician, episode=stay, schedule=made, start_date=MONDAY)

    for n in range(2):
        add(n)
    client = signed_in(clinician)
    client.get(WEEK)  # warm the session
    small = _count(client)
    for n in range(2, 10):
        add(n)
    large = _count(client)
    assert large == small
    assert "Group 9" in _week(client)


def test_the_front_desk_reads_the_calendar(
    facility: Facility, front_desk: User, morning: Schedule
) -> None:
    html = _week(signed_in(front_desk))
    assert "Early recovery" in html
    assert reverse("scheduling:groups") in html  # the sub-navigation


def test_the_auditor_is_refused(auditor: User, morning: Schedule) -> None:
    client = signed_in(auditor)
    assert client.get(WEEK).status_code == 403
    assert client.get(DAY).status_code == 403


def test_another_facilitys_staff_see_their_own_facility_only(
    other_clinician: User, morning: Schedule
) -> None:
    html = _week(signed_in(other_clinician))
    assert "Early recovery" not in html


# --- a clinician's day ---------------------------------------------------------------------------


def test_my_day_lists_my_groups_in_order_with_links(
    director: User, clinician: User, program: Program, morning: Schedule
) -> None:
    later = group(director, program, "Relapse prevention", duration_minutes=60)
    schedule(director, later, clinician, start_time=dt.time(13, 0))
    response = signed_in(clinician).get(DAY, {"date": MONDAY.isoformat()})
    assert response.status_code == 200
    html = body(response)
    assert "My day" in html
    first, second = html.index("Early recovery"), html.index("Relapse prevention")
    assert first < second
    session = session_on(morning, MONDAY)
    assert reverse("scheduling:session", args=[session.pk]) in html
    assert "9:00 am – 10:30 am" in html and "1:00 pm – 2:00 pm" in html
    empty = body(signed_in(clinician).get(DAY, {"date": "2026-03-03"}))
    assert "No groups or appointments for you on this day." in empty


def test_a_director_looks_at_a_clinicians_day(
    director: User, clinician: User, morning: Schedule
) -> None:
    response = signed_in(director).get(
        DAY, {"date": MONDAY.isoformat(), "staff": str(clinician.pk)}
    )
    assert response.status_code == 200
    html = body(response)
    assert f"{clinician.display_name}'s day" in html
    assert "Early recovery" in html


def test_a_clinician_cannot_look_at_someone_elses_day(
    clinician: User, director: User, morning: Schedule
) -> None:
    response = signed_in(clinician).get(DAY, {"staff": director.pk})
    assert response.status_code == 403


def test_staff_of_another_facility_are_not_found(director: User, other_clinician: User) -> None:
    response = signed_in(director).get(DAY, {"staff": other_clinician.pk})
    assert response.status_code == 404


def test_the_day_costs_the_same_queries_for_1_or_6_groups(
    director: User, clinician: User, program: Program
) -> None:
    client = signed_in(clinician)
    client.get(DAY)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(DAY, {"date": MONDAY.isoformat()})
        assert response.status_code == 200
        return len(queries)

    schedule(director, group(director, program, "G0", duration_minutes=60), clinician)
    small = count()
    for n in range(1, 6):
        made = group(director, program, f"G{n}", duration_minutes=60)
        schedule(director, made, clinician, start_time=dt.time(9 + n, 0))
    assert count() == small
    assert (
        len(re.findall(r'class="card cal-entry', body(client.get(DAY, {"date": "2026-03-02"}))))
        == 6
    )


def test_my_day_links_an_appointment_to_its_page(
    clinician: User, facility: Facility, program: Program
) -> None:
    stay = admitted(facility, program, clinician)
    visit = services.book_appointment(
        actor=clinician,
        episode=stay,
        kind="individual",
        staff=clinician,
        day=dt.date(2026, 3, 3),
        start=dt.time(11, 0),
        minutes=50,
        telehealth=True,
    )
    html = body(signed_in(clinician).get(DAY, {"date": "2026-03-03"}))
    assert reverse("scheduling:appointment", args=[visit.pk]) in html
    assert "11:00 am – 11:50 am" in html and "Individual therapy" in html


def test_the_sub_navigation_offers_dose_pages_only_to_those_who_read_dose(
    clinician: User, front_desk: User
) -> None:
    dose = reverse("scheduling:dose_report")
    assert dose in _week(signed_in(clinician))
    html = _week(signed_in(front_desk))
    assert dose not in html and reverse("scheduling:at_risk") not in html


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-02", "1999-12-31", "2101-01-01"])
@pytest.mark.parametrize(
    ("name", "param"),
    [
        ("scheduling:week", "week"),
        ("scheduling:day", "day"),
        ("scheduling:dose_report", "week"),
        ("scheduling:dose_report_csv", "week"),
    ],
)
def test_a_date_far_from_now_opens_this_week_instead_of_failing(
    director: User, morning: Schedule, name: str, param: str, far: str
) -> None:
    response = signed_in(director).get(reverse(name), {param: far})
    assert response.status_code == 200
    assert far not in body(response)
