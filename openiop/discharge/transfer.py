"""A change of level of care inside one episode: a transfer between programs of the facility
(PHP → IOP → OP, or back up when the person needs more care).

The record stays continuous — days in treatment go on counting from the admission — and a
``LevelOfCareChange`` row keeps the history: from and to program, level, track and TEDS
``SERVICES`` (SPEC §9; the TEDS export reads a change of ``SERVICES`` as a transfer
discharge and a new admission). The person starts in the new program's first phase, and the
treatment plan becomes due for review on the day of the change.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import Program, Track, User
from openiop.admissions.models import EpisodeOfCare, PhaseChange
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core import teds
from openiop.discharge.models import LevelOfCareChange
from openiop.plans import rules as plan_rules
from openiop.plans.models import PlanVersion, TreatmentPlan
from openiop.plans.services import mark_review_due

__all__ = ["REASON_MIN_LENGTH", "changed_on_error", "reason_error", "transfer"]

SECTION = "level of care"
REASON_MIN_LENGTH = 5


def reason_error(reason: str | None) -> str | None:
    if not reason or len(reason.strip()) < REASON_MIN_LENGTH:
        return "Write why the level of care changes (a few words at least)."
    return None


def changed_on_error(
    changed_on: dt.date | None,
    *,
    admitted: dt.date,
    last_change: dt.date | None,
    today: dt.date,
) -> str | None:
    """Why the first day in the new program cannot be used, or None."""
    if changed_on is None:
        return "Enter the first day in the new program."
    if changed_on < admitted:
        return f"The transfer cannot be before the admission on {admitted:%m/%d/%Y}."
    if last_change is not None and changed_on < last_change:
        return (
            f"The transfer cannot be before the last change of level of care, on "
            f"{last_change:%m/%d/%Y}."
        )
    if changed_on > today:
        return "The transfer cannot be in the future: record it on the person's first day there."
    return None


def _program_error(to_program: Program | None, episode: EpisodeOfCare) -> str | None:
    if to_program is None:
        return "Choose the program the person moves to."
    if to_program.facility_id != episode.facility_id:
        return "Choose a program of this facility; another facility means a new admission there."
    if not to_program.is_active:
        return f"{to_program.name} is closed to new patients; choose an active program."
    if to_program.pk == episode.program_id:
        return f"The person is already in {to_program.name}."
    return None


@transaction.atomic
def transfer(
    *,
    actor: User,
    episode: EpisodeOfCare,
    to_program: Program | None,
    to_track: Track | None = None,
    changed_on: dt.date | None,
    reason: str,
    today: dt.date | None = None,
) -> LevelOfCareChange:
    """Move the person to another program of the facility within the same episode."""
    if not actor.can("discharge.transfer"):
        raise PermissionDenied("Only the clinical team changes a person's level of care.")
    if not actor.facilities.filter(pk=episode.facility_id).exists():
        raise PermissionDenied("You do not work at this patient's facility.")
    # The episode row is locked: two transfers (or a transfer and a discharge) at once would
    # otherwise both read the same "current program". Track and phase are outer joins.
    locked = (
        EpisodeOfCare.objects.select_for_update(of=("self",))
        .select_related("facility", "patient", "program", "track", "phase")
        .get(pk=episode.pk)
    )
    if not locked.is_open:
        raise ValidationError(
            "This episode is discharged; a transfer happens during a stay. "
            "Readmit the person to the new program instead."
        )
    if today is None:
        today = timezone.localdate(timezone=locked.facility.zone)
    last_change = (
        LevelOfCareChange.objects.filter(episode=locked)
        .order_by("-changed_on", "-id")
        .values_list("changed_on", flat=True)
        .first()
    )
    errors = {
        "to_program": _program_error(to_program, locked),
        "changed_on": changed_on_error(
            changed_on, admitted=locked.admission_date, last_change=last_change, today=today
        ),
        "reason": reason_error(reason),
    }
    if to_track is not None and to_program is not None and to_track.program_id != to_program.pk:
        errors["to_track"] = f"Choose a track of {to_program.name}, or none."
    found = {name: message for name, message in errors.items() if message}
    if found:
        raise ValidationError(found)
    assert to_program is not None and changed_on is not None  # noqa: S101  (checked above)

    services = teds.SERVICES_FOR_LEVEL[to_program.level_of_care]
    change = LevelOfCareChange.objects.create(
        episode=locked,
        changed_on=changed_on,
        from_program=locked.program,
        to_program=to_program,
        from_level=locked.level_of_care,
        to_level=to_program.level_of_care,
        from_track=locked.track,
        to_track=to_track,
        from_services=locked.teds_services,
        to_services=services,
        reason=reason.strip(),
        changed_by=actor,
    )
    # A phase belongs to a program: the person starts in the new program's first phase.
    old_phase = locked.phase
    new_phase = to_program.phases.order_by("order").first()
    before = {
        "program_id": locked.program_id,
        "level_of_care": locked.level_of_care,
        "track_id": locked.track_id,
        "phase_id": locked.phase_id,
        "teds_services": locked.teds_services,
    }
    locked.program = to_program
    locked.level_of_care = to_program.level_of_care
    locked.track = to_track
    locked.phase = new_phase
    locked.teds_services = services
    locked.save(update_fields=["program", "level_of_care", "track", "phase", "teds_services"])
    after = {
        "program_id": to_program.pk,
        "level_of_care": to_program.level_of_care,
        "track_id": to_track.pk if to_track else None,
        "phase_id": new_phase.pk if new_phase else None,
        "teds_services": int(services),
    }
    if new_phase is not None:
        PhaseChange.objects.create(
            episode=locked,
            from_phase=old_phase,
            to_phase=new_phase,
            changed_on=changed_on,
            reason=f"Transfer to {to_program.name}: {reason.strip()}",
            changed_by=actor,
        )
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section=SECTION,
        changes={k: [before[k], after[k]] for k in before if before[k] != after[k]},
        reason=reason.strip(),
        detail={"level_of_care_change": change.pk, "changed_on": changed_on.isoformat()},
    )
    plan = TreatmentPlan.objects.select_for_update().filter(episode=locked).first()
    if plan is not None and plan.versions.filter(status=PlanVersion.Status.ACTIVE).exists():
        mark_review_due(
            actor=actor, plan=plan, on=changed_on, reason=plan_rules.DueReason.LEVEL_CHANGED
        )
    # The caller's instance follows, so a page rendered next shows the new program.
    for name in ("program", "level_of_care", "track", "phase", "teds_services"):
        setattr(episode, name, getattr(locked, name))
    return change
