"""Follow-ups after discharge through the public functions of ``openiop.discharge.alumni``: the
due list (window, order, scope, constant queries), contact attempts, outcomes and closing
without an answer — every refusal saves nothing — and the continuing-care settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.discharge import alumni, rules
from openiop.discharge.models import ContactAttempt, Discharge, DischargeSettings, FollowUp
from tests.admissions.factories import episode as episode_row
from tests.admissions.factories import program_with_phases
from tests.factories import CareTeamMemberFactory, PatientFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)  # a Monday


# --- helpers (also used by test_alumni.py and test_views_alumni.py) ----------------------------


def discharged(
    facility: Facility,
    program: Program,
    clinician: User,
    *,
    on: dt.date,
    step_down: str = "alumni",
    days: Sequence[int] = rules.DEFAULT_FOLLOWUP_DAYS,
    last_name: str = "Rivera",
    contact: str = "951-555-0142, evenings",
    agreed: bool = True,
    admitted: dt.date | None = None,
) -> Discharge:
    """A patient admitted 100 days before ``on``, discharged on ``on`` with the follow-ups
    scheduled — written straight to the database, as the discharge service would leave it."""
    patient = PatientFactory.create(
        facility=facility, first_name="Test", last_name=last_name, status="discharged"
    )
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    ep = episode_row(
        patient,
        program,
        clinician,
        admission_date=admitted or on - dt.timedelta(days=100),
        discharge_date=on,
    )
    row = Discharge.objects.create(
        episode=ep,
        patient=patient,
        facility=facility,
        discharge_date=on,
        reason_key="completed_step_down",
        reason=1,
        step_down=step_down,
        followup_agreed=agreed,
        followup_contact=contact,
        created_by=clinician,
    )
    FollowUp.objects.bulk_create(
        FollowUp(episode=ep, patient=patient, facility=facility, days_after=n, due_on=due)
        for n, due in rules.followup_schedule(on, days)
    )
    return row


def due_on(
    facility: Facility,
    program: Program,
    clinician: User,
    due: dt.date,
    *,
    days_after: int = 30,
    **kwargs: Any,
) -> FollowUp:
    """The one follow-up of a new discharge, due on ``due``."""
    d = discharged(
        facility,
        program,
        clinician,
        on=due - dt.timedelta(days=days_after),
        days=(days_after,),
        **kwargs,
    )
    return FollowUp.objects.get(episode=d.episode)


def readmit(d: Discharge, program: Program, clinician: User, on: dt.date) -> None:
    episode_row(d.patient, program, clinician, admission_date=on)


def at(day: dt.date, facility: Facility, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=facility.zone)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def coordinator(make_user: Callable[..., User]) -> User:
    return make_user(Role.ALUMNI_COORDINATOR, email="alumni@example.org")


@pytest.fixture
def fu(facility: Facility, program: Program, clinician: User) -> FollowUp:
    """A 30-day follow-up due on TODAY (discharged 05/16/2026)."""
    return due_on(facility, program, clinician, TODAY)


def names(rows: list[alumni.DueRow]) -> list[str]:
    return [r.patient.last_name for r in rows]


# --- the due list ------------------------------------------------------------------------------


def test_the_window_shows_today_plus_7_and_not_plus_8(
    coordinator: User, facility: Facility, program: Program, clinician: User
) -> None:
    due_on(facility, program, clinician, TODAY + dt.timedelta(days=7), last_name="Seven")
    due_on(facility, program, clinician, TODAY + dt.timedelta(days=8), last_name="Eight")
    assert names(alumni.due_followups(coordinator, facility, today=TODAY)) == ["Seven"]


def test_the_window_follows_the_organization_settings(
    coordinator: User, facility: Facility, program: Program, clinician: User
) -> None:
    DischargeSettings.objects.create(organization=facility.organization, due_window_days=3)
    due_on(facility, program, clinician, TODAY + dt.timedelta(days=3), last_name="Three")
    due_on(facility, program, clinician, TODAY + dt.timedelta(days=4), last_name="Four")
    assert names(alumni.due_followups(coordinator, facility, today=TODAY)) == ["Three"]
    wider = alumni.due_followups(coordinator, facility, today=TODAY, window_days=4)
    assert names(wider) == ["Three", "Four"]


def test_overdue_comes_first_with_its_days(
    coordinator: User, facility: Facility, program: Program, clinician: User
) -> None:
    due_on(facility, program, clinician, TODAY + dt.timedelta(days=3), last_name="Soon")
    due_on(facility, program, clinician, TODAY, last_name="Today")
    due_on(facility, program, clinician, TODAY - dt.timedelta(days=12), last_name="Late")
    rows = alumni.due_followups(coordinator, facility, today=TODAY)
    assert names(rows) == ["Late", "Today", "Soon"]
    assert [(r.overdue_days, r.is_overdue, r.due_in_days) for r in rows] == [
        (12, True, 0),
        (0, False, 0),
        (0, False, 3),
    ]


@pytest.mark.parametrize(
    ("show", "expected"),
    [
        (alumni.SHOW_DUE, ["Late", "Soon"]),
        (alumni.SHOW_OVERDUE, ["Late"]),
        (alumni.SHOW_SOON, ["Soon"]),
        (alumni.SHOW_OPEN, ["Late", "Soon", "Later"]),
    ],
)
def test_the_filters(
    coordinator: User,
    facility: Facility,
    program: Program,
    clinician: User,
    show: str,
    expected: list[str],
) -> None:
    due_on(facility, program, clinician, TODAY - dt.timedelta(days=1), last_name="Late")
    due_on(facility, program, clinician, TODAY + dt.timedelta(days=2), last_name="Soon")
    due_on(facility, program, clinician, TODAY + dt.timedelta(days=40), last_name="Later")
    assert names(alumni.due_followups(coordinator, facility, today=TODAY, show=show)) == expected
    counts = alumni.due_counts(coordinator, facility, today=TODAY, window_days=7)
    assert (counts.overdue, counts.due_soon, counts.open, counts.due) == (1, 1, 3, 2)


def test_closed_follow_ups_and_another_facility_are_absent(
    coordinator: User,
    facility: Facility,
    other_facility: Facility,
    program: Program,
    clinician: User,
    other_clinician: User,
    make_user: Callable[..., User],
) -> None:
    done = due_on(facility, program, clinician, TODAY, last_name="Done")
    FollowUp.objects.filter(pk=done.pk).update(status=FollowUp.Status.COMPLETED)
    elsewhere = program_with_phases(other_facility)
    due_on(other_facility, elsewhere, other_clinician, TODAY, last_name="Elsewhere")
    due_on(facility, program, clinician, TODAY, last_name="Here")
    assert names(alumni.due_followups(coordinator, facility, today=TODAY)) == ["Here"]
    # Even someone working at both facilities sees one facility's list at a time.
    both = make_user(Role.ALUMNI_COORDINATOR, facilities=[facility, other_facility])
    assert names(alumni.due_followups(both, other_facility, today=TODAY)) == ["Elsewhere"]


def test_a_clinician_sees_only_their_caseload(
    facility: Facility, program: Program, clinician: User, make_user: Callable[..., User]
) -> None:
    colleague = make_user(Role.CLINICIAN)
    due_on(facility, program, clinician, TODAY, last_name="Mine")
    due_on(facility, program, colleague, TODAY, last_name="Theirs")
    assert names(alumni.due_followups(clinician, facility, today=TODAY)) == ["Mine"]


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.AUDITOR])
def test_roles_outside_continuing_care_get_an_empty_list(
    make_user: Callable[..., User], facility: Facility, fu: FollowUp, role: str
) -> None:
    assert alumni.due_followups(make_user(role), facility, today=TODAY) == []


def test_a_row_carries_what_the_coordinator_needs(
    coordinator: User, facility: Facility, program: Program, clinician: User, fu: FollowUp
) -> None:
    ContactAttempt.objects.create(
        followup=fu,
        attempted_at=at(TODAY - dt.timedelta(days=2), facility),
        method="phone",
        result="no_answer",
        by=coordinator,
    )
    ContactAttempt.objects.create(
        followup=fu,
        attempted_at=at(TODAY - dt.timedelta(days=1), facility),
        method="text",
        result="left_message",
        by=coordinator,
    )
    readmit(fu.episode.discharge, program, clinician, TODAY - dt.timedelta(days=3))
    [row] = alumni.due_followups(coordinator, facility, today=TODAY)
    assert row.patient.mrn == fu.patient.mrn
    assert row.discharge_date == TODAY - dt.timedelta(days=30)
    assert row.step_down == "Alumni program"
    assert row.days_after == 30 and row.due_on == TODAY
    assert row.attempts == 2
    assert (row.last_method, row.last_result) == ("Text message", "Left a message")
    assert row.last_attempt_at == at(TODAY - dt.timedelta(days=1), facility)
    assert row.contact == "951-555-0142, evenings"
    assert row.readmitted is True


def _fill(facility: Facility, program: Program, clinician: User, n: int, coordinator: User) -> None:
    for i in range(n):
        late = TODAY - dt.timedelta(days=i % 5)
        f = due_on(facility, program, clinician, late, last_name=f"P{i}")
        ContactAttempt.objects.create(
            followup=f,
            attempted_at=at(TODAY - dt.timedelta(days=1), facility),
            method="phone",
            result="no_answer",
            by=coordinator,
        )


def test_the_list_costs_the_same_queries_for_2_or_12_people(
    coordinator: User,
    facility: Facility,
    program: Program,
    clinician: User,
    django_assert_max_num_queries: Any,
) -> None:
    _fill(facility, program, clinician, 2, coordinator)
    with CaptureQueriesContext(connection) as few:
        rows = alumni.due_followups(coordinator, facility, today=TODAY)
        [(r.attempts, r.last_result, r.step_down, r.readmitted, r.contact) for r in rows]
    _fill(facility, program, clinician, 10, coordinator)
    with django_assert_max_num_queries(2), CaptureQueriesContext(connection) as many:
        rows = alumni.due_followups(coordinator, facility, today=TODAY)
        [(r.attempts, r.last_result, r.step_down, r.readmitted, r.contact) for r in rows]
    assert len(rows) == 12
    assert len(many) == len(few)


# --- contact attempts --------------------------------------------------------------------------


def test_it_records_an_attempt_with_an_audit_record(coordinator: User, fu: FollowUp) -> None:
    when = timezone.now() - dt.timedelta(hours=2)
    attempt = alumni.record_attempt(
        actor=coordinator, followup=fu, attempted_at=when, method="phone", result="no_answer"
    )
    assert (attempt.by, attempt.attempted_at, attempt.result) == (coordinator, when, "no_answer")
    event = AuditEvent.objects.get(section="follow-up: contact attempt")
    assert (event.actor, event.patient_id, event.action) == (coordinator, fu.patient_id, "create")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"attempted_at": None}, "attempted_at"),
        ({"attempted_at": "future"}, "attempted_at"),
        ({"attempted_at": "before discharge"}, "attempted_at"),
        ({"method": "pigeon"}, "method"),
        ({"result": "maybe"}, "result"),
        ({"note": "x" * 501}, "note"),
    ],
)
def test_a_bad_attempt_is_refused_and_nothing_saved(
    coordinator: User, fu: FollowUp, changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {
        "attempted_at": timezone.now() - dt.timedelta(hours=1),
        "method": "phone",
        "result": "reached",
        "note": "",
    }
    values.update(changes)
    if values["attempted_at"] == "future":
        values["attempted_at"] = timezone.now() + dt.timedelta(minutes=5)
    elif values["attempted_at"] == "before discharge":
        values["attempted_at"] = at(dt.date(2026, 5, 15), fu.facility)  # discharged 05/16
    with pytest.raises(ValidationError) as refused:
        alumni.record_attempt(actor=coordinator, followup=fu, **values)
    assert field in refused.value.message_dict
    assert not ContactAttempt.objects.exists()
    assert not AuditEvent.objects.filter(section__startswith="follow-up").exists()


def test_no_attempt_on_a_closed_follow_up(coordinator: User, fu: FollowUp) -> None:
    FollowUp.objects.filter(pk=fu.pk).update(status=FollowUp.Status.DECLINED)
    with pytest.raises(ValidationError, match="already closed"):
        alumni.record_attempt(
            actor=coordinator,
            followup=fu,
            attempted_at=timezone.now(),
            method="phone",
            result="reached",
        )
    assert not ContactAttempt.objects.exists()


def test_front_desk_and_outsiders_cannot_record(
    make_user: Callable[..., User], other_clinician: User, fu: FollowUp
) -> None:
    for actor in (make_user(Role.FRONT_DESK), make_user(Role.BILLING), other_clinician):
        with pytest.raises(PermissionDenied):
            alumni.record_attempt(
                actor=actor,
                followup=fu,
                attempted_at=timezone.now(),
                method="phone",
                result="reached",
            )
    assert not ContactAttempt.objects.exists()


# --- outcomes ----------------------------------------------------------------------------------


def outcome(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "completed_on": TODAY,
        "any_use": True,
        "days_used_30": 2,
        "meetings_30": 8,
        "working_or_school": True,
        "housing": "stable",
        "readmitted": False,
        "note": "Doing well, going to a home group.",
        "today": TODAY,
    }
    values.update(changes)
    return values


def test_it_completes_a_follow_up_and_records_the_call(coordinator: User, fu: FollowUp) -> None:
    done = alumni.complete_followup(actor=coordinator, followup=fu, **outcome())
    fu.refresh_from_db()
    assert (fu.status, fu.completed_on, fu.completed_by) == ("completed", TODAY, coordinator)
    assert (fu.any_use, fu.days_used_30, fu.meetings_30) == (True, 2, 8)
    assert (fu.working_or_school, fu.housing, fu.readmitted) == (True, "stable", False)
    assert done.pk == fu.pk
    [attempt] = ContactAttempt.objects.filter(followup=fu)
    assert attempt.result == "reached"
    assert timezone.localtime(attempt.attempted_at, fu.facility.zone).date() == TODAY
    event = AuditEvent.objects.get(section="follow-up: outcome")
    assert event.changes["status"] == ["due", "completed"]


def test_a_reached_attempt_that_day_is_not_repeated(coordinator: User, fu: FollowUp) -> None:
    ContactAttempt.objects.create(
        followup=fu,
        attempted_at=at(TODAY, fu.facility, hour=9),
        method="phone",
        result="reached",
        by=coordinator,
    )
    alumni.complete_followup(actor=coordinator, followup=fu, **outcome())
    assert ContactAttempt.objects.filter(followup=fu).count() == 1


def test_a_past_call_is_recorded_at_noon_of_that_day(coordinator: User, fu: FollowUp) -> None:
    ContactAttempt.objects.create(
        followup=fu,
        attempted_at=at(TODAY, fu.facility, hour=9),
        method="phone",
        result="no_answer",
        by=coordinator,
    )
    yesterday = TODAY - dt.timedelta(days=1)
    alumni.complete_followup(actor=coordinator, followup=fu, **outcome(completed_on=yesterday))
    reached = ContactAttempt.objects.get(followup=fu, result="reached")
    assert reached.attempted_at == at(yesterday, fu.facility, hour=12)


def test_no_use_counts_as_zero_days(coordinator: User, fu: FollowUp) -> None:
    alumni.complete_followup(
        actor=coordinator, followup=fu, **outcome(any_use=False, days_used_30=None)
    )
    fu.refresh_from_db()
    assert (fu.any_use, fu.days_used_30) == (False, 0)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"days_used_30": 31}, "days_used_30", "0 to 30"),
        ({"days_used_30": -1}, "days_used_30", "0 to 30"),
        ({"any_use": False, "days_used_30": 3}, "days_used_30", "must be 0"),
        ({"any_use": True, "days_used_30": None}, "days_used_30", "enter the days"),
        ({"any_use": None}, "any_use", "whether they used"),
        ({"meetings_30": 201}, "meetings_30", "0 to 200"),
        ({"housing": "castle"}, "housing", "housing"),
        ({"completed_on": None}, "completed_on", "Enter the day"),
        ({"completed_on": TODAY + dt.timedelta(days=1)}, "completed_on", "future"),
        ({"completed_on": dt.date(2026, 5, 15)}, "completed_on", "before the discharge"),
    ],
)
def test_a_bad_outcome_is_refused_and_nothing_saved(
    coordinator: User, fu: FollowUp, changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        alumni.complete_followup(actor=coordinator, followup=fu, **outcome(**changes))
    assert words in " ".join(refused.value.message_dict[field])
    fu.refresh_from_db()
    assert (fu.status, fu.completed_on, fu.any_use, fu.days_used_30) == ("due", None, None, None)
    assert not ContactAttempt.objects.exists()
    assert not AuditEvent.objects.filter(section__startswith="follow-up").exists()


def test_the_discharge_day_itself_is_accepted(coordinator: User, fu: FollowUp) -> None:
    alumni.complete_followup(
        actor=coordinator, followup=fu, **outcome(completed_on=dt.date(2026, 5, 16))
    )
    fu.refresh_from_db()
    assert fu.status == "completed"


def test_a_completed_follow_up_is_not_completed_twice(coordinator: User, fu: FollowUp) -> None:
    alumni.complete_followup(actor=coordinator, followup=fu, **outcome())
    with pytest.raises(ValidationError, match="already closed"):
        alumni.complete_followup(actor=coordinator, followup=fu, **outcome(days_used_30=9))
    fu.refresh_from_db()
    assert fu.days_used_30 == 2


# --- closing without an answer -----------------------------------------------------------------


def test_it_closes_a_declined_follow_up_with_the_reason(coordinator: User, fu: FollowUp) -> None:
    alumni.close_followup(
        actor=coordinator,
        followup=fu,
        status="declined",
        note="Asked not to be called.",
        today=TODAY,
    )
    fu.refresh_from_db()
    assert (fu.status, fu.note, fu.completed_on) == ("declined", "Asked not to be called.", TODAY)
    assert AuditEvent.objects.get(section="follow-up: closed").reason == "Asked not to be called."


@pytest.mark.parametrize(
    ("status", "note", "field"),
    [
        ("declined", "   ", "note"),
        ("completed", "done", "status"),
        ("due", "still", "status"),
        ("unreachable", "never tried", "status"),  # no attempt recorded yet
    ],
)
def test_closing_needs_a_reason_and_a_closing_status(
    coordinator: User, fu: FollowUp, status: str, note: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        alumni.close_followup(actor=coordinator, followup=fu, status=status, note=note)
    assert field in refused.value.message_dict
    fu.refresh_from_db()
    assert (fu.status, fu.note) == ("due", "")


def test_unreachable_after_an_attempt(coordinator: User, fu: FollowUp) -> None:
    alumni.record_attempt(
        actor=coordinator,
        followup=fu,
        attempted_at=timezone.now() - dt.timedelta(days=1),
        method="phone",
        result="wrong_number",
    )
    alumni.close_followup(
        actor=coordinator, followup=fu, status="unreachable", note="Number disconnected."
    )
    fu.refresh_from_db()
    assert fu.status == "unreachable"


# --- settings ----------------------------------------------------------------------------------


def settings_values(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "followup_days": [30, 90, 365],
        "negative_test_weeks": 6,
        "full_dose_weeks": 5,
        "meeting_weeks": 8,
        "due_window_days": 10,
    }
    values.update(changes)
    return values


def test_the_director_saves_the_settings(director: User, facility: Facility) -> None:
    row = alumni.save_settings(
        actor=director, organization=facility.organization, **settings_values()
    )
    assert row.followup_days == [30, 90, 365]
    assert (row.negative_test_weeks, row.full_dose_weeks, row.meeting_weeks) == (6, 5, 8)
    assert row.due_window_days == 10 and row.updated_by == director
    assert alumni.settings_of(facility.organization).pk == row.pk
    event = AuditEvent.objects.get(section="continuing-care settings")
    assert event.changes["followup_days"] == [None, [30, 90, 365]]
    again = alumni.save_settings(
        actor=director, organization=facility.organization, **settings_values(due_window_days=3)
    )
    assert again.pk == row.pk and DischargeSettings.objects.count() == 1
    last = AuditEvent.objects.filter(section="continuing-care settings").latest("id")
    assert last.changes == {"due_window_days": [10, 3]}


def test_defaults_without_a_saved_row(facility: Facility) -> None:
    row = alumni.settings_of(facility.organization)
    assert row.pk is None
    assert row.followup_days == [30, 60, 90, 180, 365] and row.due_window_days == 7


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"followup_days": []}, "followup_days"),
        ({"followup_days": [30, 30]}, "followup_days"),
        ({"followup_days": [0, 30]}, "followup_days"),
        ({"followup_days": [30, 4000]}, "followup_days"),
        ({"negative_test_weeks": 0}, "negative_test_weeks"),
        ({"full_dose_weeks": 53}, "full_dose_weeks"),
        ({"meeting_weeks": None}, "meeting_weeks"),
        ({"due_window_days": 61}, "due_window_days"),
        ({"due_window_days": -1}, "due_window_days"),
    ],
)
def test_bad_settings_are_refused_and_nothing_saved(
    director: User, facility: Facility, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        alumni.save_settings(
            actor=director, organization=facility.organization, **settings_values(**changes)
        )
    assert field in refused.value.message_dict
    assert not DischargeSettings.objects.exists()


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.ALUMNI_COORDINATOR, Role.FRONT_DESK])
def test_only_directors_and_administrators_change_the_settings(
    make_user: Callable[..., User], facility: Facility, role: str
) -> None:
    with pytest.raises(PermissionDenied):
        alumni.save_settings(
            actor=make_user(role), organization=facility.organization, **settings_values()
        )
    assert not DischargeSettings.objects.exists()


def test_administrator_saves_too(administrator: User, facility: Facility) -> None:
    alumni.save_settings(
        actor=administrator, organization=facility.organization, **settings_values()
    )
    assert DischargeSettings.objects.get().updated_by == administrator
