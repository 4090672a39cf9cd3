"""The cast of the notes tests: a past group session with three attendees and one absence,
each attendee with an active plan, built through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.notes import services
from openiop.notes.models import GroupNote
from openiop.plans.models import Objective
from openiop.scheduling.models import Schedule, Session
from tests.admissions.factories import program_with_phases
from tests.factories import PASSWORD
from tests.plans.factories import active_plan
from tests.scheduling import factories
from tests.scheduling.factories import MONDAY

__all__ = ["MONDAY", "PASSWORD"]


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def schedule(director: User, clinician: User, facility: Facility, program: Program) -> Schedule:
    room = factories.room(director, facility)
    group = factories.group(director, program, capacity=15)
    return factories.schedule(director, group, clinician, where=room)


@pytest.fixture
def people(
    facility: Facility, program: Program, clinician: User, schedule: Schedule
) -> list[EpisodeOfCare]:
    """Four patients on the roster: Alvarez, Baker and Chen come; Diaz misses the session."""
    episodes = [
        factories.admitted(facility, program, clinician, last_name=name)
        for name in ("Alvarez", "Baker", "Chen", "Diaz")
    ]
    for e in episodes:
        factories.enrolled(clinician, e, schedule)
    for e in episodes[:3]:  # Diaz misses the session: no note, so no plan needed
        active_plan(clinician, e)
    return episodes


@pytest.fixture
def session(schedule: Schedule, clinician: User, people: list[EpisodeOfCare]) -> Session:
    day = factories.session_on(schedule, MONDAY)
    factories.came(clinician, day, *people[:3])
    factories.came(clinician, day, people[3], status="unexcused")
    return day


@pytest.fixture
def attendees(people: list[EpisodeOfCare]) -> list[EpisodeOfCare]:
    return people[:3]


@pytest.fixture
def absent(people: list[EpisodeOfCare]) -> EpisodeOfCare:
    return people[3]


def objective_of(episode: EpisodeOfCare) -> Objective:
    """The first objective of the episode's plan (the three attendees have one)."""
    return Objective.objects.filter(goal__problem__version__plan__episode=episode).first()  # type: ignore[return-value]


def _objective_id(episode: EpisodeOfCare) -> int | None:
    found = Objective.objects.filter(goal__problem__version__plan__episode=episode).first()
    return found.pk if found is not None else None


def entry_for(episode: EpisodeOfCare, **overrides: object) -> services.EntryInput:
    values: dict[str, object] = {
        "participation": "active",
        "response": f"Response written for {episode.patient.last_name}.",
        "plan": f"Plan written for {episode.patient.last_name}.",
    }
    values.update(overrides)
    return services.EntryInput(**values)  # type: ignore[arg-type]


def write_group_note(
    author: User, session: Session, episodes: list[EpisodeOfCare], **shared: str
) -> GroupNote:
    values: dict[str, Any] = {
        "topic": "Coping with cravings",
        "interventions": "Urge surfing; CBT thought record.",
        "process": "The group was engaged and supportive.",
        "late_reason": "Charting after the holiday.",
    }
    values.update(shared)
    return services.save_group_note(
        actor=author,
        session=session,
        entries={e.patient_id: entry_for(e, objective_id=_objective_id(e)) for e in episodes},
        **values,
    )


def signed_group_note(author: User, session: Session, episodes: list[EpisodeOfCare]) -> GroupNote:
    note = write_group_note(author, session, episodes)
    return services.sign_group_note(actor=author, group_note=note, password=PASSWORD)


def write_note(author: User, episode: EpisodeOfCare, **overrides: object) -> object:
    start = dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.UTC)
    values: dict[str, object] = {
        "actor": author,
        "patient": episode.patient,
        "kind": "individual",
        "started_at": start,
        "ended_at": start + dt.timedelta(minutes=50),
        "sections": {
            "data": "Said cravings eased.",
            "assessment": "Improving.",
            "plan": "Next week.",
        },
        "objective_ids": [objective_of(episode).pk],
        "late_reason": "Charting after the holiday.",
    }
    values.update(overrides)
    return services.save_note(**values)  # type: ignore[arg-type]
