"""The attendance screen, through the test client: a whole group in one save."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.scheduling import services
from openiop.scheduling.models import Attendance, DoseDay, Schedule, Session
from tests.admissions.factories import program_with_phases
from tests.conftest import body, signed_in
from tests.scheduling import factories
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def schedule(director: User, clinician: User, facility: Facility, program: Program) -> Schedule:
    room = factories.room(director, facility)
    group = factories.group(director, program, capacity=12)
    return factories.schedule(director, group, clinician, where=room)


@pytest.fixture
def people(
    facility: Facility, program: Program, clinician: User, schedule: Schedule
) -> list[EpisodeOfCare]:
    """Three patients on the group's roster from the first Monday."""
    episodes = [
        factories.admitted(facility, program, clinician, last_name=name)
        for name in ("Alvarez", "Baker", "Chen")
    ]
    for e in episodes:
        factories.enrolled(clinician, e, schedule)
    return episodes


@pytest.fixture
def session(schedule: Schedule) -> Session:
    return factories.session_on(schedule, MONDAY)  # long past: attendance may be recorded


def url(session: Session) -> str:
    return reverse("scheduling:attendance", args=[session.pk])


def line(episode: EpisodeOfCare, status: str = "present", **fields: Any) -> dict[str, str]:
    prefix = f"p{episode.patient_id}"
    data = {f"{prefix}-status": status}
    for name, value in fields.items():
        if name == "telehealth":
            if value:
                data[f"{prefix}-telehealth"] = "on"
        else:
            data[f"{prefix}-{name}"] = str(value)
    return data


def form(session: Session, *lines: dict[str, str], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"revision": str(session.attendance_revision), "topic": ""}
    for one in lines:
        data.update(one)
    data.update(extra)
    return data


def test_it_shows_the_enrolled_patients_and_audits_each(
    clinician: User, people: list[EpisodeOfCare], session: Session
) -> None:
    response = signed_in(clinician).get(url(session))
    assert response.status_code == 200
    page = body(response)
    for e in people:
        assert f"{e.patient.last_name}, {e.patient.first_name}" in page
        assert f'name="p{e.patient_id}-status"' in page
    assert "Not recorded yet" in page
    # Nobody recorded yet: every line starts as present (the no-JS "everyone present").
    assert page.count('<option value="present" selected>') == 3
    shown = AuditEvent.objects.filter(section="attendance roster", action="view")
    assert sorted(shown.values_list("patient_id", flat=True)) == sorted(
        e.patient_id for e in people
    )


def test_it_saves_the_whole_group_with_the_daily_dose(
    clinician: User, people: list[EpisodeOfCare], session: Session
) -> None:
    a, b, c = people
    data = form(
        session,
        line(a),
        line(b, "late", arrived_at="09:30"),
        line(c, "unexcused"),
        topic="Triggers and cravings",
    )
    response = signed_in(clinician).post(url(session), data, follow=True)
    assert response.redirect_chain[-1][0] == url(session)
    assert "Attendance saved: 1 present, 1 late, 1 absent." in body(response)
    rows = {r.patient_id: r for r in Attendance.objects.filter(session=session)}
    assert {pid: r.status for pid, r in rows.items()} == {
        a.patient_id: "present",
        b.patient_id: "late",
        c.patient_id: "unexcused",
    }
    assert rows[a.patient_id].minutes == 180
    assert rows[b.patient_id].minutes == 150  # from 9:30 to the end at noon
    assert rows[c.patient_id].minutes == 0
    dose = dict(DoseDay.objects.filter(date=MONDAY).values_list("patient_id", "minutes"))
    assert dose == {a.patient_id: 180, b.patient_id: 150, c.patient_id: 0}
    session.refresh_from_db()
    assert session.topic == "Triggers and cravings"
    assert session.attendance_saved_by == clinician
    assert "by " + clinician.display_name in body(response)


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        ("-5", "Minutes attended cannot be negative."),
        ("181", "Minutes attended cannot be more than the session&#x27;s 180 minutes."),
    ],
)
def test_it_refuses_impossible_minutes_and_saves_nothing(
    clinician: User,
    people: list[EpisodeOfCare],
    session: Session,
    minutes: str,
    message: str,
) -> None:
    a, b, c = people
    data = form(session, line(a), line(b, minutes=minutes), line(c, note="Called in sick"))
    response = signed_in(clinician).post(url(session), data)
    assert response.status_code == 200
    page = body(response)
    assert "Nothing was saved: fix the lines marked below." in page
    assert message in page
    assert f'name="p{b.patient_id}-minutes" value="{minutes}"' in page  # kept as typed
    assert 'value="Called in sick"' in page
    assert not Attendance.objects.filter(session=session).exists()
    assert not DoseDay.objects.exists()
    session.refresh_from_db()
    assert session.attendance_revision == 0


