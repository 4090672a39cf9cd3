"""Consents and disclosures for tests: synthetic people only (SPEC §13)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from openiop.patients import consent_rules
from openiop.patients.models import Consent, Disclosure
from tests.factories import PatientFactory, UserFactory


class ConsentFactory(factory.django.DjangoModelFactory[Consent]):
    """A signed consent naming one recipient for drug-test results and attendance."""

    class Meta:
        model = Consent

    patient = factory.SubFactory(PatientFactory)
    kind = Consent.Kind.NAMED
    disclosing_party = "Harbor Test Facility"
    information_description = "Attendance and drug-test results since admission."
    categories = factory.LazyFunction(lambda: ["attendance", "drug_tests"])
    recipient_name = "Officer Jordan Reyes"
    recipient_organization = "County Probation"
    recipients_description = factory.LazyAttribute(
        lambda o: (
            consent_rules.TPO_RECIPIENTS_TEXT
            if o.kind == Consent.Kind.TPO
            else f"{o.recipient_name}, {o.recipient_organization}"
        )
    )
    purpose = "To report progress in treatment to probation."
    revocation_statement = consent_rules.REVOCATION_STATEMENT
    expiry_kind = Consent.Expiry.DATE
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=180))
    signer = Consent.Signer.PATIENT
    typed_signature = factory.LazyAttribute(lambda o: o.patient.legal_name)
    signature_attested = True
    signed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    witnessed_by = factory.SubFactory(UserFactory)
    created_by = factory.SelfAttribute("witnessed_by")

    class Params:
        tpo = factory.Trait(
            kind=Consent.Kind.TPO,
            recipient_name="",
            recipient_organization="",
            categories=["all"],
            purpose="Treatment, payment and health care operations.",
            expiry_kind=Consent.Expiry.NONE,
            expires_on=None,
        )
        draft = factory.Trait(
            signer="",
            typed_signature="",
            signature_attested=False,
            signed_at=None,
            witnessed_by=None,
        )


class DisclosureFactory(factory.django.DjangoModelFactory[Disclosure]):
    class Meta:
        model = Disclosure

    patient = factory.SubFactory(PatientFactory)
    consent = factory.SubFactory(ConsentFactory, patient=factory.SelfAttribute("..patient"))
    recipient_name = "Officer Jordan Reyes"
    recipient_organization = "County Probation"
    categories = factory.LazyFunction(lambda: ["attendance"])
    description = "Attendance and dose"
    purpose = "Monthly progress report."
    method = Disclosure.Method.PDF
    disclosed_at = factory.LazyFunction(timezone.now)
    disclosed_by = factory.SubFactory(UserFactory)


def pages_with_notice(html: str) -> tuple[int, int]:
    """(pages, pages carrying the §2.32 notice) of the PDF WeasyPrint makes from ``html``."""
    import weasyprint
    from django.contrib.staticfiles import finders
    from weasyprint.formatting_structure import boxes

    def walk(box: object) -> object:
        yield box
        inner = getattr(box, "_box", None)  # absolutely/fixed positioned boxes sit in placeholders
        if inner is not None:
            yield from walk(inner)  # type: ignore[misc]
        for child in getattr(box, "children", None) or []:
            yield from walk(child)  # type: ignore[misc]

    document = weasyprint.HTML(string=html).render(
        stylesheets=[weasyprint.CSS(filename=finders.find("patients/part2.css"))]
    )
    with_notice = 0
    for page in document.pages:
        texts = {b.text for b in walk(page._page_box) if isinstance(b, boxes.TextBox)}  # type: ignore[attr-defined]
        with_notice += consent_rules.PART2_NOTICE in texts
    return len(document.pages), with_notice
