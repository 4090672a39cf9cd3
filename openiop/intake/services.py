"""Every write of an inquiry or a screening goes through these functions, each audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.accounts.selectors import staff_with_roles
from openiop.audit.models import AuditEvent
from openiop.audit.services import diff, record, snapshot
from openiop.core import teds
from openiop.intake import rules
from openiop.intake.models import (
    ContactAttempt,
    Inquiry,
    InquiryStageChange,
    Screening,
    Stage,
)
from openiop.intake.selectors import SECTION, owner_choices
from openiop.notifications.services import notify
from openiop.patients import services as patient_services
from openiop.patients.alerts import default_recipients, raise_alert
from openiop.patients.models import ClinicalAlert, Patient
from openiop.patients.selectors import visible_patients

# What the public form (and the API's public create) may set.
PUBLIC_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "email",
    "who_needs_help",
    "person_name",
    "concern_substances",
    "concern_mental_health",
    "insurance_payer",
    "insurance_member_id",
    "best_time_to_call",
    "consent_to_contact",
    "message",
)
# What staff may set when they log an inquiry or correct one.
STAFF_FIELDS = (*PUBLIC_FIELDS, "source", "referred_by", "referral_source")
AUDITED_FIELDS = (
    *STAFF_FIELDS,
    "facility_id",
    "stage",
    "referred_to",
    "not_admitted_reason",
    "owner_id",
    "next_follow_up",
    "assessment_scheduled_for",
    "patient_id",
)
NEW_HELP_REQUEST = "New help request received (web form)"
SCREENING_FIELDS = (
    "withdrawal_instrument",
    "withdrawal_score",
    "cssrs_answers",
    "cssrs_band",
    "living_situation",
    "has_support_system",
    "support_who",
    "motivation",
    "track",
    "needs_24h_supervision",
    "unstable",
    "recent_stay",
    "recent_stay_level",
    "recommended_outcome",
    "recommendation_reasons",
    "urgent",
    "next_step",
    "outcome",
    "override_reason",
    "notes",
)


def _audit(
    *,
    actor: User | None,
    action: str,
    inquiry: Inquiry,
    changes: Mapping[str, Any] | None = None,
    obj: Any = None,
    section: str = SECTION,
    detail: Mapping[str, Any] | None = None,
) -> None:
    record(
        actor=actor,
        action=action,
        patient=inquiry.patient_id,
        facility_id=inquiry.facility_id,
        obj=obj if obj is not None else inquiry,
        section=section,
        changes=changes,
        detail=detail,
    )


def _require(actor: User, permission: str, message: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied(message)


def _contact_errors(data: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not str(data.get("first_name", "")).strip():
        errors["first_name"] = "Give a first name so we know whom to ask for."
    if not str(data.get("phone", "")).strip() and not str(data.get("email", "")).strip():
        errors["phone"] = "Give a phone number or an e-mail address so we can reach you."
    return errors


def _clean(data: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    cleaned = {k: v for k, v in data.items() if k in fields}
    for key, value in cleaned.items():
        if isinstance(value, str):
            cleaned[key] = value.strip()
    return cleaned


def _admissions_team(facility: Facility) -> list[User]:
    team = list(staff_with_roles(facility, [Role.ADMISSIONS]))
    return team or list(staff_with_roles(facility, [Role.CLINICAL_DIRECTOR]))


def _link(inquiry: Inquiry) -> str:
    return reverse("intake:detail", args=[inquiry.pk])


@transaction.atomic
def submit_help_request(*, facility: Facility, data: Mapping[str, Any]) -> Inquiry:
    """A help request from the public page or the public API; tells the admissions team.

    The notice and its e-mail say only that a request came in: no name, nothing of the message.
    """
    cleaned = _clean(data, PUBLIC_FIELDS)
    errors = _contact_errors(cleaned)
    if not cleaned.get("consent_to_contact"):
        errors["consent_to_contact"] = "We can only call or write back if you agree to it."
    if not (cleaned.get("concern_substances") or cleaned.get("concern_mental_health")):
        errors["concerns"] = "Choose at least one: alcohol or drugs, or mental health."
    if not facility.is_active:
        errors["facility"] = "Choose one of our locations."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    inquiry = Inquiry.objects.create(
        facility=facility,
        source=Inquiry.Source.WEB_FORM,
        referral_source=teds.ReferralSource.INDIVIDUAL,
        created_at=now,
        stage_changed_at=now,
        **cleaned,
    )
    InquiryStageChange.objects.create(
        inquiry=inquiry, from_stage="", to_stage=Stage.NEW, changed_at=now, note="web form"
    )
    _audit(
        actor=None,
        action=AuditEvent.Action.CREATE,
        inquiry=inquiry,
        changes={k: [None, v] for k, v in snapshot(inquiry, ("source", "facility_id")).items()},
        detail={"channel": "public help request"},
    )
    notify(recipients=_admissions_team(facility), message=NEW_HELP_REQUEST, link=_link(inquiry))
    return inquiry


@transaction.atomic
def log_inquiry(*, actor: User, facility: Facility, data: Mapping[str, Any]) -> Inquiry:
    """An inquiry taken by staff: a phone call, a walk-in or a referral."""
    _require(actor, "intake.work_pipeline", "Your role does not log inquiries.")
    if not owner_choices(facility).filter(pk=actor.pk).exists():
        raise ValidationError({"facility": "Choose one of the facilities you work at."})
    cleaned = _clean(data, STAFF_FIELDS)
    errors = _contact_errors(cleaned)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    inquiry = Inquiry.objects.create(
        facility=facility,
        created_by=actor,
        owner=actor if actor.role == Role.ADMISSIONS else None,
        created_at=now,
        stage_changed_at=now,
        **cleaned,
    )
    InquiryStageChange.objects.create(
        inquiry=inquiry, from_stage="", to_stage=Stage.NEW, changed_by=actor, changed_at=now
    )
    _audit(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        inquiry=inquiry,
        changes={k: [None, v] for k, v in snapshot(inquiry, AUDITED_FIELDS).items()},
    )
    return inquiry


def _locked(inquiry: Inquiry) -> Inquiry:
    return Inquiry.objects.select_for_update().select_related("facility").get(pk=inquiry.pk)


def _move(
    *, actor: User | None, inquiry: Inquiry, target: str, note: str = "", at: dt.datetime
) -> InquiryStageChange:
    """Set the stage and its dates, and keep the history row (the caller audits)."""
    previous = inquiry.stage
    inquiry.stage = target
    inquiry.stage_changed_at = at
    if target == Stage.ADMITTED:
        inquiry.admitted_at = inquiry.admitted_at or at
    elif previous == Stage.ADMITTED:
        inquiry.admitted_at = None
    inquiry.closed_at = at if target in rules.CLOSED else None
    if target != Stage.REFERRED:
        inquiry.referred_to = ""
    if target != Stage.NOT_ADMITTED:
        inquiry.not_admitted_reason = ""
    return InquiryStageChange.objects.create(
        inquiry=inquiry,
        from_stage=previous,
        to_stage=target,
        changed_by=actor,
        changed_at=at,
        note=note[:300],
    )


@transaction.atomic
def change_stage(
    *,
    actor: User,
    inquiry: Inquiry,
    stage: str,
    referred_to: str = "",
    not_admitted_reason: str = "",
    note: str = "",
) -> Inquiry:
    """Move an inquiry to any stage; closed outcomes need their field (to whom, why)."""
    _require(actor, "intake.work_pipeline", "Your role does not move inquiries.")
    locked = _locked(inquiry)
    errors = rules.stage_change_errors(
        current=locked.stage,
        target=stage,
        referred_to=referred_to,
        not_admitted_reason=not_admitted_reason,
        has_patient=locked.patient_id is not None,
    )
    if errors:
        raise ValidationError(errors)
    before = snapshot(locked, AUDITED_FIELDS)
    _move(actor=actor, inquiry=locked, target=stage, note=note, at=timezone.now())
    if stage == Stage.REFERRED:
        locked.referred_to = referred_to.strip()
    if stage == Stage.NOT_ADMITTED:
        locked.not_admitted_reason = not_admitted_reason.strip()
    locked.save()
    _audit(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        inquiry=locked,
        changes=diff(before, snapshot(locked, AUDITED_FIELDS)),
    )
    return locked


@transaction.atomic
def update_inquiry(*, actor: User, inquiry: Inquiry, data: Mapping[str, Any]) -> Inquiry:
    """Owner, next follow-up, assessment date and corrections to what the person told us."""
    editable = (*STAFF_FIELDS, "owner", "next_follow_up", "assessment_scheduled_for")
    values = {k: v for k, v in data.items() if k in editable}
    if set(values) - {"next_follow_up"}:
        _require(actor, "intake.work_pipeline", "Your role does not change inquiries.")
    else:
        _require(actor, "intake.log_contact", "Your role does not change inquiries.")
    locked = _locked(inquiry)
    errors: dict[str, str] = {}
    owner = values.get("owner")
    if owner is not None and not owner_choices(locked.facility).filter(pk=owner.pk).exists():
        errors["owner"] = "Choose someone on the admissions or clinical team of this facility."
    follow_up = values.get("next_follow_up")
    today = timezone.localdate(timezone=locked.facility.zone)
    if follow_up is not None and follow_up < today:
        errors["next_follow_up"] = "A follow-up date is today or later."
    errors.update(_contact_errors({**snapshot(locked, ("first_name", "phone", "email")), **values}))
    if errors:
        raise ValidationError(errors)
    before = snapshot(locked, AUDITED_FIELDS)
    for key, value in _clean(values, editable).items():
        setattr(locked, key, value)
    changes = diff(before, snapshot(locked, AUDITED_FIELDS))
    if not changes:
        return locked
    locked.save()
    _audit(actor=actor, action=AuditEvent.Action.UPDATE, inquiry=locked, changes=changes)
    return locked


@transaction.atomic
def schedule_assessment(*, actor: User, inquiry: Inquiry, when: dt.datetime) -> Inquiry:
    """Book the assessment; the inquiry moves to "Assessment scheduled" if it was behind."""
    _require(actor, "intake.work_pipeline", "Your role does not schedule assessments.")
    if timezone.is_naive(when):
        raise ValidationError({"when": "Give the date and time of the assessment."})
    locked = _locked(inquiry)
    if locked.is_closed:
        raise ValidationError({"when": "Reopen the inquiry before scheduling an assessment."})
    if when < timezone.now() - dt.timedelta(days=1):
        raise ValidationError({"when": "The assessment date is in the past."})
    before = snapshot(locked, AUDITED_FIELDS)
    locked.assessment_scheduled_for = when
    if rules.is_behind(locked.stage, Stage.ASSESSMENT_SCHEDULED):
        _move(actor=actor, inquiry=locked, target=Stage.ASSESSMENT_SCHEDULED, at=timezone.now())
    locked.save()
    _audit(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        inquiry=locked,
        changes=diff(before, snapshot(locked, AUDITED_FIELDS)),
    )
    return locked


CONTACT_FIELDS = ("made_at", "method", "outcome", "note")


@transaction.atomic
def add_contact_attempt(
    *,
    actor: User,
    inquiry: Inquiry,
    method: str,
    outcome: str,
    note: str = "",
    made_at: dt.datetime | None = None,
) -> ContactAttempt:
    """Log a call, e-mail, text or visit. Reaching a new inquiry's person moves it to Contacted."""
    _require(actor, "intake.log_contact", "Your role does not log contact attempts.")
    errors: dict[str, str] = {}
    if method not in ContactAttempt.Method.values:
        errors["method"] = "Choose how you tried to reach them."
    if outcome not in ContactAttempt.Outcome.values:
        errors["outcome"] = "Choose what happened."
    now = timezone.now()
    when = made_at or now
    if when > now + dt.timedelta(minutes=5):
        errors["made_at"] = "A contact attempt cannot be in the future."
    if errors:
        raise ValidationError(errors)
    locked = _locked(inquiry)
    attempt = ContactAttempt.objects.create(
        inquiry=locked,
        made_at=when,
        method=method,
        outcome=outcome,
        note=note.strip(),
        made_by=actor,
    )
    _audit(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        inquiry=locked,
        obj=attempt,
        section="inquiry contact log",
        changes={k: [None, v] for k, v in snapshot(attempt, CONTACT_FIELDS).items()},
    )
    if outcome == ContactAttempt.Outcome.REACHED and locked.stage == Stage.NEW:
        _move(actor=actor, inquiry=locked, target=Stage.CONTACTED, at=now, note="reached")
        locked.save(update_fields=["stage", "stage_changed_at", "closed_at", "admitted_at"])
        _audit(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            inquiry=locked,
            changes={"stage": [Stage.NEW, Stage.CONTACTED]},
        )
    return attempt


