"""Every write of an assessment goes through these functions, each checked and audited.

Drafts change freely; signing (password re-entered) locks an assessment and later
information goes into addenda. When a patient has both a signed ASAM and a signed
biopsychosocial assessment, their help request (if any) moves to "assessed".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import Organization, User
from openiop.assessments import icd10, rules, selectors
from openiop.assessments.models import (
    Addendum,
    AsamAssessment,
    AsamRule,
    Biopsychosocial,
    Diagnosis,
    Status,
    SubstanceUse,
)
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, snapshot
from openiop.core import teds
from openiop.intake import services as intake_services
from openiop.patients.models import Patient
from openiop.patients.rules import age_on

LOCKED_MESSAGE = "Signed assessments are locked; add an addendum instead."
WRONG_PASSWORD = "That is not your password. Sign with your own password."  # noqa: S105


class AssessmentLocked(ValidationError):
    """An edit of a signed assessment (the API answers 409 Conflict)."""

    def __init__(self) -> None:
        super().__init__(LOCKED_MESSAGE, code="locked")


RATING_FIELDS = tuple(f"d{d}_rating" for d in rules.DIMENSIONS)
RATIONALE_FIELDS = tuple(f"d{d}_rationale" for d in rules.DIMENSIONS)
ASAM_FIELDS = (*RATING_FIELDS, *RATIONALE_FIELDS, "final_level", "override_reason")
ASAM_AUDITED = (
    *ASAM_FIELDS,
    "recommendation",
    "recommendation_reason",
    "table_version",
    "status",
)

# The biopsychosocial assessment's sections and the fields each saves (rows apart).
BPS_SECTIONS: dict[str, tuple[str, ...]] = {
    "substance_use": ("no_substance_use_reported", "substance_use_notes"),
    "prior_treatment": (
        "prior_treatment_episodes",
        "prior_treatment_kinds",
        "prior_treatment_notes",
    ),
    "mental_health": ("mental_health_history", "current_symptoms", "current_symptoms_notes"),
    "medical": (
        "medical_conditions",
        "medications",
        "allergies",
        "bp_systolic",
        "bp_diastolic",
        "pulse",
        "respirations",
        "temperature_f",
        "weight_lb",
        "height_in",
        "pregnancy",
    ),
    "diagnoses": (),
    "trauma": ("trauma_history",),
    "legal": ("legal",),
    "work_school": ("work_school",),
    "housing": ("housing",),
    "family_support": ("family_support",),
    "strengths": ("strengths",),
    "groups": ("group_preferences", "group_preferences_notes"),
    "goals": ("goals_own_words",),
}
BPS_FIELDS = tuple(f for fields in BPS_SECTIONS.values() for f in fields)
_BOOL_FIELDS = {"no_substance_use_reported"}
_LIST_FIELDS = {
    "prior_treatment_kinds": rules.PRIOR_TREATMENT_KINDS,
    "current_symptoms": rules.CURRENT_SYMPTOMS,
    "group_preferences": rules.GROUP_PREFERENCES,
}
_INT_FIELDS = {"prior_treatment_episodes", "bp_systolic", "bp_diastolic", "pulse", "respirations"}
_DECIMAL_FIELDS = {"temperature_f": 1, "weight_lb": 1, "height_in": 1}
SUBSTANCE_FIELDS = ("rank", "substance", "route", "frequency", "age_first_use", "last_use", "notes")
DIAGNOSIS_FIELDS = ("code", "description", "not_in_list", "is_primary", "is_substance_use")


def _require_writer(actor: User) -> None:
    selectors.require_writer(actor)


def _today(patient: Patient) -> dt.date:
    return timezone.localdate(timezone=patient.facility.zone)


# ---------------------------------------------------------------------------------------
# ASAM


def _clean_asam(values: Mapping[str, Any], *, table: selectors.TableInUse) -> dict[str, Any]:
    """Check every field together so the clinician sees every problem at once."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    ratings: dict[int, int] = {}
    for d in rules.DIMENSIONS:
        raw = values.get(f"d{d}_rating")
        problem = rules.rating_error(d, raw)
        if problem:
            errors[f"d{d}_rating"] = problem
        else:
            ratings[d] = int(str(raw))
            cleaned[f"d{d}_rating"] = ratings[d]
        rationale = str(values.get(f"d{d}_rationale") or "").strip()
        if not rationale:
            errors[f"d{d}_rationale"] = (
                f"Write why you rated dimension {d} this way (what the person told you, "
                "what you observed)."
            )
        cleaned[f"d{d}_rationale"] = rationale
    final_level = str(values.get("final_level") or "").strip()
    if final_level and final_level not in rules.FINAL_LEVELS:
        errors["final_level"] = "Choose a level of care from the list."
    cleaned["final_level"] = final_level
    cleaned["override_reason"] = str(values.get("override_reason") or "").strip()
    if len(ratings) == len(rules.DIMENSIONS):
        recommendation = rules.recommend_level(ratings, table.rules)
        cleaned["recommendation"] = recommendation.code
        cleaned["recommendation_reason"] = recommendation.reason[:200]
        cleaned["table_version"] = table.version
        if (
            "final_level" not in errors
            and rules.needs_override_reason(recommendation.code, final_level)
            and not cleaned["override_reason"]
        ):
            errors["override_reason"] = (
                f"The final level ({final_level}) differs from the recommendation "
                f"({recommendation.label}). Write the reason for the override."
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def create_asam(*, actor: User, patient: Patient, data: Mapping[str, Any]) -> AsamAssessment:
    """A draft ASAM assessment; its recommendation comes from the organization's table."""
    _require_writer(actor)
    cleaned = _clean_asam(data, table=selectors.table_for_patient(patient))
    now = timezone.now()
    assessment = AsamAssessment.objects.create(
        patient=patient, created_by=actor, created_at=now, updated_at=now, **cleaned
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=assessment,
        section="ASAM assessment",
        changes={k: [None, v] for k, v in snapshot(assessment, ASAM_AUDITED).items()},
    )
    return assessment


def _locked_asam(assessment: AsamAssessment) -> AsamAssessment:
    """The row again, locked for this transaction, refused when it is already signed."""
    fresh = AsamAssessment.objects.select_for_update().get(pk=assessment.pk)
    if fresh.is_signed:
        raise AssessmentLocked
    fresh.patient = assessment.patient
    return fresh


@transaction.atomic
def update_asam(
    *, actor: User, assessment: AsamAssessment, data: Mapping[str, Any]
) -> AsamAssessment:
    """Change a draft; fields left out keep their values. The recommendation is recomputed."""
    _require_writer(actor)
    current = _locked_asam(assessment)
    merged = {name: getattr(current, name) for name in ASAM_FIELDS}
    merged.update({k: v for k, v in data.items() if k in ASAM_FIELDS})
    cleaned = _clean_asam(merged, table=selectors.table_for_patient(current.patient))
    before = snapshot(current, ASAM_AUDITED)
    for name, value in cleaned.items():
        setattr(current, name, value)
    current.updated_at = timezone.now()
    current.save()
    changes = diff(before, snapshot(current, ASAM_AUDITED))
    if changes:
        record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            patient=current.patient,
            obj=current,
            section="ASAM assessment",
            changes=changes,
        )
    return current


