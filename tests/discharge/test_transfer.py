"""A transfer between programs of the facility (PHP → IOP → OP) keeps one episode and a
level-of-care history; bad input is refused field by field and nothing changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openiop.accounts.models import Facility, Program, Track, User
from openiop.admissions.models import EpisodeOfCare, PhaseChange
from openiop.audit.models import AuditEvent
from openiop.core import teds
from openiop.discharge.models import LevelOfCareChange
from openiop.discharge.selectors import level_history
from openiop.discharge.transfer import changed_on_error, transfer
from openiop.plans.models import TreatmentPlan
from tests.admissions.factories import episode as episode_row
from tests.admissions.factories import program_with_phases
from tests.factories import CareTeamMemberFactory, PatientFactory, ProgramFactory
from tests.plans.factories import active_plan

pytestmark = pytest.mark.django_db

ADMITTED = dt.date(2026, 1, 5)
TODAY = dt.date(2026, 4, 15)


@pytest.fixture
def php(facility: Facility) -> Program:
    return program_with_phases(
        facility,
        name="Partial hospitalization",
        level_of_care="2.5",
        min_hours_per_day=Decimal("4.0"),
        min_days_per_week=5,
        min_hours_per_week=Decimal("20"),
        max_hours_per_week=Decimal("35"),
    )


@pytest.fixture
def op(facility: Facility) -> Program:
    return program_with_phases(
        facility,
        name="Outpatient",
        level_of_care="1",
        min_hours_per_day=Decimal("1.0"),
        min_days_per_week=1,
        min_hours_per_week=Decimal("1"),
        max_hours_per_week=Decimal("8.99"),
    )


@pytest.fixture
def in_php(facility: Facility, php: Program, clinician: User) -> EpisodeOfCare:
    patient = PatientFactory.create(facility=facility, last_name="Ayodele", status="active")
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    return episode_row(
        patient, php, clinician, admission_date=ADMITTED, track=php.tracks.get(name="Day")
    )


def move(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> LevelOfCareChange:
    values: dict[str, Any] = {
        "to_track": None,
        "changed_on": dt.date(2026, 2, 2),
        "reason": "Stable for four weeks; steps down as planned.",
        "today": TODAY,
    }
    values.update(kwargs)
    return transfer(actor=actor, episode=episode, **values)


def test_php_to_iop_to_op_keeps_one_episode_with_its_history(
    in_php: EpisodeOfCare, php: Program, program: Program, op: Program, clinician: User
) -> None:
    evening = program.tracks.get(name="Evening")
    first = move(
        clinician, in_php, to_program=program, to_track=evening, changed_on=dt.date(2026, 2, 2)
    )
    assert (first.from_program, first.to_program) == (php, program)
    assert (first.from_level, first.to_level) == ("2.5", "2.1")
    assert first.from_track == php.tracks.get(name="Day")
    assert first.to_track == evening
    assert (first.from_services, first.to_services) == (6, 6)
    assert not first.services_changed

    second = move(
        clinician, in_php, to_program=op, changed_on=dt.date(2026, 3, 16), reason="Working again."
    )
    assert (second.from_services, second.to_services) == (
        teds.Services.INTENSIVE_OUTPATIENT,
        teds.Services.OUTPATIENT,
    )
    assert second.services_changed

    in_php.refresh_from_db()
    assert EpisodeOfCare.objects.filter(patient=in_php.patient).count() == 1
    assert in_php.is_open
    assert in_php.admission_date == ADMITTED
    assert (in_php.program, in_php.level_of_care, in_php.track) == (op, "1", None)
    assert in_php.teds_services == 7
    assert in_php.phase == op.phases.get(order=1)
    # Days in treatment go on from the admission: one continuous record.
    assert in_php.days_in_treatment(TODAY) == (TODAY - ADMITTED).days + 1

    history = level_history(in_php, today=TODAY)
    assert [(p.program, p.start, p.days, p.current) for p in history] == [
        (php, ADMITTED, 28, False),
        (program, dt.date(2026, 2, 2), 42, False),
        (op, dt.date(2026, 3, 16), 31, True),
    ]
    assert history[0].end == dt.date(2026, 2, 1)
    assert [p.services for p in history] == [6, 6, 7]
    assert history[1].track == evening
    assert history[2].change == second
    assert sum(p.days for p in history) == in_php.days_in_treatment(TODAY)
    assert history[2].level_label.startswith("1 — Outpatient")


def test_the_transfer_is_audited_and_the_phase_and_plan_follow(
    episode: EpisodeOfCare, op: Program, clinician: User
) -> None:
    active_plan(clinician, episode)
    old_phase = episode.phase
    change = move(clinician, episode, to_program=op, changed_on=dt.date(2026, 3, 2))
    event = AuditEvent.objects.filter(section="level of care").latest("id")
    assert event.action == AuditEvent.Action.UPDATE
    assert event.patient_id == episode.patient_id
    assert event.changes["program_id"] == [change.from_program_id, op.pk]
    assert event.changes["teds_services"] == [6, 7]
    assert event.detail["level_of_care_change"] == change.pk
    phase_change = PhaseChange.objects.get(episode=episode)
    assert phase_change.from_phase == old_phase
    assert phase_change.to_phase.program == op
    plan = TreatmentPlan.objects.get(episode=episode)
    assert plan.review_due_on == dt.date(2026, 3, 2)
    assert plan.review_due_reason == "level_changed"
    # The caller's instance follows the change.
    assert episode.program == op


def test_level_history_without_transfer_is_the_admission_program(
    episode: EpisodeOfCare, program: Program
) -> None:
    history = level_history(episode, today=TODAY)
    assert len(history) == 1
    assert history[0].program == program
    assert history[0].change is None
    assert history[0].days == (TODAY - ADMITTED).days + 1
    EpisodeOfCare.objects.filter(pk=episode.pk).update(discharge_date=dt.date(2026, 2, 3))
    episode.refresh_from_db()
    closed = level_history(episode, today=TODAY)
    assert (closed[0].end, closed[0].days, closed[0].current) == (dt.date(2026, 2, 3), 30, False)


def refused(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        move(actor, episode, **kwargs)
    return caught.value.message_dict


def test_another_facilitys_program_is_refused(
    episode: EpisodeOfCare, other_facility: Facility, clinician: User
) -> None:
    elsewhere = ProgramFactory.create(facility=other_facility, level_of_care="1")
    errors = refused(clinician, episode, to_program=elsewhere)
    assert "Choose a program of this facility" in errors["to_program"][0]
    assert not LevelOfCareChange.objects.exists()


def test_the_same_program_or_a_closed_one_is_refused(
    episode: EpisodeOfCare, program: Program, op: Program, clinician: User
) -> None:
    errors = refused(clinician, episode, to_program=program)
    assert errors["to_program"] == [f"The person is already in {program.name}."]
    Program.objects.filter(pk=op.pk).update(is_active=False)
    op.refresh_from_db()
    assert "closed" in refused(clinician, episode, to_program=op)["to_program"][0]
    assert refused(clinician, episode, to_program=None)["to_program"]
    assert not LevelOfCareChange.objects.exists()


def test_a_track_of_another_program_is_refused(
    episode: EpisodeOfCare, program: Program, op: Program, clinician: User
) -> None:
    errors = refused(clinician, episode, to_program=op, to_track=program.tracks.first())
    assert errors["to_track"] == ["Choose a track of Outpatient, or none."]


def test_dates_before_admission_in_the_future_or_before_the_last_change_are_refused(
    episode: EpisodeOfCare, php: Program, op: Program, clinician: User
) -> None:
    day_before = ADMITTED - dt.timedelta(days=1)
    errors = refused(clinician, episode, to_program=op, changed_on=day_before)
    assert errors["changed_on"] == ["The transfer cannot be before the admission on 01/05/2026."]
    tomorrow = TODAY + dt.timedelta(days=1)
    assert (
        "future" in refused(clinician, episode, to_program=op, changed_on=tomorrow)["changed_on"][0]
    )
    assert refused(clinician, episode, to_program=op, changed_on=None)["changed_on"]

    move(clinician, episode, to_program=op, changed_on=dt.date(2026, 3, 2))
    errors = refused(clinician, episode, to_program=php, changed_on=dt.date(2026, 3, 1))
    assert errors["changed_on"] == [
        "The transfer cannot be before the last change of level of care, on 03/02/2026."
    ]
    assert LevelOfCareChange.objects.count() == 1
    # The admission day and the day of the last change are allowed (boundaries inclusive).
    assert changed_on_error(ADMITTED, admitted=ADMITTED, last_change=None, today=TODAY) is None
    assert changed_on_error(TODAY, admitted=ADMITTED, last_change=TODAY, today=TODAY) is None


def test_a_reason_is_required(episode: EpisodeOfCare, op: Program, clinician: User) -> None:
    errors = refused(clinician, episode, to_program=op, reason="  ok ")
    assert errors["reason"] == ["Write why the level of care changes (a few words at least)."]


def test_a_closed_episode_is_not_transferred(
    episode: EpisodeOfCare, op: Program, clinician: User
) -> None:
    EpisodeOfCare.objects.filter(pk=episode.pk).update(discharge_date=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError, match="discharged"):
        move(clinician, episode, to_program=op)
    assert not LevelOfCareChange.objects.exists()


def test_only_the_clinical_team_of_the_facility_transfers(
    episode: EpisodeOfCare,
    op: Program,
    billing: User,
    front_desk: User,
    other_clinician: User,
) -> None:
    for actor in (billing, front_desk, other_clinician):
        with pytest.raises(PermissionDenied):
            move(actor, episode, to_program=op)
    episode.refresh_from_db()
    assert episode.program != op
    assert not LevelOfCareChange.objects.exists()


def test_a_track_of_the_new_program_is_kept(
    episode: EpisodeOfCare, op: Program, clinician: User
) -> None:
    day: Track = op.tracks.get(name="Day")
    move(clinician, episode, to_program=op, to_track=day)
    episode.refresh_from_db()
    assert episode.track == day
