"""Giving an instrument, setting a wrong entry right, and the schedules that say which
instruments an episode of care repeats. Every write goes through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, record_many, snapshot
from openiop.measures import instruments, rules, scoring
from openiop.measures.models import Administration, InstrumentSchedule
from openiop.measures.selectors import require_giver, require_scheduler
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


def _reason(reason: str, field: str, example: str = "Answers entered on the wrong patient") -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({field: f"Say why, for example '{example}'."})
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


# --- schedules -----------------------------------------------------------------------------------

SCHEDULE_SECTION = "measures: schedules"
SCHEDULE_FIELDS = ("episode_id", "instrument", "every_days", "starts_on", "is_default")
STOP_FIELDS = ("stopped_at", "stopped_by_id", "stop_reason")


@transaction.atomic
def ensure_default_schedules(
    *, episode: EpisodeOfCare, actor: User | None
) -> list[InstrumentSchedule]:
    """Start the default schedules (rules.DEFAULT_SCHEDULES) an open episode never had.

    Idempotent: an instrument the episode already has a schedule for — running, or stopped by
    someone on purpose — is left alone. ``actor`` None is the system (the nightly command).
    """
    return ensure_default_schedules_for(
        episodes=EpisodeOfCare.objects.filter(pk=episode.pk), actor=actor
    )


@transaction.atomic
def ensure_default_schedules_for(
    *, episodes: QuerySet[EpisodeOfCare], actor: User | None
) -> list[InstrumentSchedule]:
    """``ensure_default_schedules`` for many episodes at once (the due list, the nightly
    command): at most five queries whatever their number, one query when none is missing."""
    codes = [code for code, _ in rules.DEFAULT_SCHEDULES]
    lacking = list(
        episodes.filter(discharge_date__isnull=True)
        .annotate(
            defaults=Count(
                "instrument_schedules__instrument",
                filter=Q(instrument_schedules__instrument__in=codes),
                distinct=True,
            )
        )
        .filter(defaults__lt=len(codes))
        .order_by()
        .values_list("pk", flat=True)
    )
    if not lacking:
        return []
    # Lock the episodes, then look again: two pages opened at once create them once.
    locked = list(
        EpisodeOfCare.objects.select_for_update()
        .filter(pk__in=lacking, discharge_date__isnull=True)
        .order_by("pk")
        .values_list("pk", "patient_id", "facility_id", "admission_date")
    )
    have = set(
        InstrumentSchedule.objects.filter(
            episode_id__in=[row[0] for row in locked], instrument__in=codes
        ).values_list("episode_id", "instrument")
    )
    now = timezone.now()
    new = [
        InstrumentSchedule(
            episode_id=pk,
            instrument=code,
            every_days=every,
            starts_on=admitted,
            is_default=True,
            created_at=now,
            created_by=actor,
        )
        for pk, _, _, admitted in locked
        for code, every in rules.DEFAULT_SCHEDULES
        if (pk, code) not in have
    ]
    created = InstrumentSchedule.objects.bulk_create(new)
    where = {pk: (patient_id, facility_id) for pk, patient_id, facility_id, _ in locked}
    record_many(
        {
            "actor": actor,
            "action": AuditEvent.Action.CREATE,
            "patient": where[s.episode_id][0],
            "facility_id": where[s.episode_id][1],
            "obj": s,
            "section": SCHEDULE_SECTION,
            "changes": {k: [None, v] for k, v in snapshot(s, SCHEDULE_FIELDS).items()},
            "detail": {"default": True},
        }
        for s in created
    )
    return created


def _stop(*, actor: User, schedule: InstrumentSchedule, reason: str) -> InstrumentSchedule:
    before = snapshot(schedule, STOP_FIELDS)
    schedule.stopped_at = timezone.now()
    schedule.stopped_by = actor
    schedule.stop_reason = reason
    schedule.save(update_fields=list(STOP_FIELDS))
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=schedule.episode.patient_id,
        facility_id=schedule.episode.facility_id,
        obj=schedule,
        section=SCHEDULE_SECTION,
        reason=reason,
        changes=diff(before, snapshot(schedule, STOP_FIELDS)),
        detail={"stopped": True},
    )
    return schedule


@transaction.atomic
def schedule_instrument(
    *,
    actor: User,
    episode: EpisodeOfCare,
    instrument: str,
    every_days: int,
    starts_on: dt.date | None = None,
) -> InstrumentSchedule:
    """Repeat ``instrument`` every ``every_days`` days from ``starts_on`` (default today) during
    an open episode. A schedule already running for that instrument is stopped (kept, with
    "changed" as the reason) and replaced; the same schedule again changes nothing."""
    require_scheduler(actor)
    if instrument not in instruments.DEFINITIONS:
        raise ValidationError({"instrument": "Choose one of the instruments here."})
    # of=("self",): lock the episode, not the facility row the join brings along.
    locked = (
        EpisodeOfCare.objects.select_for_update(of=("self",))
        .select_related("facility")
        .get(pk=episode.pk)
    )
    if not locked.is_open:
        raise ValidationError(
            {
                "episode": "This stay has ended (discharged). Instruments are repeated only for "
                "people in treatment."
            }
        )
    today = timezone.localdate(timezone=locked.facility.zone)
    starts_on = starts_on or today
    problems = rules.schedule_problems(
        every_days=every_days, starts_on=starts_on, admitted_on=locked.admission_date, today=today
    )
    if problems:
        raise ValidationError(problems)
    current = (
        InstrumentSchedule.objects.select_for_update()
        .filter(episode=locked, instrument=instrument, stopped_at__isnull=True)
        .first()
    )
    if current is not None:
        current.episode = locked
        if current.every_days == every_days and current.starts_on == starts_on:
            return current
        name = instruments.definition(instrument).name
        _stop(
            actor=actor,
            schedule=current,
            reason=f"Changed: {name} every {every_days} days from {starts_on:%m/%d/%Y}.",
        )
    schedule = InstrumentSchedule.objects.create(
        episode=locked,
        instrument=instrument,
        every_days=every_days,
        starts_on=starts_on,
        created_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=locked.patient_id,
        facility_id=locked.facility_id,
        obj=schedule,
        section=SCHEDULE_SECTION,
        changes={k: [None, v] for k, v in snapshot(schedule, SCHEDULE_FIELDS).items()},
        detail={"replaces": current.pk} if current is not None else None,
    )
    return schedule


@transaction.atomic
def stop_schedule(*, actor: User, schedule: InstrumentSchedule, reason: str) -> InstrumentSchedule:
    """Stop repeating an instrument (it stays in the chart: who stopped it, when and why)."""
    require_scheduler(actor)
    reason = _reason(reason, "reason", "Anxiety scores minimal for two months")
    locked = (
        InstrumentSchedule.objects.select_for_update(of=("self",))
        .select_related("episode")
        .get(pk=schedule.pk)
    )
    if not locked.is_active:
        raise ValidationError({"reason": "This schedule is already stopped."})
    return _stop(actor=actor, schedule=locked, reason=reason)
