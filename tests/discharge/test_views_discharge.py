"""The discharge pages through the test client: discharging (the 90-day question, the offer to
cancel what is still booked), the summary (complete, refresh, sign, locked), the PDF, and
referrals — the role check (403, audited), the chart scope (404, audited), field messages with
nothing saved, and a constant number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.discharge import printing, services
from openiop.discharge.models import Discharge, FollowUp, Referral
from openiop.patients.consent_rules import PART2_NOTICE
from openiop.scheduling import services as scheduling
from openiop.scheduling.models import Appointment
from tests.admissions.factories import episode as episode_row
from tests.conftest import body, signed_in
from tests.factories import PASSWORD, CareTeamMemberFactory, PatientFactory

pytestmark = pytest.mark.django_db


def today_at(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def in_care(
    facility: Facility, program: Program, clinician: User, *, days: int = 120, name: str = "Rivera"
) -> EpisodeOfCare:
    """An open episode admitted ``days`` days before today (today is day ``days + 1``)."""
    patient = PatientFactory.create(facility=facility, first_name="Sam", last_name=name)
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    admitted = today_at(facility) - dt.timedelta(days=days)
    return episode_row(patient, program, clinician, admission_date=admitted)


@pytest.fixture
def ep(facility: Facility, program: Program, clinician: User) -> EpisodeOfCare:
    return in_care(facility, program, clinician)


def new_url(ep: EpisodeOfCare) -> str:
    return f"/discharge/patients/{ep.patient_id}/discharge/"


def form_data(ep: EpisodeOfCare, **changes: Any) -> dict[str, Any]:
    today = today_at(ep.facility).isoformat()
    data: dict[str, Any] = {
        "discharge_date": today,
        "listed_for": today,
        "reason_key": "completed_step_down",
        "reason_detail": "",
        "step_down": "aftercare",
        "step_down_provider": "Harbor aftercare group",
        "step_down_date": "",
        "followup_agreed": "on",
        "followup_contact": "(555) 010-0142, evenings",
        "cancel_future": "on",
        "teds_freq1_d": "1",
        "teds_employ_d": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def discharged(clinician: User, ep: EpisodeOfCare, **kwargs: Any) -> Discharge:
    values: dict[str, Any] = {
        "discharge_date": today_at(ep.facility),
        "reason_key": "completed",
        "step_down": "alumni",
    }
    values.update(kwargs)
    return services.discharge_patient(actor=clinician, episode=ep, **values)


def book(clinician: User, ep: EpisodeOfCare, days_ahead: int, hour: int = 11) -> Appointment:
    return scheduling.book_appointment(
        actor=clinician,
        episode=ep,
        kind="individual",
        staff=clinician,
        day=today_at(ep.facility) + dt.timedelta(days=days_ahead),
        start=dt.time(hour, 0),
        telehealth=True,
    )


# --- the discharge page -----------------------------------------------------------------------


def test_the_page_shows_the_day_in_treatment_and_is_audited(
    clinician: User, ep: EpisodeOfCare
) -> None:
    page = body(signed_in(clinician).get(new_url(ep)))
    assert "Today is day <strong>121</strong> in treatment" in page
    assert "State reporting (TEDS) at discharge" in page
    assert "TEDS REASON 1" in page  # the code in small print beside the words
    assert "Left against clinical advice" in page
    assert "data-early hidden" in page  # not early: the warning is hidden
    event = AuditEvent.objects.filter(patient=ep.patient, action="view").latest("id")
    assert event.section == "discharge"


def test_a_discharge_goes_to_its_summary(clinician: User, ep: EpisodeOfCare) -> None:
    client = signed_in(clinician)
    response = client.post(new_url(ep), form_data(ep))
    done = Discharge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/discharge/summaries/{done.pk}/"
    ep.refresh_from_db()
    assert ep.discharge_date == today_at(ep.facility)
    assert (done.reason, done.step_down, done.teds_freq1_d, done.teds_employ_d) == (
        1,
        "aftercare",
        1,
        None,
    )
    assert FollowUp.objects.filter(episode=ep).count() == 5
    page = body(client.get(response["Location"]))
    assert "5 follow-up calls scheduled" in page
    assert "Draft." in page


def test_an_early_discharge_shows_the_warning_and_asks_why(
    clinician: User, facility: Facility, program: Program
) -> None:
    early = in_care(facility, program, clinician, days=40)
    client = signed_in(clinician)
    page = body(client.get(new_url(early)))
    assert "Day <span data-early-day>41</span> is before day 90." in page
    assert "data-early hidden" not in page
    response = client.post(new_url(early), form_data(early, reason_key="stopped_attending"))
    assert response.status_code == 200
    page = body(response)
    assert "Nothing was saved." in page
    assert "This discharge is on day 41, before day 90. Say why" in page
    assert not Discharge.objects.exists()
    early.refresh_from_db()
    assert early.discharge_date is None
    response = client.post(
        new_url(early),
        form_data(
            early,
            reason_key="stopped_attending",
            early_reason="Lost childcare for the day track.",
            continuing_care="Evening outpatient group twice a week.",
        ),
    )
    assert response.status_code == 302
    assert Discharge.objects.get().early_reason == "Lost childcare for the day track."


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"discharge_date": "2020-01-01"}, "discharge_date", "is before the admission on"),
        ({"discharge_date": "2999-01-01"}, "discharge_date", "The discharge date is in the future"),
        ({"reason_key": ""}, "reason_key", "Choose the reason for the discharge."),
        ({"step_down": ""}, "step_down", "Choose the next step of care decided with the person."),
        ({"teds_freq1_d": "9"}, "teds_freq1_d", "Select a valid choice"),
    ],
)
def test_refusals_show_field_messages_and_save_nothing(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, str], field: str, message: str
) -> None:
    response = signed_in(clinician).post(new_url(ep), form_data(ep, **changes))
    assert response.status_code == 200
    page = body(response)
    assert message in page
    assert f'href="#id_{field}' in page  # the summary links to the field
    assert not Discharge.objects.exists()
    assert not FollowUp.objects.exists()
    ep.refresh_from_db()
    assert ep.discharge_date is None


def test_future_appointments_are_offered_and_cancelled_when_kept_checked(
    clinician: User, ep: EpisodeOfCare
) -> None:
    later = book(clinician, ep, 5)
    client = signed_in(clinician)
    page = body(client.get(new_url(ep)))
    assert "is still booked for" in page
    assert "Individual therapy on" in page
    assert "Cancel these and end group enrollments" in page
    assert '<input type="checkbox" name="cancel_future" id="id_cancel_future" checked>' in page
    response = client.post(new_url(ep), form_data(ep))
    assert response.status_code == 302
    assert Appointment.objects.get(pk=later.pk).status == Appointment.Status.CANCELLED
    assert "1 appointment cancelled" in body(client.get(response["Location"]))


def test_future_appointments_are_kept_when_unchecked(clinician: User, ep: EpisodeOfCare) -> None:
    later = book(clinician, ep, 5)
    response = signed_in(clinician).post(new_url(ep), form_data(ep, cancel_future=None))
    assert response.status_code == 302
    assert Appointment.objects.get(pk=later.pk).status == Appointment.Status.SCHEDULED


def test_a_list_shown_for_another_date_is_shown_again_before_cancelling(
    clinician: User, ep: EpisodeOfCare
) -> None:
    soon = book(clinician, ep, 1)
    yesterday = (today_at(ep.facility) - dt.timedelta(days=3)).isoformat()
    client = signed_in(clinician)
    response = client.post(new_url(ep), form_data(ep, discharge_date=yesterday))
    assert response.status_code == 200
    page = body(response)
    assert "Check it, then discharge again." in page
    assert f'name="listed_for" value="{yesterday}"' in page
    assert not Discharge.objects.exists()
    assert Appointment.objects.get(pk=soon.pk).status == Appointment.Status.SCHEDULED
    response = client.post(
        new_url(ep), form_data(ep, discharge_date=yesterday, listed_for=yesterday)
    )
    assert response.status_code == 302
    assert Appointment.objects.get(pk=soon.pk).status == Appointment.Status.CANCELLED


def test_htmx_lists_what_is_booked_after_the_date_typed(clinician: User, ep: EpisodeOfCare) -> None:
    book(clinician, ep, 3)
    client = signed_in(clinician)
    later = (today_at(ep.facility) + dt.timedelta(days=10)).isoformat()
    page = body(client.get(f"{new_url(ep)}?commitments=1&discharge_date={later}"))
    assert page.lstrip().startswith('<fieldset class="commitments" id="commitments">')
    assert "Nothing is booked after" in page
    page = body(client.get(f"{new_url(ep)}?commitments=1&discharge_date="))
    assert "Individual therapy on" in page


def test_a_discharged_patient_is_sent_to_the_summary(clinician: User, ep: EpisodeOfCare) -> None:
    done = discharged(clinician, ep)
    response = signed_in(clinician).get(new_url(ep))
    assert response.status_code == 302
    assert response["Location"] == f"/discharge/summaries/{done.pk}/"
    response = signed_in(clinician).post(new_url(ep), form_data(ep))
    assert response.status_code == 302
    assert Discharge.objects.count() == 1


def test_the_discharge_page_costs_the_same_with_more_bookings(
    clinician: User, ep: EpisodeOfCare, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(clinician)
    book(clinician, ep, 2)
    book(clinician, ep, 3)
    client.get(new_url(ep))
    with CaptureQueriesContext(connection) as few:
        assert client.get(new_url(ep)).status_code == 200
    for n in range(4, 12):
        book(clinician, ep, n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = body(client.get(new_url(ep)))
    assert page.count("Individual therapy on") == 10


# --- the summary ------------------------------------------------------------------------------


def summary_url(done: Discharge) -> str:
    return f"/discharge/summaries/{done.pk}/"


TEXTS = {
    "summary-course": "Attended 3 groups a week; built a relapse-prevention plan.",
    "summary-condition": "Sober 70 days, mood stable, no risk indicators.",
    "summary-recommendations": "Alumni group weekly; AA three times a week.",
}


def test_the_summary_shows_the_facts_and_saves_the_texts(
    clinician: User, ep: EpisodeOfCare
) -> None:
    done = discharged(clinician, ep)
    client = signed_in(clinician)
    page = body(client.get(summary_url(done)))
    assert "Facts of the stay" in page
    assert "TEDS LOS code 34" in page  # 120 days: 91–120
    assert "Completed treatment" in page and "TEDS REASON 1" in page
    assert "30 days" in page  # the follow-ups
    response = client.post(summary_url(done), {"action": "save", **TEXTS})
    assert response.status_code == 302
    assert Discharge.objects.get().course == TEXTS["summary-course"]
    event = AuditEvent.objects.filter(action="view", patient=ep.patient).latest("id")
    assert event.section == "discharge summary"


def test_refresh_saves_and_gathers_the_facts_again(clinician: User, ep: EpisodeOfCare) -> None:
    done = discharged(clinician, ep)
    Discharge.objects.filter(pk=done.pk).update(facts={})
    signed_in(clinician).post(summary_url(done), {"action": "refresh", **TEXTS})
    assert Discharge.objects.get().facts["los_code"] == 34


def test_signing_needs_the_texts_and_the_password(clinician: User, ep: EpisodeOfCare) -> None:
    done = discharged(clinician, ep)
    client = signed_in(clinician)
    page = body(client.get(summary_url(done)))
    assert "Write the course of treatment before signing." in page
    response = client.post(summary_url(done), {"action": "sign", "sign-password": PASSWORD})
    assert response.status_code == 200
    assert "The summary is not signed." in body(response)
    client.post(summary_url(done), {"action": "save", **TEXTS})
    response = client.post(summary_url(done), {"action": "sign", "sign-password": "wrong"})
    assert response.status_code == 200
    assert not Discharge.objects.get().is_signed
    response = client.post(summary_url(done), {"action": "sign", "sign-password": PASSWORD})
    assert response.status_code == 302
    assert Discharge.objects.get().is_signed
    page = body(client.get(summary_url(done)))
    assert "The summary is locked and can no longer change." in page
    assert 'name="action" value="save"' not in page
    response = client.post(summary_url(done), {"action": "save", **TEXTS, "summary-course": "x"})
    assert response.status_code == 302
    assert "A signed discharge cannot change." in body(client.get(summary_url(done)))
    assert Discharge.objects.get().course == TEXTS["summary-course"]


def test_the_details_can_be_corrected_while_unsigned(clinician: User, ep: EpisodeOfCare) -> None:
    done = discharged(clinician, ep)
    data = {
        "action": "details",
        "details-discharge_date": (today_at(ep.facility) - dt.timedelta(days=2)).isoformat(),
        "details-reason_key": "transferred_out",
        "details-step_down": "outpatient",
        "details-followup_agreed": "on",
    }
    response = signed_in(clinician).post(summary_url(done), data)
    assert response.status_code == 302
    changed = Discharge.objects.get()
    assert (changed.reason, changed.step_down) == (4, "outpatient")
    ep.refresh_from_db()
    assert ep.discharge_date == today_at(ep.facility) - dt.timedelta(days=2)
    bad = {**data, "details-discharge_date": "2020-01-01"}
    response = signed_in(clinician).post(summary_url(done), bad)
    assert response.status_code == 200
    assert "The discharge is not changed." in body(response)


def _referrals(clinician: User, ep: EpisodeOfCare, n: int) -> None:
    for i in range(n):
        services.add_referral(
            actor=clinician, episode=ep, kind="medical", provider=f"Clinic number {i}"
        )


def test_the_summary_costs_the_same_for_2_and_10_referrals(
    clinician: User, ep: EpisodeOfCare, django_assert_max_num_queries: Any
) -> None:
    done = discharged(clinician, ep)
    client = signed_in(clinician)
    _referrals(clinician, ep, 2)
    client.get(summary_url(done))
    with CaptureQueriesContext(connection) as few:
        assert client.get(summary_url(done)).status_code == 200
    _referrals(clinician, ep, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = body(client.get(summary_url(done)))
    assert page.count("Clinic number") == 10


# --- the PDF ----------------------------------------------------------------------------------


def test_the_pdf_is_a_pdf_audited_as_a_print(clinician: User, ep: EpisodeOfCare) -> None:
    done = discharged(clinician, ep)
    response = signed_in(clinician).get(f"/discharge/summaries/{done.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == (
        f'attachment; filename="discharge-summary-{done.pk}.pdf"'
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.PRINT)
    assert event.object_id == str(done.pk)
    assert event.section == "discharge summary (print)"


def test_the_printed_summary_carries_the_notice_and_a_draft_mark(
    clinician: User, ep: EpisodeOfCare
) -> None:
    done = discharged(clinician, ep)
    html = printing.summary_html(done, ep.patient, clinician)
    assert PART2_NOTICE in html
    assert ">DRAFT</div>" in html
    services.save_summary(
        actor=clinician,
        discharge=done,
        course="Course.",
        condition="Condition.",
        recommendations="Recommendations.",
    )
    signed = services.sign_discharge(actor=clinician, discharge=done, password=PASSWORD)
    html = printing.summary_html(signed, ep.patient, clinician)
    assert PART2_NOTICE in html
    assert ">DRAFT</div>" not in html
    assert "Signed" in html


# --- referrals --------------------------------------------------------------------------------


def referrals_url(ep: EpisodeOfCare) -> str:
    return f"/discharge/patients/{ep.patient_id}/referrals/"


def test_a_referral_is_added_and_its_status_updated(clinician: User, ep: EpisodeOfCare) -> None:
    client = signed_in(clinician)
    today = today_at(ep.facility).isoformat()
    response = client.post(
        referrals_url(ep),
        {
            "kind": "housing",
            "provider": "Oak Street sober living",
            "status": "made",
            "status_on": today,
        },
    )
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert (referral.kind, referral.status, referral.episode) == ("housing", "made", ep)
    page = body(client.get(referrals_url(ep)))
    assert "Oak Street sober living" in page
    url = f"/discharge/referrals/{referral.pk}/"
    response = client.post(url, {"status": "connected", "status_on": today, "note": "Moved in."})
    assert response.status_code == 302
    page = body(client.get(url))
    assert page.count("Connected (first appointment kept)") >= 2  # now and in the history
    assert "Referral made" in page  # the earlier status stays in the history


def test_a_bad_referral_shows_messages_and_saves_nothing(
    clinician: User, ep: EpisodeOfCare
) -> None:
    future = (today_at(ep.facility) + dt.timedelta(days=3)).isoformat()
    response = signed_in(clinician).post(
        referrals_url(ep),
        {"kind": "medical", "provider": "", "status": "made", "status_on": future},
    )
    assert response.status_code == 200
    page = body(response)
    assert "Say who the person is referred to." in page
    assert not Referral.objects.exists()
    response = signed_in(clinician).post(
        referrals_url(ep),
        {"kind": "medical", "provider": "Clinic", "status": "made", "status_on": future},
    )
    assert "The date is in the future." in body(response)
    assert not Referral.objects.exists()


def test_referrals_go_on_after_the_discharge(clinician: User, ep: EpisodeOfCare) -> None:
    done = discharged(clinician, ep)
    client = signed_in(clinician)
    response = client.post(
        referrals_url(ep),
        {
            "kind": "psychiatric",
            "provider": "County mental health",
            "status": "planned",
            "status_on": today_at(ep.facility).isoformat(),
        },
    )
    assert response.status_code == 302
    assert Referral.objects.get().episode == ep
    assert f"/discharge/summaries/{done.pk}/" in body(client.get(referrals_url(ep)))


def test_the_referrals_page_costs_the_same_for_2_and_10(
    clinician: User, ep: EpisodeOfCare, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(clinician)
    _referrals(clinician, ep, 2)
    client.get(referrals_url(ep))
    with CaptureQueriesContext(connection) as few:
        assert client.get(referrals_url(ep)).status_code == 200
    _referrals(clinician, ep, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = body(client.get(referrals_url(ep)))
    assert page.count("Clinic number") == 10


# --- who may -----------------------------------------------------------------------------------


def every_page(ep: EpisodeOfCare, done: Discharge, referral: Referral) -> list[str]:
    return [
        new_url(ep),
        summary_url(done),
        f"/discharge/summaries/{done.pk}/pdf/",
        referrals_url(ep),
        f"/discharge/referrals/{referral.pk}/",
    ]


@pytest.fixture
def records(clinician: User, ep: EpisodeOfCare) -> tuple[Discharge, Referral]:
    referral = services.add_referral(
        actor=clinician, episode=ep, kind="legal", provider="Legal aid"
    )
    return discharged(clinician, ep), referral


def test_an_outsider_gets_404_and_is_audited(
    other_clinician: User, ep: EpisodeOfCare, records: tuple[Discharge, Referral]
) -> None:
    client = signed_in(other_clinician)
    for url in every_page(ep, *records):
        assert client.get(url).status_code == 404, url
    assert client.post(new_url(ep), form_data(ep)).status_code == 404
    assert client.post(summary_url(records[0]), {"action": "save", **TEXTS}).status_code == 404
    denied = AuditEvent.objects.filter(actor=other_clinician, action="denied")
    assert denied.count() == 7
    assert Discharge.objects.get().course == ""


def test_a_missing_discharge_is_404(clinician: User) -> None:
    assert signed_in(clinician).get("/discharge/summaries/999999/").status_code == 404
    assert AuditEvent.objects.filter(actor=clinician, action="denied").exists()


@pytest.mark.parametrize(
    "role", [Role.FRONT_DESK, Role.BILLING, Role.ADMISSIONS, Role.AUDITOR, Role.ALUMNI_COORDINATOR]
)
def test_roles_outside_the_clinical_team_get_403_and_are_audited(
    make_user: Callable[..., User],
    ep: EpisodeOfCare,
    records: tuple[Discharge, Referral],
    role: str,
) -> None:
    user = make_user(role)
    client: Client = signed_in(user)
    for url in every_page(ep, *records):
        assert client.get(url).status_code == 403, url
    assert client.post(referrals_url(ep), {"kind": "legal", "provider": "X"}).status_code == 403
    assert AuditEvent.objects.filter(actor=user, action="denied").count() == 6
    assert Referral.objects.count() == 1