def advance_for_patient(*, actor: User, patient: Patient, stage: str) -> Inquiry | None:
    """Move the patient's latest open inquiry forward to ``stage``, never backwards.

    Called by assessments ("assessed") and admissions ("admitted", "assessment_scheduled").
    None when the patient came without a help request.
    """
    if stage not in rules.ADVANCEABLE:
        raise ValueError(f"advance_for_patient moves to {rules.ADVANCEABLE}, not {stage!r}.")
    with transaction.atomic():
        inquiry = (
            Inquiry.objects.select_for_update()
            .filter(patient=patient)
            .exclude(stage__in=rules.CLOSED)
            .order_by("-created_at", "-id")
            .first()
        )
        if inquiry is None:
            return None
        if not rules.is_behind(inquiry.stage, stage):
            return inquiry
        before = snapshot(inquiry, ("stage", "admitted_at"))
        _move(actor=actor, inquiry=inquiry, target=stage, at=timezone.now())
        inquiry.save(update_fields=["stage", "stage_changed_at", "admitted_at", "closed_at"])
        _audit(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            inquiry=inquiry,
            changes=diff(before, snapshot(inquiry, ("stage", "admitted_at"))),
        )
    return inquiry


def _link_patient(*, actor: User, inquiry: Inquiry, patient: Patient) -> Inquiry:
    before = snapshot(inquiry, ("patient_id",))
    inquiry.patient = patient
    inquiry.save(update_fields=["patient"])
    Screening.objects.filter(inquiry=inquiry, patient__isnull=True).update(patient=patient)
    _audit(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        inquiry=inquiry,
        changes=diff(before, snapshot(inquiry, ("patient_id",))),
    )
    return inquiry


