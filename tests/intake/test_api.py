"""Inquiries and screenings over the API: public create, throttle, scope, audit, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from openiop.accounts.models import Facility, User
from openiop.intake.models import ContactAttempt, Inquiry, Screening
from openiop.notifications.models import Notification
from tests.conftest import api_signed_in, as_json, last_event
from tests.intake.conftest import cssrs

BASE = "/api/v1/inquiries/"


@pytest.fixture
def public_request() -> dict[str, Any]:
    return {
        "first_name": "Avery",
        "last_name": "Solano",
        "phone": "951-555-0142",
        "concerns": ["substances", "mental_health"],
        "consent_to_contact": True,
        "message": "Please call after 5.",
    }


def test_anyone_may_create_and_the_answer_echoes_nothing(
    facility: Facility, admissions: User, public_request: dict[str, Any]
) -> None:
    response = APIClient(enforce_csrf_checks=True).post(BASE, public_request, format="json")
    assert response.status_code == 201
    assert as_json(response) == {"received": True}
    inquiry = Inquiry.objects.get()
    assert (inquiry.facility, inquiry.source, inquiry.phone) == (
        facility,
        "web_form",
        "951-555-0142",
    )
    assert inquiry.concern_substances and inquiry.concern_mental_health
    assert Notification.objects.get().recipient == admissions


@pytest.mark.parametrize(
    "change",
    [
        {"first_name": ""},
        {"phone": "", "email": ""},
        {"phone": "555"},
        {"email": "nope"},
        {"concerns": []},
        {"concerns": ["gambling"]},
        {"consent_to_contact": False},
        {"best_time_to_call": "midnight"},
        {"facility": 999999},
    ],
)
def test_bad_public_input_is_400_with_field_errors_and_saves_nothing(
    facility: Facility, public_request: dict[str, Any], change: dict[str, Any]
) -> None:
    response = APIClient().post(BASE, {**public_request, **change}, format="json")
    assert response.status_code == 400
    errors = as_json(response)
    assert set(errors) & {*change, "phone"}
    assert not Inquiry.objects.exists()


def test_the_public_create_is_throttled_per_address(
    facility: Facility, public_request: dict[str, Any], settings: Any
) -> None:
    settings.OPENIOP_HELP_REQUEST_RATE = "2/h"
    client = APIClient(REMOTE_ADDR="203.0.113.20")
    assert client.post(BASE, public_request, format="json").status_code == 201
    assert client.post(BASE, public_request, format="json").status_code == 201
    response = client.post(BASE, public_request, format="json")
    assert response.status_code == 429
    assert "Retry-After" in response
    assert Inquiry.objects.count() == 2
    # The web form shares the same allowance.
    assert client.post("/get-help/", {}).status_code == 429


def test_the_schema_shows_the_public_create_as_unauthenticated(admissions: User) -> None:
    response = api_signed_in(admissions).get("/api/v1/schema/", {"format": "json"})
    schema = as_json(response)
    create = schema["paths"]["/api/v1/inquiries/"]["post"]
    assert create["security"] == [{}]
    assert "201" in create["responses"] and "429" in create["responses"]
    listing = schema["paths"]["/api/v1/inquiries/"]["get"]
    assert {} not in listing.get("security", [])
    assert "/api/v1/screenings/" in schema["paths"]
    assert "/api/v1/inquiries/{id}/contact-attempts/" in schema["paths"]


def test_staff_list_is_scoped_and_audited_with_a_count(
    admissions: User, inquiry: Inquiry, outside_inquiry: Inquiry
) -> None:
    response = api_signed_in(admissions).get(BASE)
    assert response.status_code == 200
    data = as_json(response)
    assert [row["id"] for row in data["results"]] == [inquiry.pk]
    event = last_event(section="inquiry list (API)")
    assert event.detail == {"results": 1}


def test_retrieve_is_audited_and_an_outsider_gets_404(
    admissions: User, other_clinician: User, inquiry: Inquiry, outside_inquiry: Inquiry
) -> None:
    client = api_signed_in(admissions)
    response = client.get(f"{BASE}{inquiry.pk}/")
    assert response.status_code == 200
    assert as_json(response)["first_name"] == "Jordan"
    assert last_event(section="inquiry", action="view").object_id == str(inquiry.pk)
    assert client.get(f"{BASE}{outside_inquiry.pk}/").status_code == 404
    outsider = api_signed_in(other_clinician)
    assert outsider.get(f"{BASE}{inquiry.pk}/").status_code == 404
    # Clinicians never move inquiries: refused by role before scope is looked at.
    response = outsider.patch(f"{BASE}{inquiry.pk}/", {"stage": "contacted"}, format="json")
    assert response.status_code == 403
    assert outsider.get(f"{BASE}{inquiry.pk}/contact-attempts/").status_code == 404


def test_the_auditor_and_anonymous_are_refused(auditor: User, inquiry: Inquiry) -> None:
    client = api_signed_in(auditor)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}{inquiry.pk}/").status_code == 403
    assert client.get("/api/v1/screenings/").status_code == 403
    assert last_event(action="denied").section == "screening (API)"
    anonymous = APIClient()
    assert anonymous.get(BASE).status_code == 401
    assert anonymous.get(f"{BASE}{inquiry.pk}/").status_code == 401
    assert anonymous.patch(f"{BASE}{inquiry.pk}/", {}, format="json").status_code == 401


def test_partial_update_moves_assigns_and_needs_the_closed_outcome_fields(
    admissions: User, clinician: User, inquiry: Inquiry, facility: Facility
) -> None:
    client = api_signed_in(admissions)
    tomorrow = timezone.localdate(timezone=facility.zone) + dt.timedelta(days=1)
    response = client.patch(
        f"{BASE}{inquiry.pk}/",
        {"owner": clinician.pk, "next_follow_up": tomorrow.isoformat(), "stage": "contacted"},
        format="json",
    )
    assert response.status_code == 200
    data = as_json(response)
    assert (data["owner"], data["next_follow_up"], data["stage"]) == (
        clinician.pk,
        tomorrow.isoformat(),
        "contacted",
    )
    response = client.patch(f"{BASE}{inquiry.pk}/", {"stage": "referred"}, format="json")
    assert response.status_code == 400
    assert "referred_to" in as_json(response)
    inquiry.refresh_from_db()
    assert inquiry.stage == "contacted"
    response = client.patch(
        f"{BASE}{inquiry.pk}/", {"stage": "referred", "referred_to": "County PHP"}, format="json"
    )
    assert as_json(response)["referred_to"] == "County PHP"


def test_a_failed_part_of_an_update_rolls_the_rest_back(
    admissions: User, clinician: User, inquiry: Inquiry
) -> None:
    response = api_signed_in(admissions).patch(
        f"{BASE}{inquiry.pk}/", {"owner": clinician.pk, "stage": "not_admitted"}, format="json"
    )
    assert response.status_code == 400
    inquiry.refresh_from_db()
    assert inquiry.owner is None


def test_a_clinician_reads_their_own_but_cannot_move_it(
    clinician: User, facility: Facility
) -> None:
    mine = Inquiry.objects.create(facility=facility, first_name="Owned", owner=clinician)
    client = api_signed_in(clinician)
    assert [r["id"] for r in as_json(client.get(BASE))["results"]] == [mine.pk]
    assert (
        client.patch(f"{BASE}{mine.pk}/", {"stage": "contacted"}, format="json").status_code == 403
    )
    response = client.post(
        f"{BASE}{mine.pk}/contact-attempts/",
        {"method": "phone", "outcome": "reached"},
        format="json",
    )
    assert response.status_code == 201
    mine.refresh_from_db()
    assert mine.stage == "contacted"


def test_contact_attempts_list_and_create(admissions: User, inquiry: Inquiry) -> None:
    client = api_signed_in(admissions)
    url = f"{BASE}{inquiry.pk}/contact-attempts/"
    assert (
        client.post(url, {"method": "pigeon", "outcome": "reached"}, format="json").status_code
        == 400
    )
    response = client.post(
        url, {"method": "text", "outcome": "left_message", "note": "Texted"}, format="json"
    )
    assert response.status_code == 201
    assert as_json(response)["made_by"] == admissions.pk
    rows = as_json(client.get(url))
    assert [r["outcome"] for r in rows] == ["left_message"]
    assert ContactAttempt.objects.count() == 1


def _screening(inquiry: Inquiry, **changes: Any) -> dict[str, Any]:
    data = {
        "inquiry": inquiry.pk,
        "withdrawal_instrument": "cows",
        "withdrawal_score": 13,
        "cssrs_answers": cssrs(),
        "living_situation": "family",
        "has_support_system": True,
        "motivation": "wants_sobriety",
        "track": "day",
        "needs_24h_supervision": False,
        "unstable": False,
    }
    data.update(changes)
    return data


def test_screenings_create_list_and_retrieve(
    admissions: User, inquiry: Inquiry, outside_inquiry: Inquiry
) -> None:
    client = api_signed_in(admissions)
    response = client.post("/api/v1/screenings/", _screening(inquiry), format="json")
    assert response.status_code == 201
    data = as_json(response)
    assert data["recommended_outcome"] == data["outcome"] == "withdrawal_management"
    assert data["recommendation_reasons"] == [
        "COWS total 13 is 13 or more: withdrawal management first."
    ]
    listed = as_json(client.get("/api/v1/screenings/", {"inquiry": inquiry.pk}))
    assert [r["id"] for r in listed["results"]] == [data["id"]]
    assert as_json(client.get("/api/v1/screenings/", {"inquiry": "x"}))["results"] == []
    assert client.get(f"/api/v1/screenings/{data['id']}/").status_code == 200
    assert last_event(section="inquiry screening (API)", action="view").object_id == str(data["id"])
    # Bad input, and an inquiry out of scope.
    bad = client.post(
        "/api/v1/screenings/", _screening(inquiry, withdrawal_score=49), format="json"
    )
    assert bad.status_code == 400 and "withdrawal_score" in as_json(bad)
    override = client.post("/api/v1/screenings/", _screening(inquiry, outcome="iop"), format="json")
    assert override.status_code == 400 and "override_reason" in as_json(override)
    outside = client.post("/api/v1/screenings/", _screening(outside_inquiry), format="json")
    assert outside.status_code == 404
    assert Screening.objects.count() == 1


def test_screenings_of_another_facility_are_not_found(
    admissions: User, other_clinician: User, inquiry: Inquiry, other_facility: Facility
) -> None:
    screening = as_json(
        api_signed_in(admissions).post("/api/v1/screenings/", _screening(inquiry), format="json")
    )
    outsider = api_signed_in(other_clinician)
    assert outsider.get(f"/api/v1/screenings/{screening['id']}/").status_code == 404
    assert as_json(outsider.get("/api/v1/screenings/"))["results"] == []


def test_front_desk_cannot_read_screenings(front_desk: User, inquiry: Inquiry) -> None:
    client = api_signed_in(front_desk)
    assert client.get(f"{BASE}{inquiry.pk}/").status_code == 200
    assert client.get("/api/v1/screenings/").status_code == 403
    assert client.post("/api/v1/screenings/", _screening(inquiry), format="json").status_code == 403
