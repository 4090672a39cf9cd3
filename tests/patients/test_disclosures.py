"""Releasing records: consent enforcement, the emergency exception, the §2.32 notice on every
page, the disclosure log and the accounting of disclosures (42 CFR Part 2, SPEC §10)."""

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
from openiop.patients.models import Disclosure, Patient
from tests.conftest import body, signed_in
from tests.factories import SupportContactFactory
from tests.patients.consent_factories import ConsentFactory, DisclosureFactory, pages_with_notice

NOTICE = consent_rules.PART2_NOTICE


def release(actor: User, patient: Patient, **overrides: Any) -> Disclosure:
    values: dict[str, Any] = {
        "recipient_name": "Officer Jordan Reyes",
        "recipient_organization": "County Probation",
        "categories": ["attendance"],
        "purpose": "Monthly progress report.",
    }
    values.update(overrides)
    return disclosure.disclose(actor=actor, patient=patient, **values)


def refused(actor: User, patient: Patient, **overrides: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        release(actor, patient, **overrides)
    assert not Disclosure.objects.exists()
    return " ".join(caught.value.messages)


# --- consent enforcement ----------------------------------------------------------------------


def test_it_releases_under_a_consent_that_names_the_recipient_and_logs_it(
    clinician: User, patient: Patient
) -> None:
    consent = ConsentFactory.create(patient=patient)
    made = release(clinician, patient, recipient_name="officer jordan REYES")
    assert (made.consent, made.disclosed_by, made.categories) == (
        consent,
        clinician,
        ["attendance"],
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.DISCLOSE)
    assert (event.patient_id, event.object_id) == (patient.pk, str(made.pk))
    assert event.detail["consent"] == consent.pk


def test_it_refuses_a_release_under_an_expired_consent(clinician: User, patient: Patient) -> None:
    ConsentFactory.create(patient=patient, expires_on=dt.date(2024, 3, 1))
    assert refused(clinician, patient) == "The consent expired on 03/01/2024."


def test_it_refuses_an_end_of_treatment_consent_after_discharge(
    clinician: User, patient: Patient
) -> None:
    ConsentFactory.create(patient=patient, expiry_kind="end_of_treatment", expires_on=None)
    patient.status = Patient.Status.DISCHARGED
    patient.save()
    assert refused(clinician, patient) == "The consent expired when treatment ended."


def test_it_keeps_a_release_made_before_a_revocation_and_refuses_one_after(
    clinician: User, patient: Patient
) -> None:
    consent = ConsentFactory.create(patient=patient)
    before = release(clinician, patient)
    consents.revoke_consent(actor=clinician, consent=consent, method="writing")
    with pytest.raises(ValidationError) as caught:
        release(clinician, patient)
    today = timezone.localdate(timezone=patient.facility.zone)
    assert caught.value.messages == [f"The consent was revoked on {today:%m/%d/%Y}."]
    assert list(Disclosure.objects.all()) == [before]
    assert [d.pk for d in disclosure.accounting(patient, today=today)] == [before.pk]


def test_it_refuses_a_recipient_no_consent_names(clinician: User, patient: Patient) -> None:
    ConsentFactory.create(patient=patient)
    reason = refused(clinician, patient, recipient_name="Ana Quintero", recipient_organization="")
    assert reason.startswith("No consent names Ana Quintero.")


def test_it_refuses_the_wrong_recipient_under_a_chosen_consent(
    clinician: User, patient: Patient
) -> None:
    consent = ConsentFactory.create(patient=patient)
    reason = refused(clinician, patient, consent=consent, recipient_name="Ana Quintero")
    assert reason == "This consent does not name Ana Quintero (County Probation)."


def test_it_refuses_information_the_consent_does_not_cover(
    clinician: User, patient: Patient
) -> None:
    ConsentFactory.create(patient=patient, categories=["attendance"])
    reason = refused(clinician, patient, categories=["attendance", "drug_tests"])
    assert reason == "This consent does not cover drug-test results."


def test_it_refuses_an_unsigned_consent(clinician: User, patient: Patient) -> None:
    draft = ConsentFactory.create(patient=patient, draft=True)
    assert refused(clinician, patient, consent=draft) == "The consent is not signed."
    assert refused(clinician, patient).startswith("No consent names")


def test_it_refuses_another_patients_consent(
    clinician: User, patient: Patient, outside_patient: Patient
) -> None:
    theirs = ConsentFactory.create(patient=outside_patient)
    with pytest.raises(ValidationError) as caught:
        release(clinician, patient, consent=theirs)
    assert "consent" in caught.value.error_dict


def test_it_releases_under_tpo_only_to_its_classes_and_never_to_family(
    clinician: User, patient: Patient
) -> None:
    ConsentFactory.create(patient=patient, tpo=True)
    SupportContactFactory.create(patient=patient, name="Ana Quintero")
    made = release(
        clinician,
        patient,
        recipient_name="Dr. Sam Lee",
        recipient_organization="Valley Clinic",
        tpo_class="treating_provider",
        categories=["medications"],
    )
    assert made.tpo_class == "treating_provider"
    reason = refused_after(clinician, patient, recipient_name="Dr. Sam Lee")
    assert "does not cover Dr. Sam Lee" in reason
    reason = refused_after(
        clinician, patient, recipient_name="ana quintero", tpo_class="treating_provider"
    )
    assert "never family or friends" in reason


def refused_after(actor: User, patient: Patient, **overrides: Any) -> str:
    count = Disclosure.objects.count()
    with pytest.raises(ValidationError) as caught:
        release(actor, patient, recipient_organization="", **overrides)
    assert Disclosure.objects.count() == count
    return " ".join(caught.value.messages)


def test_it_prefers_a_named_consent_over_tpo(clinician: User, patient: Patient) -> None:
    ConsentFactory.create(patient=patient, tpo=True)
    named = ConsentFactory.create(patient=patient)
    assert release(clinician, patient).consent == named


# --- the medical emergency exception (§2.51) --------------------------------------------------


def test_it_releases_in_a_medical_emergency_with_a_note_and_logs_it(
    clinician: User, patient: Patient
) -> None:
    made = release(
        clinician,
        patient,
        recipient_name="Dr. Kim",
        recipient_organization="Mercy ER",
        categories=["medications"],
        exception="medical_emergency",
        exception_note="Dr. Kim, Mercy ER: unresponsive on arrival, asked for medications.",
    )
    assert (made.consent, made.exception) == (None, "medical_emergency")
    event = AuditEvent.objects.get(action=AuditEvent.Action.DISCLOSE)
    assert event.detail["exception"] == "medical_emergency"
    assert "Mercy ER" in event.reason


def test_it_refuses_an_emergency_release_without_a_note(clinician: User, patient: Patient) -> None:
    with pytest.raises(ValidationError) as caught:
        release(clinician, patient, exception="medical_emergency", exception_note="ER")
    assert "exception_note" in caught.value.error_dict
    assert not Disclosure.objects.exists()


# --- who may release --------------------------------------------------------------------------


def test_it_lets_billing_release_billing_information_only(
    patient: Patient, make_user: Callable[..., User]
) -> None:
    billing = make_user(Role.BILLING)
    ConsentFactory.create(patient=patient, tpo=True)
    payer = {"recipient_name": "Blue Plan", "recipient_organization": "", "tpo_class": "payer"}
    assert release(billing, patient, categories=["billing"], **payer).consent is not None
    with pytest.raises(ValidationError) as caught:
        release(billing, patient, categories=["billing", "drug_tests"], **payer)
    assert caught.value.message_dict["categories"] == [
        "Your role releases billing and insurance information only."
    ]


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.ALUMNI_COORDINATOR, Role.AUDITOR])
def test_it_refuses_releases_by_roles_without_it(
    role: str, patient: Patient, make_user: Callable[..., User]
) -> None:
    ConsentFactory.create(patient=patient)
    with pytest.raises(PermissionDenied):
        release(make_user(role), patient)


