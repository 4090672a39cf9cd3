#!/usr/bin/env python
"""Chart timeline and group-note screen benchmark for OpenIOP (see benchmarks/README.md).

    .venv/bin/python benchmarks/timeline_notes.py [--databases sqlite postgres] [--repeat 100]
        [--events 500 2000] [--attendees 5 15] [--others 20] [--explain]

For every database the script starts a fresh database and runs itself again in a subprocess
(``--worker``, see ``harness.run_parent``), because Django settings are process-global. The
worker migrates, creates an organization, a facility, an adult IOP program (day track, three
phases), a clinician (the one signed in), a colleague and synthetic patients:

* one patient per ``--events`` size with two years (730 days) of records, about that many
  timeline events: group sessions attended (``Attendance`` of shared ``Session`` rows, 3 a
  day in 3 schedules), the patient's parts of group notes (``GroupNote`` + ``GroupNoteEntry``,
  signed but the last few), individual, family and case-management notes (``Note``, signed
  but the last two), instruments (``Administration``: BAM weekly, PHQ-9 and GAD-7 every two
  weeks, scored with ``measures.scoring``), drug tests (``DrugTest`` with five
  ``DrugTestResult`` rows, one in 15 with an unexpected positive), mutual-help meetings
  (``Meeting``), two relapses with the sobriety date reset after each (``RelapseEvent``,
  ``SobrietyDate``), two phase changes, the admission and a signed treatment plan;
* ``--others`` patients with the largest history too (in a colleague's caseload), so the
  tables hold what a clinic's do and each patient's rows are found through the indexes;
* one patient per attendee of the largest ``--attendees`` size (plus one who was excused),
  each with an open episode and a signed plan of three objectives (``plans.services``).

The histories are bulk-inserted (the rows the services write, without their checks, so two
years build in seconds); a signed group note is inserted unsigned, its entries added, then
signed with one UPDATE (the triggers of notes migration 0002 refuse changes only once
``signed_at`` is set). Plans and the group-note drafts go through the services.

It then measures, through ``django.test.Client`` signed in as the clinician (after 3 warm-up
requests, ``--repeat`` requests each):

* the timeline, first page:   GET /timeline/patients/<pk>/                (timeline:chart)
* notes from a year ago:      GET /timeline/patients/<pk>/?show=notes&from=<a year ago>
* the last page:              GET /timeline/patients/<pk>/?page=<last>
* the API:                    GET /api/v1/timeline/?patient=<pk>          (api:timeline)

for each history size, and for each ``--attendees`` size a session that ended an hour ago:

* the group-note screen, no note yet:          GET /notes/sessions/<id>/  (notes:group)
* the same with a draft (every part written, through ``notes.services.save_group_note``)

p50/p95/max server time (``time.perf_counter`` around the client call) and SQL queries per
request (``CaptureQueriesContext``; the idle-timeout session save is not counted), by
``harness.measure``; then, over 10 more requests, the median CPU time of the process (``cpu
ms``, which other work on the machine hardly changes; on SQLite it includes the database) and
the median time in SQL statements (``sql ms``, their own timings). Any answer but 200 stops
the run. The summary checks the target (p95 under 150 ms) and whether each page's query count
is the same for every size, and gives the 1-minute load average before and after measuring
(wall-clock figures grow with it on a shared machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness

PG_DB_NAME = "openiop_bench_timeline"
SEED = 20260601
PASSWORD = "bench-timeline-password-2026"  # noqa: S105 - a throwaway benchmark database
DAYS = 730  # two years of records
TARGET_MS = 150.0
SLOTS = (dt.time(9, 0), dt.time(10, 45), dt.time(13, 0))  # one schedule each
# Shares of the events that are not fixed (the admission, the plan, two phase changes, two
# relapses and three sobriety dates); sessions take what rounding leaves.
MIX = {"group_note": 0.28, "note": 0.06, "measure": 0.12, "drug_test": 0.07, "meeting": 0.05}
FIXED = {"admission": 1, "plan": 1, "phase": 2, "relapse": 2, "sobriety": 3}
STATUSES = (  # (attendance status, cumulative chance)
    ("present", 0.85),
    ("late", 0.90),
    ("left_early", 0.93),
    ("excused", 0.98),
    ("unexcused", 1.0),
)
ATTENDED = ("present", "late", "left_early")
PANEL = ("alcohol", "cocaine", "fentanyl", "methamphetamine", "thc")

SCENARIO_TITLES = {
    "timeline": "timeline, first page (GET /timeline/patients/<pk>/)",
    "timeline_notes": "timeline, notes from a year ago (?show=notes&from=)",
    "timeline_last": "timeline, last page (?page=<last>)",
    "timeline_api": "timeline API (GET /api/v1/timeline/?patient=)",
    "group_empty": "group-note screen, no note yet (GET /notes/sessions/<id>/)",
    "group_draft": "group-note screen, draft with every part written",
}


# --------------------------------------------------------------------------------------
# Parent: one fresh database and one worker subprocess per database, in harness
# --------------------------------------------------------------------------------------


def run_parent(args: argparse.Namespace) -> int:
    print(harness.banner("chart timeline and group-note benchmark"))
    print(
        f"databases={args.databases} events={args.events} attendees={args.attendees} "
        f"others={args.others} repeat={args.repeat}"
    )
    options = ["repeat", "events", "attendees", "others", "explain"]
    return harness.run_parent(args, __file__, PG_DB_NAME, options, print_summary)


def print_summary(results: list[dict[str, Any]], skipped: dict[str, str]) -> None:
    print("\n" + " SUMMARY ".center(78, "="))
    rows = []
    misses: dict[str, list[str]] = {}
    for result in results:
        if "failed" in result:
            rows.append([result["database"], "-", "FAILED", "", "", "", "", "", "", ""])
            continue
        sized = [(f"{r['total']:,} events", r) for r in result["timeline"]] + [
            (f"{r['attendees']} attendees", r) for r in result["group"]
        ]
        misses.setdefault(result["database"], [])
        for size, run in sized:
            for name, s in run["scenarios"].items():
                ok = s["p95"] < TARGET_MS
                if not ok:
                    misses[result["database"]].append(f"{SCENARIO_TITLES[name]} at {size}")
                rows.append(
                    [
                        result["database"],
                        size,
                        SCENARIO_TITLES[name],
                        *harness.ms_cells(s),
                        f"{s['cpu_p50']:.1f}",
                        f"{s['sql_p50']:.1f}",
                        harness.fmt_range(s["q_min"], s["q_max"]),
                        "PASS" if ok else "**FAIL**",
                    ]
                )
    if rows:
        headers = [
            "db",
            "size",
            "scenario",
            "p50 ms",
            "p95 ms",
            "max ms",
            "cpu ms",
            "sql ms",
            "queries",
            "p95<150",
        ]
        print(harness.table(headers, rows, left={0, 2}))
    ok_results = [r for r in results if "failed" not in r]
    harness.print_query_counts(
        ((r["database"], run["scenarios"]) for r in ok_results for run in r["timeline"]),
        SCENARIO_TITLES,
        across="history sizes",
    )
    harness.print_query_counts(
        ((r["database"], run["scenarios"]) for r in ok_results for run in r["group"]),
        SCENARIO_TITLES,
        across="attendee counts",
    )
    for r in ok_results:
        missed = misses[r["database"]]
        pages = sum(len(run["scenarios"]) for run in [*r["timeline"], *r["group"]])
        verdict = "every page" if not missed else f"{pages - len(missed)} of {pages} pages; over:"
        print(f"{r['database']}: p95 under {TARGET_MS:.0f} ms on {verdict}")
        for miss in missed:
            print(f"  {miss}")
        print(
            f"{r['database']}: 1-minute load average {r['load'][0]:.1f} before measuring, "
            f"{r['load'][1]:.1f} after, on {os.cpu_count()} CPUs"
        )
    for kind, why in skipped.items():
        print(f"{kind}: SKIPPED ({why})")


# --------------------------------------------------------------------------------------
# Worker: runs inside one process per database with DATABASE_URL already set
# --------------------------------------------------------------------------------------


def _world() -> dict[str, Any]:
    """The facility, its program (a day track, three phases) and two clinicians."""
    from django.utils import timezone

    from openiop.accounts.models import Facility, Organization, Phase, Program, Track, User
    from openiop.accounts.roles import Role

    org = Organization.objects.create(name="Benchmark Recovery Collective")
    facility = Facility.objects.create(
        organization=org, name="Benchmark IOP", code="BEN", time_zone="America/Los_Angeles"
    )
    program = Program.objects.create(
        facility=facility,
        name="Adult IOP",
        level_of_care="2.1",
        population="adult",
        min_hours_per_day=3,
        min_days_per_week=3,
        min_hours_per_week=9,
        max_hours_per_week=19,
    )
    track = Track.objects.create(
        program=program, name="Day", kind="day", start_time=dt.time(9), end_time=dt.time(14, 30)
    )
    phases = [
        Phase.objects.create(program=program, order=n, code=code, name=name)
        for n, (code, name) in enumerate(
            [("early", "Early recovery"), ("middle", "Middle recovery"), ("late", "Maintenance")],
            start=1,
        )
    ]

    def staff(email: str, first: str, last: str) -> Any:
        user = User.objects.create_user(
            email,
            password=PASSWORD,
            role=Role.CLINICIAN,
            organization=org,
            first_name=first,
            last_name=last,
        )
        user.facilities.set([facility])
        return user

    today = timezone.localdate(timezone=facility.zone)
    return {
        "facility": facility,
        "program": program,
        "track": track,
        "phases": phases,
        "clinician": staff("clinician@bench.example.org", "Jenna", "Park"),
        "colleague": staff("colleague@bench.example.org", "Omar", "Reyes"),
        "today": today,
        "first_day": today - dt.timedelta(days=DAYS),
        "rng": random.Random(SEED),
    }


def _new_patients(world: dict[str, Any], count: int, seed: int) -> list[Any]:
    """``count`` synthetic patients of the facility (``generate_patients``), newest last."""
    from openiop.patients.models import Patient
    from openiop.synthetic.generate import generate_patients

    before = set(Patient.objects.values_list("pk", flat=True))
    generate_patients(world["facility"], count=count, seed=seed)
    made = list(Patient.objects.exclude(pk__in=before).order_by("pk"))
    assert len(made) == count, (len(made), count)
    return made


def _episodes(
    world: dict[str, Any], patients: list[Any], clinician: Any, admitted: dt.date
) -> list[Any]:
    """An open episode and a primary-clinician care-team row per patient (bulk)."""
    from openiop.admissions.models import EpisodeOfCare
    from openiop.patients.models import CareTeamMember, Patient

    Patient.objects.filter(pk__in=[p.pk for p in patients]).update(status=Patient.Status.ACTIVE)
    CareTeamMember.objects.bulk_create(
        CareTeamMember(patient=p, user=clinician, role=CareTeamMember.Role.PRIMARY_CLINICIAN)
        for p in patients
    )
    return EpisodeOfCare.objects.bulk_create(
        EpisodeOfCare(
            patient=p,
            facility=world["facility"],
            program=world["program"],
            level_of_care="2.1",
            track=world["track"],
            phase=world["phases"][-1],
            admission_date=admitted,
            primary_clinician=clinician,
            referral_source=1,
            teds_services=6,
        )
        for p in patients
    )


def _plan(world: dict[str, Any], episode: Any, clinician: Any, objectives: int) -> None:
    """A signed treatment plan through the services: one problem, ``objectives`` objectives."""
    from openiop.plans import services

    target = world["today"] + dt.timedelta(days=60)
    version = services.start_plan(actor=clinician, episode=episode)
    services.update_intensity(
        actor=clinician,
        version=version,
        data={
            "hours_per_day": 3,
            "days_per_week": 3,
            "meetings_per_week": 2,
            "strengths": "Steady job; close to her sister; wants to stay well.",
            "discharge_criteria": "Meets her objectives and has a relapse-prevention plan.",
        },
    )
    problem = services.save_problem(
        actor=clinician,
        version=version,
        data={
            "statement": "Daily alcohol use despite harm at work and home.",
            "category": "substance_use",
            "asam_dimensions": "5,6",
            "diagnosis_codes": "F10.20",
            "own_words": "I want to stop drinking and keep my job.",
            "clinical": "Abstinence from alcohol; stable employment.",
        },
    )
    goal = problem.goals.get()
    for n in range(objectives):
        objective = services.save_objective(
            actor=clinician,
            goal=goal,
            data={
                "text": f"Objective {n + 1}: name three triggers and a plan for each.",
                "target_date": target,
            },
        )
        services.save_intervention(
            actor=clinician,
            objective=objective,
            data={
                "modality": "group",
                "description": "Relapse prevention skills group",
                "frequency": "3 times a week",
                "responsible": clinician,
            },
        )
    patient = episode.patient
    services.sign(
        actor=clinician,
        version=version,
        role="patient",
        typed_name=f"{patient.first_name} {patient.last_name}",
        attested=True,
    )
    services.sign(actor=clinician, version=version, role="clinician", password=PASSWORD)


def _at(world: dict[str, Any], day: dt.date, clock: dt.time) -> dt.datetime:
    """A local time at the facility on ``day``."""
    return dt.datetime.combine(day, clock, tzinfo=world["facility"].zone)


def _days(world: dict[str, Any], count: int, *, offset: int = 0) -> list[dt.date]:
    """``count`` days spread evenly over the two years, oldest first, the last yesterday."""
    return [
        world["first_day"] + dt.timedelta(days=min(DAYS - 1, i * DAYS // count + offset))
        for i in range(count)
    ]


def _split(events: int) -> dict[str, int]:
    """How many events of each kind make ``events`` in all."""
    rest = max(0, events - sum(FIXED.values()))
    counts = {kind: round(rest * share) for kind, share in MIX.items()}
    return {"session": rest - sum(counts.values()), **counts, **FIXED}


def _pool(world: dict[str, Any], size: int) -> dict[str, Any]:
    """``size`` group sessions over the two years in three daily schedules, each with its
    group note (unsigned until every history has its entries)."""
    from django.utils import timezone

    from openiop.notes.models import GroupNote
    from openiop.scheduling.models import CurriculumTopic, GroupType, Room, Schedule, Session

    facility, clinician = world["facility"], world["clinician"]
    names = ("Process group", "Relapse prevention", "Early-recovery skills")
    groups = GroupType.objects.bulk_create(
        GroupType(program=world["program"], name=name, kind="process", duration_minutes=90)
        for name in names
    )
    CurriculumTopic.objects.bulk_create(
        CurriculumTopic(group=g, order=n, title=f"{g.name}: topic {n}")
        for g in groups
        for n in range(1, 13)
    )
    room = Room.objects.create(facility=facility, name="Group room 1")
    schedules = Schedule.objects.bulk_create(
        Schedule(
            group=groups[k],
            facility=facility,
            track=world["track"],
            rrule="FREQ=DAILY",
            start_date=world["first_day"],
            start_time=start,
            duration_minutes=90,
            room=room,
            facilitator=clinician,
            materialized_through=world["today"],
            created_by=clinician,
        )
        for k, start in enumerate(SLOTS)
    )
    per_slot = -(-size // len(SLOTS))
    sessions = []
    for i in range(size):
        slot = i % len(SLOTS)
        day = world["first_day"] + dt.timedelta(days=(i // len(SLOTS)) * DAYS // per_slot)
        starts = _at(world, day, SLOTS[slot])
        sessions.append(
            Session(
                schedule=schedules[slot],
                group=groups[slot],
                facility=facility,
                track=world["track"],
                occurrence_date=day,
                starts_at=starts,
                ends_at=starts + dt.timedelta(minutes=90),
                service_date=day,
                original_starts_at=starts,
                room=room,
                facilitator=clinician,
                topic=f"{groups[slot].name}: topic {i % 12 + 1}",
                attendance_saved_at=starts + dt.timedelta(minutes=95),
                attendance_saved_by=clinician,
            )
        )
    Session.objects.bulk_create(sessions, batch_size=1000)
    sessions.sort(key=lambda s: s.starts_at)
    now = timezone.now()
    notes = GroupNote.objects.bulk_create(
        (
            GroupNote(
                session=s,
                facility=facility,
                service_date=s.service_date,
                started_at=s.starts_at,
                ended_at=s.ends_at,
                author=clinician,
                created_at=now,
                updated_at=now,
                topic=s.topic,
                interventions="Psychoeducation, role play of refusal skills, check-ins.",
                process="Members shared triggers from the week and practised a plan for each.",
            )
            for s in sessions
        ),
        batch_size=1000,
    )
    return {"sessions": sessions, "notes": {n.session_id: n for n in notes}}


def _history(
    world: dict[str, Any], pool: dict[str, Any], patient: Any, episode: Any, events: int
) -> dict[str, int]:
    """Two years of ``patient``'s records, bulk-inserted; returns the events made per kind
    (the plan, signed through the services, is made by the caller)."""
    from openiop.admissions.models import PhaseChange
    from openiop.measures import scoring
    from openiop.measures.models import Administration
    from openiop.notes.models import GroupNoteEntry, Note
    from openiop.recovery.models import (
        DrugTest,
        DrugTestResult,
        Meeting,
        RelapseEvent,
        SobrietyDate,
    )
    from openiop.scheduling.models import Attendance

    rng: random.Random = world["rng"]
    facility, author = world["facility"], episode.primary_clinician
    counts = _split(events)
    made: Counter[str] = Counter({"admission": 1})
    base = {"patient": patient, "episode": episode, "facility": facility}

    # Group sessions: an evenly spread share of the pool, 85 % present.
    sessions = pool["sessions"]
    wanted = min(counts["session"], len(sessions))
    rows = []
    for i in range(wanted):
        session = sessions[i * len(sessions) // wanted]
        roll = rng.random()
        status = next(s for s, upto in STATUSES if roll < upto)
        rows.append(
            Attendance(
                session=session,
                service_date=session.service_date,
                status=status,
                minutes=90 if status == "present" else 75 if status in ATTENDED else 0,
                recorded_by=author,
                recorded_at=session.ends_at,
                **base,
            )
        )
    Attendance.objects.bulk_create(rows, batch_size=1000)
    made["session"] = len(rows)

    # The patient's parts of group notes, for sessions attended.
    came = [a for a in rows if a.status in ATTENDED]
    parts = min(counts["group_note"], len(came))
    GroupNoteEntry.objects.bulk_create(
        (
            GroupNoteEntry(
                group_note=pool["notes"][a.session_id],
                patient=patient,
                episode=episode,
                attendance=a,
                participation=rng.choice(["active", "active", "engaged", "minimal"]),
                response="Named two triggers and practised saying no; engaged with peers.",
                plan="Keep attending; practise the refusal plan before the weekend.",
            )
            for a in (came[j * len(came) // parts] for j in range(parts))
        ),
        batch_size=1000,
    )
    made["group_note"] = parts

    # Individual, family and case-management notes (the last two still drafts).
    kinds = ("individual", "individual", "family", "case_management")
    days = _days(world, counts["note"], offset=1)
    notes = []
    for i, day in enumerate(days):
        started = _at(world, day, dt.time(15, 0))
        ended = started + dt.timedelta(minutes=50)
        draft = i >= len(days) - 2
        notes.append(
            Note(
                kind=kinds[i % len(kinds)],
                note_format="dap",
                sections={
                    "data": "Reported four days without use; slept better; argued with partner.",
                    "assessment": "Engaged; cravings lower; conflict at home a risk.",
                    "plan": "Practise the conflict plan; family session in two weeks.",
                },
                service_date=day,
                started_at=started,
                ended_at=ended,
                author=author,
                created_at=ended,
                updated_at=ended,
                signed_at=None if draft else ended + dt.timedelta(hours=1),
                signed_by=None if draft else author,
                sign_method="" if draft else "password",
                **base,
            )
        )
    Note.objects.bulk_create(notes, batch_size=1000)
    made["note"] = len(notes)

    # Instruments: BAM weekly, PHQ-9 and GAD-7 every two weeks (each scored).
    items = {"bam": (17, 4), "phq9": (9, 3), "gad7": (7, 3)}
    given = []
    for i, day in enumerate(_days(world, counts["measure"], offset=2)):
        code = ("bam", "phq9", "bam", "gad7")[i % 4]
        n, top = items[code]
        answers = {str(k): rng.randint(0, top) for k in range(1, n + 1)}
        if code == "phq9":
            answers["9"] = 0
        score = scoring.score(code, answers)
        when = _at(world, day, dt.time(11, 0))
        given.append(
            Administration(
                patient=patient,
                instrument=code,
                answers=answers,
                total=score.total,
                band=score.band,
                flags=sorted(score.flags),
                subscales=score.subscales,
                administered_at=when,
                administered_by=author,
                entered_at=when,
                entered_by=author,
            )
        )
    Administration.objects.bulk_create(given, batch_size=1000)
    made["measure"] = len(given)

    # Drug tests, five substances each; one in 15 with an unexpected positive.
    tests = DrugTest.objects.bulk_create(
        (
            DrugTest(
                specimen="oral_fluid" if i % 5 == 4 else "urine",
                observed=True,
                collected_at=_at(world, day, dt.time(9, 30)),
                collected_by=author,
                recorded_by=author,
                recorded_at=_at(world, day, dt.time(16, 0)),
                **base,
            )
            for i, day in enumerate(_days(world, counts["drug_test"], offset=3))
        ),
        batch_size=1000,
    )
    DrugTestResult.objects.bulk_create(
        (
            DrugTestResult(
                test=test,
                substance=substance,
                result="positive" if positive else "negative",
                reading="unexpected" if positive else "negative",
            )
            for i, test in enumerate(tests)
            for substance in PANEL
            for positive in [i % 15 == 7 and substance == "cocaine"]
        ),
        batch_size=1000,
    )
    made["drug_test"] = len(tests)

    # Mutual-help meetings.
    fellowships = ("aa", "na", "smart")
    meetings = Meeting.objects.bulk_create(
        (
            Meeting(
                date=day,
                week_start=day - dt.timedelta(days=day.weekday()),
                fellowship=fellowships[i % 3],
                name="Tuesday night group",
                setting="community_center",
                minutes=60,
                verification="self",
                recorded_by=author,
                **base,
            )
            for i, day in enumerate(_days(world, counts["meeting"], offset=4))
        ),
        batch_size=1000,
    )
    made["meeting"] = len(meetings)

    # Two relapses, the sobriety date first set at admission and reset after each.
    first = world["first_day"]
    relapses = RelapseEvent.objects.bulk_create(
        RelapseEvent(
            date=first + dt.timedelta(days=int(DAYS * share)),
            substances=["alcohol"],
            circumstances="A family party; stayed past the plan.",
            came_to_light="self_report",
            recorded_by=author,
            **base,
        )
        for share in (0.3, 0.6)
    )
    SobrietyDate.objects.bulk_create(
        [
            SobrietyDate(
                patient=patient,
                sobriety_date=first - dt.timedelta(days=10),
                reason="first",
                set_by=author,
                set_at=_at(world, first, dt.time(10, 0)),
            ),
            *(
                SobrietyDate(
                    patient=patient,
                    sobriety_date=r.date + dt.timedelta(days=1),
                    previous_date=first - dt.timedelta(days=10) if n == 0 else None,
                    reason="relapse",
                    relapse=r,
                    set_by=author,
                    set_at=_at(world, r.date + dt.timedelta(days=2), dt.time(10, 0)),
                )
                for n, r in enumerate(relapses)
            ),
        ]
    )
    made["relapse"], made["sobriety"] = len(relapses), len(relapses) + 1
    phases = world["phases"]
    PhaseChange.objects.bulk_create(
        PhaseChange(
            episode=episode,
            from_phase=phases[n],
            to_phase=phases[n + 1],
            changed_on=first + dt.timedelta(days=day),
            reason="Met the phase's criteria.",
            changed_by=author,
        )
        for n, day in enumerate((90, 240))
    )
    made["phase"] = 2
    return dict(made)


def _group_sessions(world: dict[str, Any], sizes: list[int]) -> list[dict[str, Any]]:
    """Per size: a session that ended an hour ago with that many attendees (and one excused)
    and no note, and another with a draft note where every attendee's part is written."""
    from django.utils import timezone

    from openiop.notes import selectors as note_selectors
    from openiop.notes import services as note_services
    from openiop.scheduling.models import (
        Attendance,
        CurriculumTopic,
        GroupType,
        Room,
        Schedule,
        Session,
    )

    facility, clinician = world["facility"], world["clinician"]
    patients = _new_patients(world, max(sizes) + 1, SEED + 1)
    episodes = _episodes(world, patients, clinician, world["today"] - dt.timedelta(days=30))
    for episode in episodes:
        _plan(world, episode, clinician, 3)
    objectives: dict[int, int] = {}
    for objective in note_selectors.active_objectives([p.pk for p in patients]):
        objectives.setdefault(objective.patient_id, objective.pk)  # type: ignore[attr-defined]
    group = GroupType.objects.create(
        program=world["program"], name="Relapse prevention (today)", kind="relapse_prevention"
    )
    CurriculumTopic.objects.bulk_create(
        CurriculumTopic(group=group, order=n, title=f"Relapse prevention: topic {n}")
        for n in range(1, 13)
    )
    room = Room.objects.create(facility=facility, name="Group room 2")
    starts = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=150)
    local = starts.astimezone(facility.zone)
    runs = []
    for size in sizes:
        made = {}
        for variant in ("empty", "draft"):
            schedule = Schedule.objects.create(
                group=group,
                facility=facility,
                track=world["track"],
                rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR",
                start_date=local.date(),
                start_time=local.time(),
                duration_minutes=90,
                room=room,
                facilitator=clinician,
                created_by=clinician,
            )
            session = Session.objects.create(
                schedule=schedule,
                group=group,
                facility=facility,
                track=world["track"],
                occurrence_date=local.date(),
                starts_at=starts,
                ends_at=starts + dt.timedelta(minutes=90),
                service_date=local.date(),
                original_starts_at=starts,
                room=room,
                facilitator=clinician,
                topic="Relapse prevention: topic 3",
            )
            who = [*zip(patients[:size], episodes[:size], strict=True)]
            Attendance.objects.bulk_create(
                [
                    *(
                        Attendance(
                            session=session,
                            episode=e,
                            patient=p,
                            facility=facility,
                            service_date=session.service_date,
                            status="present",
                            minutes=90,
                            recorded_by=clinician,
                        )
                        for p, e in who
                    ),
                    Attendance(
                        session=session,
                        episode=episodes[-1],
                        patient=patients[-1],
                        facility=facility,
                        service_date=session.service_date,
                        status="excused",
                        recorded_by=clinician,
                    ),
                ]
            )
            if variant == "draft":
                note_services.save_group_note(
                    actor=clinician,
                    session=session,
                    topic="Relapse prevention: topic 3",
                    interventions="Psychoeducation on high-risk situations; role play.",
                    process="Members mapped their week's triggers and coached each other.",
                    entries={
                        p.pk: note_services.EntryInput(
                            participation="active",
                            response="Named two triggers and a plan for each; supported peers.",
                            plan="Practise the refusal plan; review it at the next group.",
                            objective_id=objectives[p.pk],
                            progress="progressing",
                        )
                        for p, _ in who
                    },
                )
            made[variant] = session.pk
        runs.append({"attendees": size, **made})
    return runs


