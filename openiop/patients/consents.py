"""42 CFR Part 2 consents (SPEC §10, §2.31): draft, sign, revoke; status in the chart header.

A consent is written as a draft, read to or by the patient, then signed electronically (the
typed full name plus an attestation, at the server's time, witnessed by the staff member).
A signed consent never changes — a change is a new consent. Revocation is recorded with how
it was received and stops later disclosures only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, snapshot
from openiop.patients import consent_rules
from openiop.patients.chart import register_header_provider
from openiop.patients.models import Consent, Patient, SupportContact, patient_in_treatment

SECTION = "consents"
CONSENT_FIELDS = (
    "kind",
    "disclosing_party",
    "information_description",
    "categories",
    "recipients_description",
    "recipient_name",
    "recipient_organization",
    "support_contact_id",
    "purpose",
    "revocation_statement",
    "expiry_kind",
    "expires_on",
)
SIGNATURE_FIELDS = (
    "signer",
    "representative_name",
    "representative_authority",
    "typed_signature",
    "signature_attested",
    "signed_at",
    "witnessed_by_id",
)
REVOCATION_FIELDS = (
    "revoked_on",
    "revoked_at",
    "revocation_method",
    "revocation_note",
    "revocation_received_by_id",
)


def _today(patient: Patient) -> dt.date:
    return timezone.localdate(timezone=patient.facility.zone)


def _require_manager(actor: User) -> None:
    if not actor.can("patients.manage_consents"):
        raise PermissionDenied("Your role does not record consents.")


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@transaction.atomic
def create_consent(*, actor: User, patient: Patient, data: Mapping[str, Any]) -> Consent:
    """A draft with every §2.31 element; it allows nothing until it is signed."""
    _require_manager(actor)
    errors: dict[str, str] = {}
    kind = str(data.get("kind") or "")
    if kind not in Consent.Kind.values:
        errors["kind"] = "Choose a TPO consent or a consent for a named recipient."
    categories = list(dict.fromkeys(data.get("categories") or []))
    if not categories:
        errors["categories"] = "Choose the information the patient agrees to share."
    elif any(c not in consent_rules.CATEGORIES for c in categories):
        errors["categories"] = "Choose the information from the list."
    if consent_rules.ALL in categories:
        categories = [consent_rules.ALL]
    description = str(data.get("information_description") or "").strip()
    if not description and categories and "categories" not in errors:
        description = consent_rules.join_words(consent_rules.category_labels(categories))
        description = description[:1].upper() + description[1:] + "."
    purpose = str(data.get("purpose") or "").strip()
    if not purpose:
        errors["purpose"] = "Say why the information is shared, e.g. 'to coordinate care'."
    contact = data.get("support_contact")
    if contact is not None and (
        not isinstance(contact, SupportContact) or contact.patient_id != patient.pk
    ):
        errors["support_contact"] = "Choose someone from this patient's support system."
        contact = None
    name = str(data.get("recipient_name") or "").strip()
    organization = str(data.get("recipient_organization") or "").strip()
    if kind == Consent.Kind.TPO:
        name, organization, contact = "", "", None
        recipients = consent_rules.TPO_RECIPIENTS_TEXT
    else:
        if not name and contact is not None:
            name = contact.name
        if not name:
            errors["recipient_name"] = "Name the person or organization who may receive it."
        recipients = f"{name}, {organization}" if organization else name
    expiry_kind = str(data.get("expiry_kind") or "")
    expires_on = data.get("expires_on") if expiry_kind == Consent.Expiry.DATE else None
    errors.update(
        consent_rules.expiry_error(
            kind=kind, expiry_kind=expiry_kind, expires_on=expires_on, today=_today(patient)
        )
    )
    if errors:
        raise ValidationError(errors)
    consent = Consent.objects.create(
        patient=patient,
        kind=kind,
        disclosing_party=str(data.get("disclosing_party") or "").strip() or patient.facility.name,
        information_description=description,
        categories=categories,
        recipients_description=recipients,
        recipient_name=name,
        recipient_organization=organization,
        support_contact=contact,
        purpose=purpose,
        revocation_statement=consent_rules.REVOCATION_STATEMENT,
        expiry_kind=expiry_kind,
        expires_on=expires_on,
        created_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=consent,
        section=SECTION,
        changes={k: [None, v] for k, v in snapshot(consent, CONSENT_FIELDS).items()},
    )
    return consent


def _locked(consent: Consent) -> Consent:
    locked = Consent.objects.select_for_update().get(pk=consent.pk)
    locked.patient = consent.patient
    return locked


@transaction.atomic
def sign_consent(
    *,
    actor: User,
    consent: Consent,
    signer: str,
    typed_signature: str,
    attested: bool,
    representative_name: str = "",
    representative_authority: str = "",
) -> Consent:
    """Electronic signature: the typed full name of the signer and their attestation."""
    _require_manager(actor)
    locked = _locked(consent)
    if locked.signed_at is not None:
        raise ValidationError("This consent is already signed. A change needs a new consent.")
    patient = locked.patient
    errors: dict[str, str] = {}
    typed = " ".join(typed_signature.split())
    representative = " ".join(representative_name.split())
    if signer == Consent.Signer.PATIENT:
        accepted = {_norm(patient.legal_name), _norm(f"{patient.first_name} {patient.last_name}")}
        if _norm(typed) not in accepted:
            errors["typed_signature"] = (
                f"The patient types their full name as it is on the chart: {patient.legal_name}."
            )
        representative, representative_authority = "", ""
    elif signer == Consent.Signer.REPRESENTATIVE:
        if not representative:
            errors["representative_name"] = "Give the guardian's or representative's full name."
        if not representative_authority.strip():
            errors["representative_authority"] = (
                "Say what gives them authority, e.g. 'parent of a minor' or 'legal guardian'."
            )
        if representative and _norm(typed) != _norm(representative):
            errors["typed_signature"] = "The representative types their own full name."
    else:
        errors["signer"] = "Say who signs: the patient or a guardian or legal representative."
    if not attested:
        errors["attested"] = "The signer confirms that the typed name is their signature."
    errors.update(
        consent_rules.expiry_error(
            kind=locked.kind,
            expiry_kind=locked.expiry_kind,
            expires_on=locked.expires_on,
            today=_today(patient),
        )
    )
    if errors:
        raise ValidationError(errors)
    locked.signer = signer
    locked.representative_name = representative
    locked.representative_authority = representative_authority.strip()
    locked.typed_signature = typed
    locked.signature_attested = True
    locked.signed_at = timezone.now()
    locked.witnessed_by = actor
    locked.save(update_fields=[f.removesuffix("_id") for f in SIGNATURE_FIELDS])
    record(
        actor=actor,
        action=AuditEvent.Action.SIGN,
        patient=patient,
        obj=locked,
        section=SECTION,
        changes={k: [None, v] for k, v in snapshot(locked, SIGNATURE_FIELDS).items()},
    )
    return locked


@transaction.atomic
def revoke_consent(
    *, actor: User, consent: Consent, method: str, revoked_on: dt.date | None = None, note: str = ""
) -> Consent:
    """Stop a signed consent; disclosures already made under it stay valid (§2.31(a)(6))."""
    _require_manager(actor)
    locked = _locked(consent)
    patient = locked.patient
    today = _today(patient)
    if locked.signed_at is None:
        raise ValidationError("A consent that was never signed cannot be revoked; discard it.")
    if locked.revoked_at is not None:
        raise ValidationError("This consent is already revoked.")
    day = revoked_on or today
    errors: dict[str, str] = {}
    if method not in Consent.RevocationMethod.values:
        errors["method"] = "Say how the revocation was received: in writing or verbally."
    if day > today:
        errors["revoked_on"] = "A revocation cannot be dated in the future."
    elif day < timezone.localdate(locked.signed_at, timezone=patient.facility.zone):
        errors["revoked_on"] = "A revocation cannot be dated before the consent was signed."
    note = note.strip()
    if method == Consent.RevocationMethod.VERBAL and len(note) < 10:
        errors["note"] = "Write down what the patient said and who heard it."
    if errors:
        raise ValidationError(errors)
    locked.revoked_on = day
    locked.revoked_at = timezone.now()
    locked.revocation_method = method
    locked.revocation_note = note
    locked.revocation_received_by = actor
    locked.save(update_fields=[f.removesuffix("_id") for f in REVOCATION_FIELDS])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=patient,
        obj=locked,
        section=SECTION,
        reason=note,
        changes={k: [None, v] for k, v in snapshot(locked, REVOCATION_FIELDS).items()},
    )
    return locked


@transaction.atomic
def discard_draft(*, actor: User, consent: Consent) -> None:
    """A draft written by mistake; signed consents are kept for good."""
    _require_manager(actor)
    locked = _locked(consent)
    if locked.signed_at is not None:
        raise ValidationError("A signed consent is kept. Revoke it instead.")
    record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        patient=locked.patient,
        obj=locked,
        section=SECTION,
        changes={k: [v, None] for k, v in snapshot(locked, CONSENT_FIELDS).items()},
    )
    locked.delete()


# --- reads -----------------------------------------------------------------------------------


def consents_of(patient: Patient) -> QuerySet[Consent]:
    """Every consent of a chart the caller already opened, newest first."""
    return Consent.objects.filter(patient=patient).select_related(
        "witnessed_by", "revocation_received_by", "support_contact", "created_by"
    )


def with_status(patient: Patient, consents: Iterable[Consent]) -> list[Consent]:
    """The consents with ``status`` set for today (and the patient already attached)."""
    today = _today(patient)
    in_treatment = patient_in_treatment(patient)
    rows = []
    for consent in consents:
        consent.patient = patient  # no query per row for the facility's time zone
        consent.status = consent_rules.consent_status(  # type: ignore[attr-defined]
            consent.facts(), on=today, patient_in_treatment=in_treatment
        )
        rows.append(consent)
    return rows


@register_header_provider
def _header(user: User, patient: Patient) -> dict[str, Any]:
    """The chart header's Part 2 pill, in one query."""
    today = _today(patient)
    in_treatment = patient_in_treatment(patient)
    tpo, named = False, 0
    for kind, expiry_kind, expires_on, revoked_on in Consent.objects.filter(
        patient=patient, signed_at__isnull=False
    ).values_list("kind", "expiry_kind", "expires_on", "revoked_on"):
        facts = consent_rules.ConsentFacts(
            kind=kind,
            categories=frozenset(),
            expiry_kind=expiry_kind,
            signed_on=today,  # signed: only whether matters here
            expires_on=expires_on,
            revoked_on=revoked_on,
        )
        if (
            consent_rules.consent_status(facts, on=today, patient_in_treatment=in_treatment)
            == consent_rules.ACTIVE
        ):
            tpo = tpo or kind == Consent.Kind.TPO
            named += kind == Consent.Kind.NAMED
    active, label = consent_rules.header_label(tpo_active=tpo, named_active=named)
    return {"consents": {"active": active, "label": label}}
