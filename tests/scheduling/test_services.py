"""Every write of the IOP week through its service: schedules and their exceptions,
enrollment, appointments, group attendance and the daily dose it keeps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from openiop.accounts.models import Facility, Phase, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import ClinicalAlert
from openiop.scheduling import rules, services
from openiop.scheduling.models import (
    Appointment,
    Attendance,
    DoseDay,
    Enrollment,
    GroupType,
    Room,
    Schedule,
    Session,
    SessionChange,
)
from openiop.scheduling.services import AttendanceRefused, Line
from tests.admissions.factories import program_with_phases
from tests.scheduling import factories as f
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db

WEDNESDAY = MONDAY + dt.timedelta(days=2)
FRIDAY = MONDAY + dt.timedelta(days=4)
NEXT_MONDAY = MONDAY + dt.timedelta(days=7)  # daylight saving has started


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def room_a(director: User, facility: Facility) -> Room:
    return f.room(director, facility, "Room A")


@pytest.fixture
def room_b(director: User, facility: Facility) -> Room:
    return f.room(director, facility, "Room B")


@pytest.fixture
def process(director: User, program: Program) -> GroupType:
    return f.group(director, program)  # 3 hours


@pytest.fixture
def mwf(director: User, process: GroupType, clinician: User, room_a: Room) -> Schedule:
    """Process group, Monday, Wednesday and Friday 9:00–12:00 in Room A."""
    return f.schedule(director, process, clinician, where=room_a)


@pytest.fixture
def ep(facility: Facility, program: Program, clinician: User) -> EpisodeOfCare:
    return f.admitted(facility, program, clinician, "Rivera")


@pytest.fixture
def ep2(facility: Facility, program: Program, clinician: User) -> EpisodeOfCare:
    return f.admitted(facility, program, clinician, "Okafor")


def messages(error: ValidationError, key: str = "__all__") -> list[str]:
    return [str(m) for e in error.error_dict[key] for m in e.messages]


def codes(error: ValidationError, key: str) -> list[str | None]:
    return [e.code for e in error.error_dict[key]]


def local(moment: dt.datetime, facility: Facility) -> dt.datetime:
    return moment.astimezone(facility.zone)


# --- schedules ----------------------------------------------------------------------------------


def test_it_makes_the_sessions_through_the_horizon(mwf: Schedule, facility: Facility) -> None:
    today = timezone.localdate(timezone=facility.zone)
    through = today + dt.timedelta(days=rules.HORIZON_DAYS)
    expected = rules.expand(
        mwf.rrule,
        start_date=MONDAY,
        start_time=dt.time(9, 0),
        minutes=180,
        zone=facility.zone,
        window_start=MONDAY,
        window_end=through,
    )
    sessions = list(Session.objects.filter(schedule=mwf).order_by("starts_at"))
    assert len(sessions) == len(expected) > 100
    assert mwf.materialized_through == through
    assert sessions[0].occurrence_date == MONDAY
    assert sessions[-1].service_date <= through
    assert all(s.service_date.weekday() in (0, 2, 4) for s in sessions)
    # 9:00 local on both sides of the spring change
    before, after = f.session_on(mwf, FRIDAY), f.session_on(mwf, NEXT_MONDAY)
    assert local(before.starts_at, facility).time() == local(after.starts_at, facility).time()
    assert local(after.starts_at, facility).time() == dt.time(9, 0)
    assert before.starts_at.astimezone(dt.UTC).hour == 17
    assert after.starts_at.astimezone(dt.UTC).hour == 16
    assert after.minutes == 180 and after.room_id == mwf.room_id
    assert AuditEvent.objects.filter(section="group schedule", action="create").count() == 1


def test_it_refuses_a_room_already_taken(
    director: User, program: Program, mwf: Schedule, room_a: Room, make_user: Callable[..., User]
) -> None:
    other = f.group(director, program, "Relapse prevention", duration_minutes=90)
    with pytest.raises(ValidationError) as caught:
        f.schedule(
            director,
            other,
            make_user(Role.CLINICIAN),
            where=room_a,
            rrule="FREQ=WEEKLY;BYDAY=MO",
            start_time=dt.time(10, 0),
        )
    assert messages(caught.value) == [
        "Double-booked: Room A is taken by Process group on Mon 2 Mar at 9:00 am. "
        "Choose another time, room or person."
    ]
    assert codes(caught.value, "__all__") == ["conflict"]
    assert Schedule.objects.count() == 1


def test_it_refuses_a_facilitator_already_running_a_group(
    director: User, program: Program, mwf: Schedule, clinician: User, room_b: Room
) -> None:
    other = f.group(director, program, "Relapse prevention", duration_minutes=90)
    with pytest.raises(ValidationError) as caught:
        f.schedule(
            director,
            other,
            clinician,
            where=room_b,
            rrule="FREQ=WEEKLY;BYDAY=WE",
            start_time=dt.time(11, 30),
        )
    assert messages(caught.value) == [
        f"Double-booked: {clinician.display_name} is running Process group on Wed 4 Mar at "
        "9:00 am. Choose another time, room or person."
    ]


def test_back_to_back_groups_do_not_clash(
    director: User, program: Program, mwf: Schedule, clinician: User, room_a: Room
) -> None:
    other = f.group(director, program, "Relapse prevention", duration_minutes=90)
    after = f.schedule(director, other, clinician, where=room_a, start_time=dt.time(12, 0))
    before = f.schedule(
        director,
        f.group(director, program, "Early recovery", duration_minutes=60),
        clinician,
        where=room_a,
        start_time=dt.time(8, 0),
    )
    assert f.session_on(after, MONDAY).starts_at == f.session_on(mwf, MONDAY).ends_at
    assert f.session_on(before, MONDAY).ends_at == f.session_on(mwf, MONDAY).starts_at


def test_it_refuses_a_facilitator_without_the_credential(
    director: User, program: Program, clinician: User
) -> None:
    dbt = f.group(director, program, "DBT skills", facilitator_credentials=["LCSW", "LMFT"])
    with pytest.raises(ValidationError) as caught:
        f.schedule(director, dbt, clinician)
    assert messages(caught.value, "facilitator") == [
        "DBT skills needs a facilitator with one of these credentials: LCSW, LMFT."
    ]
    f.credential(clinician, "LMFT")
    assert f.schedule(director, dbt, clinician).facilitator == clinician


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=WEEKLY;COUNT=4", "nonsense", ""])
def test_it_refuses_a_rule_it_cannot_use(
    director: User, process: GroupType, clinician: User, rule: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        f.schedule(director, process, clinician, rrule=rule)
    assert messages(caught.value, "rrule") == [rules.rrule_error(rule)]
    assert not Schedule.objects.exists()


def test_a_clinician_cannot_schedule_groups(process: GroupType, clinician: User) -> None:
    with pytest.raises(PermissionDenied):
        f.schedule(clinician, process, clinician)


# --- exceptions ----------------------------------------------------------------------------------


def test_cancelling_a_session_keeps_history_and_the_rule(director: User, mwf: Schedule) -> None:
    count = Session.objects.filter(schedule=mwf).count()
    session = services.cancel_session(
        actor=director, session=f.session_on(mwf, WEDNESDAY), reason="Staff training day"
    )
    assert session.status == Session.Status.CANCELLED
    change = SessionChange.objects.get(session=session)
    assert (change.kind, change.reason, change.changed_by) == (
        "cancel",
        "Staff training day",
        director,
    )
    assert change.before == {"status": "scheduled"} and change.after == {"status": "cancelled"}
    mwf.refresh_from_db()
    assert mwf.rrule == "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    assert Session.objects.filter(schedule=mwf).count() == count  # the row stays
    assert set(
        Session.objects.filter(schedule=mwf).exclude(pk=session.pk).values_list("status", flat=True)
    ) == {"scheduled"}
    event = AuditEvent.objects.get(section="group session")
    assert event.reason == "Staff training day" and event.detail == {"change": "cancel"}
    with pytest.raises(ValidationError, match="already cancelled"):
        services.cancel_session(actor=director, session=session, reason="Again")
    with pytest.raises(ValidationError):
        services.cancel_session(actor=director, session=f.session_on(mwf, FRIDAY), reason="")


def test_restoring_a_cancelled_session(director: User, mwf: Schedule) -> None:
    session = f.session_on(mwf, WEDNESDAY)
    services.cancel_session(actor=director, session=session, reason="Holiday")
    restored = services.restore_session(actor=director, session=session, reason="Open after all")
    assert restored.status == Session.Status.SCHEDULED
    assert list(SessionChange.objects.filter(session=session).values_list("kind", flat=True)) == [
        "cancel",
        "restore",
    ]
    with pytest.raises(ValidationError, match="not cancelled"):
        services.restore_session(actor=director, session=session, reason="Again")


def test_moving_a_session_across_the_spring_change(
    director: User, mwf: Schedule, facility: Facility
) -> None:
    friday = f.session_on(mwf, FRIDAY)
    original = friday.starts_at
    moved = services.move_session(
        actor=director,
        session=friday,
        day=dt.date(2026, 3, 8),  # the Sunday the clocks go forward
        start=dt.time(14, 0),
        reason="Room flooded on Friday",
    )
    moved.refresh_from_db()
    assert local(moved.starts_at, facility).time() == dt.time(14, 0)
    assert moved.starts_at.astimezone(dt.UTC) == dt.datetime(2026, 3, 8, 21, 0, tzinfo=dt.UTC)
    assert moved.ends_at - moved.starts_at == dt.timedelta(hours=3)
    assert moved.service_date == dt.date(2026, 3, 8)
    assert moved.occurrence_date == FRIDAY and moved.original_starts_at == original
    change = SessionChange.objects.get(session=moved, kind="move")
    assert change.after["service_date"] == "2026-03-08"


def test_a_move_onto_another_session_is_refused(director: User, mwf: Schedule) -> None:
    with pytest.raises(ValidationError) as caught:
        services.move_session(
            actor=director,
            session=f.session_on(mwf, FRIDAY),
            day=NEXT_MONDAY,
            start=dt.time(11, 0),
            reason="Try Monday",
        )
    assert caught.value.code == "conflict"
    assert "Room A is taken by Process group on Mon 9 Mar at 9:00 am" in caught.value.message
    assert f.session_on(mwf, FRIDAY).service_date == FRIDAY


def test_a_substitute_needs_the_credential_and_a_free_hour(
    director: User,
    program: Program,
    clinician: User,
    room_b: Room,
    make_user: Callable[..., User],
) -> None:
    f.credential(clinician, "LCSW")
    dbt = f.group(director, program, "DBT skills", facilitator_credentials=["LCSW"])
    dbt_mwf = f.schedule(director, dbt, clinician)
    session = f.session_on(dbt_mwf, MONDAY)
    uncredentialed = make_user(Role.CLINICIAN)
    with pytest.raises(ValidationError) as caught:
        services.substitute_facilitator(
            actor=director, session=session, facilitator=uncredentialed, reason="Sick day"
        )
    assert messages(caught.value, "facilitator") == [
        "DBT skills needs a facilitator with one of these credentials: LCSW."
    ]
    busy = make_user(Role.CLINICIAN)
    f.credential(busy, "LCSW")
    f.schedule(
        director,
        f.group(director, program, "Men's group"),
        busy,
        where=room_b,
        rrule="FREQ=WEEKLY;BYDAY=MO",
        start_time=dt.time(10, 0),
    )
    with pytest.raises(ValidationError) as caught:
        services.substitute_facilitator(
            actor=director, session=session, facilitator=busy, reason="Sick day"
        )
    assert codes(caught.value, "facilitator") == ["conflict"]
    free = make_user(Role.CLINICIAN)
    f.credential(free, "LCSW")
    covered = services.substitute_facilitator(
        actor=director, session=session, facilitator=free, reason="Sick day"
    )
    assert covered.facilitator == free
    assert f.session_on(dbt_mwf, WEDNESDAY).facilitator == clinician  # only that one
    assert SessionChange.objects.get(session=session).after == {"facilitator": free.pk}


def test_changing_the_room(
    director: User, mwf: Schedule, room_b: Room, program: Program, make_user: Callable[..., User]
) -> None:
    session = f.session_on(mwf, MONDAY)
    moved = services.change_room(
        actor=director, session=session, room=room_b, telehealth=False, reason="Heating broken"
    )
    assert moved.room == room_b
    assert f.session_on(mwf, WEDNESDAY).room_id == mwf.room_id
    f.schedule(
        director,
        f.group(director, program, "Relapse prevention", duration_minutes=60),
        make_user(Role.CLINICIAN),
        where=room_b,
        rrule="FREQ=WEEKLY;BYDAY=WE",
        start_time=dt.time(11, 0),
    )
    with pytest.raises(ValidationError) as caught:
        services.change_room(
            actor=director,
            session=f.session_on(mwf, WEDNESDAY),
            room=room_b,
            telehealth=False,
            reason="Heating broken",
        )
    assert "Room B is taken by Relapse prevention" in messages(caught.value, "room")[0]
    online = services.change_room(
        actor=director,
        session=f.session_on(mwf, WEDNESDAY),
        room=None,
        telehealth=True,
        reason="Snow",
    )
    assert online.room is None and online.telehealth


def test_a_session_with_attendance_cannot_be_cancelled_or_moved(
    director: User, clinician: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.enrolled(clinician, ep, mwf)
    session = f.session_on(mwf, MONDAY)
    f.came(clinician, session, ep)
    with pytest.raises(ValidationError, match="Attendance is already recorded"):
        services.cancel_session(actor=director, session=session, reason="Too late")
    with pytest.raises(ValidationError, match="Attendance is already recorded"):
        services.move_session(
            actor=director, session=session, day=MONDAY, start=dt.time(8, 0), reason="Too late"
        )
    assert Session.objects.get(pk=session.pk).status == Session.Status.SCHEDULED


def test_ending_a_schedule(
    director: User, clinician: User, mwf: Schedule, ep: EpisodeOfCare, ep2: EpisodeOfCare
) -> None:
    enrollment = f.enrolled(clinician, ep, mwf)
    later = f.enrolled(clinician, ep2, mwf, start=NEXT_MONDAY + dt.timedelta(days=7))
    f.came(clinician, f.session_on(mwf, MONDAY), ep)
    f.came(clinician, f.session_on(mwf, FRIDAY), ep)  # recorded after the last day
    services.end_schedule(actor=director, schedule=mwf, last_date=WEDNESDAY, reason="Merged")
    mwf.refresh_from_db()
    assert mwf.end_date == WEDNESDAY
    held = Session.objects.filter(schedule=mwf).exclude(status=Session.Status.CANCELLED)
    assert list(held.values_list("occurrence_date", flat=True)) == [
        MONDAY,
        WEDNESDAY,
        FRIDAY,  # kept: it has attendance
    ]
    # Days already past stay on the record, cancelled with the reason; none from today on.
    today = timezone.localdate(timezone=mwf.facility.zone)
    stopped = Session.objects.filter(schedule=mwf, status=Session.Status.CANCELLED)
    assert (
        stopped.exists()
        and not Session.objects.filter(schedule=mwf, service_date__gte=today).exists()
    )
    assert all(x.service_date < today and x.occurrence_date > FRIDAY for x in stopped)
    assert set(stopped.values_list("changes__reason", flat=True)) == {"The group stopped: Merged"}
    enrollment.refresh_from_db()
    assert enrollment.end_date == WEDNESDAY
    assert enrollment.end_reason == "The group stopped: Merged"
    later.refresh_from_db()  # joined after the last day: never on a session
    assert later.end_date is not None and later.end_date >= later.start_date
    assert not later.active_on(NEXT_MONDAY)
    assert Attendance.objects.count() == 2


# --- enrollment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specialty", "patient", "refusal"),
    [
        ("veterans", {"veteran_status": "veteran"}, None),
        ("veterans", {"veteran_status": "reserve"}, None),
        ("veterans", {"veteran_status": "no"}, "This is a veterans' group"),
        ("veterans", {"veteran_status": ""}, "This is a veterans' group"),
        ("women", {"gender_identity": "trans_woman"}, None),
        ("women", {"gender_identity": "man"}, "This is a women's group"),
        ("women", {"gender_identity": "declined"}, "This is a women's group"),
        ("men", {"gender_identity": "man"}, None),
        ("men", {"gender_identity": "woman"}, "This is a men's group"),
        ("lgbtq", {"lgbtq_group_opt_in": True}, None),
        ("lgbtq", {"lgbtq_group_opt_in": False}, "This is an LGBTQ+ group"),
        ("survivors", {"survivor_group_opt_in": True}, None),
        ("survivors", {"survivor_group_opt_in": False}, "This is a survivors' group"),
        ("", {"gender_identity": "", "veteran_status": ""}, None),
    ],
)
def test_enrollment_checks_eligibility(
    director: User,
    clinician: User,
    program: Program,
    facility: Facility,
    specialty: str,
    patient: dict[str, Any],
    refusal: str | None,
) -> None:
    specialized = f.group(director, program, "Specialized", kind="specialized", specialty=specialty)
    group_schedule = f.schedule(director, specialized, clinician)
    episode = f.admitted(facility, program, clinician, **patient)
    if refusal is None:
        assert f.enrolled(clinician, episode, group_schedule).schedule == group_schedule
        return
    with pytest.raises(ValidationError) as caught:
        f.enrolled(clinician, episode, group_schedule)
    assert messages(caught.value, "schedule")[0].startswith(refusal)
    assert not Enrollment.objects.exists()


def test_a_full_group_and_a_second_enrollment_are_refused(
    director: User, clinician: User, program: Program, facility: Facility
) -> None:
    small = f.group(director, program, "Small group", capacity=2)
    small_mwf = f.schedule(director, small, clinician)
    first = f.admitted(facility, program, clinician, "One")
    f.enrolled(clinician, first, small_mwf)
    with pytest.raises(ValidationError) as caught:
        f.enrolled(clinician, first, small_mwf, start=NEXT_MONDAY)
    assert messages(caught.value, "schedule") == ["The patient is already on this group's roster."]
    f.enrolled(clinician, f.admitted(facility, program, clinician, "Two"), small_mwf)
    with pytest.raises(ValidationError) as caught:
        f.enrolled(clinician, f.admitted(facility, program, clinician, "Three"), small_mwf)
    assert messages(caught.value, "schedule")[0].startswith("Small group is full (2 people).")
    assert Enrollment.objects.count() == 2


def test_a_group_at_the_same_time_as_the_patients_other_group_is_refused(
    director: User,
    clinician: User,
    program: Program,
    mwf: Schedule,
    ep: EpisodeOfCare,
    make_user: Callable[..., User],
) -> None:
    f.enrolled(clinician, ep, mwf)
    overlapping = f.schedule(
        director,
        f.group(director, program, "Relapse prevention", duration_minutes=90),
        make_user(Role.CLINICIAN),
        rrule="FREQ=WEEKLY;BYDAY=FR",
        start_time=dt.time(11, 0),
    )
    with pytest.raises(ValidationError) as caught:
        f.enrolled(clinician, ep, overlapping)
    assert messages(caught.value, "schedule") == [
        "The patient is already in Process group at that time (Fri 6 Mar at 9:00 am)."
    ]
    afternoon = f.schedule(
        director,
        f.group(director, program, "Early recovery", duration_minutes=90),
        make_user(Role.CLINICIAN),
        start_time=dt.time(12, 0),
    )
    assert f.enrolled(clinician, ep, afternoon).schedule == afternoon


def test_a_phase_mismatch_needs_a_reason(
    director: User, clinician: User, program: Program, ep: EpisodeOfCare
) -> None:
    maintenance = Phase.objects.get(program=program, code="maintenance")
    late = f.group(director, program, "Maintenance group", phases=[maintenance])
    late_mwf = f.schedule(director, late, clinician)
    with pytest.raises(ValidationError) as caught:
        f.enrolled(clinician, ep, late_mwf)
    assert codes(caught.value, "override_reason") == ["warning"]
    assert messages(caught.value, "override_reason") == [
        "This group is for Maintenance; the patient is in another phase. "
        "Say why the patient joins anyway."
    ]
    assert not Enrollment.objects.exists()
    enrollment = services.enroll(
        actor=clinician,
        episode=ep,
        schedule=late_mwf,
        start_date=MONDAY,
        override_reason="Stable for months; needs the maintenance focus",
    )
    assert enrollment.override_reason == "Stable for months; needs the maintenance focus"
    event = AuditEvent.objects.get(section="group enrollment")
    assert event.reason == enrollment.override_reason
    assert event.detail == {
        "warnings": ["This group is for Maintenance; the patient is in another phase."]
    }


def test_a_reason_is_not_kept_without_a_warning(
    clinician: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    enrollment = services.enroll(
        actor=clinician, episode=ep, schedule=mwf, start_date=MONDAY, override_reason="Just in case"
    )
    assert enrollment.override_reason == ""


def test_the_front_desk_cannot_enroll(front_desk: User, mwf: Schedule, ep: EpisodeOfCare) -> None:
    with pytest.raises(PermissionDenied):
        f.enrolled(front_desk, ep, mwf)


# --- appointments -------------------------------------------------------------------------------


def book(actor: User, episode: EpisodeOfCare, staff: User, **kw: Any) -> Appointment:
    values: dict[str, Any] = {
        "kind": "individual",
        "day": MONDAY,
        "start": dt.time(13, 0),
        "minutes": 60,
        "telehealth": True,
    }
    values.update(kw)
    return services.book_appointment(actor=actor, episode=episode, staff=staff, **values)


def test_booking_and_its_clashes(
    front_desk: User,
    clinician: User,
    mwf: Schedule,
    room_b: Room,
    ep: EpisodeOfCare,
    ep2: EpisodeOfCare,
    make_user: Callable[..., User],
    facility: Facility,
) -> None:
    appointment = book(front_desk, ep, clinician, room=room_b, telehealth=False)
    assert local(appointment.starts_at, facility).time() == dt.time(13, 0)
    assert appointment.service_date == MONDAY and appointment.status == "scheduled"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"episode": ep2, "staff": clinician, "start": dt.time(13, 30)}, "has an appointment"),
        (
            {
                "episode": ep2,
                "staff": make_user(Role.CLINICIAN),
                "room": room_b,
                "telehealth": False,
            },
            "Room B is booked for an appointment",
        ),
        (
            {"episode": ep, "staff": make_user(Role.CLINICIAN), "start": dt.time(13, 45)},
            "The patient already has individual therapy",
        ),
        ({"episode": ep2, "staff": clinician, "start": dt.time(11, 0)}, "is running Process group"),
    ]
    for values, text in cases:
        episode, staff = values.pop("episode"), values.pop("staff")
        assert isinstance(episode, EpisodeOfCare) and isinstance(staff, User)
        with pytest.raises(ValidationError) as caught:
            book(front_desk, episode, staff, **values)
        assert text in messages(caught.value)[0]
        assert codes(caught.value, "__all__") == ["conflict"]
    assert book(front_desk, ep2, clinician, start=dt.time(14, 0)).pk  # back to back


def test_rescheduling_and_cancelling(
    front_desk: User, clinician: User, ep: EpisodeOfCare, facility: Facility
) -> None:
    first = book(front_desk, ep, clinician)
    new = services.reschedule_appointment(
        actor=front_desk, appointment=first, day=WEDNESDAY, start=dt.time(15, 0), reason="Work"
    )
    first.refresh_from_db()
    assert first.status == "rescheduled" and first.rescheduled_to == new
    assert local(new.starts_at, facility) == dt.datetime(2026, 3, 4, 15, 0, tzinfo=facility.zone)
    assert new.minutes == 60
    with pytest.raises(ValidationError, match="already rescheduled"):
        services.cancel_appointment(actor=front_desk, appointment=first, reason="Oops")
    cancelled = services.cancel_appointment(actor=front_desk, appointment=new, reason="Ill")
    assert cancelled.status == "cancelled" and cancelled.status_reason == "Ill"
    # a cancelled slot is free again
    assert book(front_desk, ep, clinician, day=WEDNESDAY, start=dt.time(15, 0)).pk


def test_closing_an_appointment(front_desk: User, clinician: User, ep: EpisodeOfCare) -> None:
    came = book(front_desk, ep, clinician)
    row = services.close_appointment(actor=front_desk, appointment=came, status="present")
    came.refresh_from_db()
    assert came.status == "completed"
    assert (row.minutes, row.service_date, row.appointment) == (60, MONDAY, came)
    assert DoseDay.objects.get(episode=ep, date=MONDAY).minutes == 60
    missed = book(front_desk, ep, clinician, day=WEDNESDAY)
    row = services.close_appointment(actor=front_desk, appointment=missed, status="unexcused")
    missed.refresh_from_db()
    assert missed.status == "no_show" and row.minutes == 0
    assert DoseDay.objects.get(episode=ep, date=WEDNESDAY).minutes == 0
    future = book(front_desk, ep, clinician, day=timezone.localdate() + dt.timedelta(days=3))
    with pytest.raises(ValidationError, match="has not started yet"):
        services.close_appointment(actor=front_desk, appointment=future, status="present")


# --- group attendance ---------------------------------------------------------------------------


def test_saving_a_group(
    clinician: User, mwf: Schedule, ep: EpisodeOfCare, ep2: EpisodeOfCare
) -> None:
    f.enrolled(clinician, ep, mwf)
    f.enrolled(clinician, ep2, mwf)
    session = f.session_on(mwf, MONDAY)
    rows = services.save_group_attendance(
        actor=clinician,
        session=session,
        revision=0,
        lines=[
            Line(patient_id=ep.patient_id, status="present"),
            Line(patient_id=ep2.patient_id, status="late", arrived_at=dt.time(9, 30)),
        ],
        topic="Coping with cravings",
    )
    assert {(r.patient_id, r.minutes, r.drop_in) for r in rows} == {
        (ep.patient_id, 180, False),
        (ep2.patient_id, 150, False),
    }
    assert dict(DoseDay.objects.values_list("episode_id", "minutes")) == {ep.pk: 180, ep2.pk: 150}
    assert DoseDay.objects.get(episode=ep).week_start == MONDAY
    assert AuditEvent.objects.filter(section="attendance", action="create").count() == 2
    session.refresh_from_db()
    assert session.attendance_revision == 1 and session.attendance_saved_by == clinician
    assert session.topic == "Coping with cravings"


@pytest.mark.parametrize(
    ("bad", "field", "text"),
    [
        ({"minutes": -5}, "minutes", "Minutes attended cannot be negative."),
        (
            {"minutes": 181},
            "minutes",
            "Minutes attended cannot be more than the session's 180 minutes.",
        ),
        ({"status": "asleep"}, "status", "Choose whether the patient came."),
        (
            {"status": "late", "arrived_at": dt.time(10, 0), "left_at": dt.time(9, 0)},
            "left_at",
            "The time they left must be after the time they arrived.",
        ),
    ],
)
def test_one_bad_line_saves_nothing(
    clinician: User,
    mwf: Schedule,
    ep: EpisodeOfCare,
    ep2: EpisodeOfCare,
    bad: dict[str, Any],
    field: str,
    text: str,
) -> None:
    f.enrolled(clinician, ep, mwf)
    f.enrolled(clinician, ep2, mwf)
    session = f.session_on(mwf, MONDAY)
    values: dict[str, Any] = {"status": "present", **bad}
    with pytest.raises(AttendanceRefused) as caught:
        services.save_group_attendance(
            actor=clinician,
            session=session,
            lines=[
                Line(patient_id=ep.patient_id, status="present"),
                Line(ep2.patient_id, **values),
            ],
        )
    assert caught.value.lines == {ep2.patient_id: {field: text}}
    assert not Attendance.objects.exists()
    assert not DoseDay.objects.exists()
    assert not AuditEvent.objects.filter(section="attendance").exists()
    assert Session.objects.get(pk=session.pk).attendance_revision == 0


def test_a_session_that_has_not_started_is_refused(
    clinician: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.enrolled(clinician, ep, mwf)
    upcoming = (
        Session.objects.filter(schedule=mwf, starts_at__gt=timezone.now())
        .order_by("starts_at")
        .first()
    )
    assert upcoming is not None
    with pytest.raises(AttendanceRefused, match="has not started yet"):
        f.came(clinician, upcoming, ep)
    assert not Attendance.objects.exists()


def test_a_stale_screen_saves_nothing(clinician: User, mwf: Schedule, ep: EpisodeOfCare) -> None:
    f.enrolled(clinician, ep, mwf)
    session = f.session_on(mwf, MONDAY)
    line = [Line(patient_id=ep.patient_id, status="present")]
    services.save_group_attendance(actor=clinician, session=session, lines=line, revision=0)
    with pytest.raises(AttendanceRefused) as caught:
        services.save_group_attendance(
            actor=clinician,
            session=session,
            lines=[Line(patient_id=ep.patient_id, status="unexcused")],
            revision=0,
        )
    assert caught.value.code == "stale"
    assert caught.value.message == services.STALE_MESSAGE
    assert Attendance.objects.get().status == "present"


def test_saving_again_corrects_with_history_and_audit(
    clinician: User, front_desk: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.enrolled(clinician, ep, mwf)
    session = f.session_on(mwf, MONDAY)
    f.came(clinician, session, ep)
    f.came(front_desk, session, ep, status="late", arrived_at=dt.time(10, 0))
    row = Attendance.objects.get()
    assert (row.status, row.minutes, row.recorded_by) == ("late", 120, front_desk)
    history = list(row.history.order_by("history_date").values_list("status", "minutes"))
    assert history == [("present", 180), ("late", 120)]
    event = AuditEvent.objects.get(section="attendance correction")
    assert event.changes == {
        "status": ["present", "late"],
        "arrived_at": [None, "10:00:00"],
        "minutes": [180, 120],
    }
    assert event.actor == front_desk and event.patient_id == ep.patient_id
    assert DoseDay.objects.get(episode=ep).minutes == 120
    # the same lines again change nothing and audit nothing
    f.came(front_desk, session, ep, status="late", arrived_at=dt.time(10, 0))
    assert AuditEvent.objects.filter(section="attendance correction").count() == 1


def test_drop_ins(
    director: User,
    clinician: User,
    program: Program,
    facility: Facility,
    mwf: Schedule,
    ep: EpisodeOfCare,
) -> None:
    rows = f.came(clinician, f.session_on(mwf, MONDAY), ep)  # not on the roster
    assert rows[0].drop_in and rows[0].minutes == 180
    women = f.group(director, program, "Women's group", kind="specialized", specialty="women")
    women_mwf = f.schedule(director, women, director, start_time=dt.time(13, 0))
    man = f.admitted(facility, program, clinician, "Lee", gender_identity="man")
    with pytest.raises(AttendanceRefused) as caught:
        f.came(clinician, f.session_on(women_mwf, MONDAY), man, ep)
    assert list(caught.value.lines) == [man.patient_id]
    assert caught.value.lines[man.patient_id]["patient"].startswith("This is a women's group")
    assert Attendance.objects.count() == 1


def test_a_patient_not_in_treatment_here_is_refused(
    clinician: User, mwf: Schedule, outside_patient: Any
) -> None:
    with pytest.raises(AttendanceRefused) as caught:
        services.save_group_attendance(
            actor=clinician,
            session=f.session_on(mwf, MONDAY),
            lines=[Line(patient_id=outside_patient.pk, status="present")],
        )
    # Outside the clinician's scope: refused without saying whether they are in treatment.
    assert caught.value.lines == {outside_patient.pk: {"patient": "Choose a patient in your care."}}


def test_a_patient_in_scope_but_not_in_treatment_is_refused(
    director: User, mwf: Schedule, unassigned_patient: Any
) -> None:
    with pytest.raises(AttendanceRefused) as caught:
        services.save_group_attendance(
            actor=director,
            session=f.session_on(mwf, MONDAY),
            lines=[Line(patient_id=unassigned_patient.pk, status="present")],
        )
    assert caught.value.lines == {
        unassigned_patient.pk: {"patient": "This patient is not in treatment at this facility."}
    }


def test_a_cancelled_session_only_takes_cancelled(
    director: User, clinician: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.enrolled(clinician, ep, mwf)
    session = services.cancel_session(
        actor=director, session=f.session_on(mwf, MONDAY), reason="Holiday"
    )
    with pytest.raises(AttendanceRefused) as caught:
        f.came(clinician, session, ep)
    assert caught.value.lines[ep.patient_id]["status"].startswith("This session was cancelled")
    (row,) = f.came(clinician, session, ep, status="cancelled")
    assert row.minutes == 0
    assert DoseDay.objects.get(episode=ep).minutes == 0


def test_dose_adds_two_sessions_of_a_day_and_follows_a_correction(
    director: User,
    clinician: User,
    program: Program,
    room_b: Room,
    ep: EpisodeOfCare,
    make_user: Callable[..., User],
) -> None:
    morning = f.schedule(
        director, f.group(director, program, "Skills", duration_minutes=90), clinician
    )
    afternoon = f.schedule(
        director,
        f.group(director, program, "Relapse prevention", duration_minutes=90),
        make_user(Role.CLINICIAN),
        where=room_b,
        start_time=dt.time(13, 0),
    )
    f.enrolled(clinician, ep, morning)
    f.enrolled(clinician, ep, afternoon)
    f.came(clinician, f.session_on(morning, MONDAY), ep)
    dose_rules = program.dose_rules()
    assert DoseDay.objects.get(episode=ep, date=MONDAY).minutes == 90
    (row,) = f.came(clinician, f.session_on(afternoon, MONDAY), ep)
    day = DoseDay.objects.get(episode=ep, date=MONDAY)
    assert day.minutes == 180 and rules.is_service_day(day.minutes, dose_rules)
    corrected = services.correct_attendance(
        actor=clinician,
        attendance=row,
        data={"status": "late", "arrived_at": dt.time(13, 1)},
        reason="Arrived a minute late, seen on the sign-in sheet",
    )
    assert corrected.minutes == 89
    day.refresh_from_db()
    assert day.minutes == 179 and not rules.is_service_day(day.minutes, dose_rules)
    event = AuditEvent.objects.get(section="attendance correction")
    assert event.reason == "Arrived a minute late, seen on the sign-in sheet"
    assert event.changes["minutes"] == [90, 89]
    assert corrected.history.latest().history_change_reason == event.reason
    assert Session.objects.get(pk=row.session_id or 0).attendance_revision == 2
    with pytest.raises(ValidationError) as caught:
        services.correct_attendance(
            actor=clinician, attendance=row, data={"minutes": 10}, reason=""
        )
    assert messages(caught.value, "reason") == ["Say why the attendance is corrected."]
    with pytest.raises(ValidationError):
        services.correct_attendance(
            actor=clinician, attendance=row, data={"minutes": 91}, reason="Typo"
        )
    assert DoseDay.objects.get(episode=ep, date=MONDAY).minutes == 179


def test_two_unexcused_absences_in_a_row_alert_the_primary_clinician(
    clinician: User, front_desk: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.enrolled(clinician, ep, mwf)
    f.came(front_desk, f.session_on(mwf, MONDAY), ep, status="unexcused")
    assert not ClinicalAlert.objects.exists()
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), ep, status="unexcused")
    alert = ClinicalAlert.objects.get(source_type=services.UNEXCUSED_SOURCE)
    assert alert.patient_id == ep.patient_id and alert.message == "2 unexcused absences in a row."
    f.came(front_desk, f.session_on(mwf, FRIDAY), ep, status="unexcused")
    assert ClinicalAlert.objects.count() == 1  # once per streak


def test_billing_cannot_record_attendance(billing: User, mwf: Schedule, ep: EpisodeOfCare) -> None:
    with pytest.raises(PermissionDenied):
        f.came(billing, f.session_on(mwf, MONDAY), ep)


@pytest.mark.parametrize(
    ("start", "field", "message"),
    [
        (dt.date(2002, 3, 4), "start_date", "would have 3,"),  # a year typed wrong
        (dt.date(1999, 3, 1), "start_date", "between 2000 and 2100"),
    ],
)
def test_a_first_day_years_too_early_is_refused(
    director: User, process: GroupType, clinician: User, start: dt.date, field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        f.schedule(director, process, clinician, start_date=start)
    assert message in caught.value.message_dict[field][0]
    assert not Session.objects.exists()


@pytest.mark.parametrize("seats", [0, 501])
def test_a_room_with_no_seats_or_too_many_is_refused(
    director: User, facility: Facility, seats: int
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.save_room(
            actor=director, facility=facility, data={"name": "Annex", "seats": seats}
        )
    assert "between 1 and 500" in caught.value.message_dict["seats"][0]
    assert not Room.objects.filter(name="Annex").exists()


def test_a_patient_link_is_stopped_only_by_staff_of_the_patients_facility(
    clinician: User, other_clinician: User, ep: EpisodeOfCare
) -> None:
    feed, _token = services.create_feed(actor=clinician, patient=ep.patient)
    with pytest.raises(PermissionDenied):
        services.revoke_feed(actor=other_clinician, feed=feed)
    feed.refresh_from_db()
    assert feed.revoked_at is None
