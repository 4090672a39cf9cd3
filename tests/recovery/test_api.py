"""Drug tests and prescriptions over the REST API: the services' rules, 400 with field
errors, 404 out of scope, 403 for roles without clinical access, one audit per read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import ClinicalAlert, Patient
from openiop.recovery.models import DrugTest, Prescription
from tests.admissions.factories import program_with_phases
from tests.conftest import api_signed_in
from tests.scheduling.factories import admitted

pytestmark = pytest.mark.django_db

API = "/api/v1/"


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return admitted(facility, program_with_phases(facility), clinician)


def as_json(response: Any) -> Any:
    return json.loads(response.content)


def post(client: APIClient, url: str, data: dict[str, Any]) -> Any:
    return client.post(API + url, data, format="json")


def a_test(patient_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "patient": patient_id,
        "specimen": "urine",
        "observed": True,
        "collected_at": "2026-03-04T09:30:00-08:00",
        "results": [
            {"substance": "buprenorphine", "result": "positive"},
            {"substance": "fentanyl", "result": "negative"},
        ],
        **changes,
    }


def test_a_test_is_recorded_read_and_listed_with_its_readings(
    clinician: User, ep: EpisodeOfCare
) -> None:
    client = api_signed_in(clinician)
    prescribed = post(
        client,
        "prescriptions/",
        {
            "patient": ep.patient_id,
            "medication_class": "buprenorphine",
            "name": "buprenorphine/naloxone 8 mg",
            "start_date": "2026-02-01",
        },
    )
    assert prescribed.status_code == 201, prescribed.content
    made = post(client, "drug-tests/", a_test(ep.patient_id))
    assert made.status_code == 201, made.content
    data = as_json(made)
    assert (data["episode"], data["collected_by"]) == (ep.pk, clinician.pk)
    assert data["results"] == [
        {"substance": "buprenorphine", "result": "positive", "reading": "expected"},
        {"substance": "fentanyl", "result": "negative", "reading": "negative"},
    ]
    assert not ClinicalAlert.objects.exists()

    listed = client.get(API + "drug-tests/", {"patient": ep.patient_id})
    assert listed.status_code == 200
    rows = as_json(listed)
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert [r["id"] for r in rows] == [data["id"]]
    event = AuditEvent.objects.filter(section="recovery (API)", action="view").latest("pk")
    assert event.patient_id == ep.patient_id

    one = client.get(f"{API}drug-tests/{data['id']}/")
    assert one.status_code == 200 and as_json(one)["id"] == data["id"]
    prescriptions = client.get(API + "prescriptions/", {"patient": ep.patient_id})
    listed_p = as_json(prescriptions)
    listed_p = listed_p["results"] if isinstance(listed_p, dict) else listed_p
    assert [p["medication_class"] for p in listed_p] == ["buprenorphine"]


def test_an_unexpected_positive_raises_the_alert(clinician: User, ep: EpisodeOfCare) -> None:
    made = post(
        api_signed_in(clinician),
        "drug-tests/",
        a_test(ep.patient_id, results=[{"substance": "cocaine", "result": "positive"}]),
    )
    assert made.status_code == 201, made.content
    assert as_json(made)["results"][0]["reading"] == "unexpected"
    assert ClinicalAlert.objects.get().kind == ClinicalAlert.Kind.UNEXPECTED_RESULT


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"results": [{"substance": "glue", "result": "positive"}]}, "results"),
        ({"results": [{"substance": "thc", "result": "positive"}] * 2}, "results"),
        ({"specimen": "hair"}, "specimen"),
        ({"collected_at": "2099-01-01T09:00:00Z"}, "collected_at"),
        ({"collected_at": "not a time"}, "collected_at"),
    ],
)
def test_bad_input_answers_400_with_the_field_and_saves_nothing(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, Any], field: str
) -> None:
    response = post(api_signed_in(clinician), "drug-tests/", a_test(ep.patient_id, **changes))
    assert response.status_code == 400
    assert field in as_json(response)
    assert not DrugTest.objects.exists()


def test_a_patient_out_of_scope_or_unknown_answers_404_alike(
    clinician: User, outside_patient: Patient
) -> None:
    client = api_signed_in(clinician)
    outside = post(client, "drug-tests/", a_test(outside_patient.pk))
    unknown = post(client, "drug-tests/", a_test(outside_patient.pk + 1000))
    assert outside.status_code == unknown.status_code == 404
    listed = client.get(API + "drug-tests/", {"patient": outside_patient.pk})
    assert listed.status_code == 404
    prescribed = post(
        client,
        "prescriptions/",
        {
            "patient": outside_patient.pk + 1000,
            "medication_class": "methadone",
            "name": "methadone",
            "start_date": "2026-02-01",
        },
    )
    assert prescribed.status_code == 404
    assert not DrugTest.objects.exists() and not Prescription.objects.exists()


@pytest.mark.parametrize("role", ["front_desk", "billing", "auditor"])
def test_roles_without_clinical_access_are_refused(
    role: str, request: pytest.FixtureRequest, ep: EpisodeOfCare
) -> None:
    user: User = request.getfixturevalue(role)
    client = api_signed_in(user)
    assert client.get(API + "drug-tests/", {"patient": ep.patient_id}).status_code == 403
    assert post(client, "drug-tests/", a_test(ep.patient_id)).status_code == 403
    assert AuditEvent.objects.filter(action="denied", section="recovery (API)").exists()


def test_the_schema_lists_the_recovery_resources(clinician: User) -> None:
    schema = api_signed_in(clinician).get(API + "schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = as_json(schema)["paths"]
    assert {"/api/v1/drug-tests/", "/api/v1/prescriptions/"} <= set(paths)


def test_a_list_needs_the_patient(clinician: User) -> None:
    response = api_signed_in(clinician).get(API + "drug-tests/")
    assert response.status_code == 400 and "patient" in as_json(response)


def test_collected_by_must_work_at_the_facility(
    clinician: User, other_clinician: User, ep: EpisodeOfCare
) -> None:
    response = post(
        api_signed_in(clinician),
        "drug-tests/",
        a_test(ep.patient_id, collected_by=other_clinician.pk),
    )
    assert response.status_code == 400 and "collected_by" in as_json(response)
    assert not DrugTest.objects.exists()
