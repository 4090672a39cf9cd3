"""The assessments API: scoped, audited, 400 with field errors, 409 when locked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openiop.accounts.models import User
from openiop.assessments.models import AsamAssessment, Biopsychosocial, Status
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.assessments.factories import asam, biopsychosocial, ratings_data
from tests.conftest import api_signed_in, as_json, last_event
from tests.factories import PASSWORD

ASAM = "/api/v1/asam-assessments/"
BPS = "/api/v1/biopsychosocial-assessments/"


def test_it_creates_an_asam_draft(clinician: User, patient: Patient) -> None:
    client = api_signed_in(clinician)
    response = client.post(
        ASAM, {"patient": patient.pk, **ratings_data(0, 0, 0, 0, 0, 3)}, format="json"
    )
    assert response.status_code == 201, response.content
    data = as_json(response)
    assert data["recommendation"] == "3.5_or_2.1" and data["status"] == "draft"
    assert data["recommendation_label"].startswith("Residential (3.5)")
    assert data["d6_rationale"] == "Dimension 6: synthetic rationale."


def test_a_rating_of_5_answers_400_naming_the_dimension(clinician: User, patient: Patient) -> None:
    client = api_signed_in(clinician)
    response = client.post(
        ASAM, {"patient": patient.pk, **ratings_data(0, 0, 0, 5, 0, 0)}, format="json"
    )
    assert response.status_code == 400
    errors = as_json(response)
    assert list(errors) == ["d4_rating"]
    assert "Dimension 4 (readiness to change): 5 is not on the scale" in errors["d4_rating"][0]
    assert not AsamAssessment.objects.exists()


def test_the_override_reason_is_a_field_error(clinician: User, patient: Patient) -> None:
    response = api_signed_in(clinician).post(
        ASAM, {"patient": patient.pk, **ratings_data(final_level="2.5")}, format="json"
    )
    assert response.status_code == 400 and "override_reason" in as_json(response)


def test_patch_sign_and_addenda(clinician: User, patient: Patient) -> None:
    client = api_signed_in(clinician)
    a = asam(patient, clinician)
    response = client.patch(f"{ASAM}{a.pk}/", {"d3_rating": 3}, format="json")
    assert response.status_code == 200 and as_json(response)["recommendation"] == "2.5"
    bad = client.patch(f"{ASAM}{a.pk}/", {"d3_rating": 5}, format="json")
    assert bad.status_code == 400 and "d3_rating" in as_json(bad)
    assert (
        client.post(f"{ASAM}{a.pk}/sign/", {"password": PASSWORD}, format="json").status_code == 400
    )
    client.patch(f"{ASAM}{a.pk}/", {"final_level": "2.5"}, format="json")
    wrong = client.post(f"{ASAM}{a.pk}/sign/", {"password": "guess"}, format="json")
    assert wrong.status_code == 400 and "password" in as_json(wrong)
    signed = client.post(f"{ASAM}{a.pk}/sign/", {"password": PASSWORD}, format="json")
    assert signed.status_code == 200 and as_json(signed)["status"] == "signed"
    locked = client.patch(f"{ASAM}{a.pk}/", {"d1_rating": 0}, format="json")
    assert locked.status_code == 409 and "add an addendum" in as_json(locked)["detail"]
    added = client.post(f"{ASAM}{a.pk}/addenda/", {"text": "Called the sponsor."}, format="json")
    assert added.status_code == 201
    assert [x["text"] for x in as_json(client.get(f"{ASAM}{a.pk}/addenda/"))] == [
        "Called the sponsor."
    ]
    assert last_event(action=AuditEvent.Action.SIGN).patient_id == patient.pk


def test_the_list_is_scoped_filtered_and_audited(
    clinician: User,
    other_clinician: User,
    patient: Patient,
    outside_patient: Patient,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    for _ in range(3):
        asam(patient, clinician)
    asam(outside_patient, other_clinician)
    client = api_signed_in(clinician)
    with django_assert_max_num_queries(12):
        data = as_json(client.get(ASAM, {"patient": patient.pk}))
    assert data["count"] == 3
    event = last_event(action=AuditEvent.Action.VIEW, section="ASAM assessment list (API)")
    assert event.detail == {"results": 3} and event.patient_id is None
    assert as_json(client.get(ASAM))["count"] == 3
    assert as_json(client.get(ASAM, {"patient": outside_patient.pk}))["count"] == 0


def test_an_outsider_gets_404_everywhere(
    other_clinician: User, clinician: User, patient: Patient
) -> None:
    a = asam(patient, clinician, signed=True)
    b = biopsychosocial(patient, clinician)
    client = api_signed_in(other_clinician)
    assert client.get(f"{ASAM}{a.pk}/").status_code == 404
    assert client.patch(f"{ASAM}{a.pk}/", {"d1_rating": 0}, format="json").status_code == 404
    assert (
        client.post(f"{ASAM}{a.pk}/sign/", {"password": PASSWORD}, format="json").status_code == 404
    )
    assert client.post(f"{ASAM}{a.pk}/addenda/", {"text": "x"}, format="json").status_code == 404
    assert client.get(f"{BPS}{b.pk}/").status_code == 404
    assert client.patch(f"{BPS}{b.pk}/", {"housing": "x"}, format="json").status_code == 404
    created = client.post(ASAM, {"patient": patient.pk, **ratings_data()}, format="json")
    assert created.status_code == 400 and "patient" in as_json(created)
    assert as_json(client.get(BPS))["count"] == 0


def test_the_auditor_is_refused(auditor: User, clinician: User, patient: Patient) -> None:
    a = asam(patient, clinician)
    client = api_signed_in(auditor)
    assert client.get(ASAM).status_code == 403
    assert client.get(f"{ASAM}{a.pk}/").status_code == 403
    assert client.get(BPS).status_code == 403
    assert client.get("/api/v1/icd10/", {"q": "F10"}).status_code == 403
    assert client.get("/api/v1/asam-rules/").status_code == 403


def test_admissions_reads_the_asam_without_rationales_and_no_biopsychosocial(
    admissions: User, clinician: User, patient: Patient
) -> None:
    a = asam(patient, clinician, signed=True)
    biopsychosocial(patient, clinician, signed=True)
    client = api_signed_in(admissions)
    data = as_json(client.get(f"{ASAM}{a.pk}/"))
    assert data["final_level"] == "2.1" and "d1_rationale" not in data
    assert client.get(BPS).status_code == 403
    refused = client.post(ASAM, {"patient": patient.pk, **ratings_data()}, format="json")
    assert refused.status_code == 403


def test_it_creates_and_fills_a_biopsychosocial_draft(clinician: User, patient: Patient) -> None:
    client = api_signed_in(clinician)
    response = client.post(
        BPS,
        {
            "patient": patient.pk,
            "housing": "Apartment with partner.",
            "substance_uses": [{"rank": 1, "substance": 5, "route": 4, "frequency": 3}],
            "diagnoses": [{"code": "f11.20", "is_primary": True}],
            "current_symptoms": ["anxiety", "sleep"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = as_json(response)
    assert data["substance_uses"][0]["substance"] == 5
    assert data["diagnoses"][0] == {
        "code": "F11.20",
        "description": "Opioid dependence, uncomplicated",
        "is_primary": True,
        "not_in_list": False,
        "is_substance_use": True,
    }
    b = Biopsychosocial.objects.get()
    patched = client.patch(f"{BPS}{b.pk}/", {"bp_systolic": 300, "bp_diastolic": 80}, format="json")
    assert patched.status_code == 400 and "bp_systolic" in as_json(patched)
    bad_code = client.patch(f"{BPS}{b.pk}/", {"diagnoses": [{"code": "XYZ"}]}, format="json")
    assert bad_code.status_code == 400 and "diagnoses" in as_json(bad_code)
    client.patch(f"{BPS}{b.pk}/", {"goals_own_words": "Sleep in my own bed."}, format="json")
    signed = client.post(f"{BPS}{b.pk}/sign/", {"password": PASSWORD}, format="json")
    assert signed.status_code == 200 and as_json(signed)["status"] == Status.SIGNED
    locked = client.patch(f"{BPS}{b.pk}/", {"housing": "x"}, format="json")
    assert locked.status_code == 409
    assert (
        client.post(f"{BPS}{b.pk}/addenda/", {"text": "New job."}, format="json").status_code == 201
    )


def test_a_failed_create_leaves_no_draft(clinician: User, patient: Patient) -> None:
    response = api_signed_in(clinician).post(
        BPS, {"patient": patient.pk, "pulse": 500}, format="json"
    )
    assert response.status_code == 400 and "pulse" in as_json(response)
    assert not Biopsychosocial.objects.exists()


def test_the_rules_and_the_code_search(clinician: User, director: User) -> None:
    client = api_signed_in(clinician)
    table = as_json(client.get("/api/v1/asam-rules/"))
    assert table["custom"] is False and len(table["rules"]) == 6
    assert table["rules"][0]["condition"] == "any dimension ≥ 4"
    codes = as_json(client.get("/api/v1/icd10/", {"q": "Z72.0"}))
    assert codes == [{"code": "Z72.0", "description": "Tobacco use"}]


def test_the_schema_documents_the_endpoints(clinician: User) -> None:
    response = api_signed_in(clinician).get("/api/v1/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/v1/asam-assessments/{id}/sign/",
        "/api/v1/biopsychosocial-assessments/{id}/addenda/",
        "/api/v1/asam-rules/",
        "/api/v1/icd10/",
    ):
        assert path in text, path
