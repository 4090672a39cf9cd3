"""Every write of a treatment plan goes through these functions, each checked and audited.

- A plan belongs to an open episode; its content lives in versions. A draft changes
  freely; the first signature locks it; the required signatures make it active and the
  previous active version is superseded. A change after signing is a new version with a
  reason, copied from the latest one with the same item keys.
- Reviews record progress per objective and a decision; a phase change (or a level of
  care that no longer matches the plan) makes a review due on that day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone

from openiop.accounts.models import Organization, Phase, Track, User
from openiop.accounts.selectors import staff_with_roles
from openiop.admissions import services as admissions_services
from openiop.admissions.models import EpisodeOfCare, PhaseChange
from openiop.assessments import icd10
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, snapshot
from openiop.patients.models import Patient, SupportContact
from openiop.plans import library, rules
from openiop.plans.models import (
    Category,
    Goal,
    Intervention,
    LibraryGoal,
    LibraryIntervention,
    LibraryObjective,
    LibraryProblem,
    Modality,
    Objective,
    ObjectiveLink,
    ObjectiveProgress,
    ObjectiveStatus,
    PlanReview,
    PlanVersion,
    Problem,
    RelapsePreventionPlan,
    Signature,
    TreatmentPlan,
)
from openiop.plans.permissions import WRITER_ROLES

LOCKED_MESSAGE = (
    "This version is signed and locked. Start a new version (with the reason) to change it."
)
WRONG_PASSWORD = "That is not your password. Sign with your own password."  # noqa: S105
MAX_SIGNATURE_IMAGE = 200_000  # characters of a PNG data URL, about 150 kB
_DATA_URL = re.compile(r"^data:image/png;base64,[A-Za-z0-9+/]+={0,2}$")

VERSION_FIELDS = (
    "hours_per_day",
    "days_per_week",
    "track_id",
    "meetings_per_week",
    "strengths",
    "discharge_criteria",
)
PROBLEM_FIELDS = ("category", "statement", "asam_dimensions", "diagnosis_codes", "order")
GOAL_FIELDS = ("own_words", "clinical", "order")
OBJECTIVE_FIELDS = ("text", "target_date", "status", "order")
INTERVENTION_FIELDS = ("modality", "description", "frequency", "responsible_id", "order")
RELAPSE_FIELDS = (
    "triggers_people",
    "triggers_places",
    "triggers_feelings",
    "triggers_situations",
    "warning_signs",
    "coping_strategies",
    "reasons",
    "after_lapse",
    "crisis_resources",
)


class PlanLocked(ValidationError):
    """An edit of a signed version (the API answers 409 Conflict)."""

    def __init__(self) -> None:
        super().__init__(LOCKED_MESSAGE, code="locked")


# --- checks ------------------------------------------------------------------------------------


def _require_writer(actor: User, patient: Patient) -> None:
    if not actor.can("plans.change_treatmentplan"):
        raise PermissionDenied("Only the clinical team writes treatment plans.")
    if not actor.facilities.filter(pk=patient.facility_id).exists():
        raise PermissionDenied("You do not work at this patient's facility.")


def _today(patient: Patient) -> dt.date:
    return timezone.localdate(timezone=patient.facility.zone)


def _raise_if(errors: Mapping[str, str | None]) -> None:
    found = {field: message for field, message in errors.items() if message}
    if found:
        raise ValidationError(found)


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return str(value).strip() if value is not None else ""


def _locked_version(version: PlanVersion) -> PlanVersion:
    """The version again, locked for this transaction, refused when it is not a draft."""
    fresh = (
        PlanVersion.objects.select_for_update(of=("self",))  # track is an outer join
        .select_related("plan__episode__program", "plan__patient__facility", "track")
        .get(pk=version.pk)
    )
    if not fresh.is_draft:
        raise PlanLocked()
    return fresh


def _audit(
    actor: User,
    action: str,
    version: PlanVersion,
    obj: models.Model,
    changes: Mapping[str, Any] | None = None,
    **extra: Any,
) -> None:
    record(
        actor=actor,
        action=action,
        patient=version.plan.patient,
        obj=obj,
        section="treatment plan",
        changes=changes,
        detail={"plan": version.plan_id, "version": version.number, **extra},
    )


# --- starting a plan and its versions ----------------------------------------------------------


def _default_intensity(episode: EpisodeOfCare) -> dict[str, Any]:
    program = episode.program
    track = episode.track or program.tracks.order_by("start_time").first()
    hours = program.min_hours_per_day
    if track is not None:
        hours = max(hours, track.hours_per_day)
    return {
        "hours_per_day": hours,
        "days_per_week": program.min_days_per_week,
        "track": track,
        "meetings_per_week": program.required_meetings_per_week,
    }


@transaction.atomic
def start_plan(*, actor: User, episode: EpisodeOfCare) -> PlanVersion:
    """The episode's plan with a first draft version, its intensity from the program.

    Starting again returns the draft that is already open.
    """
    _require_writer(actor, episode.patient)
    locked = (
        EpisodeOfCare.objects.select_for_update(of=("self",))  # track is an outer join
        .select_related("program", "track", "patient__facility")
        .get(pk=episode.pk)
    )
    if not locked.is_open:
        raise ValidationError("A discharged episode takes no new treatment plan.")
    plan = TreatmentPlan.objects.filter(episode=locked).first()
    if plan is not None:
        open_version = plan.versions.filter(status__in=["draft", "signing"]).first()
        if open_version is not None:
            return open_version
        raise ValidationError("This episode already has a plan. Start a new version of it.")
    plan = TreatmentPlan.objects.create(episode=locked, patient=locked.patient, created_by=actor)
    version = PlanVersion.objects.create(
        plan=plan,
        number=1,
        level_of_care=locked.level_of_care,
        created_by=actor,
        **_default_intensity(locked),
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=locked.patient,
        obj=plan,
        section="treatment plan",
        detail={"version": 1},
    )
    return version


def _copy_tree(source: PlanVersion, target: PlanVersion) -> None:
    """Copy problems, goals, objectives and interventions with their keys (4 inserts)."""
    problems = list(source.problems.all())
    goals = list(Goal.objects.filter(problem__version=source))
    objectives = list(Objective.objects.filter(goal__problem__version=source))
    interventions = list(Intervention.objects.filter(objective__goal__problem__version=source))
    new_problem: dict[int, Problem] = {}
    for p in problems:
        new_problem[p.pk] = Problem(
            version=target,
            key=p.key,
            order=p.order,
            category=p.category,
            statement=p.statement,
            asam_dimensions=p.asam_dimensions,
            diagnosis_codes=p.diagnosis_codes,
        )
    Problem.objects.bulk_create(new_problem.values())
    new_goal: dict[int, Goal] = {}
    for g in goals:
        new_goal[g.pk] = Goal(
            problem=new_problem[g.problem_id],
            key=g.key,
            order=g.order,
            own_words=g.own_words,
            clinical=g.clinical,
        )
    Goal.objects.bulk_create(new_goal.values())
    new_objective: dict[int, Objective] = {}
    for o in objectives:
        new_objective[o.pk] = Objective(
            goal=new_goal[o.goal_id],
            key=o.key,
            order=o.order,
            text=o.text,
            target_date=o.target_date,
            status=o.status,
        )
    Objective.objects.bulk_create(new_objective.values())
    Intervention.objects.bulk_create(
        Intervention(
            objective=new_objective[i.objective_id],
            key=i.key,
            order=i.order,
            modality=i.modality,
            description=i.description,
            frequency=i.frequency,
            responsible_id=i.responsible_id,
        )
        for i in interventions
    )


@transaction.atomic
def new_version(*, actor: User, plan: TreatmentPlan, reason: str) -> PlanVersion:
    """A draft copied from the latest version; the reason says what changes and why."""
    locked_plan = (
        TreatmentPlan.objects.select_for_update()
        .select_related("episode__program", "patient__facility")
        .get(pk=plan.pk)
    )
    _require_writer(actor, locked_plan.patient)
    if not locked_plan.episode.is_open:
        raise ValidationError("The episode is discharged; its plan can no longer change.")
    if len(reason.strip()) < 5:
        raise ValidationError({"reason": "Write what changes in this version and why."})
    latest = locked_plan.versions.order_by("-number").first()
    if latest is None:
        raise ValidationError("This plan has no version yet.")
    if latest.is_draft:
        raise ValidationError(
            f"Version {latest.number} is still a draft: change it instead of starting another."
        )
    if latest.status == PlanVersion.Status.SIGNING:
        # Signatures were being collected on content that now changes: that version stops.
        latest.status = PlanVersion.Status.SUPERSEDED
        latest.superseded_at = timezone.now()
        latest.save(update_fields=["status", "superseded_at"])
    version = PlanVersion.objects.create(
        plan=locked_plan,
        number=latest.number + 1,
        change_reason=reason.strip(),
        based_on=latest,
        level_of_care=locked_plan.episode.level_of_care,
        hours_per_day=latest.hours_per_day,
        days_per_week=latest.days_per_week,
        track=latest.track,
        meetings_per_week=latest.meetings_per_week,
        strengths=latest.strengths,
        discharge_criteria=latest.discharge_criteria,
        created_by=actor,
    )
    _copy_tree(latest, version)
    _audit(actor, AuditEvent.Action.CREATE, version, version, reason=reason.strip())
    return version


@transaction.atomic
def discard_draft(*, actor: User, version: PlanVersion) -> None:
    """Throw away an unsigned draft (the first one removes the empty plan too)."""
    current = _locked_version(version)
    _require_writer(actor, current.plan.patient)
    plan = current.plan
    _audit(actor, AuditEvent.Action.DELETE, current, current)
    current.delete()
    if not plan.versions.exists():
        plan.delete()


# --- editing a draft ---------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def intensity_problems(version: PlanVersion) -> dict[str, str]:
    """The version's planned intensity against its program's dose rules."""
    program = version.plan.episode.program
    errors = rules.intensity_errors(
        rules.Intensity(version.hours_per_day, version.days_per_week), program.dose_rules()
    )
    meetings = rules.meetings_error(version.meetings_per_week, program.required_meetings_per_week)
    if meetings:
        errors["meetings_per_week"] = meetings
    return errors


@transaction.atomic
def update_intensity(*, actor: User, version: PlanVersion, data: Mapping[str, Any]) -> PlanVersion:
    """Planned hours, days, track and meetings (checked against the program's dose rules),
    with the strengths and the discharge criteria."""
    current = _locked_version(version)
    _require_writer(actor, current.plan.patient)
    before = snapshot(current, VERSION_FIELDS)
    program = current.plan.episode.program
    hours = _decimal(data.get("hours_per_day"))
    days = _int(data.get("days_per_week"))
    meetings = _int(data.get("meetings_per_week"))
    errors: dict[str, str | None] = {}
    if hours is None:
        errors["hours_per_day"] = "Enter the planned hours per day, e.g. 3."
    if days is None:
        errors["days_per_week"] = "Enter the planned days per week, e.g. 3."
    track = data.get("track", current.track)
    if track is not None and not isinstance(track, Track):
        track = Track.objects.filter(pk=_int(track) or 0).first()
        if track is None:
            errors["track"] = "Choose a track of the person's program."
    if track is not None and track.program_id != program.pk:
        errors["track"] = "Choose a track of the person's program."
    if hours is not None and days is not None:
        errors.update(rules.intensity_errors(rules.Intensity(hours, days), program.dose_rules()))
    errors["meetings_per_week"] = rules.meetings_error(meetings, program.required_meetings_per_week)
    _raise_if(errors)
    assert hours is not None and days is not None and meetings is not None  # noqa: S101
    current.hours_per_day = hours
    current.days_per_week = days
    current.track = track
    current.meetings_per_week = meetings
    if "strengths" in data:
        current.strengths = _text(data, "strengths")
    if "discharge_criteria" in data:
        current.discharge_criteria = _text(data, "discharge_criteria")
    current.save()
    changes = diff(before, snapshot(current, VERSION_FIELDS))
    if changes:
        _audit(actor, AuditEvent.Action.UPDATE, current, current, changes)
    return current


def _clean_dimensions(value: Any) -> str:
    if value in (None, ""):
        return ""
    items = value if isinstance(value, list | tuple | set) else str(value).split(",")
    numbers: set[int] = set()
    for item in items:
        number = _int(str(item).strip())
        if number is None or not 1 <= number <= 6:
            raise ValidationError({"asam_dimensions": "ASAM dimensions are numbers 1 to 6."})
        numbers.add(number)
    return ",".join(str(n) for n in sorted(numbers))


def _clean_diagnoses(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    codes: list[str] = []
    for item in items:
        code = str(item).strip().upper()
        if not code:
            continue
        if icd10.lookup(code) is None:
            raise ValidationError(
                {"diagnosis_codes": f"{code} is not an ICD-10-CM code in our list (F or Z codes)."}
            )
        if code not in codes:
            codes.append(code)
    return codes


def _next_order(queryset: models.QuerySet[Any]) -> int:
    return int(queryset.aggregate(m=Max("order"))["m"] or 0) + 1


def _problem_values(data: Mapping[str, Any]) -> dict[str, Any]:
    statement = _text(data, "statement")
    if not statement:
        raise ValidationError({"statement": "Describe the problem in a sentence."})
    category = _text(data, "category") or "other"
    if category not in Category.values:
        raise ValidationError({"category": "Choose a category from the list."})
    return {
        "statement": statement,
        "category": category,
        "asam_dimensions": _clean_dimensions(data.get("asam_dimensions")),
        "diagnosis_codes": _clean_diagnoses(data.get("diagnosis_codes")),
    }


def _goal_values(data: Mapping[str, Any]) -> dict[str, Any]:
    own_words = _text(data, "own_words")
    if not own_words:
        raise ValidationError(
            {"own_words": "Write the goal in the patient's own words; it is their plan."}
        )
    return {"own_words": own_words, "clinical": _text(data, "clinical")}


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _objective_values(
    data: Mapping[str, Any], *, today: dt.date, admitted: dt.date
) -> dict[str, Any]:
    text = _text(data, "text")
    target = _date(data.get("target_date"))
    status = _text(data, "status") or ObjectiveStatus.NOT_STARTED
    errors: dict[str, str | None] = {}
    if not text:
        errors["text"] = "Write the objective as something that can be measured."
    if target is None:
        errors["target_date"] = "Give the objective a target date, so progress can be measured."
    elif target < admitted:
        errors["target_date"] = "The target date cannot be before the admission."
    if status not in ObjectiveStatus.values:
        errors["status"] = "Choose a status from the list."
    _raise_if(errors)
    return {"text": text, "target_date": target, "status": status}


def _intervention_values(data: Mapping[str, Any], patient: Patient) -> dict[str, Any]:
    modality = _text(data, "modality")
    frequency = _text(data, "frequency")
    responsible = data.get("responsible")
    errors: dict[str, str | None] = {}
    if modality not in Modality.values:
        errors["modality"] = "Choose the kind of service from the list."
    if not frequency:
        errors["frequency"] = "Say how often, e.g. 3 times a week."
    if responsible not in (None, ""):
        user = responsible if isinstance(responsible, User) else None
        if user is None:
            user = User.objects.filter(pk=_int(responsible) or 0).first()
        if (
            user is None
            or not staff_with_roles(patient.facility, WRITER_ROLES).filter(pk=user.pk).exists()
        ):
            errors["responsible"] = "Choose a member of the clinical team at this facility."
        responsible = user
    else:
        responsible = None
    _raise_if(errors)
    return {
        "modality": modality,
        "description": _text(data, "description"),
        "frequency": frequency,
        "responsible": responsible,
    }


@transaction.atomic
def save_problem(
    *,
    actor: User,
    version: PlanVersion,
    data: Mapping[str, Any],
    problem: Problem | None = None,
) -> Problem:
    """Add or change a problem. A new problem needs its first goal in the patient's words
    (``own_words``, ``clinical`` in ``data``)."""
    current = _locked_version(version)
    _require_writer(actor, current.plan.patient)
    values = _problem_values(data)
    if problem is None:
        goal_values = _goal_values(data)
        problem = Problem.objects.create(
            version=current, order=_next_order(current.problems.all()), **values
        )
        goal = Goal.objects.create(problem=problem, order=1, **goal_values)
        _audit(
            actor,
            AuditEvent.Action.CREATE,
            current,
            problem,
            {k: [None, v] for k, v in {**values, **goal_values}.items()},
            goal=goal.pk,
        )
        return problem
    if problem.version_id != current.pk:
        raise ValidationError("That problem belongs to another version.")
    before = snapshot(problem, PROBLEM_FIELDS)
    for key, value in values.items():
        setattr(problem, key, value)
    problem.save()
    changes = diff(before, snapshot(problem, PROBLEM_FIELDS))
    if changes:
        _audit(actor, AuditEvent.Action.UPDATE, current, problem, changes)
    return problem


@transaction.atomic
def save_goal(
    *, actor: User, problem: Problem, data: Mapping[str, Any], goal: Goal | None = None
) -> Goal:
    current = _locked_version(problem.version)
    _require_writer(actor, current.plan.patient)
    values = _goal_values(data)
    if goal is None:
        goal = Goal.objects.create(
            problem=problem, order=_next_order(problem.goals.all()), **values
        )
        _audit(
            actor,
            AuditEvent.Action.CREATE,
            current,
            goal,
            {k: [None, v] for k, v in values.items()},
        )
        return goal
    if goal.problem_id != problem.pk:
        raise ValidationError("That goal belongs to another problem.")
    before = snapshot(goal, GOAL_FIELDS)
    for key, value in values.items():
        setattr(goal, key, value)
    goal.save()
    changes = diff(before, snapshot(goal, GOAL_FIELDS))
    if changes:
        _audit(actor, AuditEvent.Action.UPDATE, current, goal, changes)
    return goal


@transaction.atomic
def save_objective(
    *, actor: User, goal: Goal, data: Mapping[str, Any], objective: Objective | None = None
) -> Objective:
    """Add or change a measurable objective; one without a target date is refused."""
    current = _locked_version(goal.problem.version)
    _require_writer(actor, current.plan.patient)
    patient = current.plan.patient
    values = _objective_values(
        data, today=_today(patient), admitted=current.plan.episode.admission_date
    )
    if objective is None:
        objective = Objective.objects.create(
            goal=goal, order=_next_order(goal.objectives.all()), **values
        )
        _audit(
            actor,
            AuditEvent.Action.CREATE,
            current,
            objective,
            {k: [None, v] for k, v in snapshot(objective, OBJECTIVE_FIELDS).items()},
        )
        return objective
    if objective.goal_id != goal.pk:
        raise ValidationError("That objective belongs to another goal.")
    before = snapshot(objective, OBJECTIVE_FIELDS)
    for key, value in values.items():
        setattr(objective, key, value)
    objective.save()
    changes = diff(before, snapshot(objective, OBJECTIVE_FIELDS))
    if changes:
        _audit(actor, AuditEvent.Action.UPDATE, current, objective, changes)
    return objective


@transaction.atomic
def save_intervention(
    *,
    actor: User,
    objective: Objective,
    data: Mapping[str, Any],
    intervention: Intervention | None = None,
) -> Intervention:
    current = _locked_version(objective.goal.problem.version)
    patient = current.plan.patient
    _require_writer(actor, patient)
    values = _intervention_values(data, patient)
    if intervention is None:
        intervention = Intervention.objects.create(
            objective=objective, order=_next_order(objective.interventions.all()), **values
        )
        _audit(
            actor,
            AuditEvent.Action.CREATE,
            current,
            intervention,
            {k: [None, v] for k, v in snapshot(intervention, INTERVENTION_FIELDS).items()},
        )
        return intervention
    if intervention.objective_id != objective.pk:
        raise ValidationError("That intervention belongs to another objective.")
    before = snapshot(intervention, INTERVENTION_FIELDS)
    for key, value in values.items():
        setattr(intervention, key, value)
    intervention.save()
    changes = diff(before, snapshot(intervention, INTERVENTION_FIELDS))
    if changes:
        _audit(actor, AuditEvent.Action.UPDATE, current, intervention, changes)
    return intervention


@transaction.atomic
def remove_item(
    *, actor: User, version: PlanVersion, item: Problem | Goal | Objective | Intervention
) -> None:
    """Remove a problem, goal, objective or intervention (and what hangs under it) from a
    draft. A goal is the last one of its problem: remove the problem instead."""
    current = _locked_version(version)
    _require_writer(actor, current.plan.patient)
    owner = _version_of(item)
    if owner != current.pk:
        raise ValidationError("That item belongs to another version.")
    if isinstance(item, Goal) and item.problem.goals.count() == 1:
        raise ValidationError("A problem needs at least one goal; remove the problem instead.")
    _audit(
        actor,
        AuditEvent.Action.DELETE,
        current,
        item,
        {"text": [str(item), None]},
    )
    item.delete()


def _version_of(item: Problem | Goal | Objective | Intervention) -> int:
    if isinstance(item, Problem):
        return item.version_id
    if isinstance(item, Goal):
        return item.problem.version_id
    if isinstance(item, Objective):
        return item.goal.problem.version_id
    return item.objective.goal.problem.version_id


@transaction.atomic
def add_from_library(
    *,
    actor: User,
    version: PlanVersion,
    entry: LibraryProblem,
    data: Mapping[str, Any],
) -> Problem:
    """A problem picked from the library and personalized: the statement, the goal in the
    patient's own words (always theirs, never the example), and the chosen objectives
    (``objectives``: text and target date) and interventions (``interventions``)."""
    current = _locked_version(version)
    patient = current.plan.patient
    _require_writer(actor, patient)
    if entry.organization_id != patient.facility.organization_id:
        raise ValidationError("That library entry belongs to another organization.")
    problem = save_problem(
        actor=actor,
        version=current,
        data={
            "statement": data.get("statement") or entry.statement,
            "category": entry.category,
            "asam_dimensions": data.get("asam_dimensions", entry.asam_dimensions),
            "diagnosis_codes": data.get("diagnosis_codes", []),
            "own_words": data.get("own_words", ""),
            "clinical": data.get("clinical", ""),
        },
    )
    goal = problem.goals.get()
    chosen_objectives: Sequence[Mapping[str, Any]] = data.get("objectives") or []
    chosen_interventions: Sequence[Mapping[str, Any]] = data.get("interventions") or []
    if not chosen_objectives:
        raise ValidationError({"objectives": "Choose at least one objective."})
    errors: dict[str, str] = {}
    created: list[Objective] = []
    for n, row in enumerate(chosen_objectives, start=1):
        try:
            created.append(save_objective(actor=actor, goal=goal, data=row))
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[f"objectives.{n}.{field}"] = f"Objective {n}: {messages[0]}"
    _raise_if(errors)
    # Interventions go under every chosen objective they serve (the library keeps them
    # per problem); each row may name its objective by position, default the first.
    for n, row in enumerate(chosen_interventions, start=1):
        target = _int(row.get("objective")) or 1
        if not 1 <= target <= len(created):
            raise ValidationError({f"interventions.{n}.objective": "Choose one of the objectives."})
        try:
            save_intervention(actor=actor, objective=created[target - 1], data=row)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[f"interventions.{n}.{field}"] = f"Intervention {n}: {messages[0]}"
    _raise_if(errors)
    return problem


# --- signatures --------------------------------------------------------------------------------


def sign_problems(version: PlanVersion) -> dict[str, str]:
    """What keeps a version from being signed: content missing, or intensity outside the
    program's dose rules. Empty when it may be signed."""
    problems: dict[str, str] = {}
    rows = list(version.problems.prefetch_related("goals__objectives__interventions"))
    if not rows:
        problems["problems"] = "Add at least one problem with a goal and objectives."
    for p in rows:
        goals = list(p.goals.all())
        if not goals:
            problems[f"problem {p.order}"] = f"Problem {p.order} needs a goal."
        for g in goals:
            objectives = list(g.objectives.all())
            if not objectives:
                problems[f"goal {g.pk}"] = (
                    f"The goal “{g.own_words[:40]}” needs at least one measurable objective."
                )
            for o in objectives:
                if not list(o.interventions.all()):
                    problems[f"objective {o.pk}"] = (
                        f"The objective “{o.text[:40]}” needs at least one intervention."
                    )
    problems.update(intensity_problems(version))
    return problems


def _check_password(actor: User, password: str) -> None:
    if not password or not actor.check_password(password):
        raise ValidationError({"password": WRONG_PASSWORD})


def _clinician_signature(version: PlanVersion) -> Signature | None:
    return next(
        (s for s in version.signatures.select_related("signed_by") if s.role == "clinician"), None
    )


def missing_signatures(version: PlanVersion) -> list[str]:
    clinician = _clinician_signature(version)
    present = version.signatures.values_list("role", flat=True)
    return rules.missing_signatures(
        present, clinician_needs_cosign=clinician.signed_by.needs_cosign if clinician else None
    )


@transaction.atomic
def sign(
    *,
    actor: User,
    version: PlanVersion,
    role: str,
    password: str = "",
    typed_name: str = "",
    attested: bool = False,
    image: str = "",
) -> Signature:
    """Sign a version as the patient (typed name with attestation, or the signature pad,
    collected by a member of the clinical team), the clinician or the supervisor (both
    re-enter their password). The first signature locks the version; the last required
    one makes it the active plan."""
    current = (
        PlanVersion.objects.select_for_update()
        .select_related("plan__episode__program", "plan__patient__facility")
        .get(pk=version.pk)
    )
    patient = current.plan.patient
    _require_writer(actor, patient)
    if current.status not in (PlanVersion.Status.DRAFT, PlanVersion.Status.SIGNING):
        raise ValidationError(
            f"Version {current.number} is {current.get_status_display().lower()}; "
            "only a version waiting for signatures can be signed."
        )
    if not current.plan.episode.is_open:
        raise ValidationError("The episode is discharged; its plan can no longer be signed.")
    if role not in Signature.Role.values:
        raise ValidationError({"role": "Sign as the patient, the clinician or the supervisor."})
    if current.signatures.filter(role=role).exists():
        raise ValidationError({"role": f"The {role} has already signed this version."})
    blocking = sign_problems(current)
    if blocking:
        raise ValidationError(
            {"__all__": ["Finish the plan before anyone signs it.", *blocking.values()]}
        )
    method = Signature.Method.PASSWORD
    typed = ""
    if role == Signature.Role.CLINICIAN:
        if not actor.can("plans.sign_as_clinician"):
            raise PermissionDenied(
                "Your role does not sign plans as the clinician; a clinician or supervisor does."
            )
        _check_password(actor, password)
    elif role == Signature.Role.SUPERVISOR:
        if not actor.can("plans.sign_as_supervisor"):
            raise PermissionDenied("Only a clinical supervisor or the clinical director co-signs.")
        _check_password(actor, password)
        clinician = _clinician_signature(current)
        if clinician is not None and clinician.signed_by_id == actor.pk:
            raise ValidationError(
                {"role": "A supervisor co-signs someone else's plan, not their own."}
            )
    else:
        image = image.strip()
        typed = " ".join(typed_name.split())
        if image:
            if len(image) > MAX_SIGNATURE_IMAGE or not _DATA_URL.match(image):
                raise ValidationError(
                    {"image": "The signature pad sent something that is not a signature."}
                )
            method = Signature.Method.PAD
        elif typed:
            names = [
                f"{patient.first_name} {patient.last_name}",
                f"{patient.first_name} {patient.middle_name} {patient.last_name}",
                f"{patient.preferred_name} {patient.last_name}",
            ]
            if not rules.typed_name_matches(typed, names):
                raise ValidationError(
                    {"typed_name": "Type the patient's first and last name as in the chart."}
                )
            method = Signature.Method.TYPED
        else:
            raise ValidationError(
                {"typed_name": "The patient signs on the pad or types their name."}
            )
        if not attested:
            raise ValidationError(
                {"attested": "The patient confirms they took part in and agree with this plan."}
            )
    now = timezone.now()
    signature = Signature.objects.create(
        version=current,
        role=role,
        method=method,
        signed_by=actor,
        typed_name=typed,
        attested=attested or role != Signature.Role.PATIENT,
        image=image if method == Signature.Method.PAD else "",
        signed_at=now,
    )
    status_before = current.status
    if current.is_draft:
        current.status = PlanVersion.Status.SIGNING
        current.locked_at = now
    _audit(
        actor,
        AuditEvent.Action.SIGN,
        current,
        current,
        {"status": [status_before, current.status]} if status_before != current.status else None,
        signature=role,
        method=method,
    )
    current.save(update_fields=["status", "locked_at"])
    if not missing_signatures(current):
        _activate(actor=actor, version=current, when=now)
    return signature


def _activate(*, actor: User, version: PlanVersion, when: dt.datetime) -> None:
    plan = TreatmentPlan.objects.select_for_update().get(pk=version.plan_id)
    previous = plan.versions.filter(status=PlanVersion.Status.ACTIVE).first()
    if previous is not None:
        previous.status = PlanVersion.Status.SUPERSEDED
        previous.superseded_at = when
        previous.save(update_fields=["status", "superseded_at"])
    version.status = PlanVersion.Status.ACTIVE
    version.activated_at = when
    version.save(update_fields=["status", "activated_at"])
    episode = version.plan.episode
    if plan.review_due_on is None:
        plan.review_due_on = rules.next_review_due(
            timezone.localdate(when, timezone=version.plan.patient.facility.zone),
            episode.program.plan_review_days,
        )
        plan.review_due_reason = rules.DueReason.SCHEDULED
        plan.save(update_fields=["review_due_on", "review_due_reason"])
    _audit(
        actor,
        AuditEvent.Action.UPDATE,
        version,
        version,
        {"status": [PlanVersion.Status.SIGNING, PlanVersion.Status.ACTIVE]},
        superseded=previous.number if previous else None,
    )


# --- reviews and phase -------------------------------------------------------------------------


@transaction.atomic
def record_review(
    *,
    actor: User,
    plan: TreatmentPlan,
    reviewed_on: dt.date | None,
    decision: str,
    summary: str,
    progress: Iterable[Mapping[str, Any]],
    reason: str = "",
) -> PlanReview:
    """A review of the active plan: progress per objective (its status now, with a note)
    and the decision. The next review falls due ``plan_review_days`` after this one."""
    locked = (
        TreatmentPlan.objects.select_for_update()
        .select_related("episode__program", "patient__facility")
        .get(pk=plan.pk)
    )
    patient = locked.patient
    _require_writer(actor, patient)
    active = locked.versions.filter(status=PlanVersion.Status.ACTIVE).first()
    if active is None:
        raise ValidationError("Only a signed, active plan is reviewed.")
    today = _today(patient)
    errors: dict[str, str | None] = {}
    if reviewed_on is None:
        errors["reviewed_on"] = "Enter the date of the review."
    elif reviewed_on > today:
        errors["reviewed_on"] = "A review cannot be dated in the future."
    elif reviewed_on < locked.episode.admission_date:
        errors["reviewed_on"] = "A review cannot be before the admission."
    if decision not in PlanReview.Decision.values:
        errors["decision"] = "Choose the decision: continue, revise, step down or step up."
    if len(summary.strip()) < 5:
        errors["summary"] = "Summarize the progress in a sentence or two."
    reason = reason or locked.review_due_reason or PlanReview.Reason.SCHEDULED
    if reason not in PlanReview.Reason.values:
        errors["reason"] = "Choose why the plan is reviewed."
    _raise_if(errors)
    assert reviewed_on is not None  # noqa: S101
    objectives = {o.pk: o for o in Objective.objects.filter(goal__problem__version=active)}
    rows: list[tuple[Objective, str, str]] = []
    for n, row in enumerate(progress, start=1):
        objective = objectives.get(_int(row.get("objective")) or 0)
        status = _text(row, "status")
        if objective is None:
            raise ValidationError({f"progress.{n}.objective": "Choose an objective of this plan."})
        if status not in ObjectiveStatus.values:
            raise ValidationError({f"progress.{n}.status": "Choose the objective's status."})
        rows.append((objective, status, _text(row, "note")))
    review = PlanReview.objects.create(
        plan=locked,
        version=active,
        reviewed_on=reviewed_on,
        reason=reason,
        decision=decision,
        summary=summary.strip(),
        reviewed_by=actor,
    )
    ObjectiveProgress.objects.bulk_create(
        ObjectiveProgress(review=review, objective=o, status=s, note=note) for o, s, note in rows
    )
    # An objective's status is progress, not content: the review moves it on the signed
    # version (content stays locked) and each move is in the audit trail.
    status_changes = {}
    for objective, status, _note in rows:
        if objective.status != status:
            status_changes[str(objective.key)] = [objective.status, status]
            objective.status = status
            objective.save(update_fields=["status"])
    locked.last_reviewed_on = reviewed_on
    before_due = locked.review_due_on
    locked.review_due_on = rules.next_review_due(
        reviewed_on, locked.episode.program.plan_review_days
    )
    locked.review_due_reason = rules.DueReason.SCHEDULED
    locked.save(update_fields=["last_reviewed_on", "review_due_on", "review_due_reason"])
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=review,
        section="treatment plan review",
        changes={
            "review_due_on": [_iso(before_due), _iso(locked.review_due_on)],
            **{f"objective.{k}": v for k, v in status_changes.items()},
        },
        detail={"decision": decision, "version": active.number},
    )
    return review


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def mark_review_due(
    *, actor: User | None, plan: TreatmentPlan, on: dt.date, reason: str
) -> TreatmentPlan:
    """A change (phase, level of care) makes a review due on its day, unless one is due
    already earlier."""
    due = rules.due_after_change(plan.review_due_on, on)
    if due != plan.review_due_on:
        before = plan.review_due_on
        plan.review_due_on = due
        plan.review_due_reason = reason
        plan.save(update_fields=["review_due_on", "review_due_reason"])
        record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            patient=plan.patient,
            obj=plan,
            section="treatment plan",
            changes={"review_due_on": [_iso(before), _iso(due)]},
            detail={"reason": reason},
        )
    return plan


