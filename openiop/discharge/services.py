"""Every write of a discharge (issue 7, SPEC §2, §9): recording it, its summary, the signature
and the referrals.

Each function checks the role and that the patient is in the actor's care, validates
everything before writing (nothing is saved on error, every message names its field), writes
in one transaction and leaves an audit record that holds ids and codes, never the clinical
words. Recording a discharge closes the episode, cancels the person's future appointments
and ends their group enrollments when asked (through the scheduling services) and schedules
the continuing-care follow-ups. A signed discharge is refused here with a plain message; the
database triggers (migration 0002) refuse it again for any other code path. Referrals keep
their own status after the signature.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.services import confirm_identity
from openiop.admissions.models import EpisodeOfCare
from openiop.admissions.rules import MINIMUM_STAY_DAYS
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, plain, record, snapshot
from openiop.core import teds
from openiop.discharge import rules
from openiop.discharge.config import followup_days_of, settings_for
from openiop.discharge.facts import gather_facts
from openiop.discharge.models import Discharge, FollowUp, Referral, StepDown
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients
from openiop.scheduling import services as scheduling
from openiop.scheduling.models import Appointment, Enrollment

__all__ = [
    "CANCEL_REASON",
    "REFUSED",
    "SIGNED",
    "TEDS_D_FIELDS",
    "add_referral",
    "discharge_patient",
    "future_commitments",
    "save_summary",
    "sign_discharge",
    "sign_problems",
    "update_discharge",
    "update_referral",
]

REFUSED = "Only the clinical team discharges patients and writes discharge summaries."
NOT_IN_CARE = "This patient is not in your care."
SIGNED = "A signed discharge cannot change."
SECTION = "discharge"
SECTION_REFERRAL = "referral"
CANCEL_REASON = "Discharged from the program"
SUMMARY_MAX_CHARS = 20_000

# The TEDS discharge record's status-at-discharge fields and their code lists (SPEC §9).
TEDS_D_FIELDS: dict[str, type[models.IntegerChoices]] = {
    "teds_freq1_d": teds.Frequency,
    "teds_freq2_d": teds.Frequency,
    "teds_freq3_d": teds.Frequency,
    "teds_employ_d": teds.Employment,
    "teds_livarag_d": teds.LivingArrangement,
    "teds_arrests_d": teds.Arrests,
    "teds_self_help_d": teds.SelfHelpAttendance,
}
_TEXT_LIMITS = {
    "reason_detail": 500,
    "step_down_provider": 200,
    "followup_contact": 200,
}
_DETAIL_FIELDS = (
    "discharge_date",
    "reason_key",
    "reason_detail",
    "early_reason",
    "continuing_care",
    "step_down",
    "step_down_provider",
    "step_down_date",
    "followup_agreed",
    "followup_contact",
)
# What the audit trail keeps of a change: codes and dates, never the clinical words (those are
# named in ``detail.fields`` only).
_AUDITED_VALUES = (
    "discharge_date",
    "reason_key",
    "reason",
    "step_down",
    "step_down_date",
    "followup_agreed",
    *TEDS_D_FIELDS,
)
_SUMMARY_FIELDS = ("course", "condition", "recommendations")
_SIGN_MESSAGES = {
    "course": "Write the course of treatment before signing.",
    "condition": "Describe the person's condition at discharge before signing.",
    "recommendations": "Write the recommendations before signing.",
}


# --- shared checks -----------------------------------------------------------------------------


def _require(actor: User, permission: str, patient_id: int) -> None:
    if not actor.can(permission):
        raise PermissionDenied(REFUSED)
    if not visible_patients(actor).filter(pk=patient_id).exists():
        raise PermissionDenied(NOT_IN_CARE)


def _raise(errors: Mapping[str, str | None]) -> None:
    found = {k: v for k, v in errors.items() if v}
    if found:
        raise ValidationError(found)


def _today(episode: EpisodeOfCare) -> dt.date:
    return timezone.localdate(timezone=episode.facility.zone)


def _text(value: Any) -> str:
    return str(value or "").strip()


def _teds_errors(values: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, value in values.items():
        choices = TEDS_D_FIELDS.get(name)
        if choices is None:
            errors["__all__"] = f"“{name}” is not a TEDS discharge field."
        elif value is not None and value not in choices.values:
            errors[name] = "Choose a value from the list, or leave it empty (reported as −9)."
    return errors


def _clean_teds(values: Mapping[str, Any] | None) -> dict[str, int | None]:
    """TEDS values as given, with '' meaning not recorded; codes given as text are read."""
    cleaned: dict[str, Any] = {}
    for name, value in (values or {}).items():
        if value in ("", None):
            cleaned[name] = None
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            cleaned[name] = int(value)
        else:
            cleaned[name] = value
    return cleaned


def _detail_errors(
    values: Mapping[str, Any], *, episode: EpisodeOfCare, today: dt.date
) -> dict[str, str | None]:
    """Every refusal of a discharge's details, keyed by field (nothing is written before)."""
    discharged: dt.date | None = values["discharge_date"]
    reason_key: str = values["reason_key"]
    step_down: str = values["step_down"]
    errors: dict[str, str | None] = {
        "discharge_date": rules.discharge_date_error(
            discharged, admitted=episode.admission_date, today=today
        ),
    }
    if reason_key not in rules.DISCHARGE_REASONS:
        errors["reason_key"] = (
            "Choose the reason for the discharge from the list."
            if reason_key
            else "Choose the reason for the discharge."
        )
    if step_down and step_down not in StepDown.values:
        errors["step_down"] = "Choose the next step of care from the list."
    else:
        known_reason = reason_key if reason_key in rules.DISCHARGE_REASONS else None
        errors["step_down"] = rules.step_down_error(step_down, known_reason)
    step_down_date: dt.date | None = values["step_down_date"]
    if step_down_date is not None and discharged is not None and step_down_date < discharged:
        errors["step_down_date"] = "The first appointment there cannot be before the discharge."
    for name, limit in _TEXT_LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = f"Keep this to {limit} characters."
    if (
        discharged is not None
        and errors["discharge_date"] is None
        and reason_key != "died"
        and rules.is_early(episode.admission_date, discharged)
    ):
        day = episode.days_in_treatment(discharged)
        early = (
            f"This discharge is on day {day}, before day {MINIMUM_STAY_DAYS}. "
            "Say why, and the continuing care you recommend."
        )
        if not values["early_reason"]:
            errors["early_reason"] = early
        if not values["continuing_care"]:
            errors["continuing_care"] = (
                early if values["early_reason"] else "Write the continuing care you recommend."
            )
    return errors