def _check_password(actor: User, password: str) -> None:
    if not password or not actor.check_password(password):
        raise ValidationError({"password": WRONG_PASSWORD})


@transaction.atomic
def sign_asam(*, actor: User, assessment: AsamAssessment, password: str) -> AsamAssessment:
    """Sign and lock. Needs a final level (and the override reason when it differs)."""
    _require_writer(actor)
    current = _locked_asam(assessment)
    _check_password(actor, password)
    problems: dict[str, str] = {}
    if not current.final_level:
        problems["final_level"] = "Choose the final level of care before signing."
    elif (
        rules.needs_override_reason(current.recommendation, current.final_level)
        and not current.override_reason.strip()
    ):
        problems["override_reason"] = "Write the reason for the override before signing."
    if problems:
        raise ValidationError(problems)
    return _sign(actor=actor, assessment=current, section="ASAM assessment")


def _sign(*, actor: User, assessment: AsamAssessment | Biopsychosocial, section: str) -> Any:
    now = timezone.now()
    assessment.status = Status.SIGNED
    assessment.signed_by = actor
    assessment.signed_at = now
    assessment.updated_at = now
    assessment.save(update_fields=["status", "signed_by", "signed_at", "updated_at"])
    record(
        actor=actor,
        action=AuditEvent.Action.SIGN,
        patient=assessment.patient,
        obj=assessment,
        section=section,
        changes={"status": [Status.DRAFT, Status.SIGNED]},
    )
    if selectors.both_signed(assessment.patient):
        _advance_intake(actor=actor, patient=assessment.patient)
    return assessment


