"""The family program (SPEC §1, §3 step 6): family sessions and family education.

The support system — family, partner, friends — takes part in family sessions (appointments
of kind *family*, with the members as participants) and in family-education groups, whose
sessions keep a list of the members expected and whether they came (FamilyAttendance).

The rule of 42 CFR Part 2 (SPEC §10) holds throughout: **nothing about the patient is shown
to or shared with a family member without a consent that names them.** So a member is put
on a family-education session's list, has their attendance recorded, or joins a family
session only when a signed, unexpired, unrevoked consent of kind *named* names them on the
day of that session; otherwise it is refused in plain words. The consent relied on is kept.

Reads live here too: ``consent_naming`` (one member, one day) and ``family_program`` (the
chart page, a constant number of queries).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients import consent_rules
from openiop.patients.chart import register_header_provider
from openiop.patients.models import Consent, Patient, SupportContact, patient_in_treatment
from openiop.patients.selectors import visible_patients
from openiop.scheduling.models import Appointment, FamilyAttendance, GroupKind, Session

SECTION = "family program"
NO_CONSENT = (
    "There is no active consent naming {name}. Record one in Support system & consents first."
)
NOT_ACTIVE = "{name} is no longer part of the support system."
READ_REFUSED = "The family program is for the clinical team, admissions and administrators."
WRITE_REFUSED = "Only the clinical team runs the family program."
# The family-education sessions offered on the chart page: a fortnight back, four weeks ahead.
SESSIONS_BACK = dt.timedelta(days=14)
SESSIONS_AHEAD = dt.timedelta(days=28)


# --- who may ----------------------------------------------------------------------------------


def may_see_family_program(user: User) -> bool:
    """The support system in full (not only emergency contacts) and the schedule."""
    return user.can("scheduling.view_schedule") and user.can("patients.view_support_contacts")


def may_run_family_program(user: User) -> bool:
    """Those who see it and record attendance: the clinical team."""
    return may_see_family_program(user) and user.can("scheduling.change_attendance")


@register_header_provider
def _family_tab(user: User, patient: Patient) -> dict[str, bool]:
    """Whether the chart header shows the Family program tab (a role check, no query)."""
    return {"may_see_family_program": may_see_family_program(user)}


def _may_run(actor: User, patient_id: int, facility_id: int) -> None:
    if not may_run_family_program(actor):
        raise PermissionDenied(WRITE_REFUSED)
    if not actor.facilities.filter(pk=facility_id).exists():
        raise PermissionDenied("You do not work at this facility.")
    if not visible_patients(actor).filter(pk=patient_id).exists():
        raise PermissionDenied("This patient is not in your care.")


# --- consents ---------------------------------------------------------------------------------


def _names(consent: Consent, contact: SupportContact) -> bool:
    """A consent linked to a support-system member names that member only; one written to a
    person (no organization) names the member of that name."""
    if consent.kind != Consent.Kind.NAMED or consent.patient_id != contact.patient_id:
        return False
    if consent.support_contact_id is not None:
        return consent.support_contact_id == contact.pk
    if consent.recipient_organization.strip():
        return False
    return consent_rules.names_recipient(
        consent.facts(), consent_rules.Recipient(name=contact.name)
    )


def _lasts_until(consent: Consent) -> dt.date:
    if consent.expiry_kind == Consent.Expiry.DATE and consent.expires_on is not None:
        return consent.expires_on
    return dt.date.max


def naming_consent(
    contact: SupportContact, consents: Iterable[Consent], *, on: dt.date, in_treatment: bool
) -> Consent | None:
    """Among ``consents`` (their patient attached), the one naming ``contact`` that is signed
    and active on the day ``on`` and lasts longest, or None. No database access."""
    best: Consent | None = None
    for consent in consents:
        if not _names(consent, contact):
            continue
        facts = consent.facts()
        if facts.signed_on is not None and facts.signed_on > on:
            continue  # not yet signed that day: it did not name them then
        status = consent_rules.consent_status(facts, on=on, patient_in_treatment=in_treatment)
        if status != consent_rules.ACTIVE:
            continue
        if best is None or _lasts_until(consent) > _lasts_until(best):
            best = consent
    return best


def _named_consents(patient: Patient) -> list[Consent]:
    rows = list(
        Consent.objects.filter(
            patient=patient, kind=Consent.Kind.NAMED, signed_at__isnull=False
        ).order_by("-signed_at", "-id")
    )
    for consent in rows:
        consent.patient = patient  # facts() reads the facility's time zone: no query per row
    return rows


def consent_naming(patient: Patient, contact: SupportContact, on: dt.date) -> Consent | None:
    """The active named consent of ``patient`` naming this support-system member on ``on``
    (status by consent_rules.consent_status), or None. One query."""
    if contact.patient_id != patient.pk:
        return None
    return naming_consent(
        contact, _named_consents(patient), on=on, in_treatment=patient_in_treatment(patient)
    )


def consent_refusal(contacts: Sequence[SupportContact], *, on: dt.date) -> str | None:
    """Why these members may not take part in a session on ``on`` (the first one without an
    active consent naming them), or None. For booking family sessions: one query."""
    people = list(contacts)
    if not people:
        return None
    patient = Patient.objects.select_related("facility").get(pk=people[0].patient_id)
    consents = _named_consents(patient)
    in_treatment = patient_in_treatment(patient)
    for person in people:
        if not person.active:
            return NOT_ACTIVE.format(name=person.name)
        if person.patient_id != patient.pk or not naming_consent(
            person, consents, on=on, in_treatment=in_treatment
        ):
            return NO_CONSENT.format(name=person.name)
    return None


def consent_label(consent: Consent | None) -> str:
    """What the page says about a member: whether a consent names them, until when."""
    if consent is None:
        return "No active consent naming them — share nothing about the patient"
    if consent.expiry_kind == Consent.Expiry.END_OF_TREATMENT:
        return f"Named in {consent.reference}, until the end of treatment"
    if consent.expires_on is not None:
        return f"Named in {consent.reference}, until {consent.expires_on:%m/%d/%Y}"
    return f"Named in {consent.reference}"


# --- family education -------------------------------------------------------------------------


def _contact_errors(contact: SupportContact, patient_id: int) -> dict[str, str]:
    if contact.patient_id != patient_id:
        return {"support_contact": "Choose someone from this patient's support system."}
    if not contact.active:
        return {"support_contact": NOT_ACTIVE.format(name=contact.name)}
    return {}


@transaction.atomic
def record_family_attendance(
    *, actor: User, session: Session, contact: SupportContact, status: str
) -> FamilyAttendance:
    """Put a support-system member on a family-education session's list (``expected``) or
    record whether they came (``present``, ``absent``, ``excused``). Either needs an active
    consent naming them on the session's day."""
    patient = Patient.objects.select_related("facility").get(pk=contact.patient_id)
    _may_run(actor, patient.pk, session.facility_id)
    errors: dict[str, str] = {}
    if status not in FamilyAttendance.Status.values:
        errors["status"] = "Choose expected, present, absent or excused."
    if session.group.kind != GroupKind.FAMILY_EDUCATION:
        errors["session"] = "Family members are put on family-education sessions only."
    elif session.is_cancelled:
        errors["session"] = "This session is cancelled."
    elif session.facility_id != patient.facility_id:
        errors["session"] = "Choose a session at the patient's facility."
    elif status != FamilyAttendance.Status.EXPECTED and session.starts_at > timezone.now():
        errors["status"] = "Attendance is recorded once the session has started."
    errors.update(_contact_errors(contact, patient.pk))
    consent = None
    if not errors:
        consent = consent_naming(patient, contact, session.service_date)
        if consent is None:
            errors["support_contact"] = NO_CONSENT.format(name=contact.name)
    if errors:
        raise ValidationError(errors)
    row = (
        FamilyAttendance.objects.select_for_update()
        .filter(session=session, support_contact=contact)
        .first()
    )
    before = row.status if row else None
    if row is None:
        row = FamilyAttendance.objects.create(
            session=session,
            support_contact=contact,
            patient=patient,
            status=status,
            consent=consent,
            recorded_by=actor,
        )
    else:
        row.status, row.consent, row.recorded_by = status, consent, actor
        row.recorded_at = timezone.now()
        row.save(update_fields=["status", "consent", "recorded_by", "recorded_at"])
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE if before is None else AuditEvent.Action.UPDATE,
        patient=patient,
        obj=row,
        section=SECTION,
        changes={"status": [before, status]},
        detail={"session": session.pk, "support_contact": contact.pk, "consent": consent.pk}
        if consent
        else None,
    )
    return row