def _detail_values(**given: Any) -> dict[str, Any]:
    return {
        "discharge_date": given["discharge_date"],
        "reason_key": _text(given["reason_key"]),
        "reason_detail": _text(given["reason_detail"]),
        "early_reason": _text(given["early_reason"]),
        "continuing_care": _text(given["continuing_care"]),
        "step_down": _text(given["step_down"]),
        "step_down_provider": _text(given["step_down_provider"]),
        "step_down_date": given["step_down_date"],
        "followup_agreed": bool(given["followup_agreed"]),
        "followup_contact": _text(given["followup_contact"]),
    }


def _wants_followups(discharge: Discharge) -> bool:
    return discharge.followup_agreed and discharge.reason_key != "died"


# --- future commitments ------------------------------------------------------------------------


def future_commitments(episode: EpisodeOfCare, after: dt.date) -> dict[str, list[Any]]:
    """What the person is still booked for after ``after`` (the discharge date): scheduled
    appointments at the episode's facility and the episode's group enrollments that run past
    it. Two queries; the discharge page offers to cancel them."""
    appointments = list(
        Appointment.objects.filter(
            patient_id=episode.patient_id,
            facility_id=episode.facility_id,
            status=Appointment.Status.SCHEDULED,
            service_date__gt=after,
        )
        .select_related("staff")
        .order_by("starts_at", "id")
    )
    enrollments = list(
        Enrollment.objects.filter(episode=episode)
        .filter(models.Q(end_date__isnull=True) | models.Q(end_date__gt=after))
        .select_related("schedule__group")
        .order_by("start_date", "id")
    )
    return {"appointments": appointments, "enrollments": enrollments}