def _advance_intake(*, actor: User, patient: Patient) -> None:
    """Move the patient's help request to "assessed" (nothing when there is none)."""
    intake_services.advance_for_patient(actor=actor, patient=patient, stage="assessed")


@transaction.atomic
def add_addendum(
    *, actor: User, assessment: AsamAssessment | Biopsychosocial, text: str
) -> Addendum:
    """Information that came after signing; the signed text itself never changes."""
    _require_writer(actor)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the addendum before saving it."})
    if not assessment.is_signed:
        raise ValidationError(
            {"text": "This assessment is still a draft: change it directly, then sign it."}
        )
    is_asam = isinstance(assessment, AsamAssessment)
    addendum = Addendum(text=text, author=actor)
    if isinstance(assessment, AsamAssessment):
        addendum.asam = assessment
    else:
        addendum.biopsychosocial = assessment
    addendum.save()
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=assessment.patient,
        obj=addendum,
        section="ASAM addendum" if is_asam else "biopsychosocial addendum",
        changes={"text": [None, text]},
        detail={"assessment": assessment.pk},
    )
    return addendum


# ---------------------------------------------------------------------------------------
# Biopsychosocial


@transaction.atomic
def create_biopsychosocial(*, actor: User, patient: Patient) -> Biopsychosocial:
    """An empty draft; sections are filled and saved as the interview goes."""
    _require_writer(actor)
    now = timezone.now()
    assessment = Biopsychosocial.objects.create(
        patient=patient, created_by=actor, created_at=now, updated_at=now
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=assessment,
        section="biopsychosocial assessment",
        changes={"status": [None, Status.DRAFT]},
    )
    return assessment


def _as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    return int(str(value))


