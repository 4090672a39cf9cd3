"""The instruments and administrations API: definitions, pure scoring, scoped and audited
administrations; outsiders refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.measures.models import Administration
from openiop.patients.models import ClinicalAlert, Patient
from tests.conftest import api_signed_in, as_json, last_event
from tests.measures import factories as f
from tests.measures.factories import AdministrationFactory

pytestmark = pytest.mark.django_db
INSTRUMENTS = "/api/v1/instruments/"
ADMINISTRATIONS = "/api/v1/administrations/"


@pytest.fixture
def api(clinician: User) -> APIClient:
    return api_signed_in(clinician)


# --- definitions ---------------------------------------------------------------------------------


def test_it_lists_every_instrument_definition(api: APIClient) -> None:
    response = api.get(INSTRUMENTS)
    assert response.status_code == 200
    data = as_json(response)
    assert [d["code"] for d in data] == [
        "phq9",
        "gad7",
        "audit",
        "auditc",
        "dast10",
        "cssrs_screen",
        "bam",
    ]
    phq9 = data[0]
    assert phq9["loinc"] == {"panel": "44249-1", "total": "44261-6"}
    assert len(phq9["items"]) == 9
    assert phq9["items"][0]["options"][3] == {"value": 3, "label": "Nearly every day"}
    assert phq9["bands"][3] == {
        "name": "moderately severe",
        "low": 15,
        "high": 19,
        "meaning": "Moderately severe depression: active treatment.",
    }


def test_it_serves_one_definition_and_404_for_an_unknown_code(api: APIClient) -> None:
    data = as_json(api.get(f"{INSTRUMENTS}dast10/"))
    assert data["items"][2]["options"] == [
        {"value": True, "label": "Yes"},
        {"value": False, "label": "No"},
    ]
    assert api.get(f"{INSTRUMENTS}phq2/").status_code == 404


def test_it_refuses_the_definitions_without_signing_in() -> None:
    assert APIClient().get(INSTRUMENTS).status_code in (401, 403)
    assert APIClient().post(f"{INSTRUMENTS}phq9/score/", {}, format="json").status_code in (
        401,
        403,
    )


# --- pure scoring --------------------------------------------------------------------------------


def test_it_scores_without_storing_anything(api: APIClient) -> None:
    response = api.post(
        f"{INSTRUMENTS}phq9/score/", {"answers": f.phq9(16, item9=1)}, format="json"
    )
    assert response.status_code == 200
    assert as_json(response) == {
        "total": 16,
        "band": "moderately severe",
        "flags": ["suicide_risk"],
        "subscales": {},
    }
    assert not Administration.objects.exists()
    assert not ClinicalAlert.objects.exists()


def test_it_scores_bam_subscales(api: APIClient) -> None:
    data = as_json(api.post(f"{INSTRUMENTS}bam/score/", {"answers": f.bam(i6=4)}, format="json"))
    assert data == {
        "total": None,
        "band": "",
        "flags": [],
        "subscales": {"use": 4, "risk": 0, "protective": 0},
    }


def test_it_answers_400_naming_the_item(api: APIClient) -> None:
    response = api.post(
        f"{INSTRUMENTS}phq9/score/", {"answers": f.phq9(0) | {"9": 4}}, format="json"
    )
    assert response.status_code == 400
    assert as_json(response) == {"answers": ["phq9 item 9: 4 is outside 0–3."]}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (f.audit(0) | {"10": 3}, "audit item 10: 3 is outside 0, 2, 4."),
        (f.audit(0) | {"11": 0}, "audit item 11: no such item in this instrument."),
        ({"1": 0}, "audit item 2: missing answer."),
        (f.audit(0) | {"1": True}, "audit item 1: True is not a whole number."),
        (f.audit(0) | {"1": 1.5}, "audit item 1: 1.5 is not a whole number."),
    ],
)
def test_it_answers_400_for_every_kind_of_wrong_answer(
    api: APIClient, answers: dict[str, Any], message: str
) -> None:
    response = api.post(f"{INSTRUMENTS}audit/score/", {"answers": answers}, format="json")
    assert (response.status_code, as_json(response)) == (400, {"answers": [message]})


def test_it_needs_the_sex_for_auditc(api: APIClient) -> None:
    url = f"{INSTRUMENTS}auditc/score/"
    missing = api.post(url, {"answers": f.auditc(3)}, format="json")
    assert missing.status_code == 400
    assert "sex" in as_json(missing)
    other = api.post(url, {"answers": f.auditc(3), "sex": "intersex"}, format="json")
    assert other.status_code == 400 and "sex" in as_json(other)
    male = as_json(api.post(url, {"answers": f.auditc(3), "sex": "male"}, format="json"))
    assert male["band"] == "negative"


def test_it_needs_answers_as_an_object(api: APIClient) -> None:
    response = api.post(f"{INSTRUMENTS}gad7/score/", {"answers": [0, 1]}, format="json")
    assert response.status_code == 400 and "answers" in as_json(response)


# --- administrations -----------------------------------------------------------------------------


def test_it_lists_one_patients_administrations_and_audits_the_count(
    api: APIClient, clinician: User, patient: Patient, unassigned_patient: Patient
) -> None:
    AdministrationFactory.create_batch(3, patient=patient)
    AdministrationFactory.create(patient=unassigned_patient)
    response = api.get(ADMINISTRATIONS, {"patient": patient.pk})
    assert response.status_code == 200
    rows = as_json(response)["results"]
    assert len(rows) == 3 and {r["patient"] for r in rows} == {patient.pk}
    assert rows[0]["loinc"] == {"panel": "44249-1", "total": "44261-6"}
    event = last_event(actor=clinician, action=AuditEvent.Action.VIEW)
    assert (event.patient_id, event.detail) == (patient.pk, {"results": 3})
    assert AuditEvent.objects.filter(actor=clinician, section="measures (API)").count() == 1


def test_it_filters_the_list_by_instrument(api: APIClient, patient: Patient) -> None:
    AdministrationFactory.create(patient=patient)
    AdministrationFactory.create(patient=patient, instrument="gad7", answers=f.gad7(3))
    rows = as_json(api.get(ADMINISTRATIONS, {"patient": str(patient.pk), "instrument": "gad7"}))
    assert [r["instrument"] for r in rows["results"]] == ["gad7"]


def test_it_lists_only_with_a_patient(api: APIClient) -> None:
    response = api.get(ADMINISTRATIONS)
    assert response.status_code == 400
    assert "patient" in as_json(response)


def test_it_keeps_the_list_query_count_flat(
    api: APIClient, patient: Patient, django_assert_max_num_queries: Any
) -> None:
    AdministrationFactory.create_batch(25, patient=patient)
    with django_assert_max_num_queries(12):
        assert api.get(ADMINISTRATIONS, {"patient": patient.pk}).status_code == 200


def test_it_creates_scores_stores_and_raises_the_alert(
    api: APIClient, clinician: User, patient: Patient
) -> None:
    response = api.post(
        ADMINISTRATIONS,
        {
            "patient": patient.pk,
            "instrument": "cssrs_screen",
            "answers": f.cssrs("6", when="past_3_months"),
            "notes": "Seen in group",
        },
        format="json",
    )
    assert response.status_code == 201
    data = as_json(response)
    assert (data["band"], data["flags"], data["total"]) == ("high", ["suicide_risk"], None)
    assert data["administered_by"] == clinician.pk
    alert = ClinicalAlert.objects.get(patient=patient)
    assert alert.source_id == str(data["id"])
    assert last_event(object_type="measures.administration").action == AuditEvent.Action.CREATE


def test_it_refuses_a_wrong_answer_set_with_400_and_stores_nothing(
    api: APIClient, patient: Patient
) -> None:
    response = api.post(
        ADMINISTRATIONS,
        {"patient": patient.pk, "instrument": "phq9", "answers": f.phq9(0) | {"9": 4}},
        format="json",
    )
    assert response.status_code == 400
    assert as_json(response) == {"answers": ["phq9 item 9: 4 is outside 0–3."]}
    assert not Administration.objects.exists()


def test_it_refuses_a_future_time(api: APIClient, patient: Patient) -> None:
    later = timezone.now() + dt.timedelta(days=1)
    response = api.post(
        ADMINISTRATIONS,
        {
            "patient": patient.pk,
            "instrument": "gad7",
            "answers": f.gad7(0),
            "administered_at": later.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400 and "administered_at" in as_json(response)


def test_it_retrieves_one_and_audits_it(api: APIClient, clinician: User, patient: Patient) -> None:
    a = AdministrationFactory.create(patient=patient, answers=f.phq9(15))
    data = as_json(api.get(f"{ADMINISTRATIONS}{a.pk}/"))
    assert (data["total"], data["band"]) == (15, "moderately severe")
    event = last_event(actor=clinician, action=AuditEvent.Action.VIEW)
    assert (event.object_id, event.patient_id) == (str(a.pk), patient.pk)


def test_it_marks_entered_in_error_and_corrects(api: APIClient, patient: Patient) -> None:
    a = AdministrationFactory.create(patient=patient, answers=f.phq9(15))
    url = f"{ADMINISTRATIONS}{a.pk}/entered-in-error/"
    assert api.post(url, {"reason": ""}, format="json").status_code == 400
    data = as_json(api.post(url, {"reason": "Wrong patient chart"}, format="json"))
    assert data["entered_in_error"] is True
    assert data["entered_in_error_reason"] == "Wrong patient chart"
    b = AdministrationFactory.create(patient=patient, answers=f.phq9(3))
    response = api.post(
        ADMINISTRATIONS,
        {
            "patient": patient.pk,
            "instrument": "phq9",
            "answers": f.phq9(13),
            "corrects": b.pk,
            "correction_reason": "Typed the wrong row",
        },
        format="json",
    )
    assert response.status_code == 201 and as_json(response)["corrects"] == b.pk
    b.refresh_from_db()
    assert b.entered_in_error


# --- outsiders -----------------------------------------------------------------------------------


def test_it_answers_404_to_a_clinician_of_another_facility(
    other_clinician: User, patient: Patient
) -> None:
    a = AdministrationFactory.create(patient=patient)
    client = api_signed_in(other_clinician)
    assert client.get(ADMINISTRATIONS, {"patient": patient.pk}).status_code == 404
    assert client.get(f"{ADMINISTRATIONS}{a.pk}/").status_code == 404
    response = client.post(
        ADMINISTRATIONS,
        {"patient": patient.pk, "instrument": "gad7", "answers": f.gad7(1)},
        format="json",
    )
    assert response.status_code == 404
    assert (
        client.post(
            f"{ADMINISTRATIONS}{a.pk}/entered-in-error/", {"reason": "Not mine"}, format="json"
        ).status_code
        == 404
    )
    assert Administration.objects.count() == 1
    assert last_event(actor=other_clinician).action == AuditEvent.Action.DENIED


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.BILLING, Role.FRONT_DESK])
def test_it_answers_403_to_roles_without_measures(
    make_user: Callable[..., User], patient: Patient, role: str
) -> None:
    a = AdministrationFactory.create(patient=patient)
    client = api_signed_in(make_user(role))
    assert client.get(ADMINISTRATIONS, {"patient": patient.pk}).status_code == 403
    assert client.get(f"{ADMINISTRATIONS}{a.pk}/").status_code == 403
    response = client.post(
        ADMINISTRATIONS,
        {"patient": patient.pk, "instrument": "gad7", "answers": f.gad7(1)},
        format="json",
    )
    assert response.status_code == 403
    assert Administration.objects.count() == 1


def test_it_lets_admissions_create(admissions: User, patient: Patient) -> None:
    response = api_signed_in(admissions).post(
        ADMINISTRATIONS,
        {"patient": patient.pk, "instrument": "auditc", "answers": f.auditc(4)},
        format="json",
    )
    assert response.status_code == 201
    assert as_json(response)["sex_used"] == "female"
