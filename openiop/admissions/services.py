"""Admission: opening an episode of care, and correcting it. Every write is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from openiop.accounts.models import Phase, Program, Track, User
from openiop.accounts.selectors import staff_with_roles
from openiop.admissions import rules
from openiop.admissions.models import Coverage, EpisodeOfCare, PhaseChange
from openiop.admissions.permissions import PRIMARY_CLINICIAN_ROLES
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, snapshot
from openiop.core import teds
from openiop.intake.services import advance_for_patient
from openiop.patients.models import Patient
from openiop.patients.services import make_primary_clinician

TEDS_FIELDS = tuple(f.name for f in EpisodeOfCare._meta.get_fields() if f.name.startswith("teds_"))
EPISODE_FIELDS = (
    "program_id",
    "level_of_care",
    "track_id",
    "phase_id",
    "admission_date",
    "primary_clinician_id",
    "referral_source",
    "referral_detail",
    "expected_length_days",
    "asam_level",
    *TEDS_FIELDS,
)
# What a correction may change; program, facility and admission date stay (a transfer is
# a discharge and a new admission, kept in the level-of-care history).
EDITABLE_FIELDS = (
    "track",
    "primary_clinician",
    "referral_source",
    "referral_detail",
    "expected_length_days",
    *TEDS_FIELDS,
)
COVERAGE_FIELDS = (
    "payer",
    "plan",
    "member_id",
    "group_number",
    "subscriber_name",
    "subscriber_relationship",
    "effective_from",
    "effective_to",
)


def _require(actor: User, permission: str, patient: Patient) -> None:
    if not actor.can(permission):
        raise PermissionDenied("Your role does not admit patients.")
    if not actor.facilities.filter(pk=patient.facility_id).exists():
        raise PermissionDenied("You do not work at this patient's facility.")


def _clinician_error(clinician: User | None, patient: Patient) -> str | None:
    if clinician is None:
        return "Choose the primary clinician."
    if (
        not staff_with_roles(patient.facility, PRIMARY_CLINICIAN_ROLES)
        .filter(pk=clinician.pk)
        .exists()
    ):
        return "Choose a clinician who works at this patient's facility."
    return None


def _raise_if(errors: Mapping[str, str | None]) -> None:
    found = {field: message for field, message in errors.items() if message}
    if found:
        raise ValidationError(found)


def _check_track(track: Track | None, program: Program) -> None:
    if track is not None and track.program_id != program.pk:
        raise ValidationError({"track": "Choose a track of the chosen program."})


def _check_teds(values: Mapping[str, Any]) -> dict[str, int | None]:
    """TEDS codes must be among the coded values of SPEC §9 (or empty for −9)."""
    cleaned: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for name in TEDS_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if value in (None, ""):
            if name == "teds_services":
                errors[name] = "The TEDS type of service is required."
            cleaned[name] = None
            continue
        field = EpisodeOfCare._meta.get_field(name)
        allowed = {code for code, _ in field.choices or []}  # type: ignore[union-attr]
        try:
            code = int(value)
        except (TypeError, ValueError):
            errors[name] = "Choose a value from the list."
            continue
        if code not in allowed:
            errors[name] = f"{code} is not a TEDS code for {getattr(field, 'verbose_name', name)}."
            continue
        cleaned[name] = code
    if errors:
        raise ValidationError(errors)
    return cleaned


def _coverage(episode: EpisodeOfCare, data: Mapping[str, Any] | None) -> Coverage | None:
    if not data or not str(data.get("payer", "")).strip():
        return None
    values = {k: data[k] for k in COVERAGE_FIELDS if k in data}
    values["payer"] = str(values["payer"]).strip()
    start, end = values.get("effective_from"), values.get("effective_to")
    if start and end and end < start:
        raise ValidationError({"effective_to": "Coverage cannot end before it starts."})
    coverage, _ = Coverage.objects.update_or_create(
        episode=episode, priority=data.get("priority") or Coverage.Priority.PRIMARY, defaults=values
    )
    return coverage


@transaction.atomic
def admit(
    *,
    actor: User,
    patient: Patient,
    program: Program | None,
    admission_date: dt.date | None,
    primary_clinician: User | None,
    referral_source: int | None,
    track: Track | None = None,
    referral_detail: str = "",
    expected_length_days: int = rules.MINIMUM_STAY_DAYS,
    asam_level: str = "",
    coverage: Mapping[str, Any] | None = None,
    teds_values: Mapping[str, Any] | None = None,
) -> EpisodeOfCare:
    """Open an episode of care: the person starts in the program's first phase (engagement)."""
    _require(actor, "admissions.admit", patient)
    # Lock the patient row: two people admitting at once cannot both open an episode.
    patient = Patient.objects.select_for_update().select_related("facility").get(pk=patient.pk)
    errors: dict[str, str | None] = {
        "referral_source": rules.referral_source_error(referral_source),
        "primary_clinician": _clinician_error(primary_clinician, patient),
        "expected_length_days": rules.expected_stay_error(expected_length_days),
    }
    if program is None:
        errors["program"] = "Choose the program the person is admitted to."
    elif program.facility_id != patient.facility_id or not program.is_active:
        errors["program"] = "Choose an active program of the patient's facility."
    if admission_date is None:
        errors["admission_date"] = "Enter the admission date."
    else:
        today = timezone.localdate(timezone=patient.facility.zone)
        errors["admission_date"] = rules.admission_date_error(
            admission_date, today=today, born=patient.date_of_birth
        )
    _raise_if(errors)
    if program is None or admission_date is None or primary_clinician is None:
        raise ValidationError("Program, admission date and primary clinician are required.")
    _check_track(track, program)
    current = EpisodeOfCare.objects.filter(
        patient=patient, facility=patient.facility, discharge_date__isnull=True
    ).first()
    if current is not None:
        raise ValidationError(
            f"This person already has an open episode since "
            f"{current.admission_date:%m/%d/%Y}. Discharge it before a readmission."
        )
    codes = _check_teds(
        {"teds_services": teds.SERVICES_FOR_LEVEL[program.level_of_care], **(teds_values or {})}
    )
    episode = EpisodeOfCare(
        patient=patient,
        facility=patient.facility,
        program=program,
        level_of_care=program.level_of_care,
        track=track,
        phase=program.phases.order_by("order").first(),
        admission_date=admission_date,
        primary_clinician=primary_clinician,
        referral_source=int(referral_source or 0),
        referral_detail=referral_detail.strip(),
        expected_length_days=int(expected_length_days),
        asam_level=asam_level,
        created_by=actor,
        **codes,
    )
    try:
        with transaction.atomic():
            episode.save()
    except IntegrityError as exc:  # the unique open-episode constraint, on a race
        raise ValidationError("This person already has an open episode.") from exc
    covered = _coverage(episode, coverage)
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=episode,
        section="admission",
        changes={k: [None, v] for k, v in snapshot(episode, EPISODE_FIELDS).items()},
        detail={"coverage": covered.pk} if covered else None,
    )
    if patient.status != Patient.Status.ACTIVE:
        record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            patient=patient,
            obj=patient,
            section="demographics",
            changes={"status": [patient.status, Patient.Status.ACTIVE]},
        )
        patient.status = Patient.Status.ACTIVE
        patient.updated_at = timezone.now()
        patient.save(update_fields=["status", "updated_at"])
    make_primary_clinician(actor=actor, patient=patient, clinician=primary_clinician)
    advance_for_patient(actor=actor, patient=patient, stage="admitted")
    return episode