def _cancel_commitments(
    actor: User, episode: EpisodeOfCare, discharged: dt.date
) -> tuple[list[int], list[int]]:
    """Cancel through the scheduling services. An enrollment that would only start after the
    discharge cannot be *ended* (its last day would come before its first), so it is removed
    — it never put the person on a roster — and the removal is audited."""
    found = future_commitments(episode, discharged)
    cancelled: list[int] = []
    ended: list[int] = []
    for appointment in found["appointments"]:
        scheduling.cancel_appointment(actor=actor, appointment=appointment, reason=CANCEL_REASON)
        cancelled.append(appointment.pk)
    for enrollment in found["enrollments"]:
        if enrollment.start_date > discharged:
            record(
                actor=actor,
                action=AuditEvent.Action.DELETE,
                patient=episode.patient_id,
                facility_id=episode.facility_id,
                obj=enrollment,
                section="group enrollment",
                reason=CANCEL_REASON,
                detail={
                    "start_date": plain(enrollment.start_date),
                    "schedule": enrollment.schedule_id,
                },
            )
            enrollment.delete()
        else:
            scheduling.end_enrollment(
                actor=actor, enrollment=enrollment, end_date=discharged, reason=CANCEL_REASON
            )
        ended.append(enrollment.pk)
    return cancelled, ended


# --- follow-ups --------------------------------------------------------------------------------


def _schedule_followups(discharge: Discharge, days: list[int]) -> list[FollowUp]:
    """One follow-up per configured day not already scheduled for the episode (status due)."""
    have = set(
        FollowUp.objects.filter(episode_id=discharge.episode_id).values_list(
            "days_after", flat=True
        )
    )
    made = []
    for days_after, due_on in rules.followup_schedule(discharge.discharge_date, days):
        if days_after in have:
            continue
        made.append(
            FollowUp.objects.create(
                episode_id=discharge.episode_id,
                patient_id=discharge.patient_id,
                facility_id=discharge.facility_id,
                days_after=days_after,
                due_on=due_on,
                status=FollowUp.Status.DUE,
            )
        )
    return made


def _redate_followups(discharge: Discharge) -> int:
    """Follow-ups still due move with a corrected discharge date; done ones stay as they are."""
    moved = 0
    for followup in FollowUp.objects.filter(
        episode_id=discharge.episode_id, status=FollowUp.Status.DUE
    ):
        due_on = discharge.discharge_date + dt.timedelta(days=followup.days_after)
        if followup.due_on != due_on:
            followup.due_on = due_on
            followup.updated_at = timezone.now()
            followup.save(update_fields=["due_on", "updated_at"])
            moved += 1
    return moved


def _drop_untouched_followups(discharge: Discharge) -> int:
    """Consent withdrawn (or the person died): the follow-ups nobody has worked on go; any
    with a contact attempt or an outcome stay in the record."""
    untouched = FollowUp.objects.filter(
        episode_id=discharge.episode_id, status=FollowUp.Status.DUE, attempts__isnull=True
    )
    count = 0
    for followup in untouched:
        followup.delete()
        count += 1
    return count


# --- recording a discharge ---------------------------------------------------------------------


