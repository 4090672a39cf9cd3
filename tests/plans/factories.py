"""Plans built through the services, so tests start from states the product can reach."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.plans import services
from openiop.plans.models import PlanVersion, Problem
from tests.factories import PASSWORD


def add_problem(
    actor: User,
    version: PlanVersion,
    *,
    objectives: int = 1,
    target: dt.date = dt.date(2026, 3, 1),
    statement: str = "Drinking daily despite harm.",
) -> Problem:
    problem = services.save_problem(
        actor=actor,
        version=version,
        data={
            "statement": statement,
            "category": "substance_use",
            "asam_dimensions": "5",
            "own_words": "I want to stop drinking.",
            "clinical": "Abstinence from alcohol.",
        },
    )
    goal = problem.goals.get()
    for n in range(1, objectives + 1):
        objective = services.save_objective(
            actor=actor,
            goal=goal,
            data={"text": f"Objective {n}: attend 3 groups a week.", "target_date": target},
        )
        services.save_intervention(
            actor=actor,
            objective=objective,
            data={"modality": "group", "frequency": "3 times a week", "description": "Skills"},
        )
    return problem


def draft_plan(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> PlanVersion:
    version = services.start_plan(actor=actor, episode=episode)
    add_problem(actor, version, **kwargs)
    return version


def sign_all(version: PlanVersion, clinician: User, *, supervisor: User | None = None) -> None:
    patient = version.plan.patient
    services.sign(
        actor=clinician,
        version=version,
        role="patient",
        typed_name=f"{patient.first_name} {patient.last_name}",
        attested=True,
    )
    services.sign(actor=clinician, version=version, role="clinician", password=PASSWORD)
    if supervisor is not None:
        services.sign(actor=supervisor, version=version, role="supervisor", password=PASSWORD)


def active_plan(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> PlanVersion:
    version = draft_plan(actor, episode, **kwargs)
    sign_all(version, actor)
    version.refresh_from_db()
    return version