@transaction.atomic
def update_episode(
    *,
    actor: User,
    episode: EpisodeOfCare,
    data: Mapping[str, Any],
    coverage: Mapping[str, Any] | None = None,
) -> EpisodeOfCare:
    """Correct an open episode's details; every change is kept with before and after."""
    _require(actor, "admissions.change_episode", episode.patient)
    locked = (
        EpisodeOfCare.objects.select_for_update()
        .select_related("patient__facility", "program")
        .get(pk=episode.pk)
    )
    if not locked.is_open:
        raise ValidationError("A discharged episode cannot be changed.")
    before = snapshot(locked, EPISODE_FIELDS)
    coverage_before = {c.priority: snapshot(c, COVERAGE_FIELDS) for c in locked.coverages.all()}
    values = {k: v for k, v in data.items() if k in EDITABLE_FIELDS}
    _raise_if(
        {
            "primary_clinician": _clinician_error(values["primary_clinician"], locked.patient)
            if "primary_clinician" in values
            else None,
            "expected_length_days": rules.expected_stay_error(values["expected_length_days"])
            if "expected_length_days" in values
            else None,
            "referral_source": rules.referral_source_error(values["referral_source"])
            if "referral_source" in values
            else None,
        }
    )
    if "track" in values:
        _check_track(values["track"], locked.program)
    values.update(_check_teds(values))
    old_clinician = locked.primary_clinician
    for key, value in values.items():
        setattr(locked, key, value)
    locked.save()
    _coverage(locked, coverage)
    changes = diff(before, snapshot(locked, EPISODE_FIELDS))
    coverage_after = {c.priority: snapshot(c, COVERAGE_FIELDS) for c in locked.coverages.all()}
    for priority, after in coverage_after.items():
        for key, change in diff(coverage_before.get(priority, {}), after).items():
            changes[f"coverage.{priority}.{key}"] = change
    if changes:
        record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            patient=locked.patient,
            obj=locked,
            section="admission",
            changes=changes,
        )
    if locked.primary_clinician_id != old_clinician.pk:
        make_primary_clinician(
            actor=actor,
            patient=locked.patient,
            clinician=locked.primary_clinician,
            replacing=old_clinician,
        )
    return locked