@transaction.atomic
def change_phase(
    *,
    actor: User,
    episode: EpisodeOfCare,
    phase: Phase | None,
    changed_on: dt.date | None,
    reason: str,
) -> PhaseChange:
    """Move the person to another phase; their plan becomes due for review that day."""
    change = admissions_services.change_phase(
        actor=actor, episode=episode, phase=phase, changed_on=changed_on, reason=reason
    )
    plan = TreatmentPlan.objects.select_for_update().filter(episode=episode).first()
    if plan is not None and plan.versions.filter(status=PlanVersion.Status.ACTIVE).exists():
        mark_review_due(
            actor=actor, plan=plan, on=change.changed_on, reason=rules.DueReason.PHASE_CHANGED
        )
    return change


# --- the golden thread -------------------------------------------------------------------------


def link_service(
    *,
    actor: User | None,
    objective: Objective,
    service_kind: str,
    service_date: dt.date,
    target: models.Model | None = None,
    label: str = "",
) -> ObjectiveLink:
    """Record that a service worked on an objective (documentation calls this when a note
    or a session names its objectives)."""
    if service_kind not in ObjectiveLink.ServiceKind.values:
        raise ValidationError({"service_kind": "Choose the kind of service."})
    version = objective.goal.problem.version
    if version.status == PlanVersion.Status.DRAFT:
        raise ValidationError({"objective": "Link services to a signed plan's objectives."})
    return ObjectiveLink.objects.create(
        objective=objective,
        objective_key=objective.key,
        patient_id=version.plan.patient_id,
        service_kind=service_kind,
        service_date=service_date,
        content_type=ContentType.objects.get_for_model(target) if target is not None else None,
        object_id=str(target.pk) if target is not None else "",
        label=label[:200],
        created_by=actor,
    )