def _clean_bps(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in values.items():
        if name not in BPS_FIELDS:
            continue
        if name in _BOOL_FIELDS:
            cleaned[name] = bool(value)
        elif name in _LIST_FIELDS:
            items = [str(v) for v in (value or [])]
            unknown = rules.unknown_keys(items, _LIST_FIELDS[name])
            if unknown:
                errors[name] = f"Choose from the list ({', '.join(unknown)} is not on it)."
            cleaned[name] = [key for key in _LIST_FIELDS[name] if key in items]
        elif name in _INT_FIELDS:
            try:
                cleaned[name] = _as_int(value)
            except (TypeError, ValueError):
                errors[name] = "Enter a whole number."
        elif name in _DECIMAL_FIELDS:
            try:
                cleaned[name] = (
                    None if value in (None, "") else Decimal(str(value)).quantize(Decimal("0.1"))
                )
            except (InvalidOperation, ValueError):
                errors[name] = "Enter a number."
        elif name == "pregnancy":
            if value and value not in Biopsychosocial.Pregnancy.values:
                errors[name] = "Choose an answer from the list."
            cleaned[name] = value or ""
        else:
            cleaned[name] = str(value or "").strip()
    episodes = cleaned.get("prior_treatment_episodes")
    if episodes is not None and "prior_treatment_episodes" not in errors and not 0 <= episodes <= 5:
        errors["prior_treatment_episodes"] = "Choose 0 to 5 (5 means five or more)."
    vitals = {k: v for k, v in cleaned.items() if k in rules.VITAL_RANGES}
    for name, message in rules.vital_sign_errors(vitals).items():
        if name in values:
            errors.setdefault(name, message)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _teds_code(
    row: Mapping[str, Any], name: str, choices: type[Any], problems: list[str]
) -> int | None:
    try:
        value = _as_int(row.get(name))
    except (TypeError, ValueError):
        value = -1
    if value is not None and value not in choices.values:
        problems.append(f"choose the {name} from the TEDS list")
        return None
    return value


def _clean_substance_rows(
    rows: Sequence[Mapping[str, Any]], *, patient: Patient
) -> list[dict[str, Any]]:
    today = _today(patient)
    age_now = age_on(patient.date_of_birth, today)
    messages: list[str] = []
    cleaned: list[dict[str, Any]] = []
    seen_substances: set[int] = set()
    for index, row in enumerate(rows, start=1):
        problems: list[str] = []
        try:
            rank = _as_int(row.get("rank")) or index
        except (TypeError, ValueError):
            rank = index
        where = SubstanceUse.Rank(rank).label if rank in (1, 2, 3) else f"Row {index}"
        if rank not in (1, 2, 3):
            problems.append("rank must be 1 (primary), 2 (secondary) or 3 (tertiary)")

        substance = _teds_code(row, "substance", teds.Substance, problems)
        route = _teds_code(row, "route", teds.Route, problems)
        frequency = _teds_code(row, "frequency", teds.Frequency, problems)
        if substance is None and not any(p.startswith("choose the substance") for p in problems):
            problems.append("choose the substance")
        elif substance == teds.Substance.NONE:
            problems.append("“None” is not a substance: tick “no substance use reported” instead")
        elif substance is not None and substance in seen_substances:
            problems.append(f"{teds.Substance(substance).label} is listed twice")
        if substance is not None:
            seen_substances.add(substance)
        try:
            age = _as_int(row.get("age_first_use"))
        except (TypeError, ValueError):
            age = None
            problems.append("age at first use must be a whole number")
        if age is not None and not 0 <= age <= rules.AGE_FIRST_USE_MAX:
            problems.append("age at first use must be 0 to 100")
        elif age is not None and age > age_now:
            problems.append(f"age at first use ({age}) is older than the person is now")
        last_use = row.get("last_use") or None
        if isinstance(last_use, str):
            try:
                last_use = dt.date.fromisoformat(last_use)
            except ValueError:
                problems.append("last use must be a date (YYYY-MM-DD)")
                last_use = None
        if isinstance(last_use, dt.date):
            if last_use > today:
                problems.append("last use cannot be in the future")
            elif last_use < patient.date_of_birth:
                problems.append("last use is before the person's date of birth")
        if problems:
            messages.append(f"{where}: {'; '.join(problems)}.")
        cleaned.append(
            {
                "rank": rank,
                "substance": substance,
                "route": route,
                "frequency": frequency,
                "age_first_use": age,
                "last_use": last_use,
                "notes": str(row.get("notes") or "").strip()[:300],
            }
        )
    ranks = sorted(r["rank"] for r in cleaned)
    if len(set(ranks)) != len(ranks):
        messages.append("Each rank (primary, secondary, tertiary) can be used once.")
    elif ranks and ranks != list(range(1, len(ranks) + 1)):
        messages.append(
            "Record the primary substance first, then the secondary, then the tertiary."
        )
    if len(cleaned) > 3:
        messages.append("Record at most three substances (primary, secondary, tertiary).")
    if messages:
        raise ValidationError({"substance_uses": messages})
    return cleaned


def _clean_diagnosis_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    messages: list[str] = []
    cleaned: list[dict[str, Any]] = []
    codes: set[str] = set()
    for index, row in enumerate(rows, start=1):
        raw = str(row.get("code") or "")
        try:
            code = rules.normalize_icd10(raw)
        except rules.CodeFormatError as exc:
            messages.append(f"Diagnosis {index}: {exc}")
            continue
        if code in codes:
            messages.append(f"Diagnosis {index}: {code} is listed twice.")
            continue
        codes.add(code)
        known = icd10.lookup(code)
        typed = str(row.get("description") or "").strip()
        if known is None and not typed:
            messages.append(
                f"Diagnosis {index}: {code} is not in the shipped list of F and common Z codes. "
                "Check the code, or type its description to record it anyway."
            )
            continue
        cleaned.append(
            {
                "code": code,
                "description": known.description if known else typed[:300],
                "not_in_list": known is None,
                "is_primary": bool(row.get("is_primary")),
                "is_substance_use": rules.is_substance_use_code(code),
            }
        )
    if sum(1 for r in cleaned if r["is_primary"]) > 1:
        messages.append("Mark one diagnosis as primary, not several.")
    if messages:
        raise ValidationError({"diagnoses": messages})
    return cleaned


def _rows_snapshot(assessment: Biopsychosocial) -> dict[str, Any]:
    return {
        "substance_uses": [
            snapshot(r, SUBSTANCE_FIELDS) for r in assessment.substance_uses.order_by("rank")
        ],
        "diagnoses": [snapshot(r, DIAGNOSIS_FIELDS) for r in assessment.diagnoses.all()],
    }


def _locked_bps(assessment: Biopsychosocial) -> Biopsychosocial:
    fresh = Biopsychosocial.objects.select_for_update().get(pk=assessment.pk)
    if fresh.is_signed:
        raise AssessmentLocked
    fresh.patient = assessment.patient
    return fresh


@transaction.atomic
def save_biopsychosocial(
    *,
    actor: User,
    assessment: Biopsychosocial,
    data: Mapping[str, Any],
    substance_uses: Sequence[Mapping[str, Any]] | None = None,
    diagnoses: Sequence[Mapping[str, Any]] | None = None,
    section: str = "",
) -> Biopsychosocial:
    """Save part of a draft: the fields given (one section, or any subset from the API) and,
    when given, the substance-use and diagnosis rows (replaced as a whole).

    Every problem is reported together and nothing of this save is written when one exists;
    what was saved before stays.
    """
    _require_writer(actor)
    current = _locked_bps(assessment)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    substance_rows: list[dict[str, Any]] | None = None
    diagnosis_rows: list[dict[str, Any]] | None = None
    try:
        cleaned = _clean_bps(data)
    except ValidationError as error:
        errors.update(error.message_dict)
    if substance_uses is not None:
        try:
            substance_rows = _clean_substance_rows(substance_uses, patient=current.patient)
        except ValidationError as error:
            errors.update(error.message_dict)
    if diagnoses is not None:
        try:
            diagnosis_rows = _clean_diagnosis_rows(diagnoses)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    fields = list(cleaned)
    before = {**snapshot(current, fields), **_rows_snapshot(current)}
    for name, value in cleaned.items():
        setattr(current, name, value)
    current.updated_at = timezone.now()
    current.save(update_fields=[*fields, "updated_at"])
    if substance_rows is not None:
        current.substance_uses.all().delete()
        SubstanceUse.objects.bulk_create(
            SubstanceUse(assessment=current, **row) for row in substance_rows
        )
    if diagnosis_rows is not None:
        current.diagnoses.all().delete()
        Diagnosis.objects.bulk_create(
            Diagnosis(assessment=current, order=i, **row) for i, row in enumerate(diagnosis_rows)
        )
    after = {**snapshot(current, fields), **_rows_snapshot(current)}
    changes = diff(before, after)
    if changes:
        record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            patient=current.patient,
            obj=current,
            section="biopsychosocial assessment",
            changes=changes,
            detail={"section": section} if section else None,
        )
    return current