@transaction.atomic
def change_phase(
    *,
    actor: User,
    episode: EpisodeOfCare,
    phase: Phase | None,
    changed_on: dt.date | None,
    reason: str,
) -> PhaseChange:
    """Move the person to another phase of the program (forward, or back when they
    destabilize), recorded with the date, who and why. Scheduling reads the episode's phase
    for group eligibility; the treatment plan becomes due for review (openiop.plans)."""
    if not actor.can("admissions.change_phase"):
        raise PermissionDenied("Only the clinical team changes a person's phase.")
    if not actor.facilities.filter(pk=episode.facility_id).exists():
        raise PermissionDenied("You do not work at this patient's facility.")
    locked = (
        EpisodeOfCare.objects.select_for_update(of=("self",))  # phase is an outer join
        .select_related("patient__facility", "phase")
        .get(pk=episode.pk)
    )
    today = timezone.localdate(timezone=locked.patient.facility.zone)
    errors: dict[str, str | None] = {"reason": rules.phase_reason_error(reason)}
    if not locked.is_open:
        raise ValidationError("A discharged episode's phase cannot change.")
    if phase is None or phase.program_id != locked.program_id:
        errors["phase"] = "Choose a phase of the person's program."
    elif phase.pk == locked.phase_id:
        errors["phase"] = f"The person is already in {phase.name}."
    errors["changed_on"] = rules.phase_date_error(
        changed_on, admitted=locked.admission_date, today=today
    )
    _raise_if(errors)
    assert phase is not None and changed_on is not None  # noqa: S101  (checked above)
    change = PhaseChange.objects.create(
        episode=locked,
        from_phase=locked.phase,
        to_phase=phase,
        changed_on=changed_on,
        reason=reason.strip(),
        changed_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section="phase",
        changes={"phase_id": [locked.phase_id, phase.pk]},
        reason=reason.strip(),
        detail={"phase_change": change.pk, "changed_on": changed_on.isoformat()},
    )
    locked.phase = phase
    locked.save(update_fields=["phase"])
    episode.phase = phase
    return change
