"""Registering and editing patients: bad input saves nothing, duplicates warn, MRNs, contacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.patients import services
from openiop.patients.models import Patient, SupportContact
from tests.conftest import api_signed_in, body, signed_in
from tests.factories import (
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    EmergencyContactFactory,
    FacilityFactory,
    OrganizationFactory,
    PatientFactory,
)
from tests.patients.forms import contact_rows, edit_of, new_patient

CREATE = AuditEvent.Action.CREATE


def creations() -> int:
    return AuditEvent.objects.filter(action=CREATE, object_type="patients.patient").count()


@pytest.fixture
def admissions_client(admissions: User) -> Client:
    return signed_in(admissions)


def api_body(facility: Facility, /, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "facility": facility.pk,
        "mrn": "",
        "first_name": "Marisol",
        "last_name": "Okonkwo",
        "date_of_birth": "1988-07-03",
        "sex_at_birth": "female",
        "phone": "951 555 0123",
        "email": "marisol@example.org",
    }
    data.update(overrides)
    return data


# --- the registration form -------------------------------------------------------------------


def test_it_registers_a_patient_from_the_form(
    admissions: User, admissions_client: Client, facility: Facility
) -> None:
    response = admissions_client.post(
        "/patients/new/",
        new_patient(
            **contact_rows({"name": "Ana Okonkwo", "relationship": "sister", "phone": "9515550111"})
        ),
    )
    created = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{created.pk}/"
    assert created.facility == facility
    assert created.created_by == admissions
    assert created.phone == "951-555-0123"
    assert created.phone_digits == "9515550123"
    assert created.state == "CA"
    assert [(c.name, c.phone) for c in created.emergency_contacts] == [
        ("Ana Okonkwo", "951-555-0111")
    ]
    chart = admissions_client.get(response["Location"])
    assert f"is registered with MRN {created.mrn}" in body(chart)


def test_it_assigns_the_next_mrn_of_the_facility_when_none_is_typed(
    admissions_client: Client, facility: Facility
) -> None:
    admissions_client.post("/patients/new/", new_patient())
    admissions_client.post(
        "/patients/new/", new_patient(first_name="Teodoro", last_name="Vance", mrn="  ")
    )
    assert list(Patient.objects.order_by("pk").values_list("mrn", flat=True)) == [
        "HTF-100001",
        "HTF-100002",
    ]


def test_it_keeps_a_typed_mrn_in_capitals(admissions_client: Client) -> None:
    admissions_client.post("/patients/new/", new_patient(mrn=" htf-7 "))
    assert Patient.objects.get().mrn == "HTF-7"


def test_it_skips_an_mrn_someone_typed_by_hand_when_assigning_the_next(
    admissions: User, facility: Facility
) -> None:
    PatientFactory.create(facility=facility, mrn="HTF-100001")
    created = services.create_patient(
        actor=admissions,
        facility=facility,
        data={
            "first_name": "Lior",
            "last_name": "Adebayo",
            "date_of_birth": dt.date(1979, 1, 2),
            "sex_at_birth": "male",
        },
    )
    assert created.mrn == "HTF-100002"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"date_of_birth": "2999-01-01"},
            "date_of_birth",
            "The date of birth cannot be in the future.",
        ),
        ({"date_of_birth": "1890-01-01"}, "date_of_birth", "older than 120"),
        ({"date_of_birth": "not a date"}, "date_of_birth", "Enter a valid date."),
        ({"phone": "555-0123"}, "phone", "Enter a 10-digit phone number"),
        ({"phone": "951-555-CALL"}, "phone", "Use digits only"),
        ({"email": "marisol at example"}, "email", "Enter a valid email address."),
        ({"first_name": ""}, "first_name", "This field is required."),
        ({"last_name": "   "}, "last_name", "This field is required."),
        ({"sex_at_birth": "robot"}, "sex_at_birth", "Select a valid choice."),
    ],
)
def test_it_saves_nothing_when_the_form_has_bad_input(
    admissions_client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    response = admissions_client.post("/patients/new/", new_patient(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert message in " ".join(response.context["form"].errors[field])
    assert "Nothing was saved." in body(response)
    assert Patient.objects.count() == 0
    assert creations() == 0


def test_it_saves_nothing_when_an_emergency_contact_is_half_filled(
    admissions_client: Client,
) -> None:
    response = admissions_client.post(
        "/patients/new/",
        new_patient(**contact_rows({"name": "Ana", "relationship": "", "phone": ""})),
    )
    assert response.status_code == 200
    assert "Give the contact&#x27;s name, relationship and phone number" in body(response)
    assert Patient.objects.count() == 0
    assert SupportContact.objects.count() == 0


def test_it_refuses_an_mrn_already_used_at_the_facility(
    admissions_client: Client, patient: Patient
) -> None:
    response = admissions_client.post("/patients/new/", new_patient(mrn=patient.mrn.lower()))
    assert response.status_code == 200
    assert response.context["form"].errors["mrn"] == [
        "Another patient at this facility has this medical record number."
    ]
    assert Patient.objects.count() == 1
    assert creations() == 0


def test_it_allows_the_same_mrn_at_another_facility(
    make_user: Callable[..., User], other_facility: Facility, patient: Patient
) -> None:
    elsewhere = signed_in(make_user(Role.ADMISSIONS, facilities=[other_facility]))
    response = elsewhere.post("/patients/new/", new_patient(mrn=patient.mrn))
    assert response.status_code == 302
    assert Patient.objects.filter(mrn=patient.mrn).count() == 2


def test_it_refuses_registration_in_a_facility_the_user_does_not_work_at(
    admissions: User, other_facility: Facility
) -> None:
    with pytest.raises(ValidationError) as error:
        services.create_patient(
            actor=admissions,
            facility=other_facility,
            data={"first_name": "A", "last_name": "B", "date_of_birth": dt.date(1990, 1, 1)},
        )
    assert "facility" in error.value.message_dict
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(
    "role", [Role.BILLING, Role.MEDICAL, Role.ALUMNI_COORDINATOR, Role.AUDITOR]
)
def test_it_keeps_the_registration_form_from_roles_that_do_not_register(
    role: str, make_user: Callable[..., User]
) -> None:
    client = signed_in(make_user(role))
    assert client.get("/patients/new/").status_code == 403
    assert client.post("/patients/new/", new_patient()).status_code == 403
    assert Patient.objects.count() == 0


def test_it_lets_a_clinician_open_the_chart_they_just_registered(
    clinician_client: Client,
) -> None:
    response = clinician_client.post("/patients/new/", new_patient(), follow=True)
    assert response.status_code == 200
    assert "Okonkwo" in body(response)


# --- likely duplicates ------------------------------------------------------------------------


def test_it_warns_about_a_likely_duplicate_and_saves_nothing(
    admissions_client: Client, patient: Patient
) -> None:
    response = admissions_client.post(
        "/patients/new/",
        new_patient(first_name="Dana", last_name="Quintaro", date_of_birth="1990-04-12"),
    )
    text = body(response)
    assert response.status_code == 200
    assert "This may be someone already registered." in text
    assert f'href="/patients/{patient.pk}/"' in text
    assert f"MRN {patient.mrn}" in text
    assert 'name="confirm_not_duplicate"' in text
    assert Patient.objects.count() == 1
    assert creations() == 0


def test_it_saves_a_different_person_once_the_duplicate_check_is_confirmed(
    admissions_client: Client, patient: Patient
) -> None:
    response = admissions_client.post(
        "/patients/new/",
        new_patient(
            first_name="Dana",
            last_name="Quintaro",
            date_of_birth="1990-04-12",
            confirm_not_duplicate="on",
        ),
    )
    assert response.status_code == 302
    created = Patient.objects.exclude(pk=patient.pk).get()
    event = AuditEvent.objects.get(action=CREATE, patient_id=created.pk)
    assert event.detail == {"duplicate_warning_overridden": True}


def test_it_does_not_warn_for_a_similar_name_born_another_day(
    admissions_client: Client, patient: Patient
) -> None:
    response = admissions_client.post(
        "/patients/new/",
        new_patient(first_name="Dana", last_name="Quintero", date_of_birth="1990-04-13"),
    )
    assert response.status_code == 302


def test_it_answers_possible_duplicates_through_the_api_until_confirmed(
    admissions: User, facility: Facility, patient: Patient
) -> None:
    client = api_signed_in(admissions)
    same = api_body(facility, first_name="Quintero", last_name="Dana", date_of_birth="1990-04-12")
    refused = client.post("/api/v1/patients/", same, format="json")
    assert refused.status_code == 400
    assert refused.json()["possible_duplicates"] == [
        {"id": patient.pk, "mrn": patient.mrn, "name": "Dana Quintero"}
    ]
    assert "confirm_not_duplicate" in refused.json()
    assert Patient.objects.count() == 1
    assert creations() == 0

    accepted = client.post(
        "/api/v1/patients/", {**same, "confirm_not_duplicate": True}, format="json"
    )
    assert accepted.status_code == 201
    assert Patient.objects.count() == 2


# --- the API ---------------------------------------------------------------------------------


def test_it_registers_a_patient_through_the_api(admissions: User, facility: Facility) -> None:
    response = api_signed_in(admissions).post(
        "/api/v1/patients/",
        api_body(
            facility,
            emergency_contacts=[{"name": "Ana", "relationship": "sister", "phone": "9515550111"}],
        ),
        format="json",
    )
    assert response.status_code == 201
    data = response.json()
    assert data["mrn"] == "HTF-100001"
    assert data["phone"] == "951-555-0123"
    assert data["emergency_contacts"][0]["phone"] == "951-555-0111"
    event = AuditEvent.objects.get(action=CREATE, object_type="patients.patient")
    assert event.channel == "api"
    assert event.patient_id == data["id"]


def test_it_assigns_an_mrn_when_the_api_call_leaves_it_out(
    admissions: User, facility: Facility
) -> None:
    payload = api_body(facility)
    del payload["mrn"]
    response = api_signed_in(admissions).post("/api/v1/patients/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["mrn"] == "HTF-100001"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
        ({"phone": "555-0123"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "   "}, "last_name"),
        ({"facility": 999999}, "facility"),
        (
            {"emergency_contacts": [{"name": "A", "relationship": "b", "phone": "1"}]},
            "emergency_contacts",
        ),
    ],
)
def test_it_answers_400_with_the_field_and_saves_nothing_through_the_api(
    admissions: User, facility: Facility, overrides: dict[str, Any], field: str
) -> None:
    response = api_signed_in(admissions).post(
        "/api/v1/patients/", api_body(facility, **overrides), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert Patient.objects.count() == 0
    assert creations() == 0


def test_it_refuses_a_facility_the_api_caller_does_not_work_at(
    admissions: User, facility: Facility, other_facility: Facility
) -> None:
    foreign = FacilityFactory.create(
        organization=OrganizationFactory.create(name="Another Org"), code="FOR"
    )
    client = api_signed_in(admissions)
    for target in (other_facility, foreign):
        response = client.post("/api/v1/patients/", api_body(target), format="json")
        assert response.status_code == 400
        assert "facility" in response.json()
    assert Patient.objects.count() == 0


def test_it_refuses_a_duplicate_mrn_through_the_api(
    admissions: User, facility: Facility, patient: Patient
) -> None:
    response = api_signed_in(admissions).post(
        "/api/v1/patients/", api_body(facility, mrn=patient.mrn), format="json"
    )
    assert response.status_code == 400
    assert Patient.objects.count() == 1


def test_it_names_the_mrn_field_for_a_duplicate_mrn_through_the_api(
    admissions: User, facility: Facility, patient: Patient
) -> None:
    response = api_signed_in(admissions).post(
        "/api/v1/patients/", api_body(facility, mrn=patient.mrn), format="json"
    )
    assert response.json() == {
        "mrn": ["Another patient at this facility has this medical record number."]
    }


def test_it_accepts_the_same_mrn_at_another_facility_through_the_api(
    make_user: Callable[..., User], other_facility: Facility, patient: Patient
) -> None:
    user = make_user(Role.ADMISSIONS, facilities=[other_facility])
    response = api_signed_in(user).post(
        "/api/v1/patients/", api_body(other_facility, mrn=patient.mrn), format="json"
    )
    assert response.status_code == 201


# --- editing -----------------------------------------------------------------------------------


def test_it_records_every_changed_value_before_and_after(
    clinician: User, clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.post(
        f"/patients/{patient.pk}/edit/",
        edit_of(patient, last_name="Quintero-Ruiz", phone="951 555 0177", status="active"),
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE)
    assert event.actor == clinician
    assert event.patient_id == patient.pk
    assert event.section == "demographics"
    assert event.changes == {
        "last_name": ["Quintero", "Quintero-Ruiz"],
        "phone": [patient.phone, "951-555-0177"],
    }
    patient.refresh_from_db()
    assert patient.phone_digits == "9515550177"


def test_it_records_nothing_when_nothing_changed(
    clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.post(f"/patients/{patient.pk}/edit/", edit_of(patient))
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"date_of_birth": (timezone.localdate() + dt.timedelta(days=2)).isoformat()},
        {"phone": "12345"},
        {"email": "nope"},
        {"first_name": ""},
        {"mrn": ""},
    ],
)
def test_it_changes_nothing_when_the_edit_has_bad_input(
    clinician_client: Client, patient: Patient, overrides: dict[str, str]
) -> None:
    before = Patient.objects.values().get(pk=patient.pk)
    response = clinician_client.post(f"/patients/{patient.pk}/edit/", edit_of(patient, **overrides))
    assert response.status_code == 200
    assert "Nothing was saved." in body(response)
    assert Patient.objects.values().get(pk=patient.pk) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_it_refuses_an_edit_to_an_mrn_used_by_someone_else(
    clinician_client: Client, patient: Patient, unassigned_patient: Patient
) -> None:
    response = clinician_client.post(
        f"/patients/{patient.pk}/edit/", edit_of(patient, mrn=unassigned_patient.mrn)
    )
    assert response.status_code == 200
    assert response.context["form"].errors["mrn"] == [
        "Another patient at this facility has this medical record number."
    ]
    assert Patient.objects.get(pk=patient.pk).mrn == patient.mrn


# --- emergency contacts --------------------------------------------------------------------


def test_it_adds_changes_and_removes_emergency_contacts_each_audited(
    clinician_client: Client, patient: Patient
) -> None:
    url = f"/patients/{patient.pk}/edit/"
    clinician_client.post(
        url,
        edit_of(patient, {"name": "Ana Quintero", "relationship": "sister", "phone": "9515550111"}),
    )
    contact = SupportContact.objects.get(patient=patient)
    created = AuditEvent.objects.get(action=CREATE, section="emergency contacts")
    assert created.object_id == str(contact.pk)
    assert created.changes["name"] == [None, "Ana Quintero"]

    clinician_client.post(
        url,
        edit_of(
            patient,
            {
                "id": contact.pk,
                "name": "Ana Quintero",
                "relationship": "sister",
                "phone": "951-555-0112",
            },
        ),
    )
    changed = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, section="emergency contacts")
    assert changed.changes == {"phone": ["951-555-0111", "951-555-0112"]}

    clinician_client.post(
        url,
        edit_of(
            patient,
            {
                "id": contact.pk,
                "name": "Ana Quintero",
                "relationship": "sister",
                "phone": "951-555-0112",
                "DELETE": "on",
            },
        ),
    )
    assert not SupportContact.objects.filter(patient=patient).exists()
    removed = AuditEvent.objects.get(action=AuditEvent.Action.DELETE, section="emergency contacts")
    assert removed.patient_id == patient.pk
    assert removed.changes["name"] == ["Ana Quintero", None]
    assert removed.changes["phone"] == ["951-555-0112", None]


def test_it_cannot_take_over_another_patients_contact_through_the_formset(
    clinician_client: Client, patient: Patient, outside_patient: Patient
) -> None:
    foreign = EmergencyContactFactory.create(patient=outside_patient, name="Not Yours")
    clinician_client.post(
        f"/patients/{patient.pk}/edit/",
        edit_of(
            patient,
            {"id": foreign.pk, "name": "Mine", "relationship": "friend", "phone": "9515550100"},
        ),
    )
    foreign.refresh_from_db()
    assert (foreign.patient_id, foreign.name) == (outside_patient.pk, "Not Yours")
    assert SupportContact.objects.get(patient=patient).name == "Mine"


# --- sensitive, opt-in attributes ----------------------------------------------------------


@pytest.fixture
def opted_in(facility: Facility, clinician: User) -> Patient:
    patient = PatientFactory.create(
        facility=facility,
        sexual_orientation="bisexual",
        lgbtq_group_opt_in=True,
        survivor_group_opt_in=True,
    )
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    return patient


@pytest.mark.parametrize(
    "role", [Role.FRONT_DESK, Role.BILLING, Role.ADMISSIONS, Role.ADMINISTRATOR]
)
def test_it_hides_sensitive_attributes_from_non_clinical_roles(
    role: str, make_user: Callable[..., User], opted_in: Patient
) -> None:
    user = make_user(role)
    client = signed_in(user)
    chart = body(client.get(f"/patients/{opted_in.pk}/"))
    assert "Sexual orientation" not in chart
    assert "Bisexual" not in chart
    assert "LGBTQ+ groups" not in chart
    if user.may_register_patients:
        for page in ("/patients/new/", f"/patients/{opted_in.pk}/edit/"):
            assert 'name="sexual_orientation"' not in body(client.get(page))
            assert 'name="lgbtq_group_opt_in"' not in body(client.get(page))
    data = api_signed_in(user).get(f"/api/v1/patients/{opted_in.pk}/").json()
    for name in ("sexual_orientation", "lgbtq_group_opt_in", "survivor_group_opt_in"):
        assert name not in data
    listed = api_signed_in(user).get("/api/v1/patients/").json()["results"][0]
    assert "sexual_orientation" not in listed


def test_it_shows_sensitive_attributes_to_the_clinical_team(
    clinician: User, clinician_client: Client, opted_in: Patient
) -> None:
    chart = body(clinician_client.get(f"/patients/{opted_in.pk}/"))
    assert "Bisexual" in chart
    assert "Wants to join" in chart
    assert 'name="sexual_orientation"' in body(
        clinician_client.get(f"/patients/{opted_in.pk}/edit/")
    )
    data = api_signed_in(clinician).get(f"/api/v1/patients/{opted_in.pk}/").json()
    assert data["sexual_orientation"] == "bisexual"
    assert data["survivor_group_opt_in"] is True


def test_it_keeps_non_clinical_staff_from_changing_sensitive_attributes(
    front_desk: User, opted_in: Patient
) -> None:
    client = signed_in(front_desk)
    client.post(
        f"/patients/{opted_in.pk}/edit/",
        edit_of(opted_in, sexual_orientation="straight", pronouns="they/them"),
    )
    api_signed_in(front_desk).patch(
        f"/api/v1/patients/{opted_in.pk}/",
        {"sexual_orientation": "", "lgbtq_group_opt_in": False},
        format="json",
    )
    opted_in.refresh_from_db()
    assert opted_in.pronouns == "they/them"
    assert opted_in.sexual_orientation == "bisexual"
    assert opted_in.lgbtq_group_opt_in is True


# --- deleting a record registered by mistake ------------------------------------------------


def test_it_lets_an_administrator_delete_a_record_with_a_reason(
    administrator: User, admin_client_: Client, unassigned_patient: Patient
) -> None:
    url = f"/patients/{unassigned_patient.pk}/delete/"
    confirm = admin_client_.get(url)
    assert confirm.status_code == 200
    assert "Delete the record of Kai Nakamura?" in body(confirm)
    assert Patient.objects.filter(pk=unassigned_patient.pk).exists()

    too_short = admin_client_.post(url, {"reason": "oops"})
    assert too_short.status_code == 200
    assert "reason" in too_short.context["form"].errors
    assert Patient.objects.filter(pk=unassigned_patient.pk).exists()

    done = admin_client_.post(url, {"reason": "Registered twice; the other record is HTF-1."})
    assert done.status_code == 302
    assert done["Location"] == "/patients/"
    assert not Patient.objects.filter(pk=unassigned_patient.pk).exists()
    event = AuditEvent.objects.get(
        action=AuditEvent.Action.DELETE, patient_id=unassigned_patient.pk
    )
    assert event.actor == administrator
    assert event.reason == "Registered twice; the other record is HTF-1."
    assert event.changes["last_name"] == ["Nakamura", None]
    assert event.changes["mrn"] == [unassigned_patient.mrn, None]


@pytest.mark.parametrize("role", [Role.CLINICAL_DIRECTOR, Role.FRONT_DESK, Role.ADMISSIONS])
def test_it_keeps_delete_to_administrators(
    role: str, make_user: Callable[..., User], unassigned_patient: Patient
) -> None:
    client = signed_in(make_user(role))
    url = f"/patients/{unassigned_patient.pk}/delete/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "Registered twice by mistake."}).status_code == 403
    assert Patient.objects.filter(pk=unassigned_patient.pk).exists()


def test_it_keeps_a_record_opened_by_break_the_glass(
    admin_client_: Client, unassigned_patient: Patient, clinician: User
) -> None:
    BreakGlassGrantFactory.create(user=clinician, patient=unassigned_patient)
    response = admin_client_.post(
        f"/patients/{unassigned_patient.pk}/delete/", {"reason": "Registered twice by mistake."}
    )
    assert response.status_code == 200
    assert "kept for review" in body(response)
    assert Patient.objects.filter(pk=unassigned_patient.pk).exists()
