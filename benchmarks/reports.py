#!/usr/bin/env python
"""Program reports and TEDS export benchmark for OpenIOP (see benchmarks/README.md).

    .venv/bin/python benchmarks/reports.py [--databases postgres sqlite] [--scale 1.0]
        [--repeat 5] [--keep] [--reuse] [--explain] [--json FILE]

10 facilities × 5 years: about 50,000 episodes of care and 5 million attendance rows at
``--scale 1`` (``--scale 0.02`` makes a fiftieth of the patients for a quick run; the
facilities, programs, staff and group schedules stay). For every database the parent makes
the database (PostgreSQL: ``openiop_bench_reports`` on ``--pg-url``, created and dropped with
psycopg; SQLite: a temporary file) and runs this script again in a subprocess (``--worker``),
because Django settings are process-global. ``--keep`` keeps the database; ``--reuse`` keeps it
too and, when it already holds the generated data, skips the generation (measure again).

The worker migrates and generates (synthetic load, not behaviour: the rows the services
write, without their checks, each valid against the constraints; big tables through
PostgreSQL's ``COPY … FROM STDIN``, SQLite through ``executemany``):

* 1 organization, 10 facilities in four time zones, each with four programs — adult IOP
  (day and evening tracks), young-adult IOP (afternoon), PHP (day) and outpatient (evening)
  — with four phases each, 20 clinicians and a clinical director; an organization-wide
  clinical director (all facilities: the one measured) and an alumni coordinator;
* patients (``synthetic.generate.generate_patients``) and episodes admitted over the five
  years ending today, lengths of stay 3–29 days (10 %), 30–59 (8 %), 60–120 (37 %),
  121–365 (27 %) and 366–700 (18 %); one patient in ten comes back for a second episode;
  episodes whose stay runs past today are open, the others have a signed ``Discharge`` (reason
  by length of stay, TEDS ``REASON`` by ``discharge.rules.teds_reason``, a step-down that
  ``rules.step_down_error`` accepts, ``facts`` {}), TEDS admission and discharge codes (a few
  missing), follow-ups at 30/60/90/180/365 days with contact attempts and outcomes, referrals,
  PHP → IOP and IOP → OP transfers (``LevelOfCareChange``), alumni group meetings with
  attendance, care-team rows, a treatment plan with its active version per episode (a
  quarter of the open ones overdue for review) and a discharge plan per open episode;
* group schedules per program and track (about one 12-person group per schedule), their
  sessions over the five years (a few cancelled), one ``Attendance`` row per patient per
  session day of their weekly pattern (mostly present; late, left early, excused and
  unexcused absences, cancelled), ``DoseDay`` by one ``INSERT … SELECT … GROUP BY`` (what
  ``scheduling.services.refresh_dose`` keeps), a signed group note per session attended (a
  few recent ones unsigned) and monthly individual notes (some unsigned);
* drug tests with a five-substance panel, PHQ-9 and GAD-7 administrations scored by
  ``measures.scoring`` (baseline, then falling), mutual-help meetings.

Rows go in in calendar order (as a clinic writes them), and the big tables' secondary indexes
and foreign keys are dropped during the load and made again after it (``Loader.rebuilt``:
every row is still checked).

Then ANALYZE, and it measures, signed in as the organization-wide clinical director:

* each registered report's builder for one facility and for all ten, over the last year
  and over the five years (``--repeat`` runs each after one warm-up: p50/p95/max, CPU and
  SQL ms, queries);
* the report page (``reports:report`` with the filter GET parameters) and its CSV
  (``reports:report_csv``) for all facilities over one and five years, and the director's
  dashboard (``reports:dashboard``), through ``django.test.Client``;
* the TEDS-A and TEDS-D rows (``reports.teds.teds_a_rows`` / ``teds_d_rows``) over one and
  five years for all facilities, in rows per second, and a background export
  (``reports.exports.run_export``) of each, when those exist.

Target: every report and page under 2,000 ms (p95). Reports being written elsewhere are
measured if registered; missing pieces are listed and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import inspect
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness

PG_DB_NAME = "openiop_bench_reports"
SQLITE_KEPT = Path(tempfile.gettempdir()) / "openiop-bench-reports" / "bench.sqlite3"
SEED = 20260701
TARGET_MS = 2000.0
SLOW_S = 10.0  # a warm-up run slower than this is the only measurement (see _measure)
YEARS = 5
FACILITIES = 10
CLINICIANS = 20
EPISODES = 50_000  # at --scale 1
READMIT_SHARE = 0.10
ORG_NAME = "Benchmark Recovery Network"
GROUP_SIZE = 12
TZ_CYCLE = ("America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York")
SITE_NAMES = (
    "Corona",
    "Riverside",
    "Norco",
    "Eastvale",
    "Redlands",
    "Fontana",
    "Ontario",
    "Chino",
    "Temecula",
    "Murrieta",
)

# Lanes: a program and one of its tracks. (key, program, level, track, kind, start, minutes,
# share of episodes, weekdays the schedules meet, weekday patterns patients attend with weights)
LANES: tuple[tuple[Any, ...], ...] = (
    ("php", "Partial hospitalization", "2.5", "Day", "day", dt.time(9), 300, 0.15,
     (0, 1, 2, 3, 4), (((0, 1, 2, 3, 4), 1.0),)),
    ("iop_day", "Adult IOP", "2.1", "Day", "day", dt.time(9), 180, 0.225,
     (0, 1, 2, 3, 4), (((0, 2, 4), 0.30), ((0, 1, 2, 3), 0.30), ((0, 1, 2, 3, 4), 0.40))),
    ("iop_eve", "Adult IOP", "2.1", "Evening", "evening", dt.time(18), 180, 0.225,
     (0, 1, 2, 3, 4), (((0, 2, 4), 0.30), ((0, 1, 2, 3), 0.30), ((0, 1, 2, 3, 4), 0.40))),
    ("ya_iop", "Young adult IOP", "2.1", "Afternoon", "day", dt.time(13), 180, 0.25,
     (0, 1, 2, 3, 4), (((0, 2, 4), 0.30), ((0, 1, 2, 3), 0.30), ((0, 1, 2, 3, 4), 0.40))),
    ("op", "Outpatient", "1", "Evening", "evening", dt.time(18), 90, 0.15,
     (1, 3), (((1,), 0.3), ((1, 3), 0.7))),
)  # fmt: skip
PROGRAM_RULES = {  # program name -> (min h/day, min days/week, min h/week, max h/week)
    "Partial hospitalization": ("5", 5, "20", None),
    "Adult IOP": ("3", 3, "9", "19"),
    "Young adult IOP": ("3", 3, "9", "19"),
    "Outpatient": ("1.5", 1, "1.5", "8.99"),
}
PHASES = (
    ("engagement", "Engagement", 1, 2),
    ("early", "Early recovery", 3, 8),
    ("maintenance", "Maintenance", 9, None),
    ("community", "Community integration", 13, None),
)
# Length of stay (days from admission to discharge): (low, high, share).
LOS_BANDS = ((3, 29, 0.10), (30, 59, 0.08), (60, 120, 0.37), (121, 365, 0.27), (366, 700, 0.18))
ABSENCE_RATES = (0.03, 0.05, 0.08, 0.12, 0.2)
DROPOUT = frozenset({"stopped_attending", "left_against_advice"})
REASONS_BY_STAY: dict[str, dict[str, float]] = {  # stay band -> reason weights
    "short": {
        "stopped_attending": 34, "left_against_advice": 24, "higher_level": 10,
        "administrative": 8, "rule_violation": 5, "transferred_out": 5, "moved": 4,
        "medical": 3, "incarcerated": 3, "completed": 1, "other": 2, "died": 1,
    },
    "middle": {
        "completed": 18, "completed_step_down": 16, "stopped_attending": 24,
        "left_against_advice": 14, "higher_level": 5, "administrative": 5,
        "rule_violation": 3, "transferred_out": 5, "moved": 4, "medical": 2,
        "incarcerated": 2, "other": 2,
    },
    "long": {
        "completed": 36, "completed_step_down": 34, "stopped_attending": 9,
        "left_against_advice": 5, "transferred_out": 4, "administrative": 3, "moved": 3,
        "higher_level": 2, "medical": 1, "incarcerated": 1, "other": 1, "died": 0.4,
    },
}  # fmt: skip
STEP_DOWNS_DONE = {
    "outpatient": 35,
    "aftercare": 25,
    "alumni": 15,
    "recovery_residence": 10,
    "mutual_help": 15,
}
STEP_DOWNS_LEFT = {"outpatient": 40, "mutual_help": 30, "aftercare": 20, "recovery_residence": 10}
FOLLOWUP_DAYS = (30, 60, 90, 180, 365)
PANEL = ("alcohol", "cocaine", "fentanyl", "methamphetamine", "thc")
# TEDS SUB1 with a plausible ROUTE1 and drug-test substance.
SUBSTANCES = (  # (SUB code, route, panel substance or None, weight)
    (2, 1, "alcohol", 40),
    (4, 2, "thc", 10),
    (10, 2, "methamphetamine", 15),
    (7, 1, "fentanyl", 15),
    (5, 4, "fentanyl", 5),
    (3, 3, "cocaine", 10),
    (13, 1, None, 5),
)
SCENARIO_LABELS = {
    "one_1y": "builder, 1 facility, 1 year",
    "all_1y": "builder, 10 facilities, 1 year",
    "one_5y": "builder, 1 facility, 5 years",
    "all_5y": "builder, 10 facilities, 5 years",
    "page_1y": "HTML page, 10 facilities, 1 year",
    "page_5y": "HTML page, 10 facilities, 5 years",
    "csv_1y": "CSV, 10 facilities, 1 year",
    "csv_5y": "CSV, 10 facilities, 5 years",
}


# --------------------------------------------------------------------------------------
# Parent: one database and one worker subprocess per database
# --------------------------------------------------------------------------------------


def _pg_exists(pg_url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(harness.pg_url_for(pg_url, "postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def _pg_create(pg_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(harness.pg_url_for(pg_url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _pg_drop(pg_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(harness.pg_url_for(pg_url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def _database(kind: str, args: argparse.Namespace) -> Iterator[tuple[str, bool]]:
    """(DATABASE_URL, whether it may already hold the data); removed afterwards unless
    ``--keep`` or ``--reuse``."""
    keep = args.keep or args.reuse
    if kind == "sqlite":
        if keep:
            SQLITE_KEPT.parent.mkdir(parents=True, exist_ok=True)
            existing = SQLITE_KEPT.exists()
            if existing and not args.reuse:
                for leftover in SQLITE_KEPT.parent.glob("bench.sqlite3*"):
                    leftover.unlink()
                existing = False
            yield f"sqlite:///{SQLITE_KEPT}", existing
            print(f"(kept {SQLITE_KEPT})")
            return
        with harness.fresh_database(kind, PG_DB_NAME, pg_url=args.pg_url, keep=False) as url:
            yield url, False
        return
    existing = args.reuse and _pg_exists(args.pg_url, PG_DB_NAME)
    if not existing:
        _pg_create(args.pg_url, PG_DB_NAME)
    try:
        yield harness.pg_url_for(args.pg_url, PG_DB_NAME), existing
    finally:
        if keep:
            print(f"(kept database {PG_DB_NAME})")
        else:
            _pg_drop(args.pg_url, PG_DB_NAME)


def run_parent(args: argparse.Namespace) -> int:
    print(harness.banner("program reports and TEDS export benchmark"))
    print(
        f"databases={args.databases} scale={args.scale} repeat={args.repeat} "
        f"keep={args.keep} reuse={args.reuse} explain={args.explain}"
    )
    started = time.perf_counter()
    options = ["scale", "repeat", "explain", "only", "skip_pages", "skip_teds", "timeout"]
    worker_args = harness.forward(args, options)
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for kind in args.databases:
        if kind == "postgres":
            problem = harness.postgres_problem(args.pg_url)
            if problem:
                print(f"\nSKIPPED postgres: no PostgreSQL answers at {args.pg_url} ({problem})")
                skipped[kind] = problem
                continue
        with (
            _database(kind, args) as (url, existing),
            tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out,
            tempfile.TemporaryDirectory(prefix="openiop-bench-exports-") as exports_dir,
        ):
            print(f"\n=== {kind} ".ljust(78, "="), flush=True)
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--database", kind]
            if existing:
                cmd.append("--reuse")
            proc = subprocess.run(  # noqa: S603
                [*cmd, "--json-out", out.name, *worker_args],
                env=harness.worker_env(url, OPENIOP_EXPORTS_DIR=exports_dir),
                cwd=harness.ROOT,
                check=False,
            )
            if proc.returncode != 0:
                print(f"FAILED: worker for {kind} exited {proc.returncode}")
                results.append({"database": kind, "failed": proc.returncode})
            else:
                results.append(json.loads(Path(out.name).read_text()))
            Path(out.name).unlink(missing_ok=True)
    print_summary(results, skipped)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"\n(results written to {args.json})")
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 1 if any("failed" in r for r in results) else 0


def print_summary(results: list[dict[str, Any]], skipped: dict[str, str]) -> None:
    print("\n" + " SUMMARY ".center(78, "="))
    for r in results:
        if "failed" in r:
            print(f"{r['database']}: FAILED (exit {r['failed']})")
            continue
        gen = r.get("generation") or {}
        print(
            f"\n{r['database']}: scale {r['scale']}, "
            + (
                f"generated in {gen['seconds']:.0f} s"
                if gen.get("seconds")
                else "data reused (not generated)"
            )
            + f"; episodes {r['counts'].get('episodes', 0):,}, "
            f"attendance {r['counts'].get('attendance', 0):,}, "
            f"dose days {r['counts'].get('dose_days', 0):,}"
        )
        print(f"reports found: {', '.join(r['reports']) or 'none'}")
        for what in r["missing"]:
            print(f"  not there (skipped): {what}")
        rows = []
        misses = []
        for key, scenarios in r["measured"].items():
            for name, s in scenarios.items():
                label = SCENARIO_LABELS.get(name, name)
                if "error" in s:
                    rows.append([key, label, "", "", "", "", "", "", "**FAIL**"])
                    misses.append(f"{key}, {label}: {s['error']}")
                    continue
                ok = s["p95"] < TARGET_MS
                if not ok:
                    misses.append(f"{key}, {label}: p95 {s['p95']:,.0f} ms (n {s['n']})")
                rows.append(
                    [
                        key,
                        label,
                        *harness.ms_cells(s),
                        f"{s['cpu_p50']:.0f}",
                        f"{s['sql_p50']:.0f}",
                        harness.fmt_range(s["q_min"], s["q_max"]),
                        "PASS" if ok else "**FAIL**",
                    ]
                )
        if rows:
            headers = [
                "report",
                "scenario",
                "p50 ms",
                "p95 ms",
                "max ms",
                "cpu ms",
                "sql ms",
                "queries",
                "<2 s",
            ]
            print(harness.table(headers, rows, left={0, 1}))
        teds = r.get("teds") or []
        if teds:
            print()
            print(
                harness.table(
                    ["TEDS", "range", "rows", "seconds", "rows/s", "queries"],
                    [
                        [
                            t["what"],
                            t["range"],
                            f"{t['rows']:,}",
                            f"{t['seconds']:.2f}",
                            f"{t['rows_per_s']:,.0f}",
                            t.get("queries", ""),
                        ]
                        for t in teds
                    ],
                    left={0, 1},
                )
            )
        measured = sum(len(s) for s in r["measured"].values())
        print(
            f"\n{r['database']}: {measured - len(misses)} of {measured} measurements under "
            f"{TARGET_MS:.0f} ms (p95)"
        )
        for miss in misses:
            print(f"  over: {miss}")
        print(
            f"{r['database']}: 1-minute load average {r['load'][0]:.1f} before measuring, "
            f"{r['load'][1]:.1f} after, on {os.cpu_count()} CPUs"
        )
    for kind, why in skipped.items():
        print(f"{kind}: SKIPPED ({why})")


# --------------------------------------------------------------------------------------
# Worker: bulk loading
# --------------------------------------------------------------------------------------


class Loader:
    """Bulk inserts through COPY (PostgreSQL) or executemany (SQLite), with explicit ids
    where the caller needs them, timings and row counts per table."""

    def __init__(self) -> None:
        from django.db import connection
        from django.utils import timezone

        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.now = timezone.now()
        self.next_ids: dict[Any, int] = {}
        self.rows: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.models: list[Any] = []

    def ids(self, model: Any, count: int) -> range:
        """``count`` fresh primary keys for ``model`` (the sequence is reset at the end)."""
        if model not in self.next_ids:
            from django.db.models import Max

            top = model.objects.aggregate(m=Max("pk"))["m"] or 0
            self.next_ids[model] = top + 1
        start = self.next_ids[model]
        self.next_ids[model] = start + count
        return range(start, start + count)

    def _defaults(self, model: Any, columns: Sequence[str]) -> tuple[list[str], tuple[Any, ...]]:
        from django.db import models

        names: list[str] = []
        values: list[Any] = []
        for f in model._meta.concrete_fields:
            if f.attname in columns or (f.primary_key and isinstance(f, models.AutoField)):
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value: Any = self.now
            else:
                value = f.get_default()
            names.append(f.column)
            values.append(value)
        return names, tuple(values)

    def _cell(self, value: Any) -> Any:
        """A value as the driver takes it: JSON as text; on SQLite what Django stores."""
        if isinstance(value, dict | list):
            return json.dumps(value)
        if self.postgres:
            return value
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
        if isinstance(value, dt.date | dt.time):
            return value.isoformat()
        if value.__class__.__name__ == "Decimal":
            return str(value)
        return value

    def load(
        self,
        model: Any,
        columns: Sequence[str],
        rows: Iterable[tuple[Any, ...]],
        *,
        label: str | None = None,
        chunk: int = 250_000,
    ) -> int:
        """Insert ``rows`` (tuples of values in the order of ``columns``, attnames); the
        other fields get their model defaults. Returns the number of rows."""
        from django.db import models, transaction

        table = model._meta.db_table
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        extra_names, extra_values = self._defaults(model, columns)
        names = [by_attname[c].column for c in columns] + extra_names
        extra = tuple(self._cell(v) for v in extra_values)
        json_at = [i for i, c in enumerate(columns) if isinstance(by_attname[c], models.JSONField)]
        label = label or table
        quoted = ", ".join(f'"{n}"' for n in names)
        if model not in self.models:
            self.models.append(model)

        def prepared() -> Iterator[tuple[Any, ...]]:
            if self.postgres and not json_at:
                for row in rows:
                    yield row + extra
            elif self.postgres:
                for row in rows:
                    cells = list(row)
                    for i in json_at:
                        cells[i] = json.dumps(cells[i])
                    yield (*cells, *extra)
            else:
                for row in rows:
                    yield (*map(self._cell, row), *extra)

        t0 = time.perf_counter()
        count = 0
        source = prepared()
        with self.connection.cursor() as cursor:
            raw = cursor.cursor
            if self.postgres:
                # One COPY (in autocommit, one transaction) per chunk, so the deferred
                # foreign-key checks queued in the server stay a chunk's worth.
                statement = f"COPY {table} ({quoted}) FROM STDIN"
                while True:
                    done = 0
                    with raw.copy(statement) as copy:
                        write = copy.write_row
                        for row in source:
                            write(row)
                            done += 1
                            if done >= chunk:
                                break
                    count += done
                    if done < chunk:
                        break
            else:
                marks = ", ".join("?" for _ in names)
                statement = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"  # noqa: S608
                with transaction.atomic():
                    while True:
                        batch = [row for _, row in zip(range(20_000), source, strict=False)]
                        if not batch:
                            break
                        raw.executemany(statement, batch)
                        count += len(batch)
        seconds = time.perf_counter() - t0
        self.rows[label] += count
        self.seconds[label] += seconds
        print(
            f"  {label}: {count:,} rows in {seconds:.1f} s "
            f"({count / max(seconds, 1e-9):,.0f} rows/s)",
            flush=True,
        )
        return count

    @contextlib.contextmanager
    def rebuilt(self, *models: Any) -> Iterator[None]:
        """Load a big table the way a bulk load is done on PostgreSQL: its secondary indexes
        and foreign keys dropped first, then made again (each index built in one sort; each
        foreign key checked over the whole table in one join, so every row is still checked,
        and the unique indexes still refuse duplicates). SQLite: as it is."""
        if not self.postgres:
            yield
            return
        saved: list[tuple[str, str, str]] = []  # (table, kind, definition)
        with self.connection.cursor() as cursor:
            for model in models:
                table = model._meta.db_table
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    saved.append(
                        (table, "fk", f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                    )
                    cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                cursor.execute(
                    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                    "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
                    "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND c.oid IS NULL",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    saved.append((table, "index", definition))
                    cursor.execute(f"DROP INDEX {name}")
        try:
            yield
        finally:
            t0 = time.perf_counter()
            with self.connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '512MB'")
                for _, kind, definition in saved:
                    if kind == "index":
                        cursor.execute(definition)
                for _, kind, definition in saved:
                    if kind == "fk":
                        cursor.execute(definition)
                cursor.execute("RESET maintenance_work_mem")
            seconds = time.perf_counter() - t0
            tables = ", ".join(sorted({t for t, _, _ in saved}))
            counts = Counter(k for _, k, _ in saved)
            self.seconds[f"indexes and foreign keys of {tables}"] += seconds
            print(
                f"  {tables}: {counts['index']} indexes built and {counts['fk']} foreign keys "
                f"checked in {seconds:.1f} s",
                flush=True,
            )

    def reset_sequences(self) -> None:
        from django.core.management.color import no_style

        statements = self.connection.ops.sequence_reset_sql(no_style(), self.models)
        with self.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


# --------------------------------------------------------------------------------------
# Worker: the world (organization, facilities, programs, staff)
# --------------------------------------------------------------------------------------


@dataclass
class Lane:
    key: str
    facility: Any
    program: Any
    track: Any
    phases: list[Any]
    minutes: int
    weekdays: tuple[int, ...]
    patterns: tuple[tuple[tuple[int, ...], float], ...]
    share: float
    schedules: list[Any] = field(default_factory=list)
    # schedule pk -> {date: session pk}
    sessions: dict[int, dict[dt.date, int]] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return str(self.program.level_of_care)


@dataclass
class Site:
    facility: Any
    lanes: dict[str, Lane]
    clinicians: list[Any]
    director: Any
    rooms: list[Any]


@dataclass
class Segment:
    lane: Lane
    start: dt.date
    end: dt.date  # inclusive: the last day in this program
    schedule_pk: int
    pattern: tuple[int, ...]


@dataclass
class Episode:
    pk: int
    patient_pk: int
    site: Site
    admitted: dt.date
    discharged: dt.date | None  # None: open
    segments: list[Segment]
    clinician_pk: int
    absence: float
    reason_key: str = ""
    sub: tuple[int, int, str | None] = (2, 1, "alcohol")
    use_risk: float = 0.1
    meetings: float = 0.3

    def end(self, today: dt.date) -> dt.date:
        """The last day of care up to yesterday."""
        return self.discharged if self.discharged else today - dt.timedelta(days=1)


def _cols(names: str) -> list[str]:
    """Column (attribute) names from a space-separated list."""
    return names.split()


def _in_date_order(rows: Iterable[tuple[Any, ...]], at: int) -> Iterator[tuple[Any, ...]]:
    """``rows`` in the order of their date (or datetime's date) at index ``at``, as a clinic
    writes them day after day, so the table's pages follow the calendar like a real one's
    (generated person by person, a week's rows would be spread over the whole table)."""
    days: defaultdict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        days[row[at].toordinal()].append(row)
    for day in sorted(days):
        yield from days.pop(day)


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _world(scale: float) -> dict[str, Any]:
    from decimal import Decimal

    from django.utils import timezone

    from openiop.accounts.models import Facility, Organization, Phase, Program, Track, User
    from openiop.accounts.roles import Role
    from openiop.scheduling.models import GroupType, Room
    from openiop.synthetic import names

    org = Organization.objects.create(name=ORG_NAME)

    def staff(email: str, role: str, first: str, last: str, facilities: list[Any]) -> Any:
        user = User.objects.create_user(
            email, password=None, role=role, organization=org, first_name=first, last_name=last
        )
        user.facilities.set(facilities)
        return user

    sites: list[Site] = []
    everyone: list[Any] = []
    for n in range(FACILITIES):
        facility = Facility.objects.create(
            organization=org,
            name=f"{SITE_NAMES[n]} Recovery Center",
            code=f"BR{n + 1:02d}",
            time_zone=TZ_CYCLE[n % len(TZ_CYCLE)],
            city=SITE_NAMES[n],
            state="CA",
        )
        programs: dict[str, Any] = {}
        lanes: dict[str, Lane] = {}
        for key, pname, level, tname, tkind, start, minutes, share, days, patterns in LANES:
            program = programs.get(pname)
            if program is None:
                low, per_week, week_min, week_max = PROGRAM_RULES[pname]
                program = Program.objects.create(
                    facility=facility,
                    name=pname,
                    level_of_care=level,
                    population="adult",
                    min_hours_per_day=Decimal(low),
                    min_days_per_week=per_week,
                    min_hours_per_week=Decimal(week_min),
                    max_hours_per_week=Decimal(week_max) if week_max else None,
                )
                program.full_clean()
                programs[pname] = program
                for order, (code, name, first, last) in enumerate(PHASES, start=1):
                    Phase.objects.create(
                        program=program,
                        order=order,
                        code=code,
                        name=name,
                        typical_start_week=first,
                        typical_end_week=last,
                    )
            end = (
                dt.datetime.combine(dt.date(2000, 1, 3), start) + dt.timedelta(minutes=minutes)
            ).time()
            track = Track.objects.create(
                program=program,
                name=tname,
                kind=tkind,
                start_time=start,
                end_time=end,
                weekdays=",".join(str(d) for d in days),
            )
            lanes[key] = Lane(
                key=key,
                facility=facility,
                program=program,
                track=track,
                phases=list(Phase.objects.filter(program=program).order_by("order")),
                minutes=minutes,
                weekdays=days,
                patterns=patterns,
                share=share,
            )
        for program in programs.values():
            GroupType.objects.bulk_create(
                GroupType(program=program, name=name, kind=kind, duration_minutes=90)
                for name, kind in (
                    ("Process group", "process"),
                    ("Relapse prevention", "relapse_prevention"),
                    ("Early-recovery skills", "early_recovery"),
                    ("CBT / DBT skills", "cbt_dbt"),
                )
            )
        rng = random.Random(SEED + n)
        clinicians = [
            staff(
                f"clinician{i:02d}.{facility.code.lower()}@bench.example.org",
                Role.CLINICIAN,
                rng.choice(names.FEMALE_FIRST + names.MALE_FIRST),
                rng.choice(names.LAST),
                [facility],
            )
            for i in range(CLINICIANS)
        ]
        director = staff(
            f"director.{facility.code.lower()}@bench.example.org",
            Role.CLINICAL_DIRECTOR,
            rng.choice(names.FEMALE_FIRST),
            rng.choice(names.LAST),
            [facility],
        )
        rooms = Room.objects.bulk_create(
            Room(facility=facility, name=f"Group room {k + 1}", seats=14) for k in range(12)
        )
        sites.append(Site(facility, lanes, clinicians, director, rooms))
        everyone.append(facility)
    chief = staff(
        "chief.clinical@bench.example.org", Role.CLINICAL_DIRECTOR, "Renee", "Okafor", everyone
    )
    coordinator = staff(
        "alumni@bench.example.org", Role.ALUMNI_COORDINATOR, "Sam", "Delgado", everyone
    )
    today = min(timezone.localdate(timezone=s.facility.zone) for s in sites)
    return {
        "org": org,
        "sites": sites,
        "chief": chief,
        "coordinator": coordinator,
        "today": today,
        "first_day": today - dt.timedelta(days=YEARS * 365),
        "scale": scale,
    }


# --------------------------------------------------------------------------------------
# Worker: generation
# --------------------------------------------------------------------------------------


def _los(rng: random.Random) -> int:
    low, high, _ = rng.choices(LOS_BANDS, weights=[b[2] for b in LOS_BANDS])[0]
    return rng.randint(low, high)


def _reason(rng: random.Random, los: int) -> str:
    band = "short" if los < 30 else "middle" if los < 90 else "long"
    return _weighted(rng, REASONS_BY_STAY[band])


def _plan_episodes(world: dict[str, Any], loader: Loader) -> list[Episode]:
    """Patients (generate_patients) and their episodes, in memory: lanes, transfers, dates."""
    from openiop.admissions.models import EpisodeOfCare
    from openiop.patients.models import Patient
    from openiop.synthetic.generate import generate_patients

    rng = random.Random(SEED)
    today, first_day = world["today"], world["first_day"]
    span = (today - first_day).days
    per_site = max(1, round(EPISODES * world["scale"] / FACILITIES / (1 + READMIT_SHARE * 0.8)))
    plans: list[tuple[Site, int, dt.date, dt.date | None, int]] = []
    t0 = time.perf_counter()
    for n, site in enumerate(world["sites"]):
        generate_patients(site.facility, count=per_site, seed=SEED + 100 + n)
        for patient_pk in Patient.objects.filter(facility=site.facility).values_list(
            "pk", flat=True
        ):
            admitted = first_day + dt.timedelta(days=rng.randrange(span))
            while True:
                los = _los(rng)
                leaves = admitted + dt.timedelta(days=los)
                if leaves >= today:
                    plans.append((site, patient_pk, admitted, None, los))
                    break
                plans.append((site, patient_pk, admitted, leaves, los))
                if rng.random() >= READMIT_SHARE:
                    break
                admitted = leaves + dt.timedelta(days=rng.randint(20, 240))
                if admitted >= today:
                    break
    seconds = time.perf_counter() - t0
    patients = Patient.objects.count()
    loader.rows["patients (generate_patients)"] = patients
    loader.seconds["patients (generate_patients)"] = seconds
    print(f"  patients (generate_patients, with search tokens): {patients:,} in {seconds:.1f} s")
    plans.sort(key=lambda plan: plan[2])  # admitted: ids and pages in admission order
    ids = loader.ids(EpisodeOfCare, len(plans))
    episodes = []
    for pk, (site, patient_pk, admitted, discharged, los) in zip(ids, plans, strict=True):
        keys = list(site.lanes)
        key = rng.choices(keys, weights=[site.lanes[k].share for k in keys])[0]
        end = discharged or today - dt.timedelta(days=1)
        cuts: list[tuple[str, dt.date]] = [(key, admitted)]
        if key == "php" and los > 30 and rng.random() < 0.35:
            cuts.append(
                (
                    rng.choice(["iop_day", "iop_eve"]),
                    admitted + dt.timedelta(days=rng.randint(10, 28)),
                )
            )
        elif key in ("iop_day", "iop_eve", "ya_iop") and los > 120 and rng.random() < 0.12:
            cuts.append(("op", admitted + dt.timedelta(days=rng.randint(60, los - 30))))
        segments = []
        for i, (k, start) in enumerate(cuts):
            last = cuts[i + 1][1] - dt.timedelta(days=1) if i + 1 < len(cuts) else end
            lane = site.lanes[k]
            patterns, weights = zip(*lane.patterns, strict=True)
            segments.append(
                Segment(
                    lane=lane,
                    start=start,
                    end=last,
                    schedule_pk=0,  # chosen once the schedules exist
                    pattern=rng.choices(patterns, weights=weights)[0],
                )
            )
        episode = Episode(
            pk=pk,
            patient_pk=patient_pk,
            site=site,
            admitted=admitted,
            discharged=discharged,
            segments=segments,
            clinician_pk=rng.choice(site.clinicians).pk,
            absence=rng.choice(ABSENCE_RATES),
            sub=rng.choices(SUBSTANCES, weights=[s[3] for s in SUBSTANCES])[0][:3],
            use_risk=rng.choice((0.02, 0.05, 0.1, 0.2, 0.35)),
            meetings=rng.uniform(0.05, 0.6),
        )
        if discharged:
            episode.reason_key = _reason(rng, los)
            if episode.reason_key in DROPOUT:
                episode.absence = max(episode.absence, 0.12)
        episodes.append(episode)
    return episodes


def _schedules_and_sessions(
    world: dict[str, Any], episodes: list[Episode], loader: Loader
) -> dict[str, Any]:
    """Schedules per lane sized to the concurrent census (12 a group); their sessions over
    the five years and two weeks ahead; each episode segment placed on one schedule."""
    from openiop.scheduling.models import GroupType, Schedule, Session

    rng = random.Random(SEED + 1)
    today, first_day = world["today"], world["first_day"]
    horizon = today + dt.timedelta(days=14)
    days_total = (today - first_day).days
    # Concurrent census per lane: the days spent there / the days of the five years.
    lane_days: Counter[tuple[int, str]] = Counter()
    for e in episodes:
        for s in e.segments:
            lane_days[(s.lane.facility.pk, s.lane.key)] += (s.end - s.start).days + 1
    groups: dict[int, list[Any]] = {}
    for g in GroupType.objects.all():
        groups.setdefault(g.program_id, []).append(g)
    schedules: list[Any] = []
    for site in world["sites"]:
        room_turn = 0
        for lane in site.lanes.values():
            census = lane_days[(site.facility.pk, lane.key)] / days_total
            per_week_share = sum(len(p) * w for p, w in lane.patterns) / len(lane.weekdays)
            count = max(1, math.ceil(census * per_week_share / GROUP_SIZE))
            for k in range(count):
                group = groups[lane.program.pk][k % len(groups[lane.program.pk])]
                byday = ",".join(
                    ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[d] for d in lane.weekdays
                )
                schedule = Schedule(
                    group=group,
                    facility=site.facility,
                    track=lane.track,
                    rrule=f"FREQ=WEEKLY;BYDAY={byday}",
                    start_date=first_day,
                    start_time=lane.track.start_time,
                    duration_minutes=lane.minutes,
                    room=site.rooms[room_turn % len(site.rooms)],
                    facilitator=site.clinicians[(room_turn * 3) % CLINICIANS],
                    materialized_through=horizon,
                    created_by=site.director,
                )
                room_turn += 1
                lane.schedules.append(schedule)
                schedules.append(schedule)
    t0 = time.perf_counter()
    Schedule.objects.bulk_create(schedules, batch_size=1000)
    loader.rows["scheduling_schedule"] = len(schedules)
    loader.seconds["scheduling_schedule"] = time.perf_counter() - t0
    # Sessions: explicit ids so attendance can point at them.
    plans: list[tuple[Lane, Any, dt.date]] = []
    for site in world["sites"]:
        for lane in site.lanes.values():
            for schedule in lane.schedules:
                lane.sessions[schedule.pk] = {}
                day = first_day
                while day <= horizon:
                    if day.weekday() in lane.weekdays:
                        plans.append((lane, schedule, day))
                    day += dt.timedelta(days=1)
    plans.sort(key=lambda plan: plan[2])  # by day, as the nightly job materializes them
    ids = loader.ids(Session, len(plans))
    # session pk -> (ends_at, starts_at, facilitator, cancelled, facility, service date,
    # attendance recorded at)
    info: dict[int, tuple[Any, Any, int, bool, int, dt.date, Any]] = {}

    def rows() -> Iterator[tuple[Any, ...]]:
        for pk, (lane, schedule, day) in zip(ids, plans, strict=True):
            starts = dt.datetime.combine(day, schedule.start_time, tzinfo=lane.facility.zone)
            ends = starts + dt.timedelta(minutes=lane.minutes)
            past = day < today
            cancelled = past and rng.random() < 0.006
            lane.sessions[schedule.pk][day] = pk
            recorded = ends + dt.timedelta(minutes=10)
            info[pk] = (
                ends,
                starts,
                schedule.facilitator_id,
                cancelled,
                lane.facility.pk,
                day,
                recorded,
            )
            yield (
                pk,
                schedule.pk,
                schedule.group_id,
                lane.facility.pk,
                lane.track.pk,
                day,
                starts,
                ends,
                day,
                starts,
                schedule.room_id,
                schedule.facilitator_id,
                "cancelled" if cancelled else "scheduled",
                f"{'Relapse prevention' if pk % 2 else 'Process group'}: topic {pk % 16 + 1}",
                ends + dt.timedelta(minutes=10) if past else None,
                schedule.facilitator_id if past else None,
                1 if past else 0,
            )

    loader.load(
        Session,
        _cols(
            "id schedule_id group_id facility_id track_id occurrence_date starts_at ends_at "
            "service_date original_starts_at room_id facilitator_id status topic "
            "attendance_saved_at attendance_saved_by_id attendance_revision"
        ),
        rows(),
    )
    for e in episodes:
        for s in e.segments:
            s.schedule_pk = rng.choice(s.lane.schedules).pk
    return {"info": info, "schedules": len(schedules)}


def _episodes_rows(world: dict[str, Any], episodes: list[Episode], loader: Loader) -> None:
    from openiop.admissions.models import EpisodeOfCare
    from openiop.core import teds

    rng = random.Random(SEED + 2)
    today = world["today"]

    def maybe(value: int) -> int | None:
        return None if rng.random() < 0.04 else value

    def rows() -> Iterator[tuple[Any, ...]]:
        for e in episodes:
            first, last = e.segments[0], e.segments[-1]
            stay = (e.end(today) - e.admitted).days
            phase = last.lane.phases[0 if stay < 14 else 1 if stay < 56 else 2 if stay < 150 else 3]
            sub, route, _ = e.sub
            second = rng.random() < 0.55
            yield (
                e.pk,
                e.patient_pk,
                e.site.facility.pk,
                last.lane.program.pk,
                last.lane.level,
                last.lane.track.pk,
                phase.pk,
                e.admitted,
                e.clinician_pk,
                rng.choices((1, 2, 3, 5, 6, 7), weights=(35, 10, 15, 10, 10, 20))[0],
                rng.choice((90, 90, 90, 120, 60)),
                rng.choice(("2.1", "2.1", "2.5", "1")),
                e.discharged,
                int(teds.SERVICES_FOR_LEVEL[first.lane.level]),
                maybe(rng.randint(0, 5)),
                maybe(sub),
                maybe(route),
                maybe(rng.choice((2, 3, 3))),
                maybe(rng.randint(2, 7)),
                rng.choice((4, 2, 13, 3)) if second else 1,
                rng.choice((1, 2)) if second else None,
                rng.choice((1, 2)) if second else None,
                rng.randint(3, 7) if second else None,
                maybe(rng.randint(1, 4)),
                maybe(rng.choice((1, 2, 3, 3, 3))),
                maybe(rng.choice((0, 0, 0, 1, 2))),
                maybe(rng.randint(1, 5)),
                maybe(rng.randint(1, 4)),
                maybe(rng.randint(1, 5)),
                maybe(rng.choice((1, 2))),
                maybe(rng.choice((1, 2, 2))),
                maybe(rng.randint(1, 4)),
                maybe(rng.randint(1, 7)),
                dt.datetime.combine(e.admitted, dt.time(10), tzinfo=e.site.facility.zone),
                e.site.director.pk,
            )

    loader.load(
        EpisodeOfCare,
        _cols(
            "id patient_id facility_id program_id level_of_care track_id phase_id admission_date "
            "primary_clinician_id referral_source expected_length_days asam_level discharge_date "
            "teds_services teds_noprior teds_sub1 teds_route1 teds_freq1 teds_frstuse1 teds_sub2 "
            "teds_route2 teds_freq2 teds_frstuse2 teds_employ teds_livarag teds_arrests teds_educ "
            "teds_marstat teds_self_help teds_psyprob teds_methuse teds_hlthins teds_primpay "
            "created_at created_by_id"
        ),
        rows(),
        label="admissions_episodeofcare",
    )


def _attendance(
    world: dict[str, Any], episodes: list[Episode], sessions: dict[str, Any], loader: Loader
) -> set[int]:
    """One row per patient per session day of their weekly pattern; returns the sessions
    somebody attended (they get a group note)."""
    from openiop.scheduling.models import Attendance

    rng = random.Random(SEED + 3)
    today = world["today"]
    info = sessions["info"]
    attended: set[int] = set()
    one_day = dt.timedelta(days=1)
    late_by = dt.timedelta(minutes=20)

    def rows() -> Iterator[tuple[Any, ...]]:
        for e in episodes:
            stop = e.end(today)
            if e.reason_key in DROPOUT:  # stopped coming some days before the discharge
                stop = max(e.admitted, stop - dt.timedelta(days=rng.randint(5, 21)))
            miss = e.absence
            excused = miss * 0.6
            for seg in e.segments:
                by_day = seg.lane.sessions[seg.schedule_pk]
                minutes = seg.lane.minutes
                late_minutes, early_minutes = minutes - 20, minutes - 45
                start_time = seg.lane.track.start_time
                day = seg.start
                last = min(seg.end, stop)
                pattern = seg.pattern
                while day <= last:
                    if day.weekday() in pattern:
                        pk = by_day[day]
                        _, _, facilitator, cancelled, facility, service_day, recorded = info[pk]
                        arrived = left = None
                        if cancelled:
                            status, got = "cancelled", 0
                        else:
                            roll = rng.random()
                            if roll < excused:
                                status, got = "excused", 0
                            elif roll < miss:
                                status, got = "unexcused", 0
                            elif roll < miss + 0.05:
                                status, got = "late", late_minutes
                                arrived = (dt.datetime.combine(day, start_time) + late_by).time()
                            elif roll < miss + 0.08:
                                status, got = "left_early", early_minutes
                                left = (
                                    dt.datetime.combine(day, start_time)
                                    + dt.timedelta(minutes=minutes - 45)
                                ).time()
                            else:
                                status, got = "present", minutes
                            if got:
                                attended.add(pk)
                        yield (
                            pk,
                            e.pk,
                            e.patient_pk,
                            facility,
                            service_day,
                            status,
                            arrived,
                            left,
                            got,
                            facilitator,
                            recorded,
                        )
                    day += one_day

    loader.load(
        Attendance,
        _cols(
            "session_id episode_id patient_id facility_id service_date status arrived_at left_at "
            "minutes recorded_by_id recorded_at"
        ),
        _in_date_order(rows(), 4),
        label="scheduling_attendance",
        chunk=500_000,
    )
    return attended


def _dose_days(loader: Loader) -> None:
    """DoseDay from the attendance with one INSERT … SELECT (what refresh_dose keeps)."""
    from django.db import connection, transaction

    from openiop.scheduling.models import Attendance, DoseDay

    t0 = time.perf_counter()
    if connection.vendor == "postgresql":
        monday = "date_trunc('week', service_date)::date"
    else:
        monday = "date(service_date, 'weekday 0', '-6 days')"
    dose, att = DoseDay._meta.db_table, Attendance._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {dose} (episode_id, patient_id, facility_id, date, week_start, minutes) "  # noqa: S608
            f"SELECT episode_id, patient_id, facility_id, service_date, {monday}, SUM(minutes) "
            f"FROM {att} GROUP BY episode_id, patient_id, facility_id, service_date "
            "ORDER BY service_date, episode_id"
        )
        count = cursor.rowcount
    seconds = time.perf_counter() - t0
    loader.rows[dose] = count
    loader.seconds[dose] = seconds
    print(f"  {dose}: {count:,} rows (one INSERT … SELECT) in {seconds:.1f} s", flush=True)


def _group_notes(
    world: dict[str, Any], sessions: dict[str, Any], attended: set[int], loader: Loader
) -> None:
    from openiop.notes.models import GroupNote

    rng = random.Random(SEED + 4)
    now = loader.now
    recent = now - dt.timedelta(days=5)
    info = sessions["info"]

    def rows() -> Iterator[tuple[Any, ...]]:
        for pk in sorted(attended):
            ends, starts, facilitator, _, facility, day, _ = info[pk]
            signed = ends + dt.timedelta(hours=rng.randint(1, 30))
            unsigned = signed > now or rng.random() < (0.25 if ends > recent else 0.002)
            yield (
                pk,
                facility,
                day,
                starts,
                ends,
                facilitator,
                ends,
                ends,
                None if unsigned else signed,
                None if unsigned else facilitator,
                "" if unsigned else "password",
                "Relapse prevention",
                "Psychoeducation on high-risk situations; role play of refusal skills.",
                "Members shared the week's triggers and coached each other on a plan.",
            )

    loader.load(
        GroupNote,
        _cols(
            "session_id facility_id service_date started_at ended_at author_id created_at "
            "updated_at signed_at signed_by_id sign_method topic interventions process"
        ),
        rows(),
        label="notes_groupnote",
    )


def _notes(world: dict[str, Any], episodes: list[Episode], loader: Loader) -> None:
    """Individual (and some family or case-management) notes every four weeks."""
    from openiop.notes.models import Note

    rng = random.Random(SEED + 5)
    today, now = world["today"], loader.now
    kinds = ("individual", "individual", "individual", "family", "case_management")
    sections = {
        "data": "Reported a week without use; sleeping better; argued with partner.",
        "assessment": "Engaged; cravings lower; conflict at home remains a risk.",
        "plan": "Practise the conflict plan; family session in two weeks.",
    }

    def rows() -> Iterator[tuple[Any, ...]]:
        for e in episodes:
            day = e.admitted + dt.timedelta(days=3)
            stop = e.end(today)
            zone = e.site.facility.zone
            while day <= stop:
                started = dt.datetime.combine(day, dt.time(15), tzinfo=zone)
                ended = started + dt.timedelta(minutes=50)
                signed = ended + dt.timedelta(hours=rng.randint(1, 40))
                unsigned = signed > now or rng.random() < (
                    0.3 if (today - day).days < 10 else 0.004
                )
                yield (
                    e.pk,
                    e.patient_pk,
                    e.site.facility.pk,
                    rng.choice(kinds),
                    "dap",
                    sections,
                    day,
                    started,
                    ended,
                    e.clinician_pk,
                    ended,
                    ended,
                    None if unsigned else signed,
                    None if unsigned else e.clinician_pk,
                    "" if unsigned else "password",
                )
                day += dt.timedelta(days=28)

    loader.load(
        Note,
        _cols(
            "episode_id patient_id facility_id kind note_format sections service_date started_at "
            "ended_at author_id created_at updated_at signed_at signed_by_id sign_method"
        ),
        _in_date_order(rows(), 6),
        label="notes_note",
    )


def _discharges(world: dict[str, Any], episodes: list[Episode], loader: Loader) -> None:
    """Signed discharges, follow-ups with contact attempts, referrals, level-of-care changes,
    discharge plans of the open episodes, care-team rows and patient statuses."""
    from openiop.core import teds
    from openiop.discharge import rules
    from openiop.discharge.models import (
        ContactAttempt,
        Discharge,
        DischargePlan,
        FollowUp,
        LevelOfCareChange,
        Referral,
    )
    from openiop.patients.models import CareTeamMember, Patient

    rng = random.Random(SEED + 6)
    today, now = world["today"], loader.now
    done = sorted((e for e in episodes if e.discharged), key=lambda e: e.discharged or today)
    readmitted: dict[int, dt.date] = {}
    for e in episodes:  # a later episode of the same patient
        readmitted[e.patient_pk] = max(readmitted.get(e.patient_pk, e.admitted), e.admitted)

    def maybe(value: int) -> int | None:
        return None if rng.random() < 0.05 else value

    def discharge_rows() -> Iterator[tuple[Any, ...]]:
        for e in done:
            assert e.discharged is not None
            key = e.reason_key
            if key in rules.NO_STEP_DOWN_REASONS:
                step = "none"
            elif key == "higher_level":
                step = "higher"
            elif key.startswith("completed"):
                step = _weighted(rng, STEP_DOWNS_DONE)
            else:
                step = _weighted(rng, STEP_DOWNS_LEFT)
            assert rules.step_down_error(step, key) is None, (step, key)
            early = rules.is_early(e.admitted, e.discharged)
            zone = e.site.facility.zone
            at = dt.datetime.combine(e.discharged, dt.time(16), tzinfo=zone)
            yield (
                e.pk,
                e.patient_pk,
                e.site.facility.pk,
                e.discharged,
                key,
                int(rules.teds_reason(key)),
                "",
                "Left before the 90th day; see the reason." if early else "",
                "Weekly outpatient counseling and two meetings a week." if early else "",
                step,
                "Community counseling" if step in ("outpatient", "aftercare") else "",
                e.discharged + dt.timedelta(days=7) if step == "outpatient" else None,
                key != "died" and rng.random() < 0.88,
                "Mobile, afternoons",
                {},
                "Attended groups and individual sessions.",
                "Stable.",
                "Continue the relapse-prevention plan.",
                maybe(rng.choice((1, 1, 1, 2, 3))),
                maybe(rng.choice((1, 1, 2))),
                None,
                maybe(rng.randint(1, 4)),
                maybe(rng.choice((2, 3, 3, 3, 1))),
                maybe(rng.choice((0, 0, 0, 0, 1))),
                maybe(rng.randint(1, 5)),
                e.clinician_pk,
                at,
                at,
                at + dt.timedelta(hours=2),
                e.clinician_pk,
                "password",
            )

    loader.load(
        Discharge,
        _cols(
            "episode_id patient_id facility_id discharge_date reason_key reason reason_detail "
            "early_reason continuing_care step_down step_down_provider step_down_date "
            "followup_agreed followup_contact facts course condition recommendations teds_freq1_d "
            "teds_freq2_d teds_freq3_d teds_employ_d teds_livarag_d teds_arrests_d "
            "teds_self_help_d created_by_id created_at updated_at signed_at signed_by_id "
            "sign_method"
        ),
        discharge_rows(),
    )
    agreed = {
        pk for (pk,) in Discharge.objects.filter(followup_agreed=True).values_list("episode_id")
    }
    # Follow-ups: explicit ids for their contact attempts.
    plan = [(e, d) for e in done if e.pk in agreed for d in FOLLOWUP_DAYS]
    ids = loader.ids(FollowUp, len(plan))
    attempts: list[tuple[Any, ...]] = []
    housing = ("stable", "stable", "stable", "recovery_residence", "unstable", "homeless")

    def followup_rows() -> Iterator[tuple[Any, ...]]:
        for pk, (e, days) in zip(ids, plan, strict=True):
            assert e.discharged is not None
            due = e.discharged + dt.timedelta(days=days)
            zone = e.site.facility.zone
            back_on = readmitted[e.patient_pk]
            status = "due"
            outcome: tuple[Any, ...] = (None, None, None, None, "", None)
            completed_on = by = None
            if due < today:
                status = _weighted(
                    rng,
                    {"completed": 55, "unreachable": 25, "declined": 5, "cancelled": 5, "due": 10},
                )
            if status == "completed":
                completed_on = min(
                    today - dt.timedelta(days=1), due + dt.timedelta(days=rng.randint(0, 10))
                )
                by = world["coordinator"].pk
                used = rng.random() < 0.2 + days / 1500
                outcome = (
                    used,
                    rng.randint(1, 20) if used else 0,
                    rng.randint(0, 24),
                    rng.random() < 0.65,
                    rng.choice(housing),
                    e.discharged < back_on <= completed_on,
                )
            if status in ("completed", "unreachable", "declined"):
                tries = 1 if status != "unreachable" else 3
                for k in range(tries):
                    reached = k == tries - 1 and status != "unreachable"
                    attempts.append(
                        (
                            pk,
                            dt.datetime.combine(
                                due + dt.timedelta(days=k * 2), dt.time(11), tzinfo=zone
                            ),
                            rng.choice(("phone", "phone", "text")),
                            ("declined" if status == "declined" else "reached")
                            if reached
                            else rng.choice(("no_answer", "left_message")),
                            world["coordinator"].pk,
                            now,
                        )
                    )
            yield (
                pk,
                e.pk,
                e.patient_pk,
                e.site.facility.pk,
                days,
                due,
                status,
                completed_on,
                *outcome,
                by,
                now,
                now,
            )

    loader.load(
        FollowUp,
        _cols(
            "id episode_id patient_id facility_id days_after due_on status completed_on any_use "
            "days_used_30 meetings_30 working_or_school housing readmitted completed_by_id "
            "created_at updated_at"
        ),
        followup_rows(),
    )
    loader.load(
        ContactAttempt,
        ["followup_id", "attempted_at", "method", "result", "by_id", "created_at"],
        attempts,
    )
    kinds = [k for k, _ in Referral.Kind.choices]
    statuses = [s for s, _ in Referral.Status.choices]

    def referral_rows() -> Iterator[tuple[Any, ...]]:
        for e in done:
            assert e.discharged is not None
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                yield (
                    e.pk,
                    e.patient_pk,
                    rng.choice(kinds),
                    "County services",
                    rng.choice(statuses),
                    min(today, e.discharged + dt.timedelta(days=rng.randint(0, 30))),
                    e.clinician_pk,
                    now,
                    now,
                )

    loader.load(
        Referral,
        _cols(
            "episode_id patient_id kind provider status status_on created_by_id created_at "
            "updated_at"
        ),
        referral_rows(),
    )

    def change_rows() -> Iterator[tuple[Any, ...]]:
        for e in episodes:
            for before, after in zip(e.segments, e.segments[1:], strict=False):
                yield (
                    e.pk,
                    after.start,
                    before.lane.program.pk,
                    after.lane.program.pk,
                    before.lane.level,
                    after.lane.level,
                    before.lane.track.pk,
                    after.lane.track.pk,
                    int(teds.SERVICES_FOR_LEVEL[before.lane.level]),
                    int(teds.SERVICES_FOR_LEVEL[after.lane.level]),
                    "Stable: stepping down a level of care.",
                    e.clinician_pk,
                    now,
                )

    loader.load(
        LevelOfCareChange,
        _cols(
            "episode_id changed_on from_program_id to_program_id from_level to_level from_track_id "
            "to_track_id from_services to_services reason changed_by_id created_at"
        ),
        change_rows(),
    )
    loader.load(
        DischargePlan,
        _cols(
            "episode_id planned_step_down planned_date housing_ready work_school_ready updated_at "
            "updated_by_id"
        ),
        (
            (
                e.pk,
                _weighted(rng, STEP_DOWNS_DONE),
                e.admitted + dt.timedelta(days=120) if rng.random() < 0.6 else None,
                rng.random() < 0.7,
                rng.random() < 0.5,
                now,
                e.clinician_pk,
            )
            for e in episodes
            if e.discharged is None
        ),
    )
    latest: dict[int, Episode] = {}
    for e in episodes:
        if e.patient_pk not in latest or e.admitted > latest[e.patient_pk].admitted:
            latest[e.patient_pk] = e
    loader.load(
        CareTeamMember,
        ["patient_id", "user_id", "role", "started_on", "ended_on"],
        (
            (e.patient_pk, e.clinician_pk, "primary_clinician", e.admitted, e.discharged)
            for e in latest.values()
        ),
    )
    t0 = time.perf_counter()
    Patient.objects.update(status=Patient.Status.DISCHARGED)
    Patient.objects.filter(
        pk__in=[e.patient_pk for e in latest.values() if e.discharged is None]
    ).update(status=Patient.Status.ACTIVE)
    print(f"  patient statuses in {time.perf_counter() - t0:.1f} s", flush=True)


def _plans(world: dict[str, Any], episodes: list[Episode], loader: Loader) -> None:
    """A treatment plan per episode with its active (signed) version; a quarter of the open
    episodes are past their review date."""
    from openiop.plans.models import PlanVersion, TreatmentPlan

    rng = random.Random(SEED + 7)
    today = world["today"]
    ids = loader.ids(TreatmentPlan, len(episodes))

    def plan_rows() -> Iterator[tuple[Any, ...]]:
        for pk, e in zip(ids, episodes, strict=True):
            every = 30
            if e.discharged is None:
                last = max(e.admitted, today - dt.timedelta(days=rng.randint(0, 40)))
            else:
                last = max(e.admitted, e.discharged - dt.timedelta(days=rng.randint(0, 29)))
            yield (
                pk,
                e.pk,
                e.patient_pk,
                last + dt.timedelta(days=every),
                "scheduled",
                last if last > e.admitted else None,
                dt.datetime.combine(e.admitted, dt.time(12), tzinfo=e.site.facility.zone),
                e.clinician_pk,
            )

    loader.load(
        TreatmentPlan,
        _cols(
            "id episode_id patient_id review_due_on review_due_reason last_reviewed_on created_at "
            "created_by_id"
        ),
        plan_rows(),
    )

    def version_rows() -> Iterator[tuple[Any, ...]]:
        for pk, e in zip(ids, episodes, strict=True):
            lane = e.segments[-1].lane
            signed = dt.datetime.combine(
                e.admitted + dt.timedelta(days=min(7, (e.end(today) - e.admitted).days)),
                dt.time(13),
                tzinfo=e.site.facility.zone,
            )
            yield (
                pk,
                1,
                "active",
                lane.level,
                f"{lane.minutes / 60:.2f}",
                len(e.segments[-1].pattern),
                lane.track.pk,
                2,
                "Close to family; wants to keep working.",
                "Meets the objectives and has a relapse-prevention plan.",
                signed,
                e.clinician_pk,
                signed,
                signed,
            )

    loader.load(
        PlanVersion,
        _cols(
            "plan_id number status level_of_care hours_per_day days_per_week track_id "
            "meetings_per_week strengths discharge_criteria created_at created_by_id locked_at "
            "activated_at"
        ),
        version_rows(),
    )


def _drug_tests(world: dict[str, Any], episodes: list[Episode], loader: Loader) -> None:
    from openiop.recovery.models import DrugTest, DrugTestResult

    rng = random.Random(SEED + 8)
    today = world["today"]
    plan: list[tuple[Episode, dt.date, int]] = []
    for e in episodes:
        stop = e.end(today)
        offsets = [2, 14, 28]
        while offsets[-1] < (stop - e.admitted).days:
            offsets.append(offsets[-1] + 35)
        for k, off in enumerate(offsets):
            day = e.admitted + dt.timedelta(days=off)
            if day <= stop:
                plan.append((e, day, k))
    plan.sort(key=lambda p: p[1])
    ids = loader.ids(DrugTest, len(plan))
    results: list[tuple[Any, ...]] = []

    def test_rows() -> Iterator[tuple[Any, ...]]:
        for pk, (e, day, k) in zip(ids, plan, strict=True):
            zone = e.site.facility.zone
            at = dt.datetime.combine(day, dt.time(9, 30), tzinfo=zone)
            chance = e.use_risk * (2.0 if k < 2 else 1.0)
            for substance in PANEL:
                roll = rng.random()
                own = substance == e.sub[2]
                if roll < 0.01:
                    result, reading = "invalid", "not_readable"
                elif roll < (chance if own else chance / 8):
                    result, reading = "positive", "unexpected"
                else:
                    result, reading = "negative", "negative"
                results.append((pk, substance, result, reading))
            yield (
                pk,
                e.patient_pk,
                e.pk,
                e.site.facility.pk,
                "urine",
                True,
                at,
                e.clinician_pk,
                e.clinician_pk,
                at + dt.timedelta(hours=6),
            )

    loader.load(
        DrugTest,
        _cols(
            "id patient_id episode_id facility_id specimen observed collected_at collected_by_id "
            "recorded_by_id recorded_at"
        ),
        test_rows(),
    )
    loader.load(DrugTestResult, ["test_id", "substance", "result", "reading"], results)


def _answers(rng: random.Random, items: int, total: int) -> dict[str, int]:
    """Answers 0–3 to ``items`` items adding up to ``total`` (item 9 of the PHQ-9 kept low)."""
    answers = [0] * items
    left = min(total, items * 3)
    open_items = list(range(items - 1 if items == 9 else items))
    while left > 0 and open_items:
        i = rng.choice(open_items)
        answers[i] += 1
        left -= 1
        if answers[i] == 3:
            open_items.remove(i)
    if items == 9 and total > 18 and rng.random() < 0.1:
        answers[8] = 1
    return {str(n + 1): v for n, v in enumerate(answers)}


def _administrations(world: dict[str, Any], episodes: list[Episode], loader: Loader) -> None:
    """PHQ-9 and GAD-7 at admission, at weeks 4 and 12 and every 12 weeks after, and at
    discharge; scores fall over the stay (some do not improve)."""
    from openiop.measures import scoring
    from openiop.measures.models import Administration

    rng = random.Random(SEED + 9)
    today = world["today"]

    def rows() -> Iterator[tuple[Any, ...]]:
        for e in episodes:
            stop = e.end(today)
            stay = (stop - e.admitted).days
            offsets = [1, 28, 84]
            while offsets[-1] + 84 < stay:
                offsets.append(offsets[-1] + 84)
            offsets = [o for o in offsets if o <= stay]
            if e.discharged and stay - offsets[-1] > 14:
                offsets.append(stay)
            drop = rng.uniform(0.0, 0.75)
            zone = e.site.facility.zone
            for code, items, top in (("phq9", 9, 27), ("gad7", 7, 21)):
                base = max(3, min(top, round(rng.gauss(top * 0.55, top * 0.18))))
                for off in offsets:
                    share = min(1.0, off / 120)
                    total = max(0, min(top, round(base * (1 - drop * share) + rng.gauss(0, 1.5))))
                    answers = _answers(rng, items, total)
                    score = scoring.score(code, answers)
                    at = dt.datetime.combine(
                        e.admitted + dt.timedelta(days=off), dt.time(11), tzinfo=zone
                    )
                    yield (
                        e.patient_pk,
                        code,
                        answers,
                        score.total,
                        score.band,
                        sorted(score.flags),
                        score.subscales,
                        at,
                        e.clinician_pk,
                        at,
                        e.clinician_pk,
                    )

    loader.load(
        Administration,
        _cols(
            "patient_id instrument answers total band flags subscales administered_at "
            "administered_by_id entered_at entered_by_id"
        ),
        _in_date_order(rows(), 7),
    )


def _meetings(world: dict[str, Any], episodes: list[Episode], loader: Loader) -> None:
    from openiop.recovery.models import Meeting

    rng = random.Random(SEED + 10)
    today = world["today"]
    fellowships = ("aa", "aa", "na", "na", "smart", "ca", "celebrate")
    settings_ = ("community_center", "church", "on_site", "online")

    def rows() -> Iterator[tuple[Any, ...]]:
        for e in episodes:
            stop = e.end(today)
            monday = e.admitted - dt.timedelta(days=e.admitted.weekday())
            while monday <= stop:
                if rng.random() < e.meetings:
                    for _ in range(1 if rng.random() < 0.8 else 2):
                        day = monday + dt.timedelta(days=rng.randint(0, 6))
                        verification = rng.choice(("self", "self", "staff"))
                        if e.admitted <= day <= stop:
                            yield (
                                e.patient_pk,
                                e.pk,
                                e.site.facility.pk,
                                day,
                                monday,
                                rng.choice(fellowships),
                                rng.choice(settings_),
                                60,
                                verification,
                                e.clinician_pk if verification == "staff" else None,
                                e.clinician_pk,
                                loader.now,
                            )
                monday += dt.timedelta(days=7)

    loader.load(
        Meeting,
        _cols(
            "patient_id episode_id facility_id date week_start fellowship setting minutes "
            "verification verified_by_id recorded_by_id recorded_at"
        ),
        _in_date_order(rows(), 3),
    )


def _alumni(world: dict[str, Any], episodes: list[Episode], loader: Loader) -> None:
    """A weekly alumni group per facility (Thursday evening), attended by people discharged
    in the year before."""
    import bisect

    from openiop.discharge.models import AlumniAttendance, AlumniEvent

    rng = random.Random(SEED + 11)
    today, first_day = world["today"], world["first_day"]
    coordinator = world["coordinator"].pk
    plan: list[tuple[Site, dt.date]] = []
    for site in world["sites"]:
        day = first_day + dt.timedelta(days=(3 - first_day.weekday()) % 7)
        while day <= today + dt.timedelta(days=28):
            plan.append((site, day))
            day += dt.timedelta(days=7)
    plan.sort(key=lambda p: p[1])
    ids = loader.ids(AlumniEvent, len(plan))
    alumni: dict[int, list[tuple[dt.date, int]]] = {}
    for e in episodes:
        if e.discharged and e.reason_key not in ("died", "incarcerated"):
            alumni.setdefault(e.site.facility.pk, []).append((e.discharged, e.patient_pk))
    for rows in alumni.values():
        rows.sort()
    came: list[tuple[Any, ...]] = []

    def event_rows() -> Iterator[tuple[Any, ...]]:
        for pk, (site, day) in zip(ids, plan, strict=True):
            starts = dt.datetime.combine(day, dt.time(18, 30), tzinfo=site.facility.zone)
            if day < today:
                pool = alumni.get(site.facility.pk, [])
                lo = bisect.bisect_left(pool, (day - dt.timedelta(days=365), 0))
                hi = bisect.bisect_left(pool, (day, 0))
                who = (
                    {
                        pool[i][1]
                        for i in rng.sample(range(lo, hi), min(hi - lo, rng.randint(3, 12)))
                    }
                    if hi > lo
                    else set()
                )
                for patient_pk in sorted(who):
                    came.append((pk, patient_pk, coordinator, starts))
            yield (
                pk,
                site.facility.pk,
                "group",
                "Alumni group",
                starts,
                starts + dt.timedelta(minutes=90),
                "Community room",
                coordinator,
                loader.now,
            )

    loader.load(
        AlumniEvent,
        _cols("id facility_id kind title starts_at ends_at location created_by_id created_at"),
        event_rows(),
    )
    loader.load(AlumniAttendance, ["event_id", "patient_id", "recorded_by_id", "recorded_at"], came)


def generate(world: dict[str, Any]) -> dict[str, Any]:
    loader = Loader()
    t_all = time.perf_counter()
    print(
        f"generating at scale {world['scale']} (today {world['today']}, "
        f"from {world['first_day']}):",
        flush=True,
    )
    episodes = _plan_episodes(world, loader)
    _episodes_rows(world, episodes, loader)
    from openiop.measures.models import Administration
    from openiop.notes.models import GroupNote, Note
    from openiop.recovery.models import DrugTest, DrugTestResult, Meeting
    from openiop.scheduling.models import Attendance, DoseDay, Session

    big = (Session, Attendance, DoseDay, GroupNote, Note, DrugTest, DrugTestResult)
    with loader.rebuilt(*big, Administration, Meeting):
        sessions = _schedules_and_sessions(world, episodes, loader)
        attended = _attendance(world, episodes, sessions, loader)
        _dose_days(loader)
        _group_notes(world, sessions, attended, loader)
        _notes(world, episodes, loader)
        _drug_tests(world, episodes, loader)
        _administrations(world, episodes, loader)
        _meetings(world, episodes, loader)
    _discharges(world, episodes, loader)
    _plans(world, episodes, loader)
    _alumni(world, episodes, loader)
    loader.reset_sequences()
    seconds = time.perf_counter() - t_all
    print(f"generated in {seconds:.0f} s", flush=True)
    return {
        "seconds": seconds,
        "tables": {
            k: {"rows": v, "seconds": round(loader.seconds[k], 1)} for k, v in loader.rows.items()
        },
        "open_episodes": sum(1 for e in episodes if e.discharged is None),
        "transfers": sum(len(e.segments) - 1 for e in episodes),
    }


def _counts() -> dict[str, int]:
    from openiop.admissions.models import EpisodeOfCare
    from openiop.discharge.models import Discharge, FollowUp
    from openiop.measures.models import Administration
    from openiop.notes.models import GroupNote, Note
    from openiop.patients.models import Patient
    from openiop.recovery.models import DrugTest, DrugTestResult, Meeting
    from openiop.scheduling.models import Attendance, DoseDay, Session

    return {
        "patients": Patient.objects.count(),
        "episodes": EpisodeOfCare.objects.count(),
        "open_episodes": EpisodeOfCare.objects.filter(discharge_date__isnull=True).count(),
        "discharges": Discharge.objects.count(),
        "followups": FollowUp.objects.count(),
        "sessions": Session.objects.count(),
        "attendance": Attendance.objects.count(),
        "dose_days": DoseDay.objects.count(),
        "group_notes": GroupNote.objects.count(),
        "notes": Note.objects.count(),
        "unsigned_notes": Note.objects.filter(signed_at__isnull=True).count()
        + GroupNote.objects.filter(signed_at__isnull=True).count(),
        "drug_tests": DrugTest.objects.count(),
        "drug_test_results": DrugTestResult.objects.count(),
        "administrations": Administration.objects.count(),
        "meetings": Meeting.objects.count(),
    }


# --------------------------------------------------------------------------------------
# Worker: measuring
# --------------------------------------------------------------------------------------


def _measure(
    name: str, call: Callable[[], Any], repeat: int, *, http: bool, warmup: int = 1
) -> dict[str, Any]:
    """p50/p95/max wall ms, CPU ms of this process, ms in SQL statements and queries per call,
    over ``repeat`` calls after ``warmup``. A warm-up slower than ``SLOW_S`` is far over the
    target: it is kept as the only measurement (``n`` 1) instead of running ``repeat`` more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ms: list[float] = []
    cpu: list[float] = []
    sql: list[float] = []
    queries: list[int] = []
    slowest: tuple[float, str] = (0.0, "")
    runs = warmup + repeat
    done = 0
    while done < runs:
        with CaptureQueriesContext(connection) as ctx:
            c0 = time.process_time()
            t0 = time.perf_counter()
            response = call()
            wall = (time.perf_counter() - t0) * 1000
            used = (time.process_time() - c0) * 1000
        if http and response.status_code != 200:
            raise RuntimeError(f"answered {response.status_code}")
        done += 1
        if done <= warmup and wall < SLOW_S * 1000:
            continue
        captured = [
            q for q in ctx.captured_queries if not q["sql"].startswith(harness.SESSION_WRITE)
        ]
        ms.append(wall)
        cpu.append(used)
        queries.append(len(captured))
        sql.append(1000 * sum(float(q["time"]) for q in captured))
        for q in captured:
            if float(q["time"]) * 1000 > slowest[0]:
                slowest = (float(q["time"]) * 1000, q["sql"])
        if done <= warmup:  # a slow warm-up: that one run is the measurement
            break
    s: dict[str, Any] = {
        "n": len(ms),
        "p50": harness.percentile(ms, 50),
        "p95": harness.percentile(ms, 95),
        "max": max(ms),
        "cpu_p50": harness.percentile(cpu, 50),
        "sql_p50": harness.percentile(sql, 50),
        "q_min": min(queries),
        "q_max": max(queries),
        "slowest_ms": round(slowest[0], 1),
        "slowest_sql": slowest[1][:20000],
    }
    verdict = "PASS" if s["p95"] < TARGET_MS else "FAIL"
    print(
        f"    {SCENARIO_LABELS.get(name, name)}: p50 {s['p50']:.0f} ms  p95 {s['p95']:.0f}  "
        f"max {s['max']:.0f}  cpu {s['cpu_p50']:.0f}  sql {s['sql_p50']:.0f}  "
        f"queries {harness.fmt_range(s['q_min'], s['q_max'])}  n {s['n']}  {verdict}",
        flush=True,
    )
    return s


def _registry(missing: list[str]) -> dict[str, Any]:
    import importlib

    try:
        registry = importlib.import_module("openiop.reports.registry")
        load = getattr(registry, "load", None)
        if load is not None:
            load()
    except ModuleNotFoundError:
        missing.append("openiop.reports.registry")
        for name in ("openiop.reports.operations", "openiop.reports.clinical"):
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                missing.append(f"{name} ({exc})")
    from openiop.reports.base import REGISTRY

    return dict(sorted(REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def _filter_params(start: dt.date, end: dt.date) -> dict[str, str]:
    """The page's GET parameters for all the person's facilities and programs (the names of
    the report filter form's fields when it has them)."""
    wanted = {"facility": "", "program": "", "start": start.isoformat(), "end": end.isoformat()}
    with contextlib.suppress(ImportError, AttributeError):
        from openiop.reports.forms import ReportFilterForm

        return {k: v for k, v in wanted.items() if k in ReportFilterForm.base_fields}
    return wanted


def _filters(ids: tuple[int, ...], start: dt.date, end: dt.date) -> Any:
    import dataclasses

    from openiop.reports.base import Filters

    extra = {}
    if "today" in {f.name for f in dataclasses.fields(Filters)}:
        extra["today"] = end
    return Filters(facility_ids=ids, program_id=None, start=start, end=end, **extra)


def _call_with(fn: Callable[..., Any], available: dict[str, Any]) -> Any:
    """Call ``fn`` with the keyword arguments it names, taken from ``available``."""
    sig = inspect.signature(fn)
    kwargs = {}
    positional = []
    for name, p in sig.parameters.items():
        if name in available:
            if p.kind == p.POSITIONAL_ONLY:
                positional.append(available[name])
            else:
                kwargs[name] = available[name]
        elif p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{fn.__qualname__} needs {name!r}, which the benchmark does not know")
    return fn(*positional, **kwargs)


def _count_rows(result: Any) -> int:
    if isinstance(result, int):
        return result
    if hasattr(result, "rows") and not callable(result.rows):
        return len(result.rows)
    if isinstance(result, tuple) and result and isinstance(result[0], list | tuple):
        return len(result[0])
    return sum(1 for _ in result)


def _teds(world: dict[str, Any], repeat: int, missing: list[str]) -> list[dict[str, Any]]:
    import importlib

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today, first_day, chief = world["today"], world["first_day"], world["chief"]
    facility_ids = tuple(sorted(s.facility.pk for s in world["sites"]))
    out: list[dict[str, Any]] = []
    try:
        teds_mod = importlib.import_module("openiop.reports.teds")
    except ModuleNotFoundError:
        missing.append("openiop.reports.teds")
        return out
    ranges = {
        "1 year": (today - dt.timedelta(days=364), today),
        "5 years": (first_day, today),
    }
    for fname in ("teds_a_rows", "teds_d_rows"):
        fn = getattr(teds_mod, fname, None)
        if fn is None:
            missing.append(f"openiop.reports.teds.{fname}")
            continue
        for label, (start, end) in ranges.items():
            filters = _filters(facility_ids, start, end)
            available = {
                "filters": filters,
                "user": chief,
                "actor": chief,
                "facility_ids": facility_ids,
                "facilities": list(facility_ids),
                "start": start,
                "end": end,
                "program_id": None,
            }
            best: tuple[float, int, int] | None = None
            for _ in range(max(1, min(repeat, 3))):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    rows = _count_rows(_call_with(fn, available))
                    seconds = time.perf_counter() - t0
                if best is None or seconds < best[0]:
                    best = (seconds, rows, len(ctx.captured_queries))
            assert best is not None
            seconds, rows, queries = best
            out.append(
                {
                    "what": fname,
                    "range": label,
                    "rows": rows,
                    "seconds": seconds,
                    "rows_per_s": rows / max(seconds, 1e-9),
                    "queries": queries,
                }
            )
            print(
                f"    {fname}, {label}: {rows:,} rows in {seconds:.2f} s "
                f"({rows / max(seconds, 1e-9):,.0f} rows/s, {queries} queries, best of "
                f"{max(1, min(repeat, 3))})",
                flush=True,
            )
    # The background export path.
    try:
        exports = importlib.import_module("openiop.reports.exports")
    except ModuleNotFoundError:
        missing.append("openiop.reports.exports")
        return out
    run_export = getattr(exports, "run_export", None)
    if run_export is None:
        missing.append("openiop.reports.exports.run_export")
        return out
    from openiop.reports.models import Export

    kinds = getattr(exports, "TEDS_KINDS", None) or {"teds-a": "A", "teds-d": "D"}
    params = {
        "facility_ids": list(facility_ids),
        "facility": None,
        "program": None,
        "start": first_day.isoformat(),
        "end": today.isoformat(),
    }
    for kind in kinds:
        # What exports.start_export saves (it also queues the task; here it runs inline).
        export = Export.objects.create(
            kind=kind, params=params, title=f"Benchmark {kind}", created_by=chief
        )
        t0 = time.perf_counter()
        try:
            _call_with(run_export, {"export_id": export.pk, "export": export})
        except Exception as exc:
            missing.append(f"run_export({kind}) failed: {type(exc).__name__}: {exc}"[:300])
            continue
        seconds = time.perf_counter() - t0
        export.refresh_from_db()
        out.append(
            {
                "what": f"run_export {kind} ({export.status})",
                "range": "5 years",
                "rows": export.rows,
                "seconds": seconds,
                "rows_per_s": export.rows / max(seconds, 1e-9),
                "queries": "",
                "bytes": export.size,
            }
        )
        print(
            f"    run_export {kind}: {export.status}, {export.rows:,} rows, {export.size:,} bytes "
            f"in {seconds:.2f} s ({export.rows / max(seconds, 1e-9):,.0f} rows/s)",
            flush=True,
        )
        if export.status != "done":
            missing.append(f"run_export({kind}) ended {export.status}: {export.error}"[:300])
    return out


def _explain(sql: str) -> None:
    from django.db import connection

    postgres = connection.vendor == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    print(f"\n  slowest statement:\n  {sql[:3000]}\n", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        for row in cursor.fetchall():
            print("    " + " | ".join(str(c) for c in row))


def run_worker(args: argparse.Namespace) -> int:
    harness.setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from openiop.accounts.models import Organization, User

    generation: dict[str, Any] = {}
    if args.reuse and Organization.objects.filter(name=ORG_NAME).exists():
        print("data already there (--reuse): not generating", flush=True)
        world = _existing_world()
    else:
        harness.migrate()
        call_command("check", verbosity=0)
        world = _world(args.scale)
        generation = generate(world)
        t0 = time.perf_counter()
        harness.analyze()
        what = "VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE"
        print(f"{what} in {time.perf_counter() - t0:.0f} s", flush=True)
    if connection.vendor == "postgresql" and args.timeout:
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(args.timeout * 1000)}")
    counts = _counts()
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    missing: list[str] = []
    registry = _registry(missing)
    only = set(args.only or [])
    reports = {k: r for k, r in registry.items() if not only or k in only}
    print(f"reports registered: {', '.join(registry) or 'none'}", flush=True)
    today, first_day = world["today"], world["first_day"]
    chief: User = world["chief"]
    all_ids = tuple(sorted(s.facility.pk for s in world["sites"]))
    one_id = (all_ids[0],)
    year_start = today - dt.timedelta(days=364)
    ranges = {"1y": year_start, "5y": first_day}
    load = [os.getloadavg()[0]]
    measured: dict[str, dict[str, Any]] = {}
    client = Client()
    client.force_login(chief)
    for key, report in reports.items():
        print(f"\n  {key}: {report.title}", flush=True)
        scenarios: dict[str, Any] = {}
        for scope, ids in (("one", one_id), ("all", all_ids)):
            for span, start in ranges.items():
                name = f"{scope}_{span}"
                filters = _filters(ids, start, today)
                try:
                    scenarios[name] = _measure(
                        name,
                        functools.partial(report.build, filters, chief),
                        args.repeat,
                        http=False,
                    )
                except Exception as exc:
                    print(f"    {name}: ERROR {type(exc).__name__}: {exc}", flush=True)
                    scenarios[name] = {"error": f"{type(exc).__name__}: {exc}"}
        if not args.skip_pages:
            for span, start in ranges.items():
                params = _filter_params(start, today)
                builder = scenarios.get(f"all_{span}", {})
                too_slow = "error" in builder or builder.get("p50", 0) > SLOW_S * 1000
                for kind, route in (("page", "reports:report"), ("csv", "reports:report_csv")):
                    name = f"{kind}_{span}"
                    if too_slow:  # the page runs the same builder: no need to wait again
                        why = "failed" if "error" in builder else f"took over {SLOW_S:.0f} s"
                        scenarios[name] = {"error": f"not measured: the builder {why}"}
                        continue
                    try:
                        url = reverse(route, kwargs={"key": key})
                    except NoReverseMatch:
                        missing.append(f"url {route}")
                        continue
                    try:
                        scenarios[name] = _measure(
                            name, functools.partial(client.get, url, params), args.repeat, http=True
                        )
                    except Exception as exc:
                        print(f"    {name}: ERROR {type(exc).__name__}: {exc}", flush=True)
                        scenarios[name] = {"error": f"{type(exc).__name__}: {exc}"}
        measured[key] = scenarios
    if not args.skip_pages:
        print("\n  dashboard", flush=True)
        try:
            url = reverse("reports:dashboard")
            measured["dashboard"] = {
                "page": _measure("page", lambda: client.get(url), args.repeat, http=True)
            }
        except Exception as exc:
            print(f"    dashboard: ERROR {type(exc).__name__}: {exc}", flush=True)
            measured["dashboard"] = {"page": {"error": f"{type(exc).__name__}: {exc}"}}
    teds: list[dict[str, Any]] = []
    if not args.skip_teds:
        print("\n  TEDS export", flush=True)
        teds = _teds(world, args.repeat, missing)
    load.append(os.getloadavg()[0])
    print(
        f"\n1-minute load average {load[0]:.1f} before measuring, {load[1]:.1f} after", flush=True
    )
    if args.explain:
        worst = max(
            (
                (s.get("slowest_ms", 0.0), s.get("slowest_sql", ""), k, n)
                for k, sc in measured.items()
                for n, s in sc.items()
            ),
            default=None,
        )
        if worst and worst[1].lstrip().upper().startswith(("SELECT", "WITH")):
            print(
                f"\nEXPLAIN of the slowest statement ({worst[0]:.0f} ms, {worst[2]} / {worst[3]}):"
            )
            try:
                _explain(worst[1])
            except Exception as exc:
                print(f"  EXPLAIN failed: {type(exc).__name__}: {exc}")
    for scenarios in measured.values():
        for s in scenarios.values():
            s.pop("slowest_sql", None)
    Path(args.json_out).write_text(
        json.dumps(
            {
                "database": args.database,
                # A reused database keeps the scale it was made at.
                "scale": args.scale if generation else round(counts["episodes"] / EPISODES, 3),
                "generation": generation,
                "counts": counts,
                "reports": list(registry),
                "missing": sorted(set(missing)),
                "measured": measured,
                "teds": teds,
                "load": load,
            },
            default=str,
        )
    )
    return 0


def _existing_world() -> dict[str, Any]:
    """What the measurements need from a database generated earlier (``--reuse``)."""
    from django.db.models import Min

    from openiop.accounts.models import Facility, User
    from openiop.admissions.models import EpisodeOfCare

    facilities = list(Facility.objects.filter(organization__name=ORG_NAME).order_by("pk"))
    from django.utils import timezone

    today = min(timezone.localdate(timezone=f.zone) for f in facilities)
    first = EpisodeOfCare.objects.aggregate(m=Min("admission_date"))["m"] or today
    return {
        "sites": [Site(f, {}, [], None, []) for f in facilities],
        "chief": User.objects.get(email="chief.clinical@bench.example.org"),
        "today": today,
        "first_day": min(first, today - dt.timedelta(days=YEARS * 365)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgres"], default=["postgres"]
    )
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 50,000 episodes")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per scenario")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database and skip generating when it is there",
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) the slowest statement"
    )
    parser.add_argument("--only", nargs="+", help="measure only these report keys")
    parser.add_argument(
        "--skip-pages", action="store_true", help="builders only: no pages, CSVs, dashboard"
    )
    parser.add_argument("--skip-teds", action="store_true", help="no TEDS export")
    parser.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="PostgreSQL statement_timeout while measuring, seconds (0: none)",
    )
    parser.add_argument("--pg-url", default=harness.DEFAULT_PG_URL)
    harness.add_run_options(parser, sizes=False)
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 2:
        parser.error("--scale is more than 0 and at most 2")
    if args.repeat < 1:
        parser.error("--repeat is 1 or more")
    return run_worker(args) if args.worker else run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
