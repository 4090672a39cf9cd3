#!/usr/bin/env python
"""Patient search and chart-open benchmark for OpenIOP (see benchmarks/README.md).

    .venv/bin/python benchmarks/patient_search.py \
        [--sizes 1000 10000 100000] [--databases sqlite postgres] [--repeat 200]

For every (database, size) the script starts a fresh database and runs itself again in a
subprocess (``--worker``, see ``harness.run_parent``), because Django settings are
process-global. The worker migrates, creates an organization, a facility and staff, generates
``size`` synthetic patients with ``generate_patients`` (timed), analyzes the database and then
measures, through ``django.test.Client``:

* search as a clinical director (facility-wide scope): POST /patients/
* search as a clinician (caseload of 40 patients):      POST /patients/
* the htmx search partial as the director:              POST /patients/ with HX-Request
* the API search as the director:                       POST /api/v1/patients/search/
* chart open for random patients as the director:       GET  /patients/<pk>/
* the patient list without a query (newest first), as director and as clinician:
                                                        GET  /patients/   (informational)

It reports p50/p95/max server time (time.perf_counter around the client call), the number
of SQL queries per request (CaptureQueriesContext), the time the database reported for those
queries and the number of result rows; then a summary with PASS/FAIL against the 50 ms
search p95 target and whether the chart's query count stays constant across sizes.

``--experiment NAME`` monkeypatches a proposed fix inside the worker, to measure it against
the real code (the default path always measures the code as it is).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness

PG_DB_NAME = "openiop_bench"
SEARCH_TARGET_MS = 50.0
SEED = 20260101
CASELOAD = 40
OTHER_CLINICIANS = 20

SEARCH_SCENARIOS = ("search_director", "search_clinician", "search_htmx", "search_api")
SCENARIO_TITLES = {
    "search_director": "search, director (POST /patients/)",
    "search_clinician": "search, clinician caseload (POST /patients/)",
    "search_htmx": "search, htmx partial (director)",
    "search_api": "search, API (POST /api/v1/patients/search/)",
    "chart": "chart open, director (GET /patients/<pk>/)",
    "list_recent": "patient list, no query, director (GET /patients/)",
    "list_recent_clinician": "patient list, no query, clinician (GET /patients/)",
}


# --------------------------------------------------------------------------------------
# Parent: one fresh database and one worker subprocess per (database, size), in harness
# --------------------------------------------------------------------------------------


def run_parent(args: argparse.Namespace) -> int:
    print(harness.banner("patient search benchmark"))
    print(
        f"sizes={args.sizes} databases={args.databases} repeat={args.repeat} "
        f"experiment={' + '.join(args.experiment) if args.experiment else 'none'}"
    )
    options = ["repeat", "seed", "explain", "experiment", "show_queries", "no_analyze"]
    summary = functools.partial(print_summary, args=args)
    return harness.run_parent(args, __file__, PG_DB_NAME, options, summary)


def print_summary(
    results: list[dict[str, Any]], skipped: dict[str, str], args: argparse.Namespace
) -> None:
    print("\n" + "=" * 78)
    shown = " + ".join(args.experiment) if args.experiment else "none — the code as it is"
    print(f"SUMMARY (experiment: {shown})")
    print("=" * 78)
    rows = []
    for r in results:
        if "failed" in r:
            rows.append([r["database"], f"{r['size']:,}", "worker failed", *[""] * 8])
            continue
        note = (
            f"gen {r['generation']['rate']:,.0f} patients/s; "
            f"load {r['load'][0]:.1f}/{r['load'][1]:.1f}"
        )
        for name in (*SEARCH_SCENARIOS, "chart", "list_recent", "list_recent_clinician"):
            s = r["scenarios"][name]
            verdict = ""
            if name in SEARCH_SCENARIOS:
                verdict = "PASS" if s["p95"] < SEARCH_TARGET_MS else "FAIL"
            rows.append(
                [
                    r["database"],
                    f"{r['size']:,}",
                    name,
                    f"{s['p50']:.1f}",
                    f"{s['p95']:.1f}",
                    f"{s['max']:.1f}",
                    f"{s['cpu_p50']:.1f}",
                    harness.fmt_range(s["q_min"], s["q_max"]),
                    harness.fmt_range(s["rows_min"], s["rows_max"]),
                    verdict,
                    note,
                ]
            )
            note = ""
    if rows:
        print(
            harness.table(
                [
                    "db",
                    "patients",
                    "scenario",
                    "p50 ms",
                    "p95 ms",
                    "max ms",
                    "cpu p50",
                    "queries",
                    "rows",
                    "p95<50",
                    "notes",
                ],
                rows,
                left={0, 2, 9, 10},
            )
        )
    for kind, problem in skipped.items():
        print(f"{kind}: SKIPPED ({problem})")
    print()
    by_db: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        if "failed" not in r:
            by_db[r["database"]].append(r)
    for kind, runs in by_db.items():
        counts = {
            r["size"]: (r["scenarios"]["chart"]["q_app_min"], r["scenarios"]["chart"]["q_app_max"])
            for r in runs
        }
        constant = len(set(counts.values())) == 1 and all(lo == hi for lo, hi in counts.values())
        shown = ", ".join(
            f"{size:,}: {harness.fmt_range(*c)}" for size, c in sorted(counts.items())
        )
        worst = max(max(r["scenarios"][n]["p95"] for n in SEARCH_SCENARIOS) for r in runs)
        biggest = max(runs, key=lambda r: r["size"])
        worst_big = max(biggest["scenarios"][n]["p95"] for n in SEARCH_SCENARIOS)
        print(
            f"{kind}: chart queries constant across sizes: {'yes' if constant else 'no'} "
            f"({shown}; session writes excluded)"
        )
        print(
            f"{kind}: worst search p95 at {biggest['size']:,} patients = {worst_big:.1f} ms -> "
            f"{'PASS' if worst_big < SEARCH_TARGET_MS else 'FAIL'} (target < "
            f"{SEARCH_TARGET_MS:.0f} ms); worst at any size {worst:.1f} ms"
        )


# --------------------------------------------------------------------------------------
# Worker: runs inside one process per (database, size) with DATABASE_URL already set
# --------------------------------------------------------------------------------------

_RESULT_LINK = re.compile(r'href="/patients/(\d+)/"')


class Sample:
    __slots__ = (
        "app_queries",
        "cpu_ms",
        "db_ms",
        "gc_ms",
        "kind",
        "label",
        "ms",
        "queries",
        "rows",
        "sql_heads",
    )

    def __init__(
        self,
        label: str,
        kind: str,
        ms: float,
        cpu_ms: float,
        queries: int,
        app_queries: int,
        db_ms: float,
        rows: int,
        sql_heads: list[str],
        gc_ms: float,
    ) -> None:
        self.label, self.kind, self.ms, self.cpu_ms = label, kind, ms, cpu_ms
        self.queries, self.app_queries, self.db_ms = queries, app_queries, db_ms
        self.rows, self.sql_heads, self.gc_ms = rows, sql_heads, gc_ms


def _make_world(size: int, seed: int) -> dict[str, Any]:
    from django.db import connection

    from openiop.accounts.models import Facility, Organization, User
    from openiop.accounts.roles import Role
    from openiop.patients.models import BreakGlassGrant, CareTeamMember, Patient, PatientSearchToken
    from openiop.synthetic.generate import generate_patients

    org = Organization.objects.create(name="Benchmark Recovery Collective")
    facility = Facility.objects.create(
        organization=org, name="Benchmark IOP", code="BEN", time_zone="America/Los_Angeles"
    )

    def staff(email: str, role: str, first: str, last: str) -> User:
        user = User.objects.create_user(
            email, password=None, role=role, organization=org, first_name=first, last_name=last
        )
        user.facilities.set([facility])
        return user

    director = staff("director@bench.example.org", Role.CLINICAL_DIRECTOR, "Renee", "Okafor")
    clinician = staff("clinician@bench.example.org", Role.CLINICIAN, "Jenna", "Park")
    others = [
        staff(f"clinician{i}@bench.example.org", Role.CLINICIAN, "Other", f"Clinician{i:02d}")
        for i in range(OTHER_CLINICIANS)
    ]

    t0 = time.perf_counter()
    made = generate_patients(facility, count=size, seed=seed)
    gen_seconds = time.perf_counter() - t0
    tokens = PatientSearchToken.objects.count()
    print(
        f"generated {made:,} patients ({tokens:,} search tokens) in {gen_seconds:.1f} s "
        f"= {made / gen_seconds:,.0f} patients/s",
        flush=True,
    )

    rng = random.Random(seed + 1)
    ids = list(Patient.objects.order_by("id").values_list("id", flat=True))
    active = list(
        Patient.objects.filter(status=Patient.Status.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)
    )
    caseload_ids = rng.sample(ids, min(CASELOAD, len(ids)))
    today = dt.date(2026, 1, 1)
    members = [
        CareTeamMember(
            patient_id=pid,
            user=clinician,
            role=CareTeamMember.Role.PRIMARY_CLINICIAN,
            started_on=today,
        )
        for pid in caseload_ids
    ]
    # Past assignments that must not count (ended_on set).
    for pid in rng.sample(ids, min(20, len(ids))):
        if pid not in caseload_ids:
            members.append(
                CareTeamMember(
                    patient_id=pid,
                    user=clinician,
                    role=CareTeamMember.Role.THERAPIST,
                    started_on=today - dt.timedelta(days=400),
                    ended_on=today - dt.timedelta(days=100),
                )
            )
    # Everyone in treatment has a primary clinician: the care-team table grows with the data
    # while the staff list (and so the chart's staff drop-down) stays the same size.
    for n, pid in enumerate(active):
        members.append(
            CareTeamMember(
                patient_id=pid,
                user=others[n % len(others)],
                role=CareTeamMember.Role.PRIMARY_CLINICIAN,
                started_on=today,
            )
        )
    CareTeamMember.objects.bulk_create(members, batch_size=5000)
    now = dt.datetime.now(dt.UTC)
    BreakGlassGrant.objects.bulk_create(
        BreakGlassGrant(
            user=clinician,
            patient_id=pid,
            reason="Crisis call (expired, benchmark)",
            created_at=now - dt.timedelta(days=3),
            expires_at=now - dt.timedelta(days=2, hours=23),
        )
        for pid in rng.sample(ids, min(5, len(ids)))
    )
    return {
        "facility": facility,
        "director": director,
        "clinician": clinician,
        "ids": ids,
        "caseload_ids": caseload_ids,
        "generation": {
            "seconds": gen_seconds,
            "rate": made / gen_seconds,
            "patients": made,
            "tokens": tokens,
        },
        "vendor": connection.vendor,
    }


def _director_queries(rng: random.Random, ids: list[int]) -> list[tuple[str, str]]:
    from openiop.patients.models import Patient

    def some() -> Patient:
        return Patient.objects.get(pk=rng.choice(ids))

    a, b, c, d, e, f, g = (some() for _ in range(7))
    mrn_digits = re.sub(r"\D", "", a.mrn)
    return [
        ("gar", "prefix 3"),
        ("ng", "prefix 2"),
        ("mar", "prefix 3"),
        ("jo", "prefix 2"),
        (f"{b.last_name[:4].lower()}", "prefix 4"),
        ("Nguyen", "last name"),
        (c.last_name, "last name"),
        ("maria gar", "two words"),
        (f"{d.first_name.lower()} {d.last_name[:3].lower()}", "two words"),
        (e.date_of_birth.strftime("%m/%d/%Y"), "birth date"),
        (f.mrn, "MRN"),
        (mrn_digits[:-2], "MRN digits"),
        (g.phone_digits[-4:], "phone last 4"),
    ]


def _clinician_queries(rng: random.Random, caseload_ids: list[int]) -> list[tuple[str, str]]:
    from openiop.patients.models import Patient

    mine = list(Patient.objects.filter(pk__in=caseload_ids).order_by("id"))
    a, b, c, d, e, f = rng.sample(mine, 6)
    return [
        (a.last_name[:3].lower(), "prefix 3"),
        ("mar", "prefix 3"),
        ("jo", "prefix 2"),
        (b.last_name, "last name"),
        (f"{c.first_name.lower()} {c.last_name[:3].lower()}", "two words"),
        (d.date_of_birth.strftime("%m/%d/%Y"), "birth date"),
        (e.mrn, "MRN"),
        (f.phone_digits[-4:], "phone last 4"),
    ]


def _measure(
    name: str,
    call: Callable[[Any], Any],
    items: list[tuple[Any, str, str]],
    repeat: int,
    warmup_rounds: int,
    count_rows: Callable[[Any], int],
) -> list[Sample]:
    """Call ``call(arg)`` for ``repeat`` items (round robin) after a warm-up; one Sample each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup_rounds):
        for arg, _label, _kind in items:
            response = call(arg)
            assert response.status_code == 200, (name, arg, response.status_code)
    db_seconds = [0.0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_seconds[0] += time.perf_counter() - start

    gc_seconds = [0.0, 0.0]  # time in full (generation 2) collections; start of the current one

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") == 2:
            if phase == "start":
                gc_seconds[1] = time.perf_counter()
            else:
                gc_seconds[0] += time.perf_counter() - gc_seconds[1]

    gc.callbacks.append(on_gc)
    samples = []
    for i in range(repeat):
        gc_seconds[0] = 0.0
        arg, label, kind = items[i % len(items)]
        db_seconds[0] = 0.0
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed):
            c0 = time.process_time()
            t0 = time.perf_counter()
            response = call(arg)
            ms = (time.perf_counter() - t0) * 1000
            cpu_ms = (time.process_time() - c0) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{name}: {label!r} answered {response.status_code}")
        queries = ctx.captured_queries
        # The idle-timeout middleware saves the session at most every 30 s (UPDATE, and on
        # PostgreSQL the BEGIN/COMMIT around it): not something the page itself asks for.
        app = [q for q in queries if not q["sql"].startswith(harness.SESSION_WRITE)]
        db_ms = db_seconds[0] * 1000  # time spent inside cursor.execute (driver + server)
        gc_ms = gc_seconds[0] * 1000
        heads = [_sql_head(q["sql"]) for q in queries]
        samples.append(
            Sample(
                label,
                kind,
                ms,
                cpu_ms,
                len(queries),
                len(app),
                db_ms,
                count_rows(response),
                heads,
                gc_ms,
            )
        )
    gc.callbacks.remove(on_gc)
    return samples


