"""Discharging through the public service functions: every refusal says what to fix and saves
nothing; a discharge closes the episode with its TEDS reason, cancels what the person chose to
cancel, schedules the follow-ups and is audited; signing asks who signs and locks it;
referrals keep going after the signature."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.discharge import services
from openiop.discharge.config import settings_for
from openiop.discharge.models import Discharge, DischargeSettings, FollowUp, Referral
from openiop.patients.models import Patient
from openiop.scheduling import services as scheduling
from openiop.scheduling.models import Appointment, Enrollment, Schedule
from tests.factories import PASSWORD
from tests.scheduling import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 1)
ON = dt.date(2026, 4, 20)  # day 106 in treatment (admitted 01/05/2026)


def discharge(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> Discharge:
    values: dict[str, Any] = {
        "discharge_date": ON,
        "reason_key": "completed_step_down",
        "step_down": "aftercare",
        "step_down_provider": "Harbor aftercare group",
        "followup_contact": "(555) 010-0142, evenings",
        "today": TODAY,
    }
    values.update(kwargs)
    return services.discharge_patient(actor=actor, episode=episode, **values)


def refusal(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        discharge(actor, episode, **kwargs)
    return caught.value.message_dict


def nothing_saved(episode: EpisodeOfCare) -> None:
    episode.refresh_from_db()
    assert episode.discharge_date is None
    assert not Discharge.objects.exists()
    assert not FollowUp.objects.exists()


# --- recording the discharge ---------------------------------------------------------------------


def test_it_discharges_closes_the_episode_and_keeps_the_teds_reason(
    clinician: User, episode: EpisodeOfCare
) -> None:
    done = discharge(clinician, episode, reason_detail="Moved to evening aftercare.")
    episode.refresh_from_db()
    assert episode.discharge_date == ON
    assert done.reason == 1  # TEDS REASON: treatment completed
    assert done.reason_key == "completed_step_down"
    assert done.facility == episode.facility
    assert done.patient == episode.patient
    assert done.created_by == clinician
    assert done.length_of_stay == 105
    assert done.los_code == 34  # 91–120 days
    assert done.facts["los_code"] == 34
    assert done.facts["days_in_treatment"] == 106
    assert not done.is_signed
    patient = Patient.objects.get(pk=episode.patient_id)
    assert patient.status == Patient.Status.DISCHARGED


@pytest.mark.parametrize(
    ("reason_key", "code"),
    [("left_against_advice", 2), ("rule_violation", 3), ("transferred_out", 4), ("moved", 7)],
)
def test_the_reason_is_stored_with_its_teds_code(
    clinician: User, episode: EpisodeOfCare, reason_key: str, code: int
) -> None:
    assert discharge(clinician, episode, reason_key=reason_key).reason == code


def test_the_discharge_is_audited_with_codes_not_words(
    clinician: User, episode: EpisodeOfCare
) -> None:
    done = discharge(clinician, episode, reason_detail="Private words about the family.")
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, object_id=str(done.pk))
    assert event.section == "discharge"
    assert event.patient_id == episode.patient_id
    assert event.actor == clinician
    assert event.changes["reason"] == [None, 1]
    assert event.changes["discharge_date"] == [None, "2026-04-20"]
    assert event.detail["episode"] == episode.pk
    assert event.detail["los_code"] == 34
    assert "Private words" not in str(event.changes) + str(event.detail)
    closed = AuditEvent.objects.get(section="admission", object_id=str(episode.pk))
    assert closed.changes == {"discharge_date": [None, "2026-04-20"]}


def test_a_discharge_before_admission_is_refused(clinician: User, episode: EpisodeOfCare) -> None:
    errors = refusal(clinician, episode, discharge_date=dt.date(2026, 1, 4))
    assert errors == {
        "discharge_date": ["The discharge date is before the admission on 01/05/2026."]
    }
    nothing_saved(episode)


def test_a_discharge_in_the_future_is_refused(clinician: User, episode: EpisodeOfCare) -> None:
    errors = refusal(clinician, episode, discharge_date=TODAY + dt.timedelta(days=1))
    assert errors["discharge_date"] == [
        "The discharge date is in the future. Discharge on or after the last day."
    ]
    nothing_saved(episode)


def test_a_discharge_without_a_date_is_refused(clinician: User, episode: EpisodeOfCare) -> None:
    errors = refusal(clinician, episode, discharge_date=None)
    assert errors["discharge_date"][0].startswith("Enter the discharge date")
    nothing_saved(episode)


def test_a_second_discharge_is_refused(clinician: User, episode: EpisodeOfCare) -> None:
    discharge(clinician, episode)
    errors = refusal(clinician, episode, discharge_date=dt.date(2026, 4, 25))
    assert errors == {"discharge_date": ["This episode was already discharged on 04/20/2026."]}
    assert Discharge.objects.count() == 1
    assert FollowUp.objects.count() == 5


def test_an_episode_closed_another_way_is_not_discharged_twice(
    clinician: User, episode: EpisodeOfCare
) -> None:
    EpisodeOfCare.objects.filter(pk=episode.pk).update(discharge_date=dt.date(2026, 3, 1))
    errors = refusal(clinician, episode)
    assert errors == {"discharge_date": ["This episode was already discharged on 03/01/2026."]}
    assert not Discharge.objects.exists()


def test_an_early_discharge_asks_why_and_the_continuing_care(
    clinician: User, episode: EpisodeOfCare
) -> None:
    early = dt.date(2026, 2, 20)  # day 47
    errors = refusal(clinician, episode, discharge_date=early, reason_key="stopped_attending")
    message = " ".join(
        [
            "This discharge is on day 47, before day 90.",
            "Say why, and the continuing care you recommend.",
        ]
    )
    assert errors["early_reason"] == [message]
    assert errors["continuing_care"] == ["Write the continuing care you recommend."]
    nothing_saved(episode)
    only_why = refusal(
        clinician,
        episode,
        discharge_date=early,
        reason_key="stopped_attending",
        early_reason="Stopped coming after losing the car.",
    )
    assert only_why == {"continuing_care": [message]}
    nothing_saved(episode)


def test_an_early_discharge_with_both_answers_is_recorded(
    clinician: User, episode: EpisodeOfCare
) -> None:
    done = discharge(
        clinician,
        episode,
        discharge_date=dt.date(2026, 2, 20),
        reason_key="stopped_attending",
        early_reason="Stopped coming after losing the car.",
        continuing_care="Weekly outpatient counseling near home; daily meetings.",
        step_down="outpatient",
    )
    assert done.reason == 2
    assert done.early_reason.startswith("Stopped coming")
    assert done.facts["days_in_treatment"] == 47


def test_day_90_is_not_early(clinician: User, episode: EpisodeOfCare) -> None:
    done = discharge(clinician, episode, discharge_date=dt.date(2026, 4, 4))  # day 90
    assert done.facts["days_in_treatment"] == 90
    assert done.early_reason == ""


def test_an_unknown_reason_and_a_missing_step_down_are_refused(
    clinician: User, episode: EpisodeOfCare
) -> None:
    errors = refusal(clinician, episode, reason_key="went_fishing", step_down="")
    assert errors["reason_key"] == ["Choose the reason for the discharge from the list."]
    assert errors["step_down"] == ["Choose the next step of care decided with the person."]
    nothing_saved(episode)
    assert refusal(clinician, episode, step_down="hammock") == {
        "step_down": ["Choose the next step of care from the list."]
    }


def test_no_step_down_after_a_death(clinician: User, episode: EpisodeOfCare) -> None:
    errors = refusal(clinician, episode, reason_key="died", step_down="aftercare")
    assert errors == {"step_down": ["No step-down after this discharge reason."]}
    nothing_saved(episode)


def test_bad_teds_codes_are_refused(clinician: User, episode: EpisodeOfCare) -> None:
    errors = refusal(clinician, episode, teds_d={"teds_freq1_d": 9, "teds_employ_d": 2})
    assert list(errors) == ["teds_freq1_d"]
    assert errors["teds_freq1_d"][0].startswith("Choose a value from the list")
    assert "__all__" in refusal(clinician, episode, teds_d={"teds_shoe_size_d": 2})
    nothing_saved(episode)


def test_teds_status_at_discharge_is_stored(clinician: User, episode: EpisodeOfCare) -> None:
    done = discharge(
        clinician,
        episode,
        teds_d={"teds_freq1_d": 1, "teds_employ_d": 2, "teds_livarag_d": None},
    )
    assert (done.teds_freq1_d, done.teds_employ_d, done.teds_livarag_d) == (1, 2, None)


def test_only_the_clinical_team_discharges_patients_in_their_care(
    make_user: Any, other_clinician: User, episode: EpisodeOfCare
) -> None:
    with pytest.raises(PermissionDenied):
        discharge(make_user(Role.FRONT_DESK), episode)
    with pytest.raises(PermissionDenied):
        discharge(other_clinician, episode)
    nothing_saved(episode)


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Concurrent discharges need PostgreSQL's row locks (run with DATABASE_URL=postgres://…)",
)
@pytest.mark.django_db(transaction=True)
def test_two_discharges_at_once_record_one(clinician: User, episode: EpisodeOfCare) -> None:
    start = threading.Barrier(2)
    results: list[Any] = [None, None]

    def run(n: int, day: dt.date) -> None:
        try:
            start.wait(timeout=10)
            results[n] = discharge(clinician, episode, discharge_date=day)
        except Exception as error:  # handed back to the test
            results[n] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(n, day))
        for n, day in enumerate((dt.date(2026, 4, 20), dt.date(2026, 4, 21)))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    done = [r for r in results if isinstance(r, Discharge)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(done) == 1 and len(refused) == 1, results
    assert "already discharged" in refused[0].messages[0]
    assert Discharge.objects.count() == 1
    assert FollowUp.objects.count() == 5


# --- follow-ups ----------------------------------------------------------------------------------


def test_follow_ups_are_scheduled_at_30_60_90_180_365_days(
    clinician: User, episode: EpisodeOfCare
) -> None:
    discharge(clinician, episode)
    rows = list(
        FollowUp.objects.order_by("days_after").values_list("days_after", "due_on", "status")
    )
    assert rows == [
        (30, dt.date(2026, 5, 20), "due"),
        (60, dt.date(2026, 6, 19), "due"),
        (90, dt.date(2026, 7, 19), "due"),
        (180, dt.date(2026, 10, 17), "due"),
        (365, dt.date(2027, 4, 20), "due"),
    ]
    assert set(FollowUp.objects.values_list("episode_id", "patient_id", "facility_id")) == {
        (episode.pk, episode.patient_id, episode.facility_id)
    }


def test_the_organizations_follow_up_days_are_used(
    clinician: User, director: User, episode: EpisodeOfCare
) -> None:
    DischargeSettings.objects.create(
        organization_id=episode.facility.organization_id, followup_days=[14, 45]
    )
    discharge(clinician, episode)
    assert list(FollowUp.objects.values_list("days_after", "due_on")) == [
        (14, dt.date(2026, 5, 4)),
        (45, dt.date(2026, 6, 4)),
    ]


def test_settings_default_when_the_organization_chose_none(episode: EpisodeOfCare) -> None:
    found = settings_for(episode.facility.organization_id)
    assert found.pk is None
    assert found.followup_days == [30, 60, 90, 180, 365]


def test_no_follow_ups_without_consent_or_after_a_death(
    clinician: User, facility: Facility, program: Program, episode: EpisodeOfCare
) -> None:
    discharge(clinician, episode, followup_agreed=False)
    assert not FollowUp.objects.exists()
    other = factories.admitted(facility, program, clinician, last_name="Okafor")
    discharge(clinician, other, reason_key="died", step_down="none", followup_agreed=True)
    assert not FollowUp.objects.exists()


def test_a_death_needs_neither_step_down_nor_early_answers(
    clinician: User, episode: EpisodeOfCare
) -> None:
    done = discharge(
        clinician, episode, discharge_date=dt.date(2026, 2, 1), reason_key="died", step_down=""
    )
    assert done.reason == 6
    assert done.step_down == "none"


# --- future appointments and group enrollments ---------------------------------------------------


@pytest.fixture
def booked(
    clinician: User, director: User, facility: Facility, program: Program, episode: EpisodeOfCare
) -> dict[str, Any]:
    """An appointment before and one after the discharge date, and a running group enrollment."""

    def book(day: dt.date) -> Appointment:
        return scheduling.book_appointment(
            actor=clinician,
            episode=episode,
            kind="individual",
            staff=clinician,
            day=day,
            start=dt.time(11, 0),
            telehealth=True,
        )

    group = factories.group(director, program, capacity=15)
    mwf: Schedule = factories.schedule(
        director, group, clinician, where=factories.room(director, facility)
    )
    return {
        "before": book(dt.date(2026, 4, 14)),
        "after": book(dt.date(2026, 4, 28)),
        "enrollment": factories.enrolled(clinician, episode, mwf),
        "schedule": mwf,
    }


def test_future_commitments_lists_what_is_booked_after_the_date(
    episode: EpisodeOfCare, booked: dict[str, Any]
) -> None:
    found = services.future_commitments(episode, ON)
    assert found["appointments"] == [booked["after"]]
    assert found["enrollments"] == [booked["enrollment"]]


def test_future_appointments_are_cancelled_and_enrollments_ended_when_asked(
    clinician: User, episode: EpisodeOfCare, booked: dict[str, Any]
) -> None:
    done = discharge(clinician, episode, cancel_future=True)
    after = Appointment.objects.get(pk=booked["after"].pk)
    assert after.status == Appointment.Status.CANCELLED
    assert after.status_reason == "Discharged from the program"
    assert Appointment.objects.get(pk=booked["before"].pk).status == Appointment.Status.SCHEDULED
    enrollment = Enrollment.objects.get(pk=booked["enrollment"].pk)
    assert enrollment.end_date == ON
    assert enrollment.end_reason == "Discharged from the program"
    event = AuditEvent.objects.get(section="discharge", object_id=str(done.pk))
    assert event.detail["cancelled_appointments"] == [booked["after"].pk]
    assert event.detail["ended_enrollments"] == [booked["enrollment"].pk]
    assert AuditEvent.objects.filter(section="appointment", action="update").count() == 1


def test_future_appointments_are_kept_when_not_asked(
    clinician: User, episode: EpisodeOfCare, booked: dict[str, Any]
) -> None:
    discharge(clinician, episode, cancel_future=False)
    assert Appointment.objects.get(pk=booked["after"].pk).status == Appointment.Status.SCHEDULED
    assert Enrollment.objects.get(pk=booked["enrollment"].pk).end_date is None


def test_an_enrollment_that_had_not_started_is_removed(
    clinician: User,
    director: User,
    program: Program,
    episode: EpisodeOfCare,
    booked: dict[str, Any],
) -> None:
    group = factories.group(director, program, name="Relapse prevention", capacity=15)
    evenings = factories.schedule(
        director, group, clinician, rrule="FREQ=WEEKLY;BYDAY=TU", start_time=dt.time(18, 0)
    )
    later = factories.enrolled(clinician, episode, evenings, start=dt.date(2026, 4, 28))
    discharge(clinician, episode, discharge_date=dt.date(2026, 4, 22))
    assert not Enrollment.objects.filter(pk=later.pk).exists()
    assert Enrollment.objects.get(pk=booked["enrollment"].pk).end_date == dt.date(2026, 4, 22)
    assert AuditEvent.objects.filter(
        section="group enrollment", action="delete", object_id=str(later.pk)
    ).exists()


def test_a_refused_discharge_cancels_nothing(
    clinician: User, episode: EpisodeOfCare, booked: dict[str, Any]
) -> None:
    refusal(clinician, episode, discharge_date=dt.date(2026, 2, 20))  # early, no answers
    assert Appointment.objects.get(pk=booked["after"].pk).status == Appointment.Status.SCHEDULED
    assert Enrollment.objects.get(pk=booked["enrollment"].pk).end_date is None


# --- changing, completing and signing ------------------------------------------------------------


def complete(clinician: User, done: Discharge) -> Discharge:
    return services.save_summary(
        actor=clinician,
        discharge=done,
        course="Attended groups steadily; learned refusal skills.",
        condition="Stable, sober 60 days, mood improved.",
        recommendations="Aftercare group weekly; AA three times a week.",
    )


def test_a_new_date_moves_the_episode_and_the_follow_ups_still_due(
    clinician: User, episode: EpisodeOfCare
) -> None:
    done = discharge(clinician, episode)
    first = FollowUp.objects.get(days_after=30)
    FollowUp.objects.filter(pk=first.pk).update(status="completed", completed_on=TODAY)
    changed = services.update_discharge(
        actor=clinician, discharge=done, discharge_date=dt.date(2026, 4, 10), today=TODAY
    )
    episode.refresh_from_db()
    assert episode.discharge_date == dt.date(2026, 4, 10)
    assert changed.facts["discharge_date"] == "2026-04-10"
    assert FollowUp.objects.get(days_after=30).due_on == dt.date(2026, 5, 20)  # done: kept
    assert FollowUp.objects.get(days_after=60).due_on == dt.date(2026, 6, 9)


def test_a_change_is_checked_like_the_discharge(clinician: User, episode: EpisodeOfCare) -> None:
    done = discharge(clinician, episode)
    with pytest.raises(ValidationError) as caught:
        services.update_discharge(
            actor=clinician, discharge=done, discharge_date=dt.date(2026, 2, 20), today=TODAY
        )
    assert set(caught.value.message_dict) == {"early_reason", "continuing_care"}
    episode.refresh_from_db()
    assert episode.discharge_date == ON
    with pytest.raises(TypeError):
        services.update_discharge(actor=clinician, discharge=done, signed_at=None)


def test_a_new_reason_keeps_its_teds_code(clinician: User, episode: EpisodeOfCare) -> None:
    done = discharge(clinician, episode)
    changed = services.update_discharge(
        actor=clinician,
        discharge=done,
        reason_key="higher_level",
        step_down="higher",
        teds_d={"teds_arrests_d": 0},
        today=TODAY,
    )
    assert (changed.reason, changed.step_down, changed.teds_arrests_d) == (4, "higher", 0)


def test_withdrawn_consent_removes_the_follow_ups_nobody_worked_on(
    clinician: User, episode: EpisodeOfCare
) -> None:
    done = discharge(clinician, episode)
    FollowUp.objects.filter(days_after=30).update(status="completed", completed_on=TODAY)
    services.update_discharge(actor=clinician, discharge=done, followup_agreed=False, today=TODAY)
    assert list(FollowUp.objects.values_list("days_after", flat=True)) == [30]
    services.update_discharge(actor=clinician, discharge=done, followup_agreed=True, today=TODAY)
    assert sorted(FollowUp.objects.values_list("days_after", flat=True)) == [30, 60, 90, 180, 365]


def test_signing_asks_for_the_three_parts_first(clinician: User, episode: EpisodeOfCare) -> None:
    done = discharge(clinician, episode)
    with pytest.raises(ValidationError) as caught:
        services.sign_discharge(actor=clinician, discharge=done, password=PASSWORD)
    assert set(caught.value.message_dict) == {"course", "condition", "recommendations"}
    assert services.sign_problems(done)["course"] == "Write the course of treatment before signing."
    assert not Discharge.objects.get().is_signed


def test_signing_needs_the_signers_identity(clinician: User, episode: EpisodeOfCare) -> None:
    done = complete(clinician, discharge(clinician, episode))
    with pytest.raises(ValidationError) as missing:
        services.sign_discharge(actor=clinician, discharge=done)
    assert "password" in missing.value.message_dict
    with pytest.raises(ValidationError) as wrong:
        services.sign_discharge(actor=clinician, discharge=done, password="not-it")
    assert "password" in wrong.value.message_dict
    assert not Discharge.objects.get().is_signed


def test_signing_freezes_the_facts_and_locks_the_discharge(
    clinician: User, episode: EpisodeOfCare
) -> None:
    done = complete(clinician, discharge(clinician, episode))
    Discharge.objects.filter(pk=done.pk).update(facts={"stale": True})
    signed = services.sign_discharge(actor=clinician, discharge=done, password=PASSWORD)
    assert signed.is_signed
    assert signed.signed_by == clinician
    assert signed.sign_method == "password"
    assert signed.facts["los_code"] == 34  # gathered again at signing
    assert "stale" not in signed.facts
    assert AuditEvent.objects.filter(action="sign", object_id=str(done.pk)).exists()
    with pytest.raises(ValidationError) as caught:
        services.update_discharge(actor=clinician, discharge=signed, reason_detail="later")
    assert caught.value.message_dict == {"__all__": ["A signed discharge cannot change."]}
    with pytest.raises(ValidationError) as again:
        complete(clinician, signed)
    assert again.value.messages == ["A signed discharge cannot change."]
    with pytest.raises(ValidationError):
        services.sign_discharge(actor=clinician, discharge=signed, password=PASSWORD)


def test_the_summary_saves_and_refreshes_the_facts(clinician: User, episode: EpisodeOfCare) -> None:
    done = discharge(clinician, episode)
    Discharge.objects.filter(pk=done.pk).update(facts={"stale": True})
    kept = complete(clinician, done)
    assert kept.facts == {"stale": True}
    refreshed = services.save_summary(
        actor=clinician,
        discharge=done,
        course=kept.course,
        condition=kept.condition,
        recommendations=kept.recommendations,
        refresh_facts=True,
    )
    assert refreshed.facts["los_code"] == 34
    event = AuditEvent.objects.filter(section="discharge summary").latest("id")
    assert event.detail == {"fields": [], "facts_refreshed": True}
    assert "refusal skills" not in str(event.changes)


def test_the_summary_has_a_length_limit(clinician: User, episode: EpisodeOfCare) -> None:
    done = discharge(clinician, episode)
    with pytest.raises(ValidationError) as caught:
        services.save_summary(
            actor=clinician, discharge=done, course="x" * 20_001, condition="", recommendations=""
        )
    assert list(caught.value.message_dict) == ["course"]
    assert Discharge.objects.get().course == ""


# --- referrals -----------------------------------------------------------------------------------


def test_a_referral_is_added_and_its_status_kept_after_signing(
    clinician: User, episode: EpisodeOfCare
) -> None:
    done = complete(clinician, discharge(clinician, episode))
    referral = services.add_referral(
        actor=clinician,
        episode=episode,
        kind="vocational",
        provider="County job center",
        contact="(555) 010-0199",
        status_on=ON,
        today=TODAY,
    )
    assert referral.status == "planned"
    assert referral.patient_id == episode.patient_id
    services.sign_discharge(actor=clinician, discharge=done, password=PASSWORD)
    updated = services.update_referral(
        actor=clinician,
        referral=referral,
        status="connected",
        status_on=dt.date(2026, 4, 28),
        note="First appointment kept.",
        today=TODAY,
    )
    assert updated.status == "connected"
    assert [h.status for h in referral.history.order_by("history_id")] == ["planned", "connected"]
    event = AuditEvent.objects.filter(section="referral", action="update").get()
    assert event.changes["status"] == ["planned", "connected"]


def test_a_referral_needs_a_kind_a_provider_and_a_past_date(
    clinician: User, episode: EpisodeOfCare
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.add_referral(
            actor=clinician,
            episode=episode,
            kind="astrology",
            provider="  ",
            status="maybe",
            status_on=TODAY + dt.timedelta(days=1),
            today=TODAY,
        )
    assert set(caught.value.message_dict) == {"kind", "provider", "status", "status_on"}
    assert not Referral.objects.exists()


def test_only_the_clinical_team_refers(make_user: Any, episode: EpisodeOfCare) -> None:
    with pytest.raises(PermissionDenied):
        services.add_referral(
            actor=make_user(Role.ALUMNI_COORDINATOR),
            episode=episode,
            kind="housing",
            provider="Sober living",
        )
    assert not Referral.objects.exists()