# --- the released document ---------------------------------------------------------------------


def test_it_puts_the_part2_notice_on_every_page_of_a_released_document(
    clinician: User, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(disclosure, "_sections", dict(disclosure._sections))
    long = "".join(f"<p>Visit {n}: attended 3.0 hours.</p>" for n in range(150))
    disclosure.register_section("attendance", "Attendance and dose", lambda p: long)
    ConsentFactory.create(patient=patient, categories=["all"])
    made = release(clinician, patient, categories=["attendance", "demographics", "drug_tests"])
    html = disclosure.release_html(made, clinician)
    assert NOTICE in html
    assert "Officer Jordan Reyes (County Probation)" in html  # the cover sheet
    assert "Monthly progress report." in html
    assert f"Consent #{made.consent_id}" in html
    assert "Drug-test results" in html and disclosure.NOT_HELD in html
    assert patient.mrn in html  # the demographics section
    pages, with_notice = pages_with_notice(html)
    assert pages >= 3
    assert with_notice == pages


def test_it_puts_the_notice_on_every_page_of_the_consent_and_the_accounting(
    clinician: User, patient: Patient
) -> None:
    consent = ConsentFactory.create(patient=patient)
    consent.patient = patient
    for n in range(60):
        DisclosureFactory.create(patient=patient, consent=consent, purpose=f"Report {n}")
    for html in (
        disclosure.consent_html(consent, clinician),
        disclosure.accounting_html(patient, clinician),
    ):
        pages, with_notice = pages_with_notice(html)
        assert with_notice == pages >= 1


# --- the accounting of disclosures -------------------------------------------------------------


def test_it_accounts_for_exactly_the_past_three_years_newest_first(
    clinician: User, patient: Patient
) -> None:
    zone = patient.facility.zone
    today = dt.date(2027, 6, 15)

    def at(day: dt.date, hour: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)

    too_old = DisclosureFactory.create(patient=patient, disclosed_at=at(dt.date(2024, 6, 14), 23))
    first_day = DisclosureFactory.create(patient=patient, disclosed_at=at(dt.date(2024, 6, 15)))
    recent = DisclosureFactory.create(patient=patient, disclosed_at=at(dt.date(2027, 6, 1), 9))
    rows = disclosure.accounting(patient, today=today)
    assert rows == [recent, first_day]
    assert too_old not in rows


def test_it_prints_the_accounting_with_the_consent_each_was_made_under(
    clinician: User, patient: Patient
) -> None:
    made = DisclosureFactory.create(patient=patient)
    DisclosureFactory.create(
        patient=patient,
        consent=None,
        exception="medical_emergency",
        exception_note="Dr. Kim, Mercy ER, overdose.",
    )
    response = signed_in(clinician).get(f"/patients/{patient.pk}/disclosures/accounting/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    event = AuditEvent.objects.filter(action=AuditEvent.Action.PRINT).get()
    assert (event.patient_id, event.section) == (patient.pk, "accounting of disclosures")
    html = disclosure.accounting_html(patient, clinician)
    assert f"Consent #{made.consent_id}" in html
    assert "Medical emergency (§2.51): Dr. Kim, Mercy ER, overdose." in html


# --- the release flow (pages) ------------------------------------------------------------------


def form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "recipient": "",
        "recipient_name": "Officer Jordan Reyes",
        "recipient_organization": "County Probation",
        "categories": ["attendance"],
        "purpose": "Monthly progress report.",
        "method": "pdf",
    }
    data.update(overrides)
    return data


def test_it_releases_from_the_page_and_returns_the_pdf(clinician: User, patient: Patient) -> None:
    consent = ConsentFactory.create(patient=patient)
    client = signed_in(clinician)
    page = body(client.get(f"/patients/{patient.pk}/release/"))
    assert f'value="consent:{consent.pk}"' in page
    response = client.post(
        f"/patients/{patient.pk}/release/",
        form(recipient=f"consent:{consent.pk}", recipient_name="", recipient_organization=""),
    )
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert Disclosure.objects.get().consent == consent


def test_it_shows_the_refusal_reason_and_saves_nothing(clinician: User, patient: Patient) -> None:
    ConsentFactory.create(patient=patient, categories=["attendance"])
    response = signed_in(clinician).post(
        f"/patients/{patient.pk}/release/", form(categories=["drug_tests"])
    )
    assert response.status_code == 200
    assert "This consent does not cover drug-test results." in body(response)
    assert "Nothing was released or saved." in body(response)
    assert not Disclosure.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DISCLOSE).exists()


def test_it_refuses_the_release_page_to_outsiders_and_front_desk(
    other_clinician: User, patient: Patient, make_user: Callable[..., User]
) -> None:
    assert signed_in(other_clinician).get(f"/patients/{patient.pk}/release/").status_code == 404
    front = signed_in(make_user(Role.FRONT_DESK))
    assert front.get(f"/patients/{patient.pk}/release/").status_code == 403
    assert front.post(f"/patients/{patient.pk}/release/", form()).status_code == 403


def test_it_labels_the_face_sheet_for_internal_use(clinician: User, patient: Patient) -> None:
    client = signed_in(clinician)
    chart = body(client.get(f"/patients/{patient.pk}/"))
    assert "Print for internal use" in chart
    assert f"/patients/{patient.pk}/release/" in chart
    assert "For internal use only." in body(client.get(f"/patients/{patient.pk}/print/"))


def test_it_rejects_a_section_for_an_unknown_category() -> None:
    with pytest.raises(ValueError, match="Unknown information category"):
        disclosure.register_section("astrology", "Stars", lambda p: "")
