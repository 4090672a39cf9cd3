"""The continuing-care pages through the test client: who may open them (coordinator 200,
front desk and billing 403 with the refusal audited, an outsider 404), the due list (window,
overdue first, audit, constant queries), the follow-up's forms, alumni events and the settings
— bad input shows its message and saves nothing. Dates follow the facility's real today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.discharge import alumni
from openiop.discharge.models import (
    AlumniAttendance,
    AlumniEvent,
    ContactAttempt,
    DischargeSettings,
    FollowUp,
)
from tests.admissions.factories import program_with_phases
from tests.conftest import body, signed_in
from tests.discharge.test_followups import discharged, due_on

pytestmark = pytest.mark.django_db

DUE = reverse("discharge:followups")
EVENTS = reverse("discharge:alumni_events")
EVENT_NEW = reverse("discharge:alumni_event_new")
SETTINGS = reverse("discharge:settings")


def today_at(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


@pytest.fixture
def coordinator(make_user: Callable[..., User]) -> User:
    return make_user(Role.ALUMNI_COORDINATOR, email="alumni@example.org")


@pytest.fixture
def coordinator_client(coordinator: User) -> Client:
    return signed_in(coordinator)


@pytest.fixture
def fu(facility: Facility, program: Program, clinician: User) -> FollowUp:
    """A 30-day follow-up due today (real today, facility time)."""
    return due_on(facility, program, clinician, today_at(facility), last_name="Okafor")


@pytest.fixture
def event(coordinator: User, facility: Facility) -> AlumniEvent:
    now = timezone.now()
    return alumni.create_event(
        actor=coordinator,
        facility=facility,
        kind="group",
        title="Thursday alumni group",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(minutes=30),
        location="Room B",
        description="",
    )


def pages(fu: FollowUp, event: AlumniEvent) -> list[str]:
    return [
        DUE,
        reverse("discharge:followup", args=[fu.pk]),
        EVENTS,
        EVENT_NEW,
        reverse("discharge:alumni_event", args=[event.pk]),
    ]


# --- who may open what -------------------------------------------------------------------------


def test_the_coordinator_opens_every_page_but_the_settings(
    coordinator_client: Client, fu: FollowUp, event: AlumniEvent
) -> None:
    for url in pages(fu, event):
        assert coordinator_client.get(url).status_code == 200, url
    assert coordinator_client.get(SETTINGS).status_code == 403


def test_the_clinician_opens_the_pages_of_their_caseload(
    clinician_client: Client, fu: FollowUp, event: AlumniEvent
) -> None:
    for url in pages(fu, event):
        assert clinician_client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.ADMISSIONS, Role.AUDITOR])
def test_roles_outside_continuing_care_get_403_and_the_refusal_is_audited(
    make_user: Callable[..., User], fu: FollowUp, event: AlumniEvent, role: str
) -> None:
    user = make_user(role)
    client = signed_in(user)
    for url in [*pages(fu, event), SETTINGS]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Okafor" not in body(response)
    assert AuditEvent.objects.filter(actor=user, action="denied").count() == 6
    response = client.post(
        reverse("discharge:followup", args=[fu.pk]),
        {"form": "close", "close-status": "declined", "close-note": "No."},
    )
    assert response.status_code == 403
    fu.refresh_from_db()
    assert fu.status == "due"


def test_an_outsider_gets_404_with_the_refusal_audited(
    make_user: Callable[..., User],
    other_facility: Facility,
    other_clinician: User,
    fu: FollowUp,
    event: AlumniEvent,
) -> None:
    outsider = make_user(Role.ALUMNI_COORDINATOR, facilities=[other_facility])
    for user in (outsider, other_clinician):
        client = signed_in(user)
        assert client.get(reverse("discharge:followup", args=[fu.pk])).status_code == 404
        assert client.get(reverse("discharge:alumni_event", args=[event.pk])).status_code == 404
        assert AuditEvent.objects.filter(actor=user, action="denied").count() == 2
        response = client.post(
            reverse("discharge:followup", args=[fu.pk]),
            {"form": "close", "close-status": "declined", "close-note": "No."},
        )
        assert response.status_code == 404
    fu.refresh_from_db()
    assert fu.status == "due"
    # Their own list is empty of this facility's people.
    assert "Okafor" not in body(signed_in(outsider).get(DUE))


def test_a_clinician_not_caring_for_the_person_gets_404(
    make_user: Callable[..., User], fu: FollowUp
) -> None:
    colleague = make_user(Role.CLINICIAN)
    assert signed_in(colleague).get(reverse("discharge:followup", args=[fu.pk])).status_code == 404


def test_it_asks_to_sign_in(client: Client) -> None:
    response = client.get(DUE)
    assert response.status_code == 302 and "login" in response["Location"]


# --- the due list ------------------------------------------------------------------------------


def test_the_list_shows_the_window_overdue_first_and_audits_each_person(
    coordinator_client: Client,
    coordinator: User,
    facility: Facility,
    program: Program,
    clinician: User,
) -> None:
    today = today_at(facility)
    due_on(facility, program, clinician, today + days(7), last_name="Seven")
    due_on(facility, program, clinician, today + days(8), last_name="Eight")
    late = due_on(facility, program, clinician, today - days(4), last_name="Late")
    page = body(coordinator_client.get(DUE))
    assert "Seven" in page and "Late" in page and "Eight" not in page
    assert page.index("Late") < page.index("Seven")
    assert "Overdue 4 days" in page and 'class="is-overdue"' in page
    assert f'href="{reverse("discharge:followup", args=[late.pk])}"' in page
    assert "951-555-0142, evenings" in page
    shown = AuditEvent.objects.filter(actor=coordinator, section="follow-ups due")
    assert shown.count() == 2 and set(shown.values_list("action", flat=True)) == {"view"}
    assert set(shown.values_list("facility_id", flat=True)) == {facility.pk}


def test_the_overdue_filter_and_the_counts(
    coordinator_client: Client, facility: Facility, program: Program, clinician: User
) -> None:
    today = today_at(facility)
    due_on(facility, program, clinician, today - days(1), last_name="Late")
    due_on(facility, program, clinician, today + days(2), last_name="Soon")
    page = body(coordinator_client.get(DUE, {"show": "overdue"}))
    assert "Late" in page and "Soon" not in page
    assert '<span class="stat-value">1</span><span class="stat-label">overdue' in page
    everything = body(coordinator_client.get(DUE, {"show": "open"}))
    assert "Late" in everything and "Soon" in everything


def test_an_empty_list_says_so_and_is_audited(
    coordinator_client: Client, coordinator: User
) -> None:
    page = body(coordinator_client.get(DUE))
    assert "No follow-ups are due in the next 7 days" in page
    event = AuditEvent.objects.get(actor=coordinator, section="follow-ups due")
    assert event.detail["results"] == 0


def _fill(facility: Facility, program: Program, clinician: User, n: int) -> None:
    today = today_at(facility)
    for i in range(n):
        f = due_on(facility, program, clinician, today - days(i % 6), last_name=f"Due{i:02d}")
        ContactAttempt.objects.create(
            followup=f,
            attempted_at=timezone.now() - dt.timedelta(hours=3),
            method="phone",
            result="no_answer",
            by=clinician,
        )


def test_the_list_costs_the_same_queries_for_2_or_12_people(
    coordinator_client: Client,
    facility: Facility,
    program: Program,
    clinician: User,
    django_assert_max_num_queries: Any,
) -> None:
    _fill(facility, program, clinician, 2)
    coordinator_client.get(DUE)  # the session's first page does a little more
    with CaptureQueriesContext(connection) as few:
        assert coordinator_client.get(DUE).status_code == 200
    _fill(facility, program, clinician, 10)
    with django_assert_max_num_queries(len(few)), CaptureQueriesContext(connection) as many:
        page = body(coordinator_client.get(DUE))
    assert page.count("Last: Phone call, no answer") == 12
    assert len(many) == len(few)


def test_the_alumni_page_costs_the_same_queries_for_2_or_12_alumni(
    coordinator_client: Client,
    facility: Facility,
    program: Program,
    clinician: User,
    event: AlumniEvent,
    django_assert_max_num_queries: Any,
) -> None:
    today = today_at(facility)

    def add(n: int) -> None:
        for i in range(n):
            discharged(facility, program, clinician, on=today - days(40), last_name=f"Al{i:02d}")

    add(2)
    coordinator_client.get(EVENTS)
    with CaptureQueriesContext(connection) as few:
        coordinator_client.get(EVENTS)
    add(10)
    with django_assert_max_num_queries(len(few)):
        page = body(coordinator_client.get(EVENTS))
    assert page.count("MRN ") == 12


# --- one follow-up -----------------------------------------------------------------------------


def url_of(fu: FollowUp) -> str:
    return reverse("discharge:followup", args=[fu.pk])


def test_the_page_shows_the_header_facts_and_audits_the_opening(
    coordinator_client: Client, coordinator: User, fu: FollowUp
) -> None:
    page = body(coordinator_client.get(url_of(fu)))
    assert "Test Okafor: 30-day follow-up" in page
    assert "Completed IOP, stepping down to less care" in page
    assert "Alumni program" in page and "951-555-0142, evenings" in page
    assert "Record a contact attempt" in page and "Record the outcome" in page
    assert "Close without an answer" in page
    # The coordinator sees no link to the clinical summary.
    assert "discharge summary" not in page
    event = AuditEvent.objects.get(actor=coordinator, section="follow-up")
    assert (event.patient_id, event.action) == (fu.patient_id, "view")


def test_it_records_an_attempt(coordinator_client: Client, fu: FollowUp) -> None:
    when = timezone.localtime(timezone.now() - dt.timedelta(hours=1), fu.facility.zone)
    response = coordinator_client.post(
        url_of(fu),
        {
            "form": "attempt",
            "attempt-attempted_at": when.strftime("%Y-%m-%dT%H:%M"),
            "attempt-method": "phone",
            "attempt-result": "left_message",
            "attempt-note": "Voicemail.",
        },
    )
    assert response.status_code == 302
    attempt = ContactAttempt.objects.get()
    assert (attempt.result, attempt.note) == ("left_message", "Voicemail.")
    assert "Left a message" in body(coordinator_client.get(url_of(fu)))


def test_an_attempt_in_the_future_is_refused_with_its_message(
    coordinator_client: Client, fu: FollowUp
) -> None:
    later = timezone.localtime(timezone.now() + dt.timedelta(hours=2), fu.facility.zone)
    response = coordinator_client.post(
        url_of(fu),
        {
            "form": "attempt",
            "attempt-attempted_at": later.strftime("%Y-%m-%dT%H:%M"),
            "attempt-method": "phone",
            "attempt-result": "reached",
        },
    )
    page = body(response)
    assert response.status_code == 200
    assert "Nothing was saved" in page and "in the future" in page
    assert not ContactAttempt.objects.exists()


def test_it_records_the_outcome(coordinator_client: Client, fu: FollowUp) -> None:
    today = today_at(fu.facility)
    response = coordinator_client.post(
        url_of(fu),
        {
            "form": "outcome",
            "outcome-completed_on": today.isoformat(),
            "outcome-method": "phone",
            "outcome-any_use": "no",
            "outcome-days_used_30": "",
            "outcome-meetings_30": "12",
            "outcome-working_or_school": "yes",
            "outcome-housing": "recovery_residence",
            "outcome-readmitted": "",
            "outcome-note": "Sponsor, home group.",
        },
    )
    assert response.status_code == 302
    fu.refresh_from_db()
    assert (fu.status, fu.any_use, fu.days_used_30, fu.meetings_30) == ("completed", False, 0, 12)
    assert (fu.working_or_school, fu.housing, fu.readmitted) == (True, "recovery_residence", None)
    assert ContactAttempt.objects.get().result == "reached"
    page = body(coordinator_client.get(url_of(fu)))
    assert "Record the outcome" not in page and "Recovery residence" in page


def test_no_use_with_days_of_use_is_refused(coordinator_client: Client, fu: FollowUp) -> None:
    response = coordinator_client.post(
        url_of(fu),
        {
            "form": "outcome",
            "outcome-completed_on": today_at(fu.facility).isoformat(),
            "outcome-method": "phone",
            "outcome-any_use": "no",
            "outcome-days_used_30": "3",
        },
    )
    page = body(response)
    assert response.status_code == 200
    assert "Nothing was saved" in page and "must be 0" in page
    fu.refresh_from_db()
    assert fu.status == "due" and not ContactAttempt.objects.exists()


def test_days_of_use_above_30_are_refused_by_the_form(
    coordinator_client: Client, fu: FollowUp
) -> None:
    page = body(
        coordinator_client.post(
            url_of(fu),
            {
                "form": "outcome",
                "outcome-completed_on": today_at(fu.facility).isoformat(),
                "outcome-method": "phone",
                "outcome-any_use": "yes",
                "outcome-days_used_30": "45",
            },
        )
    )
    assert "Days of use in the past 30 are 0 to 30." in page
    fu.refresh_from_db()
    assert fu.status == "due"


def test_closing_needs_a_reason(coordinator_client: Client, fu: FollowUp) -> None:
    page = body(
        coordinator_client.post(
            url_of(fu), {"form": "close", "close-status": "declined", "close-note": ""}
        )
    )
    assert "Say why in a few words." in page
    fu.refresh_from_db()
    assert fu.status == "due"
    response = coordinator_client.post(
        url_of(fu), {"form": "close", "close-status": "declined", "close-note": "Not interested."}
    )
    assert response.status_code == 302
    fu.refresh_from_db()
    assert (fu.status, fu.note) == ("declined", "Not interested.")


# --- alumni events -----------------------------------------------------------------------------


def test_it_adds_an_event(coordinator_client: Client, facility: Facility) -> None:
    start = timezone.localtime(timezone.now() + dt.timedelta(days=3), facility.zone)
    response = coordinator_client.post(
        EVENT_NEW,
        {
            "kind": "event",
            "title": "Summer picnic",
            "starts_at": start.strftime("%Y-%m-%dT12:00"),
            "ends_at": start.strftime("%Y-%m-%dT15:00"),
            "location": "Harbor Park",
            "description": "",
        },
    )
    created = AlumniEvent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("discharge:alumni_event", args=[created.pk])
    assert timezone.localtime(created.starts_at, facility.zone).hour == 12
    assert "Summer picnic" in body(coordinator_client.get(EVENTS))


def test_an_event_ending_before_it_starts_is_refused(
    coordinator_client: Client, facility: Facility
) -> None:
    start = timezone.localtime(timezone.now() + dt.timedelta(days=3), facility.zone)
    page = body(
        coordinator_client.post(
            EVENT_NEW,
            {
                "kind": "group",
                "title": "Alumni group",
                "starts_at": start.strftime("%Y-%m-%dT18:00"),
                "ends_at": start.strftime("%Y-%m-%dT17:00"),
            },
        )
    )
    assert "Nothing was saved" in page and "It must end after it starts." in page
    assert not AlumniEvent.objects.exists()


def test_it_records_who_came_and_refuses_someone_in_treatment(
    coordinator_client: Client,
    facility: Facility,
    program: Program,
    clinician: User,
    event: AlumniEvent,
    episode: EpisodeOfCare,
) -> None:
    alum = discharged(facility, program, clinician, on=today_at(facility) - days(45)).patient
    url = reverse("discharge:alumni_event", args=[event.pk])
    page = body(coordinator_client.get(url))
    assert f'value="{alum.pk}"' in page and episode.patient.mrn not in page
    refused = coordinator_client.post(
        url, {"form": "attendance", "patients": [alum.pk], "add_mrn": episode.patient.mrn}
    )
    assert "Nothing was saved" in body(refused)
    assert not AlumniAttendance.objects.exists()
    response = coordinator_client.post(url, {"form": "attendance", "patients": [alum.pk]})
    assert response.status_code == 302
    assert list(AlumniAttendance.objects.values_list("patient_id", flat=True)) == [alum.pk]


def test_an_alumnus_is_added_by_mrn(
    coordinator_client: Client,
    facility: Facility,
    program: Program,
    clinician: User,
    event: AlumniEvent,
) -> None:
    other = discharged(
        facility, program, clinician, on=today_at(facility), step_down="outpatient"
    ).patient
    url = reverse("discharge:alumni_event", args=[event.pk])
    assert other.mrn not in body(coordinator_client.get(url))  # not on the roster yet
    response = coordinator_client.post(url, {"form": "attendance", "add_mrn": other.mrn})
    assert response.status_code == 302
    assert AlumniAttendance.objects.get().patient == other


def test_cancelling_asks_for_the_confirmation(
    coordinator_client: Client, coordinator: User, facility: Facility
) -> None:
    start = timezone.now() + dt.timedelta(days=2)
    later = alumni.create_event(
        actor=coordinator,
        facility=facility,
        kind="group",
        title="Next week",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )
    url = reverse("discharge:alumni_event", args=[later.pk])
    page = body(coordinator_client.post(url, {"form": "cancel"}))
    assert "Tick the box to confirm the cancellation." in page
    later.refresh_from_db()
    assert not later.cancelled
    response = coordinator_client.post(url, {"form": "cancel", "confirm": "on", "reason": "Rain"})
    assert response.status_code == 302
    later.refresh_from_db()
    assert later.cancelled


# --- settings ----------------------------------------------------------------------------------


def test_the_director_changes_the_settings(
    director_client: Client, facility: Facility, director: User
) -> None:
    page = body(director_client.get(SETTINGS))
    assert "30, 60, 90, 180, 365" in page
    assert "Changes apply to people discharged after you save" in page
    response = director_client.post(
        SETTINGS,
        {
            "followup_days": "30; 90, 365",
            "due_window_days": "10",
            "negative_test_weeks": "4",
            "full_dose_weeks": "6",
            "meeting_weeks": "4",
        },
    )
    assert response.status_code == 302
    row = DischargeSettings.objects.get(organization=facility.organization)
    assert (row.followup_days, row.due_window_days, row.full_dose_weeks) == ([30, 90, 365], 10, 6)
    assert row.updated_by == director


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"followup_days": "30, abc"}, "“abc” is not a number of days."),
        ({"followup_days": "30, 30"}, "Each follow-up day once, please."),
        ({"followup_days": ""}, "Enter at least one follow-up day"),
        ({"due_window_days": "90"}, "Show follow-ups 0 to 60 days before they are due."),
        ({"meeting_weeks": "0"}, "Weeks of meetings are 1 to 52."),
    ],
)
def test_bad_settings_show_their_message_and_save_nothing(
    director_client: Client, changes: dict[str, str], message: str
) -> None:
    data = {
        "followup_days": "30, 60",
        "due_window_days": "7",
        "negative_test_weeks": "4",
        "full_dose_weeks": "4",
        "meeting_weeks": "4",
    }
    data.update(changes)
    page = body(director_client.post(SETTINGS, data))
    assert "Nothing was saved" in page and message in page
    assert not DischargeSettings.objects.exists()


def test_the_administrator_opens_the_settings(admin_client_: Client) -> None:
    assert admin_client_.get(SETTINGS).status_code == 200


# --- the nightly counts ------------------------------------------------------------------------


def test_the_command_prints_counts_and_no_names(
    facility: Facility,
    other_facility: Facility,
    program: Program,
    clinician: User,
    other_clinician: User,
) -> None:
    today = today_at(facility)
    due_on(facility, program, clinician, today - days(3), last_name="Okafor")
    due_on(facility, program, clinician, today + days(5), last_name="Nguyen")
    due_on(facility, program, clinician, today + days(30), last_name="Later")
    due_on(other_facility, program_with_phases(other_facility), other_clinician, today)
    out = StringIO()
    call_command("discharge_followups_due", stdout=out)
    text = out.getvalue()
    assert "HTF Harbor Test Facility: 1 overdue, 1 due in the next 7 days" in text
    assert "OTF Other Test Facility: 0 overdue, 1 due in the next 7 days" in text
    assert "All facilities: 1 overdue, 2 due soon." in text
    for name in ("Okafor", "Nguyen", "Later", "Rivera", "T-1"):
        assert name not in text
