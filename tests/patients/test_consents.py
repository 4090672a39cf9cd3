"""42 CFR Part 2 consents: every §2.31 element, electronic signature, immutability,
revocation, the printable consent and the chart header's status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.patients import consent_rules, consents, disclosure
from openiop.patients.models import Consent, Patient
from tests.conftest import body, signed_in
from tests.factories import SupportContactFactory
from tests.patients.consent_factories import ConsentFactory


def draft(actor: User, patient: Patient, **overrides: Any) -> Consent:
    data: dict[str, Any] = {
        "kind": "named",
        "categories": ["attendance", "drug_tests"],
        "recipient_name": "Officer Jordan Reyes",
        "recipient_organization": "County Probation",
        "purpose": "To report progress in treatment to probation.",
        "expiry_kind": "date",
        "expires_on": timezone.localdate() + dt.timedelta(days=90),
    }
    data.update(overrides)
    return consents.create_consent(actor=actor, patient=patient, data=data)


def test_it_drafts_a_consent_with_every_2_31_element(clinician: User, patient: Patient) -> None:
    consent = draft(clinician, patient)
    assert consent.disclosing_party == patient.facility.name
    assert consent.information_description == "Attendance and dose and drug-test results."
    assert consent.recipients_description == "Officer Jordan Reyes, County Probation"
    assert consent.revocation_statement == consent_rules.REVOCATION_STATEMENT
    assert consent.signed_at is None
    assert consent.status_on(timezone.localdate()) == "draft"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, section="consents")
    assert event.changes["purpose"] == [None, "To report progress in treatment to probation."]


def test_it_drafts_a_tpo_consent_for_the_class_of_recipients(
    clinician: User, patient: Patient
) -> None:
    consent = draft(
        clinician,
        patient,
        kind="tpo",
        categories=["all", "billing"],
        recipient_name="ignored",
        expiry_kind="none",
    )
    assert consent.recipients_description == consent_rules.TPO_RECIPIENTS_TEXT
    assert (consent.recipient_name, consent.categories) == ("", ["all"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "friendly"}, "kind"),
        ({"categories": []}, "categories"),
        ({"categories": ["horoscope"]}, "categories"),
        ({"recipient_name": ""}, "recipient_name"),
        ({"purpose": "  "}, "purpose"),
        ({"expiry_kind": "none"}, "expiry_kind"),
        ({"expires_on": None}, "expires_on"),
        ({"expires_on": dt.date(2020, 1, 1)}, "expires_on"),
    ],
)
def test_it_refuses_a_consent_missing_an_element(
    clinician: User, patient: Patient, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        draft(clinician, patient, **overrides)
    assert field in caught.value.error_dict
    assert not Consent.objects.exists()


def test_it_names_a_support_contact_as_recipient(clinician: User, patient: Patient) -> None:
    ana = SupportContactFactory.create(patient=patient, name="Ana Quintero")
    consent = draft(
        clinician, patient, recipient_name="", recipient_organization="", support_contact=ana
    )
    assert (consent.recipient_name, consent.support_contact) == ("Ana Quintero", ana)


def test_it_signs_electronically_at_server_time_with_a_witness(
    clinician: User, patient: Patient
) -> None:
    consent = draft(clinician, patient)
    signed = consents.sign_consent(
        actor=clinician,
        consent=consent,
        signer="patient",
        typed_signature="  dana   QUINTERO ",
        attested=True,
    )
    assert signed.signed_at is not None
    assert abs((timezone.now() - signed.signed_at).total_seconds()) < 60
    assert (signed.witnessed_by, signed.typed_signature) == (clinician, "dana QUINTERO")
    assert signed.status_on(timezone.localdate()) == "active"
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGN)
    assert (event.patient_id, event.section) == (patient.pk, "consents")


def test_it_refuses_a_signature_that_is_not_the_signers_name_or_unattested(
    clinician: User, patient: Patient
) -> None:
    consent = draft(clinician, patient)
    with pytest.raises(ValidationError) as caught:
        consents.sign_consent(
            actor=clinician, consent=consent, signer="patient", typed_signature="X", attested=False
        )
    assert set(caught.value.error_dict) == {"typed_signature", "attested"}
    consent.refresh_from_db()
    assert consent.signed_at is None


def test_it_lets_a_guardian_sign_with_their_own_name(clinician: User, patient: Patient) -> None:
    consent = draft(clinician, patient)
    with pytest.raises(ValidationError) as caught:
        consents.sign_consent(
            actor=clinician,
            consent=consent,
            signer="representative",
            typed_signature="Dana Quintero",
            attested=True,
        )
    assert {"representative_name", "representative_authority"} <= set(caught.value.error_dict)
    signed = consents.sign_consent(
        actor=clinician,
        consent=consent,
        signer="representative",
        representative_name="Maria Quintero",
        representative_authority="parent of a minor",
        typed_signature="Maria Quintero",
        attested=True,
    )
    assert signed.representative_name == "Maria Quintero"


def test_it_never_changes_a_signed_consent(clinician: User, patient: Patient) -> None:
    consent = ConsentFactory.create(patient=patient)
    with pytest.raises(ValidationError):
        consents.sign_consent(
            actor=clinician,
            consent=consent,
            signer="patient",
            typed_signature=patient.legal_name,
            attested=True,
        )
    with pytest.raises(ValidationError):
        consents.discard_draft(actor=clinician, consent=consent)
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_it_discards_a_draft(clinician: User, patient: Patient) -> None:
    consent = draft(clinician, patient)
    consents.discard_draft(actor=clinician, consent=consent)
    assert not Consent.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DELETE, section="consents").exists()


def test_it_revokes_with_how_it_was_received(clinician: User, patient: Patient) -> None:
    consent = ConsentFactory.create(patient=patient)
    with pytest.raises(ValidationError) as caught:
        consents.revoke_consent(actor=clinician, consent=consent, method="verbal", note="")
    assert "note" in caught.value.error_dict
    with pytest.raises(ValidationError) as caught:
        consents.revoke_consent(
            actor=clinician,
            consent=consent,
            method="writing",
            revoked_on=timezone.localdate() + dt.timedelta(days=3),
        )
    assert "revoked_on" in caught.value.error_dict
    revoked = consents.revoke_consent(
        actor=clinician,
        consent=consent,
        method="verbal",
        note="Told me at group today she wants it stopped.",
    )
    assert (revoked.revocation_method, revoked.revocation_received_by) == ("verbal", clinician)
    assert revoked.status_on(timezone.localdate(timezone=patient.facility.zone)) == "revoked"
    with pytest.raises(ValidationError):
        consents.revoke_consent(actor=clinician, consent=consent, method="writing")


@pytest.mark.parametrize("role", [Role.BILLING, Role.FRONT_DESK, Role.AUDITOR])
def test_it_refuses_consent_changes_from_roles_without_it(
    role: str, patient: Patient, make_user: Callable[..., User]
) -> None:
    with pytest.raises(PermissionDenied):
        draft(make_user(role), patient)


# --- the header ---------------------------------------------------------------------------------


def header(user: User, patient: Patient) -> str:
    return body(signed_in(user).get(f"/patients/{patient.pk}/"))


def test_it_shows_the_consent_status_in_the_chart_header(clinician: User, patient: Patient) -> None:
    assert "No active consent — nothing may be released" in header(clinician, patient)
    ConsentFactory.create(patient=patient, tpo=True)
    ConsentFactory.create(patient=patient)
    ConsentFactory.create(patient=patient, recipient_name="Ana Quintero")
    ConsentFactory.create(patient=patient, expires_on=dt.date(2024, 1, 1))  # expired
    ConsentFactory.create(patient=patient, draft=True)
    ConsentFactory.create(patient=patient, revoked_on=dt.date(2025, 1, 1))
    assert "TPO consent active · 2 named recipients" in header(clinician, patient)


def test_it_reads_the_header_status_in_one_query(
    clinician: User, patient: Patient, django_assert_num_queries: Callable[[int], Any]
) -> None:
    for n in range(5):
        ConsentFactory.create(patient=patient, recipient_name=f"Person {n}")
    with django_assert_num_queries(1):
        facts = consents._header(clinician, patient)
    assert facts == {"consents": {"active": True, "label": "5 named recipients"}}


# --- pages ----------------------------------------------------------------------------------------


def test_it_writes_signs_and_revokes_a_consent_through_the_pages(
    clinician: User, patient: Patient
) -> None:
    client = signed_in(clinician)
    response = client.post(
        f"/patients/{patient.pk}/consents/new/",
        {
            "kind": "named",
            "categories": ["attendance"],
            "recipient_name": "Officer Jordan Reyes",
            "purpose": "Progress reports.",
            "expiry_kind": "end_of_treatment",
            "disclosing_party": "Harbor Test Facility",
        },
    )
    consent = Consent.objects.get()
    assert response["Location"] == f"/patients/{patient.pk}/consents/{consent.pk}/"
    page = body(client.get(response["Location"]))
    assert consent_rules.REVOCATION_STATEMENT in page and "Sign consent" in page
    response = client.post(
        f"/patients/{patient.pk}/consents/{consent.pk}/sign/",
        {"signer": "patient", "typed_signature": "Someone Else", "attested": "on"},
    )
    assert "The patient types their full name" in body(response)
    client.post(
        f"/patients/{patient.pk}/consents/{consent.pk}/sign/",
        {"signer": "patient", "typed_signature": "Dana Quintero", "attested": "on"},
    )
    consent.refresh_from_db()
    assert consent.signed_at is not None
    page = body(client.get(f"/patients/{patient.pk}/consents/{consent.pk}/"))
    assert "Revoke consent" in page and "data-confirm=" in page
    client.post(
        f"/patients/{patient.pk}/consents/{consent.pk}/revoke/",
        {"method": "writing", "revoked_on": ""},
    )
    consent.refresh_from_db()
    assert consent.revoked_at is not None


def test_it_refuses_a_consent_form_with_bad_input_and_saves_nothing(
    clinician: User, patient: Patient
) -> None:
    response = signed_in(clinician).post(
        f"/patients/{patient.pk}/consents/new/",
        {
            "kind": "named",
            "categories": ["attendance"],
            "purpose": "x",
            "expiry_kind": "none",
            "disclosing_party": "Harbor",
        },
    )
    assert response.status_code == 200
    assert "Nothing was saved." in body(response)
    assert "Only a treatment-payment-operations consent may have no end." in body(response)
    assert not Consent.objects.exists()


def test_it_prints_the_signed_consent_as_a_pdf(clinician: User, patient: Patient) -> None:
    consent = ConsentFactory.create(patient=patient)
    response = signed_in(clinician).get(f"/patients/{patient.pk}/consents/{consent.pk}/pdf/")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    event = AuditEvent.objects.get(action=AuditEvent.Action.PRINT)
    assert (event.patient_id, event.section) == (patient.pk, "consent PDF")
    consent.patient = patient
    html = disclosure.consent_html(consent, clinician)
    for element in (
        patient.legal_name,
        consent.disclosing_party,
        consent.information_description,
        consent.recipients_description,
        consent.purpose,
        consent.revocation_statement,
        f"On {consent.expires_on:%m/%d/%Y}",
        f"/s/ {consent.typed_signature}",
        consent_rules.PART2_NOTICE,
    ):
        assert element in html


def test_it_refuses_consent_pages_to_outsiders(
    other_clinician: User, auditor: User, patient: Patient
) -> None:
    consent = ConsentFactory.create(patient=patient)
    for url in (
        f"/patients/{patient.pk}/consents/{consent.pk}/",
        f"/patients/{patient.pk}/consents/{consent.pk}/pdf/",
        f"/patients/{patient.pk}/consents/new/",
    ):
        assert signed_in(other_clinician).get(url).status_code == 404
        assert signed_in(auditor).get(url).status_code in (403, 404)


def test_it_does_not_open_another_patients_consent_under_this_chart(
    clinician: User, patient: Patient, unassigned_patient: Patient
) -> None:
    theirs = ConsentFactory.create(patient=unassigned_patient)
    url = f"/patients/{patient.pk}/consents/{theirs.pk}/"
    assert signed_in(clinician).get(url).status_code == 404
