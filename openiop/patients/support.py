"""The support system: family, partner, friends, sponsor, employer, probation officer.

Writes are audited with before/after values. Whether the program may talk to someone is
never stored here: it comes from the patient's consents (``talk_permission``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, snapshot
from openiop.patients import consent_rules, rules
from openiop.patients.models import Consent, Patient, SupportContact

SUPPORT_FIELDS = (
    "name",
    "relationship_kind",
    "relationship",
    "phone",
    "email",
    "address",
    "in_recovery",
    "is_emergency_contact",
    "family_program_participant",
    "is_sponsor",
    "notes",
    "active",
)
SECTION = "support system"


def _require_manager(actor: User) -> None:
    if not actor.can("patients.manage_support"):
        raise PermissionDenied("Your role does not change the support system.")


def _clean(data: Mapping[str, Any], *, current: SupportContact | None = None) -> dict[str, Any]:
    """Field checks shared by the form and the API: bad input is refused the same way."""
    cleaned = {k: v for k, v in data.items() if k in SUPPORT_FIELDS}
    errors: dict[str, str] = {}
    for key in ("name", "relationship", "email", "address", "notes", "phone"):
        if key in cleaned:
            cleaned[key] = str(cleaned[key] or "").strip()
    if "name" in cleaned and not cleaned["name"]:
        errors["name"] = "Give the person's name."
    kind = cleaned.get("relationship_kind")
    if kind is not None and kind not in SupportContact.Kind.values:
        errors["relationship_kind"] = "Choose a relationship from the list."
    recovery = cleaned.get("in_recovery")
    if recovery is not None and recovery not in SupportContact.InRecovery.values:
        errors["in_recovery"] = "Choose yes, no or don't know."
    if cleaned.get("phone"):
        try:
            cleaned["phone"], _ = rules.normalize_phone(cleaned["phone"])
        except rules.PhoneError as exc:
            errors["phone"] = str(exc)
    if cleaned.get("email"):
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            errors["email"] = "Enter an e-mail address like name@example.org."
    emergency = cleaned.get(
        "is_emergency_contact", current.is_emergency_contact if current else False
    )
    phone = cleaned.get("phone", current.phone if current else "")
    if emergency and not phone and "phone" not in errors:
        errors["phone"] = "An emergency contact needs a phone number."
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def add_support_contact(
    *, actor: User, patient: Patient, data: Mapping[str, Any]
) -> SupportContact:
    _require_manager(actor)
    cleaned = _clean(data)
    if "name" not in cleaned:
        raise ValidationError({"name": "Give the person's name."})
    last = patient.support_contacts.order_by("-order").values_list("order", flat=True).first()
    contact = SupportContact.objects.create(
        patient=patient, order=0 if last is None else last + 1, **cleaned
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=contact,
        section=SECTION,
        changes={k: [None, v] for k, v in snapshot(contact, SUPPORT_FIELDS).items()},
    )
    return contact


@transaction.atomic
def update_support_contact(
    *, actor: User, contact: SupportContact, data: Mapping[str, Any]
) -> SupportContact:
    _require_manager(actor)
    locked = SupportContact.objects.select_for_update().get(pk=contact.pk)
    before = snapshot(locked, SUPPORT_FIELDS)
    for key, value in _clean(data, current=locked).items():
        setattr(locked, key, value)
    changes = diff(before, snapshot(locked, SUPPORT_FIELDS))
    if changes:
        locked.save()
        record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            patient=contact.patient,
            obj=locked,
            section=SECTION,
            changes=changes,
        )
    return locked


def deactivate_support_contact(*, actor: User, contact: SupportContact) -> SupportContact:
    """No longer part of the support system; kept (consents and history may name them)."""
    return update_support_contact(actor=actor, contact=contact, data={"active": False})


# --- reads -----------------------------------------------------------------------------------


def visible_contacts(user: User, patient: Patient) -> list[SupportContact]:
    """The support contacts this user may see on a chart they already opened."""
    if user.can("patients.view_support_contacts"):
        qs = patient.support_contacts.all()
    elif user.can("patients.view_emergency_contacts"):
        qs = patient.support_contacts.filter(is_emergency_contact=True, active=True)
    else:
        return []
    return list(qs.order_by("-active", "order", "id"))


@dataclass(frozen=True)
class TalkPermission:
    allowed: bool
    label: str
    until: dt.date | None = None


NO_CONSENT = TalkPermission(False, "No consent — do not share information")


def talk_permission(
    contact: SupportContact, consents: Iterable[Consent], *, today: dt.date, in_treatment: bool
) -> TalkPermission:
    """Whether an active consent names this person, and until when ("May talk to them…")."""
    recipient = consent_rules.Recipient(name=contact.name)
    best: TalkPermission | None = None
    for consent in consents:
        if consent.kind != Consent.Kind.NAMED:
            continue
        facts = consent.facts()
        names = consent.support_contact_id == contact.pk or (
            not facts.recipient_organization and consent_rules.names_recipient(facts, recipient)
        )
        if not names:
            continue
        status = consent_rules.consent_status(facts, on=today, patient_in_treatment=in_treatment)
        if status != consent_rules.ACTIVE:
            continue
        if consent.expiry_kind == Consent.Expiry.END_OF_TREATMENT:
            found = TalkPermission(True, "May talk to them until the end of treatment")
        elif consent.expires_on is not None:
            found = TalkPermission(
                True,
                f"May talk to them until {consent.expires_on:%m/%d/%Y}",
                until=consent.expires_on,
            )
        else:
            found = TalkPermission(True, "May talk to them")
        if best is None or (best.until is not None and (found.until or dt.date.max) > best.until):
            best = found
    return best or NO_CONSENT
