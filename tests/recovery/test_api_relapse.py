"""Relapse events, the sobriety date (history and reset) and the clinical response to a
drug test over the API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import ClinicalAlert
from openiop.recovery.models import RelapseEvent, SobrietyDate
from tests.conftest import api_signed_in
from tests.recovery.factories import a_relapse, a_test, in_care

pytestmark = pytest.mark.django_db

API = "/api/v1/"


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return in_care(facility, clinician)


def as_json(response: Any) -> Any:
    return json.loads(response.content)


def rows(response: Any) -> list[Any]:
    data = as_json(response)
    return data["results"] if isinstance(data, dict) else data


def test_a_relapse_resets_the_sobriety_date_and_the_history_lists_both(
    clinician: User, ep: EpisodeOfCare
) -> None:
    client = api_signed_in(clinician)
    first = client.post(
        API + "sobriety-dates/reset/",
        {"patient": ep.patient_id, "sobriety_date": "2025-11-01"},
        format="json",
    )
    assert first.status_code == 201, first.content
    test = a_test(clinician, ep, results={"cocaine": "positive"})
    made = client.post(
        API + "relapse-events/",
        {
            "patient": ep.patient_id,
            "date": "2026-03-04",
            "substances": ["cocaine"],
            "came_to_light": "drug_test",
            "drug_test": test.pk,
            "responses": ["level_of_care"],
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    assert as_json(made)["drug_test"] == test.pk
    history = rows(client.get(API + "sobriety-dates/", {"patient": ep.patient_id}))
    assert [(h["sobriety_date"], h["previous_date"], h["reason"]) for h in history] == [
        ("2026-03-05", "2025-11-01", "relapse"),
        ("2025-11-01", None, "first"),
    ]


def test_a_reset_of_a_recorded_date_needs_a_reason(clinician: User, ep: EpisodeOfCare) -> None:
    client = api_signed_in(clinician)
    body = {"patient": ep.patient_id, "sobriety_date": "2025-11-01"}
    client.post(API + "sobriety-dates/reset/", body, format="json")
    again = client.post(
        API + "sobriety-dates/reset/", {**body, "sobriety_date": "2025-11-09"}, format="json"
    )
    assert again.status_code == 400 and "reason_text" in as_json(again)
    assert SobrietyDate.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"substances": []}, "substances"),
        ({"came_to_light": "drug_test"}, "drug_test"),
        ({"date": "2099-01-01"}, "date"),
        ({"drug_test": 999999, "came_to_light": "drug_test"}, "drug_test"),
    ],
)
def test_bad_relapses_answer_400_with_the_field(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, Any], field: str
) -> None:
    data = {
        "patient": ep.patient_id,
        "date": "2026-03-04",
        "substances": ["alcohol"],
        "came_to_light": "self_report",
        **changes,
    }
    response = api_signed_in(clinician).post(API + "relapse-events/", data, format="json")
    assert response.status_code == 400
    assert field in as_json(response)
    assert not RelapseEvent.objects.exists()


def test_the_clinical_response_action_acknowledges_the_alert(
    clinician: User, ep: EpisodeOfCare
) -> None:
    test = a_test(clinician, ep, results={"cocaine": "positive"})
    client = api_signed_in(clinician)
    bad = client.post(
        API + f"drug-tests/{test.pk}/response/", {"actions": ["none_needed"]}, format="json"
    )
    assert bad.status_code == 400 and "note" in as_json(bad)
    done = client.post(
        API + f"drug-tests/{test.pk}/response/",
        {"actions": ["discussed"], "note": "Talked it through."},
        format="json",
    )
    assert done.status_code == 201, done.content
    assert as_json(done)["response"]["actions"] == ["discussed"]
    assert ClinicalAlert.objects.get().acknowledged_by == clinician


def test_out_of_scope_is_404_and_other_roles_403(
    clinician: User, other_clinician: User, front_desk: User, ep: EpisodeOfCare
) -> None:
    event = a_relapse(clinician, ep)
    test = a_test(clinician, ep, results={"cocaine": "positive"})
    outsider = api_signed_in(other_clinician)
    assert outsider.get(API + f"relapse-events/{event.pk}/").status_code == 404
    assert outsider.get(API + "sobriety-dates/", {"patient": ep.patient_id}).status_code == 404
    reset = outsider.post(
        API + "sobriety-dates/reset/",
        {"patient": ep.patient_id, "sobriety_date": "2025-11-01", "reason": "x"},
        format="json",
    )
    assert reset.status_code == 404
    respond = outsider.post(
        API + f"drug-tests/{test.pk}/response/", {"actions": ["discussed"]}, format="json"
    )
    assert respond.status_code == 404
    desk = api_signed_in(front_desk)
    assert desk.get(API + "relapse-events/", {"patient": ep.patient_id}).status_code == 403
    assert desk.get(API + "sobriety-dates/", {"patient": ep.patient_id}).status_code == 403
    assert AuditEvent.objects.filter(action="denied", section="recovery (API)").exists()
    assert ClinicalAlert.objects.get().acknowledged_at is None
