"""The group catalog, rooms, schedules and one session's page, through the test client."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import Credential, Facility, Program, User
from openiop.accounts.roles import Role
from openiop.scheduling import services
from openiop.scheduling.models import (
    CurriculumTopic,
    GroupType,
    Room,
    Schedule,
    Session,
    SessionChange,
)
from openiop.scheduling.text import repeats_text
from tests.admissions.factories import program_with_phases
from tests.conftest import body, signed_in
from tests.factories import UserFactory
from tests.scheduling.factories import MONDAY, admitted, group, room, schedule, session_on


def url(name: str, *args: Any) -> str:
    return reverse(f"scheduling:{name}", args=args)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def process(director: User, program: Program) -> GroupType:
    return group(director, program, "Early recovery", duration_minutes=90)


@pytest.fixture
def cedar(director: User, facility: Facility) -> Room:
    return room(director, facility, "Cedar Room")


@pytest.fixture
def morning(director: User, process: GroupType, clinician: User, cedar: Room) -> Schedule:
    return schedule(director, process, clinician, where=cedar)


@pytest.fixture
def monday_session(morning: Schedule) -> Session:
    return session_on(morning, MONDAY)


# --- who may do what -----------------------------------------------------------------------------


def test_the_front_desk_reads_the_catalog_but_cannot_change_it(
    front_desk: User, process: GroupType, program: Program, cedar: Room
) -> None:
    client = signed_in(front_desk)
    html = body(client.get(url("groups")))
    assert "Early recovery" in html
    assert url("group_new", program.pk) not in html
    assert client.get(url("group", process.pk)).status_code == 200
    assert client.get(url("rooms")).status_code == 200
    for address in (
        url("group_new", program.pk),
        url("group_edit", process.pk),
        url("curriculum", process.pk),
        url("schedule_new", process.pk),
        url("room_new"),
        url("room_edit", cedar.pk),
    ):
        assert client.get(address).status_code == 403, address
    response = client.post(url("group_edit", process.pk), {"name": "Renamed", "kind": "process"})
    assert response.status_code == 403
    assert GroupType.objects.get(pk=process.pk).name == "Early recovery"


def test_the_auditor_is_refused(auditor: User, process: GroupType, monday_session: Session) -> None:
    client = signed_in(auditor)
    for address in (url("groups"), url("group", process.pk), url("rooms")):
        assert client.get(address).status_code == 403
    assert client.get(url("session", monday_session.pk)).status_code == 403


def test_another_facility_gets_404(
    other_facility: Facility,
    other_clinician: User,
    process: GroupType,
    morning: Schedule,
    monday_session: Session,
    cedar: Room,
    program: Program,
) -> None:
    client = signed_in(other_clinician)
    assert client.get(url("group", process.pk)).status_code == 404
    assert client.get(url("session", monday_session.pk)).status_code == 404
    boss = UserFactory.create(role=Role.CLINICAL_DIRECTOR, facilities=[other_facility])
    other = signed_in(boss)
    assert other.get(url("group_edit", process.pk)).status_code == 404
    assert other.get(url("group_new", program.pk)).status_code == 404
    assert other.get(url("room_edit", cedar.pk)).status_code == 404
    assert other.get(url("schedule_end", morning.pk)).status_code == 404
    response = other.post(url("session_cancel", monday_session.pk), {"reason": "Not mine"})
    assert response.status_code == 404
    assert not Session.objects.get(pk=monday_session.pk).is_cancelled


# --- the catalog ---------------------------------------------------------------------------------


def test_the_list_shows_what_a_group_is(
    director: User, program: Program, clinician: User, process: GroupType, cedar: Room
) -> None:
    phase = program.phases.order_by("order").first()
    services.save_group_type(
        actor=director,
        program=program,
        group=process,
        data={
            "name": "Early recovery",
            "kind": "early_recovery",
            "specialty": "women",
            "phases": [phase],
            "capacity": 10,
            "duration_minutes": 90,
            "facilitator_credentials": ["LCSW"],
            "billing_code_hint": "H0015",
        },
    )
    html = body(signed_in(director).get(url("groups")))
    assert "Early-recovery skills" in html and "Women&#x27;s group" in html
    assert phase is not None and phase.name in html
    assert "1 h 30" in html and "H0015" in html
    assert Credential.Kind.LCSW.label in html
    assert url("group", process.pk) in html


def test_a_director_adds_a_group_with_phases_and_credentials(
    director: User, program: Program
) -> None:
    phases = list(program.phases.order_by("order"))[:2]
    client = signed_in(director)
    page = body(client.get(url("group_new", program.pk)))
    assert phases[0].name in page and 'type="checkbox"' in page
    response = client.post(
        url("group_new", program.pk),
        {
            "name": "Veterans' circle",
            "kind": "specialized",
            "specialty": "veterans",
            "phases": [p.pk for p in phases],
            "capacity": "8",
            "duration_minutes": "120",
            "facilitator_credentials": ["LCSW", "LPC"],
            "billing_code_hint": "90853",
            "is_active": "on",
        },
    )
    saved = GroupType.objects.get(name="Veterans' circle")
    assert response.status_code == 302
    assert response["Location"] == url("group", saved.pk)
    assert set(saved.phases.all()) == set(phases)
    assert saved.facilitator_credentials == ["LCSW", "LPC"]
    assert (saved.capacity, saved.duration_minutes, saved.specialty) == (8, 120, "veterans")


def test_bad_group_input_shows_field_messages_and_saves_nothing(
    director: User, program: Program, process: GroupType
) -> None:
    client = signed_in(director)
    response = client.post(
        url("group_new", program.pk),
        {"name": "", "kind": "process", "capacity": "0", "duration_minutes": "5"},
    )
    assert response.status_code == 400
    html = body(response)
    assert "Nothing was saved." in html
    assert "Give the group a name people recognize." in html
    assert "greater than or equal to 1" in html and "greater than or equal to 15" in html
    response = client.post(
        url("group_new", program.pk),
        {"name": "early recovery", "kind": "process", "capacity": "12", "duration_minutes": "90"},
    )
    assert response.status_code == 400
    assert "This program already has a group with this name." in body(response)
    assert GroupType.objects.count() == 1


def test_the_curriculum_is_one_topic_per_line(director: User, process: GroupType) -> None:
    client = signed_in(director)
    response = client.post(
        url("curriculum", process.pk),
        {"topics": "Triggers -- people, places and things\n\n  Cravings  \nThe road ahead"},
    )
    assert response.status_code == 302
    topics = list(CurriculumTopic.objects.filter(group=process).order_by("order"))
    assert [(t.order, t.title, t.description) for t in topics] == [
        (1, "Triggers", "people, places and things"),
        (2, "Cravings", ""),
        (3, "The road ahead", ""),
    ]
    page = body(client.get(url("curriculum", process.pk)))
    assert "Triggers -- people, places and things\nCravings\nThe road ahead" in page
    response = client.post(url("curriculum", process.pk), {"topics": "Fine\n" + "x" * 201})
    assert response.status_code == 400
    assert "The topic on line 2 is too long" in body(response)
    assert CurriculumTopic.objects.filter(group=process).count() == 3


def test_only_the_spaced_separator_starts_a_description(director: User, process: GroupType) -> None:
    """ " -- " splits a line; two hyphens inside a word are part of the topic."""
    client = signed_in(director)
    response = client.post(
        url("curriculum", process.pk),
        {"topics": "Self--care\nHALT -- hungry, angry, lonely, tired--a check\nRelapse --"},
    )
    assert response.status_code == 302
    topics = CurriculumTopic.objects.filter(group=process).order_by("order")
    assert [(t.title, t.description) for t in topics] == [
        ("Self--care", ""),
        ("HALT", "hungry, angry, lonely, tired--a check"),
        ("Relapse", ""),
    ]
    response = client.post(url("curriculum", process.pk), {"topics": "-- no topic here"})
    assert response.status_code == 400
    assert "Line 1 has a description but no topic." in body(response)


def test_rooms_are_added_and_edited(director: User, facility: Facility, cedar: Room) -> None:
    client = signed_in(director)
    response = client.post(url("room_new"), {"name": "Oak Room", "seats": "14", "is_active": "on"})
    assert response.status_code == 302
    assert Room.objects.get(name="Oak Room").seats == 14
    response = client.post(url("room_edit", cedar.pk), {"name": "oak room", "is_active": "on"})
    assert response.status_code == 400
    assert "This facility already has a room with this name." in body(response)
    response = client.post(url("room_edit", cedar.pk), {"name": "Cedar Room", "seats": ""})
    assert response.status_code == 302
    assert Room.objects.get(pk=cedar.pk).is_active is False
    assert "No longer used" in body(client.get(url("rooms")))


# --- schedules -----------------------------------------------------------------------------------


def _schedule_post(facilitator: User, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "weekdays": ["TU", "TH"],
        "every": "1",
        "advanced_rule": "",
        "start_date": "2026-03-03",
        "end_date": "",
        "start_time": "09:00",
        "duration_minutes": "90",
        "room": "",
        "telehealth": "on",
        "facilitator": facilitator.pk,
        "co_facilitator": "",
    }
    data.update(changes)
    return data


def test_weekday_boxes_build_the_rule(
    director: User, clinician: User, process: GroupType, program: Program
) -> None:
    evening = program.tracks.get(kind="evening")
    client = signed_in(director)
    page = body(client.get(url("schedule_new", process.pk)))
    assert clinician.display_name in page and "Advanced: RFC 5545 rule" in page
    response = client.post(
        url("schedule_new", process.pk),
        _schedule_post(clinician, weekdays=["TH", "TU"], every="2", track=evening.pk),
    )
    assert response.status_code == 302
    made = Schedule.objects.get(group=process)
    assert made.rrule == "FREQ=WEEKLY;BYDAY=TU,TH;INTERVAL=2"
    assert made.track == evening and made.telehealth and made.room is None
    assert made.sessions.filter(occurrence_date=dt.date(2026, 3, 3)).exists()
    assert not made.sessions.filter(occurrence_date=dt.date(2026, 3, 10)).exists()
    detail = body(client.get(url("group", process.pk)))
    assert "Tuesday and Thursday, every 2 weeks" in detail


def test_a_double_booking_shows_the_services_message_and_saves_nothing(
    director: User, clinician: User, program: Program, morning: Schedule, cedar: Room
) -> None:
    other = group(director, program, "Relapse prevention", duration_minutes=60)
    somebody = UserFactory.create(role=Role.CLINICIAN, facilities=[cedar.facility])
    response = signed_in(director).post(
        url("schedule_new", other.pk),
        _schedule_post(
            somebody,
            weekdays=["MO"],
            start_date=MONDAY.isoformat(),
            start_time="10:00",
            room=cedar.pk,
            telehealth="",
        ),
    )
    assert response.status_code == 400
    html = body(response)
    assert "Nothing was saved." in html
    assert "Double-booked: Cedar Room is taken by Early recovery on Mon 2 Mar at 9:00 am." in html
    assert not Schedule.objects.filter(group=other).exists()


def test_bad_schedule_input_is_marked_on_its_field(
    director: User, clinician: User, process: GroupType
) -> None:
    client = signed_in(director)
    response = client.post(
        url("schedule_new", process.pk), _schedule_post(clinician, weekdays=[], start_time="")
    )
    assert response.status_code == 400
    html = body(response)
    assert "Tick the days the group meets" in html
    assert "Say what time the group starts." in html
    response = client.post(
        url("schedule_new", process.pk),
        _schedule_post(clinician, advanced_rule="FREQ=WEEKLY;COUNT=3"),
    )
    assert response.status_code == 400
    assert "Leave UNTIL and COUNT out of the rule" in body(response)
    response = client.post(
        url("schedule_new", process.pk), _schedule_post(clinician, telehealth="")
    )
    assert response.status_code == 400
    assert "Choose a room, or mark the group as telehealth." in body(response)
    assert not Schedule.objects.exists()


def test_ending_a_schedule_asks_for_confirmation_first(
    director: User, clinician: User, morning: Schedule, facility: Facility, program: Program
) -> None:
    stay = admitted(facility, program, clinician)
    services.enroll(actor=clinician, episode=stay, schedule=morning, start_date=MONDAY)
    client = signed_in(director)
    last = dt.date(2026, 3, 13)
    later = Session.objects.filter(schedule=morning, occurrence_date__gt=last).count()
    response = client.post(
        url("schedule_end", morning.pk), {"last_date": last.isoformat(), "reason": "Moving"}
    )
    assert response.status_code == 200
    html = body(response)
    assert "End the group after Friday 13 March?" in html
    assert f"{later} later sessions without attendance are taken off the calendar" in html
    assert "1 person on the roster leaves the group" in html
    assert Schedule.objects.get(pk=morning.pk).end_date is None
    response = client.post(
        url("schedule_end", morning.pk),
        {"last_date": last.isoformat(), "reason": "Moving", "confirm": "yes"},
    )
    assert response.status_code == 302
    assert Schedule.objects.get(pk=morning.pk).end_date == last
    after = Session.objects.filter(schedule=morning, occurrence_date__gt=last)
    assert not after.exclude(status=Session.Status.CANCELLED).exists()  # past ones: cancelled


def test_ending_a_schedule_needs_a_reason(director: User, morning: Schedule) -> None:
    response = signed_in(director).post(
        url("schedule_end", morning.pk),
        {"last_date": "2026-03-13", "reason": "", "confirm": "yes"},
    )
    assert response.status_code == 400
    assert "Say why, so the change makes sense later." in body(response)
    assert Schedule.objects.get(pk=morning.pk).end_date is None


# --- one session ---------------------------------------------------------------------------------


def test_the_session_page_says_when_where_and_who(
    clinician: User, monday_session: Session, process: GroupType, director: User
) -> None:
    services.set_curriculum(
        actor=director, group=process, topics=[("Triggers", ""), ("Cravings", "")]
    )
    response = signed_in(clinician).get(url("session", monday_session.pk))
    assert response.status_code == 200
    html = body(response)
    assert "Monday 2 March, 9:00 am – 10:30 am" in html
    assert "Cedar Room" in html and clinician.display_name in html
    assert (
        '<datalist id="curriculum-topics"><option value="Triggers"><option value="Cravings">'
        in html
    )
    assert url("session_cancel", monday_session.pk) in html
    assert "No changes: it runs as the schedule says." in html


def test_the_session_page_links_to_attendance(clinician: User, monday_session: Session) -> None:
    html = body(signed_in(clinician).get(url("session", monday_session.pk)))
    assert url("attendance", monday_session.pk) in html and "Record attendance" in html


def test_cancelling_goes_through_a_confirmation_with_a_reason(
    clinician: User, monday_session: Session
) -> None:
    client = signed_in(clinician)
    page = body(client.get(url("session_cancel", monday_session.pk)))
    assert "Cancel “Early recovery” on Monday 2 March at 9:00 am?" in page
    response = client.post(url("session_cancel", monday_session.pk), {"reason": ""})
    assert "Say why, so the change makes sense later." in body(response)
    assert not Session.objects.get(pk=monday_session.pk).is_cancelled
    response = client.post(url("session_cancel", monday_session.pk), {"reason": "Holiday"})
    assert response.status_code == 302
    html = body(client.get(url("session", monday_session.pk)))
    assert "Cancelled" in html and "Why: Holiday" in html
    assert "Undo the cancellation" in html
    response = client.post(
        url("session_restore", monday_session.pk), {"restore-reason": "We stay open"}
    )
    assert response.status_code == 302
    assert not Session.objects.get(pk=monday_session.pk).is_cancelled
    assert "Cancellation undone" in body(client.get(url("session", monday_session.pk)))


def test_moving_a_session_records_who_when_and_why(
    clinician: User, monday_session: Session
) -> None:
    client = signed_in(clinician)
    response = client.post(
        url("session_move", monday_session.pk),
        {"move-day": "2026-03-03", "move-start": "14:00", "move-reason": "Room flooded"},
    )
    assert response.status_code == 302
    moved = Session.objects.get(pk=monday_session.pk)
    assert moved.service_date == dt.date(2026, 3, 3)
    html = body(client.get(url("session", moved.pk)))
    assert "Moved from Monday 2 March at 9:00 am to Tuesday 3 March at 2:00 pm" in html
    assert clinician.display_name in html and "Why: Room flooded" in html
    assert "Tuesday 3 March, 2:00 pm – 3:30 pm" in html


def test_a_move_onto_a_busy_facilitator_is_refused_with_the_reason(
    director: User, clinician: User, program: Program, monday_session: Session
) -> None:
    other = group(director, program, "Afternoon skills", duration_minutes=60)
    schedule(director, other, clinician, rrule="FREQ=WEEKLY;BYDAY=TU", start_time=dt.time(14, 0))
    response = signed_in(clinician).post(
        url("session_move", monday_session.pk),
        {"move-day": "2026-03-03", "move-start": "14:30", "move-reason": "Room flooded"},
    )
    assert response.status_code == 400
    html = body(response)
    assert f"Double-booked: {clinician.display_name} is running Afternoon skills" in html
    assert Session.objects.get(pk=monday_session.pk).service_date == MONDAY
    assert not SessionChange.objects.exists()


def test_substitute_room_and_topic(
    director: User, clinician: User, monday_session: Session, facility: Facility
) -> None:
    cover = UserFactory.create(
        role=Role.CLINICIAN, facilities=[facility], first_name="Casey", last_name="Cover"
    )
    oak = room(director, facility, "Oak Room")
    client = signed_in(clinician)
    response = client.post(
        url("session_substitute", monday_session.pk),
        {"substitute-facilitator": cover.pk, "substitute-reason": "Sick day"},
    )
    assert response.status_code == 302
    response = client.post(
        url("session_room", monday_session.pk),
        {"room-room": oak.pk, "room-telehealth": "on", "room-reason": "Bigger room"},
    )
    assert response.status_code == 302
    response = client.post(url("session_topic", monday_session.pk), {"topic-topic": "Cravings"})
    assert response.status_code == 302
    html = body(client.get(url("session", monday_session.pk)))
    assert f"Casey Cover covers for {clinician.display_name}" in html
    assert "Place changed from Cedar Room to Oak Room and telehealth" in html
    assert "Topic set to “Cravings”" in html
    session = Session.objects.get(pk=monday_session.pk)
    assert (session.facilitator, session.room, session.topic) == (cover, oak, "Cravings")


def test_a_change_without_a_reason_is_refused_on_its_field(
    clinician: User, monday_session: Session
) -> None:
    response = signed_in(clinician).post(
        url("session_room", monday_session.pk),
        {"room-room": "", "room-telehealth": "", "room-reason": "Because"},
    )
    assert response.status_code == 400
    assert "Choose a room, or mark the session as telehealth." in body(response)
    assert Session.objects.get(pk=monday_session.pk).room is not None


def test_the_front_desk_sees_the_session_but_cannot_change_it(
    front_desk: User, monday_session: Session
) -> None:
    client = signed_in(front_desk)
    html = body(client.get(url("session", monday_session.pk)))
    assert "Early recovery" in html and "Change this session only" not in html
    assert client.get(url("session_cancel", monday_session.pk)).status_code == 403
    response = client.post(url("session_topic", monday_session.pk), {"topic-topic": "Mine"})
    assert response.status_code == 403
    assert Session.objects.get(pk=monday_session.pk).topic == ""


def _count(client: Client, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    return len(queries)


def test_pages_cost_the_same_queries_whatever_their_length(
    director: User, clinician: User, program: Program, process: GroupType, monday_session: Session
) -> None:
    first = UserFactory.create(role=Role.CLINICIAN, facilities=[program.facility])
    services.substitute_facilitator(
        actor=director, session=monday_session, facilitator=first, reason="Cover"
    )
    client = signed_in(director)
    client.get(url("groups"))
    pages = [
        url("groups"),
        url("group", process.pk),
        url("rooms"),
        url("session", monday_session.pk),
    ]
    before = [_count(client, p) for p in pages]
    for n in range(6):
        made = group(director, program, f"Group {n}", duration_minutes=60)
        services.set_curriculum(actor=director, group=made, topics=[("A", ""), ("B", "")])
        room(director, program.facility, f"Room {n}")
    for n in range(3):
        services.set_topic(actor=director, session=monday_session, topic=f"Topic {n}")
        cover = UserFactory.create(role=Role.CLINICIAN, facilities=[program.facility])
        services.substitute_facilitator(
            actor=director, session=monday_session, facilitator=cover, reason="Cover"
        )
    schedule(director, process, clinician, rrule="FREQ=WEEKLY;BYDAY=SA")
    assert [_count(client, p) for p in pages] == before


def test_ended_schedules_cost_the_same_queries_however_many(
    director: User, clinician: User, program: Program, process: GroupType
) -> None:
    """Each ended schedule names its co-facilitator, read with the schedules."""

    def ended(day: str) -> User:
        co = UserFactory.create(role=Role.CLINICIAN, facilities=[program.facility])
        schedule(
            director,
            process,
            clinician,
            rrule=f"FREQ=WEEKLY;BYDAY={day}",
            end_date=MONDAY + dt.timedelta(days=20),
            co_facilitator=co,
        )
        return co

    first = ended("TU")
    client = signed_in(director)
    address = url("group", process.pk)
    client.get(address)
    one = _count(client, address)
    others = [ended(day) for day in ("TH", "SA", "SU")]
    page = body(client.get(address))
    for co in (first, *others):
        assert f"with {co.display_name}" in page
    assert _count(client, address) == one


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "Monday, Wednesday and Friday"),
        ("FREQ=WEEKLY;BYDAY=TU", "Tuesday"),
        ("FREQ=WEEKLY;BYDAY=TU,TH;INTERVAL=2", "Tuesday and Thursday, every 2 weeks"),
        ("FREQ=DAILY", "Every day"),
        ("FREQ=MONTHLY;INTERVAL=3", "Every 3 months"),
        ("FREQ=MONTHLY;BYDAY=1TU", "FREQ=MONTHLY;BYDAY=1TU"),  # said as written
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=4", "FREQ=WEEKLY;BYDAY=MO;COUNT=4"),
    ],
)
def test_a_rule_reads_the_same_in_words_everywhere(rule: str, words: str) -> None:
    assert repeats_text(rule) == words
