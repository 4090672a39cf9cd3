#!/usr/bin/env python
"""Weekly dose report and group attendance benchmark for OpenIOP (see benchmarks/README.md).

    .venv/bin/python benchmarks/dose_report.py [--databases sqlite postgres] [--sizes 100 500]
        [--repeat 100] [--weeks 52]

For every (database, size) the script starts a fresh database and runs itself again in a
subprocess (``--worker``, see ``harness.run_parent``), because Django settings are
process-global. The worker migrates, creates an organization, a facility, an adult IOP
program (3 h a day, 3 days and 9 h a week, at most 19 h) with day and evening tracks, a
clinical director, 20 clinicians and ``size`` synthetic patients, each with an open episode
admitted ``--weeks`` weeks ago.

The patients are in cohorts of 12 (a group's default capacity). A cohort meets on the day
track (9:00 and 10:45) or the evening track (18:00 and 19:45), two 90-minute groups a day,
on Monday, Wednesday and Friday, and half the cohorts on Tuesday and Thursday too: 3 or 5
service days and 6 or 10 groups a week, about 8 attendance rows per patient per week, so
500 patients over 52 weeks give about 200,000 rows. Schedules, sessions, enrollments and
attendance are bulk-inserted (what the services write, without their checks, so a year
builds in seconds); DoseDay is filled with ONE ``INSERT … SELECT … GROUP BY`` from the
attendance, which is what ``services.refresh_dose`` keeps day by day.

It then measures, after 3 warm-up calls (``--repeat`` calls each):

* ``report_selector``: ``selectors.facility_week_dose`` for last week, as the clinical
  director, every row's status computed;
* ``report_page``: ``GET /schedule/dose/?week=…`` (url ``scheduling:dose_report``) through
  ``django.test.Client`` signed in as the director — only when that url exists;
* ``at_risk``: ``selectors.at_risk`` (patients with no attendance for 7 days or more);
* ``save``: ``services.save_group_attendance`` for one 12-person group's latest past
  session, the lines alternating present / late (arrived 15 minutes after the start) so
  every save changes all 12 rows.

p50/p95/max server time (``time.perf_counter`` around the call) and SQL queries per call
(``CaptureQueriesContext``; the idle-timeout session save is not counted), by
``harness.measure``. The summary checks
the targets (report p95 < 200 ms, save p95 < 100 ms) and whether each scenario's query count
is the same at every size.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness

PG_DB_NAME = "openiop_bench_dose"
SEED = 20260501
COHORT = 12
CLINICIANS = 20
ROOMS = 24
TARGETS = {"report_selector": 200.0, "report_page": 200.0, "save": 100.0}

SCENARIO_TITLES = {
    "report_selector": "dose report: selectors.facility_week_dose",
    "report_page": "dose report page (GET /schedule/dose/?week=)",
    "at_risk": "at-risk list: selectors.at_risk",
    "save": "save a 12-person group (save_group_attendance)",
}


# --------------------------------------------------------------------------------------
# Parent: one fresh database and one worker subprocess per (database, size), in harness
# --------------------------------------------------------------------------------------


def run_parent(args: argparse.Namespace) -> int:
    print(harness.banner("dose report benchmark"))
    print(
        f"databases={args.databases} sizes={args.sizes} weeks={args.weeks} repeat={args.repeat} "
        f"experiments={args.experiment or []}"
    )
    options = ["weeks", "repeat", "explain", "at_risk", "experiment"]
    return harness.run_parent(args, __file__, PG_DB_NAME, options, print_summary)


def print_summary(results: list[dict[str, Any]], skipped: dict[str, str]) -> None:
    print("\n" + " SUMMARY ".center(78, "="))
    rows = []
    for r in results:
        if "failed" in r:
            rows.append([r["database"], r["size"], "FAILED", "", "", "", "", "", ""])
            continue
        for name, s in r["scenarios"].items():
            target = TARGETS.get(name)
            verdict = "" if target is None else ("PASS" if s["p95"] < target else "**FAIL**")
            rows.append(
                [
                    r["database"],
                    f"{r['size']:,}",
                    SCENARIO_TITLES[name],
                    f"{r['attendance']:,}",
                    *harness.ms_cells(s),
                    harness.fmt_range(s["q_min"], s["q_max"]),
                    verdict,
                ]
            )
    if rows:
        headers = [
            "db",
            "patients",
            "scenario",
            "attendance",
            "p50 ms",
            "p95 ms",
            "max ms",
            "queries",
            "target",
        ]
        print(harness.table(headers, rows, left={0, 2}))
    harness.print_query_counts(
        ((r["database"], r["scenarios"]) for r in results if "failed" not in r), SCENARIO_TITLES
    )
    for kind, why in skipped.items():
        print(f"{kind}: SKIPPED ({why})")


# --------------------------------------------------------------------------------------
# Worker: runs inside one process per (database, size) with DATABASE_URL already set
# --------------------------------------------------------------------------------------


def _world(size: int, weeks: int) -> dict[str, Any]:
    """The facility, its program, staff and ``size`` patients with open episodes."""
    from django.utils import timezone

    from openiop.accounts.models import Facility, Organization, Phase, Program, Track, User
    from openiop.accounts.roles import Role
    from openiop.admissions.models import EpisodeOfCare
    from openiop.patients.models import CareTeamMember, Patient
    from openiop.synthetic.generate import generate_patients

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
    day = Track.objects.create(
        program=program, name="Day", kind="day", start_time=dt.time(9), end_time=dt.time(12, 15)
    )
    night = Track.objects.create(
        program=program,
        name="Evening",
        kind="evening",
        start_time=dt.time(18),
        end_time=dt.time(21, 15),
    )
    phase = Phase.objects.create(program=program, order=1, code="early", name="Early recovery")

    def staff(email: str, role: str, first: str, last: str) -> Any:
        user = User.objects.create_user(
            email, password=None, role=role, organization=org, first_name=first, last_name=last
        )
        user.facilities.set([facility])
        return user

    director = staff("director@bench.example.org", Role.CLINICAL_DIRECTOR, "Renee", "Okafor")
    clinicians = [
        staff(f"clinician{i}@bench.example.org", Role.CLINICIAN, "Group", f"Leader{i:02d}")
        for i in range(CLINICIANS)
    ]
    t0 = time.perf_counter()
    generate_patients(facility, count=size, seed=SEED)
    patients = list(Patient.objects.filter(facility=facility).order_by("pk"))
    Patient.objects.filter(facility=facility).update(status=Patient.Status.ACTIVE)
    today = timezone.localdate(timezone=facility.zone)
    admitted = today - dt.timedelta(days=7 * weeks + 1)
    CareTeamMember.objects.bulk_create(
        CareTeamMember(
            patient=p,
            user=clinicians[n % CLINICIANS],
            role=CareTeamMember.Role.PRIMARY_CLINICIAN,
        )
        for n, p in enumerate(patients)
    )
    episodes = EpisodeOfCare.objects.bulk_create(
        EpisodeOfCare(
            patient=p,
            facility=facility,
            program=program,
            level_of_care="2.1",
            track=day if (n // COHORT) % 2 == 0 else night,
            phase=phase,
            admission_date=admitted,
            primary_clinician=clinicians[n % CLINICIANS],
            referral_source=1,
            teds_services=6,
        )
        for n, p in enumerate(patients)
    )
    print(f"{size:,} patients with open episodes in {time.perf_counter() - t0:.1f} s", flush=True)
    return {
        "facility": facility,
        "program": program,
        "tracks": (day, night),
        "director": director,
        "clinicians": clinicians,
        "episodes": episodes,
        "today": today,
        "admitted": admitted,
    }


GROUPS = (
    ("Process group", "process"),
    ("Psychoeducation", "psychoeducation"),
    ("Early-recovery skills", "early_recovery"),
    ("Relapse prevention", "relapse_prevention"),
    ("CBT / DBT skills", "cbt_dbt"),
    ("Family education", "family_education"),
    ("12-step meeting", "mutual_help"),
    ("Mindfulness skills", "cbt_dbt"),
    ("Living in recovery", "psychoeducation"),
    ("Coping with cravings", "relapse_prevention"),
)
SLOTS = {  # track index -> the two 90-minute groups of a session day
    0: (dt.time(9, 0), dt.time(10, 45)),
    1: (dt.time(18, 0), dt.time(19, 45)),
}
PATTERNS = ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=WEEKLY;BYDAY=TU,TH")


def _build_year(world: dict[str, Any]) -> dict[str, Any]:
    """Schedules, sessions, enrollments and a year of attendance, bulk-inserted; then DoseDay
    with one INSERT … SELECT."""
    from django.db import connection, transaction
    from django.utils import timezone

    from openiop.scheduling import rules
    from openiop.scheduling.models import (
        Attendance,
        DoseDay,
        Enrollment,
        GroupType,
        Room,
        Schedule,
        Session,
    )

    facility, program = world["facility"], world["program"]
    director, clinicians = world["director"], world["clinicians"]
    today, admitted = world["today"], world["admitted"]
    episodes = world["episodes"]
    rng = random.Random(SEED)
    now = timezone.now()
    t0 = time.perf_counter()
    groups = GroupType.objects.bulk_create(
        GroupType(program=program, name=name, kind=kind, duration_minutes=90)
        for name, kind in GROUPS
    )
    rooms = Room.objects.bulk_create(
        Room(facility=facility, name=f"Group room {n + 1}") for n in range(ROOMS)
    )
    cohorts = [episodes[i : i + COHORT] for i in range(0, len(episodes), COHORT)]
    plans: list[tuple[Schedule, list[Any]]] = []
    for c, members in enumerate(cohorts):
        lane = c % 2
        patterns = PATTERNS if c % 4 < 2 else PATTERNS[:1]  # 5 or 3 days a week
        k = 0
        for pattern in patterns:
            for start in SLOTS[lane]:
                schedule = Schedule(
                    group=groups[(c + k) % len(groups)],
                    facility=facility,
                    track=world["tracks"][lane],
                    rrule=pattern,
                    start_date=admitted,
                    start_time=start,
                    duration_minutes=90,
                    room=rooms[(c // 2) % ROOMS],
                    facilitator=clinicians[(c * 2 + k) % CLINICIANS],
                    materialized_through=today + dt.timedelta(days=14),
                    created_by=director,
                )
                plans.append((schedule, members))
                k += 1
    Schedule.objects.bulk_create([s for s, _ in plans])
    sessions: list[Session] = []
    for schedule, _ in plans:
        for o in rules.expand(
            schedule.rrule,
            start_date=schedule.start_date,
            start_time=schedule.start_time,
            minutes=90,
            zone=facility.zone,
            window_start=schedule.start_date,
            window_end=today + dt.timedelta(days=14),
        ):
            sessions.append(
                Session(
                    schedule=schedule,
                    group_id=schedule.group_id,
                    facility=facility,
                    track_id=schedule.track_id,
                    occurrence_date=o.occurrence_date,
                    starts_at=o.starts_at,
                    ends_at=o.ends_at,
                    service_date=o.starts_at.date(),
                    original_starts_at=o.starts_at,
                    room_id=schedule.room_id,
                    facilitator_id=schedule.facilitator_id,
                )
            )
    Session.objects.bulk_create(sessions, batch_size=2000)
    Enrollment.objects.bulk_create(
        (
            Enrollment(
                episode=e,
                patient_id=e.patient_id,
                schedule=schedule,
                start_date=admitted,
                enrolled_by=director,
            )
            for schedule, members in plans
            for e in members
        ),
        batch_size=2000,
    )
    print(
        f"{len(plans)} schedules, {len(sessions):,} sessions, "
        f"{sum(len(m) for _, m in plans):,} enrollments in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    # Attendance: how often each person misses varies (some weeks fall below the minimum).
    t0 = time.perf_counter()
    members_of = {s.pk: m for s, m in plans}
    absence = {e.pk: rng.choice([0.03, 0.05, 0.08, 0.12, 0.25]) for e in episodes}
    batch: list[Attendance] = []
    made = 0
    with transaction.atomic():
        for session in sessions:
            if session.starts_at >= now or session.service_date >= today:
                continue
            local_start = session.starts_at.astimezone(facility.zone).time()
            for e in members_of[session.schedule_id]:
                roll = rng.random()
                miss = absence[e.pk]
                arrived = left = None
                if roll < miss * 0.6:
                    status = "excused"
                elif roll < miss:
                    status = "unexcused"
                elif roll < miss + 0.05:
                    status = "late"
                    arrived = (
                        dt.datetime.combine(session.service_date, local_start)
                        + dt.timedelta(minutes=rng.choice([10, 15, 20, 30]))
                    ).time()
                elif roll < miss + 0.08:
                    status = "left_early"
                    left = (
                        dt.datetime.combine(session.service_date, local_start)
                        + dt.timedelta(minutes=rng.choice([45, 60, 75]))
                    ).time()
                else:
                    status = "present"
                minutes = rules.minutes_attended(
                    status,
                    session_start=local_start,
                    session_minutes=90,
                    arrived=arrived,
                    left=left,
                )
                batch.append(
                    Attendance(
                        session=session,
                        episode_id=e.pk,
                        patient_id=e.patient_id,
                        facility=facility,
                        service_date=session.service_date,
                        status=status,
                        arrived_at=arrived,
                        left_at=left,
                        minutes=minutes,
                        recorded_by_id=session.facilitator_id,
                        recorded_at=session.ends_at,
                    )
                )
            if len(batch) >= 5000:
                Attendance.objects.bulk_create(batch, batch_size=2500)
                made += len(batch)
                batch = []
        Attendance.objects.bulk_create(batch, batch_size=2500)
        made += len(batch)
    seconds = time.perf_counter() - t0
    print(
        f"{made:,} attendance rows in {seconds:.1f} s ({made / max(seconds, 1e-9):,.0f} rows/s)",
        flush=True,
    )
    t0 = time.perf_counter()
    if connection.vendor == "postgresql":
        monday = "date_trunc('week', service_date)::date"
    else:
        monday = "date(service_date, 'weekday 0', '-6 days')"
    dose, att = DoseDay._meta.db_table, Attendance._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {dose} (episode_id, patient_id, facility_id, date, week_start, minutes) "  # noqa: S608 - table names from the models
            f"SELECT episode_id, patient_id, facility_id, service_date, {monday}, SUM(minutes) "
            f"FROM {att} GROUP BY episode_id, patient_id, facility_id, service_date"
        )
    days = DoseDay.objects.count()
    print(f"{days:,} dose days (one INSERT … SELECT) in {time.perf_counter() - t0:.1f} s")
    # Spot-check the SQL week start against the rule the service uses.
    for row in DoseDay.objects.order_by("?")[:20]:
        assert row.week_start == rules.week_start(row.date), (row.date, row.week_start)
    return {"attendance": made, "dose_days": days, "sessions": len(sessions), "plans": plans}


def _measure(name: str, call: Callable[[], Any], repeat: int, http: bool) -> dict[str, Any]:
    return harness.measure(name, call, repeat, title=SCENARIO_TITLES[name], http=http, slowest=3)


def _explain(sql: str) -> None:
    from django.db import connection

    postgres = connection.vendor == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        for row in cursor.fetchall():
            print("    " + " | ".join(str(c) for c in row))


# Experiments swap in a candidate change while the benchmark runs (none pending: the
# FilteredRelation/subquery fix for week_dose_rows has landed in selectors).
EXPERIMENTS: dict[str, Callable[[], str]] = {}


def run_worker(args: argparse.Namespace) -> int:
    harness.setup_django()
    for name in args.experiment or []:
        print(f"experiment {name}: {EXPERIMENTS[name]()}", flush=True)
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from openiop.scheduling import rules, selectors, services
    from openiop.scheduling.models import Attendance, Session

    harness.migrate()
    world = _world(args.size, args.weeks)
    built = _build_year(world)
    harness.analyze()
    facility, director = world["facility"], world["director"]
    today = world["today"]
    monday = rules.week_start(today) - dt.timedelta(days=7)
    scenarios: dict[str, dict[str, Any]] = {}

    def report() -> None:
        rows = selectors.facility_week_dose(director, facility, monday)
        assert len(rows) == args.size, len(rows)
        for row in rows:
            _ = row.status, row.hours_text, row.shortfall

    counts = selectors.weekly_counts(selectors.facility_week_dose(director, facility, monday))
    print(f"week of {monday}: {counts}", flush=True)
    scenarios["report_selector"] = _measure("report_selector", report, args.repeat, http=False)
    try:
        url = reverse("scheduling:dose_report")
    except NoReverseMatch:
        url = None
        print("  (no url scheduling:dose_report yet: the page is not measured)", flush=True)
    if url is not None:
        client = Client()
        client.force_login(director)
        page = f"{url}?week={monday.isoformat()}"
        scenarios["report_page"] = _measure(
            "report_page", lambda: client.get(page), args.repeat, http=True
        )
    if args.at_risk:  # slow on SQLite: see benchmarks/README.md
        scenarios["at_risk"] = _measure(
            "at_risk", lambda: selectors.at_risk(director, facility, today), args.repeat, http=False
        )
    # The latest past session of a full (12-person) cohort's first group.
    first_schedule = built["plans"][0][0]
    session = (
        Session.objects.filter(schedule=first_schedule, service_date__lt=today)
        .order_by("-starts_at")
        .first()
    )
    assert session is not None
    roster = sorted(Attendance.objects.filter(session=session).values_list("patient_id", flat=True))
    assert len(roster) == COHORT, len(roster)
    local_start = session.starts_at.astimezone(facility.zone).time()
    late = (dt.datetime.combine(today, local_start) + dt.timedelta(minutes=15)).time()
    state = {"turn": 0, "revision": session.attendance_revision}

    def save() -> None:
        turn = state["turn"]
        lines = [
            services.Line(patient_id=pid, status="present")
            if (turn + j) % 2 == 0
            else services.Line(patient_id=pid, status="late", arrived_at=late)
            for j, pid in enumerate(roster)
        ]
        saved = services.save_group_attendance(
            actor=director, session=session, lines=lines, revision=state["revision"]
        )
        assert len(saved) == COHORT or turn == 0, len(saved)  # the first warm-up: some
        state["turn"] += 1
        state["revision"] += 1

    scenarios["save"] = _measure("save", save, args.repeat, http=False)
    if args.explain:
        for name in ("report_selector", "save"):
            print(f"\n  slowest statements of {name}:")
            for q in scenarios[name]["slowest_sql"]:
                print(f"  [{q['ms']} ms] {q['sql'][:600]}")
                if q["sql"].lstrip().upper().startswith("SELECT"):
                    with contextlib.suppress(Exception):
                        _explain(q["sql"])
    Path(args.json_out).write_text(
        json.dumps(
            {
                "database": args.database,
                "size": args.size,
                "attendance": built["attendance"],
                "dose_days": built["dose_days"],
                "sessions": built["sessions"],
                "week_counts": counts,
                "scenarios": scenarios,
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[100, 500], help="patients (open episodes)"
    )
    parser.add_argument("--weeks", type=int, default=52, help="weeks of attendance")
    parser.add_argument("--repeat", type=int, default=100, help="measured calls per scenario")
    parser.add_argument("--pg-url", default=harness.DEFAULT_PG_URL)
    parser.add_argument(
        "--explain", action="store_true", help="print the slowest statements and their plans"
    )
    parser.add_argument(
        "--experiment",
        nargs="+",
        choices=sorted(EXPERIMENTS),
        help="monkeypatch a proposed fix in the worker (see benchmarks/README.md)",
    )
    parser.add_argument("--at-risk", action="store_true", help="also time selectors.at_risk")
    harness.add_run_options(parser, sizes=True)
    args = parser.parse_args(argv)
    if args.weeks < 2 or any(n < COHORT for n in args.sizes):
        parser.error(f"at least 2 weeks and {COHORT} patients")
    return run_worker(args) if args.worker else run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