# --- relapse-prevention plan -------------------------------------------------------------------


@transaction.atomic
def save_relapse_prevention(
    *,
    actor: User,
    episode: EpisodeOfCare,
    data: Mapping[str, Any],
    contacts: Iterable[SupportContact | int] | None = None,
) -> RelapsePreventionPlan:
    """The person's relapse-prevention plan (one per episode, every change kept)."""
    patient = episode.patient
    _require_writer(actor, patient)
    if not episode.is_open:
        raise ValidationError("The episode is discharged; its plan can no longer change.")
    plan, created = RelapsePreventionPlan.objects.select_for_update().get_or_create(
        episode=episode, defaults={"patient": patient, "updated_by": actor}
    )
    before = snapshot(plan, RELAPSE_FIELDS)
    before_contacts = sorted(plan.support_contacts.values_list("pk", flat=True))
    for name in RELAPSE_FIELDS:
        if name in data:
            setattr(plan, name, _text(data, name))
    if not plan.crisis_resources.strip():
        plan.crisis_resources = rules.CRISIS_RESOURCES
    if rules.CRISIS_LINE not in plan.crisis_resources:
        raise ValidationError(
            {"crisis_resources": "Keep the 988 Suicide & Crisis Lifeline on the card."}
        )
    if not any(getattr(plan, n).strip() for n in RELAPSE_FIELDS if n != "crisis_resources"):
        raise ValidationError(
            "Write at least the triggers, warning signs or coping strategies before saving."
        )
    plan.updated_at = timezone.now()
    plan.updated_by = actor
    plan.save()
    if contacts is not None:
        ids = {c.pk if isinstance(c, SupportContact) else int(c) for c in contacts}
        found = set(
            SupportContact.objects.filter(patient=patient, pk__in=ids).values_list("pk", flat=True)
        )
        if found != ids:
            raise ValidationError(
                {"support_contacts": "Choose people from this patient's support system."}
            )
        plan.support_contacts.set(found)
    changes = diff(before, snapshot(plan, RELAPSE_FIELDS))
    after_contacts = sorted(plan.support_contacts.values_list("pk", flat=True))
    if after_contacts != before_contacts:
        changes["support_contacts"] = [before_contacts, after_contacts]
    if created or changes:
        record(
            actor=actor,
            action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
            patient=patient,
            obj=plan,
            section="relapse-prevention plan",
            changes=changes,
        )
    return plan


