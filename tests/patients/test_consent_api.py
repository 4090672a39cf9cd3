"""The REST API for support contacts, consents and disclosures: scoped, audited, enforced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.patients.models import Consent, Disclosure, Patient, SupportContact
from tests.conftest import api_signed_in
from tests.factories import SupportContactFactory
from tests.patients.consent_factories import ConsentFactory, DisclosureFactory

# --- support contacts -------------------------------------------------------------------------


def test_it_creates_lists_and_updates_support_contacts(clinician: User, patient: Patient) -> None:
    client = api_signed_in(clinician)
    response = client.post(
        "/api/v1/support-contacts/",
        {
            "patient": patient.pk,
            "name": "Chris Alvarez",
            "relationship_kind": "sponsor",
            "phone": "9515550142",
            "is_sponsor": True,
            "in_recovery": "yes",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["phone"], created["is_emergency_contact"]) == ("951-555-0142", False)
    listed = client.get(f"/api/v1/support-contacts/?patient={patient.pk}").json()
    assert [c["name"] for c in listed["results"]] == ["Chris Alvarez"]
    response = client.patch(
        f"/api/v1/support-contacts/{created['id']}/", {"active": False}, format="json"
    )
    assert response.json()["active"] is False
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, section="support system")
    assert (event.changes, event.channel) == ({"active": [True, False]}, "api")


def test_it_refuses_bad_support_contact_input(clinician: User, patient: Patient) -> None:
    response = api_signed_in(clinician).post(
        "/api/v1/support-contacts/",
        {"patient": patient.pk, "name": "Ana", "phone": "12", "relationship_kind": "cousin"},
        format="json",
    )
    assert response.status_code == 400
    assert {"phone", "relationship_kind"} <= set(response.json())
    assert not SupportContact.objects.exists()


def test_it_shows_front_desk_only_emergency_contacts_and_refuses_their_writes(
    patient: Patient, make_user: Callable[..., User]
) -> None:
    SupportContactFactory.create(patient=patient, name="Ana Emergency")
    SupportContactFactory.create(patient=patient, name="Chris Sponsor", is_emergency_contact=False)
    client = api_signed_in(make_user(Role.FRONT_DESK))
    listed = client.get(f"/api/v1/support-contacts/?patient={patient.pk}").json()
    assert [c["name"] for c in listed["results"]] == ["Ana Emergency"]
    response = client.post(
        "/api/v1/support-contacts/", {"patient": patient.pk, "name": "X"}, format="json"
    )
    assert response.status_code == 403


# --- consents ---------------------------------------------------------------------------------


def test_it_creates_signs_and_revokes_a_consent(clinician: User, patient: Patient) -> None:
    client = api_signed_in(clinician)
    response = client.post(
        "/api/v1/consents/",
        {
            "patient": patient.pk,
            "kind": "tpo",
            "categories": ["all"],
            "purpose": "Treatment, payment and operations.",
            "expiry_kind": "none",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    consent = response.json()
    assert (consent["status"], consent["categories"]) == ("draft", ["all"])
    url = f"/api/v1/consents/{consent['id']}/"
    response = client.post(
        f"{url}sign/",
        {"signer": "patient", "typed_signature": "Dana Quintero", "attested": False},
        format="json",
    )
    assert response.status_code == 400
    assert "attested" in response.json()
    response = client.post(
        f"{url}sign/",
        {"signer": "patient", "typed_signature": "Dana Quintero", "attested": True},
        format="json",
    )
    assert response.json()["status"] == "active"
    response = client.post(f"{url}revoke/", {"revocation_method": "writing"}, format="json")
    assert response.json()["status"] == "revoked"
    assert (
        response.json()["revoked_on"]
        == timezone.localdate(timezone=patient.facility.zone).isoformat()
    )


def test_it_refuses_a_consent_without_its_elements(clinician: User, patient: Patient) -> None:
    response = api_signed_in(clinician).post(
        "/api/v1/consents/",
        {
            "patient": patient.pk,
            "kind": "named",
            "categories": ["attendance"],
            "purpose": "Reports.",
            "expiry_kind": "none",
        },
        format="json",
    )
    assert response.status_code == 400
    assert {"recipient_name", "expiry_kind"} <= set(response.json())
    assert not Consent.objects.exists()


def test_it_lets_billing_read_consents_but_not_write_them(
    patient: Patient, make_user: Callable[..., User]
) -> None:
    ConsentFactory.create(patient=patient, tpo=True)
    client = api_signed_in(make_user(Role.BILLING))
    listed = client.get(f"/api/v1/consents/?patient={patient.pk}").json()
    assert [c["kind"] for c in listed["results"]] == ["tpo"]
    response = client.post(
        "/api/v1/consents/", {"patient": patient.pk, "kind": "tpo"}, format="json"
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/support-contacts/?patient={patient.pk}").status_code == 403


# --- disclosures --------------------------------------------------------------------------------


def disclosure_body(patient: Patient, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patient": patient.pk,
        "recipient_name": "Officer Jordan Reyes",
        "recipient_organization": "County Probation",
        "categories": ["attendance"],
        "purpose": "Monthly progress report.",
    }
    data.update(overrides)
    return data


def test_it_discloses_under_a_consent_and_returns_the_record(
    clinician: User, patient: Patient
) -> None:
    consent = ConsentFactory.create(patient=patient)
    client = api_signed_in(clinician)
    response = client.post("/api/v1/disclosures/", disclosure_body(patient), format="json")
    assert response.status_code == 201, response.json()
    made = response.json()
    assert (made["consent"], made["categories"]) == (consent.pk, ["attendance"])
    event = AuditEvent.objects.get(action=AuditEvent.Action.DISCLOSE)
    assert event.channel == "api"
    listed = client.get(f"/api/v1/disclosures/?patient={patient.pk}").json()
    assert [d["id"] for d in listed["results"]] == [made["id"]]


@pytest.mark.parametrize(
    ("consent_overrides", "request_overrides", "reason"),
    [
        (
            {"expires_on": "2024-03-01"},
            {},
            "The consent expired on 03/01/2024.",
        ),
        (
            {"revoked_on": "2025-01-02", "revoked_at": "2025-01-02T17:00:00Z"},
            {},
            "The consent was revoked on 01/02/2025.",
        ),
        (
            {},
            {"recipient_name": "Ana Quintero", "recipient_organization": ""},
            "No consent names Ana Quintero.",
        ),
        (
            {},
            {"categories": ["drug_tests", "medications"]},
            "This consent does not cover medications.",
        ),
    ],
)
def test_it_answers_400_with_the_reason_when_a_disclosure_is_refused(
    clinician: User,
    patient: Patient,
    consent_overrides: dict[str, Any],
    request_overrides: dict[str, Any],
    reason: str,
) -> None:
    ConsentFactory.create(patient=patient, **consent_overrides)
    response = api_signed_in(clinician).post(
        "/api/v1/disclosures/", disclosure_body(patient, **request_overrides), format="json"
    )
    assert response.status_code == 400
    assert response.json()["non_field_errors"][0].startswith(reason)
    assert not Disclosure.objects.exists()


def test_it_refuses_a_consent_of_another_patient_by_id(
    clinician: User, patient: Patient, outside_patient: Patient
) -> None:
    theirs = ConsentFactory.create(patient=outside_patient)
    response = api_signed_in(clinician).post(
        "/api/v1/disclosures/", disclosure_body(patient, consent=theirs.pk), format="json"
    )
    assert response.status_code == 400
    assert "consent" in response.json()


# --- outsiders ----------------------------------------------------------------------------------


def test_it_answers_404_to_a_clinician_of_another_facility(
    other_clinician: User, patient: Patient
) -> None:
    contact = SupportContactFactory.create(patient=patient)
    consent = ConsentFactory.create(patient=patient)
    made = DisclosureFactory.create(patient=patient, consent=consent)
    client = api_signed_in(other_clinician)
    for url in (
        f"/api/v1/support-contacts/{contact.pk}/",
        f"/api/v1/consents/{consent.pk}/",
        f"/api/v1/disclosures/{made.pk}/",
    ):
        assert client.get(url).status_code == 404
    for url in ("/api/v1/support-contacts/", "/api/v1/consents/", "/api/v1/disclosures/"):
        assert client.get(f"{url}?patient={patient.pk}").json()["results"] == []
    assert (
        client.post(
            f"/api/v1/consents/{consent.pk}/revoke/",
            {"revocation_method": "writing"},
            format="json",
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/support-contacts/", {"patient": patient.pk, "name": "X"}, format="json"
        ).status_code
        == 404
    )
    assert (
        client.post("/api/v1/disclosures/", disclosure_body(patient), format="json").status_code
        == 404
    )
    assert not Disclosure.objects.exclude(pk=made.pk).exists()
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_it_refuses_the_auditor(auditor: User, patient: Patient) -> None:
    consent = ConsentFactory.create(patient=patient)
    client = api_signed_in(auditor)
    for url in ("/api/v1/support-contacts/", "/api/v1/consents/", "/api/v1/disclosures/"):
        assert client.get(url).status_code == 403
    assert client.get(f"/api/v1/consents/{consent.pk}/").status_code == 403
    assert (
        client.post("/api/v1/disclosures/", disclosure_body(patient), format="json").status_code
        == 403
    )


def test_it_lists_in_a_constant_number_of_queries(
    clinician: User, patient: Patient, django_assert_max_num_queries: Callable[[int], Any]
) -> None:
    for n in range(20):
        ConsentFactory.create(patient=patient, recipient_name=f"Person {n}")
    client = api_signed_in(clinician)
    client.get("/api/v1/consents/")
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/v1/consents/?patient={patient.pk}")
    assert len(response.json()["results"]) == 20
