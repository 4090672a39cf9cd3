#!/usr/bin/env python
"""Instrument scoring and administration benchmark for OpenIOP.

    .venv/bin/python benchmarks/scoring.py [--scores 200000] [--administrations 1000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/scoring.py

1. **Pure scoring** (``openiop.measures.scoring.score``, no database): draws ``--scores``
   random valid answer sets across the seven instruments (from their definitions' options, so
   every answer the form can send is possible), scores them, and prints per instrument and
   overall: scores per second (the time spent inside ``score``) and p50/p95 per call in
   microseconds (each call timed with ``perf_counter_ns``). A second pass scores the same sets
   in a tight loop, without per-call timers, for the plain throughput.
2. **Administering** (``openiop.measures.services.administer``: score, insert, audit record,
   and for a suicide-risk flag the chart alert, its audit record and the notifications):
   makes a fresh database — a temporary SQLite file by default or, when DATABASE_URL names a
   PostgreSQL server, a database ``openiop_bench_scoring`` on that server (dropped afterwards
   unless ``--keep``) — migrates it, creates a facility, a clinician, a clinical director and
   ``--patients`` patients, then times ``--administrations`` administrations with random
   valid answers (the same mix of instruments) and prints p50/p95/max in ms and SQL queries
   per administration, with and without an alert.

Settings: ``OPENIOP_TESTING=true`` as the other benchmarks (django-tasks runs the e-mail task
inline after the commit; that is inside the measured time for administrations that alert).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

import harness

sys.path.insert(0, str(harness.ROOT))  # openiop, for pure scoring without Django set up
PG_DB_NAME = "openiop_bench_scoring"
SEED = 20260101


def random_answers(rng: random.Random, code: str) -> dict[str, Any]:
    """A valid answer set drawn from the instrument's options (C-SSRS "when" only after a yes)."""
    from openiop.measures import instruments

    definition = instruments.definition(code)
    answers = {i.number: rng.choice(i.options).value for i in definition.scored_items}
    if code == "cssrs_screen" and answers["6"]:
        answers["6_when"] = rng.choice(("past_3_months", "more_than_3_months_ago"))
    return answers


# --- 1. pure scoring -----------------------------------------------------------------------------


def bench_scoring(n: int, seed: int) -> None:
    from openiop.measures.scoring import INSTRUMENTS, score

    rng = random.Random(seed)
    work = []
    for _ in range(n):
        code = rng.choice(INSTRUMENTS)
        sex = rng.choice(("male", "female")) if code == "auditc" else None
        work.append((code, random_answers(rng, code), sex))
    per: dict[str, list[int]] = defaultdict(list)
    clock = time.perf_counter_ns
    for code, answers, sex in work:
        started = clock()
        score(code, answers, sex=sex)
        per[code].append(clock() - started)
    loop_started = time.perf_counter()
    for code, answers, sex in work:
        score(code, answers, sex=sex)
    loop_seconds = time.perf_counter() - loop_started

    rows = []
    every: list[int] = []
    for code in INSTRUMENTS:
        times = per[code]
        every.extend(times)
        rows.append(
            [
                code,
                f"{len(times):,}",
                f"{len(times) / (sum(times) / 1e9):,.0f}",
                f"{harness.percentile([t / 1000 for t in times], 50):.2f}",
                f"{harness.percentile([t / 1000 for t in times], 95):.2f}",
            ]
        )
    rows.append(
        [
            "all",
            f"{len(every):,}",
            f"{len(every) / (sum(every) / 1e9):,.0f}",
            f"{harness.percentile([t / 1000 for t in every], 50):.2f}",
            f"{harness.percentile([t / 1000 for t in every], 95):.2f}",
        ]
    )
    print(f"\n1. Pure scoring: {n:,} random valid answer sets (seed {seed})")
    print(harness.table(["instrument", "scores", "scores/s", "p50 µs", "p95 µs"], rows))
    print(
        f"tight loop without per-call timers: {n / loop_seconds:,.0f} scores/s "
        f"({loop_seconds:.2f} s for {n:,})"
    )


# --- 2. administering ----------------------------------------------------------------------------