@transaction.atomic
def register_patient(
    *,
    actor: User,
    inquiry: Inquiry,
    data: Mapping[str, Any],
    confirm_not_duplicate: bool = False,
) -> Patient:
    """Register the person as a patient (patients.services.create_patient) and link the inquiry.

    Raises PossibleDuplicate like create_patient; the caller offers ``link_patient`` instead.
    """
    _require(actor, "intake.work_pipeline", "Your role does not register people from inquiries.")
    locked = _locked(inquiry)
    if locked.patient_id is not None:
        raise ValidationError("This inquiry is already linked to a patient.")
    patient = patient_services.create_patient(
        actor=actor,
        facility=locked.facility,
        data=data,
        confirm_not_duplicate=confirm_not_duplicate,
    )
    _link_patient(actor=actor, inquiry=locked, patient=patient)
    return patient


@transaction.atomic
def link_patient(*, actor: User, inquiry: Inquiry, patient_id: int) -> Inquiry:
    """Link the inquiry to a patient already registered (one the actor may see)."""
    _require(actor, "intake.work_pipeline", "Your role does not link inquiries to patients.")
    locked = _locked(inquiry)
    if locked.patient_id is not None:
        raise ValidationError("This inquiry is already linked to a patient.")
    patient = (
        visible_patients(actor, include_break_glass=False)
        .filter(pk=patient_id, facility=locked.facility)
        .first()
    )
    if patient is None:
        raise ValidationError({"patient": "Choose a patient of this facility from the list."})
    return _link_patient(actor=actor, inquiry=locked, patient=patient)


