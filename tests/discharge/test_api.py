"""Discharges, referrals and follow-ups over the REST API: the same services, scope and audit
as the pages — 400 with field errors on bad input (nothing saved), 404 for a patient out of
scope, 403 for a role without the capability, 409 for a change to a signed discharge."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.discharge.models import Discharge, FollowUp, Referral
from openiop.patients.models import Patient
from tests.admissions.factories import episode as make_episode
from tests.conftest import api_signed_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/v1/discharges/"


def _today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


@pytest.fixture
def in_care(patient: Patient, program: Program, clinician: User) -> EpisodeOfCare:
    """Admitted 120 days ago: past day 90."""
    return make_episode(
        patient,
        program,
        clinician,
        admission_date=_today(patient.facility) - dt.timedelta(days=120),
    )


def _payload(episode: EpisodeOfCare, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patient": episode.patient_id,
        "discharge_date": (_today(episode.facility) - dt.timedelta(days=1)).isoformat(),
        "reason_key": "completed_step_down",
        "step_down": "outpatient",
        "step_down_provider": "Example Outpatient Clinic",
        "followup_contact": "Cell, evenings",
    }
    data.update(changes)
    return data


def test_it_discharges_through_the_service(clinician: User, in_care: EpisodeOfCare) -> None:
    api = api_signed_in(clinician)
    response = api.post(URL, _payload(in_care), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["reason"] == 1 and data["reason_label"].startswith("Completed IOP")
    assert data["length_of_stay"] == 119 and data["los_code"] == 34
    assert data["signed_at"] is None and data["facts"]["length_of_stay"] == 119
    in_care.refresh_from_db()
    assert in_care.discharge_date == _today(in_care.facility) - dt.timedelta(days=1)
    days = sorted(FollowUp.objects.filter(episode=in_care).values_list("days_after", flat=True))
    assert days == [30, 60, 90, 180, 365]

    listed = api.get(URL, {"patient": in_care.patient_id}).json()
    assert [row["id"] for row in listed["results"]] == [data["id"]]


def test_bad_input_is_400_with_field_errors_and_saves_nothing(
    clinician: User, in_care: EpisodeOfCare
) -> None:
    api = api_signed_in(clinician)
    before = (in_care.admission_date - dt.timedelta(days=1)).isoformat()
    response = api.post(URL, _payload(in_care, discharge_date=before), format="json")
    assert response.status_code == 400
    assert "before the admission" in response.json()["discharge_date"][0]
    response = api.post(URL, _payload(in_care, reason_key="vanished"), format="json")
    assert response.status_code == 400 and "reason_key" in response.json()
    assert not Discharge.objects.exists()
    in_care.refresh_from_db()
    assert in_care.discharge_date is None


def test_before_day_90_asks_why_and_the_continuing_care(
    clinician: User, patient: Patient, program: Program
) -> None:
    short = make_episode(
        patient, program, clinician, admission_date=_today(patient.facility) - dt.timedelta(40)
    )
    api = api_signed_in(clinician)
    response = api.post(URL, _payload(short, reason_key="stopped_attending"), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "early_reason" in errors or "continuing_care" in errors
    assert not Discharge.objects.exists()
    response = api.post(
        URL,
        _payload(
            short,
            reason_key="stopped_attending",
            step_down="mutual_help",
            early_reason="Stopped coming after returning to full-time work.",
            continuing_care="Evening outpatient group and three meetings a week.",
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["reason"] == 2


def test_a_second_discharge_is_refused(clinician: User, in_care: EpisodeOfCare) -> None:
    api = api_signed_in(clinician)
    assert api.post(URL, _payload(in_care), format="json").status_code == 201
    again = api.post(URL, _payload(in_care), format="json")
    assert again.status_code == 400
    assert Discharge.objects.count() == 1


def test_summary_sign_then_locked(clinician: User, in_care: EpisodeOfCare) -> None:
    api = api_signed_in(clinician)
    made = api.post(URL, _payload(in_care), format="json").json()
    detail = f"{URL}{made['id']}/"
    texts = {
        "course": "Came to 36 groups; worked on triggers.",
        "condition": "Stable, engaged.",
        "recommendations": "Weekly outpatient, alumni group.",
    }
    response = api.patch(detail, {**texts, "teds_employ_d": 1}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["course"] == texts["course"]
    assert response.json()["teds_employ_d"] == 1
    bad = api.patch(detail, {"teds_employ_d": 9}, format="json")
    assert bad.status_code == 400 and "teds_employ_d" in bad.json()

    wrong = api.post(f"{detail}sign/", {"password": "not it"}, format="json")
    assert wrong.status_code == 400
    signed = api.post(f"{detail}sign/", {"password": PASSWORD}, format="json")
    assert signed.status_code == 200, signed.content
    assert signed.json()["signed_at"] and signed.json()["sign_method"] == "password"

    locked = api.patch(detail, {"course": "Changed"}, format="json")
    assert locked.status_code == 409
    assert api.post(f"{detail}sign/", {"password": PASSWORD}, format="json").status_code == 409
    assert Discharge.objects.get().course == texts["course"]


def test_outsiders_are_404_and_other_roles_403(
    clinician: User,
    other_clinician: User,
    billing: User,
    in_care: EpisodeOfCare,
) -> None:
    made = api_signed_in(clinician).post(URL, _payload(in_care), format="json").json()
    outsider = api_signed_in(other_clinician)
    assert outsider.get(URL, {"patient": in_care.patient_id}).status_code == 404
    assert outsider.get(f"{URL}{made['id']}/").status_code == 404
    assert outsider.get("/api/v1/follow-ups/", {"patient": in_care.patient_id}).status_code == 404
    assert AuditEvent.objects.filter(actor=other_clinician, action="denied").exists()
    for url in (URL, "/api/v1/referrals/"):
        refused = api_signed_in(billing).get(url, {"patient": in_care.patient_id})
        assert refused.status_code == 403
    assert AuditEvent.objects.filter(actor=billing, action="denied").count() == 2


def test_referrals_are_made_and_followed(clinician: User, in_care: EpisodeOfCare) -> None:
    api = api_signed_in(clinician)
    response = api.post(
        "/api/v1/referrals/",
        {"patient": in_care.patient_id, "kind": "vocational", "provider": "Example WorkSource"},
        format="json",
    )
    assert response.status_code == 201, response.content
    ref = response.json()
    assert ref["status"] == "planned"
    bad = api.post(
        "/api/v1/referrals/",
        {"patient": in_care.patient_id, "kind": "astrology", "provider": "Nobody"},
        format="json",
    )
    assert bad.status_code == 400 and "kind" in bad.json()
    changed = api.patch(
        f"/api/v1/referrals/{ref['id']}/",
        {"status": "connected", "status_on": _today(in_care.facility).isoformat()},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert Referral.objects.get().status == "connected"


def test_follow_ups_attempts_outcomes_and_the_due_list(
    clinician: User,
    make_user: Any,
    facility: Facility,
    in_care: EpisodeOfCare,
) -> None:
    # Discharged 27 days ago: the 30-day follow-up is due in three days.
    api = api_signed_in(clinician)
    in_care.admission_date = _today(facility) - dt.timedelta(days=150)
    in_care.save(update_fields=["admission_date"])
    day = (_today(facility) - dt.timedelta(days=27)).isoformat()
    assert api.post(URL, _payload(in_care, discharge_date=day), format="json").status_code == 201

    coordinator = api_signed_in(make_user(Role.ALUMNI_COORDINATOR))
    due = coordinator.get("/api/v1/follow-ups/", {"due": "true", "facility": str(facility.pk)})
    assert due.status_code == 200, due.content
    assert [row["days_after"] for row in due.json()] == [30]
    assert AuditEvent.objects.filter(
        section="follow-ups due (API)", patient_id=in_care.patient_id
    ).exists()
    followup_id = due.json()[0]["id"]

    tried = coordinator.post(
        f"/api/v1/follow-ups/{followup_id}/attempts/",
        {"method": "phone", "result": "no_answer"},
        format="json",
    )
    assert tried.status_code == 201, tried.content
    assert len(tried.json()["attempts"]) == 1
    outcome = {
        "completed_on": _today(facility).isoformat(),
        "any_use": False,
        "days_used_30": 0,
        "meetings_30": 12,
        "working_or_school": True,
        "housing": "stable",
        "readmitted": False,
    }
    bad = coordinator.post(
        f"/api/v1/follow-ups/{followup_id}/outcome/",
        {**outcome, "days_used_30": 45},
        format="json",
    )
    assert bad.status_code == 400
    assert FollowUp.objects.get(pk=followup_id).status == "due"
    done = coordinator.post(f"/api/v1/follow-ups/{followup_id}/outcome/", outcome, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "completed" and done.json()["meetings_30"] == 12

    listed = coordinator.get("/api/v1/follow-ups/", {"patient": in_care.patient_id}).json()
    assert {row["days_after"] for row in listed["results"]} == {30, 60, 90, 180, 365}
    later = next(row["id"] for row in listed["results"] if row["days_after"] == 60)
    closed = coordinator.post(
        f"/api/v1/follow-ups/{later}/close/",
        {"status": "cancelled", "note": "Readmitted to residential care."},
        format="json",
    )
    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "cancelled"
    front = api_signed_in(make_user(Role.FRONT_DESK))
    assert front.get("/api/v1/follow-ups/", {"patient": in_care.patient_id}).status_code == 403


def test_the_schema_lists_the_endpoints(clinician: User) -> None:
    schema = api_signed_in(clinician).get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/discharges/",
        "/api/v1/discharges/{id}/sign/",
        "/api/v1/referrals/",
        "/api/v1/follow-ups/",
        "/api/v1/follow-ups/{id}/outcome/",
    ):
        assert path in paths