def test_a_session_that_has_not_started_is_refused(
    clinician: User, people: list[EpisodeOfCare], schedule: Schedule
) -> None:
    future = Session.objects.filter(schedule=schedule, starts_at__gt=timezone.now()).first()
    assert future is not None
    client = signed_in(clinician)
    page = body(client.get(url(future)))
    assert "This session has not started yet" in page
    assert "<fieldset disabled>" in page
    response = client.post(url(future), form(future, *(line(e) for e in people)))
    assert response.status_code == 200
    assert "Record attendance once it has begun." in body(response)
    assert not Attendance.objects.filter(session=future).exists()


def test_a_stale_screen_is_refused_and_changes_nothing(
    clinician: User,
    make_user: Callable[..., User],
    people: list[EpisodeOfCare],
    session: Session,
) -> None:
    a, b, c = people
    loaded = form(session, line(a, "unexcused"), line(b, "unexcused"), line(c, "unexcused"))
    colleague = make_user("front_desk")
    saved = signed_in(colleague).post(
        url(session), form(session, line(a), line(b), line(c, "excused"))
    )
    assert saved.status_code == 302
    before = dict(Attendance.objects.values_list("patient_id", "status"))

    response = signed_in(clinician).post(url(session), loaded)
    page = body(response)
    assert response.status_code == 200
    assert "Someone else saved this group&#x27;s attendance" in page
    assert "Reload the attendance to see what was saved" in page
    assert dict(Attendance.objects.values_list("patient_id", "status")) == before
    session.refresh_from_db()
    assert session.attendance_revision == 1
    assert session.attendance_saved_by == colleague


def test_resaving_corrects_the_record_and_audits_the_change(
    clinician: User, people: list[EpisodeOfCare], session: Session
) -> None:
    a, b, c = people
    client = signed_in(client_user := clinician)
    client.post(url(session), form(session, line(a), line(b), line(c)))
    session.refresh_from_db()
    page = body(client.get(url(session)))
    assert "saved: present, 180 min" in page
    # The saved minutes are the usual ones: the box stays blank so a new status recomputes.
    assert f'name="p{a.patient_id}-minutes" value=' not in page
    response = client.post(
        url(session), form(session, line(a), line(b, "left_early", left_at="11:00"), line(c))
    )
    assert response.status_code == 302
    row = Attendance.objects.get(session=session, patient_id=b.patient_id)
    assert (row.status, row.minutes) == ("left_early", 120)
    event = AuditEvent.objects.get(section="attendance correction")
    assert event.patient_id == b.patient_id
    assert event.actor == client_user
    assert event.changes["status"] == ["present", "left_early"]
    assert DoseDay.objects.get(patient_id=b.patient_id, date=MONDAY).minutes == 120


