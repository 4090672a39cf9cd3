"""What the audit trail records (HIPAA §164.312(b)): who, what, whose record, when, from where."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.audit.models import AuditEvent
from openiop.patients import services
from openiop.patients.models import Patient
from tests.conftest import api_signed_in, signed_in
from tests.factories import EmergencyContactFactory
from tests.patients.forms import new_patient

Action = AuditEvent.Action
WHERE: dict[str, Any] = {
    "REMOTE_ADDR": "203.0.113.7",
    "HTTP_USER_AGENT": "Firefox/128 (front desk PC 3)",
}


def test_it_records_a_creation_by_the_service_with_every_value(
    admissions: User, facility: Facility
) -> None:
    before = timezone.now()
    created = services.create_patient(
        actor=admissions,
        facility=facility,
        data={
            "first_name": "Noor",
            "last_name": "Haddad",
            "date_of_birth": dt.date(1970, 5, 6),
            "sex_at_birth": "female",
            "phone": "951 555 0100",
        },
        emergency_contacts=[{"name": "Sami Haddad", "relationship": "son", "phone": "9515550101"}],
    )
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="patients.patient")
    assert event.actor == admissions
    assert event.actor_label == "admissions@example.org"
    assert event.patient_id == created.pk
    assert event.facility_id == facility.pk
    assert event.object_id == str(created.pk)
    assert event.section == "demographics"
    assert event.changes["first_name"] == [None, "Noor"]
    assert event.changes["date_of_birth"] == [None, "1970-05-06"]
    assert event.changes["phone"] == [None, "951-555-0100"]
    assert event.changes["mrn"] == [None, created.mrn]
    assert event.changes["facility_id"] == [None, facility.pk]
    assert event.channel == "command"  # no request: a shell, a command or a task
    assert event.at >= before
    contact = AuditEvent.objects.get(action=Action.CREATE, section="emergency contacts")
    assert contact.changes["name"] == [None, "Sami Haddad"]


def test_it_records_where_a_web_request_came_from(admissions: User, facility: Facility) -> None:
    client = signed_in(admissions, **WHERE)
    client.post("/patients/new/", new_patient())
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="patients.patient")
    assert (event.ip, event.user_agent, event.channel) == (
        "203.0.113.7",
        "Firefox/128 (front desk PC 3)",
        "web",
    )


def test_it_records_where_an_api_request_came_from(admissions: User, facility: Facility) -> None:
    client = api_signed_in(admissions)
    client.post(
        "/api/v1/patients/",
        {
            "facility": facility.pk,
            "mrn": "",
            "first_name": "Ivo",
            "last_name": "Petrov",
            "date_of_birth": "1980-02-02",
            "sex_at_birth": "male",
        },
        format="json",
        **WHERE,
    )
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="patients.patient")
    assert (event.ip, event.user_agent, event.channel) == (
        "203.0.113.7",
        "Firefox/128 (front desk PC 3)",
        "api",
    )


def test_it_cuts_a_very_long_user_agent(clinician: User, patient: Patient) -> None:
    client = signed_in(clinician, HTTP_USER_AGENT="x" * 1000)
    client.get(f"/patients/{patient.pk}/")
    assert AuditEvent.objects.get(action=Action.VIEW).user_agent == "x" * 300


def test_it_records_a_change_with_before_and_after(director: User, patient: Patient) -> None:
    services.update_patient(
        actor=director,
        patient=patient,
        data={"status": "discharged", "city": "Corona", "first_name": "Dana"},
    )
    event = AuditEvent.objects.get(action=Action.UPDATE)
    assert event.changes == {"city": ["", "Corona"], "status": ["active", "discharged"]}
    assert (event.actor, event.patient_id, event.section) == (director, patient.pk, "demographics")


def test_it_records_the_removal_of_an_emergency_contact(director: User, patient: Patient) -> None:
    contact = EmergencyContactFactory.create(patient=patient, name="Ana", phone="951-555-0111")
    services.set_emergency_contacts(actor=director, patient=patient, contacts=[])
    event = AuditEvent.objects.get(action=Action.DELETE)
    assert (event.patient_id, event.object_type, event.object_id) == (
        patient.pk,
        "patients.supportcontact",
        str(contact.pk),
    )
    assert event.changes == {
        "name": ["Ana", None],
        "relationship": ["sister", None],
        "phone": ["951-555-0111", None],
        "order": [0, None],
    }


def test_it_records_each_opening_of_the_chart(
    clinician: User, clinician_client: Client, patient: Patient
) -> None:
    clinician_client.get(f"/patients/{patient.pk}/", **WHERE)
    clinician_client.get(f"/patients/{patient.pk}/")
    views = AuditEvent.objects.filter(action=Action.VIEW, patient_id=patient.pk)
    assert views.count() == 2
    first = views.order_by("id").first()
    assert first is not None
    assert (first.actor, first.section, first.ip, first.facility_id) == (
        clinician,
        "chart summary",
        "203.0.113.7",
        patient.facility_id,
    )


def test_it_records_the_edit_form_as_a_view_of_demographics(
    clinician_client: Client, patient: Patient
) -> None:
    clinician_client.get(f"/patients/{patient.pk}/edit/")
    assert AuditEvent.objects.get(action=Action.VIEW).section == "demographics (edit)"


def test_it_records_a_print_of_the_face_sheet(
    clinician: User, clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.get(f"/patients/{patient.pk}/print/")
    assert "42 CFR part 2 prohibits unauthorized use or disclosure of these records." in (
        response.content.decode()
    )
    event = AuditEvent.objects.get(action=Action.PRINT)
    assert (event.actor, event.patient_id, event.section) == (clinician, patient.pk, "face sheet")
    assert not AuditEvent.objects.filter(action=Action.VIEW).exists()


def test_it_records_the_export_of_the_audit_trail(auditor: User, auditor_client: Client) -> None:
    response = auditor_client.get("/audit/export.csv?action=view")
    b"".join(response.streaming_content)  # type: ignore[attr-defined]
    event = AuditEvent.objects.get(action=Action.EXPORT)
    assert (event.actor, event.section, event.detail) == (
        auditor,
        "audit trail CSV",
        {"action": "view"},
    )


def test_it_records_sign_in_and_sign_out(clinician: User) -> None:
    client = Client(**WHERE)
    client.post(
        "/accounts/login/", {"login": clinician.email, "password": "correct-horse-battery-staple"}
    )
    client.post("/accounts/logout/")
    events = AuditEvent.objects.filter(actor=clinician).order_by("id")
    assert [e.action for e in events] == [Action.SIGN_IN, Action.SIGN_OUT]
    assert all(e.ip == "203.0.113.7" for e in events)


def test_it_records_a_deleted_patients_last_values(
    administrator: User, unassigned_patient: Patient
) -> None:
    pk = unassigned_patient.pk
    services.delete_patient(
        actor=administrator, patient=unassigned_patient, reason="Registered twice by mistake."
    )
    event = AuditEvent.objects.get(action=Action.DELETE)
    assert event.patient_id == pk
    assert event.changes["first_name"] == ["Kai", None]
    assert event.reason == "Registered twice by mistake."
    # The trail outlives the record it speaks of.
    assert not Patient.objects.filter(pk=pk).exists()
    assert AuditEvent.objects.filter(patient_id=pk).count() == 1


def test_it_records_care_team_changes(
    director: User, clinician: User, unassigned_patient: Patient
) -> None:
    client = signed_in(director)
    client.post(
        f"/patients/{unassigned_patient.pk}/care-team/",
        {"user": clinician.pk, "role": "primary_clinician"},
    )
    event = AuditEvent.objects.get(action=Action.CREATE, section="care team")
    assert event.changes == {"user_id": [None, clinician.pk], "role": [None, "primary_clinician"]}
    assignment = unassigned_patient.care_team.get()
    client.post(f"/patients/{unassigned_patient.pk}/care-team/{assignment.pk}/end/")
    ended = AuditEvent.objects.get(action=Action.UPDATE, section="care team")
    assert list(ended.changes) == ["ended_on"]
