"""Treatment-plan services: every write checked, audited, and refused when it should be."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from openiop.accounts.models import Facility, Organization, Program, Track, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare, PhaseChange
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.plans import library, services
from openiop.plans.models import (
    Goal,
    Intervention,
    LibraryProblem,
    Objective,
    ObjectiveLink,
    PlanVersion,
    Problem,
    Signature,
    TreatmentPlan,
)
from openiop.plans.selectors import version_tree
from tests.admissions.factories import episode, program_with_phases
from tests.factories import (
    PASSWORD,
    OrganizationFactory,
    PatientFactory,
    SupportContactFactory,
)
from tests.plans.factories import active_plan, add_problem, draft_plan, sign_all

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility, plan_review_days=14, required_meetings_per_week=2)


@pytest.fixture
def stay(patient: Patient, program: Program, clinician: User) -> EpisodeOfCare:
    return episode(patient, program, clinician)


def today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def sign_patient(actor: User, version: PlanVersion, **kwargs: object) -> Signature:
    values: dict[str, object] = {"typed_name": "Dana Quintero", "attested": True}
    values.update(kwargs)
    return services.sign(actor=actor, version=version, role="patient", **values)  # type: ignore[arg-type]


def messages(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict


# --- starting a plan ---------------------------------------------------------------------------


def test_a_new_plan_takes_its_intensity_from_the_program_and_track(
    patient: Patient, program: Program, clinician: User
) -> None:
    long_day = Track.objects.create(
        program=program, name="Long day", kind="day", start_time=dt.time(8), end_time=dt.time(12)
    )
    version = services.start_plan(
        actor=clinician, episode=episode(patient, program, clinician, track=long_day)
    )
    assert version.number == 1
    assert version.status == "draft"
    assert version.hours_per_day == 4  # the track's 4 hours beat the program's 3
    assert version.days_per_week == program.min_days_per_week == 3
    assert version.meetings_per_week == 2
    assert version.track == long_day
    assert version.level_of_care == "2.1"
    assert version.plan.created_by == clinician
    assert AuditEvent.objects.filter(section="treatment plan", action="create").exists()


def test_the_program_minimum_beats_a_shorter_track(
    facility: Facility, patient: Patient, clinician: User
) -> None:
    program = program_with_phases(facility, min_hours_per_day=Decimal("3.5"))
    version = services.start_plan(actor=clinician, episode=episode(patient, program, clinician))
    assert version.hours_per_day == Decimal("3.5")
    assert version.track is not None and version.track.name == "Day"  # first by start time


def test_a_discharged_episode_takes_no_plan(
    patient: Patient, program: Program, clinician: User
) -> None:
    closed = episode(patient, program, clinician, discharge_date=dt.date(2026, 2, 1))
    with pytest.raises(ValidationError, match="discharged"):
        services.start_plan(actor=clinician, episode=closed)
    assert not TreatmentPlan.objects.exists()


def test_starting_again_returns_the_open_draft(stay: EpisodeOfCare, clinician: User) -> None:
    first = services.start_plan(actor=clinician, episode=stay)
    again = services.start_plan(actor=clinician, episode=stay)
    assert again.pk == first.pk
    assert TreatmentPlan.objects.count() == 1 and PlanVersion.objects.count() == 1


def test_starting_again_after_activation_is_refused(stay: EpisodeOfCare, clinician: User) -> None:
    active_plan(clinician, stay)
    with pytest.raises(ValidationError, match="new version"):
        services.start_plan(actor=clinician, episode=stay)


def test_someone_at_another_facility_cannot_start_a_plan(
    stay: EpisodeOfCare, other_clinician: User
) -> None:
    with pytest.raises(PermissionDenied):
        services.start_plan(actor=other_clinician, episode=stay)
    assert not TreatmentPlan.objects.exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.AUDITOR])
def test_roles_outside_the_clinical_team_cannot_write(
    stay: EpisodeOfCare, clinician: User, make_user: Callable[..., User], role: str
) -> None:
    version = draft_plan(clinician, stay)
    outsider = make_user(role)
    with pytest.raises(PermissionDenied):
        services.start_plan(actor=outsider, episode=stay)
    with pytest.raises(PermissionDenied):
        services.update_intensity(
            actor=outsider, version=version, data={"hours_per_day": 3, "days_per_week": 4}
        )


# --- editing a draft ---------------------------------------------------------------------------


def test_editing_a_draft_is_audited(stay: EpisodeOfCare, clinician: User) -> None:
    version = services.start_plan(actor=clinician, episode=stay)
    services.update_intensity(
        actor=clinician,
        version=version,
        data={
            "hours_per_day": "3.5",
            "days_per_week": "4",
            "meetings_per_week": "3",
            "strengths": "Close to her sister; steady job.",
        },
    )
    version.refresh_from_db()
    assert (version.hours_per_day, version.days_per_week, version.meetings_per_week) == (
        Decimal("3.5"),
        4,
        3,
    )
    event = AuditEvent.objects.filter(section="treatment plan", action="update").latest("id")
    assert event.patient_id == stay.patient_id
    assert "hours_per_day" in event.changes and "strengths" in event.changes
    problem = add_problem(clinician, version)
    created = AuditEvent.objects.filter(section="treatment plan", action="create")
    assert created.filter(object_id=str(problem.pk)).exists()
    objective = Objective.objects.get(goal__problem=problem)
    services.save_objective(
        actor=clinician,
        goal=objective.goal,
        objective=objective,
        data={"text": "Attend 4 groups a week.", "target_date": "2026-04-01"},
    )
    event = AuditEvent.objects.filter(section="treatment plan", action="update").latest("id")
    assert event.changes["text"][1] == "Attend 4 groups a week."


def test_intensity_outside_the_dose_rules_is_refused(stay: EpisodeOfCare, clinician: User) -> None:
    version = services.start_plan(actor=clinician, episode=stay)
    with pytest.raises(ValidationError) as caught:
        services.update_intensity(
            actor=clinician,
            version=version,
            data={"hours_per_day": "2.5", "days_per_week": "2", "meetings_per_week": "1"},
        )
    found = messages(caught.value)
    assert "minimum hours per day" in found["hours_per_day"][0]
    assert "minimum days per week" in found["days_per_week"][0]
    assert "at least 2" in found["meetings_per_week"][0]
    version.refresh_from_db()
    assert version.hours_per_day == 3 and version.days_per_week == 3


def test_a_track_of_another_program_is_refused(
    stay: EpisodeOfCare, clinician: User, facility: Facility
) -> None:
    version = services.start_plan(actor=clinician, episode=stay)
    foreign = program_with_phases(facility).tracks.first()
    with pytest.raises(ValidationError) as caught:
        services.update_intensity(
            actor=clinician,
            version=version,
            data={"hours_per_day": 3, "days_per_week": 3, "meetings_per_week": 2, "track": foreign},
        )
    assert "track" in messages(caught.value)


def test_an_objective_needs_a_target_date(stay: EpisodeOfCare, clinician: User) -> None:
    version = draft_plan(clinician, stay)
    goal = Goal.objects.get(problem__version=version)
    before = Objective.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.save_objective(actor=clinician, goal=goal, data={"text": "Attend groups."})
    assert "target date" in messages(caught.value)["target_date"][0]
    with pytest.raises(ValidationError) as caught:
        services.save_objective(
            actor=clinician,
            goal=goal,
            data={"text": "Attend groups.", "target_date": dt.date(2025, 12, 1)},
        )
    assert "before the admission" in messages(caught.value)["target_date"][0]
    with pytest.raises(ValidationError) as caught:
        services.save_objective(actor=clinician, goal=goal, data={"target_date": "2026-03-01"})
    assert "text" in messages(caught.value)
    assert Objective.objects.count() == before


def test_a_goal_is_in_the_patients_own_words(stay: EpisodeOfCare, clinician: User) -> None:
    version = services.start_plan(actor=clinician, episode=stay)
    with pytest.raises(ValidationError) as caught:
        services.save_problem(
            actor=clinician,
            version=version,
            data={"statement": "Drinks daily.", "category": "substance_use", "own_words": "  "},
        )
    assert "own words" in messages(caught.value)["own_words"][0]
    assert not Problem.objects.exists() and not Goal.objects.exists()
    problem = add_problem(clinician, version)
    with pytest.raises(ValidationError):
        services.save_goal(actor=clinician, problem=problem, data={"clinical": "Abstinence."})
    assert problem.goals.count() == 1


def test_diagnosis_codes_are_checked(stay: EpisodeOfCare, clinician: User) -> None:
    version = services.start_plan(actor=clinician, episode=stay)
    data = {"statement": "Drinks daily.", "category": "substance_use", "own_words": "Stop."}
    with pytest.raises(ValidationError) as caught:
        services.save_problem(
            actor=clinician, version=version, data={**data, "diagnosis_codes": "F10.20, X99.9"}
        )
    assert "X99.9" in messages(caught.value)["diagnosis_codes"][0]
    assert not Problem.objects.exists()
    problem = services.save_problem(
        actor=clinician,
        version=version,
        data={**data, "diagnosis_codes": "f10.20; F10.20", "asam_dimensions": "5,1,5"},
    )
    assert problem.diagnosis_codes == ["F10.20"]
    assert problem.asam_dimensions == "1,5"
    with pytest.raises(ValidationError):
        services.save_problem(
            actor=clinician, version=version, data={**data, "asam_dimensions": "7"}
        )


def test_a_goal_is_never_removed_alone(stay: EpisodeOfCare, clinician: User) -> None:
    version = draft_plan(clinician, stay)
    goal = Goal.objects.get(problem__version=version)
    with pytest.raises(ValidationError, match="remove the problem"):
        services.remove_item(actor=clinician, version=version, item=goal)
    services.remove_item(actor=clinician, version=version, item=goal.problem)
    assert not Problem.objects.exists() and not Objective.objects.exists()


# --- signatures --------------------------------------------------------------------------------


def test_an_empty_plan_cannot_be_signed(stay: EpisodeOfCare, clinician: User) -> None:
    version = services.start_plan(actor=clinician, episode=stay)
    with pytest.raises(ValidationError, match="Finish the plan"):
        sign_patient(clinician, version)
    assert not Signature.objects.exists()


def test_the_patients_typed_name_must_match(stay: EpisodeOfCare, clinician: User) -> None:
    version = draft_plan(clinician, stay)
    with pytest.raises(ValidationError) as caught:
        sign_patient(clinician, version, typed_name="Dana Quinteros")
    assert "typed_name" in messages(caught.value)
    with pytest.raises(ValidationError) as caught:
        sign_patient(clinician, version, typed_name="")
    assert "typed_name" in messages(caught.value)
    with pytest.raises(ValidationError) as caught:
        sign_patient(clinician, version, attested=False)
    assert "attested" in messages(caught.value)
    assert not Signature.objects.exists()
    version.refresh_from_db()
    assert version.status == "draft" and version.locked_at is None
    signature = sign_patient(clinician, version, typed_name="  dana   QUINTERO ")
    assert signature.method == "typed" and signature.typed_name == "dana QUINTERO"


def test_the_signature_pad_image_is_checked(stay: EpisodeOfCare, clinician: User) -> None:
    version = draft_plan(clinician, stay)
    for bad in ("data:image/svg+xml;base64,PHN2Zz4=", "javascript:alert(1)", PNG + "!" * 3):
        with pytest.raises(ValidationError) as caught:
            sign_patient(clinician, version, typed_name="", image=bad)
        assert "image" in messages(caught.value)
    with pytest.raises(ValidationError):
        sign_patient(
            clinician, version, typed_name="", image="data:image/png;base64," + "A" * 200_001
        )
    signature = sign_patient(clinician, version, typed_name="", image=PNG)
    assert signature.method == "pad" and signature.image == PNG


def test_the_clinician_signs_with_their_password(stay: EpisodeOfCare, clinician: User) -> None:
    version = draft_plan(clinician, stay)
    for password in ("", "not-my-password"):
        with pytest.raises(ValidationError) as caught:
            services.sign(actor=clinician, version=version, role="clinician", password=password)
        assert "password" in messages(caught.value)
    assert not Signature.objects.exists()
    signature = services.sign(actor=clinician, version=version, role="clinician", password=PASSWORD)
    assert signature.method == "password" and signature.signed_by == clinician


def test_a_case_manager_does_not_sign_as_the_clinician(
    stay: EpisodeOfCare, clinician: User, make_user: Callable[..., User], front_desk: User
) -> None:
    version = draft_plan(clinician, stay)
    manager = make_user(Role.CASE_MANAGER)
    with pytest.raises(PermissionDenied):
        services.sign(actor=manager, version=version, role="clinician", password=PASSWORD)
    with pytest.raises(PermissionDenied):
        services.sign(actor=front_desk, version=version, role="clinician", password=PASSWORD)
    with pytest.raises(PermissionDenied):
        services.sign(actor=clinician, version=version, role="supervisor", password=PASSWORD)
    assert not Signature.objects.exists()
    # A case manager may still collect the patient's signature.
    assert sign_patient(manager, version).signed_by == manager


def test_the_first_signature_locks_the_version(stay: EpisodeOfCare, clinician: User) -> None:
    version = draft_plan(clinician, stay)
    problem = Problem.objects.get(version=version)
    goal = problem.goals.get()
    objective = Objective.objects.get(goal=goal)
    sign_patient(clinician, version)
    version.refresh_from_db()
    assert version.status == "signing" and version.locked_at is not None
    event = AuditEvent.objects.filter(section="treatment plan", action="sign").latest("id")
    assert event.changes == {"status": ["draft", "signing"]}
    with pytest.raises(services.PlanLocked):
        services.save_problem(
            actor=clinician,
            version=version,
            problem=problem,
            data={"statement": "Changed.", "category": "other"},
        )
    with pytest.raises(services.PlanLocked):
        services.save_objective(
            actor=clinician,
            goal=goal,
            objective=objective,
            data={"text": "Changed.", "target_date": "2026-05-01"},
        )
    with pytest.raises(services.PlanLocked):
        services.update_intensity(
            actor=clinician, version=version, data={"hours_per_day": 4, "days_per_week": 4}
        )
    with pytest.raises(services.PlanLocked):
        services.save_intervention(
            actor=clinician, objective=objective, data={"modality": "group", "frequency": "1"}
        )
    with pytest.raises(services.PlanLocked):
        services.remove_item(actor=clinician, version=version, item=problem)
    with pytest.raises(services.PlanLocked):
        services.discard_draft(actor=clinician, version=version)
    problem.refresh_from_db()
    objective.refresh_from_db()
    version.refresh_from_db()
    assert problem.statement == "Drinking daily despite harm."
    assert objective.text.startswith("Objective 1")
    assert version.hours_per_day == 3
    assert services.PlanLocked().code == "locked"


def test_the_required_signatures_make_the_plan_active(
    stay: EpisodeOfCare, clinician: User, facility: Facility
) -> None:
    version = draft_plan(clinician, stay)
    with pytest.raises(ValidationError, match="already signed"):
        sign_patient(clinician, version)
        sign_patient(clinician, version)
    services.sign(actor=clinician, version=version, role="clinician", password=PASSWORD)
    version.refresh_from_db()
    plan = version.plan
    plan.refresh_from_db()
    assert version.status == "active" and version.activated_at is not None
    assert plan.review_due_on == today(facility) + dt.timedelta(days=14)
    assert plan.review_due_reason == "scheduled"
    with pytest.raises(ValidationError, match="only a version waiting"):
        services.sign(actor=clinician, version=version, role="supervisor", password=PASSWORD)


def test_a_clinician_who_needs_a_cosign_waits_for_the_supervisor(
    stay: EpisodeOfCare, make_user: Callable[..., User]
) -> None:
    intern = make_user(Role.CLINICIAN, needs_cosign=True)
    supervisor = make_user(Role.CLINICAL_SUPERVISOR)
    version = draft_plan(intern, stay)
    sign_all(version, intern)
    version.refresh_from_db()
    assert version.status == "signing"
    assert services.missing_signatures(version) == ["supervisor"]
    services.sign(actor=supervisor, version=version, role="supervisor", password=PASSWORD)
    version.refresh_from_db()
    assert version.status == "active"
    assert services.missing_signatures(version) == []


def test_a_supervisor_does_not_cosign_their_own_plan(
    stay: EpisodeOfCare, make_user: Callable[..., User]
) -> None:
    supervisor = make_user(Role.CLINICAL_SUPERVISOR, needs_cosign=True)
    version = draft_plan(supervisor, stay)
    sign_all(version, supervisor)
    with pytest.raises(ValidationError, match="someone else's plan"):
        services.sign(actor=supervisor, version=version, role="supervisor", password=PASSWORD)
    version.refresh_from_db()
    assert version.status == "signing"


# --- versions ----------------------------------------------------------------------------------


def _tree(version: PlanVersion) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [(str(p.key), p.statement) for p in version.problems.all()]
    rows += [(str(g.key), g.own_words) for g in Goal.objects.filter(problem__version=version)]
    rows += [
        (str(o.key), (o.text, o.target_date, o.status))
        for o in Objective.objects.filter(goal__problem__version=version)
    ]
    rows += [
        (str(i.key), (i.modality, i.frequency))
        for i in Intervention.objects.filter(objective__goal__problem__version=version)
    ]
    return sorted(rows, key=lambda r: r[0])


def test_a_new_version_copies_the_tree_with_the_same_keys(
    stay: EpisodeOfCare, clinician: User
) -> None:
    v1 = active_plan(clinician, stay, objectives=3)
    with pytest.raises(ValidationError) as caught:
        services.new_version(actor=clinician, plan=v1.plan, reason="  ")
    assert "reason" in messages(caught.value)
    v2 = services.new_version(actor=clinician, plan=v1.plan, reason="Add a family session.")
    assert (v2.number, v2.status, v2.based_on_id) == (2, "draft", v1.pk)
    assert v2.change_reason == "Add a family session."
    assert _tree(v2) == _tree(v1)
    assert len(_tree(v2)) == 1 + 1 + 3 + 3
    assert not set(Problem.objects.filter(version=v2).values_list("pk", flat=True)) & set(
        Problem.objects.filter(version=v1).values_list("pk", flat=True)
    )
    with pytest.raises(ValidationError, match="still a draft"):
        services.new_version(actor=clinician, plan=v1.plan, reason="Another change.")
    v1.refresh_from_db()
    assert v1.status == "active"  # stays the plan until v2 is signed


def test_signing_a_new_version_supersedes_the_active_one(
    stay: EpisodeOfCare, clinician: User
) -> None:
    v1 = active_plan(clinician, stay)
    v2 = services.new_version(actor=clinician, plan=v1.plan, reason="Step down to 3 days.")
    add_problem(clinician, v2, statement="Feels low most days.")
    sign_all(v2, clinician)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == ("superseded", "active")
    assert v1.superseded_at is not None
    assert PlanVersion.objects.filter(plan=v1.plan).count() == 2  # every version kept
    assert Problem.objects.filter(version=v1).count() == 1
    assert Problem.objects.filter(version=v2).count() == 2


def test_a_new_version_supersedes_one_still_being_signed(
    stay: EpisodeOfCare, clinician: User
) -> None:
    v1 = active_plan(clinician, stay)
    v2 = services.new_version(actor=clinician, plan=v1.plan, reason="Add anxiety problem.")
    sign_patient(clinician, v2)
    v3 = services.new_version(actor=clinician, plan=v1.plan, reason="Patient asked to reword.")
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status, v3.status) == ("active", "superseded", "draft")
    assert v3.based_on_id == v2.pk
    with pytest.raises(ValidationError):
        services.sign(actor=clinician, version=v2, role="clinician", password=PASSWORD)


def test_only_one_version_is_active(stay: EpisodeOfCare, clinician: User) -> None:
    v1 = active_plan(clinician, stay)
    v2 = services.new_version(actor=clinician, plan=v1.plan, reason="Add anxiety problem.")
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanVersion.objects.filter(pk=v2.pk).update(
            status="active", locked_at=timezone.now(), activated_at=timezone.now()
        )


def test_a_discharged_episodes_plan_takes_no_new_version(
    stay: EpisodeOfCare, clinician: User
) -> None:
    v1 = active_plan(clinician, stay)
    EpisodeOfCare.objects.filter(pk=stay.pk).update(discharge_date=dt.date(2026, 2, 1))
    with pytest.raises(ValidationError, match="discharged"):
        services.new_version(actor=clinician, plan=v1.plan, reason="Too late now.")


def test_discarding_the_first_draft_removes_the_plan(stay: EpisodeOfCare, clinician: User) -> None:
    version = draft_plan(clinician, stay)
    services.discard_draft(actor=clinician, version=version)
    assert not TreatmentPlan.objects.exists()
    assert AuditEvent.objects.filter(section="treatment plan", action="delete").exists()


# --- reviews -----------------------------------------------------------------------------------


def test_a_review_moves_objectives_and_the_due_date(
    stay: EpisodeOfCare, clinician: User, facility: Facility
) -> None:
    version = active_plan(clinician, stay, objectives=2)
    first, second = Objective.objects.filter(goal__problem__version=version).order_by("order")
    reviewed_on = today(facility) - dt.timedelta(days=2)
    review = services.record_review(
        actor=clinician,
        plan=version.plan,
        reviewed_on=reviewed_on,
        decision="continue",
        summary="Came to every group this month.",
        progress=[
            {"objective": first.pk, "status": "met", "note": "Done."},
            {"objective": second.pk, "status": "in_progress"},
        ],
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("met", "in_progress")
    assert review.progress.count() == 2 and review.version == version
    plan = TreatmentPlan.objects.get()
    assert plan.last_reviewed_on == reviewed_on
    assert plan.review_due_on == reviewed_on + dt.timedelta(days=14)
    event = AuditEvent.objects.filter(section="treatment plan review").latest("id")
    assert event.changes[f"objective.{first.key}"] == ["not_started", "met"]


def test_a_review_is_refused_in_the_future_or_without_an_active_plan(
    stay: EpisodeOfCare, clinician: User, facility: Facility
) -> None:
    draft = draft_plan(clinician, stay)
    args: dict[str, Any] = {"decision": "continue", "summary": "Going well so far.", "progress": []}
    with pytest.raises(ValidationError, match="active plan"):
        services.record_review(
            actor=clinician, plan=draft.plan, reviewed_on=today(facility), **args
        )
    sign_all(draft, clinician)
    for day in (today(facility) + dt.timedelta(days=1), dt.date(2026, 1, 4), None):
        with pytest.raises(ValidationError) as caught:
            services.record_review(actor=clinician, plan=draft.plan, reviewed_on=day, **args)
        assert "reviewed_on" in messages(caught.value)
    with pytest.raises(ValidationError) as caught:
        services.record_review(
            actor=clinician,
            plan=draft.plan,
            reviewed_on=today(facility),
            **{**args, "decision": "x"},
        )
    assert "decision" in messages(caught.value)
    assert not draft.plan.reviews.exists()


# --- phase changes -----------------------------------------------------------------------------


def test_a_phase_change_is_recorded_and_makes_the_review_due(
    stay: EpisodeOfCare, clinician: User, program: Program, facility: Facility
) -> None:
    version = active_plan(clinician, stay)
    plan = version.plan
    plan.refresh_from_db()
    scheduled = plan.review_due_on
    assert scheduled is not None
    changed_on = today(facility) - dt.timedelta(days=1)
    early = program.phases.get(code="early_recovery")
    change = services.change_phase(
        actor=clinician,
        episode=stay,
        phase=early,
        changed_on=changed_on,
        reason="Four weeks clean, attending.",
    )
    assert isinstance(change, PhaseChange) and change.from_phase is not None
    assert (change.from_phase.code, change.to_phase, change.changed_by) == (
        "engagement",
        early,
        clinician,
    )
    assert change.reason == "Four weeks clean, attending."
    stay.refresh_from_db()
    plan.refresh_from_db()
    assert stay.phase == early
    assert plan.review_due_on == changed_on < scheduled
    assert plan.review_due_reason == "phase_changed"
    # Back a phase is allowed; the due date (already earlier) does not move later.
    services.change_phase(
        actor=clinician,
        episode=stay,
        phase=program.phases.get(code="engagement"),
        changed_on=today(facility),
        reason="Relapsed; back to engagement.",
    )
    stay.refresh_from_db()
    plan.refresh_from_db()
    assert stay.phase is not None and stay.phase.code == "engagement"
    assert plan.review_due_on == changed_on
    assert PhaseChange.objects.filter(episode=stay).count() == 2


def test_a_phase_change_without_a_plan_is_fine(
    stay: EpisodeOfCare, clinician: User, program: Program, facility: Facility
) -> None:
    services.change_phase(
        actor=clinician,
        episode=stay,
        phase=program.phases.get(code="maintenance"),
        changed_on=today(facility),
        reason="Doing well, stepping along.",
    )
    assert not TreatmentPlan.objects.exists()


def test_bad_phase_changes_are_refused(
    stay: EpisodeOfCare, clinician: User, program: Program, facility: Facility
) -> None:
    active_plan(clinician, stay)
    early = program.phases.get(code="early_recovery")
    foreign = program_with_phases(facility).phases.get(code="early_recovery")
    cases = [
        ({"phase": early, "changed_on": today(facility), "reason": ""}, "reason"),
        (
            {
                "phase": early,
                "changed_on": today(facility) + dt.timedelta(days=1),
                "reason": "Ready now.",
            },
            "changed_on",
        ),
        ({"phase": early, "changed_on": dt.date(2026, 1, 4), "reason": "Ready now."}, "changed_on"),
        (
            {"phase": stay.phase, "changed_on": today(facility), "reason": "Ready now."},
            "phase",
        ),
        ({"phase": foreign, "changed_on": today(facility), "reason": "Ready now."}, "phase"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as caught:
            services.change_phase(actor=clinician, episode=stay, **kwargs)  # type: ignore[arg-type]
        assert field in messages(caught.value), kwargs
    stay.refresh_from_db()
    assert stay.phase is not None and stay.phase.code == "engagement"
    assert not PhaseChange.objects.exists()


# --- the golden thread -------------------------------------------------------------------------


def test_links_count_by_objective_key_across_versions(stay: EpisodeOfCare, clinician: User) -> None:
    v1 = active_plan(clinician, stay, objectives=2)
    first, second = Objective.objects.filter(goal__problem__version=v1).order_by("order")
    draft = services.new_version(actor=clinician, plan=v1.plan, reason="Not signed yet.")
    with pytest.raises(ValidationError):
        services.link_service(
            actor=clinician,
            objective=Objective.objects.get(goal__problem__version=draft, key=first.key),
            service_kind="group",
            service_date=dt.date(2026, 1, 7),
        )
    for day in (6, 8):
        services.link_service(
            actor=clinician,
            objective=first,
            service_kind="group",
            service_date=dt.date(2026, 1, day),
            label="Relapse prevention group",
        )
    with pytest.raises(ValidationError):
        services.link_service(
            actor=clinician, objective=first, service_kind="x", service_date=dt.date(2026, 1, 7)
        )
    sign_all(draft, clinician)
    tree = version_tree(draft.pk, v1.plan)
    assert tree is not None
    objectives = {
        o.key: o for p in tree.problems.all() for g in p.goals.all() for o in g.objectives.all()
    }
    assert objectives[first.key].service_count == 2  # type: ignore[attr-defined]
    assert objectives[first.key].last_service == dt.date(2026, 1, 8)  # type: ignore[attr-defined]
    assert objectives[second.key].service_count == 0  # type: ignore[attr-defined]
    assert ObjectiveLink.objects.filter(objective_key=first.key).count() == 2
    assert ObjectiveLink.objects.get(service_date=dt.date(2026, 1, 6)).patient == stay.patient


# --- relapse prevention ------------------------------------------------------------------------


def test_a_relapse_prevention_plan_keeps_988_and_its_contacts(
    stay: EpisodeOfCare, clinician: User, patient: Patient, other_facility: Facility
) -> None:
    sister = SupportContactFactory.create(patient=patient, name="Rosa Quintero")
    stranger = SupportContactFactory.create(patient=PatientFactory.create(facility=other_facility))
    with pytest.raises(ValidationError, match="at least the triggers"):
        services.save_relapse_prevention(actor=clinician, episode=stay, data={})
    with pytest.raises(ValidationError) as caught:
        services.save_relapse_prevention(
            actor=clinician,
            episode=stay,
            data={"triggers_places": "The bar on 6th."},
            contacts=[stranger],
        )
    assert "support_contacts" in messages(caught.value)
    plan = services.save_relapse_prevention(
        actor=clinician,
        episode=stay,
        data={"triggers_places": "The bar on 6th.", "coping_strategies": "Call Rosa."},
        contacts=[sister],
    )
    assert "988" in plan.crisis_resources
    assert list(plan.support_contacts.all()) == [sister]
    with pytest.raises(ValidationError) as caught:
        services.save_relapse_prevention(
            actor=clinician, episode=stay, data={"crisis_resources": "Call your sponsor."}
        )
    assert "crisis_resources" in messages(caught.value)
    plan.refresh_from_db()
    assert "988" in plan.crisis_resources
    events = AuditEvent.objects.filter(section="relapse-prevention plan")
    assert events.count() == 1 and events.get().action == "create"


# --- the library -------------------------------------------------------------------------------


def test_a_new_organization_gets_the_standard_library(db: None) -> None:
    org = OrganizationFactory.create(name="Brand New Collective")
    titles = set(LibraryProblem.objects.filter(organization=org).values_list("title", flat=True))
    assert titles == {e["title"] for e in library.DEFAULT_LIBRARY}
    assert services.install_default_library(org) == 0  # idempotent
    assert LibraryProblem.objects.filter(organization=org).count() == len(library.DEFAULT_LIBRARY)


def _entry_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Gambling",
        "statement": "Gambles away rent money.",
        "category": "other",
        "own_words_example": "I want to keep my paycheck.",
        "asam_dimensions": "5",
    }
    data.update(overrides)
    return data


def test_library_entries_are_validated(director: User) -> None:
    org = director.organization
    assert org is not None
    objectives = [{"text": "Attends GA weekly.", "target_weeks": 4}]
    with pytest.raises(ValidationError) as caught:
        services.save_library_problem(
            actor=director,
            organization=org,
            data=_entry_data(title="", category="nope", own_words_example=""),
            objectives=[{"text": "x", "target_weeks": 200}],
            interventions=[{"modality": "magic", "frequency": ""}],
        )
    found = messages(caught.value)
    for field in (
        "title",
        "category",
        "own_words_example",
        "objectives.1.target_weeks",
        "interventions.1.modality",
        "interventions.1.frequency",
    ):
        assert field in found
    with pytest.raises(ValidationError) as caught:
        services.save_library_problem(
            actor=director, organization=org, data=_entry_data(), objectives=[], interventions=[]
        )
    assert "objectives" in messages(caught.value)
    standard = library.DEFAULT_LIBRARY[0]["title"]
    with pytest.raises(ValidationError) as caught:
        services.save_library_problem(
            actor=director,
            organization=org,
            data=_entry_data(title=standard.upper()),
            objectives=objectives,
            interventions=[],
        )
    assert "title" in messages(caught.value)
    entry = services.save_library_problem(
        actor=director,
        organization=org,
        data=_entry_data(),
        objectives=objectives,
        interventions=[{"modality": "group", "frequency": "weekly"}],
    )
    assert entry.objectives.count() == 1 and entry.interventions.count() == 1
    assert AuditEvent.objects.filter(section="plan library", action="create").exists()


def test_only_the_director_or_administrator_edits_the_library(
    clinician: User, director: User
) -> None:
    with pytest.raises(PermissionDenied):
        services.save_library_problem(
            actor=clinician,
            organization=director.organization,  # type: ignore[arg-type]
            data=_entry_data(),
            objectives=[{"text": "x", "target_weeks": 4}],
            interventions=[],
        )
    other: Organization = OrganizationFactory.create(name="Another Collective")
    with pytest.raises(PermissionDenied):
        services.restore_default_library(actor=director, organization=other)


def test_restoring_the_library_adds_only_missing_standard_entries(director: User) -> None:
    org = director.organization
    assert org is not None
    entries = LibraryProblem.objects.filter(organization=org)
    first, second = entries.order_by("order")[:2]
    first.statement = "Our own wording."
    first.save()
    second.delete()
    services.save_library_problem(
        actor=director,
        organization=org,
        data=_entry_data(),
        objectives=[{"text": "Attends GA weekly.", "target_weeks": 4}],
        interventions=[],
    )
    assert services.restore_default_library(actor=director, organization=org) == 1
    assert entries.count() == len(library.DEFAULT_LIBRARY) + 1
    first.refresh_from_db()
    assert first.statement == "Our own wording."
    assert services.restore_default_library(actor=director, organization=org) == 0


def test_a_problem_from_the_library_is_personalized(stay: EpisodeOfCare, clinician: User) -> None:
    version = services.start_plan(actor=clinician, episode=stay)
    entry = LibraryProblem.objects.filter(organization=stay.facility.organization).first()
    assert entry is not None
    with pytest.raises(ValidationError) as caught:
        services.add_from_library(
            actor=clinician,
            version=version,
            entry=entry,
            data={"own_words": "I want my kids back.", "objectives": []},
        )
    assert "objectives" in messages(caught.value)
    assert not Problem.objects.exists()
    problem = services.add_from_library(
        actor=clinician,
        version=version,
        entry=entry,
        data={
            "own_words": "I want my kids back.",
            "objectives": [{"text": "Attend groups.", "target_date": "2026-03-01"}],
            "interventions": [{"modality": "group", "frequency": "3 times a week"}],
        },
    )
    assert problem.statement == entry.statement
    assert problem.goals.get().own_words == "I want my kids back."
    assert Intervention.objects.filter(objective__goal__problem=problem).count() == 1