def test_a_drop_in_who_may_not_join_is_refused_with_the_reason(
    director: User,
    clinician: User,
    facility: Facility,
    program: Program,
) -> None:
    group = factories.group(director, program, "Veterans' group", specialty="veterans")
    schedule = factories.schedule(
        director, group, clinician, where=factories.room(director, facility, "Room V")
    )
    session = factories.session_on(schedule, MONDAY)
    veteran = factories.admitted(facility, program, clinician, "Vance", veteran_status="veteran")
    factories.enrolled(clinician, veteran, schedule)
    civilian = factories.admitted(facility, program, clinician, "Cole")
    client = signed_in(clinician)

    found = body(
        client.post(
            reverse("scheduling:drop_in_search", args=[session.pk]),
            {"q": "Col"},
            headers={"HX-Request": "true"},
        )
    )
    assert "Cole, Test" in found
    assert "Vance" not in found  # already on the roster
    assert f"?add={civilian.patient_id}" in found

    # Without JavaScript the search is a page of its own; "Add" reloads the screen by id.
    page = body(client.post(reverse("scheduling:drop_in_search", args=[session.pk]), {"q": "Col"}))
    assert "Back to the attendance" in page
    assert "Cole, Test" in page
    search = AuditEvent.objects.filter(section="attendance drop-in search")
    assert search.count() == 2
    assert search.filter(patient__isnull=False).count() == 0

    added = body(client.get(url(session), {"add": civilian.patient_id}))
    assert f'name="p{civilian.patient_id}-status"' in added
    assert "drop-in" in added

    data = form(session, line(veteran), line(civilian), add=str(civilian.patient_id))
    response = client.post(url(session), data)
    page = body(response)
    assert response.status_code == 200
    assert "This is a veterans&#x27; group: it needs the patient&#x27;s veteran status" in page
    assert not Attendance.objects.filter(session=session).exists()


def test_an_eligible_drop_in_is_saved_as_a_drop_in(
    clinician: User,
    facility: Facility,
    program: Program,
    people: list[EpisodeOfCare],
    session: Session,
) -> None:
    guest = factories.admitted(facility, program, clinician, "Diaz")
    rows = signed_in(clinician).get(
        url(session), {"add": guest.patient_id}, headers={"HX-Request": "true"}
    )
    fragment = body(rows)
    assert fragment.strip().startswith(f'<tr id="row-{guest.patient_id}"')
    assert "Alvarez" not in fragment  # only the new line
    data = form(session, *(line(e) for e in people), line(guest), add=str(guest.patient_id))
    response = signed_in(clinician).post(url(session), data)
    assert response.status_code == 302
    row = Attendance.objects.get(session=session, patient_id=guest.patient_id)
    assert row.drop_in is True
    assert row.minutes == 180
    page = body(signed_in(clinician).get(url(session)))
    assert "Diaz, Test" in page  # now on the screen from its saved attendance


def test_a_session_of_another_facility_is_not_found(
    other_clinician: User, people: list[EpisodeOfCare], session: Session
) -> None:
    client = signed_in(other_clinician)
    assert client.get(url(session)).status_code == 404
    assert client.post(url(session), form(session)).status_code == 404
    search = reverse("scheduling:drop_in_search", args=[session.pk])
    assert client.post(search, {"q": "A"}).status_code == 404


@pytest.mark.parametrize("role", ["auditor", "billing"])
def test_roles_that_do_not_record_attendance_are_refused(
    make_user: Callable[..., User],
    people: list[EpisodeOfCare],
    session: Session,
    role: str,
) -> None:
    client = signed_in(make_user(role))
    assert client.get(url(session)).status_code == 403
    data = form(session, *(line(e) for e in people))
    assert client.post(url(session), data).status_code == 403
    assert not Attendance.objects.exists()


def test_the_front_desk_records_attendance(
    front_desk: User, people: list[EpisodeOfCare], session: Session
) -> None:
    response = signed_in(front_desk).post(url(session), form(session, *(line(e) for e in people)))
    assert response.status_code == 302
    assert Attendance.objects.filter(session=session, status="present").count() == 3


def test_a_cancelled_session_starts_every_line_as_cancelled(
    clinician: User, people: list[EpisodeOfCare], session: Session
) -> None:
    services.cancel_session(actor=clinician, session=session, reason="Staff training day")
    page = body(signed_in(clinician).get(url(session)))
    assert "This session was cancelled." in page
    assert page.count('<option value="cancelled" selected>') == 3
    assert "Staff training day" in page


def placeholder(page: str, episode: EpisodeOfCare) -> str | None:
    """The grey hint of a line's Minutes box (None when it has none)."""
    box = re.search(rf'<input [^>]*name="p{episode.patient_id}-minutes"[^>]*>', page)
    assert box is not None
    hint = re.search(r'placeholder="([^"]*)"', box.group(0))
    return hint.group(1) if hint else None