def biopsychosocial_sign_problems(assessment: Biopsychosocial) -> dict[str, str]:
    """What still stands between a draft and its signature, field by field."""
    problems: dict[str, str] = {}
    if not assessment.goals_own_words.strip():
        problems["goals_own_words"] = "Write the person's goals in their own words before signing."
    rows = list(assessment.substance_uses.all())
    if not rows and not assessment.no_substance_use_reported:
        problems["substance_uses"] = (
            "Record at least one substance, or tick “no substance use reported”."
        )
    elif rows and assessment.no_substance_use_reported:
        problems["substance_uses"] = (
            "Substances are listed but “no substance use reported” is ticked. Untick one."
        )
    incomplete = [
        SubstanceUse.Rank(r.rank).label.lower()
        for r in rows
        if r.route is None or r.frequency is None
    ]
    if incomplete:
        problems.setdefault(
            "substance_uses",
            f"Give the route and the frequency of the {', '.join(incomplete)} substance.",
        )
    return problems


@transaction.atomic
def sign_biopsychosocial(
    *, actor: User, assessment: Biopsychosocial, password: str
) -> Biopsychosocial:
    _require_writer(actor)
    current = _locked_bps(assessment)
    _check_password(actor, password)
    problems = biopsychosocial_sign_problems(current)
    if problems:
        raise ValidationError(problems)
    return _sign(actor=actor, assessment=current, section="biopsychosocial assessment")


