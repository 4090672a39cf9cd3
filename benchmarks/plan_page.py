#!/usr/bin/env python
"""Treatment-plan page benchmark for OpenIOP (see benchmarks/README.md).

    .venv/bin/python benchmarks/plan_page.py [--databases sqlite postgres] [--repeat 100]
        [--versions 10] [--objectives 40 10] [--links 500] [--selectors-only]

For every database the script starts a fresh database and runs itself again in a subprocess
(``--worker``, see ``harness.run_parent``), because Django settings are process-global. The
worker migrates, creates an organization (with its standard plan library), a facility, an
adult IOP program, a clinician and one patient per plan size; builds each plan through
``openiop.plans.services`` — version 1 with the problems, goals, objectives (``--objectives``,
10 per problem) and one intervention each, signed by the patient and the clinician, then
``--versions - 1`` new versions each with a small change and both signatures — and adds
``--links`` golden-thread links (bulk insert of the rows ``services.link_service`` writes),
spread over the objectives of every version.

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
import datetime as dt
import functools
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness

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


# --------------------------------------------------------------------------------------
# Parent: one fresh database and one worker subprocess per database, in harness
# --------------------------------------------------------------------------------------


def run_parent(args: argparse.Namespace) -> int:
    mode = "selectors only" if args.selectors_only else "pages through the test client"
    print(f"{harness.banner('treatment-plan benchmark')}; {mode}")
    print(
        f"databases={args.databases} versions={args.versions} objectives={args.objectives} "
        f"links={args.links} repeat={args.repeat}"
    )
    options = ["repeat", "versions", "links", "objectives", "selectors_only"]
    return harness.run_parent(args, __file__, PG_DB_NAME, options, print_summary)


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
                        *harness.ms_cells(s),
                        harness.fmt_range(s["q_min"], s["q_max"]),
                    ]
                )
    if rows:
        headers = ["db", "objectives", "scenario", "p50 ms", "p95 ms", "max ms", "queries"]
        print(harness.table(headers, rows, left={0, 2}))
    harness.print_query_counts(
        (
            (result["database"], run["scenarios"])
            for result in results
            if "failed" not in result
            for run in result["runs"]
        ),
        SCENARIO_TITLES,
        across="plan sizes",
    )
    for kind, why in skipped.items():
        print(f"{kind}: SKIPPED ({why})")


# --------------------------------------------------------------------------------------
# Worker: runs inside one process per database with DATABASE_URL already set
# --------------------------------------------------------------------------------------


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


def _measure(name: str, call: Callable[[], Any], repeat: int, http: bool) -> dict[str, Any]:
    return harness.measure(name, call, repeat, title=SCENARIO_TITLES[name], http=http)


def run_worker(args: argparse.Namespace) -> int:
    harness.setup_django()
    from django.test import Client

    from openiop.patients.models import Patient
    from openiop.plans import rules, selectors
    from openiop.plans.models import ObjectiveLink, PlanVersion, TreatmentPlan
    from openiop.synthetic.generate import generate_patients

    harness.migrate()
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
    harness.analyze()
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
    parser.add_argument("--pg-url", default=harness.DEFAULT_PG_URL)
    harness.add_run_options(parser, sizes=False)
    args = parser.parse_args(argv)
    if args.versions < 1 or any(n < 1 for n in args.objectives):
        parser.error("versions and objectives are at least 1")
    return run_worker(args) if args.worker else run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