def add_to_family_education(
    *, actor: User, session: Session, contact: SupportContact
) -> FamilyAttendance:
    """Put a member on the session's list (expected); refused without a consent naming them."""
    return record_family_attendance(
        actor=actor, session=session, contact=contact, status=FamilyAttendance.Status.EXPECTED
    )


@transaction.atomic
def remove_from_family_education(*, actor: User, row: FamilyAttendance) -> None:
    """Take a member off a session's list while nothing is recorded yet (a mistake, a change
    of plan). Recorded attendance stays: change it to absent or excused instead."""
    locked = FamilyAttendance.objects.select_for_update().select_related("session").get(pk=row.pk)
    _may_run(actor, locked.patient_id, locked.session.facility_id)
    if locked.status != FamilyAttendance.Status.EXPECTED:
        raise ValidationError(
            {"status": "Their attendance is recorded: change it to absent or excused instead."}
        )
    record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        patient=locked.patient_id,
        facility_id=locked.session.facility_id,
        obj=locked,
        section=SECTION,
        changes={"status": [locked.status, None]},
        detail={"session": locked.session_id, "support_contact": locked.support_contact_id},
    )
    locked.delete()


# --- family sessions (appointments) -----------------------------------------------------------


def _family_appointment(actor: User, appointment: Appointment) -> Appointment:
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient__facility")
        .get(pk=appointment.pk)
    )
    _may_run(actor, locked.patient_id, locked.facility_id)
    if locked.kind != Appointment.Kind.FAMILY:
        raise ValidationError({"appointment": "Support-system members join family sessions only."})
    if locked.status != Appointment.Status.SCHEDULED:
        raise ValidationError(
            {"appointment": f"This session is already {locked.get_status_display().lower()}."}
        )
    return locked