@transaction.atomic
def discharge_patient(
    *,
    actor: User,
    episode: EpisodeOfCare,
    discharge_date: dt.date | None,
    reason_key: str,
    reason_detail: str = "",
    early_reason: str = "",
    continuing_care: str = "",
    step_down: str,
    step_down_provider: str = "",
    step_down_date: dt.date | None = None,
    followup_agreed: bool = True,
    followup_contact: str = "",
    cancel_future: bool = True,
    teds_d: Mapping[str, int | None] | None = None,
    today: dt.date | None = None,
) -> Discharge:
    """End the episode of care: the discharge with its TEDS reason and the facts of the stay,
    the episode closed on the discharge date, future appointments cancelled and group
    enrollments ended when ``cancel_future``, and the follow-ups scheduled when the person
    agrees to them."""
    _require(actor, "discharge.add_discharge", episode.patient_id)
    # Lock the episode: two people discharging at once cannot both record a discharge.
    locked = (
        EpisodeOfCare.objects.select_for_update(of=("self",))
        .select_related("facility", "program", "patient")
        .get(pk=episode.pk)
    )
    already = Discharge.objects.filter(episode=locked).values_list("discharge_date", flat=True)
    ended_on = next(iter(already), None) or locked.discharge_date
    if ended_on is not None:
        raise ValidationError(
            {"discharge_date": f"This episode was already discharged on {ended_on:%m/%d/%Y}."}
        )
    today = today or _today(locked)
    values = _detail_values(
        discharge_date=discharge_date,
        reason_key=reason_key,
        reason_detail=reason_detail,
        early_reason=early_reason,
        continuing_care=continuing_care,
        step_down=step_down,
        step_down_provider=step_down_provider,
        step_down_date=step_down_date,
        followup_agreed=followup_agreed,
        followup_contact=followup_contact,
    )
    codes = _clean_teds(teds_d)
    errors = _detail_errors(values, episode=locked, today=today)
    errors.update(_teds_errors(codes))
    _raise(errors)
    assert discharge_date is not None  # noqa: S101 (checked above)
    if values["step_down"] == "":
        values["step_down"] = StepDown.NONE
    discharge = Discharge(
        episode=locked,
        patient=locked.patient,
        facility=locked.facility,
        reason=rules.teds_reason(values["reason_key"]),
        facts=gather_facts(locked, discharge_date),
        created_by=actor,
        **values,
        **codes,
    )
    try:
        with transaction.atomic():
            discharge.save()
    except IntegrityError as exc:  # the one-discharge-per-episode constraint, on a race
        raise ValidationError(
            {"discharge_date": "This episode was already discharged just now. Reload the page."}
        ) from exc
    locked.discharge_date = discharge_date
    locked.save(update_fields=["discharge_date"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section="admission",
        changes={"discharge_date": [None, discharge_date.isoformat()]},
        detail={"discharge": discharge.pk},
    )
    _mark_discharged(actor, locked.patient)
    cancelled: list[int] = []
    ended: list[int] = []
    if cancel_future:
        cancelled, ended = _cancel_commitments(actor, locked, discharge_date)
    followups: list[FollowUp] = []
    if _wants_followups(discharge):
        found = settings_for(locked.facility.organization_id)
        followups = _schedule_followups(discharge, followup_days_of(found))
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=locked.patient,
        obj=discharge,
        section=SECTION,
        changes={k: [None, v] for k, v in snapshot(discharge, _AUDITED_VALUES).items()},
        detail={
            "episode": locked.pk,
            "los_code": discharge.los_code,
            "early": rules.is_early(locked.admission_date, discharge_date),
            "followups": [f.pk for f in followups],
            "cancelled_appointments": cancelled,
            "ended_enrollments": ended,
        },
    )
    return discharge


def _mark_discharged(actor: User, patient: Patient) -> None:
    """The person is "Discharged" once no episode of theirs is open."""
    if EpisodeOfCare.objects.filter(patient=patient, discharge_date__isnull=True).exists():
        return
    if patient.status == Patient.Status.DISCHARGED:
        return
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=patient,
        obj=patient,
        section="demographics",
        changes={"status": [patient.status, Patient.Status.DISCHARGED]},
    )
    patient.status = Patient.Status.DISCHARGED
    patient.updated_at = timezone.now()
    patient.save(update_fields=["status", "updated_at"])


def _locked(discharge: Discharge) -> Discharge:
    locked = (
        Discharge.objects.select_for_update(of=("self",))
        .select_related("episode__facility", "episode__program", "patient", "facility")
        .get(pk=discharge.pk)
    )
    if locked.is_signed:
        raise ValidationError({"__all__": SIGNED})
    return locked


