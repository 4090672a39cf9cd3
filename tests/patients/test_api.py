"""The patients API: the same scope, rules and audit as the pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.conftest import api_signed_in
from tests.factories import EmergencyContactFactory, PatientFactory


def test_it_pages_the_patient_list(director: User, facility: Facility) -> None:
    for n in range(5):
        PatientFactory.create(facility=facility, first_name=f"P{n}", last_name=f"Lastname{n}")
    client = api_signed_in(director)
    first = client.get("/api/v1/patients/?page_size=2").json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 5
    assert first["previous"] is None
    assert first["next"].endswith("/api/v1/patients/?page=2&page_size=2")
    assert [p["last_name"] for p in first["results"]] == ["Lastname0", "Lastname1"]
    last = client.get("/api/v1/patients/?page=3&page_size=2").json()
    assert last["next"] is None
    assert [p["last_name"] for p in last["results"]] == ["Lastname4"]


def test_it_caps_the_page_size_at_200(director: User, facility: Facility) -> None:
    PatientFactory.create(facility=facility)
    response = api_signed_in(director).get("/api/v1/patients/?page_size=100000")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_it_filters_the_list_by_status_and_facility(
    make_user: Callable[..., User], facility: Facility, other_facility: Facility
) -> None:
    active = PatientFactory.create(facility=facility, status=Patient.Status.ACTIVE)
    PatientFactory.create(facility=facility, status=Patient.Status.DISCHARGED)
    there = PatientFactory.create(facility=other_facility, status=Patient.Status.ACTIVE)
    client = api_signed_in(make_user(Role.CLINICAL_DIRECTOR, facilities=[facility, other_facility]))
    by_status = client.get("/api/v1/patients/?status=active").json()["results"]
    assert {p["id"] for p in by_status} == {active.pk, there.pk}
    by_facility = client.get(f"/api/v1/patients/?facility={other_facility.pk}").json()["results"]
    assert [p["id"] for p in by_facility] == [there.pk]


def test_it_records_the_api_list_as_a_search_with_the_count(
    director: User, facility: Facility
) -> None:
    PatientFactory.create(facility=facility)
    api_signed_in(director).get("/api/v1/patients/")
    event = AuditEvent.objects.get(action=AuditEvent.Action.SEARCH)
    assert (event.actor, event.channel, event.detail) == (director, "api", {"results": 1})


def test_it_reads_a_patient_with_contacts_and_records_the_view(
    clinician: User, patient: Patient
) -> None:
    EmergencyContactFactory.create(patient=patient, name="Ana Quintero", phone="951-555-0111")
    response = api_signed_in(clinician).get(
        f"/api/v1/patients/{patient.pk}/", HTTP_USER_AGENT="integration/1.0"
    )
    data = response.json()
    assert data["mrn"] == patient.mrn
    assert data["age"] >= 36
    assert data["emergency_contacts"] == [
        {
            "id": patient.support_contacts.get().pk,
            "name": "Ana Quintero",
            "relationship": "sister",
            "phone": "951-555-0111",
        }
    ]
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (event.patient_id, event.section, event.channel) == (
        patient.pk,
        "demographics (API)",
        "api",
    )
    assert event.user_agent == "integration/1.0"


def test_it_updates_a_patient_with_patch_and_records_the_change(
    clinician: User, patient: Patient
) -> None:
    old_phone = patient.phone
    response = api_signed_in(clinician).patch(
        f"/api/v1/patients/{patient.pk}/",
        {"preferred_name": "Dee", "phone": "(951) 555-0188", "facility": 999},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["preferred_name"] == "Dee"
    assert response.json()["phone"] == "951-555-0188"
    patient.refresh_from_db()
    assert patient.facility.code == "HTF"  # the facility of a record does not move
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE)
    assert event.changes == {
        "phone": [old_phone, "951-555-0188"],
        "preferred_name": ["", "Dee"],
    }
    assert event.channel == "api"


def test_it_refuses_a_bad_patch_and_changes_nothing(clinician: User, patient: Patient) -> None:
    client = api_signed_in(clinician)
    before = Patient.objects.values().get(pk=patient.pk)
    for payload, field in (
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"phone": "123"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"last_name": ""}, "last_name"),
    ):
        response = client.patch(f"/api/v1/patients/{patient.pk}/", payload, format="json")
        assert response.status_code == 400
        assert field in response.json()
    assert Patient.objects.values().get(pk=patient.pk) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_it_replaces_emergency_contacts_through_the_api(clinician: User, patient: Patient) -> None:
    old = EmergencyContactFactory.create(patient=patient, name="Old Friend")
    response = api_signed_in(clinician).patch(
        f"/api/v1/patients/{patient.pk}/",
        {
            "emergency_contacts": [
                {"name": "New Friend", "relationship": "friend", "phone": "9515550111"}
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["emergency_contacts"]] == ["New Friend"]
    sections = AuditEvent.objects.filter(section="emergency contacts")
    assert sorted(sections.values_list("action", flat=True)) == ["create", "delete"]
    assert sections.get(action="delete").object_id == str(old.pk)


@pytest.mark.parametrize("role", [Role.BILLING, Role.MEDICAL, Role.ALUMNI_COORDINATOR])
def test_it_refuses_changes_from_roles_that_only_read(
    role: str, make_user: Callable[..., User], unassigned_patient: Patient
) -> None:
    client = api_signed_in(make_user(role))
    url = f"/api/v1/patients/{unassigned_patient.pk}/"
    assert client.get(url).status_code == 200
    response = client.patch(url, {"last_name": "Changed"}, format="json")
    assert response.status_code == 403
    assert Patient.objects.get(pk=unassigned_patient.pk).last_name == "Nakamura"


def test_it_answers_404_to_a_patch_out_of_scope(
    clinician: User, outside_patient: Patient, unassigned_patient: Patient
) -> None:
    client = api_signed_in(clinician)
    for target in (outside_patient, unassigned_patient):
        response = client.patch(
            f"/api/v1/patients/{target.pk}/", {"last_name": "Changed"}, format="json"
        )
        assert response.status_code == 404
        assert Patient.objects.get(pk=target.pk).last_name != "Changed"


def test_it_refuses_to_delete_a_patient_through_the_api(
    administrator: User, unassigned_patient: Patient
) -> None:
    response = api_signed_in(administrator).delete(f"/api/v1/patients/{unassigned_patient.pk}/")
    assert response.status_code == 405
    assert Patient.objects.filter(pk=unassigned_patient.pk).exists()


def test_it_replaces_a_patient_with_put(clinician: User, patient: Patient) -> None:
    client = api_signed_in(clinician)
    current = client.get(f"/api/v1/patients/{patient.pk}/").json()
    current.update({"first_name": "Danielle", "emergency_contacts": []})
    response = client.put(f"/api/v1/patients/{patient.pk}/", current, format="json")
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.first_name == "Danielle"
