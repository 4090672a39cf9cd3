#!/usr/bin/env python
"""Does PostgreSQL keep a good plan for patient search from one ANALYZE to the next?

Run patient_search.py with ``--keep`` first (it leaves the openiop_bench database), then:

    .venv/bin/python benchmarks/plan_stability.py [--random-page-cost 1.1] [--analyzes 6]

Each round re-ANALYZEs the patient and token tables (a new random sample, as autovacuum does
in production) and times the director's search SELECT for a dozen prefixes, best of three.
A round's "worst" above ~50 ms means the planner walked most of the name index for a prefix
whose matches sit late in the alphabet (see README.md, "PostgreSQL plan flapping").
"""

from __future__ import annotations

import argparse
import sys
import time

import harness
import psycopg

TERMS = [
    ("schm", "schn"),
    ("ng", "nh"),
    ("nguyen", "nguyeo"),
    ("estrada", "estradb"),
    ("gar", "gas"),
    ("mar", "mas"),
    ("jo", "jp"),
    ("0114", "0115"),
    ("0142", "0143"),
    ("0177", "0178"),
    ("wil", "wim"),
    ("to", "tp"),
]

# The SELECT search_patients runs for a clinical director (user 1, facility 1) once the
# break-the-glass OR is gone (grants_first): the scope subquery, the token range, the order.
SQL = """
SELECT p.* FROM patients_patient p INNER JOIN accounts_facility f ON (p.facility_id = f.id)
WHERE p.facility_id IN (
    SELECT u0.id FROM accounts_facility u0
    INNER JOIN accounts_user_facilities u1 ON (u0.id = u1.facility_id)
    WHERE u0.is_active AND u1.user_id = 1)
  AND p.facility_id = 1
  AND p.id IN (SELECT t.patient_id FROM patients_patientsearchtoken t
               WHERE t.token >= %s AND t.token < %s)
ORDER BY p.last_name, p.first_name, p.id LIMIT 51
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", default=harness.pg_url_for(harness.DEFAULT_PG_URL, "openiop_bench")
    )
    parser.add_argument("--random-page-cost", type=float, default=None)
    parser.add_argument("--analyzes", type=int, default=6)
    args = parser.parse_args()
    try:
        conn = psycopg.connect(args.url, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        print(f"SKIPPED: {exc}".splitlines()[0] + " (run patient_search.py --keep first)")
        return 1
    if args.random_page_cost is not None:
        conn.execute(f"SET random_page_cost = {args.random_page_cost}")
    row = conn.execute("SHOW random_page_cost").fetchone()
    setting = row[0] if row else "?"
    print(f"random_page_cost = {setting}")
    worst_overall = 0.0
    for round_ in range(args.analyzes):
        conn.execute("ANALYZE patients_patientsearchtoken")
        conn.execute("ANALYZE patients_patient")
        timings = []
        for low, high in TERMS:
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                conn.execute(SQL, (low, high)).fetchall()
                best = min(best, (time.perf_counter() - start) * 1000)
            timings.append(best)
        worst = max(timings)
        worst_overall = max(worst_overall, worst)
        cells = " ".join(f"{t[0]}:{ms:.0f}" for t, ms in zip(TERMS, timings, strict=True))
        print(f"ANALYZE #{round_ + 1}: worst {worst:6.1f} ms | {cells}")
    print(f"worst over {args.analyzes} ANALYZEs: {worst_overall:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
