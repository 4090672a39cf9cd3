"""Giving an instrument, and setting a wrong entry right. Every write goes through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, snapshot
from openiop.measures import instruments, rules, scoring
from openiop.measures.models import Administration
from openiop.measures.selectors import require_giver
from openiop.patients.alerts import raise_alert
from openiop.patients.models import ClinicalAlert, Patient

SECTION = "measures"
AUDITED_FIELDS = (
    "instrument",
    "answers",
    "total",
    "band",
    "flags",
    "subscales",
    "sex_used",
    "administered_at",
    "administered_by_id",
    "notes",
    "corrects_id",
)
ERROR_FIELDS = ("entered_in_error_at", "entered_in_error_by_id", "entered_in_error_reason")
MIN_REASON = 5


def _normalized(definition: instruments.Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as stored: yes/no items as true/false even when given as 1/0."""
    out = dict(answers)
    for item in definition.items:
        value = out.get(item.number)
        if item.kind == "yes_no" and isinstance(value, int):
            out[item.number] = bool(value)
    return out


def _auditc_sex(patient: Patient, sex: str | None) -> str:
    recorded = rules.auditc_sex_from_record(patient.sex_at_birth)
    if recorded is not None:
        if sex and sex != recorded:
            raise ValidationError(
                {
                    "sex": f"The chart records sex at birth as {recorded}, so the {recorded} "
                    "cut-off applies."
                }
            )
        return recorded
    chosen = sex or rules.AUDITC_DEFAULT_SEX
    if chosen not in rules.AUDITC_SEXES:
        raise ValidationError(
            {"sex": "Choose the cut-off: 3 or more (female, more sensitive) or 4 or more (male)."}
        )
    return chosen


def _check_giver(patient: Patient, giver: User) -> None:
    works_here = giver.facilities.filter(pk=patient.facility_id).exists()
    if not (giver.is_active and works_here and giver.can("measures.add_administration")):
        raise ValidationError(
            {"administered_by": "Choose a clinician or admissions staff member of this facility."}
        )


def _reason(reason: str, field: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            {field: "Say why, for example 'Answers entered on the wrong patient'."}
        )
    return reason


@transaction.atomic
def administer(
    *,
    actor: User,
    patient: Patient,
    code: str,
    answers: Mapping[str, Any],
    administered_at: dt.datetime | None = None,
    notes: str = "",
    sex: str | None = None,
    administered_by: User | None = None,
    corrects: Administration | None = None,
    correction_reason: str = "",
) -> Administration:
    """Score the answers, store the administration and raise a suicide-risk alert when flagged.

    ``sex`` matters only for the AUDIT-C: the chart's sex at birth decides when it is male or
    female; otherwise the caller's choice is used (default the lower, female cut-off).
    ``corrects`` marks an earlier administration of the same instrument entered in error.
    """
    require_giver(actor)
    if code not in instruments.DEFINITIONS:
        raise ValidationError({"instrument": f"{code!r} is not one of the instruments here."})
    definition = instruments.definition(code)
    now = timezone.now()
    when = administered_at or now
    if timezone.is_naive(when):
        raise ValidationError({"administered_at": "Give the time with its time zone."})
    problem = rules.administered_at_problem(when, now)
    if problem is None and timezone.localdate(when, patient.facility.zone) < patient.date_of_birth:
        problem = "The date it was given is before the patient was born."
    if problem:
        raise ValidationError({"administered_at": problem})
    sex_used = _auditc_sex(patient, sex) if code == "auditc" else ""
    try:
        result = scoring.score(code, answers, sex=sex_used or None)
    except scoring.ScoringError as exc:
        raise ValidationError(
            {"answers": ValidationError(str(exc), code="invalid", params={"item": exc.item})}
        ) from exc
    giver = administered_by or actor
    if giver.pk != actor.pk:
        _check_giver(patient, giver)
    old: Administration | None = None
    reason = ""
    if corrects is not None:
        reason = _reason(correction_reason, "correction_reason")
        old = Administration.objects.select_for_update().get(pk=corrects.pk)
        if old.patient_id != patient.pk or old.instrument != code:
            raise ValidationError(
                {"corrects": "A correction replaces a result of the same instrument and patient."}
            )
        if old.entered_in_error:
            raise ValidationError({"corrects": "That result is already marked entered in error."})
    administration = Administration.objects.create(
        patient=patient,
        instrument=code,
        answers=_normalized(definition, answers),
        total=result.total,
        band=result.band,
        flags=sorted(result.flags),
        subscales=dict(result.subscales),
        sex_used=sex_used,
        administered_at=when,
        administered_by=giver,
        entered_at=now,
        entered_by=actor,
        notes=notes.strip(),
        corrects=old,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=administration,
        section=SECTION,
        changes={k: [None, v] for k, v in snapshot(administration, AUDITED_FIELDS).items()},
    )
    if old is not None:
        old.patient = patient
        _mark_in_error(actor=actor, administration=old, reason=reason, at=now)
    if scoring.SUICIDE_RISK in result.flags:
        raise_alert(
            patient=patient,
            kind=ClinicalAlert.Kind.SUICIDE_RISK,
            message=rules.suicide_alert_message(code, result, answers),
            next_step=rules.SUICIDE_NEXT_STEP,
            source_type="measures.administration",
            source_id=str(administration.pk),
            raised_by=actor,
        )
    return administration


def _mark_in_error(
    *, actor: User, administration: Administration, reason: str, at: dt.datetime
) -> Administration:
    before = snapshot(administration, ERROR_FIELDS)
    administration.entered_in_error_at = at
    administration.entered_in_error_by = actor
    administration.entered_in_error_reason = reason
    administration.save(update_fields=list(ERROR_FIELDS))
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=administration.patient,
        obj=administration,
        section=SECTION,
        reason=reason,
        changes=diff(before, snapshot(administration, ERROR_FIELDS)),
        detail={"entered_in_error": True},
    )
    return administration


@transaction.atomic
def mark_entered_in_error(
    *, actor: User, administration: Administration, reason: str
) -> Administration:
    """Strike a result that should not count (wrong patient, wrong answers). It stays visible.

    An alert it raised stays on the chart until someone acknowledges it: a person decides.
    """
    if not actor.can("measures.mark_entered_in_error"):
        raise PermissionDenied("Only the clinical team and admissions correct results.")
    reason = _reason(reason, "reason")
    locked = (
        Administration.objects.select_for_update()
        .select_related("patient__facility")
        .get(pk=administration.pk)
    )
    if locked.entered_in_error:
        raise ValidationError({"reason": "This result is already marked entered in error."})
    return _mark_in_error(actor=actor, administration=locked, reason=reason, at=timezone.now())
