"""Releasing records to an outside party (42 CFR Part 2 §2.31, §2.32, §2.51; SPEC §10).

Nothing leaves the program without an active consent that names the recipient and covers the
information — or a documented medical emergency. Every release is logged (the accounting of
disclosures) and every page of the released PDF carries the §2.32 notice.

The released document is built from sections other capabilities register::

    register_section("drug_tests", "Drug-test results", render)  # render(patient) -> HTML

A category nobody registered yet is listed as not held electronically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients import consent_rules
from openiop.patients.consents import with_status
from openiop.patients.models import Consent, Disclosure, Patient, patient_in_treatment
from openiop.patients.permissions import RELEASE_LIMITS

SECTION = "release of records"
MIN_EXCEPTION_NOTE = 20
NOT_HELD = "Not held electronically in OpenIOP yet"

# --- the sections a released document is made of --------------------------------------------


@dataclass(frozen=True)
class Section:
    category: str
    label: str
    render: Callable[[Patient], str]


_sections: dict[str, Section] = {}


def register_section(category: str, label: str, render: Callable[[Patient], str]) -> None:
    """Let a capability put its records in released documents (``render`` returns HTML)."""
    if category not in consent_rules.CATEGORIES or category == consent_rules.ALL:
        raise ValueError(f"Unknown information category {category!r}.")
    _sections[category] = Section(category=category, label=label, render=render)


def _demographics(patient: Patient) -> str:
    return render_to_string("patients/support/section_demographics.html", {"patient": patient})


register_section("demographics", "Demographics and contact information", _demographics)


def expand(categories: Iterable[str]) -> list[str]:
    """The categories a release covers, "all" spelled out."""
    wanted = list(dict.fromkeys(categories))
    if consent_rules.ALL in wanted:
        return [c for c in consent_rules.CATEGORIES if c != consent_rules.ALL]
    return wanted


@dataclass(frozen=True)
class RenderedSection:
    label: str
    html: SafeString | None  # None: not held electronically yet


def render_sections(patient: Patient, categories: Iterable[str]) -> list[RenderedSection]:
    rows = []
    for category in expand(categories):
        section = _sections.get(category)
        if section is None:
            label = consent_rules.CATEGORIES[category]
            rows.append(RenderedSection(label=label[:1].upper() + label[1:], html=None))
        else:
            # Registered renderers return HTML from our own templates (autoescaped).
            html = mark_safe(section.render(patient))
            rows.append(RenderedSection(label=section.label, html=html))
    return rows


# --- the rule enforced -------------------------------------------------------------------------


def _recipient(
    patient: Patient, name: str, organization: str, tpo_class: str
) -> consent_rules.Recipient:
    """The recipient, flagged when they are one of the patient's own people (no TPO for them)."""
    names = {
        " ".join(n.split()).casefold()
        for n in patient.support_contacts.values_list("name", flat=True)
    }
    return consent_rules.Recipient(
        name=name,
        organization=organization,
        tpo_class=tpo_class,
        in_support_system=" ".join(name.split()).casefold() in names,
    )


def find_consent(
    patient: Patient,
    recipient: consent_rules.Recipient,
    categories: Sequence[str],
    *,
    consents: Iterable[Consent],
    today: dt.date,
) -> Consent:
    """The consent that allows this release, or ValidationError with the reason it is refused."""
    in_treatment = patient_in_treatment(patient)
    rows = list(consents)
    # Named consents first: they say more precisely what the patient agreed to.
    rows.sort(key=lambda c: c.kind != Consent.Kind.NAMED)
    refusals: list[consent_rules.Refusal] = []
    for consent in rows:
        facts = consent.facts()
        refusal = consent_rules.covers(
            facts, recipient, categories, today, patient_in_treatment=in_treatment
        )
        if refusal is None:
            return consent
        # A TPO consent's refusal always explains something (which classes it covers); a
        # named consent's only when it names this recipient.
        if consent.kind == Consent.Kind.TPO or consent_rules.names_recipient(facts, recipient):
            refusals.append(refusal)
    if refusals:
        raise ValidationError(refusals[0].reason, code=refusals[0].code)
    raise ValidationError(
        f"No consent names {recipient.label}. Nothing may be released to them until the "
        "patient signs a consent that names them and the information.",
        code="no_consent",
    )