def _where_time_goes(call: Callable[[], Any], times: int = 10) -> tuple[float, float]:
    """Over ``times`` more requests, the median ms spent in the database (the statements' own
    timings) and the median CPU ms of this process (``time.process_time``: views, forms,
    templates, the ORM, and SQLite itself; not PostgreSQL's server). CPU time hardly grows
    when other work shares the machine, wall-clock time does."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sql, cpu = [], []
    for _ in range(times):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.process_time()
            call()
            cpu.append((time.process_time() - t0) * 1000)
        statements = [
            float(q["time"])
            for q in ctx.captured_queries
            if not q["sql"].startswith(harness.SESSION_WRITE)
        ]
        sql.append(1000 * sum(statements))
    return harness.percentile(sql, 50), harness.percentile(cpu, 50)


def _measure(name: str, call: Callable[[], Any], repeat: int, explain: bool) -> dict[str, Any]:
    figures = harness.measure(
        name, call, repeat, title=SCENARIO_TITLES[name], http=True, slowest=3 if explain else 0
    )
    figures["sql_p50"], figures["cpu_p50"] = _where_time_goes(call)
    print(
        f"    10 more requests, p50: {figures['cpu_p50']:.1f} ms CPU in this process, "
        f"{figures['sql_p50']:.1f} ms in SQL statements",
        flush=True,
    )
    return figures


def run_worker(args: argparse.Namespace) -> int:
    harness.setup_django()
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from openiop.patients.models import Patient
    from openiop.plans.models import PlanVersion
    from openiop.timeline import selectors

    harness.migrate()
    world = _world()
    t0 = time.perf_counter()
    sizes = sorted(args.events)
    pool = _pool(world, max(_split(n)["session"] for n in sizes))
    print(
        f"{len(pool['sessions']):,} group sessions with their notes in "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    # The measured patients (the clinician's), then the others (a colleague's).
    t0 = time.perf_counter()
    measured = _new_patients(world, len(sizes), SEED)
    admitted = world["first_day"] - dt.timedelta(days=1)
    episodes = _episodes(world, measured, world["clinician"], admitted)
    histories = []
    for patient, episode, events in zip(measured, episodes, sizes, strict=True):
        made = _history(world, pool, patient, episode, events)
        _plan(world, episode, world["clinician"], 2)
        made["plan"] = PlanVersion.objects.filter(
            plan__patient=patient, activated_at__isnull=False
        ).count()
        histories.append((events, patient.pk, made))
    if args.others:
        others = _new_patients(world, args.others, SEED + 2)
        other_episodes = _episodes(world, others, world["colleague"], admitted)
        for patient, episode in zip(others, other_episodes, strict=True):
            _history(world, pool, patient, episode, max(sizes))
    # Sign every group note but the last three (their entries are all in by now).
    from django.utils import timezone

    from openiop.notes.models import GroupNote, GroupNoteEntry

    drafts = [s.pk for s in pool["sessions"][-3:]]
    signed = GroupNote.objects.exclude(session_id__in=drafts).update(
        signed_at=timezone.now(), signed_by=world["clinician"], sign_method="password"
    )
    print(
        f"{len(sizes) + args.others} histories ({GroupNoteEntry.objects.count():,} group-note "
        f"parts, {signed:,} group notes signed) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    t0 = time.perf_counter()
    group_runs = _group_sessions(world, sorted(args.attendees))
    print(
        f"group-note sessions for {sorted(args.attendees)} attendees (plans and drafts through "
        f"the services) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    harness.analyze()
    load = [os.getloadavg()[0]]
    client = Client()
    client.force_login(world["clinician"])
    timeline_runs = []
    year_ago = (world["today"] - dt.timedelta(days=365)).isoformat()
    for events, pk, made in histories:
        patient = Patient.objects.select_related("facility").get(pk=pk)
        page = selectors.timeline(patient)
        total = sum(made.values())
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(made.items(), key=lambda kv: -kv[1]))
        print(
            f"\n{events:,} events asked: {kinds} = {total:,}; timeline total {page.total:,} "
            f"in {page.pages} pages" + ("" if total == page.total else "  (MISMATCH)"),
            flush=True,
        )
        base = reverse("timeline:chart", kwargs={"patient_id": pk})
        pages = {
            "timeline": base,
            "timeline_notes": f"{base}?show=notes&from={year_ago}",
            "timeline_last": f"{base}?page={page.pages}",
            "timeline_api": f"{reverse('api:timeline')}?patient={pk}",
        }
        scenarios = {
            name: _measure(name, functools.partial(client.get, url), args.repeat, args.explain)
            for name, url in pages.items()
        }
        timeline_runs.append(
            {"events": events, "total": page.total, "kinds": made, "scenarios": scenarios}
        )
    group_results = []
    for run in group_runs:
        print(f"\n{run['attendees']} attendees:", flush=True)
        try:
            urls = {
                "group_empty": reverse("notes:group", kwargs={"session_id": run["empty"]}),
                "group_draft": reverse("notes:group", kwargs={"session_id": run["draft"]}),
            }
        except NoReverseMatch:
            print("  (no url notes:group yet: the screen is not measured)", flush=True)
            continue
        scenarios = {
            name: _measure(name, functools.partial(client.get, url), args.repeat, args.explain)
            for name, url in urls.items()
        }
        group_results.append({"attendees": run["attendees"], "scenarios": scenarios})
    load.append(os.getloadavg()[0])
    print(
        f"\n1-minute load average {load[0]:.1f} before measuring, {load[1]:.1f} after", flush=True
    )
    if args.explain:
        for run in [*timeline_runs, *group_results]:
            for name, s in run["scenarios"].items():
                if s["p95"] >= TARGET_MS:
                    print(f"\n  slowest statements of {SCENARIO_TITLES[name]}:")
                    for q in s["slowest_sql"]:
                        print(f"  [{q['ms']} ms] {q['sql'][:600]}")
    Path(args.json_out).write_text(
        json.dumps(
            {
                "database": args.database,
                "load": load,
                "timeline": timeline_runs,
                "group": group_results,
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--repeat", type=int, default=100, help="measured requests per page")
    parser.add_argument(
        "--events",
        type=int,
        nargs="+",
        default=[500, 2000],
        help="timeline events of a measured patient over two years, one patient each",
    )
    parser.add_argument(
        "--attendees", type=int, nargs="+", default=[5, 15], help="attendees of a group session"
    )
    parser.add_argument(
        "--others",
        type=int,
        default=20,
        help="other patients with the largest history, so the tables are a clinic's",
    )
    parser.add_argument(
        "--explain", action="store_true", help="print the slowest statements of a page over target"
    )
    parser.add_argument("--pg-url", default=harness.DEFAULT_PG_URL)
    harness.add_run_options(parser, sizes=False)
    args = parser.parse_args(argv)
    if any(n < 100 for n in args.events) or any(n < 1 for n in args.attendees):
        parser.error("at least 100 events and 1 attendee")
    if max(_split(n)["session"] for n in args.events) > DAYS * len(SLOTS):
        parser.error(f"at most {DAYS * len(SLOTS)} group sessions in two years: fewer events")
    if args.others < 0:
        parser.error("--others is 0 or more")
    return run_worker(args) if args.worker else run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