def _sql_head(sql: str) -> str:
    """A short signature of a statement: verb and first table, for spotting extra queries."""
    match = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    return f"{sql.split(None, 1)[0]} {match.group(1) if match else ''}".strip()


def _page_rows(response: Any) -> int:
    return len(set(_RESULT_LINK.findall(response.content.decode())))


def _api_rows(response: Any) -> int:
    return len(response.json()["results"])


def _summarize(samples: list[Sample]) -> dict[str, Any]:
    ms = [s.ms for s in samples]
    usual = Counter(s.queries for s in samples).most_common(1)[0][0]
    typical = Counter(next(s.sql_heads for s in samples if s.queries == usual))
    extra: Counter[str] = Counter()
    for s in samples:
        extra.update(Counter(s.sql_heads) - typical)
    per_query: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        per_query[s.label].append(s)
    return {
        "n": len(samples),
        "p50": harness.percentile(ms, 50),
        "p95": harness.percentile(ms, 95),
        "max": max(ms),
        "mean": statistics.fmean(ms),
        "db_p50": harness.percentile([s.db_ms for s in samples], 50),
        "cpu_p50": harness.percentile([s.cpu_ms for s in samples], 50),
        "typical_queries": dict(typical),
        "extra_queries": dict(extra),
        # the worst request that did not also save the session (idle-timeout bookkeeping)
        "max_no_session_write": max(
            (s.ms for s in samples if s.queries == s.app_queries), default=float("nan")
        ),
        "session_writes": sum(1 for s in samples if s.queries != s.app_queries),
        "gc_requests": sum(1 for s in samples if s.gc_ms > 0),
        "gc_max_ms": max(s.gc_ms for s in samples),
        "max_no_gc": max((s.ms for s in samples if s.gc_ms == 0), default=float("nan")),
        "q_min": min(s.queries for s in samples),
        "q_max": max(s.queries for s in samples),
        "q_mode": Counter(s.queries for s in samples).most_common(1)[0][0],
        "q_app_min": min(s.app_queries for s in samples),
        "q_app_max": max(s.app_queries for s in samples),
        "rows_min": min(s.rows for s in samples),
        "rows_max": max(s.rows for s in samples),
        "per_query": [
            {
                "query": label,
                "kind": group[0].kind,
                "n": len(group),
                "p50": harness.percentile([s.ms for s in group], 50),
                "p95": harness.percentile([s.ms for s in group], 95),
                "max": max(s.ms for s in group),
                "db_p50": harness.percentile([s.db_ms for s in group], 50),
                "q_min": min(s.queries for s in group),
                "q_max": max(s.queries for s in group),
                "rows": group[0].rows,
            }
            for label, group in per_query.items()
        ],
    }