# --- the library -------------------------------------------------------------------------------


def _require_library_editor(actor: User, organization: Organization) -> None:
    if not actor.can("plans.change_libraryproblem"):
        raise PermissionDenied("Only the clinical director or an administrator edits the library.")
    if actor.organization_id != organization.pk:
        raise PermissionDenied("That library belongs to another organization.")


def _install_entry(organization: Organization, entry: library.Entry, order: int) -> None:
    problem = LibraryProblem.objects.create(
        organization=organization,
        category=entry["category"],
        title=entry["title"],
        statement=entry["statement"],
        asam_dimensions=entry["dimensions"],
        order=order,
    )
    LibraryGoal.objects.create(
        problem=problem, own_words_example=entry["own_words_example"], clinical=entry["clinical"]
    )
    LibraryObjective.objects.bulk_create(
        LibraryObjective(problem=problem, text=text, target_weeks=weeks)
        for text, weeks in entry["objectives"]
    )
    LibraryIntervention.objects.bulk_create(
        LibraryIntervention(problem=problem, **i) for i in entry["interventions"]
    )


def install_default_library(organization: Organization) -> int:
    """Copy the standard library into an organization that has none (idempotent)."""
    if LibraryProblem.objects.filter(organization=organization).exists():
        return 0
    for order, entry in enumerate(library.DEFAULT_LIBRARY, start=1):
        _install_entry(organization, entry, order)
    return len(library.DEFAULT_LIBRARY)


