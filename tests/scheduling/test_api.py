"""The IOP week over the REST API: the same services, scope and audit as the pages.

Bad input answers 400 with field errors (attendance: per patient line), a stale
attendance save 409, a patient out of scope 404, a role without the permission 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.scheduling import services
from openiop.scheduling.models import (
    Appointment,
    Attendance,
    DoseDay,
    Enrollment,
    GroupType,
    Room,
    Schedule,
    Session,
)
from tests.admissions.factories import program_with_phases
from tests.conftest import api_signed_in, as_json, last_event
from tests.scheduling.factories import MONDAY, admitted, group, room, schedule, session_on

API = "/api/v1/"
WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def room_a(director: User, facility: Facility) -> Room:
    return room(director, facility)


@pytest.fixture
def process(director: User, program: Program) -> GroupType:
    return group(director, program)


@pytest.fixture
def weekly(director: User, process: GroupType, clinician: User, room_a: Room) -> Schedule:
    """Process group, Monday, Wednesday and Friday 9:00–12:00 in Room A, run by the clinician."""
    return schedule(director, process, clinician, where=room_a)


@pytest.fixture
def episode(facility: Facility, program: Program, clinician: User) -> EpisodeOfCare:
    return admitted(facility, program, clinician)


@pytest.fixture
def enrolled(clinician: User, episode: EpisodeOfCare, weekly: Schedule) -> EpisodeOfCare:
    services.enroll(actor=clinician, episode=episode, schedule=weekly, start_date=MONDAY)
    return episode


@pytest.fixture
def client(clinician: User) -> APIClient:
    return api_signed_in(clinician)


def post(client: APIClient, url: str, data: dict[str, Any]) -> Any:
    return client.post(API + url, data, format="json")


def put(client: APIClient, url: str, data: dict[str, Any]) -> Any:
    return client.put(API + url, data, format="json")


def patch(client: APIClient, url: str, data: dict[str, Any]) -> Any:
    return client.patch(API + url, data, format="json")


# --- the catalog ---------------------------------------------------------------------------------


def test_leadership_keeps_the_group_catalog_and_rooms(
    director: User, clinician: User, program: Program
) -> None:
    client = api_signed_in(director)
    maintenance = program.phases.get(code="maintenance")
    created = post(
        client,
        "groups/",
        {
            "program": program.pk,
            "name": "Veterans' process group",
            "kind": "process",
            "specialty": "veterans",
            "phases": [maintenance.pk],
            "capacity": 10,
            "facilitator_credentials": ["LCSW"],
        },
    )
    assert created.status_code == 201, created.content
    data = as_json(created)
    assert (data["specialty"], data["phases"], data["capacity"]) == (
        "veterans",
        [maintenance.pk],
        10,
    )
    assert last_event(action=AuditEvent.Action.CREATE, section="group catalog").object_id == str(
        data["id"]
    )

    changed = patch(client, f"groups/{data['id']}/", {"capacity": 8})
    assert changed.status_code == 200, changed.content
    assert as_json(changed)["capacity"] == 8 and as_json(changed)["name"] == data["name"]
    # What the PATCH left out keeps its value.
    assert (as_json(changed)["facilitator_credentials"], as_json(changed)["phases"]) == (
        ["LCSW"],
        [maintenance.pk],
    )
    topics = put(
        client,
        f"groups/{data['id']}/curriculum/",
        {"topics": [{"title": "Triggers"}, {"title": "Sleep", "description": "Routines."}]},
    )
    assert topics.status_code == 200, topics.content
    assert [(t["order"], t["title"]) for t in as_json(topics)["topics"]] == [
        (1, "Triggers"),
        (2, "Sleep"),
    ]

    bad = post(client, "groups/", {"program": program.pk, "name": "X", "kind": "yoga"})
    assert bad.status_code == 400 and "kind" in as_json(bad)
    duplicate = post(client, "groups/", {"program": program.pk, "name": "veterans' PROCESS group"})
    assert duplicate.status_code == 400 and "already has a group" in as_json(duplicate)["name"][0]
    elsewhere = post(client, "groups/", {"program": 0, "name": "Y", "kind": "process"})
    assert elsewhere.status_code == 400 and "program" in as_json(elsewhere)

    new_room = post(client, "rooms/", {"name": "Garden room", "seats": 14})
    assert new_room.status_code == 201, new_room.content
    room_id = as_json(new_room)["id"]
    moved = patch(client, f"rooms/{room_id}/", {"is_active": False})
    assert as_json(moved)["is_active"] is False and as_json(moved)["name"] == "Garden room"
    assert [r["name"] for r in as_json(client.get(f"{API}rooms/"))["results"]] == ["Garden room"]

    reader = api_signed_in(clinician)
    assert reader.get(f"{API}groups/{data['id']}/").status_code == 200
    refused = patch(reader, f"groups/{data['id']}/", {"capacity": 60})
    assert refused.status_code == 403
    assert last_event(action=AuditEvent.Action.DENIED).section == "group catalog (API)"
    assert GroupType.objects.get(pk=data["id"]).capacity == 8


# --- schedules and sessions ----------------------------------------------------------------------


def test_a_schedule_makes_sessions_and_a_double_booking_is_refused(
    director: User, clinician: User, process: GroupType, room_a: Room, program: Program
) -> None:
    client = api_signed_in(director)
    body = {
        "group": process.pk,
        "rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "start_date": MONDAY.isoformat(),
        "start_time": "09:00",
        "room": room_a.pk,
        "facilitator": clinician.pk,
    }
    created = post(client, "schedules/", body)
    assert created.status_code == 201, created.content
    data = as_json(created)
    assert (data["facilitator_name"], data["room_name"], data["duration_minutes"]) == (
        clinician.display_name,
        "Room A",
        180,
    )
    assert Session.objects.filter(schedule_id=data["id"]).count() > 70

    other = group(director, program, "Relapse prevention")
    clash = post(client, "schedules/", {**body, "group": other.pk, "start_time": "10:30"})
    assert clash.status_code == 400
    answer = as_json(clash)
    assert answer["non_field_errors"][0].startswith("Double-booked: Room A is taken by Process")
    assert answer["code"] == "conflict"
    rule = post(client, "schedules/", {**body, "group": other.pk, "rrule": "FREQ=SOMETIMES"})
    assert rule.status_code == 400 and "recurrence rule" in as_json(rule)["rrule"][0]
    untimed = post(client, "schedules/", {**body, "group": other.pk, "rrule": "", "room": 0})
    assert untimed.status_code == 400 and list(as_json(untimed)) == ["room"]
    assert Schedule.objects.count() == 1

    ended = post(
        client,
        f"schedules/{data['id']}/end/",
        {"last_date": (MONDAY + dt.timedelta(days=27)).isoformat(), "reason": "Moving rooms."},
    )
    assert ended.status_code == 200, ended.content
    assert as_json(ended)["end_date"] == "2026-03-29"
    after = Session.objects.filter(schedule_id=data["id"], service_date__gt="2026-03-29")
    assert not after.exclude(status="cancelled").exists()  # days already past: cancelled
    no_reason = post(client, f"schedules/{data['id']}/end/", {"last_date": "2026-03-20"})
    assert no_reason.status_code == 400 and "reason" in as_json(no_reason)


def test_it_lists_sessions_by_local_day_in_constant_queries(
    client: APIClient,
    weekly: Schedule,
    director: User,
    program: Program,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    week = {"from": MONDAY.isoformat(), "to": (MONDAY + dt.timedelta(days=13)).isoformat()}
    with django_assert_max_num_queries(10):
        listed = as_json(client.get(f"{API}sessions/", week))
    assert listed["count"] == 6
    first = listed["results"][0]
    assert (first["service_date"], first["start_time"], first["end_time"]) == (
        "2026-03-02",
        "09:00",
        "12:00",
    )
    # 9:00 stays 9:00 after the clocks change on Sunday 8 March.
    assert {s["start_time"] for s in listed["results"]} == {"09:00"}
    assert listed["results"][3]["starts_at"] == "2026-03-09T09:00:00-07:00"
    assert listed["results"][0]["starts_at"] == "2026-03-02T09:00:00-08:00"

    other = schedule(
        director, group(director, program, "Family education"), director, start_time=dt.time(18)
    )
    with django_assert_max_num_queries(10):
        both = as_json(client.get(f"{API}sessions/", week))
    assert both["count"] == 12
    only = as_json(client.get(f"{API}sessions/", {**week, "group": str(other.group_id)}))
    assert {s["group_name"] for s in only["results"]} == {"Family education"}
    mine = as_json(
        client.get(f"{API}sessions/", {**week, "facilitator": str(weekly.facilitator_id)})
    )
    assert mine["count"] == 6

    this_week = as_json(client.get(f"{API}sessions/", {"group": weekly.group_id}))
    today = timezone.localdate(timezone=weekly.facility.zone)
    monday = today - dt.timedelta(days=today.weekday())
    assert this_week["count"] == 3
    assert all(
        monday <= dt.date.fromisoformat(s["service_date"]) <= monday + dt.timedelta(days=6)
        for s in this_week["results"]
    )

    backwards = client.get(f"{API}sessions/", {"from": "2026-03-09", "to": "2026-03-02"})
    assert backwards.status_code == 400 and "to" in as_json(backwards)
    garbled = client.get(f"{API}sessions/", {"from": "last week"})
    assert garbled.status_code == 400 and "YYYY-MM-DD" in as_json(garbled)["from"][0]
    too_long = client.get(f"{API}sessions/", {"from": "2026-01-01", "to": "2026-12-31"})
    assert too_long.status_code == 400


def test_exceptions_change_one_session_and_keep_the_reason(
    client: APIClient, weekly: Schedule, make_user: Callable[..., User], room_a: Room
) -> None:
    session = session_on(weekly, MONDAY + dt.timedelta(days=7))
    url = f"sessions/{session.pk}/"
    no_reason = post(client, url + "cancel/", {})
    assert no_reason.status_code == 400 and "reason" in as_json(no_reason)
    cancelled = post(client, url + "cancel/", {"reason": "Staff training day."})
    assert cancelled.status_code == 200, cancelled.content
    assert as_json(cancelled)["status"] == "cancelled"
    again = post(client, url + "cancel/", {"reason": "Twice."})
    assert again.status_code == 400 and "already cancelled" in as_json(again)["non_field_errors"][0]
    restored = post(client, url + "restore/", {"reason": "Training moved."})
    assert as_json(restored)["status"] == "scheduled"

    moved = post(
        client, url + "move/", {"day": "2026-03-10", "start": "10:00", "reason": "Holiday"}
    )
    assert moved.status_code == 200, moved.content
    assert (as_json(moved)["service_date"], as_json(moved)["start_time"]) == ("2026-03-10", "10:00")
    cover = make_user(Role.CLINICIAN, first_name="Sam", last_name="Cover")
    covered = post(client, url + "substitute/", {"facilitator": cover.pk, "reason": "Sick day."})
    assert covered.status_code == 200, covered.content
    assert as_json(covered)["facilitator"] == cover.pk
    online = post(client, url + "room/", {"room": None, "telehealth": True, "reason": "Storm."})
    assert (as_json(online)["room"], as_json(online)["telehealth"]) == (None, True)
    topic = post(client, url + "topic/", {"topic": "Coping with cravings"})
    assert as_json(topic)["topic"] == "Coping with cravings"

    detail = as_json(client.get(API + url))
    assert [c["kind"] for c in detail["changes"]] == [
        "cancel",
        "restore",
        "move",
        "substitute",
        "room",
        "topic",
    ]
    assert detail["changes"][0]["reason"] == "Staff training day."
    assert detail["original_starts_at"] != detail["starts_at"]
    session.refresh_from_db()
    assert (session.facilitator_id, session.room_id) == (cover.pk, None)
    weekly.refresh_from_db()
    assert (weekly.rrule, weekly.room_id) == ("FREQ=WEEKLY;BYDAY=MO,WE,FR", room_a.pk)


# --- enrollment ----------------------------------------------------------------------------------


def test_enrollment_is_refused_with_the_reason_and_a_warning_needs_one(
    client: APIClient,
    director: User,
    clinician: User,
    program: Program,
    episode: EpisodeOfCare,
    weekly: Schedule,
) -> None:
    veterans = schedule(
        director,
        group(director, program, "Veterans' group", specialty="veterans"),
        clinician,
        rrule="FREQ=WEEKLY;BYDAY=TU",
    )
    refused = post(
        client,
        "enrollments/",
        {"patient": episode.patient_id, "schedule": veterans.pk, "start_date": "2026-03-03"},
    )
    assert refused.status_code == 400
    assert "veterans' group" in as_json(refused)["schedule"][0]

    later = schedule(
        director,
        group(
            director,
            program,
            "Maintenance skills",
            phases=[program.phases.get(code="maintenance")],
        ),
        clinician,
        rrule="FREQ=WEEKLY;BYDAY=TH",
    )
    body = {"patient": episode.patient_id, "schedule": later.pk, "start_date": "2026-03-05"}
    warned = post(client, "enrollments/", body)
    assert warned.status_code == 400
    answer = as_json(warned)
    assert answer["code"] == "warning"
    assert "This group is for Maintenance" in answer["override_reason"][0]
    assert not Enrollment.objects.exists()

    accepted = post(client, "enrollments/", {**body, "override_reason": "Ready for more."})
    assert accepted.status_code == 201, accepted.content
    data = as_json(accepted)
    assert (data["group_name"], data["override_reason"]) == (
        "Maintenance skills",
        "Ready for more.",
    )
    assert last_event(action=AuditEvent.Action.CREATE, section="group enrollment").patient_id == (
        episode.patient_id
    )
    listed = as_json(client.get(f"{API}enrollments/", {"patient": episode.patient_id}))
    assert [e["id"] for e in listed["results"]] == [data["id"]]
    event = last_event(action=AuditEvent.Action.VIEW, section="group enrollment list (API)")
    assert (event.patient_id, event.detail) == (episode.patient_id, {"results": 1})

    ended = post(client, f"enrollments/{data['id']}/end/", {"end_date": "2026-03-26"})
    assert ended.status_code == 400 and "reason" in as_json(ended)
    ended = post(
        client, f"enrollments/{data['id']}/end/", {"end_date": "2026-03-26", "reason": "Done."}
    )
    assert as_json(ended)["end_date"] == "2026-03-26"
    assert last_event(action=AuditEvent.Action.VIEW).section == "group enrollment (API)"


# --- appointments --------------------------------------------------------------------------------


def test_appointments_are_booked_moved_cancelled_and_closed(
    client: APIClient, clinician: User, episode: EpisodeOfCare, room_a: Room
) -> None:
    body = {
        "patient": episode.patient_id,
        "kind": "individual",
        "staff": clinician.pk,
        "day": "2026-03-02",
        "start": "14:00",
        "minutes": 50,
        "room": room_a.pk,
    }
    booked = post(client, "appointments/", body)
    assert booked.status_code == 201, booked.content
    first = as_json(booked)
    assert (first["start_time"], first["status"], first["staff_name"]) == (
        "14:00",
        "scheduled",
        clinician.display_name,
    )
    clash = post(client, "appointments/", {**body, "start": "14:30", "kind": "case_management"})
    assert clash.status_code == 400 and as_json(clash)["code"] == "conflict"
    assert "Double-booked" in as_json(clash)["non_field_errors"][0]
    bad = post(client, "appointments/", {**body, "kind": "massage", "minutes": 0})
    assert bad.status_code == 400 and {"kind", "minutes"} <= set(as_json(bad))
    usual = {k: v for k, v in body.items() if k != "minutes"}
    test = post(client, "appointments/", {**usual, "kind": "drug_test", "start": "16:00"})
    assert test.status_code == 201, test.content
    made = Appointment.objects.get(pk=as_json(test)["id"])
    assert made.ends_at - made.starts_at == dt.timedelta(minutes=15)  # the usual length

    moved = post(
        client,
        f"appointments/{first['id']}/reschedule/",
        {"day": "2026-03-03", "start": "15:00", "reason": "Patient works late."},
    )
    assert moved.status_code == 201, moved.content
    new = as_json(moved)
    assert (new["service_date"], new["start_time"]) == ("2026-03-03", "15:00")
    assert Appointment.objects.get(pk=first["id"]).rescheduled_to_id == new["id"]

    closed = post(client, f"appointments/{new['id']}/close/", {"status": "present"})
    assert closed.status_code == 201, closed.content
    assert (as_json(closed)["minutes"], as_json(closed)["appointment"]) == (50, new["id"])
    assert DoseDay.objects.get(episode=episode, date="2026-03-03").minutes == 50
    twice = post(client, f"appointments/{new['id']}/close/", {"status": "present"})
    assert twice.status_code == 400

    other = as_json(post(client, "appointments/", {**body, "day": "2026-03-04"}))
    cancelled = post(client, f"appointments/{other['id']}/cancel/", {"reason": "Sick."})
    assert as_json(cancelled)["status"] == "cancelled"
    listed = as_json(
        client.get(
            f"{API}appointments/",
            {"patient": str(episode.patient_id), "from": "2026-03-03", "to": "2026-03-04"},
        )
    )
    assert [(a["id"], a["status"]) for a in listed["results"]] == [
        (new["id"], "completed"),
        (other["id"], "cancelled"),
    ]


# --- attendance ----------------------------------------------------------------------------------


def test_a_whole_group_is_recorded_at_once_and_counts_in_the_dose(
    client: APIClient,
    weekly: Schedule,
    enrolled: EpisodeOfCare,
    unassigned_patient: Patient,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    session = session_on(weekly, MONDAY)
    url = f"sessions/{session.pk}/attendance/"
    pid = enrolled.patient_id
    with django_assert_max_num_queries(14):
        roster = as_json(client.get(API + url))
    assert (roster["revision"], roster["minutes"], roster["not_shown"]) == (0, 180, 0)
    assert [(r["patient"], r["enrolled"], r["attendance"]) for r in roster["rows"]] == [
        (pid, True, None)
    ]
    seen = last_event(action=AuditEvent.Action.VIEW, section="attendance list (API)")
    assert (seen.patient_id, seen.detail["session"]) == (pid, session.pk)

    negative = put(
        client, url, {"revision": 0, "lines": [{"patient": pid, "status": "late", "minutes": -5}]}
    )
    assert negative.status_code == 400
    assert as_json(negative)["lines"] == {
        str(pid): {"minutes": ["Minutes attended cannot be negative."]}
    }
    too_long = put(client, url, {"lines": [{"patient": pid, "status": "present", "minutes": 181}]})
    assert "180 minutes" in as_json(too_long)["lines"][str(pid)]["minutes"][0]
    outsider = put(
        client,
        url,
        {
            "lines": [
                {"patient": pid, "status": "present"},
                {"patient": unassigned_patient.pk, "status": "present"},
            ]
        },
    )
    assert outsider.status_code == 400
    assert list(as_json(outsider)["lines"]) == [str(unassigned_patient.pk)]
    assert not Attendance.objects.exists() and not DoseDay.objects.exists()

    saved = put(
        client,
        url,
        {
            "revision": 0,
            "topic": "Triggers",
            "lines": [{"patient": pid, "status": "late", "arrived_at": "09:30"}],
        },
    )
    assert saved.status_code == 200, saved.content
    data = as_json(saved)
    assert data["revision"] == 1 and data["topic"] == "Triggers"
    [row] = data["rows"]
    assert (row["attendance"]["status"], row["attendance"]["minutes"]) == ("late", 150)
    assert DoseDay.objects.get(episode=enrolled, date=MONDAY).minutes == 150
    assert last_event(action=AuditEvent.Action.CREATE, section="attendance").patient_id == pid

    stale = post(client, url, {"revision": 0, "lines": [{"patient": pid, "status": "present"}]})
    assert stale.status_code == 409
    assert "Someone else saved" in as_json(stale)["detail"]
    assert Attendance.objects.get().minutes == 150

    line = f"attendance/{row['attendance']['id']}/"
    unexplained = patch(client, line, {"status": "present"})
    assert unexplained.status_code == 400 and "reason" in as_json(unexplained)
    corrected = patch(
        client,
        line,
        {"status": "present", "arrived_at": None, "reason": "Arrived on time after all."},
    )
    assert corrected.status_code == 200, corrected.content
    assert (as_json(corrected)["status"], as_json(corrected)["minutes"]) == ("present", 180)
    assert DoseDay.objects.get(episode=enrolled, date=MONDAY).minutes == 180
    event = last_event(action=AuditEvent.Action.UPDATE, section="attendance correction")
    assert event.reason == "Arrived on time after all."


def test_the_roster_costs_the_same_queries_for_more_patients(
    client: APIClient,
    clinician: User,
    facility: Facility,
    program: Program,
    weekly: Schedule,
    enrolled: EpisodeOfCare,
) -> None:
    session = session_on(weekly, MONDAY)
    url = f"{API}sessions/{session.pk}/attendance/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        # Leave out the sign-in session's own bookkeeping (saved when it is refreshed).
        return sum(
            "django_session" not in q["sql"] and "SAVEPOINT" not in q["sql"]
            for q in context.captured_queries
        )

    one = queries()
    for name in ("Nguyen", "Okafor", "Park"):
        more = admitted(facility, program, clinician, name)
        services.enroll(actor=clinician, episode=more, schedule=weekly, start_date=MONDAY)
    services.save_group_attendance(
        actor=clinician,
        session=session,
        lines=[services.Line(enrolled.patient_id, "present")],
    )
    assert queries() == one
    assert len(as_json(client.get(url))["rows"]) == 4


def test_attendance_waits_for_the_session_to_start(
    client: APIClient, weekly: Schedule, enrolled: EpisodeOfCare
) -> None:
    ahead = Session.objects.filter(schedule=weekly, starts_at__gt=timezone.now()).first()
    assert ahead is not None
    response = put(
        client,
        f"sessions/{ahead.pk}/attendance/",
        {"lines": [{"patient": enrolled.patient_id, "status": "present"}]},
    )
    assert response.status_code == 400
    assert "has not started yet" in as_json(response)["detail"]


# --- dose ----------------------------------------------------------------------------------------


def test_dose_per_patient_and_per_facility_week(
    client: APIClient, clinician: User, weekly: Schedule, enrolled: EpisodeOfCare, billing: User
) -> None:
    pid = enrolled.patient_id
    for day in (MONDAY, WEDNESDAY):
        services.save_group_attendance(
            actor=clinician,
            session=session_on(weekly, day),
            lines=[services.Line(pid, "present" if day == MONDAY else "left_early", minutes=179)],
        )
    response = client.get(f"{API}patients/{pid}/dose/", {"week": "2026-03-04"})
    assert response.status_code == 200, response.content
    dose = as_json(response)
    assert dose["episode"] == enrolled.pk
    assert [(d["date"], d["minutes"], d["service_day"]) for d in dose["days"][:3]] == [
        ("2026-03-02", 179, False),
        ("2026-03-03", 0, False),
        ("2026-03-04", 179, False),
    ]
    assert dose["week"]["week"] == "2026-03-02"
    assert (dose["week"]["service_days"], dose["week"]["status"]) == (0, "below")
    assert dose["week"]["hours"] == "5.97"
    assert dose["episode_totals"]["last_attended"] == "2026-03-04"
    assert dose["rules"]["min_hours_per_day"] == "3.00"
    assert last_event(action=AuditEvent.Action.VIEW, patient_id=pid).section == "dose (API)"
    unknown = client.get(f"{API}patients/{pid}/dose/", {"episode": enrolled.pk + 1000})
    assert unknown.status_code == 400
    assert as_json(unknown)["episode"] == ["Choose an episode of care of this patient."]

    report = api_signed_in(billing).get(f"{API}dose/facility-week/", {"week": "2026-03-06"})
    assert report.status_code == 200, report.content
    data = as_json(report)
    assert data["week"] == "2026-03-02" and data["counts"] == {"below": 1}
    assert data["rows"] == [
        {
            "patient": pid,
            "episode": enrolled.pk,
            "minutes": 358,
            "hours": "5.97",
            "service_days": 0,
            "status": "below",
        }
    ]
    event = last_event(action=AuditEvent.Action.VIEW, section="dose report (API)")
    assert (event.patient_id, event.actor_id) == (pid, billing.pk)


# --- scope and roles -----------------------------------------------------------------------------


def test_an_outsider_sees_nothing_of_another_facility(
    clinician: User,
    other_clinician: User,
    weekly: Schedule,
    enrolled: EpisodeOfCare,
    room_a: Room,
) -> None:
    session = session_on(weekly, MONDAY)
    services.save_group_attendance(
        actor=clinician, session=session, lines=[services.Line(enrolled.patient_id, "present")]
    )
    appointment = services.book_appointment(
        actor=clinician,
        episode=enrolled,
        kind="individual",
        staff=clinician,
        day=MONDAY,
        start=dt.time(14),
        minutes=50,
        room=room_a,
    )
    enrollment = Enrollment.objects.get()
    client = api_signed_in(other_clinician)
    week = {"from": "2026-03-02", "to": "2026-03-08"}
    for url, params in (
        ("groups/", {}),
        ("rooms/", {}),
        ("schedules/", {}),
        ("sessions/", week),
        ("enrollments/", {"patient": enrolled.patient_id}),
        ("appointments/", {}),
    ):
        listed = client.get(API + url, params)
        assert listed.status_code == 200 and as_json(listed)["count"] == 0, url
    for url in (
        f"groups/{weekly.group_id}/",
        f"schedules/{weekly.pk}/",
        f"sessions/{session.pk}/",
        f"sessions/{session.pk}/attendance/",
        f"enrollments/{enrollment.pk}/",
        f"appointments/{appointment.pk}/",
        f"attendance/{Attendance.objects.get().pk}/",
        f"patients/{enrolled.patient_id}/dose/",
    ):
        assert client.get(API + url).status_code == 404, url
    assert last_event(action=AuditEvent.Action.DENIED).detail == {"patient_id": enrolled.patient_id}
    assert last_event(action=AuditEvent.Action.DENIED).section == "dose (API)"
    assert post(client, f"sessions/{session.pk}/cancel/", {"reason": "Mine now"}).status_code == 404
    assert (
        post(client, f"appointments/{appointment.pk}/cancel/", {"reason": "x"}).status_code == 404
    )
    grabbed = post(
        client,
        "enrollments/",
        {"patient": enrolled.patient_id, "schedule": weekly.pk, "start_date": "2026-03-02"},
    )
    assert grabbed.status_code == 400 and "patient" in as_json(grabbed)
    report = as_json(client.get(f"{API}dose/facility-week/", {"week": "2026-03-02"}))
    assert report["rows"] == []
    session.refresh_from_db()
    assert session.status == "scheduled"


def test_the_auditor_is_refused_every_call(
    auditor: User, weekly: Schedule, enrolled: EpisodeOfCare
) -> None:
    client = api_signed_in(auditor)
    session = session_on(weekly, MONDAY)
    for url in (
        "groups/",
        "rooms/",
        "schedules/",
        "sessions/",
        f"sessions/{session.pk}/attendance/",
        "enrollments/",
        "appointments/",
        f"patients/{enrolled.patient_id}/dose/",
        "dose/facility-week/",
    ):
        assert client.get(API + url).status_code == 403, url
    refused = put(client, f"sessions/{session.pk}/attendance/", {"lines": []})
    assert refused.status_code == 403
    assert last_event(action=AuditEvent.Action.DENIED).section == "group session (API)"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DENIED, actor=auditor).exclude(
        section__endswith=" (API)"
    )


def test_each_role_does_only_its_part(
    front_desk: User, billing: User, weekly: Schedule, enrolled: EpisodeOfCare, room_a: Room
) -> None:
    desk = api_signed_in(front_desk)
    session = session_on(weekly, MONDAY)
    assert desk.get(f"{API}sessions/{session.pk}/attendance/").status_code == 200
    assert post(desk, f"sessions/{session.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert (
        post(
            desk,
            "enrollments/",
            {"patient": enrolled.patient_id, "schedule": weekly.pk, "start_date": "2026-03-09"},
        ).status_code
        == 403
    )
    assert desk.get(f"{API}patients/{enrolled.patient_id}/dose/").status_code == 403
    assert post(desk, "groups/", {"name": "Mine"}).status_code == 403
    booked = post(
        desk,
        "appointments/",
        {
            "patient": enrolled.patient_id,
            "kind": "drug_test",
            "staff": front_desk.pk,
            "day": "2026-03-02",
            "start": "13:00",
            "minutes": 15,
            "telehealth": True,
        },
    )
    assert booked.status_code == 201, booked.content
    books = api_signed_in(billing)
    assert books.get(f"{API}patients/{enrolled.patient_id}/dose/").status_code == 200
    assert put(books, f"sessions/{session.pk}/attendance/", {"lines": []}).status_code == 403


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_documents_the_scheduling_endpoints(client: APIClient) -> None:
    paths = as_json(client.get(f"{API}schema/", {"format": "json"}))["paths"]
    for url in (
        "/api/v1/groups/{id}/curriculum/",
        "/api/v1/rooms/{id}/",
        "/api/v1/schedules/{id}/end/",
        "/api/v1/sessions/{id}/move/",
        "/api/v1/sessions/{id}/substitute/",
        "/api/v1/enrollments/{id}/end/",
        "/api/v1/appointments/{id}/close/",
        "/api/v1/attendance/{id}/",
        "/api/v1/patients/{id}/dose/",
        "/api/v1/dose/facility-week/",
    ):
        assert url in paths, url
    assert set(paths["/api/v1/sessions/{id}/attendance/"]) == {"get", "put", "post"}
    assert set(paths["/api/v1/groups/{id}/"]) == {"get", "patch"}
    assert set(paths["/api/v1/attendance/{id}/"]) == {"get", "patch"}
    bulk = paths["/api/v1/sessions/{id}/attendance/"]["put"]["responses"]
    assert {"200", "400", "409"} <= set(bulk)


def _schema_warnings(patterns: list[Any]) -> set[str]:
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    return set(GENERATOR_STATS._warn_cache) | set(GENERATOR_STATS._error_cache)


def test_the_scheduling_endpoints_add_no_schema_warnings(db: None) -> None:
    from config.urls import api_v1 as urls

    api_v1: list[Any] = list(urls)
    without: list[Any] = [
        p
        for p in api_v1
        if "openiop.scheduling.api_urls" not in str(getattr(p, "urlconf_name", ""))
    ]
    assert len(without) == len(api_v1) - 1
    before = _schema_warnings([path("api/v1/", include((without, "api")))])
    after = _schema_warnings([path("api/v1/", include((api_v1, "api")))])
    assert after == before


@pytest.mark.parametrize(
    ("url", "param"),
    [("sessions/", "from"), ("sessions/", "to"), ("dose/facility-week/", "week")],
)
@pytest.mark.parametrize("far", ["9999-12-30", "0001-01-02"])
def test_a_date_far_from_now_is_refused_with_the_range(
    director: User, url: str, param: str, far: str
) -> None:
    response = api_signed_in(director).get(API + url, {param: far})
    assert response.status_code == 400
    assert "between 2000 and 2100" in as_json(response)[param][0]