def _print_scenario(name: str, summary: dict[str, Any], detail: bool) -> None:
    s = summary
    print(
        f"\n{SCENARIO_TITLES[name]}: n={s['n']}  p50 {s['p50']:.1f} ms  p95 {s['p95']:.1f} ms  "
        f"max {s['max']:.1f} ms  (python cpu p50 {s['cpu_p50']:.1f} ms, db p50 "
        f"{s['db_p50']:.1f} ms)  queries {harness.fmt_range(s['q_min'], s['q_max'])}  "
        f"rows {harness.fmt_range(s['rows_min'], s['rows_max'])}"
    )
    if s["gc_requests"]:
        print(
            f"  {s['gc_requests']} request(s) ran a full garbage collection (longest "
            f"{s['gc_max_ms']:.1f} ms); worst request without one {s['max_no_gc']:.1f} ms"
        )
    if s["session_writes"]:
        print(
            f"  {s['session_writes']} request(s) also saved the session; worst request without "
            f"a session write {s['max_no_session_write']:.1f} ms"
        )
    if s["extra_queries"]:
        print(
            f"  usual queries: {s['typical_queries']}; extra in some requests: {s['extra_queries']}"
        )
    if detail:
        rows = [
            [
                pq["query"] if len(pq["query"]) <= 22 else pq["query"][:21] + "…",
                pq["kind"],
                pq["n"],
                f"{pq['p50']:.1f}",
                f"{pq['p95']:.1f}",
                f"{pq['max']:.1f}",
                f"{pq['db_p50']:.1f}",
                harness.fmt_range(pq["q_min"], pq["q_max"]),
                pq["rows"],
            ]
            for pq in s["per_query"]
        ]
        print(
            harness.table(
                ["  query", "kind", "n", "p50", "p95", "max", "db p50", "queries", "rows"],
                [["  " + r[0], *r[1:]] for r in rows],
                left={0, 1},
            )
        )


