#!/usr/bin/env python
"""Treatment-plan page benchmark for OpenIOP (see benchmarks/README.md).

    .venv/bin/python benchmarks/plan_page.py [--databases sqlite postgres] [--repeat 100]
        [--versions 10] [--objectives 40 10] [--links 500] [--selectors-only]

For every database the script starts a fresh database and runs itself again in a subprocess
(``--worker``), because Django settings are process-global. The worker migrates, creates an
organization (with its standard plan library), a facility, an adult IOP program, a clinician
and one patient per plan size; builds each plan through ``openiop.plans.services`` — version 1
with the problems, goals, objectives (``--objectives``, 10 per problem) and one intervention
each, signed by the patient and the clinician, then ``--versions - 1`` new versions each with a
small change and both signatures — and adds ``--links`` golden-thread links (bulk insert of the
rows ``services.link_service`` writes), spread over the objectives of every version.

It then measures, through ``django.test.Client`` signed in as the clinician:

* the chart's Treatment plan tab:       GET /plans/patient/<pk>/
* the active (latest) version:          GET /plans/patient/<pk>/version/<vpk>/
* the first (superseded) version:       GET /plans/patient/<pk>/version/<v1>/
* comparing the first and last version: GET /plans/patient/<pk>/compare/?a=<v1>&b=<vN>

p50/p95/max server time (time.perf_counter around the client call) and SQL queries per
request; the summary says whether each page's query count is the same for every plan size.
Any answer but 200 stops the run. ``--selectors-only`` measures selectors.version_tree +
comparison_items + rules.compare directly instead (no views, templates or middleware).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/")
PG_DB_NAME = "openiop_bench_plans"
SEED = 20260401
PASSWORD = "bench-plan-password-2026"  # noqa: S105 - a throwaway benchmark database
OBJECTIVES_PER_PROBLEM = 10

SCENARIO_TITLES = {
    "chart": "plan tab (GET /plans/patient/<pk>/)",
    "version_active": "active version (GET …/version/<vN>/)",
    "version_first": "first version (GET …/version/<v1>/)",
    "compare": "compare v1 with vN (GET …/compare/?a=&b=)",
    "tree": "selectors.version_tree(vN) + comparison_items",
    "tree_compare": "version_tree(v1, vN) + comparison_items + rules.compare",
}


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt_range(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(widths[i]) if i in (0, 2) else v.rjust(widths[i]) for i, v in enumerate(values)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


# --------------------------------------------------------------------------------------
# Parent: one fresh database and one worker subprocess per database
# --------------------------------------------------------------------------------------


def _pg_url_for(base: str, dbname: str) -> str:
    return base.rstrip("/") + "/" + dbname


def postgres_problem(base_url: str) -> str | None:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(_pg_url_for(base_url, "postgres"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@contextlib.contextmanager
def fresh_database(kind: str, args: argparse.Namespace) -> Iterator[str]:
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="openiop-bench-plans-"))
        path = folder / "plans.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            if args.keep:
                print(f"(kept {path})")
            else:
                for leftover in folder.glob("*"):
                    leftover.unlink()
                folder.rmdir()
        return
    import psycopg
    from psycopg import sql

    admin_url = _pg_url_for(args.pg_url, "postgres")

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(PG_DB_NAME)
                )
            )

    drop()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PG_DB_NAME)))
    try:
        yield _pg_url_for(args.pg_url, PG_DB_NAME)
    finally:
        if args.keep:
            print(f"(kept database {PG_DB_NAME})")
        else:
            drop()


def run_parent(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    mode = "selectors only" if args.selectors_only else "pages through the test client"
    print(
        f"OpenIOP treatment-plan benchmark — {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
        f"{os.cpu_count()} CPU(s), python {sys.version.split()[0]}; {mode}"
    )
    print(
        f"databases={args.databases} versions={args.versions} objectives={args.objectives} "
        f"links={args.links} repeat={args.repeat}"
    )
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for kind in args.databases:
        if kind == "postgres":
            problem = postgres_problem(args.pg_url)
            if problem:
                print(f"\nSKIPPED postgres: no PostgreSQL answers at {args.pg_url} ({problem})")
                skipped[kind] = problem
                continue
        with (
            fresh_database(kind, args) as url,
            tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out,
        ):
            env = dict(os.environ)
            env.update(
                DATABASE_URL=url,
                OPENIOP_TESTING="true",
                OPENIOP_REQUIRE_MFA="false",
                DJANGO_SETTINGS_MODULE="config.settings",
                PYTHONUNBUFFERED="1",
            )
            env.pop("PYTEST_VERSION", None)
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                "--database",
                kind,
                "--repeat",
                str(args.repeat),
                "--versions",
                str(args.versions),
                "--links",
                str(args.links),
                "--json-out",
                out.name,
                "--objectives",
                *(str(n) for n in args.objectives),
            ]
            if args.selectors_only:
                cmd.append("--selectors-only")
            print(f"\n=== {kind} ".ljust(78, "="), flush=True)
            proc = subprocess.run(cmd, env=env, cwd=ROOT, check=False)  # noqa: S603
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
    rows = []
    for result in results:
        if "failed" in result:
            rows.append([result["database"], "-", "FAILED", "", "", "", ""])
            continue
        for run in result["runs"]:
            for name, s in run["scenarios"].items():
                rows.append(
                    [
                        result["database"],
                        run["objectives"],
                        SCENARIO_TITLES[name],
                        f"{s['p50']:.1f}",
                        f"{s['p95']:.1f}",
                        f"{s['max']:.1f}",
                        fmt_range(s["q_min"], s["q_max"]),
                    ]
                )
    if rows:
        headers = ["db", "objectives", "scenario", "p50 ms", "p95 ms", "max ms", "queries"]
        print(table(headers, rows))
    for result in results:
        if "failed" in result:
            continue
        by_scenario: dict[str, set[int]] = {}
        for run in result["runs"]:
            for name, s in run["scenarios"].items():
                by_scenario.setdefault(name, set()).add(s["q_mode"])
        for name, modes in by_scenario.items():
            verdict = "constant" if len(modes) == 1 else "GROWS"
            print(
                f"{result['database']}: {SCENARIO_TITLES[name]}: queries {verdict} "
                f"({', '.join(str(m) for m in sorted(modes))}) across plan sizes"
            )
    for kind, why in skipped.items():
        print(f"{kind}: SKIPPED ({why})")


# --------------------------------------------------------------------------------------
# Worker: runs inside one process per database with DATABASE_URL already set
# --------------------------------------------------------------------------------------

SESSION_WRITE = ('UPDATE "django_session"', "BEGIN", "COMMIT")


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import warnings

    import django

    # WhiteNoise warns once that collectstatic has not run; the pages do not need it here.
    warnings.filterwarnings("ignore", message="No directory at")

    django.setup()


def _world() -> dict[str, Any]:
    from openiop.accounts.models import Facility, Organization, Program, Track, User
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
    Track.objects.create(
        program=program, name="Day", kind="day", start_time=dt.time(9), end_time=dt.time(12)
    )
    clinician = User.objects.create_user(
        "clinician@bench.example.org",
        password=PASSWORD,
        role=Role.CLINICIAN,
        organization=org,
        first_name="Jenna",
        last_name="Park",
    )
    clinician.facilities.set([facility])
    return {"facility": facility, "program": program, "clinician": clinician}


def _episode(world: dict[str, Any], patient: Any) -> Any:
    from django.utils import timezone

    from openiop.admissions.models import EpisodeOfCare
    from openiop.patients.models import CareTeamMember

    CareTeamMember.objects.create(
        patient=patient, user=world["clinician"], role=CareTeamMember.Role.PRIMARY_CLINICIAN
    )
    today = timezone.localdate(timezone=world["facility"].zone)
    return EpisodeOfCare.objects.create(
        patient=patient,
        facility=world["facility"],
        program=world["program"],
        level_of_care="2.1",
        track=world["program"].tracks.first(),
        admission_date=today - dt.timedelta(days=120),
        primary_clinician=world["clinician"],
        referral_source=1,
        teds_services=6,
    )


def _sign(version: Any, clinician: Any) -> None:
    from openiop.plans import services

    patient = version.plan.patient
    services.sign(
        actor=clinician,
        version=version,
        role="patient",
        typed_name=f"{patient.first_name} {patient.last_name}",
        attested=True,
    )
    services.sign(actor=clinician, version=version, role="clinician", password=PASSWORD)


def _build_plan(
    world: dict[str, Any], patient: Any, objectives: int, versions: int, links: int
) -> dict[str, Any]:
    """A plan built through the services; returns its patient and first/last version ids."""
    from openiop.plans import services
    from openiop.plans.models import Goal, Objective, ObjectiveLink, PlanVersion

    clinician = world["clinician"]
    stay = _episode(world, patient)
    target = stay.admission_date + dt.timedelta(days=90)
    version = services.start_plan(actor=clinician, episode=stay)
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
    problems = max(1, -(-objectives // OBJECTIVES_PER_PROBLEM))
    made = 0
    for p in range(problems):
        problem = services.save_problem(
            actor=clinician,
            version=version,
            data={
                "statement": f"Problem {p + 1}: daily alcohol use despite harm at work and home.",
                "category": "substance_use",
                "asam_dimensions": "5,6",
                "diagnosis_codes": "F10.20",
                "own_words": "I want to stop drinking and keep my job.",
                "clinical": "Abstinence from alcohol; stable employment.",
            },
        )
        goal = problem.goals.get()
        for _ in range(min(OBJECTIVES_PER_PROBLEM, objectives - made)):
            made += 1
            objective = services.save_objective(
                actor=clinician,
                goal=goal,
                data={
                    "text": f"Objective {made}: name three triggers and a plan for each.",
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
    _sign(version, clinician)
    first = version.pk
    for n in range(2, versions + 1):
        version = services.new_version(
            actor=clinician, plan=version.plan, reason=f"Review {n - 1}: objective reworded."
        )
        objective = Objective.objects.filter(goal__problem__version=version).order_by("pk")[
            (n - 2) % objectives
        ]
        services.save_objective(
            actor=clinician,
            goal=Goal.objects.get(pk=objective.goal_id),
            objective=objective,
            data={
                "text": f"{objective.text} (revised in version {n})",
                "target_date": target + dt.timedelta(days=7 * n),
            },
        )
        _sign(version, clinician)
    assert PlanVersion.objects.filter(plan=version.plan, status="active").get().pk == version.pk
    # The golden thread: the rows services.link_service writes, in one bulk insert.
    every = list(Objective.objects.filter(goal__problem__version__plan=version.plan))
    rng = random.Random(SEED + objectives)
    rows = []
    for i in range(links):
        objective = rng.choice(every)
        rows.append(
            ObjectiveLink(
                objective=objective,
                objective_key=objective.key,
                patient_id=patient.pk,
                service_kind=rng.choice(["group", "individual", "note"]),
                service_date=stay.admission_date + dt.timedelta(days=i % 110),
                label="Relapse prevention group",
                created_by=clinician,
            )
        )
    ObjectiveLink.objects.bulk_create(rows, batch_size=500)
    return {"patient": patient.pk, "plan": version.plan_id, "first": first, "last": version.pk}


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


def _measure(name: str, call: Callable[[], Any], repeat: int, http: bool) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        response = call()
        if http and response.status_code != 200:
            raise SystemExit(f"{name}: answered {response.status_code}, not 200 — stopping.")
    ms: list[float] = []
    queries: list[int] = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = call()
            ms.append((time.perf_counter() - t0) * 1000)
        if http and response.status_code != 200:
            raise SystemExit(f"{name}: answered {response.status_code}, not 200 — stopping.")
        queries.append(
            sum(1 for q in ctx.captured_queries if not q["sql"].startswith(SESSION_WRITE))
        )
    summary: dict[str, Any] = {
        "n": repeat,
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "max": max(ms),
        "q_min": min(queries),
        "q_max": max(queries),
        "q_mode": Counter(queries).most_common(1)[0][0],
    }
    print(
        f"  {SCENARIO_TITLES[name]}: p50 {summary['p50']:.1f} ms  p95 {summary['p95']:.1f} ms  "
        f"max {summary['max']:.1f} ms  queries {fmt_range(summary['q_min'], summary['q_max'])}",
        flush=True,
    )
    return summary


def run_worker(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from openiop.patients.models import Patient
    from openiop.plans import rules, selectors
    from openiop.plans.models import ObjectiveLink, PlanVersion, TreatmentPlan
    from openiop.synthetic.generate import generate_patients

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"{connection.vendor}: migrated in {time.perf_counter() - t0:.1f} s", flush=True)
    world = _world()
    generate_patients(world["facility"], count=len(args.objectives), seed=SEED)
    patients = list(Patient.objects.filter(facility=world["facility"]).order_by("pk"))
    plans = []
    for patient, objectives in zip(patients, args.objectives, strict=True):
        t0 = time.perf_counter()
        built = _build_plan(world, patient, objectives, args.versions, args.links)
        plans.append((objectives, built))
        print(
            f"built a plan with {args.versions} versions x {objectives} objectives and "
            f"{ObjectiveLink.objects.filter(patient_id=patient.pk).count()} links through the "
            f"services in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    _analyze()
    client = Client()
    client.force_login(world["clinician"])
    runs = []
    for objectives, built in plans:
        print(f"\n{objectives} objectives per version:", flush=True)
        base = f"/plans/patient/{built['patient']}/"
        scenarios: dict[str, dict[str, Any]] = {}
        if args.selectors_only:
            plan = TreatmentPlan.objects.get(pk=built["plan"])

            def tree(plan: Any = plan, built: dict[str, Any] = built) -> None:
                version = selectors.version_tree(built["last"], plan)
                assert version is not None
                selectors.comparison_items(version)

            def tree_compare(plan: Any = plan, built: dict[str, Any] = built) -> None:
                left = selectors.version_tree(built["first"], plan)
                right = selectors.version_tree(built["last"], plan)
                assert left is not None and right is not None
                rules.compare(selectors.comparison_items(left), selectors.comparison_items(right))

            scenarios["tree"] = _measure("tree", tree, args.repeat, http=False)
            scenarios["tree_compare"] = _measure(
                "tree_compare", tree_compare, args.repeat, http=False
            )
        else:
            pages = {
                "chart": base,
                "version_active": f"{base}version/{built['last']}/",
                "version_first": f"{base}version/{built['first']}/",
                "compare": f"{base}compare/?a={built['first']}&b={built['last']}",
            }
            for name, url in pages.items():
                scenarios[name] = _measure(
                    name, functools.partial(client.get, url), args.repeat, http=True
                )
        runs.append({"objectives": objectives, "scenarios": scenarios})
    assert PlanVersion.objects.filter(status="active").count() == len(plans)
    Path(args.json_out).write_text(json.dumps({"database": args.database, "runs": runs}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--repeat", type=int, default=100, help="measured requests per page")
    parser.add_argument("--versions", type=int, default=10, help="versions per plan")
    parser.add_argument(
        "--objectives", type=int, nargs="+", default=[40, 10], help="objectives per version"
    )
    parser.add_argument("--links", type=int, default=500, help="golden-thread links per plan")
    parser.add_argument(
        "--selectors-only",
        action="store_true",
        help="measure version_tree + comparison_items + compare directly, without the views",
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.versions < 1 or any(n < 1 for n in args.objectives):
        parser.error("versions and objectives are at least 1")
    return run_worker(args) if args.worker else run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
