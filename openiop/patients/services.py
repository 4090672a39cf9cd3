"""Every write of patient information goes through these functions, each audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, snapshot
from openiop.patients import consent_rules, rules
from openiop.patients.models import (
    BreakGlassGrant,
    CareTeamMember,
    MrnSequence,
    Patient,
    PatientSearchToken,
    SupportContact,
)
from openiop.patients.selectors import likely_duplicates

# Fields a caller may set on a patient; the rest are managed here.
PATIENT_FIELDS = (
    "mrn",
    "first_name",
    "middle_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "sex_at_birth",
    "gender_identity",
    "gender_identity_other",
    "pronouns",
    "sexual_orientation",
    "lgbtq_group_opt_in",
    "survivor_group_opt_in",
    "veteran_status",
    "language",
    "needs_interpreter",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "status",
)
AUDITED_FIELDS = (*PATIENT_FIELDS, "facility_id")
CONTACT_FIELDS = ("name", "relationship", "phone", "order")


class PossibleDuplicate(ValidationError):
    """A patient with the same birth date and a similar name exists; confirm to go on."""

    def __init__(self, matches: list[Patient]) -> None:
        self.matches = matches
        super().__init__(
            {
                "confirm_not_duplicate": (
                    "This looks like someone already registered (same date of birth, similar "
                    "name). Open that record instead, or confirm this is a different person."
                )
            },
            code="possible_duplicate",
        )


def _require_registration(actor: User, facility: Facility) -> None:
    if not actor.may_register_patients:
        raise PermissionDenied("Your role does not register or edit patients.")
    if not facilities_for(actor).filter(pk=facility.pk).exists():
        raise ValidationError({"facility": "Choose one of the facilities you work at."})


def _clean(data: Mapping[str, Any], *, today: dt.date) -> dict[str, Any]:
    """Field checks shared by forms and the API, so bad input is refused the same way."""
    cleaned = {k: v for k, v in data.items() if k in PATIENT_FIELDS}
    errors: dict[str, str] = {}
    for key in ("first_name", "last_name"):
        if key in cleaned:
            cleaned[key] = str(cleaned[key] or "").strip()
            if not cleaned[key]:
                errors[key] = "This name is required."
    born = cleaned.get("date_of_birth")
    if isinstance(born, dt.date):
        problem = rules.birth_date_error(born, today)
        if problem:
            errors["date_of_birth"] = problem
    if "phone" in cleaned:
        try:
            cleaned["phone"], _digits = rules.normalize_phone(str(cleaned["phone"] or ""))
        except rules.PhoneError as exc:
            errors["phone"] = str(exc)
    if "mrn" in cleaned:
        cleaned["mrn"] = str(cleaned["mrn"] or "").strip().upper()
    if "state" in cleaned:
        cleaned["state"] = str(cleaned["state"] or "").strip().upper()
    if errors:
        raise ValidationError(errors)
    return cleaned


def _next_mrn(facility: Facility) -> str:
    """The next free number; numbers typed by hand in the same form are skipped."""
    MrnSequence.objects.get_or_create(facility=facility)
    while True:
        MrnSequence.objects.filter(facility=facility).update(last_value=F("last_value") + 1)
        value = MrnSequence.objects.get(facility=facility).last_value
        mrn = f"{facility.code}-{value}"
        if not Patient.objects.filter(facility=facility, mrn=mrn).exists():
            return mrn


def _refresh_tokens(patient: Patient) -> None:
    PatientSearchToken.objects.filter(patient=patient).delete()
    PatientSearchToken.objects.bulk_create(
        PatientSearchToken(patient=patient, token=t) for t in sorted(tokens_for(patient))
    )


def tokens_for(patient: Patient) -> set[str]:
    return rules.search_tokens(
        first=patient.first_name,
        middle=patient.middle_name,
        last=patient.last_name,
        preferred=patient.preferred_name,
        mrn=patient.mrn,
        phone_digits=patient.phone_digits,
    )


def _phone_digits(phone: str) -> str:
    return rules.normalize_phone(phone)[1] if phone else ""


def _check_mrn_free(facility: Facility, mrn: str, exclude_pk: int | None = None) -> None:
    clash = Patient.objects.filter(facility=facility, mrn=mrn)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError(
            {"mrn": "Another patient at this facility has this medical record number."}
        )


@transaction.atomic
def create_patient(
    *,
    actor: User,
    facility: Facility,
    data: Mapping[str, Any],
    emergency_contacts: Sequence[Mapping[str, Any]] = (),
    confirm_not_duplicate: bool = False,
) -> Patient:
    _require_registration(actor, facility)
    today = timezone.localdate(timezone=facility.zone)
    cleaned = _clean(data, today=today)
    if not confirm_not_duplicate and cleaned.get("date_of_birth"):
        matches = likely_duplicates(
            actor,
            first_name=cleaned.get("first_name", ""),
            last_name=cleaned.get("last_name", ""),
            date_of_birth=cleaned["date_of_birth"],
        )
        if matches:
            raise PossibleDuplicate(matches)
    if cleaned.get("mrn"):
        _check_mrn_free(facility, cleaned["mrn"])
    else:
        cleaned["mrn"] = _next_mrn(facility)
    patient = Patient(facility=facility, created_by=actor, **cleaned)
    patient.phone_digits = _phone_digits(patient.phone)
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as exc:  # a concurrent registration took the MRN first
        raise ValidationError(
            {"mrn": "Another patient at this facility has this medical record number."}
        ) from exc
    _refresh_tokens(patient)
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=patient,
        section="demographics",
        changes={k: [None, v] for k, v in snapshot(patient, AUDITED_FIELDS).items()},
        detail={"duplicate_warning_overridden": True} if confirm_not_duplicate else None,
    )
    if emergency_contacts:
        set_emergency_contacts(actor=actor, patient=patient, contacts=emergency_contacts)
    if actor.sees_caseload_only:
        # Otherwise the person who just registered the patient could not open the chart.
        _add_to_care_team(actor=actor, patient=patient, member=actor, role=_caseload_role(actor))
    return patient


def _caseload_role(user: User) -> str:
    if user.role == "case_manager":
        return CareTeamMember.Role.CASE_MANAGER
    return CareTeamMember.Role.PRIMARY_CLINICIAN


@transaction.atomic
def update_patient(*, actor: User, patient: Patient, data: Mapping[str, Any]) -> Patient:
    """Change demographics; the audit record keeps every changed value before and after."""
    _require_registration(actor, patient.facility)
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    before = snapshot(locked, AUDITED_FIELDS)
    cleaned = _clean(data, today=timezone.localdate(timezone=patient.facility.zone))
    if "mrn" in cleaned:
        if not cleaned["mrn"]:
            raise ValidationError({"mrn": "A medical record number is required."})
        _check_mrn_free(locked.facility, cleaned["mrn"], exclude_pk=locked.pk)
    for key, value in cleaned.items():
        setattr(locked, key, value)
    changes = diff(before, snapshot(locked, AUDITED_FIELDS))
    if not changes:
        return locked
    locked.phone_digits = _phone_digits(locked.phone)
    locked.updated_at = timezone.now()
    locked.save()
    if {"first_name", "middle_name", "last_name", "preferred_name", "mrn", "phone"} & set(changes):
        _refresh_tokens(locked)
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked,
        obj=locked,
        section="demographics",
        changes=changes,
    )
    return locked


@transaction.atomic
def set_emergency_contacts(
    *, actor: User, patient: Patient, contacts: Sequence[Mapping[str, Any]]
) -> list[SupportContact]:
    """Make the patient's emergency contacts exactly ``contacts`` (each may carry an ``id``).

    For the registration form: emergency contacts are support contacts marked as such. One
    taken off the list is deleted, unless it is more than an emergency contact (a sponsor, in
    the family program, named by a consent): then it only stops being an emergency contact.
    """
    _require_registration(actor, patient.facility)
    existing = {
        c.pk: c for c in patient.support_contacts.filter(is_emergency_contact=True, active=True)
    }
    kept: list[SupportContact] = []
    errors: dict[str, str] = {}
    for index, raw in enumerate(contacts):
        name = str(raw.get("name", "")).strip()
        relationship = str(raw.get("relationship", "")).strip()
        try:
            phone, _ = rules.normalize_phone(str(raw.get("phone", "")))
        except rules.PhoneError as exc:
            errors[f"emergency_contacts[{index}].phone"] = str(exc)
            continue
        if not name or not phone or not relationship:
            errors[f"emergency_contacts[{index}]"] = (
                "An emergency contact needs a name, a relationship and a phone number."
            )
            continue
        values = {"name": name, "relationship": relationship, "phone": phone, "order": index}
        contact = existing.pop(int(raw["id"]), None) if raw.get("id") else None
        if contact is None:
            contact = SupportContact.objects.create(
                patient=patient,
                is_emergency_contact=True,
                relationship_kind=consent_rules.relationship_kind(relationship),
                **values,
            )
            record(
                actor=actor,
                action=AuditEvent.Action.CREATE,
                patient=patient,
                obj=contact,
                section="emergency contacts",
                changes={k: [None, v] for k, v in values.items()},
            )
        else:
            before = snapshot(contact, CONTACT_FIELDS)
            for key, value in values.items():
                setattr(contact, key, value)
            changes = diff(before, snapshot(contact, CONTACT_FIELDS))
            if changes:
                contact.save()
                record(
                    actor=actor,
                    action=AuditEvent.Action.UPDATE,
                    patient=patient,
                    obj=contact,
                    section="emergency contacts",
                    changes=changes,
                )
        kept.append(contact)
    if errors:
        raise ValidationError(errors)
    for contact in existing.values():
        if contact.is_sponsor or contact.family_program_participant or contact.consents.exists():
            contact.is_emergency_contact = False
            contact.save(update_fields=["is_emergency_contact"])
            record(
                actor=actor,
                action=AuditEvent.Action.UPDATE,
                patient=patient,
                obj=contact,
                section="emergency contacts",
                changes={"is_emergency_contact": [True, False]},
            )
            continue
        values = snapshot(contact, CONTACT_FIELDS)
        record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            patient=patient,
            obj=contact,
            section="emergency contacts",
            changes={k: [v, None] for k, v in values.items()},
        )
        contact.delete()
    return kept


@transaction.atomic
def delete_patient(*, actor: User, patient: Patient, reason: str) -> None:
    """Remove a record registered by mistake (administrators only); the audit trail keeps it."""
    if not actor.may_delete_patients:
        raise PermissionDenied("Only an administrator can delete a patient record.")
    if len(reason.strip()) < 10:
        raise ValidationError(
            {"reason": "Say why this record is being deleted (10 characters or more)."}
        )
    if patient.break_glass_grants.exists():
        raise ValidationError(
            {"reason": "This chart was opened by break-the-glass; it must be kept for review."}
        )
    record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        patient=patient,
        obj=patient,
        section="demographics",
        reason=reason.strip(),
        changes={k: [v, None] for k, v in snapshot(patient, AUDITED_FIELDS).items()},
    )
    patient.delete()


@transaction.atomic
def assign_care_team_member(
    *, actor: User, patient: Patient, member: User, role: str
) -> CareTeamMember:
    if not actor.may_assign_care_team:
        raise PermissionDenied("Your role does not assign care teams.")
    if role not in CareTeamMember.Role.values:
        raise ValidationError({"role": "Choose a care-team role from the list."})
    if not member.facilities.filter(pk=patient.facility_id).exists():
        raise ValidationError({"user": "This person does not work at the patient's facility."})
    if CareTeamMember.objects.filter(
        patient=patient, user=member, role=role, ended_on__isnull=True
    ).exists():
        raise ValidationError({"user": "This person already has that role on the care team."})
    return _add_to_care_team(actor=actor, patient=patient, member=member, role=role)


def _add_to_care_team(*, actor: User, patient: Patient, member: User, role: str) -> CareTeamMember:
    assignment = CareTeamMember.objects.create(patient=patient, user=member, role=role)
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=assignment,
        section="care team",
        changes={"user_id": [None, member.pk], "role": [None, role]},
    )
    return assignment


@transaction.atomic
def end_care_team_member(*, actor: User, assignment: CareTeamMember) -> CareTeamMember:
    if not actor.may_assign_care_team:
        raise PermissionDenied("Your role does not change care teams.")
    return _end_assignment(actor=actor, assignment=assignment)


def _end_assignment(*, actor: User, assignment: CareTeamMember) -> CareTeamMember:
    today = timezone.localdate(timezone=assignment.patient.facility.zone)
    assignment.ended_on = today
    assignment.save(update_fields=["ended_on"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=assignment.patient,
        obj=assignment,
        section="care team",
        changes={"ended_on": [None, today.isoformat()]},
    )
    return assignment


@transaction.atomic
def make_primary_clinician(
    *, actor: User, patient: Patient, clinician: User, replacing: User | None = None
) -> None:
    """Put ``clinician`` on the care team as primary clinician (once); end ``replacing``'s
    primary-clinician assignment on a handover.

    For the admission, whose service has already checked that the actor may admit: admitting
    clinicians choose the primary clinician without the right to manage care teams in general.
    """
    primary = CareTeamMember.Role.PRIMARY_CLINICIAN
    if replacing is not None and replacing.pk != clinician.pk:
        for assignment in CareTeamMember.objects.filter(
            patient=patient, user=replacing, role=primary, ended_on__isnull=True
        ).select_related("patient__facility"):
            _end_assignment(actor=actor, assignment=assignment)
    if not CareTeamMember.objects.filter(
        patient=patient, user=clinician, role=primary, ended_on__isnull=True
    ).exists():
        _add_to_care_team(actor=actor, patient=patient, member=clinician, role=primary)


MIN_REASON_LENGTH = 20


def break_the_glass(*, actor: User, facility: Facility, mrn: str, reason: str) -> BreakGlassGrant:
    """Open one out-of-scope chart for a limited time, with a typed reason, for later review."""
    if not actor.may_break_glass:
        raise PermissionDenied("Your role cannot use emergency access.")
    text = reason.strip()
    if len(text) < MIN_REASON_LENGTH:
        raise ValidationError(
            {"reason": f"Describe the emergency in at least {MIN_REASON_LENGTH} characters."}
        )
    if actor.organization_id is None or facility.organization_id != actor.organization_id:
        raise ValidationError({"facility": "Choose a facility of your organization."})
    patient = Patient.objects.filter(facility=facility, mrn=mrn.strip().upper()).first()
    if patient is None:
        # Recorded (and kept: no enclosing transaction) so that MRN guessing shows up.
        record(
            actor=actor,
            action=AuditEvent.Action.BREAK_GLASS,
            facility_id=facility.pk,
            reason=text,
            detail={"outcome": "no matching record"},
        )
        raise ValidationError({"mrn": "No chart at that facility has this medical record number."})
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            user=actor,
            patient=patient,
            reason=text,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.OPENIOP_BREAK_GLASS_MINUTES),
        )
        record(
            actor=actor,
            action=AuditEvent.Action.BREAK_GLASS,
            patient=patient,
            obj=grant,
            reason=text,
            detail={"expires_at": grant.expires_at.isoformat()},
        )
    return grant


@transaction.atomic
def review_break_glass(*, actor: User, grant: BreakGlassGrant, note: str) -> BreakGlassGrant:
    if not actor.reviews_break_glass:
        raise PermissionDenied("Your role does not review emergency access.")
    if grant.reviewed_at is not None:
        raise ValidationError({"note": "This access has already been reviewed."})
    if not note.strip():
        raise ValidationError({"note": "Write what you found, e.g. 'appropriate: crisis call'."})
    grant.reviewed_by = actor
    grant.reviewed_at = timezone.now()
    grant.review_note = note.strip()
    grant.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=grant.patient,
        obj=grant,
        section="break-the-glass review",
        changes={"review_note": [None, grant.review_note]},
    )
    return grant