@transaction.atomic
def update_discharge(
    *, actor: User, discharge: Discharge, today: dt.date | None = None, **changes: Any
) -> Discharge:
    """Correct an unsigned discharge: its date, reason, step-down, texts or TEDS values.

    A new date moves the episode's discharge date with it, re-dates the follow-ups still due
    and gathers the facts again; a withdrawn consent to follow-up (or a death) removes the
    follow-ups nobody worked on, a given one schedules the missing ones."""
    _require(actor, "discharge.add_discharge", discharge.patient_id)
    teds_given = dict(changes.pop("teds_d", None) or {})
    for name in list(changes):
        if name in TEDS_D_FIELDS:
            teds_given[name] = changes.pop(name)
    unknown = set(changes) - set(_DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"update_discharge() cannot change {sorted(unknown)}")
    locked = _locked(discharge)
    episode = locked.episode
    today = today or _today(episode)
    current = {name: getattr(locked, name) for name in _DETAIL_FIELDS}
    values = _detail_values(**{**current, **changes})
    codes = _clean_teds(teds_given)
    errors = _detail_errors(values, episode=episode, today=today)
    errors.update(_teds_errors(codes))
    _raise(errors)
    if values["step_down"] == "":
        values["step_down"] = StepDown.NONE
    before = snapshot(locked, (*_DETAIL_FIELDS, "reason", *TEDS_D_FIELDS))
    wanted_before = _wants_followups(locked)
    for name, value in {**values, **codes}.items():
        setattr(locked, name, value)
    locked.reason = rules.teds_reason(locked.reason_key)
    moved_date = locked.discharge_date != current["discharge_date"]
    if moved_date:
        locked.facts = gather_facts(episode, locked.discharge_date)
    locked.updated_at = timezone.now()
    locked.save()
    if moved_date:
        episode.discharge_date = locked.discharge_date
        episode.save(update_fields=["discharge_date"])
        record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            patient=locked.patient,
            obj=episode,
            section="admission",
            changes={
                "discharge_date": [
                    plain(current["discharge_date"]),
                    plain(locked.discharge_date),
                ]
            },
            detail={"discharge": locked.pk},
        )
        _redate_followups(locked)
    wanted_now = _wants_followups(locked)
    if wanted_before and not wanted_now:
        _drop_untouched_followups(locked)
    elif wanted_now and not wanted_before:
        found = settings_for(episode.facility.organization_id)
        _schedule_followups(locked, followup_days_of(found))
    after = snapshot(locked, (*_DETAIL_FIELDS, "reason", *TEDS_D_FIELDS))
    changed = diff(before, after)
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section=SECTION,
        changes={k: v for k, v in changed.items() if k in _AUDITED_VALUES},
        detail={"fields": sorted(changed)},
    )
    return locked


# --- the summary and its signature -------------------------------------------------------------