# --- Screening ---------------------------------------------------------------------------------


def score_cssrs(answers: Mapping[str, Any]) -> str:
    """The C-SSRS screener's band (measures scoring); ValueError naming a bad item."""
    from openiop.measures.scoring import score

    return str(score("cssrs_screen", dict(answers)).band)


def facts_from(values: Mapping[str, Any], cssrs_band: str) -> rules.ScreeningFacts:
    return rules.ScreeningFacts(
        withdrawal_instrument=values["withdrawal_instrument"],
        withdrawal_score=values.get("withdrawal_score"),
        cssrs_band=cssrs_band,
        living_situation=values["living_situation"],
        has_support_system=bool(values["has_support_system"]),
        motivation=values["motivation"],
        track=values["track"],
        needs_24h_supervision=bool(values["needs_24h_supervision"]),
        unstable=bool(values["unstable"]),
        recent_stay=values.get("recent_stay") or "none",
        recent_stay_level=values.get("recent_stay_level") or "",
    )


def preview_screening(values: Mapping[str, Any]) -> rules.Recommendation:
    """The recommendation for answers not yet saved (the form's "Check" button)."""
    return rules.recommend(facts_from(values, score_cssrs(values["cssrs_answers"])))


def _screening_errors(values: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    required = (
        "withdrawal_instrument",
        "living_situation",
        "has_support_system",
        "motivation",
        "track",
        "needs_24h_supervision",
        "unstable",
    )
    for name in required:
        if values.get(name) in (None, ""):
            errors[name] = "Answer this question."
    problem = rules.withdrawal_score_error(
        values.get("withdrawal_instrument", ""), values.get("withdrawal_score")
    )
    if problem:
        errors["withdrawal_score"] = problem
    if values.get("recent_stay") not in (None, "", "none") and not values.get("recent_stay_level"):
        errors["recent_stay_level"] = "Say what kind of stay it was."
    return errors


@transaction.atomic
def record_screening(*, actor: User, inquiry: Inquiry, data: Mapping[str, Any]) -> Screening:
    """Save a screening with its recommendation; an imminent-risk answer alerts at once.

    ``data["outcome"]`` empty means "as recommended"; a different outcome needs
    ``override_reason``. The inquiry moves to Screened if it was behind.
    """
    _require(actor, "intake.screen", "Your role does not screen for IOP fit.")
    values = {k: v for k, v in data.items() if k in SCREENING_FIELDS}
    errors = _screening_errors(values)
    if errors:
        raise ValidationError(errors)
    if values.get("withdrawal_instrument") == "none":
        values["withdrawal_score"] = None
    if values.get("recent_stay") in (None, "", "none"):
        values["recent_stay"], values["recent_stay_level"] = "none", ""
    answers = dict(values.get("cssrs_answers") or {})
    try:
        band = score_cssrs(answers)
    except ValueError as exc:
        raise ValidationError({"cssrs_answers": str(exc)}) from exc
    advice = rules.recommend(facts_from(values, band))
    chosen = values.get("outcome") or advice.outcome
    override = str(values.get("override_reason") or "").strip()
    if chosen not in Screening.Outcome.values:
        raise ValidationError({"outcome": "Choose an outcome from the list."})
    if chosen != advice.outcome and not override:
        raise ValidationError(
            {"override_reason": "Say why you chose a different outcome than the recommendation."}
        )
    locked = _locked(inquiry)
    now = timezone.now()
    screening = Screening.objects.create(
        inquiry=locked,
        patient_id=locked.patient_id,
        withdrawal_instrument=values["withdrawal_instrument"],
        withdrawal_score=values.get("withdrawal_score"),
        cssrs_answers=answers,
        cssrs_band=band,
        living_situation=values["living_situation"],
        has_support_system=bool(values["has_support_system"]),
        support_who=str(values.get("support_who") or "").strip(),
        motivation=values["motivation"],
        track=values["track"],
        needs_24h_supervision=bool(values["needs_24h_supervision"]),
        unstable=bool(values["unstable"]),
        recent_stay=values["recent_stay"],
        recent_stay_level=values.get("recent_stay_level") or "",
        recommended_outcome=advice.outcome,
        recommendation_reasons=advice.reasons,
        urgent=advice.urgent,
        next_step=advice.next_step,
        outcome=chosen,
        override_reason=override if chosen != advice.outcome else "",
        notes=str(values.get("notes") or "").strip(),
        screened_by=actor,
        screened_at=now,
    )
    _audit(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        inquiry=locked,
        obj=screening,
        section="inquiry screening",
        changes={k: [None, v] for k, v in snapshot(screening, SCREENING_FIELDS).items()},
    )
    if rules.is_behind(locked.stage, Stage.SCREENED):
        before = locked.stage
        _move(actor=actor, inquiry=locked, target=Stage.SCREENED, at=now)
        locked.save(update_fields=["stage", "stage_changed_at", "closed_at", "admitted_at"])
        _audit(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            inquiry=locked,
            changes={"stage": [before, Stage.SCREENED]},
        )
    if advice.risk:
        _alert_risk(actor=actor, inquiry=locked, screening=screening, advice=advice)
    return screening


def _alert_risk(
    *, actor: User, inquiry: Inquiry, screening: Screening, advice: rules.Recommendation
) -> None:
    """Tell admissions, the owner and the clinical directors, naming the next step."""
    people: dict[int, User] = {u.pk: u for u in _admissions_team(inquiry.facility)}
    for u in staff_with_roles(inquiry.facility, [Role.CLINICAL_DIRECTOR]):
        people.setdefault(u.pk, u)
    if inquiry.owner_id is not None and inquiry.owner is not None:
        people.setdefault(inquiry.owner_id, inquiry.owner)
    imminent = advice.risk == "imminent"
    what = "Imminent suicide risk" if imminent else "Suicide risk"
    message = f"{what} at screening, inquiry {inquiry.pk}. Next step: {advice.next_step}"
    if inquiry.patient_id is not None and inquiry.patient is not None:
        for u in default_recipients(inquiry.patient):
            people.setdefault(u.pk, u)
        raise_alert(
            patient=inquiry.patient,
            kind=(
                ClinicalAlert.Kind.IMMINENT_RISK if imminent else ClinicalAlert.Kind.SUICIDE_RISK
            ),
            severity=(
                ClinicalAlert.Severity.URGENT if imminent else ClinicalAlert.Severity.WARNING
            ),
            message=f"{what} on the C-SSRS screener at intake screening.",
            next_step=advice.next_step,
            source_type="intake.screening",
            source_id=str(screening.pk),
            raised_by=actor,
            recipients=list(people.values()),
        )
        return
    notify(
        recipients=list(people.values()),
        message=message,
        link=_link(inquiry),
        urgent=imminent,
    )
