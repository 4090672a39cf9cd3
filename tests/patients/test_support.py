"""The support system: contacts with roles, who sees them, the consent pill, the tab's query
count, and the emergency contacts of registration becoming support contacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.patients import services, support
from openiop.patients.models import Patient, SupportContact
from tests.conftest import body, signed_in
from tests.factories import CareTeamMemberFactory, SupportContactFactory
from tests.patients.consent_factories import ConsentFactory, DisclosureFactory


def contact_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Chris Alvarez",
        "relationship_kind": "sponsor",
        "relationship": "AA sponsor since 2019",
        "phone": "951 555 0142",
        "email": "chris@example.org",
        "address": "",
        "in_recovery": "yes",
        "is_sponsor": "on",
        "notes": "Best after 6 pm.",
    }
    data.update(overrides)
    return data


def test_it_adds_edits_and_deactivates_a_support_contact_each_audited(
    clinician: User, patient: Patient
) -> None:
    client = signed_in(clinician)
    response = client.post(f"/patients/{patient.pk}/support/new/", contact_form())
    assert response["Location"] == f"/patients/{patient.pk}/support/"
    chris = SupportContact.objects.get()
    assert (chris.phone, chris.is_sponsor, chris.in_recovery, chris.is_emergency_contact) == (
        "951-555-0142",
        True,
        "yes",
        False,
    )
    created = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, section="support system")
    assert created.changes["name"] == [None, "Chris Alvarez"]

    client.post(
        f"/patients/{patient.pk}/support/{chris.pk}/",
        contact_form(is_emergency_contact="on", family_program_participant="on"),
    )
    chris.refresh_from_db()
    assert chris.is_emergency_contact and chris.family_program_participant
    changed = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, section="support system")
    assert changed.changes == {
        "family_program_participant": [False, True],
        "is_emergency_contact": [False, True],
    }

    client.post(f"/patients/{patient.pk}/support/{chris.pk}/deactivate/")
    chris.refresh_from_db()
    assert not chris.active
    assert chris.history.count() == 3  # simple-history keeps every version


def test_it_refuses_bad_contact_input_and_saves_nothing(clinician: User, patient: Patient) -> None:
    client = signed_in(clinician)
    response = client.post(
        f"/patients/{patient.pk}/support/new/",
        contact_form(name="", phone="12", email="not-an-address"),
    )
    text = body(response)
    assert "Nothing was saved." in text
    assert not SupportContact.objects.exists()
    with pytest.raises(ValidationError) as caught:
        support.add_support_contact(
            actor=clinician,
            patient=patient,
            data={"name": "Ana", "is_emergency_contact": True, "phone": ""},
        )
    assert caught.value.message_dict["phone"] == ["An emergency contact needs a phone number."]


def test_it_does_not_edit_another_patients_contact_through_this_chart(
    clinician: User, patient: Patient, outside_patient: Patient
) -> None:
    theirs = SupportContactFactory.create(patient=outside_patient, name="Not Yours")
    client = signed_in(clinician)
    url = f"/patients/{patient.pk}/support/{theirs.pk}/"
    assert client.post(url, contact_form()).status_code == 404
    assert client.post(f"{url}deactivate/").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.active) == ("Not Yours", True)


def test_it_shows_whether_a_consent_lets_the_program_talk_to_someone(
    clinician: User, patient: Patient
) -> None:
    ana = SupportContactFactory.create(patient=patient, name="Ana Quintero")
    SupportContactFactory.create(patient=patient, name="Leo Quintero")
    ConsentFactory.create(
        patient=patient,
        recipient_name="Ana Quintero",
        recipient_organization="",
        support_contact=ana,
        expires_on=dt.date(2099, 3, 1),
    )
    text = body(signed_in(clinician).get(f"/patients/{patient.pk}/support/"))
    assert "May talk to them until 03/01/2099" in text
    assert "No consent — do not share information" in text


def test_it_ends_the_pill_when_the_consent_is_revoked(clinician: User, patient: Patient) -> None:
    ana = SupportContactFactory.create(patient=patient, name="Ana Quintero")
    consent = ConsentFactory.create(
        patient=patient, recipient_name="Ana Quintero", recipient_organization=""
    )
    consent.patient = patient
    today = timezone.localdate()
    assert support.talk_permission(ana, [consent], today=today, in_treatment=True).allowed
    consent.revoked_on = today
    assert not support.talk_permission(ana, [consent], today=today, in_treatment=True).allowed


# --- who sees what -------------------------------------------------------------------------------


@pytest.fixture
def household(patient: Patient) -> Patient:
    SupportContactFactory.create(patient=patient, name="Ana Emergency", phone="951-555-0111")
    SupportContactFactory.create(
        patient=patient,
        name="Chris Sponsor",
        is_emergency_contact=False,
        is_sponsor=True,
        relationship_kind="sponsor",
    )
    ConsentFactory.create(patient=patient)
    DisclosureFactory.create(patient=patient, recipient_name="Officer Jordan Reyes")
    return patient


def tab(user: User, patient: Patient) -> str:
    response = signed_in(user).get(f"/patients/{patient.pk}/support/")
    assert response.status_code == 200
    return body(response)


def test_it_shows_everything_to_the_clinical_team(director: User, household: Patient) -> None:
    text = tab(director, household)
    assert "Ana Emergency" in text and "Chris Sponsor" in text
    assert "Officer Jordan Reyes" in text  # the consent and the disclosure log
    assert "New consent" in text and "Add someone" in text
    assert "Release records to an outside party" in text


def test_it_shows_front_desk_the_emergency_contacts_only(
    household: Patient, make_user: Callable[..., User]
) -> None:
    text = tab(make_user(Role.FRONT_DESK), household)
    assert "Ana Emergency" in text and "951-555-0111" in text
    assert "Chris Sponsor" not in text
    assert "Officer Jordan Reyes" not in text
    assert "Add someone" not in text and "Release records" not in text


def test_it_shows_billing_the_consents_but_not_the_support_system(
    household: Patient, make_user: Callable[..., User]
) -> None:
    text = tab(make_user(Role.BILLING), household)
    assert "Ana Emergency" not in text and "Chris Sponsor" not in text
    assert "Officer Jordan Reyes" in text
    assert "New consent" not in text
    assert "Release records to an outside party" in text


def test_it_refuses_support_changes_to_roles_without_them(
    household: Patient, make_user: Callable[..., User]
) -> None:
    for role in (Role.FRONT_DESK, Role.BILLING):
        user = make_user(role)
        client = signed_in(user)
        assert (
            client.post(f"/patients/{household.pk}/support/new/", contact_form()).status_code == 403
        )
        with pytest.raises(PermissionDenied):
            support.add_support_contact(actor=user, patient=household, data={"name": "X"})


def test_it_refuses_the_tab_to_outsiders(
    other_clinician: User, auditor: User, patient: Patient
) -> None:
    url = f"/patients/{patient.pk}/support/"
    assert signed_in(other_clinician).get(url).status_code == 404
    assert signed_in(auditor).get(url).status_code in (403, 404)


# --- the tab costs the same with 3 or 30 contacts, consents and disclosures -----------------------


@pytest.mark.parametrize("count", [3, 30])
def test_it_opens_the_tab_in_a_constant_number_of_queries(
    count: int,
    director: User,
    patient: Patient,
    django_assert_max_num_queries: Callable[[int], Any],
) -> None:
    for n in range(count):
        contact = SupportContactFactory.create(patient=patient, name=f"Person {n}")
        consent = ConsentFactory.create(
            patient=patient, recipient_name=f"Person {n}", support_contact=contact
        )
        DisclosureFactory.create(patient=patient, consent=consent, recipient_name=f"Person {n}")
    client: Client = signed_in(director)
    client.get("/")
    # session and user; the patient, its audit, alerts, the open episode and the consent
    # status; unread messages; contacts, consents and disclosures — never one per row
    with django_assert_max_num_queries(12):
        response = client.get(f"/patients/{patient.pk}/support/")
    assert body(response).count("May talk to them until") == count


# --- registration's emergency contacts are support contacts -------------------------------------


def test_it_keeps_registration_contacts_as_emergency_support_contacts(
    admissions: User, facility: Facility
) -> None:
    patient = services.create_patient(
        actor=admissions,
        facility=facility,
        data={
            "first_name": "Marisol",
            "last_name": "Okonkwo",
            "date_of_birth": dt.date(1988, 7, 3),
            "sex_at_birth": "female",
        },
        emergency_contacts=[{"name": "Ana", "relationship": "Sister", "phone": "9515550111"}],
    )
    (ana,) = patient.support_contacts.all()
    assert (ana.is_emergency_contact, ana.relationship_kind, ana.active) == (True, "sibling", True)


def test_it_keeps_a_sponsor_when_registration_drops_them_as_emergency_contact(
    director: User, patient: Patient
) -> None:
    sponsor = SupportContactFactory.create(patient=patient, is_sponsor=True)
    plain = SupportContactFactory.create(patient=patient)
    other = SupportContactFactory.create(patient=patient, is_emergency_contact=False)
    services.set_emergency_contacts(actor=director, patient=patient, contacts=[])
    sponsor.refresh_from_db()
    assert not sponsor.is_emergency_contact
    assert not SupportContact.objects.filter(pk=plain.pk).exists()
    assert SupportContact.objects.filter(pk=other.pk).exists()  # never an emergency contact


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_emergency_contacts_into_support_contacts() -> None:
    executor = MigrationExecutor(connection)
    before = [("patients", "0003_clinicalalert")]
    after = [("patients", "0004_support_contacts")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    facility_model = old.get_model("accounts", "Facility")
    organization = old.get_model("accounts", "Organization").objects.create(name="Migration Org")
    facility = facility_model.objects.create(organization=organization, name="M", code="MIG")
    patient = old.get_model("patients", "Patient").objects.create(
        facility=facility,
        mrn="MIG-1",
        first_name="Test",
        last_name="Person",
        date_of_birth=dt.date(1990, 1, 1),
        sex_at_birth="female",
    )
    contacts = old.get_model("patients", "EmergencyContact").objects
    contacts.create(patient=patient, name="Ana", relationship="Mother", phone="951-555-0101")
    contacts.create(patient=patient, name="Bo", relationship="my sponsor", phone="951-555-0102")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    rows = list(
        new.get_model("patients", "SupportContact")
        .objects.order_by("name")
        .values_list("name", "relationship", "relationship_kind", "is_emergency_contact")
    )
    assert rows == [
        ("Ana", "Mother", "parent", True),
        ("Bo", "my sponsor", "other", True),
    ]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_it_lists_emergency_contacts_on_the_summary_from_support_contacts(
    clinician: User, patient: Patient
) -> None:
    SupportContactFactory.create(patient=patient, name="Ana Emergency")
    SupportContactFactory.create(patient=patient, name="Chris Sponsor", is_emergency_contact=False)
    SupportContactFactory.create(patient=patient, name="Old Contact", active=False)
    text = body(signed_in(clinician).get(f"/patients/{patient.pk}/"))
    assert "Ana Emergency" in text
    assert "Chris Sponsor" not in text and "Old Contact" not in text


def test_it_keeps_the_unassigned_patients_support_system_out_of_a_caseload(
    clinician: User, unassigned_patient: Patient
) -> None:
    SupportContactFactory.create(patient=unassigned_patient)
    assert (
        signed_in(clinician).get(f"/patients/{unassigned_patient.pk}/support/").status_code == 404
    )
    CareTeamMemberFactory.create(patient=unassigned_patient, user=clinician)
    assert (
        signed_in(clinician).get(f"/patients/{unassigned_patient.pk}/support/").status_code == 200
    )


def test_it_renders_every_form_page_with_labels(clinician: User, patient: Patient) -> None:
    chris = SupportContactFactory.create(patient=patient, name="Chris Alvarez")
    client = signed_in(clinician)
    pages = {
        f"/patients/{patient.pk}/support/new/": "Add someone to the support system",
        f"/patients/{patient.pk}/support/{chris.pk}/": "Edit Chris Alvarez",
        f"/patients/{patient.pk}/consents/new/": "New 42 CFR Part 2 consent",
        f"/patients/{patient.pk}/release/": "Release records to an outside party",
    }
    for url, title in pages.items():
        text = body(client.get(url))
        assert title in text
        assert "<label" in text
    assert 'value="Chris Alvarez"' in body(
        client.get(f"/patients/{patient.pk}/support/{chris.pk}/")
    )
