from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient
from tests.admissions.factories import episode, program_with_phases
from tests.conftest import api_signed_in, as_json


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


def payload(patient: Patient, program: Program, clinician: User, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patient": patient.pk,
        "program": program.pk,
        "admission_date": timezone.localdate(timezone=patient.facility.zone).isoformat(),
        "primary_clinician": clinician.pk,
        "referral_source": 1,
        "coverage": {"payer": "Example Health Plan", "member_id": "EH-0101"},
        "teds_sub1": 2,
    }
    data.update(kw)
    return data


def test_it_admits_through_the_api(
    admissions: User, patient: Patient, program: Program, clinician: User
) -> None:
    response = api_signed_in(admissions).post(
        "/api/v1/episodes/", payload(patient, program, clinician), format="json"
    )
    assert response.status_code == 201, response.content
    data = as_json(response)
    assert data["phase"] == "engagement" and data["teds_services"] == 6
    assert data["days_in_treatment"] == 1
    assert data["coverages"][0]["payer"] == "Example Health Plan"


@pytest.mark.parametrize("missing", ["program", "admission_date", "primary_clinician"])
def test_it_answers_400_with_field_errors(
    missing: str, admissions: User, patient: Patient, program: Program, clinician: User
) -> None:
    data = payload(patient, program, clinician)
    del data[missing]
    response = api_signed_in(admissions).post("/api/v1/episodes/", data, format="json")
    assert response.status_code == 400 and missing in as_json(response)
    assert not EpisodeOfCare.objects.exists()


def test_a_second_open_episode_answers_400_with_the_reason(
    admissions: User, patient: Patient, program: Program, clinician: User
) -> None:
    episode(patient, program, clinician)
    response = api_signed_in(admissions).post(
        "/api/v1/episodes/", payload(patient, program, clinician), format="json"
    )
    assert response.status_code == 400
    assert "already has an open episode" in str(as_json(response))


def test_outsiders_get_404(
    other_clinician: User, patient: Patient, program: Program, clinician: User
) -> None:
    ep = episode(patient, program, clinician)
    client = api_signed_in(other_clinician)
    assert client.get(f"/api/v1/episodes/{ep.pk}/").status_code == 404
    assert as_json(client.get("/api/v1/episodes/"))["results"] == []
    response = client.post("/api/v1/episodes/", payload(patient, program, clinician), format="json")
    assert response.status_code == 400 and "patient" in as_json(response)


def test_the_auditor_is_refused(
    auditor: User, patient: Patient, program: Program, clinician: User
) -> None:
    ep = episode(patient, program, clinician)
    assert api_signed_in(auditor).get(f"/api/v1/episodes/{ep.pk}/").status_code in (403, 404)


def test_it_corrects_an_episode_and_lists_by_patient(
    admissions: User,
    patient: Patient,
    program: Program,
    clinician: User,
    make_user: Callable[..., User],
) -> None:
    ep = episode(patient, program, clinician, admission_date=dt.date(2026, 10, 1))
    client = api_signed_in(admissions)
    response = client.patch(
        f"/api/v1/episodes/{ep.pk}/",
        {"referral_detail": "Employer EAP", "teds_employ": 1},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert as_json(response)["teds_employ"] == 1
    listed = as_json(client.get(f"/api/v1/episodes/?patient={patient.pk}&open=true"))
    assert [e["id"] for e in listed["results"]] == [ep.pk]
    billing = api_signed_in(make_user(Role.BILLING))
    assert (
        billing.patch(
            f"/api/v1/episodes/{ep.pk}/", {"referral_detail": "x"}, format="json"
        ).status_code
        == 403
    )