@transaction.atomic
def add_family_participant(
    *, actor: User, appointment: Appointment, contact: SupportContact
) -> Appointment:
    """Add a support-system member to a scheduled family session; refused without an active
    consent naming them on the session's day."""
    locked = _family_appointment(actor, appointment)
    errors = _contact_errors(contact, locked.patient_id)
    if errors:
        raise ValidationError(errors)
    consent = consent_naming(locked.patient, contact, locked.service_date)
    if consent is None:
        raise ValidationError({"support_contact": NO_CONSENT.format(name=contact.name)})
    before = sorted(locked.participants.values_list("pk", flat=True))
    if contact.pk in before:
        return locked
    locked.participants.add(contact)
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section=SECTION,
        changes={"participants": [before, sorted([*before, contact.pk])]},
        detail={"consent": consent.pk},
    )
    return locked


@transaction.atomic
def remove_family_participant(
    *, actor: User, appointment: Appointment, contact: SupportContact
) -> Appointment:
    locked = _family_appointment(actor, appointment)
    before = sorted(locked.participants.values_list("pk", flat=True))
    if contact.pk not in before:
        return locked
    locked.participants.remove(contact)
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section=SECTION,
        changes={"participants": [before, [pk for pk in before if pk != contact.pk]]},
    )
    return locked


# --- the chart page ---------------------------------------------------------------------------


@dataclass
class Member:
    contact: SupportContact
    consent: Consent | None

    @property
    def named(self) -> bool:
        return self.consent is not None

    @property
    def label(self) -> str:
        return consent_label(self.consent)


@dataclass
class Participant:
    contact: SupportContact
    named: bool  # an active consent named them on the session's day


@dataclass
class FamilySession:
    appointment: Appointment
    participants: list[Participant]


@dataclass
class FamilyProgram:
    members: list[Member]
    sessions: list[FamilySession]
    attendance: list[FamilyAttendance]
    education_sessions: list[Session]
    upcoming_family_sessions: list[Appointment] = field(default_factory=list)

    @property
    def active_members(self) -> list[Member]:
        return [m for m in self.members if m.contact.active]


def family_program(patient: Patient, *, today: dt.date) -> FamilyProgram:
    """Everything the chart's family-program page shows, for a chart the caller already
    opened (chart_access): six queries whatever the number of members and sessions."""
    in_treatment = patient_in_treatment(patient)
    consents = _named_consents(patient)
    contacts = list(patient.support_contacts.order_by("-active", "order", "id"))
    members = [
        Member(c, naming_consent(c, consents, on=today, in_treatment=in_treatment))
        for c in contacts
    ]
    appointments = list(
        Appointment.objects.filter(patient=patient, kind=Appointment.Kind.FAMILY)
        .select_related("staff", "room")
        .prefetch_related("participants")
        .order_by("-starts_at")[:50]
    )
    sessions = [
        FamilySession(
            a,
            [
                Participant(
                    p,
                    naming_consent(p, consents, on=a.service_date, in_treatment=in_treatment)
                    is not None,
                )
                for p in a.participants.all()
            ],
        )
        for a in appointments
    ]
    attendance = list(
        FamilyAttendance.objects.filter(patient=patient)
        .select_related("session", "session__group", "support_contact", "recorded_by")
        .order_by("-session__starts_at", "support_contact__name", "id")
    )
    offered = list(
        Session.objects.filter(
            facility_id=patient.facility_id,
            group__kind=GroupKind.FAMILY_EDUCATION,
            status=Session.Status.SCHEDULED,
            service_date__range=(today - SESSIONS_BACK, today + SESSIONS_AHEAD),
        )
        .select_related("group")
        .order_by("starts_at", "id")[:60]
    )
    return FamilyProgram(
        members=members,
        sessions=sessions,
        attendance=attendance,
        education_sessions=offered,
        upcoming_family_sessions=[
            a
            for a in appointments
            if a.status == Appointment.Status.SCHEDULED and a.service_date >= today
        ],
    )