def _search_sql(client: Any, query: str) -> str:
    """The SQL of the patient SELECT that one real search request runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.post("/patients/", {"q": query})
    candidates = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT")
        and 'FROM "patients_patient"' in q["sql"]
        and "LIMIT" in q["sql"]
    ]
    return candidates[-1]


def explain(sql: str, vendor: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        rows = cursor.fetchall()
    depth: dict[int, int] = {0: 0}
    out = []
    for node_id, parent, _unused, detail in rows:
        depth[node_id] = depth.get(parent, 0) + 1
        out.append("  " * depth[node_id] + detail)
    return "\n".join(out)


# --------------------------------------------------------------------------------------
# Experiments: proposed fixes, applied by monkeypatching inside the worker only
# --------------------------------------------------------------------------------------

EXPERIMENTS: dict[str, Callable[[], str]] = {}
AFTER_MIGRATE: list[Callable[[], None]] = []  # schema changes an experiment makes


def experiment(func: Callable[[], str]) -> Callable[[], str]:
    EXPERIMENTS[func.__name__] = func
    return func


@experiment
def grants_first() -> str:
    """selectors.scope_q without ``... OR pk IN (break-glass grants)`` unless a grant is active.

    The OR of two IN-subqueries cannot become a join on PostgreSQL: every patient of the
    facility is filtered row by row through hashed subplans and the row estimate falls to a
    default, so the planner walks the whole name index. Looking the (almost always absent)
    grants up first costs one indexed query and leaves a plain AND the planner can join.
    """
    from django.db.models import Q
    from django.utils import timezone

    from openiop.accounts.roles import CASELOAD_ROLES, FACILITY_WIDE_ROLES
    from openiop.patients import selectors
    from openiop.patients.models import BreakGlassGrant

    def granted_patient_ids(user: Any) -> list[int]:
        return list(
            BreakGlassGrant.objects.filter(user=user, expires_at__gt=timezone.now())
            .order_by()
            .values_list("patient_id", flat=True)
            .distinct()
        )

    def scope_q(user: Any, *, include_break_glass: bool = True) -> Q | None:
        if not user.is_authenticated or not user.is_active:
            return None
        q: Q | None = None
        if user.role in FACILITY_WIDE_ROLES:
            q = selectors._own_facilities(user)
        elif user.role in CASELOAD_ROLES:
            related = Q()
            for rule in selectors._caseload_rules:
                related |= rule(user)
            q = selectors._own_facilities(user) & related
        if include_break_glass:
            granted = granted_patient_ids(user)
            if granted:
                q = Q(pk__in=granted) if q is None else q | Q(pk__in=granted)
        return q

    selectors.scope_q = scope_q
    return "scope_q looks up active break-the-glass grants first and ORs them in only if any"


@experiment
def mrn_term() -> str:
    """rules.query_terms keeps a word that mixes letters and digits ("BEN-123008") whole.

    Split, "ben" is a prefix of every patient's MRN token, so the search intersects with an
    IN-list of every patient in the facility (100,000 ids on SQLite). The joined MRN token
    ("ben123008") is already indexed by search_tokens().
    """
    import re as _re

    from openiop.patients import rules

    def query_terms(query: str) -> list[str]:
        terms: list[str] = []
        for word in rules.fold(query).split():
            digits = _re.sub(r"[\s().\-]", "", word)
            if digits.isdigit():
                terms.append(digits)
                continue
            parts = [w for w in rules._WORD.findall(word) if w]
            joined = "".join(parts)
            if len(parts) > 1 and _re.search(r"\d", joined) and _re.search(r"[a-z]", joined):
                terms.append(joined[:40])  # an MRN such as BEN-123008: one token
                continue
            terms.extend(parts)
        return terms[:6]

    rules.query_terms = query_terms
    return "query_terms keeps letter+digit words (MRNs) as one joined term"


@experiment
def api_prefetch() -> str:
    """The API search prefetches emergency contacts: 2 queries instead of 1 + one per row."""
    from django.db.models import prefetch_related_objects
    from rest_framework import status as http
    from rest_framework.response import Response

    from openiop.accounts.models import Facility
    from openiop.patients import api, selectors

    def search(self: Any, request: Any) -> Any:
        params = api.PatientSearchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        facility = None
        if params.validated_data.get("facility"):
            facility = Facility.objects.filter(
                pk=params.validated_data["facility"], staff=self._user()
            ).first()
            if facility is None:
                return Response(
                    {"facility": ["Choose one of the facilities you work at."]},
                    status=http.HTTP_400_BAD_REQUEST,
                )
        result = selectors.search_patients(
            self._user(), query=params.validated_data["query"], facility=facility
        )
        prefetch_related_objects(result.patients, "support_contacts")  # the fix
        return Response(
            {
                "results": self.get_serializer(result.patients, many=True).data,
                "more": result.more,
                "kind": result.kind,
            }
        )

    original = api.PatientViewSet.search
    search.__dict__.update(original.__dict__)  # keep @action's mapping/url attributes
    setattr(api.PatientViewSet, "search", search)  # noqa: B010 - a monkeypatch, on purpose
    return "PatientViewSet.search prefetches support_contacts for the serializer"


@experiment
def sort_after_match() -> str:
    """search_patients orders name/birth-date results by Lower(last_name), Lower(first_name).

    REJECTED: PostgreSQL then hash-joins the whole patient table for broad prefixes ('m', 'jo')
    and gets slower than the name-order walk it replaces. Kept for the record.

    With ORDER BY last_name, first_name PostgreSQL may walk patient_fac_name in order and probe
    the tokens of every patient it passes, betting that 51 matches come early. Prefix matches
    cluster in the alphabet ("mar" = Marquez/Martin/Martinez), so the bet loses: 'mar' walks
    ~8,500 patients and 50,000 buffers. An ORDER BY no index provides makes it collect the
    matches through the token index first and sort only those (what SQLite does anyway); the
    order becomes case-insensitive, which is what people expect of a name list.
    """
    from django.db.models.functions import Lower

    from openiop.audit.models import AuditEvent
    from openiop.patients import rules, selectors
    from openiop.patients.models import PatientSearchToken

    def search_patients(user: Any, *, query: str, facility: Any = None, limit: int = 50) -> Any:
        qs = selectors.visible_patients(user).select_related("facility")
        if facility is not None:
            qs = qs.filter(facility=facility)
        text = query.strip()
        born = rules.parse_date_query(text) if text else None
        kind = "recent"
        if born is not None:
            qs = qs.filter(date_of_birth=born)
            kind = "date of birth"
        elif text:
            kind = "name"
            terms = rules.query_terms(text)
            if not terms:
                qs = qs.none()
            for term in terms:
                tokens = PatientSearchToken.objects.filter(token__gte=term)
                upper = selectors._token_upper_bound(term)
                if upper is not None:
                    tokens = tokens.filter(token__lt=upper)
                qs = qs.filter(pk__in=tokens.values("patient_id"))
        if kind == "recent":
            qs = qs.order_by("-created_at", "-id")
        else:
            qs = qs.order_by(Lower("last_name"), Lower("first_name"), "id")  # the change
        rows = list(qs[: limit + 1])
        selectors.record(
            actor=user,
            action=AuditEvent.Action.SEARCH,
            facility_id=facility.pk if facility else None,
            section="patient search",
            detail={"kind": kind, "results": min(len(rows), limit)},
        )
        return selectors.SearchResult(patients=rows[:limit], more=len(rows) > limit, kind=kind)

    selectors.search_patients = search_patients
    return "search_patients sorts matches by Lower(last_name), Lower(first_name), id"


@experiment
def pg_random_page_cost() -> str:
    """PostgreSQL sessions use random_page_cost = 1.1 (SSD / data in cache) instead of 4.

    Part of the recommended set, together with token_patient_index. Over six fresh ANALYZEs of
    the 100,000-patient database and twelve prefixes, the slowest search SELECT was 14.6 ms
    with 1.1 and 294 ms with 4 ('wil', 'to', 'gar' walked most of the name index after some
    ANALYZE samples and not after others).

    With 4, walking patient_fac_name in name order and stopping at 51 matches looks cheaper
    than 3,500 primary-key lookups for 'mar'; the walk really passes 8,500 patients (matches
    cluster in the alphabet) and reads 40,000-50,000 buffers instead of 10,500.
    """
    from django.db.backends.signals import connection_created

    def tune(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET random_page_cost = 1.1")

    connection_created.connect(tune, weak=False)
    return "PostgreSQL connections SET random_page_cost = 1.1"


@experiment
def token_patient_index() -> str:
    """An index on PatientSearchToken (patient, token), replacing the plain patient_id index.

    Every plan that starts from one side and checks another term for a given patient probes
    tokens by patient_id: two-word searches ("selena war": for each of 896 Selenas, scan every
    'war*' entry of (token, patient)) and the name-order walk ('0114': the patient_id index,
    then ~9 heap rows per patient). With (patient, token) the probe is one index-only lookup.
    """

    def add_index() -> None:
        from django.db import connection, models

        from openiop.patients.models import PatientSearchToken

        index = models.Index(fields=["patient", "token"], name="patient_token_rev_idx")
        table = PatientSearchToken._meta.db_table
        with connection.cursor() as cursor:
            existing = connection.introspection.get_constraints(cursor, table)
        if index.name in existing:  # the proposed migration has landed: nothing to add
            return
        with connection.schema_editor() as editor:
            editor.add_index(PatientSearchToken, index)

    AFTER_MIGRATE.append(add_index)
    return "PatientSearchToken gets Index(fields=['patient', 'token'])"


@experiment
def token_statistics() -> str:
    """PostgreSQL keeps 1,000 histogram buckets for PatientSearchToken.token (default 100).

    857,000 tokens in 100 buckets cannot tell a 1,000-row range ('0114', a phone's last four
    digits) from a 10,000-row one, and each ANALYZE samples differently: the same query walked
    patient_fac_name after one ANALYZE (15,000-37,000 buffers) and went through the token index
    after the next (2,000).

    REJECTED: with 1,000 buckets the estimates for every 3-4 letter prefix grew enough that
    PostgreSQL walked the name index for all of them: 'schm' 255 ms, 'ng' 189 ms, 'Nguyen'
    181 ms (80,000 patients walked). pg_random_page_cost fixes the flapping instead.
    """

    def raise_target() -> None:
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "ALTER TABLE patients_patientsearchtoken ALTER COLUMN token SET STATISTICS 1000"
                )

    AFTER_MIGRATE.append(raise_target)
    return "ALTER TABLE patients_patientsearchtoken ALTER COLUMN token SET STATISTICS 1000"


@experiment
def all_fixes() -> str:
    return "; ".join(
        EXPERIMENTS[name]()
        for name in (
            "grants_first",
            "mrn_term",
            "api_prefetch",
            "token_patient_index",
            "pg_random_page_cost",
        )
    )


def run_worker(args: argparse.Namespace) -> int:
    harness.setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    for name in args.experiment or ():
        print(f"EXPERIMENT {name}: {EXPERIMENTS[name]()}")

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    for hook in AFTER_MIGRATE:
        hook()
    if connection.vendor == "sqlite":
        import sqlite3

        version = f"SQLite {sqlite3.sqlite_version}"
    else:
        version = f"PostgreSQL {getattr(connection, 'pg_version', '?')}"
    print(f"{version}: migrated in {time.perf_counter() - t0:.1f} s", flush=True)
    world = _make_world(args.size, args.seed)
    if not args.no_analyze:
        what = "VACUUM ANALYZE" if world["vendor"] == "postgresql" else "ANALYZE + PRAGMA optimize"
        print(f"{what} in {harness.analyze(optimize=True):.1f} s", flush=True)
    else:
        print("no ANALYZE (--no-analyze): the planner has no statistics")
    load_before = os.getloadavg()

    rng = random.Random(args.seed + 2)
    director_q = _director_queries(rng, world["ids"])
    clinician_q = _clinician_queries(rng, world["caseload_ids"])

    director = Client()
    director.force_login(world["director"])
    clinician = Client()
    clinician.force_login(world["clinician"])

    def as_items(pairs: list[tuple[str, str]]) -> list[tuple[Any, str, str]]:
        return [(q, q, kind) for q, kind in pairs]

    chart_ids = [rng.choice(world["ids"]) for _ in range(max(args.repeat, 50))]
    plans = [
        (
            "search_director",
            lambda q: director.post("/patients/", {"q": q}),
            as_items(director_q),
            _page_rows,
        ),
        (
            "search_clinician",
            lambda q: clinician.post("/patients/", {"q": q}),
            as_items(clinician_q),
            _page_rows,
        ),
        (
            "search_htmx",
            lambda q: director.post("/patients/", {"q": q}, HTTP_HX_REQUEST="true"),
            as_items(director_q),
            _page_rows,
        ),
        (
            "search_api",
            lambda q: director.post(
                "/api/v1/patients/search/", {"query": q}, content_type="application/json"
            ),
            as_items(director_q),
            _api_rows,
        ),
        (
            "chart",
            lambda pk: director.get(f"/patients/{pk}/"),
            [(pk, "random patient", "chart") for pk in chart_ids],
            lambda r: 1,
        ),
        (
            "list_recent",
            lambda _: director.get("/patients/"),
            [(None, "(no query)", "recent")],
            _page_rows,
        ),
        (
            "list_recent_clinician",
            lambda _: clinician.get("/patients/"),
            [(None, "(no query)", "recent")],
            _page_rows,
        ),
    ]
    scenarios: dict[str, Any] = {}
    for name, call, items, count_rows in plans:
        warmup = 1 if name != "chart" else 0
        if name == "chart":  # warm up on other patients than the measured ones
            for pk in rng.sample(world["ids"], min(20, len(world["ids"]))):
                call(pk)
        samples = _measure(name, call, items, args.repeat, warmup, count_rows)
        scenarios[name] = _summarize(samples)
        _print_scenario(name, scenarios[name], detail=name.startswith("search"))

    if args.show_queries:
        from django.test.utils import CaptureQueriesContext

        for title, do in (
            ("chart", lambda: director.get(f"/patients/{world['ids'][0]}/")),
            ("search 'gar' (director)", lambda: director.post("/patients/", {"q": "gar"})),
            (
                "API search 'gar'",
                lambda: director.post(
                    "/api/v1/patients/search/", {"query": "gar"}, content_type="application/json"
                ),
            ),
        ):
            with CaptureQueriesContext(connection) as ctx:
                do()
            print(f"\nqueries of one {title} request ({len(ctx.captured_queries)}):")
            for q in ctx.captured_queries:
                text = q["sql"]
                cut = "…" if len(text) > 150 else ""
                print(f"  {float(q['time']) * 1000:6.2f} ms  {text[:150]}{cut}")

    to_explain: list[tuple[str, Any, str]] = []
    for name, client in (("search_director", director), ("search_clinician", clinician)):
        per_query = sorted(scenarios[name]["per_query"], key=lambda pq: -pq["p50"])
        if args.explain == "all":
            chosen = per_query
        elif args.explain == "slow" and scenarios[name]["p95"] >= SEARCH_TARGET_MS:
            chosen = per_query[:3]  # the three slowest queries of a scenario that misses
        else:
            chosen = []
        to_explain.extend((name, client, pq["query"]) for pq in chosen)
    for name, client, query in to_explain:
        sql = _search_sql(client, query)
        plan = explain(sql, world["vendor"])
        print(f"\nPLAN {world['vendor']} {args.size:,} {name} q={query!r}\n{sql}\n{plan}")

    load_after = os.getloadavg()
    print(
        f"\nload average (1 min) before measuring {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    result = {
        "load": [load_before[0], load_after[0]],
        "database": args.database,
        "size": args.size,
        "vendor": world["vendor"],
        "experiment": args.experiment,
        "repeat": args.repeat,
        "generation": world["generation"],
        "scenarios": scenarios,
    }
    Path(args.json_out).write_text(json.dumps(result))
    connection.close()
    return 0


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--repeat", type=int, default=200, help="measured requests per scenario")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--pg-url",
        default=harness.DEFAULT_PG_URL,
        help="PostgreSQL server (a database named openiop_bench is created "
        "and dropped); env BENCH_POSTGRES_URL",
    )
    parser.add_argument(
        "--experiment",
        nargs="+",
        choices=sorted(EXPERIMENTS),
        default=None,
        metavar="NAME",
        help="measure proposed fixes, monkeypatched in the worker: "
        + ", ".join(sorted(EXPERIMENTS)),
    )
    parser.add_argument(
        "--explain",
        choices=["none", "slow", "all"],
        default="slow",
        help="print query plans of page searches (slow: the 3 slowest queries of a "
        "scenario whose p95 misses 50 ms)",
    )
    parser.add_argument(
        "--show-queries",
        action="store_true",
        help="print the SQL of one chart and one search request",
    )
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="skip ANALYZE after generating (what a never-analyzed SQLite sees)",
    )
    harness.add_run_options(parser, sizes=True)  # --keep, --json and the worker's options
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