@transaction.atomic
def save_library_problem(
    *,
    actor: User,
    organization: Organization,
    data: Mapping[str, Any],
    objectives: Sequence[Mapping[str, Any]],
    interventions: Sequence[Mapping[str, Any]],
    entry: LibraryProblem | None = None,
) -> LibraryProblem:
    """Add or change a library entry with its goal, objectives and interventions (the
    lists replace the entry's current ones)."""
    _require_library_editor(actor, organization)
    errors: dict[str, str | None] = {}
    title = _text(data, "title")
    statement = _text(data, "statement")
    category = _text(data, "category")
    if not title:
        errors["title"] = "Give the entry a short title."
    elif (
        LibraryProblem.objects.filter(organization=organization, title__iexact=title)
        .exclude(pk=entry.pk if entry else 0)
        .exists()
    ):
        errors["title"] = "The library already has an entry with this title."
    if not statement:
        errors["statement"] = "Describe the problem."
    if category not in Category.values:
        errors["category"] = "Choose a category."
    if not _text(data, "own_words_example"):
        errors["own_words_example"] = "Give an example of the goal in a patient's words."
    kept_objectives = [o for o in objectives if _text(o, "text")]
    if not kept_objectives:
        errors["objectives"] = "Add at least one objective."
    for n, row in enumerate(kept_objectives, start=1):
        weeks = _int(row.get("target_weeks"))
        if weeks is None or not 1 <= weeks <= 104:
            errors[f"objectives.{n}.target_weeks"] = f"Objective {n}: weeks from 1 to 104."
    kept_interventions = [i for i in interventions if _text(i, "modality")]
    for n, row in enumerate(kept_interventions, start=1):
        if _text(row, "modality") not in Modality.values:
            errors[f"interventions.{n}.modality"] = f"Intervention {n}: choose the kind."
        if not _text(row, "frequency"):
            errors[f"interventions.{n}.frequency"] = f"Intervention {n}: say how often."
    dimensions = ""
    try:
        dimensions = _clean_dimensions(data.get("asam_dimensions"))
    except ValidationError:
        errors["asam_dimensions"] = "ASAM dimensions are numbers 1 to 6."
    _raise_if(errors)
    before = _library_snapshot(entry) if entry else None
    if entry is None:
        entry = LibraryProblem(organization=organization)
        entry.order = _next_order(LibraryProblem.objects.filter(organization=organization))
    entry.title = title
    entry.statement = statement
    entry.category = category
    entry.asam_dimensions = dimensions
    entry.is_active = bool(data.get("is_active", True))
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"title": "The library already has an entry with this title."}
        ) from exc
    entry.goals.all().delete()
    entry.objectives.all().delete()
    entry.interventions.all().delete()
    LibraryGoal.objects.create(
        problem=entry,
        own_words_example=_text(data, "own_words_example"),
        clinical=_text(data, "clinical"),
    )
    LibraryObjective.objects.bulk_create(
        LibraryObjective(problem=entry, text=_text(o, "text"), target_weeks=int(o["target_weeks"]))
        for o in kept_objectives
    )
    LibraryIntervention.objects.bulk_create(
        LibraryIntervention(
            problem=entry,
            modality=_text(i, "modality"),
            description=_text(i, "description"),
            frequency=_text(i, "frequency"),
        )
        for i in kept_interventions
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE if before is None else AuditEvent.Action.UPDATE,
        obj=entry,
        section="plan library",
        changes=diff(before or {}, _library_snapshot(entry)),
    )
    return entry


def _library_snapshot(entry: LibraryProblem) -> dict[str, Any]:
    values = snapshot(entry, ("title", "statement", "category", "asam_dimensions", "is_active"))
    goal = entry.goals.first()
    values["goal"] = [goal.own_words_example, goal.clinical] if goal else None
    values["objectives"] = [[o.text, o.target_weeks] for o in entry.objectives.all()]
    values["interventions"] = [
        [i.modality, i.description, i.frequency] for i in entry.interventions.all()
    ]
    return values


@transaction.atomic
def restore_default_library(*, actor: User, organization: Organization) -> int:
    """Put the standard entries back (the organization's own entries stay; a standard
    entry it edited keeps the edits)."""
    _require_library_editor(actor, organization)
    have = set(
        LibraryProblem.objects.filter(organization=organization).values_list("title", flat=True)
    )
    added = 0
    start = _next_order(LibraryProblem.objects.filter(organization=organization))
    for entry in library.DEFAULT_LIBRARY:
        if entry["title"] in have:
            continue
        _install_entry(organization, entry, start + added)
        added += 1
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        section="plan library",
        detail={"restored": added, "organization": organization.pk},
    )
    return added