# ---------------------------------------------------------------------------------------
# The organization's level-of-care table


def _rule_from(row: Mapping[str, Any]) -> rules.Rule:
    raw_dimensions = row.get("dimensions") or []
    try:
        dimensions = tuple(sorted(int(d) for d in raw_dimensions))
    except (TypeError, ValueError):
        dimensions = (0,)
    try:
        at_least = int(row.get("at_least") or 0)
    except (TypeError, ValueError):
        at_least = -1
    match = str(row.get("match") or "")
    return rules.Rule(
        dimensions=() if match == rules.OTHERWISE else dimensions,
        match=match,
        at_least=0 if match == rules.OTHERWISE else at_least,
        recommendation=str(row.get("recommendation") or ""),
        label=str(row.get("label") or "").strip()[:120],
    )


def _table_snapshot(organization: Organization) -> list[dict[str, Any]]:
    return [
        snapshot(r, ("order", "dimensions", "match", "at_least", "recommendation", "label"))
        for r in selectors.asam_rules_of(organization)
    ]


@transaction.atomic
def save_asam_table(
    *, actor: User, organization: Organization, rows: Sequence[Mapping[str, Any]]
) -> list[AsamRule]:
    """Replace the organization's table; the whole table is checked (last row “otherwise”)."""
    if not actor.can("assessments.change_asamrule"):
        raise PermissionDenied("Only the clinical director or an administrator changes the table.")
    if actor.organization_id != organization.pk:
        raise PermissionDenied("You can change only your own organization's table.")
    table = [_rule_from(row) for row in rows]
    problems = rules.table_errors(table)
    if problems:
        raise ValidationError({"rules": problems})
    before = _table_snapshot(organization)
    AsamRule.objects.filter(organization=organization).delete()
    created = AsamRule.objects.bulk_create(
        AsamRule(
            organization=organization,
            order=position,
            dimensions=list(rule.dimensions),
            match=rule.match,
            at_least=rule.at_least,
            recommendation=rule.recommendation,
            label=rule.label,
        )
        for position, rule in enumerate(table, start=1)
    )
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        section="ASAM level-of-care table",
        changes={"rules": [before, _table_snapshot(organization)]},
        detail={"organization": organization.pk, "version": rules.table_fingerprint(table)},
    )
    return created


@transaction.atomic
def reset_asam_table(*, actor: User, organization: Organization) -> None:
    """Back to SPEC §5's default table."""
    if not actor.can("assessments.change_asamrule"):
        raise PermissionDenied("Only the clinical director or an administrator changes the table.")
    if actor.organization_id != organization.pk:
        raise PermissionDenied("You can change only your own organization's table.")
    before = _table_snapshot(organization)
    AsamRule.objects.filter(organization=organization).delete()
    record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        section="ASAM level-of-care table",
        changes={"rules": [before, []]},
        detail={"organization": organization.pk, "reset_to": "default"},
    )