def bench_administer(count: int, patients: int, seed: int) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from openiop.accounts.models import Facility, Organization, User
    from openiop.accounts.roles import Role
    from openiop.measures.models import Administration
    from openiop.measures.scoring import INSTRUMENTS
    from openiop.measures.services import administer
    from openiop.patients.models import CareTeamMember, ClinicalAlert, Patient

    print(f"\n2. administer() on {connection.vendor} ({connection.settings_dict['NAME']})")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    org = Organization.objects.create(name="Bench Recovery Collective")
    facility = Facility.objects.create(organization=org, name="Bench Facility", code="BEN")
    clinician = User.objects.create_user(
        "bench.clinician@example.org", role=Role.CLINICIAN, organization=org
    )
    director = User.objects.create_user(
        "bench.director@example.org", role=Role.CLINICAL_DIRECTOR, organization=org
    )
    for user in (clinician, director):
        user.facilities.add(facility)
    Patient.objects.bulk_create(
        Patient(
            facility=facility,
            mrn=f"BEN-{n}",
            first_name=f"Bench{n}",
            last_name="Example",
            date_of_birth=dt.date(1985, 1, 1) + dt.timedelta(days=n),
            sex_at_birth=("female", "male", "intersex")[n % 3],
        )
        for n in range(patients)
    )
    people = list(Patient.objects.select_related("facility").order_by("pk"))
    CareTeamMember.objects.bulk_create(
        CareTeamMember(patient=p, user=clinician, role=CareTeamMember.Role.PRIMARY_CLINICIAN)
        for p in people
    )
    rng = random.Random(seed)
    work = []
    for _ in range(count):
        code = rng.choice(INSTRUMENTS)
        work.append((rng.choice(people), code, random_answers(rng, code)))
    timings: dict[bool, list[float]] = defaultdict(list)
    queries: dict[bool, list[int]] = defaultdict(list)
    # One warm-up so that first-query costs (connection, statement caches) are not counted.
    administer(actor=clinician, patient=people[0], code="gad7", answers=random_answers(rng, "gad7"))
    for patient, code, answers in work:
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            # Intersex patients get the default (lower) AUDIT-C cut-off, as the form offers.
            a = administer(
                actor=clinician,
                patient=patient,
                code=code,
                answers=answers,
                administered_at=timezone.now(),
            )
            elapsed = (time.perf_counter() - t0) * 1000
        alerted = a.suicide_risk
        timings[alerted].append(elapsed)
        queries[alerted].append(len(ctx))

    rows = []
    for label, key in (("without alert", False), ("with suicide-risk alert", True)):
        t, q = timings[key], queries[key]
        if t:
            rows.append(
                [
                    label,
                    f"{len(t):,}",
                    f"{harness.percentile(t, 50):.2f}",
                    f"{harness.percentile(t, 95):.2f}",
                    f"{max(t):.2f}",
                    f"{min(q)}–{max(q)}" if min(q) != max(q) else str(q[0]),
                    f"{statistics.mean(q):.1f}",
                ]
            )
    every_t = timings[False] + timings[True]
    every_q = queries[False] + queries[True]
    rows.append(
        [
            "all",
            f"{len(every_t):,}",
            f"{harness.percentile(every_t, 50):.2f}",
            f"{harness.percentile(every_t, 95):.2f}",
            f"{max(every_t):.2f}",
            f"{min(every_q)}–{max(every_q)}",
            f"{statistics.mean(every_q):.1f}",
        ]
    )
    print(f"{count:,} administrations over {patients:,} patients (random instruments and answers):")
    print(
        harness.table(
            ["administrations", "n", "p50 ms", "p95 ms", "max ms", "queries", "mean queries"],
            rows,
        )
    )
    print(
        f"rows: {Administration.objects.count():,} administrations, "
        f"{ClinicalAlert.objects.count():,} alerts"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scores", type=int, default=200_000, help="answer sets to score")
    parser.add_argument("--administrations", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--no-database", action="store_true", help="pure scoring only")
    args = parser.parse_args()

    print(harness.banner("scoring benchmark"))
    bench_scoring(args.scores, args.seed)
    if args.no_database:
        return 0
    configured = os.environ.get("DATABASE_URL", "")
    postgres = configured.startswith(("postgres://", "postgresql://"))
    with harness.fresh_database(
        "postgres" if postgres else "sqlite", PG_DB_NAME, pg_url=configured, keep=args.keep
    ) as url:
        os.environ.update(
            harness.DJANGO_ENV,
            DATABASE_URL=url,
            # Alert e-mails are sent (inline, see above) but kept in memory, not printed.
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        )
        harness.setup_django()
        logging.getLogger("django_tasks").setLevel(logging.WARNING)
        try:
            bench_administer(args.administrations, args.patients, args.seed)
        finally:
            from django.db import connections

            connections.close_all()  # before the database is dropped
    return 0


if __name__ == "__main__":
    sys.exit(main())
