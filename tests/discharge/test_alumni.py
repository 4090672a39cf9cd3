"""Alumni events and groups through ``openiop.discharge.alumni``: creating, changing and
cancelling an event, who came (only alumni: discharged here, not in treatment now), the
roster with the latest follow-up outcome, the event lists — refusals save nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.discharge import alumni
from openiop.discharge.models import AlumniAttendance, AlumniEvent, FollowUp
from openiop.patients.models import Patient
from tests.admissions.factories import program_with_phases
from tests.discharge.test_followups import TODAY, discharged, readmit

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(make_user: Callable[..., User]) -> User:
    return make_user(Role.ALUMNI_COORDINATOR, email="alumni@example.org")


def when(hours_from_now: float) -> dt.datetime:
    return (timezone.now() + dt.timedelta(hours=hours_from_now)).replace(microsecond=0)


def an_event(actor: User, facility: Facility, *, starts_in: float = -2, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "kind": "group",
        "title": "Thursday alumni group",
        "starts_at": when(starts_in),
        "ends_at": when(starts_in + 1.5),
        "location": "Room B",
        "description": "Open to every alumnus.",
    }
    values.update(changes)
    return alumni.create_event(actor=actor, facility=facility, **values)


@pytest.fixture
def alumnus(facility: Facility, program: Program, clinician: User) -> Patient:
    return discharged(facility, program, clinician, on=TODAY, last_name="Alum").patient


# --- events ------------------------------------------------------------------------------------


def test_it_creates_an_event_with_an_audit_record(coordinator: User, facility: Facility) -> None:
    event = an_event(coordinator, facility)
    assert (event.facility, event.title, event.created_by) == (
        facility,
        "Thursday alumni group",
        coordinator,
    )
    audit = AuditEvent.objects.get(section="alumni event", action="create")
    assert audit.facility_id == facility.pk and audit.patient_id is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"kind": "party"}, "kind"),
        ({"starts_at": None}, "starts_at"),
        ({"ends_at": None}, "ends_at"),
        ({"ends_at": "same"}, "ends_at"),
        ({"ends_at": "before"}, "ends_at"),
        ({"ends_at": "two days"}, "ends_at"),
        ({"location": "x" * 201}, "location"),
    ],
)
def test_a_bad_event_is_refused_and_nothing_saved(
    coordinator: User, facility: Facility, changes: dict[str, Any], field: str
) -> None:
    start = when(24)
    relative = {"same": start, "before": start - dt.timedelta(hours=1)}
    relative["two days"] = start + dt.timedelta(hours=25)
    if isinstance(changes.get("ends_at"), str):
        changes = {"starts_at": start, "ends_at": relative[changes["ends_at"]]}
    with pytest.raises(ValidationError) as refused:
        an_event(coordinator, facility, **changes)
    assert field in refused.value.message_dict
    assert not AlumniEvent.objects.exists()
    assert not AuditEvent.objects.filter(section__startswith="alumni").exists()


def test_a_day_long_event_is_accepted(coordinator: User, facility: Facility) -> None:
    start = when(48)
    an_event(coordinator, facility, starts_at=start, ends_at=start + dt.timedelta(hours=24))
    assert AlumniEvent.objects.count() == 1


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.ADMISSIONS, Role.AUDITOR])
def test_other_roles_cannot_create_events(
    make_user: Callable[..., User], facility: Facility, role: str
) -> None:
    with pytest.raises(PermissionDenied):
        an_event(make_user(role), facility)
    assert not AlumniEvent.objects.exists()


def test_nobody_creates_an_event_at_a_facility_they_do_not_work_at(
    coordinator: User, other_facility: Facility
) -> None:
    with pytest.raises(PermissionDenied):
        an_event(coordinator, other_facility)
    assert not AlumniEvent.objects.exists()


def test_it_changes_an_event(coordinator: User, facility: Facility) -> None:
    event = an_event(coordinator, facility, starts_in=24)
    start = when(48)
    alumni.update_event(
        actor=coordinator,
        event=event,
        kind="event",
        title="Summer picnic",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=3),
        location="Harbor Park",
        description="",
    )
    event.refresh_from_db()
    assert (event.kind, event.title, event.location) == ("event", "Summer picnic", "Harbor Park")
    audit = AuditEvent.objects.get(section="alumni event", action="update")
    assert audit.changes["title"] == ["Thursday alumni group", "Summer picnic"]


def test_cancelling_keeps_the_event_marked_and_freezes_it(
    coordinator: User, facility: Facility
) -> None:
    event = an_event(coordinator, facility, starts_in=24)
    alumni.cancel_event(actor=coordinator, event=event, reason="The room is not free.")
    event.refresh_from_db()
    assert event.cancelled
    assert AuditEvent.objects.filter(reason="The room is not free.").exists()
    with pytest.raises(ValidationError, match="cancelled"):
        alumni.update_event(
            actor=coordinator,
            event=event,
            kind="group",
            title="Renamed",
            starts_at=event.starts_at,
            ends_at=event.ends_at,
        )
    with pytest.raises(ValidationError, match="cancelled"):
        alumni.cancel_event(actor=coordinator, event=event)
    event.refresh_from_db()
    assert event.title == "Thursday alumni group"


def test_an_event_people_came_to_is_not_cancelled(
    coordinator: User, facility: Facility, alumnus: Patient
) -> None:
    event = an_event(coordinator, facility)
    alumni.record_alumni_attendance(actor=coordinator, event=event, patients=[alumnus])
    with pytest.raises(ValidationError, match="untick them"):
        alumni.cancel_event(actor=coordinator, event=event)
    event.refresh_from_db()
    assert not event.cancelled


def test_the_lists_of_events(
    coordinator: User, facility: Facility, other_facility: Facility
) -> None:
    past = an_event(coordinator, facility, starts_in=-48, title="Last month")
    now = an_event(coordinator, facility, starts_in=-0.5, title="Going on now")
    soon = an_event(coordinator, facility, starts_in=24, title="Tomorrow")
    AlumniEvent.objects.create(
        facility=other_facility,
        title="Elsewhere",
        starts_at=when(24),
        ends_at=when(25),
        created_by=coordinator,
    )
    upcoming = list(alumni.events_of(coordinator, facility, when="upcoming"))
    assert upcoming == [now, soon]
    assert list(alumni.events_of(coordinator, facility, when="past")) == [past]
    assert list(alumni.events_of(coordinator, other_facility)) == []


def test_an_event_of_another_facility_is_not_found(
    coordinator: User, other_facility: Facility
) -> None:
    elsewhere = AlumniEvent.objects.create(
        facility=other_facility,
        title="Elsewhere",
        starts_at=when(24),
        ends_at=when(25),
        created_by=coordinator,
    )
    with pytest.raises(Http404):
        alumni.event_for(coordinator, elsewhere.pk)
    assert AuditEvent.objects.filter(actor=coordinator, action="denied").exists()


# --- who came ----------------------------------------------------------------------------------


def test_it_records_who_came_and_audits_each_person(
    coordinator: User, facility: Facility, program: Program, clinician: User, alumnus: Patient
) -> None:
    other = discharged(facility, program, clinician, on=TODAY, last_name="Beta").patient
    event = an_event(coordinator, facility)
    rows = alumni.record_alumni_attendance(
        actor=coordinator, event=event, patients=[alumnus, other]
    )
    assert [r.patient.last_name for r in rows] == ["Alum", "Beta"]
    audits = AuditEvent.objects.filter(section="alumni event: attendance", action="create")
    assert sorted(audits.values_list("patient_id", flat=True)) == sorted([alumnus.pk, other.pk])
    # The list replaces the earlier one: unticking removes, and is audited too.
    alumni.record_alumni_attendance(actor=coordinator, event=event, patients=[other])
    assert list(AlumniAttendance.objects.values_list("patient_id", flat=True)) == [other.pk]
    removed = AuditEvent.objects.get(section="alumni event: attendance", action="delete")
    assert removed.patient_id == alumnus.pk


def test_a_patient_still_in_treatment_is_refused(
    coordinator: User,
    facility: Facility,
    program: Program,
    clinician: User,
    episode: EpisodeOfCare,
    alumnus: Patient,
) -> None:
    event = an_event(coordinator, facility)
    with pytest.raises(ValidationError) as refused:
        alumni.record_alumni_attendance(
            actor=coordinator, event=event, patients=[alumnus, episode.patient]
        )
    assert "is in treatment now" in " ".join(refused.value.message_dict["patients"])
    assert not AlumniAttendance.objects.exists()


def test_a_readmitted_alumnus_is_refused(
    coordinator: User, facility: Facility, program: Program, clinician: User
) -> None:
    back = discharged(facility, program, clinician, on=TODAY - dt.timedelta(days=60))
    readmit(back, program, clinician, TODAY)
    event = an_event(coordinator, facility)
    with pytest.raises(ValidationError, match="in treatment now"):
        alumni.record_alumni_attendance(actor=coordinator, event=event, patients=[back.patient])
    assert not AlumniAttendance.objects.exists()


def test_someone_never_discharged_here_is_refused(
    coordinator: User, facility: Facility, unassigned_patient: Patient
) -> None:
    event = an_event(coordinator, facility)
    with pytest.raises(ValidationError, match="never discharged"):
        alumni.record_alumni_attendance(
            actor=coordinator, event=event, patients=[unassigned_patient]
        )
    assert not AlumniAttendance.objects.exists()


def test_an_alumnus_of_another_facility_is_refused(
    coordinator: User, facility: Facility, other_facility: Facility, other_clinician: User
) -> None:
    elsewhere = discharged(
        other_facility, program_with_phases(other_facility), other_clinician, on=TODAY
    ).patient
    event = an_event(coordinator, facility)
    with pytest.raises(ValidationError, match="not in your care"):
        alumni.record_alumni_attendance(actor=coordinator, event=event, patients=[elsewhere])
    assert not AlumniAttendance.objects.exists()


def test_no_attendance_before_the_event_starts_or_once_cancelled(
    coordinator: User, facility: Facility, alumnus: Patient
) -> None:
    later = an_event(coordinator, facility, starts_in=3)
    with pytest.raises(ValidationError, match="not started yet"):
        alumni.record_alumni_attendance(actor=coordinator, event=later, patients=[alumnus])
    alumni.cancel_event(actor=coordinator, event=later)
    with pytest.raises(ValidationError, match="cancelled"):
        alumni.record_alumni_attendance(actor=coordinator, event=later, patients=[alumnus])
    assert not AlumniAttendance.objects.exists()


def test_someone_recorded_then_readmitted_stays_recorded(
    coordinator: User, facility: Facility, program: Program, clinician: User
) -> None:
    first = discharged(facility, program, clinician, on=TODAY, last_name="First")
    second = discharged(facility, program, clinician, on=TODAY, last_name="Second").patient
    event = an_event(coordinator, facility)
    alumni.record_alumni_attendance(actor=coordinator, event=event, patients=[first.patient])
    readmit(first, program, clinician, TODAY + dt.timedelta(days=1))
    alumni.record_alumni_attendance(
        actor=coordinator, event=event, patients=[first.patient, second]
    )
    assert AlumniAttendance.objects.filter(event=event).count() == 2


def test_a_clinician_unticks_only_people_they_can_see(
    coordinator: User,
    facility: Facility,
    program: Program,
    clinician: User,
    make_user: Callable[..., User],
) -> None:
    colleague = make_user(Role.CLINICIAN)
    mine = discharged(facility, program, clinician, on=TODAY, last_name="Mine").patient
    theirs = discharged(facility, program, colleague, on=TODAY, last_name="Theirs").patient
    event = an_event(coordinator, facility)
    alumni.record_alumni_attendance(actor=coordinator, event=event, patients=[mine, theirs])
    alumni.record_alumni_attendance(actor=clinician, event=event, patients=[])
    assert list(AlumniAttendance.objects.values_list("patient_id", flat=True)) == [theirs.pk]
    assert [a.patient for a in alumni.attendance_of(clinician, event)] == []


# --- the roster --------------------------------------------------------------------------------


def test_the_roster_lists_alumni_with_their_latest_outcome(
    coordinator: User, facility: Facility, program: Program, clinician: User
) -> None:
    stepped = discharged(facility, program, clinician, on=TODAY - dt.timedelta(days=70))
    FollowUp.objects.filter(episode=stepped.episode, days_after=30).update(
        status="completed",
        completed_on=TODAY - dt.timedelta(days=40),
        any_use=True,
        days_used_30=4,
        meetings_30=6,
    )
    FollowUp.objects.filter(episode=stepped.episode, days_after=60).update(
        status="completed",
        completed_on=TODAY - dt.timedelta(days=9),
        any_use=False,
        days_used_30=0,
        meetings_30=12,
    )
    came = discharged(
        facility, program, clinician, on=TODAY, step_down="outpatient", last_name="Came"
    )
    discharged(facility, program, clinician, on=TODAY, step_down="outpatient", last_name="Not")
    back = discharged(facility, program, clinician, on=TODAY, last_name="Back")
    event = an_event(coordinator, facility)
    alumni.record_alumni_attendance(actor=coordinator, event=event, patients=[came.patient])
    readmit(back, program, clinician, TODAY + dt.timedelta(days=1))

    rows = alumni.alumni_roster(coordinator, facility)
    assert [r.patient.last_name for r in rows] == ["Came", "Rivera"]
    came_row, stepped_row = rows
    assert (came_row.events_attended, came_row.step_down) == (1, "Standard outpatient (level 1)")
    assert came_row.followup_on is None
    assert stepped_row.discharge_date == TODAY - dt.timedelta(days=70)
    assert (stepped_row.followup_days_after, stepped_row.followup_on) == (
        60,
        TODAY - dt.timedelta(days=9),
    )
    assert (stepped_row.any_use, stepped_row.days_used_30, stepped_row.meetings_30) == (
        False,
        0,
        12,
    )
    assert stepped_row.next_due == TODAY - dt.timedelta(days=70) + dt.timedelta(days=90)


def test_the_roster_costs_the_same_queries_for_2_or_12_alumni(
    coordinator: User,
    facility: Facility,
    program: Program,
    clinician: User,
    django_assert_max_num_queries: Any,
) -> None:
    def add(n: int) -> None:
        for i in range(n):
            discharged(facility, program, clinician, on=TODAY, last_name=f"A{i:02d}")

    add(2)
    with CaptureQueriesContext(connection) as few:
        rows = alumni.alumni_roster(coordinator, facility)
        [(r.events_attended, r.followup_on, r.next_due, r.step_down) for r in rows]
    add(10)
    with django_assert_max_num_queries(1), CaptureQueriesContext(connection) as many:
        rows = alumni.alumni_roster(coordinator, facility)
        [(r.events_attended, r.followup_on, r.next_due, r.step_down) for r in rows]
    assert len(rows) == 12 and len(many) == len(few)


def test_events_of_a_patient(
    coordinator: User, facility: Facility, alumnus: Patient, other_clinician: User
) -> None:
    event = an_event(coordinator, facility)
    an_event(coordinator, facility, title="Another")
    alumni.record_alumni_attendance(actor=coordinator, event=event, patients=[alumnus])
    assert list(alumni.patient_events(coordinator, alumnus)) == [event]
    assert list(alumni.patient_events(other_clinician, alumnus)) == []
