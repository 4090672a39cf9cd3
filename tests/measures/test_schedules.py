"""Schedules through their services: the defaults every stay starts with (idempotent, never
undoing a stop), starting, changing and stopping one, and the database's next-due date agreeing
with the pure rule."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.measures import rules, selectors, services
from openiop.measures.models import InstrumentSchedule
from openiop.patients.models import Patient
from tests.factories import CareTeamMemberFactory, PatientFactory
from tests.measures import factories as f
from tests.measures.factories import AdministrationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    return f.open_episode(patient, clinician)


def running(episode: EpisodeOfCare) -> dict[str, int]:
    return dict(
        InstrumentSchedule.objects.filter(episode=episode, stopped_at__isnull=True).values_list(
            "instrument", "every_days"
        )
    )


# --- the defaults --------------------------------------------------------------------------------


def test_it_starts_phq9_gad7_and_bam_from_the_admission_day(
    episode: EpisodeOfCare, clinician: User
) -> None:
    created = services.ensure_default_schedules(episode=episode, actor=clinician)
    assert running(episode) == {"phq9": 14, "gad7": 14, "bam": 7}
    assert {s.starts_on for s in created} == {episode.admission_date}
    assert all(s.is_default and s.created_by == clinician for s in created)
    events = AuditEvent.objects.filter(
        section=services.SCHEDULE_SECTION, action=AuditEvent.Action.CREATE
    )
    assert events.count() == 3
    assert {e.patient_id for e in events} == {episode.patient_id}
    assert {e.object_id for e in events} == {str(s.pk) for s in created}


def test_the_defaults_are_idempotent(episode: EpisodeOfCare, clinician: User) -> None:
    services.ensure_default_schedules(episode=episode, actor=clinician)
    assert services.ensure_default_schedules(episode=episode, actor=clinician) == []
    assert InstrumentSchedule.objects.filter(episode=episode).count() == 3


def test_a_stopped_default_is_not_started_again(episode: EpisodeOfCare, clinician: User) -> None:
    services.ensure_default_schedules(episode=episode, actor=clinician)
    bam = InstrumentSchedule.objects.get(episode=episode, instrument="bam")
    services.stop_schedule(actor=clinician, schedule=bam, reason="Not using the BAM here")
    assert services.ensure_default_schedules(episode=episode, actor=clinician) == []
    assert running(episode) == {"phq9": 14, "gad7": 14}


def test_a_schedule_chosen_before_the_defaults_is_kept(
    episode: EpisodeOfCare, clinician: User
) -> None:
    f.schedule(episode, "phq9", every_days=7)
    created = services.ensure_default_schedules(episode=episode, actor=clinician)
    assert sorted(s.instrument for s in created) == ["bam", "gad7"]
    assert running(episode)["phq9"] == 7


def test_a_discharged_episode_gets_no_defaults(patient: Patient, clinician: User) -> None:
    today = f.today_at(patient.facility)
    closed = f.open_episode(
        patient,
        clinician,
        admitted=today - dt.timedelta(days=60),
        discharge_date=today - dt.timedelta(days=5),
    )
    assert services.ensure_default_schedules(episode=closed, actor=clinician) == []


def test_many_episodes_get_their_defaults_in_a_constant_number_of_queries(
    facility: Any, clinician: User
) -> None:
    def admit(n: int) -> None:
        for _ in range(n):
            p = PatientFactory.create(facility=facility)
            f.open_episode(p, clinician)

    admit(2)
    with CaptureQueriesContext(connection) as few:
        assert (
            len(
                services.ensure_default_schedules_for(
                    episodes=EpisodeOfCare.objects.all(), actor=clinician
                )
            )
            == 6
        )
    admit(12)
    with CaptureQueriesContext(connection) as many:
        assert (
            len(
                services.ensure_default_schedules_for(
                    episodes=EpisodeOfCare.objects.all(), actor=clinician
                )
            )
            == 36
        )
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as none_missing:
        services.ensure_default_schedules_for(episodes=EpisodeOfCare.objects.all(), actor=None)
    reads = [q for q in none_missing.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(reads) == 1


def test_the_nightly_command_starts_the_defaults_and_prints_counts_only(
    episode: EpisodeOfCare,
) -> None:
    out = StringIO()
    call_command("measures_schedules", stdout=out)
    assert "3 schedules started for 1 open episode" in out.getvalue()
    assert episode.patient.last_name not in out.getvalue()
    assert all(s.created_by is None for s in InstrumentSchedule.objects.all())
    out = StringIO()
    call_command("measures_schedules", stdout=out)
    assert "0 schedules started for 0 open episodes" in out.getvalue()


# --- starting, changing and stopping one ---------------------------------------------------------


def test_it_starts_a_schedule_from_today_by_default(
    episode: EpisodeOfCare, clinician: User
) -> None:
    s = services.schedule_instrument(
        actor=clinician, episode=episode, instrument="auditc", every_days=30
    )
    assert (s.instrument, s.every_days, s.starts_on) == (
        "auditc",
        30,
        f.today_at(episode.facility),
    )
    assert not s.is_default
    event = AuditEvent.objects.get(section=services.SCHEDULE_SECTION, object_id=str(s.pk))
    assert event.action == AuditEvent.Action.CREATE
    assert event.changes["every_days"] == [None, 30]


def test_a_new_schedule_for_the_same_instrument_replaces_the_old_one(
    episode: EpisodeOfCare, clinician: User
) -> None:
    old = f.schedule(episode, "phq9", every_days=14)
    new = services.schedule_instrument(
        actor=clinician, episode=episode, instrument="phq9", every_days=7
    )
    old.refresh_from_db()
    assert not old.is_active and old.stopped_by == clinician
    assert "every 7 days" in old.stop_reason
    assert running(episode) == {"phq9": 7}
    assert new.pk != old.pk


def test_the_same_schedule_again_changes_nothing(episode: EpisodeOfCare, clinician: User) -> None:
    old = f.schedule(episode, "phq9", every_days=14, starts_on=f.today_at(episode.facility))
    again = services.schedule_instrument(
        actor=clinician, episode=episode, instrument="phq9", every_days=14
    )
    assert again.pk == old.pk
    assert InstrumentSchedule.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"every_days": 0}, "every_days"),
        ({"every_days": 400}, "every_days"),
        ({"starts_on": "before admission"}, "starts_on"),
        ({"instrument": "phq10"}, "instrument"),
    ],
)
def test_a_wrong_schedule_is_refused_with_the_field_and_nothing_saved(
    episode: EpisodeOfCare, clinician: User, changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"instrument": "phq9", "every_days": 14, "starts_on": None}
    values.update(changes)
    if values["starts_on"] == "before admission":
        values["starts_on"] = episode.admission_date - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        services.schedule_instrument(actor=clinician, episode=episode, **values)
    assert field in error.value.message_dict
    assert not InstrumentSchedule.objects.exists()
    assert not AuditEvent.objects.filter(section=services.SCHEDULE_SECTION).exists()


def test_a_discharged_stay_cannot_be_scheduled(patient: Patient, clinician: User) -> None:
    today = f.today_at(patient.facility)
    closed = f.open_episode(
        patient, clinician, admitted=today - dt.timedelta(days=60), discharge_date=today
    )
    with pytest.raises(ValidationError) as error:
        services.schedule_instrument(
            actor=clinician, episode=closed, instrument="phq9", every_days=14
        )
    assert "episode" in error.value.message_dict


def test_stopping_records_who_when_and_why(episode: EpisodeOfCare, clinician: User) -> None:
    s = f.schedule(episode, "gad7")
    services.stop_schedule(actor=clinician, schedule=s, reason="Anxiety minimal for 2 months")
    s.refresh_from_db()
    assert s.stopped_at is not None and s.stopped_by == clinician
    assert s.stop_reason == "Anxiety minimal for 2 months"
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, object_id=str(s.pk))
    assert event.reason == "Anxiety minimal for 2 months"


def test_stopping_needs_a_reason_and_a_running_schedule(
    episode: EpisodeOfCare, clinician: User
) -> None:
    s = f.schedule(episode, "gad7")
    with pytest.raises(ValidationError) as error:
        services.stop_schedule(actor=clinician, schedule=s, reason=" no ")
    assert "reason" in error.value.message_dict
    s.refresh_from_db()
    assert s.is_active
    services.stop_schedule(actor=clinician, schedule=s, reason="Not needed any more")
    with pytest.raises(ValidationError):
        services.stop_schedule(actor=clinician, schedule=s, reason="Not needed any more")


def test_only_the_clinical_team_changes_schedules(
    episode: EpisodeOfCare, admissions: User, billing: User
) -> None:
    s = f.schedule(episode, "gad7")
    for user in (admissions, billing):
        with pytest.raises(PermissionDenied):
            services.schedule_instrument(
                actor=user, episode=episode, instrument="phq9", every_days=14
            )
        with pytest.raises(PermissionDenied):
            services.stop_schedule(actor=user, schedule=s, reason="Not needed any more")


# --- the database's next-due date is the rule's --------------------------------------------------


@pytest.mark.parametrize(
    ("every", "start_offset", "given_offsets"),
    [
        (14, 0, []),  # never given: due on the start day
        (14, 0, [0]),  # given on the start day
        (14, 0, [-3]),  # given at the assessment before admission
        (14, 0, [-400]),  # long before: due on the start day
        (7, 5, [1, 3]),  # the later of two
        (1, 0, [10]),
        (30, 10, [2, 40]),
    ],
)
def test_the_database_agrees_with_the_rule(
    episode: EpisodeOfCare,
    clinician: User,
    every: int,
    start_offset: int,
    given_offsets: list[int],
) -> None:
    facility = episode.facility
    admitted = episode.admission_date
    s = f.schedule(
        episode, "phq9", every_days=every, starts_on=admitted + dt.timedelta(start_offset)
    )
    for offset in given_offsets:
        AdministrationFactory.create(
            patient=episode.patient,
            administered_at=f.given_on(facility, admitted + dt.timedelta(offset)),
        )
    row = selectors.schedules_of(episode, f.today_at(facility))[0]
    last = admitted + dt.timedelta(max(given_offsets)) if given_offsets else None
    assert row.schedule.pk == s.pk
    assert row.last_given == last
    assert row.due_on == rules.next_due(start=s.starts_on, every_days=every, last_given=last)


def test_the_last_given_day_is_the_facilitys_day_not_utc(
    episode: EpisodeOfCare, clinician: User
) -> None:
    # 11:30 pm in Los Angeles is already the next day in UTC.
    facility = episode.facility
    day = episode.admission_date + dt.timedelta(days=2)
    AdministrationFactory.create(
        patient=episode.patient,
        administered_at=dt.datetime.combine(day, dt.time(23, 30), tzinfo=facility.zone),
    )
    f.schedule(episode, "phq9", every_days=14)
    row = selectors.schedules_of(episode, f.today_at(facility))[0]
    assert row.last_given == day
    assert row.due_on == day + dt.timedelta(days=14)


def test_results_entered_in_error_and_other_instruments_do_not_count(
    episode: EpisodeOfCare, clinician: User
) -> None:
    facility = episode.facility
    admitted = episode.admission_date
    AdministrationFactory.create(
        patient=episode.patient,
        administered_at=f.given_on(facility, admitted + dt.timedelta(5)),
        entered_in_error_at=f.given_on(facility, admitted + dt.timedelta(6)),
        entered_in_error_reason="Wrong patient",
    )
    AdministrationFactory.create(
        patient=episode.patient,
        instrument="gad7",
        answers=f.gad7(4),
        administered_at=f.given_on(facility, admitted + dt.timedelta(8)),
    )
    other = PatientFactory.create(facility=facility)
    CareTeamMemberFactory.create(patient=other, user=clinician)
    AdministrationFactory.create(
        patient=other, administered_at=f.given_on(facility, admitted + dt.timedelta(9))
    )
    f.schedule(episode, "phq9", every_days=14)
    row = selectors.schedules_of(episode, f.today_at(facility))[0]
    assert row.last_given is None
    assert row.due_on == admitted