def test_the_minutes_hint_is_what_a_blank_box_records(
    clinician: User, people: list[EpisodeOfCare], session: Session
) -> None:
    a, b, c = people
    client = signed_in(clinician)
    page = body(client.get(url(session)))
    assert [placeholder(page, e) for e in people] == ["180", "180", "180"]  # all start present
    data = form(session, line(a), line(b, "late", arrived_at="09:30"), line(c, "excused"))
    assert client.post(url(session), data).status_code == 302
    page = body(client.get(url(session)))
    # The saved minutes, not the session's length: 150 from 9:30, none for the absence.
    assert [placeholder(page, e) for e in people] == ["180", "150", "0"]
    # Sent back with an error: an absence still says 0; a changed time has no hint (the
    # save works it out), a plain "present" the whole session.
    session.refresh_from_db()
    data = form(
        session, line(a, minutes="999"), line(b, "late", arrived_at="09:45"), line(c, "unexcused")
    )
    page = body(client.post(url(session), data))
    assert "Nothing was saved" in page
    assert [placeholder(page, e) for e in people] == ["180", None, "0"]


def test_a_cancelled_sessions_lines_hint_no_minutes(
    clinician: User, people: list[EpisodeOfCare], session: Session
) -> None:
    services.cancel_session(actor=clinician, session=session, reason="Staff training day")
    page = body(signed_in(clinician).get(url(session)))
    assert [placeholder(page, e) for e in people] == ["0", "0", "0"]


def _queries(client: Any, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_for_3_or_12_patients(
    clinician: User,
    facility: Facility,
    program: Program,
    people: list[EpisodeOfCare],
    session: Session,
    schedule: Schedule,
) -> None:
    client = signed_in(clinician)
    client.post(url(session), form(session, *(line(e) for e in people)))
    client.get(url(session))  # warm the session and permission caches
    three = _queries(client, url(session))
    for n in range(9):
        factories.enrolled(
            clinician, factories.admitted(facility, program, clinician, f"Extra{n:02d}"), schedule
        )
    twelve = _queries(client, url(session))
    assert twelve == three
    assert twelve <= 20


def test_saving_costs_the_same_queries_for_3_or_12_patients(
    clinician: User,
    facility: Facility,
    program: Program,
    people: list[EpisodeOfCare],
    schedule: Schedule,
) -> None:
    client = signed_in(clinician)
    small = factories.session_on(schedule, MONDAY)
    client.get(url(small))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as three:
        client.post(url(small), form(small, *(line(e) for e in people)))
    extra = [factories.admitted(facility, program, clinician, f"Extra{n:02d}") for n in range(9)]
    for e in extra:
        factories.enrolled(clinician, e, schedule, start=MONDAY + dt.timedelta(days=2))
    big = factories.session_on(schedule, MONDAY + dt.timedelta(days=2))
    with CaptureQueriesContext(connection) as twelve:
        client.post(url(big), form(big, *(line(e) for e in [*people, *extra])))
    assert Attendance.objects.filter(session=big).count() == 12
    assert len(twelve) == len(three)


def test_a_clinician_outside_the_group_sees_and_records_none_of_its_patients(
    people: list[EpisodeOfCare], session: Session, make_user: Callable[..., User]
) -> None:
    """Minimum necessary: not their group, not their caseload — no names, no saves."""
    stranger = make_user(Role.CLINICIAN, email="stranger@example.org")
    client = signed_in(stranger)
    page = body(client.get(url(session)))
    assert not any(e.patient.last_name in page for e in people)
    assert "3 people on this roster are not shown" in page
    client.post(url(session), form(session, *(line(e) for e in people)))
    assert not Attendance.objects.exists()
    with pytest.raises(services.AttendanceRefused) as caught:
        services.save_group_attendance(
            actor=stranger,
            session=session,
            lines=[services.Line(patient_id=e.patient_id, status="present") for e in people],
        )
    assert set(caught.value.lines) == {e.patient_id for e in people}
    assert not Attendance.objects.exists()
