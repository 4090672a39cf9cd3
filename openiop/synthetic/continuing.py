"""The demo's discharges, step-downs and continuing care (all people are fictional).

The demo's discharged patients left months ago, so their discharges are written straight to
the tables as a data import would be (signed the day after, the facts gathered by
``discharge.facts`` from what the demo recorded): reasons in the usual proportions (most
completed, some left early — those say why before day 90), step-downs, referrals with their
status, and the follow-ups at 30/60/90/180/365 days: the past ones mostly answered (use,
meetings, work, housing, readmission), some never reached after several tries, the recent
ones still due so the alumni coordinator's list is not empty. Also: discharge plans for the
longest stays in treatment (readiness in progress), one PHP → IOP transfer in the
level-of-care history, monthly alumni group meetings with their alumni and one upcoming
alumni event.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from openiop.accounts.models import Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.core import teds
from openiop.discharge import rules
from openiop.discharge.facts import gather_facts
from openiop.discharge.models import (
    AlumniAttendance,
    AlumniEvent,
    ContactAttempt,
    Discharge,
    DischargePlan,
    FollowUp,
    LevelOfCareChange,
    Referral,
    StepDown,
)

# (reason key, weight, step-downs that fit)
REASONS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("completed", 40, (StepDown.OUTPATIENT, StepDown.AFTERCARE, StepDown.ALUMNI)),
    (
        "completed_step_down",
        20,
        (StepDown.OUTPATIENT, StepDown.RECOVERY_RESIDENCE, StepDown.AFTERCARE),
    ),
    ("stopped_attending", 12, (StepDown.MUTUAL_HELP, StepDown.OUTPATIENT)),
    ("left_against_advice", 8, (StepDown.MUTUAL_HELP, StepDown.OUTPATIENT)),
    ("higher_level", 6, (StepDown.HIGHER,)),
    ("administrative", 4, (StepDown.OUTPATIENT,)),
    ("moved", 4, (StepDown.OUTPATIENT, StepDown.MUTUAL_HELP)),
    ("transferred_out", 3, (StepDown.OUTPATIENT,)),
    ("incarcerated", 2, (StepDown.NONE,)),
)
PROVIDERS: dict[str, str] = {
    StepDown.OUTPATIENT: "Harborlight Outpatient (evening)",
    StepDown.AFTERCARE: "Harborlight aftercare group, Thursdays",
    StepDown.RECOVERY_RESIDENCE: "Example Sober Living, Riverside",
    StepDown.ALUMNI: "Harborlight alumni program",
    StepDown.MUTUAL_HELP: "Home group of their choice",
    StepDown.HIGHER: "Example Residential Treatment Center",
}
REFERRALS = (
    (Referral.Kind.VOCATIONAL, "Example County WorkSource Center"),
    (Referral.Kind.MEDICAL, "Example Community Health Clinic"),
    (Referral.Kind.PSYCHIATRIC, "Example Behavioral Health, medication management"),
    (Referral.Kind.HOUSING, "Example Housing Authority, recovery housing list"),
    (Referral.Kind.LEGAL, "Example Legal Aid"),
    (Referral.Kind.EDUCATION, "Example Community College re-entry office"),
)


def _signed_at(day: dt.date, zone: Any) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(17, 10), tzinfo=zone)


def _discharge_for(
    episode: EpisodeOfCare, rng: random.Random, today: dt.date
) -> tuple[Discharge, list[Referral]]:
    if episode.discharge_date is None:
        raise ValueError("Only a closed episode gets a discharge.")
    keys = [r[0] for r in REASONS]
    key = rng.choices(keys, weights=[r[1] for r in REASONS])[0]
    step_downs = {r[0]: r[2] for r in REASONS}[key]
    step_down = rng.choice(step_downs)
    early = rules.is_early(episode.admission_date, episode.discharge_date)
    completed = key.startswith("completed")
    zone = episode.facility.zone
    discharge = Discharge(
        episode=episode,
        patient=episode.patient,
        facility=episode.facility,
        discharge_date=episode.discharge_date,
        reason_key=key,
        reason=rules.teds_reason(key),
        reason_detail="" if completed else "Stopped coming after a hard week at work.",
        early_reason=(
            (
                "Met the plan's objectives early; insurance authorized no more IOP days."
                if completed
                else "Left before the plan was finished; we could not reach them to return."
            )
            if early
            else ""
        ),
        continuing_care=(
            "Weekly outpatient counseling, three mutual-help meetings a week with a sponsor, "
            "monthly alumni group."
        ),
        step_down=step_down,
        step_down_provider=PROVIDERS.get(step_down, ""),
        step_down_date=(
            episode.discharge_date + dt.timedelta(days=rng.randint(3, 10))
            if step_down in (StepDown.OUTPATIENT, StepDown.AFTERCARE, StepDown.HIGHER)
            else None
        ),
        followup_agreed=key != "incarcerated" and rng.random() < 0.92,
        followup_contact="Cell phone, weekday evenings after 6",
        facts=gather_facts(episode, episode.discharge_date),
        course=(
            "Attended process and skills groups in the day track; worked on triggers, "
            "a relapse-prevention plan and rebuilding routines with family involvement."
        ),
        condition=(
            "Engaged, mood stable, reports no use in the past 30 days."
            if completed
            else "Ambivalent about recovery at last contact; no safety concerns voiced."
        ),
        recommendations=(
            "Continue at the step-down named above, keep the sponsor relationship, "
            "attend the alumni group, call the program if cravings return."
        ),
        teds_freq1_d=teds.Frequency.NO_USE if completed else teds.Frequency.SOME_USE,
        teds_employ_d=episode.teds_employ,
        teds_livarag_d=episode.teds_livarag,
        teds_arrests_d=0,
        teds_self_help_d=rng.choice([3, 4]) if completed else rng.choice([1, 2]),
        created_by=episode.primary_clinician,
        signed_at=_signed_at(episode.discharge_date + dt.timedelta(days=1), zone),
        signed_by=episode.primary_clinician,
        sign_method="password",
    )
    referrals = []
    for kind, provider in rng.sample(REFERRALS, k=rng.choice([0, 1, 1, 2])):
        status = rng.choice(
            [
                Referral.Status.CONNECTED,
                Referral.Status.CONNECTED,
                Referral.Status.MADE,
                Referral.Status.DECLINED,
                Referral.Status.NOT_CONNECTED,
            ]
        )
        referrals.append(
            Referral(
                episode=episode,
                patient=episode.patient,
                kind=kind,
                provider=provider,
                status=status,
                status_on=min(today, episode.discharge_date + dt.timedelta(days=14)),
                created_by=episode.primary_clinician,
            )
        )
    return discharge, referrals


def _followups(
    discharge: Discharge, rng: random.Random, today: dt.date, coordinator: User
) -> list[tuple[FollowUp, list[ContactAttempt]]]:
    made: list[tuple[FollowUp, list[ContactAttempt]]] = []
    completed = discharge.reason_key.startswith("completed")
    zone = discharge.facility.zone
    for days, due in rules.followup_schedule(discharge.discharge_date, rules.DEFAULT_FOLLOWUP_DAYS):
        followup = FollowUp(
            episode=discharge.episode,
            patient=discharge.patient,
            facility=discharge.facility,
            days_after=days,
            due_on=due,
        )
        attempts: list[ContactAttempt] = []
        if due < today - dt.timedelta(days=10):
            roll = rng.random()
            tries = rng.choice([1, 1, 2, 3])
            for n in range(tries):
                reached = n == tries - 1 and roll < 0.75
                attempts.append(
                    ContactAttempt(
                        attempted_at=_signed_at(due + dt.timedelta(days=n * 2), zone),
                        method=rng.choice(
                            [
                                ContactAttempt.Method.PHONE,
                                ContactAttempt.Method.PHONE,
                                ContactAttempt.Method.TEXT,
                            ]
                        ),
                        result=(
                            ContactAttempt.Result.REACHED
                            if reached
                            else rng.choice(
                                [
                                    ContactAttempt.Result.NO_ANSWER,
                                    ContactAttempt.Result.LEFT_MESSAGE,
                                ]
                            )
                        ),
                        by=coordinator,
                    )
                )
            if roll < 0.75:
                used = rng.random() < (0.2 if completed else 0.5)
                followup.status = FollowUp.Status.COMPLETED
                followup.completed_on = due + dt.timedelta(days=(tries - 1) * 2)
                followup.any_use = used
                followup.days_used_30 = rng.randint(1, 8) if used else 0
                followup.meetings_30 = rng.randint(0, 4) if used else rng.randint(4, 16)
                followup.working_or_school = rng.random() < 0.7
                followup.housing = rng.choice(
                    [FollowUp.Housing.STABLE] * 5
                    + [FollowUp.Housing.RECOVERY_RESIDENCE, FollowUp.Housing.UNSTABLE]
                )
                followup.readmitted = used and rng.random() < 0.3
                followup.completed_by = coordinator
            else:
                followup.status = FollowUp.Status.UNREACHABLE
                followup.note = "No answer after several calls and a text."
        elif due <= today and rng.random() < 0.5:
            attempts.append(
                ContactAttempt(
                    attempted_at=_signed_at(due, zone),
                    method=ContactAttempt.Method.PHONE,
                    result=ContactAttempt.Result.LEFT_MESSAGE,
                    note="Left a message with the program's number.",
                    by=coordinator,
                )
            )
        made.append((followup, attempts))
    return made


def _alumni(
    facility: Any, alumni: Sequence[Any], rng: random.Random, today: dt.date, coordinator: User
) -> None:
    zone = facility.zone
    events = []
    for weeks_ago in range(2, 14, 2):
        day = today - dt.timedelta(weeks=weeks_ago)
        day -= dt.timedelta(days=(day.weekday() - 3) % 7)  # Thursdays
        start = dt.datetime.combine(day, dt.time(18, 30), tzinfo=zone)
        events.append(
            AlumniEvent(
                facility=facility,
                kind=AlumniEvent.Kind.GROUP,
                title="Alumni group: staying connected",
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=90),
                location="Group room B",
                description="Open to everyone who finished the program. Coffee at 6:15.",
                created_by=coordinator,
            )
        )
    picnic = dt.datetime.combine(today + dt.timedelta(days=12), dt.time(11, 0), tzinfo=zone)
    events.append(
        AlumniEvent(
            facility=facility,
            kind=AlumniEvent.Kind.EVENT,
            title="Alumni picnic and recovery-anniversary chips",
            starts_at=picnic,
            ends_at=picnic + dt.timedelta(hours=3),
            location="Example Regional Park, shelter 4",
            description="Families welcome. Sober fun, food, and chips for recovery milestones.",
            created_by=coordinator,
        )
    )
    created = AlumniEvent.objects.bulk_create(events)
    rows = []
    for event in created:
        if event.starts_at.date() >= today or not alumni:
            continue
        for patient in rng.sample(list(alumni), k=min(len(alumni), rng.randint(3, 6))):
            rows.append(
                AlumniAttendance(
                    event=event, patient=patient, recorded_by=coordinator, recorded_at=event.ends_at
                )
            )
    AlumniAttendance.objects.bulk_create(rows)


def load_continuing_care(episodes: Sequence[EpisodeOfCare], rng: random.Random) -> None:
    if not episodes:
        return
    facility = episodes[0].facility
    today = timezone.localdate(timezone=facility.zone)
    coordinator = User.objects.filter(
        role=Role.ALUMNI_COORDINATOR, facilities=facility
    ).first() or next(e.primary_clinician for e in episodes)

    closed = sorted(
        (e for e in episodes if e.discharge_date is not None),
        key=lambda e: e.discharge_date or today,
    )
    discharges: list[Discharge] = []
    referrals: list[Referral] = []
    for episode in closed:
        made, refs = _discharge_for(episode, rng, today)
        discharges.append(made)
        referrals += refs
    Discharge.objects.bulk_create(discharges)
    Referral.objects.bulk_create(referrals)

    pairs = [
        pair
        for d in discharges
        if d.followup_agreed
        for pair in _followups(d, rng, today, coordinator)
    ]
    FollowUp.objects.bulk_create([f for f, _ in pairs])
    attempts = []
    for followup, tries in pairs:
        for attempt in tries:
            attempt.followup = followup
            attempts.append(attempt)
    ContactAttempt.objects.bulk_create(attempts)

    # Readiness in progress for the longest stays still in treatment.
    open_episodes = sorted(
        (e for e in episodes if e.discharge_date is None), key=lambda e: e.admission_date
    )
    plans = []
    for index, episode in enumerate(open_episodes[:6]):
        plans.append(
            DischargePlan(
                episode=episode,
                planned_step_down=[StepDown.OUTPATIENT, StepDown.AFTERCARE, StepDown.ALUMNI][
                    index % 3
                ],
                planned_date=max(
                    today + dt.timedelta(days=14 + 7 * index),
                    episode.admission_date + dt.timedelta(days=rules.MINIMUM_STAY_DAYS),
                ),
                step_down_provider="Harborlight Outpatient (evening)" if index % 3 == 0 else "",
                housing_ready=index % 2 == 0,
                housing_note="Lives with sister; stable." if index % 2 == 0 else "",
                work_school_ready=index % 3 != 2,
                work_school_note="Back at work part-time." if index % 3 != 2 else "",
                updated_by=episode.primary_clinician,
            )
        )
    DischargePlan.objects.bulk_create(plans)

    # One person came in at partial hospitalization and stepped down to IOP two weeks later.
    php = Program.objects.filter(facility=facility, level_of_care="2.5").first()
    stepped = next(
        (
            e
            for e in open_episodes
            if e.level_of_care == "2.1" and (today - e.admission_date).days > 30
        ),
        None,
    )
    if php is not None and stepped is not None:
        LevelOfCareChange.objects.create(
            episode=stepped,
            changed_on=stepped.admission_date + dt.timedelta(days=14),
            from_program=php,
            to_program=stepped.program,
            from_level=php.level_of_care,
            to_level=stepped.level_of_care,
            from_track=None,
            to_track=stepped.track,
            from_services=teds.SERVICES_FOR_LEVEL[php.level_of_care],
            to_services=stepped.teds_services,
            reason="Stable after two weeks of PHP: no daily medical monitoring needed.",
            changed_by=stepped.primary_clinician,
        )

    alumni = [d.patient for d in discharges if d.reason_key.startswith("completed")]
    _alumni(facility, alumni, rng, today, coordinator)
