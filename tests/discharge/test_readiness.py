"""Discharge readiness: each checklist item done and not yet at its boundary, the settings,
the discharge plan's service, and a constant number of queries whatever the history."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.discharge.models import DischargePlan, DischargeSettings
from openiop.discharge.readiness import (
    ITEM_LABELS,
    Readiness,
    complete_weeks,
    readiness,
    save_discharge_plan,
)
from openiop.plans import services as plan_services
from openiop.plans.models import Objective, ObjectiveStatus, PlanVersion
from openiop.recovery import services as recovery_services
from openiop.scheduling.models import DoseDay
from tests.admissions.factories import episode as episode_row
from tests.factories import CareTeamMemberFactory, PatientFactory, SupportContactFactory
from tests.plans.factories import active_plan

pytestmark = pytest.mark.django_db

# A Wednesday. The last four complete weeks before it start on these Mondays.
TODAY = dt.date(2026, 4, 1)
MONDAYS = [dt.date(2026, 3, 23), dt.date(2026, 3, 16), dt.date(2026, 3, 9), dt.date(2026, 3, 2)]


def item(r: Readiness, key: str) -> Any:
    return r.item(key)


def attend(
    episode: EpisodeOfCare, monday: dt.date, minutes: tuple[int, ...] = (180, 180, 180)
) -> None:
    """Minutes attended on the first days of the week (what attendance keeps per day)."""
    DoseDay.objects.bulk_create(
        DoseDay(
            episode=episode,
            patient_id=episode.patient_id,
            facility_id=episode.facility_id,
            date=monday + dt.timedelta(days=n),
            week_start=monday,
            minutes=m,
        )
        for n, m in enumerate(minutes)
    )


def another_episode(
    facility: Facility, program: Program, clinician: User, admitted: dt.date
) -> EpisodeOfCare:
    patient = PatientFactory.create(facility=facility, last_name="Okafor", status="active")
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    return episode_row(patient, program, clinician, admission_date=admitted)


def local(episode: EpisodeOfCare, day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zoneinfo.ZoneInfo("America/Los_Angeles"))


def drug_test(actor: User, episode: EpisodeOfCare, day: dt.date, *, positive: bool = False) -> None:
    recovery_services.record_drug_test(
        actor=actor,
        episode=episode,
        specimen="urine",
        observed=True,
        collected_at=local(episode, day),
        collected_by=actor,
        results={"cocaine": "positive" if positive else "negative", "fentanyl": "negative"},
    )


def meet(actor: User, episode: EpisodeOfCare, day: dt.date, times: int = 1) -> None:
    for _ in range(times):
        recovery_services.add_meeting(
            actor=actor,
            episode=episode,
            date=day,
            fellowship="aa",
            setting="church",
            minutes=60,
            verification="self",
        )


# --- the weeks counted -------------------------------------------------------------------------


def test_complete_weeks_are_the_weeks_before_the_current_one_wholly_in_treatment() -> None:
    assert complete_weeks(dt.date(2026, 3, 2), TODAY, 4) == MONDAYS
    # Admitted on a Tuesday: that week is not wholly in treatment.
    assert complete_weeks(dt.date(2026, 3, 3), TODAY, 4) == MONDAYS[:3]
    # On a Monday the week before is complete; the new one is not.
    assert complete_weeks(dt.date(2026, 1, 5), dt.date(2026, 3, 30), 1) == [MONDAYS[0]]


def test_a_new_episode_is_ready_for_nothing(episode: EpisodeOfCare) -> None:
    r = readiness(episode, today=TODAY)
    assert [i.key for i in r.items] == list(ITEM_LABELS)
    assert (r.done_count, r.total, r.percent) == (0, 8, 0)
    assert not r.is_complete
    assert r.planned_step_down == ""
    assert item(r, "goals").detail == "No signed treatment plan yet."
    assert item(r, "support").detail.startswith("Nobody recorded yet")


# --- 1. plan goals -----------------------------------------------------------------------------


def test_goals_are_met_when_every_objective_of_the_signed_plan_is_met(
    episode: EpisodeOfCare, clinician: User
) -> None:
    version = active_plan(clinician, episode, objectives=3)
    objectives = Objective.objects.filter(goal__problem__version=version).order_by("pk")
    Objective.objects.filter(pk__in=[o.pk for o in objectives[:2]]).update(
        status=ObjectiveStatus.MET
    )
    goals = item(readiness(episode, today=TODAY), "goals")
    assert not goals.done
    assert goals.detail == "2 of 3 objectives met."

    Objective.objects.filter(pk=objectives[2].pk).update(status=ObjectiveStatus.MET)
    goals = item(readiness(episode, today=TODAY), "goals")
    assert goals.done
    assert goals.detail == "3 of 3 objectives met."


def test_a_discontinued_objective_is_not_counted_but_a_revised_one_is(
    episode: EpisodeOfCare, clinician: User
) -> None:
    version = active_plan(clinician, episode, objectives=3)
    first, second, third = Objective.objects.filter(goal__problem__version=version).order_by("pk")
    Objective.objects.filter(pk=first.pk).update(status=ObjectiveStatus.MET)
    Objective.objects.filter(pk=second.pk).update(status=ObjectiveStatus.DISCONTINUED)
    Objective.objects.filter(pk=third.pk).update(status=ObjectiveStatus.REVISED)
    goals = item(readiness(episode, today=TODAY), "goals")
    assert not goals.done
    assert goals.detail == "1 of 2 objectives met (1 discontinued objective not counted)."

    Objective.objects.filter(pk=third.pk).update(status=ObjectiveStatus.MET)
    assert item(readiness(episode, today=TODAY), "goals").done


def test_a_draft_plan_does_not_count(episode: EpisodeOfCare, clinician: User) -> None:
    version = plan_services.start_plan(actor=clinician, episode=episode)
    assert version.status == PlanVersion.Status.DRAFT
    assert item(readiness(episode, today=TODAY), "goals").detail == "No signed treatment plan yet."


# --- 2. weeks at full dose ---------------------------------------------------------------------


def test_four_complete_weeks_at_the_minimum_are_full_dose(episode: EpisodeOfCare) -> None:
    for monday in MONDAYS:
        attend(episode, monday)  # 3 days of 3 h 00: 9 h, 3 service days
    dose = item(readiness(episode, today=TODAY), "dose")
    assert dose.done
    assert dose.detail == "4 of the last 4 weeks met the minimum (3 days and 9 hours a week)."


def test_a_week_a_minute_short_of_a_service_day_is_not_full_dose(episode: EpisodeOfCare) -> None:
    for monday in MONDAYS[:3]:
        attend(episode, monday)
    attend(episode, MONDAYS[3], (180, 180, 179, 60))  # 9 h 59 but two service days only
    dose = item(readiness(episode, today=TODAY), "dose")
    assert not dose.done
    assert dose.detail.startswith("3 of the last 4 weeks met the minimum")


def test_hours_short_of_the_weekly_minimum_is_not_full_dose(episode: EpisodeOfCare) -> None:
    for monday in MONDAYS[1:]:
        attend(episode, monday)
    # Three service days under the weekly nine hours is not possible at 3 h a day; the
    # program below asks for 10 hours a week.
    Program.objects.filter(pk=episode.program_id).update(min_hours_per_week=10)
    episode.program.refresh_from_db()
    attend(episode, MONDAYS[0], (180, 180, 180, 59))  # 9 h 59
    assert not item(readiness(episode, today=TODAY), "dose").done
    DoseDay.objects.filter(episode=episode, week_start=MONDAYS[0], minutes=59).update(minutes=60)
    # 10 h 00 this week, but the earlier weeks (9 h) are now below the minimum too.
    assert item(readiness(episode, today=TODAY), "dose").detail.startswith("1 of the last 4")


def test_the_current_week_does_not_count_towards_full_dose(episode: EpisodeOfCare) -> None:
    for monday in MONDAYS[:3]:
        attend(episode, monday)
    attend(episode, dt.date(2026, 3, 30))  # this week, not complete yet
    assert not item(readiness(episode, today=TODAY), "dose").done


def test_a_stay_shorter_than_the_weeks_asked_for_is_not_full_dose_yet(
    facility: Facility, program: Program, clinician: User
) -> None:
    exact = another_episode(facility, program, clinician, admitted=MONDAYS[-1])
    for monday in MONDAYS:
        attend(exact, monday)
    assert item(readiness(exact, today=TODAY), "dose").done

    late = another_episode(facility, program, clinician, admitted=MONDAYS[-1])
    EpisodeOfCare.objects.filter(pk=late.pk).update(admission_date=dt.date(2026, 3, 3))
    late.refresh_from_db()
    for monday in MONDAYS[:3]:
        attend(late, monday)
    dose = item(readiness(late, today=TODAY), "dose")
    assert not dose.done
    assert dose.detail.startswith("3 complete weeks in treatment so far (3 met the minimum); 4")


def test_the_organization_sets_how_many_weeks_at_full_dose(
    episode: EpisodeOfCare, facility: Facility
) -> None:
    DischargeSettings.objects.create(organization=facility.organization, full_dose_weeks=2)
    attend(episode, MONDAYS[0])
    attend(episode, MONDAYS[1])
    r = readiness(episode, today=TODAY)
    assert r.settings.full_dose_weeks == 2
    assert item(r, "dose").done


# --- 3. negative drug tests --------------------------------------------------------------------


def test_negative_tests_for_four_weeks_with_a_positive_just_before(
    episode: EpisodeOfCare, clinician: User
) -> None:
    first_day = TODAY - dt.timedelta(days=27)  # 03/05: the window's first day
    drug_test(clinician, episode, first_day - dt.timedelta(days=1), positive=True)
    drug_test(clinician, episode, first_day)
    tests = item(readiness(episode, today=TODAY), "tests")
    assert tests.done
    assert tests.detail == "1 test in the last 4 weeks, none unexpected positive."


def test_an_unexpected_positive_on_the_first_day_of_the_window(
    episode: EpisodeOfCare, clinician: User
) -> None:
    drug_test(clinician, episode, TODAY - dt.timedelta(days=27), positive=True)
    drug_test(clinician, episode, TODAY)
    tests = item(readiness(episode, today=TODAY), "tests")
    assert not tests.done
    assert tests.detail == (
        "1 test with an unexpected positive in the last 4 weeks (latest 03/05/2026)."
    )


def test_no_test_in_the_window_is_not_ready(episode: EpisodeOfCare, clinician: User) -> None:
    drug_test(clinician, episode, TODAY - dt.timedelta(days=28))
    tests = item(readiness(episode, today=TODAY), "tests")
    assert not tests.done
    assert tests.detail.startswith("No drug test in the last 4 weeks")


def test_tests_need_the_whole_window_in_treatment(
    facility: Facility, program: Program, clinician: User
) -> None:
    on_time = another_episode(facility, program, clinician, admitted=dt.date(2026, 3, 5))
    drug_test(clinician, on_time, dt.date(2026, 3, 20))
    assert item(readiness(on_time, today=TODAY), "tests").done

    EpisodeOfCare.objects.filter(pk=on_time.pk).update(admission_date=dt.date(2026, 3, 6))
    on_time.refresh_from_db()
    tests = item(readiness(on_time, today=TODAY), "tests")
    assert not tests.done
    assert tests.detail.startswith("In treatment fewer than 4 weeks")


# --- 4 and 5. relapse-prevention plan, support system ------------------------------------------


def test_a_relapse_prevention_plan_in_place(episode: EpisodeOfCare, clinician: User) -> None:
    assert not item(readiness(episode, today=TODAY), "relapse_plan").done
    plan_services.save_relapse_prevention(
        actor=clinician, episode=episode, data={"coping_strategies": "Call my sponsor."}
    )
    relapse_plan = item(readiness(episode, today=TODAY), "relapse_plan")
    assert relapse_plan.done
    assert relapse_plan.detail.startswith("Written; last updated ")


def test_an_active_support_contact_is_a_support_system(episode: EpisodeOfCare) -> None:
    SupportContactFactory.create(patient=episode.patient, active=False)
    assert not item(readiness(episode, today=TODAY), "support").done
    SupportContactFactory.create(patient=episode.patient, is_sponsor=True)
    support = item(readiness(episode, today=TODAY), "support")
    assert support.done
    assert support.detail == "1 person recorded, 1 sponsor."


# --- 6. meetings -------------------------------------------------------------------------------


def test_meetings_every_week_as_the_program_asks(episode: EpisodeOfCare, clinician: User) -> None:
    assert episode.program.required_meetings_per_week == 2
    for monday in MONDAYS:
        meet(clinician, episode, monday + dt.timedelta(days=2), times=2)
    meetings = item(readiness(episode, today=TODAY), "meetings")
    assert meetings.done
    assert meetings.detail == "4 of the last 4 weeks had the meetings asked for (2 a week)."


def test_one_meeting_short_in_one_week(episode: EpisodeOfCare, clinician: User) -> None:
    for monday in MONDAYS[:3]:
        meet(clinician, episode, monday, times=2)
    meet(clinician, episode, MONDAYS[3] + dt.timedelta(days=6))  # Sunday, one only
    meet(clinician, episode, MONDAYS[3] + dt.timedelta(days=7))  # the Monday after: next week
    meetings = item(readiness(episode, today=TODAY), "meetings")
    assert not meetings.done
    assert meetings.detail.startswith("3 of the last 4 weeks")


def test_the_plan_in_force_sets_the_meetings_asked_for(
    episode: EpisodeOfCare, clinician: User
) -> None:
    version = active_plan(clinician, episode)
    PlanVersion.objects.filter(pk=version.pk).update(
        meetings_per_week=0, activated_at=local(episode, dt.date(2026, 2, 1))
    )
    meetings = item(readiness(episode, today=TODAY), "meetings")
    assert meetings.done
    assert meetings.detail == "The plan asks for no mutual-help meetings."

    PlanVersion.objects.filter(pk=version.pk).update(meetings_per_week=1)
    for monday in MONDAYS:
        meet(clinician, episode, monday)
    assert item(readiness(episode, today=TODAY), "meetings").done


# --- 7 and 8. housing, work or school: the discharge plan --------------------------------------


def test_housing_and_work_are_confirmed_on_the_discharge_plan(
    episode: EpisodeOfCare, clinician: User
) -> None:
    save_discharge_plan(
        actor=clinician,
        episode=episode,
        planned_step_down="outpatient",
        planned_date=dt.date(2026, 4, 30),
        step_down_provider="Harbor OP group",
        housing_ready=True,
        housing_note="Back with her sister",
        work_school_ready=False,
        work_school_note="Looking for work",
    )
    r = readiness(episode, today=TODAY)
    assert item(r, "housing").done
    assert item(r, "housing").detail == "Confirmed: Back with her sister"
    assert item(r, "housing").confirmed_by_hand
    assert not item(r, "work_school").done
    assert item(r, "work_school").detail == "Not confirmed yet: Looking for work"
    assert r.planned_step_down_label == "Standard outpatient (level 1)"
    assert r.planned_date == dt.date(2026, 4, 30)
    assert r.step_down_provider == "Harbor OP group"
    assert (r.done_count, r.percent) == (1, 12)


def test_everything_in_place_is_ready(episode: EpisodeOfCare, clinician: User) -> None:
    version = active_plan(clinician, episode)
    Objective.objects.filter(goal__problem__version=version).update(status=ObjectiveStatus.MET)
    for monday in MONDAYS:
        attend(episode, monday)
        meet(clinician, episode, monday, times=2)
    drug_test(clinician, episode, dt.date(2026, 3, 20))
    plan_services.save_relapse_prevention(
        actor=clinician, episode=episode, data={"warning_signs": "Skipping meals."}
    )
    SupportContactFactory.create(patient=episode.patient)
    save_discharge_plan(
        actor=clinician, episode=episode, housing_ready=True, work_school_ready=True
    )
    r = readiness(episode, today=TODAY)
    assert [i.key for i in r.to_do] == []
    assert (r.done_count, r.total, r.percent, r.is_complete) == (8, 8, 100, True)


def test_a_discharged_episode_is_read_as_it_stood_at_discharge(
    episode: EpisodeOfCare, clinician: User
) -> None:
    for monday in MONDAYS[1:]:
        attend(episode, monday)
    attend(episode, dt.date(2026, 2, 23))
    EpisodeOfCare.objects.filter(pk=episode.pk).update(discharge_date=dt.date(2026, 3, 22))
    episode.refresh_from_db()
    r = readiness(episode, today=dt.date(2026, 11, 1))
    assert r.as_of == dt.date(2026, 3, 22)
    # The week of 03/16 ends on the discharge day: it is complete and counted.
    assert item(r, "dose").done


# --- constant queries --------------------------------------------------------------------------


def _history(episode: EpisodeOfCare, clinician: User, weeks: int) -> None:
    monday = dt.date(2026, 1, 5)
    for _ in range(weeks):
        attend(episode, monday, (180, 180, 180, 120))
        meet(clinician, episode, monday + dt.timedelta(days=1), times=2)
        drug_test(clinician, episode, monday + dt.timedelta(days=2))
        monday += dt.timedelta(days=7)
    SupportContactFactory.create_batch(weeks, patient=episode.patient)


def test_readiness_costs_the_same_queries_after_two_or_twelve_weeks(
    facility: Facility,
    program: Program,
    clinician: User,
    django_assert_max_num_queries: Any,
) -> None:
    counts = []
    for weeks in (2, 12):
        ep = another_episode(facility, program, clinician, admitted=dt.date(2026, 1, 5))
        version = active_plan(clinician, ep, objectives=weeks)
        Objective.objects.filter(goal__problem__version=version).update(status="met")
        _history(ep, clinician, weeks)
        ep = EpisodeOfCare.objects.select_related("facility", "program").get(pk=ep.pk)
        with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as seen:
            readiness(ep, today=TODAY)
        counts.append(len(seen.captured_queries))
        EpisodeOfCare.objects.filter(pk=ep.pk).update(discharge_date=dt.date(2026, 4, 1))
    assert counts[0] == counts[1]


# --- the discharge plan's service --------------------------------------------------------------


def test_saving_the_discharge_plan_is_audited_and_kept_in_its_history(
    episode: EpisodeOfCare, clinician: User
) -> None:
    plan = save_discharge_plan(actor=clinician, episode=episode, planned_step_down="aftercare")
    event = AuditEvent.objects.filter(section="discharge plan").latest("id")
    assert event.action == AuditEvent.Action.CREATE
    assert event.patient_id == episode.patient_id
    save_discharge_plan(
        actor=clinician, episode=episode, planned_step_down="alumni", housing_ready=True
    )
    event = AuditEvent.objects.filter(section="discharge plan").latest("id")
    assert event.action == AuditEvent.Action.UPDATE
    assert event.changes["planned_step_down"] == ["aftercare", "alumni"]
    assert event.changes["housing_ready"] == [False, True]
    plan.refresh_from_db()
    assert plan.updated_by == clinician
    assert plan.history.count() == 2

    # Saving the same again changes nothing and records nothing.
    before = AuditEvent.objects.count()
    save_discharge_plan(
        actor=clinician, episode=episode, planned_step_down="alumni", housing_ready=True
    )
    assert AuditEvent.objects.count() == before
    assert plan.history.count() == 2


def test_the_discharge_plan_refuses_bad_input_field_by_field(
    episode: EpisodeOfCare, clinician: User
) -> None:
    with pytest.raises(ValidationError) as caught:
        save_discharge_plan(
            actor=clinician,
            episode=episode,
            planned_step_down="none",
            planned_date=dt.date(2026, 1, 4),
            housing_note="x" * 301,
        )
    assert set(caught.value.message_dict) == {"planned_step_down", "planned_date", "housing_note"}
    assert "before the admission on 01/05/2026" in caught.value.message_dict["planned_date"][0]
    assert not DischargePlan.objects.exists()


def test_only_the_clinical_team_plans_a_discharge_of_an_open_episode(
    episode: EpisodeOfCare, clinician: User, billing: User, other_clinician: User
) -> None:
    with pytest.raises(PermissionDenied):
        save_discharge_plan(actor=billing, episode=episode, housing_ready=True)
    with pytest.raises(PermissionDenied):
        save_discharge_plan(actor=other_clinician, episode=episode, housing_ready=True)
    EpisodeOfCare.objects.filter(pk=episode.pk).update(discharge_date=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError, match="discharged"):
        save_discharge_plan(actor=clinician, episode=episode, housing_ready=True)
    assert not DischargePlan.objects.exists()
