"""Who sees which patient: every role × scope, through the pages and through the API.

A patient outside someone's scope answers 404, as if it did not exist (docs/accounts.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from openiop.accounts.models import User
from openiop.accounts.roles import FACILITY_WIDE_ROLES, REGISTRATION_ROLES, Role
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.conftest import api_signed_in, as_json, body, signed_in
from tests.factories import CareTeamMemberFactory

PAGES = ("", "edit/", "print/")


def main_part(html: str) -> str:
    """The page's own content, without the per-request CSRF tokens of the header."""
    match = re.search(r"<main.*?</main>", html, re.S)
    assert match is not None
    return match.group(0)


def statuses(client: Client, patient: Patient) -> dict[str, int]:
    return {page: client.get(f"/patients/{patient.pk}/{page}").status_code for page in PAGES}


def test_it_opens_the_chart_of_a_patient_on_the_caseload(
    clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    assert patient.mrn in body(response)
    assert statuses(clinician_client, patient) == {"": 200, "edit/": 200, "print/": 200}


def test_it_answers_404_to_a_clinician_for_an_unassigned_patient_of_the_same_facility(
    clinician_client: Client, unassigned_patient: Patient
) -> None:
    assert statuses(clinician_client, unassigned_patient) == {"": 404, "edit/": 404, "print/": 404}


def test_it_answers_404_to_a_clinician_for_a_patient_of_another_facility(
    clinician_client: Client, outside_patient: Patient
) -> None:
    assert statuses(clinician_client, outside_patient) == {"": 404, "edit/": 404, "print/": 404}


def test_it_forgets_a_patient_when_the_care_relationship_ends(
    clinician: User, clinician_client: Client, patient: Patient
) -> None:
    patient.care_team.update(ended_on=patient.created_at.date())
    assert clinician_client.get(f"/patients/{patient.pk}/").status_code == 404


def test_it_lets_a_case_manager_see_only_their_caseload(
    make_user: Callable[..., User], patient: Patient, unassigned_patient: Patient
) -> None:
    manager = make_user(Role.CASE_MANAGER)
    CareTeamMemberFactory.create(patient=unassigned_patient, user=manager, role="case_manager")
    client = signed_in(manager)
    assert client.get(f"/patients/{unassigned_patient.pk}/").status_code == 200
    assert client.get(f"/patients/{patient.pk}/").status_code == 404


def test_it_answers_404_to_a_caseload_clinician_working_at_another_facility(
    other_clinician: User, patient: Patient
) -> None:
    # On the care team, but the patient's facility is not theirs: still out of scope.
    CareTeamMemberFactory.create(patient=patient, user=other_clinician, role="therapist")
    assert signed_in(other_clinician).get(f"/patients/{patient.pk}/").status_code == 404


@pytest.mark.parametrize("role", sorted(FACILITY_WIDE_ROLES))
def test_it_shows_facility_wide_roles_every_patient_of_their_facility_only(
    role: str,
    make_user: Callable[..., User],
    unassigned_patient: Patient,
    outside_patient: Patient,
) -> None:
    client = signed_in(make_user(role))
    edit = 200 if role in REGISTRATION_ROLES else 403
    assert statuses(client, unassigned_patient) == {"": 200, "edit/": edit, "print/": 200}
    # A role that edits no record is refused before any lookup: 403 says nothing about the
    # patient; a role that edits gets 404 for a record outside its scope.
    outside_edit = 404 if role in REGISTRATION_ROLES else 403
    assert statuses(client, outside_patient) == {"": 404, "edit/": outside_edit, "print/": 404}


@pytest.mark.parametrize("role", sorted(FACILITY_WIDE_ROLES | {Role.CLINICIAN, Role.CASE_MANAGER}))
def test_it_scopes_the_api_like_the_pages(
    role: str,
    make_user: Callable[..., User],
    unassigned_patient: Patient,
    outside_patient: Patient,
) -> None:
    user = make_user(role)
    client = api_signed_in(user)
    sees_facility = role in FACILITY_WIDE_ROLES
    expected = 200 if sees_facility else 404
    assert client.get(f"/api/v1/patients/{unassigned_patient.pk}/").status_code == expected
    assert client.get(f"/api/v1/patients/{outside_patient.pk}/").status_code == 404

    listed = {p["id"] for p in as_json(client.get("/api/v1/patients/"))["results"]}
    assert listed == ({unassigned_patient.pk} if sees_facility else set())

    found = client.post("/api/v1/patients/search/", {"query": ""}, format="json")
    assert found.status_code == 200
    assert {p["id"] for p in found.json()["results"]} == listed
    for name in ("Kai", "Rowan"):
        hits = client.post("/api/v1/patients/search/", {"query": name}, format="json").json()
        assert outside_patient.pk not in {p["id"] for p in hits["results"]}


def test_it_shows_the_clinician_their_caseload_in_the_api(
    clinician: User, patient: Patient, unassigned_patient: Patient, outside_patient: Patient
) -> None:
    client = api_signed_in(clinician)
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert [p["id"] for p in client.get("/api/v1/patients/").json()["results"]] == [patient.pk]


def test_it_keeps_the_auditor_out_of_every_chart(
    auditor: User, auditor_client: Client, patient: Patient
) -> None:
    assert auditor_client.get("/patients/").status_code == 403
    assert auditor_client.get("/patients/new/").status_code == 403
    # The auditor opens no chart; like any record outside one's scope it answers 404 (the
    # edit form is refused by role first: 403 whatever the patient).
    assert statuses(auditor_client, patient) == {"": 404, "edit/": 403, "print/": 404}
    assert not AuditEvent.objects.filter(actor=auditor, action=AuditEvent.Action.VIEW).exists()
    assert AuditEvent.objects.filter(actor=auditor, action=AuditEvent.Action.DENIED).count() == 2


def test_it_gives_the_auditor_nothing_through_the_api(auditor: User, patient: Patient) -> None:
    client = api_signed_in(auditor)
    listing = client.get("/api/v1/patients/")
    assert listing.status_code == 200
    assert listing.json()["count"] == 0
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 404
    found = client.post("/api/v1/patients/search/", {"query": "Dana"}, format="json")
    assert found.json()["results"] == []
    created = client.post(
        "/api/v1/patients/",
        {
            "facility": patient.facility_id,
            "first_name": "New",
            "last_name": "Person",
            "date_of_birth": "1991-01-01",
            "sex_at_birth": "male",
            "mrn": "",
        },
        format="json",
    )
    assert created.status_code == 403
    assert Patient.objects.count() == 1


def test_it_lets_the_auditor_read_the_audit_trail(auditor_client: Client) -> None:
    assert auditor_client.get("/audit/").status_code == 200


def test_it_sends_anonymous_visitors_to_sign_in(patient: Patient) -> None:
    client = Client()
    for path in ("/", "/patients/", *(f"/patients/{patient.pk}/{page}" for page in PAGES)):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next="), path


def test_it_answers_401_json_to_anonymous_api_calls(patient: Patient) -> None:
    client = Client()
    for response in (
        client.get("/api/v1/patients/"),
        client.get(f"/api/v1/patients/{patient.pk}/"),
        client.post("/api/v1/patients/search/", {"query": "Dana"}, content_type="application/json"),
        client.get("/api/v1/audit-events/"),
    ):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert "detail" in as_json(response)
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("page", PAGES)
def test_it_does_not_reveal_the_name_or_mrn_of_a_patient_out_of_scope(
    clinician_client: Client, outside_patient: Patient, page: str
) -> None:
    response = clinician_client.get(f"/patients/{outside_patient.pk}/{page}")
    assert response.status_code == 404
    text = body(response)
    assert "We could not find that page" in text
    for secret in (outside_patient.first_name, outside_patient.last_name, outside_patient.mrn):
        assert secret not in text


def test_it_does_not_reveal_the_patient_in_the_api_404(
    clinician: User, outside_patient: Patient
) -> None:
    response = api_signed_in(clinician).get(f"/api/v1/patients/{outside_patient.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_it_answers_out_of_scope_and_missing_patients_the_same_way(
    clinician_client: Client, outside_patient: Patient
) -> None:
    missing = clinician_client.get("/patients/999999/")
    hidden = clinician_client.get(f"/patients/{outside_patient.pk}/")
    assert missing.status_code == hidden.status_code == 404
    assert main_part(body(missing)) == main_part(body(hidden))


def test_it_records_refused_chart_openings(
    clinician: User, clinician_client: Client, outside_patient: Patient
) -> None:
    clinician_client.get(f"/patients/{outside_patient.pk}/")
    event = AuditEvent.objects.get(actor=clinician, action=AuditEvent.Action.DENIED)
    assert event.detail == {"patient_id": outside_patient.pk}
    assert event.section == "chart summary"
    assert event.patient_id is None  # nothing about the patient is revealed through the trail