@transaction.atomic
def disclose(
    *,
    actor: User,
    patient: Patient,
    recipient_name: str,
    recipient_organization: str = "",
    categories: Sequence[str],
    purpose: str,
    consent: Consent | None = None,
    exception: str | None = None,
    exception_note: str = "",
    tpo_class: str = "",
    method: str = Disclosure.Method.PDF,
) -> Disclosure:
    """Log a release to an outside party, or refuse it with the reason (ValidationError)."""
    if not actor.can("patients.release_records"):
        raise PermissionDenied("Your role does not release records to outside parties.")
    name = " ".join(recipient_name.split())
    organization = " ".join(recipient_organization.split())
    wanted = list(dict.fromkeys(categories))
    purpose = purpose.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["recipient_name"] = "Say who receives the records."
    if not wanted:
        errors["categories"] = "Choose the information to release."
    elif any(c not in consent_rules.CATEGORIES for c in wanted):
        errors["categories"] = "Choose the information from the list."
    else:
        limit = RELEASE_LIMITS.get(actor.role)
        if limit is not None and not set(wanted) <= limit:
            allowed = consent_rules.join_words(consent_rules.category_labels(sorted(limit)))
            errors["categories"] = f"Your role releases {allowed} only."
    if not purpose:
        errors["purpose"] = "Say why the records are released."
    if method not in Disclosure.Method.values:
        errors["method"] = "Choose how the records are released."
    if tpo_class and tpo_class not in consent_rules.TPO_CLASSES:
        errors["tpo_class"] = "Choose a recipient class from the list."
    if exception and exception not in Disclosure.ExceptionKind.values:
        errors["exception"] = "The only exception recorded here is a medical emergency."
    note = exception_note.strip()
    if exception and len(note) < MIN_EXCEPTION_NOTE:
        errors["exception_note"] = (
            "Write who received the records (name and facility) and what the emergency was, "
            f"in at least {MIN_EXCEPTION_NOTE} characters."
        )
    if errors:
        raise ValidationError(errors)
    used: Consent | None = None
    if not exception:
        today = timezone.localdate(timezone=patient.facility.zone)
        recipient = _recipient(patient, name, organization, tpo_class)
        # Locked so that a revocation recorded at the same moment cannot slip in between.
        locked = Consent.objects.select_for_update().filter(
            patient=patient, signed_at__isnull=False
        )
        if consent is not None:
            if consent.patient_id != patient.pk:
                raise ValidationError({"consent": "Choose one of this patient's consents."})
            chosen = Consent.objects.select_for_update().get(pk=consent.pk)
            chosen.patient = patient
            refusal = consent_rules.covers(
                chosen.facts(),
                recipient,
                wanted,
                today,
                patient_in_treatment=patient_in_treatment(patient),
            )
            if refusal is not None:
                raise ValidationError(refusal.reason, code=refusal.code)
            used = chosen
        else:
            rows = list(locked)
            for row in rows:
                row.patient = patient
            used = find_consent(patient, recipient, wanted, consents=rows, today=today)
    labels = consent_rules.category_labels(expand(wanted))
    disclosure = Disclosure.objects.create(
        patient=patient,
        consent=used,
        recipient_name=name,
        recipient_organization=organization,
        tpo_class=tpo_class if used is not None and used.kind == Consent.Kind.TPO else "",
        categories=wanted,
        description="; ".join(label[:1].upper() + label[1:] for label in labels),
        purpose=purpose,
        method=method,
        exception=exception or "",
        exception_note=note if exception else "",
        disclosed_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.DISCLOSE,
        patient=patient,
        obj=disclosure,
        section=SECTION,
        reason=note if exception else "",
        detail={
            "recipient": disclosure.recipient_label,
            "categories": wanted,
            "consent": used.pk if used else None,
            "exception": exception or "",
            "method": method,
        },
    )
    return disclosure


# --- reads -------------------------------------------------------------------------------------


def disclosures_of(patient: Patient) -> QuerySet[Disclosure]:
    return Disclosure.objects.filter(patient=patient).select_related("consent", "disclosed_by")


def accounting(patient: Patient, *, today: dt.date) -> list[Disclosure]:
    """Every disclosure of the past ACCOUNTING_YEARS years (facility days), newest first."""
    start = consent_rules.accounting_start(today)
    since = dt.datetime.combine(start, dt.time.min, tzinfo=patient.facility.zone)
    return list(disclosures_of(patient).filter(disclosed_at__gte=since))


# --- documents ---------------------------------------------------------------------------------


def to_pdf(html: str) -> bytes:
    """A PDF from our own HTML (no network: base_url is the static folder only)."""
    import weasyprint  # imported here: it loads system libraries, only PDF requests need it

    stylesheet = finders.find("patients/part2.css")
    return weasyprint.HTML(string=html).write_pdf(
        stylesheets=[weasyprint.CSS(filename=stylesheet)] if stylesheet else None
    )


def _base(patient: Patient, user: User) -> dict[str, Any]:
    return {
        "patient": patient,
        "user": user,
        "notice": consent_rules.PART2_NOTICE,
        "printed_at": timezone.now(),
        "zone": patient.facility.time_zone,
    }


def release_html(disclosure: Disclosure, user: User) -> str:
    patient = disclosure.patient
    context = _base(patient, user)
    context.update(
        {
            "disclosure": disclosure,
            "sections": render_sections(patient, disclosure.categories),
            "not_held": NOT_HELD,
        }
    )
    return render_to_string("patients/support/pdf_release.html", context)


def consent_html(consent: Consent, user: User) -> str:
    patient = consent.patient
    context = _base(patient, user)
    (consent,) = with_status(patient, [consent])
    context["consent"] = consent
    return render_to_string("patients/support/pdf_consent.html", context)


def accounting_html(patient: Patient, user: User) -> str:
    today = timezone.localdate(timezone=patient.facility.zone)
    context = _base(patient, user)
    context.update(
        {
            "rows": accounting(patient, today=today),
            "start": consent_rules.accounting_start(today),
            "today": today,
            "years": consent_rules.ACCOUNTING_YEARS,
        }
    )
    return render_to_string("patients/support/pdf_accounting.html", context)