@transaction.atomic
def save_summary(
    *,
    actor: User,
    discharge: Discharge,
    course: str,
    condition: str,
    recommendations: str,
    refresh_facts: bool = False,
) -> Discharge:
    """The clinician's part of the summary; ``refresh_facts`` gathers the facts again (after a
    late attendance entry or a test result that came in after the discharge was recorded)."""
    _require(actor, "discharge.add_discharge", discharge.patient_id)
    locked = _locked(discharge)
    texts = {"course": course, "condition": condition, "recommendations": recommendations}
    _raise(
        {
            name: f"Keep this to {SUMMARY_MAX_CHARS:,} characters."
            for name, text in texts.items()
            if len(text or "") > SUMMARY_MAX_CHARS
        }
    )
    changed = [name for name, text in texts.items() if getattr(locked, name) != _text(text)]
    for name, text in texts.items():
        setattr(locked, name, _text(text))
    if refresh_facts:
        locked.facts = gather_facts(locked.episode, locked.discharge_date)
    locked.updated_at = timezone.now()
    locked.save(update_fields=[*texts, "facts", "updated_at"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section=f"{SECTION} summary",
        detail={"fields": changed, "facts_refreshed": refresh_facts},
    )
    return locked


def sign_problems(discharge: Discharge) -> dict[str, str]:
    """What must be written before the summary can be signed (empty when ready)."""
    return {
        name: message
        for name, message in _SIGN_MESSAGES.items()
        if not _text(getattr(discharge, name))
    }


@transaction.atomic
def sign_discharge(
    *,
    actor: User,
    discharge: Discharge,
    password: str | None = None,
    code: str | None = None,
) -> Discharge:
    """Sign and lock the summary: the facts are gathered one last time and frozen with it."""
    _require(actor, "discharge.add_discharge", discharge.patient_id)
    locked = (
        Discharge.objects.select_for_update(of=("self",))
        .select_related("episode__facility", "episode__program", "patient")
        .get(pk=discharge.pk)
    )
    if locked.is_signed:
        raise ValidationError({"__all__": "This discharge summary is already signed."})
    _raise(sign_problems(locked))
    method = confirm_identity(actor, password=password or "", code=code or "")
    locked.facts = gather_facts(locked.episode, locked.discharge_date)
    locked.signed_at = timezone.now()
    locked.signed_by = actor
    locked.sign_method = method
    locked.updated_at = locked.signed_at
    locked.save(update_fields=["facts", "signed_at", "signed_by", "sign_method", "updated_at"])
    record(
        actor=actor,
        action=AuditEvent.Action.SIGN,
        patient=locked.patient,
        obj=locked,
        section=SECTION,
        detail={"method": method, "episode": locked.episode_id},
    )
    return locked


# --- referrals -----------------------------------------------------------------------------------


def _referral_errors(
    *,
    status: str,
    status_on: dt.date | None,
    note: str,
    today: dt.date,
    admitted: dt.date,
) -> dict[str, str | None]:
    errors: dict[str, str | None] = {}
    if status not in Referral.Status.values:
        errors["status"] = "Choose where the referral stands."
    if status_on is None:
        errors["status_on"] = "Enter the date of this status."
    elif status_on > today:
        errors["status_on"] = "The date is in the future. Record a status once it is true."
    elif status_on < admitted:
        errors["status_on"] = f"The date is before the admission on {admitted:%m/%d/%Y}."
    if len(note) > 500:
        errors["note"] = "Keep the note to 500 characters."
    return errors


@transaction.atomic
def add_referral(
    *,
    actor: User,
    episode: EpisodeOfCare,
    kind: str,
    provider: str,
    contact: str = "",
    status: str = Referral.Status.PLANNED,
    status_on: dt.date | None = None,
    note: str = "",
    today: dt.date | None = None,
) -> Referral:
    """A referral to another service (vocational, medical, psychiatric, housing, legal,
    education), made during treatment or at discharge."""
    _require(actor, "discharge.add_referral", episode.patient_id)
    today = today or _today(episode)
    status_on = status_on or today
    provider, contact, note = _text(provider), _text(contact), _text(note)
    errors = _referral_errors(
        status=status, status_on=status_on, note=note, today=today, admitted=episode.admission_date
    )
    if kind not in Referral.Kind.values:
        errors["kind"] = "Choose the kind of referral."
    if not provider:
        errors["provider"] = "Say who the person is referred to (program, clinic or agency)."
    elif len(provider) > 200:
        errors["provider"] = "Keep this to 200 characters."
    if len(contact) > 200:
        errors["contact"] = "Keep this to 200 characters."
    _raise(errors)
    referral = Referral.objects.create(
        episode=episode,
        patient_id=episode.patient_id,
        kind=kind,
        provider=provider,
        contact=contact,
        status=status,
        status_on=status_on,
        note=note,
        created_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=episode.patient_id,
        facility_id=episode.facility_id,
        obj=referral,
        section=SECTION_REFERRAL,
        changes={"kind": [None, kind], "status": [None, status]},
        detail={"episode": episode.pk},
    )
    return referral


@transaction.atomic
def update_referral(
    *,
    actor: User,
    referral: Referral,
    status: str,
    status_on: dt.date | None,
    note: str = "",
    today: dt.date | None = None,
) -> Referral:
    """A referral's new status (its history is kept); allowed after the discharge is signed."""
    _require(actor, "discharge.add_referral", referral.patient_id)
    locked = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("episode__facility")
        .get(pk=referral.pk)
    )
    today = today or _today(locked.episode)
    note = _text(note)
    _raise(
        _referral_errors(
            status=status,
            status_on=status_on,
            note=note,
            today=today,
            admitted=locked.episode.admission_date,
        )
    )
    before = snapshot(locked, ("status", "status_on"))
    locked.status = status
    locked.status_on = status_on  # type: ignore[assignment]  # checked above
    locked.note = note
    locked.updated_at = timezone.now()
    locked.save(update_fields=["status", "status_on", "note", "updated_at"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient_id,
        facility_id=locked.episode.facility_id,
        obj=locked,
        section=SECTION_REFERRAL,
        changes=diff(before, snapshot(locked, ("status", "status_on"))),
    )
    return locked
