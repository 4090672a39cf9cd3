"""What the benchmark scripts share: statistics, tables, fresh databases, workers, timing.

The scripts import it as ``harness`` (their folder is first on ``sys.path`` when one runs as
``python benchmarks/x.py``, and gunicorn gets it with ``--pythonpath``). Only the standard
library is imported here at load time; psycopg and Django are imported by the functions
that need them, so the parent process never sets Django up.

The parent/worker pattern (``run_parent``): for every database (and size) the parent makes a
fresh database (``fresh_database``: a temporary SQLite file, or a PostgreSQL database created
and dropped with psycopg) and runs the script again with ``--worker`` in a subprocess, because
Django settings are process-global. The worker sets Django up (``setup_django``), builds its
data, measures (``measure``) and writes its results as JSON to ``--json-out``; the parent
collects them and prints a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/")
# What a worker's Django needs (with DATABASE_URL): test settings, no two-step sign-in.
DJANGO_ENV = {
    "OPENIOP_TESTING": "true",
    "OPENIOP_REQUIRE_MFA": "false",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}
# The idle-timeout middleware saves the session at most every 30 s (UPDATE, and on
# PostgreSQL the BEGIN/COMMIT around it): not something the page itself asks for.
SESSION_WRITE = ('UPDATE "django_session"', "BEGIN", "COMMIT")

Summary = Callable[[list[dict[str, Any]], dict[str, str]], None]


# --------------------------------------------------------------------------------------
# Figures and tables
# --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
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


def ms_cells(s: Mapping[str, Any]) -> list[str]:
    """A measured scenario's p50, p95 and max (ms) as table cells."""
    return [f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['max']:.1f}"]


def table(headers: list[str], rows: list[list[Any]], left: Collection[int] = (0,)) -> str:
    """A plain-text table; the columns in ``left`` are left-aligned, the others right."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(widths[i]) if i in left else v.rjust(widths[i]) for i, v in enumerate(values)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def banner(title: str) -> str:
    """The first line of a run: what, when, on how many CPUs, which Python."""
    return (
        f"OpenIOP {title} — {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
        f"{os.cpu_count()} CPU(s), python {sys.version.split()[0]}"
    )


def print_query_counts(
    runs: Iterable[tuple[str, Mapping[str, Mapping[str, Any]]]],
    titles: Mapping[str, str],
    across: str = "sizes",
) -> None:
    """Per database and scenario, whether the usual query count is the same in every run.

    ``runs`` are (database, scenarios) pairs, one per size; a scenario's ``q_mode`` is its
    most frequent query count (what ``measure`` returns).
    """
    modes: dict[str, dict[str, set[int]]] = {}
    for database, scenarios in runs:
        for name, s in scenarios.items():
            modes.setdefault(database, {}).setdefault(name, set()).add(s["q_mode"])
    for database, by_name in modes.items():
        for name, seen in by_name.items():
            verdict = "constant" if len(seen) == 1 else "GROWS"
            print(
                f"{database}: {titles[name]}: queries {verdict} "
                f"({', '.join(str(m) for m in sorted(seen))}) across {across}"
            )


# --------------------------------------------------------------------------------------
# Parent: one fresh database and one worker subprocess per database (and size)
# --------------------------------------------------------------------------------------


def pg_url_for(url: str, dbname: str) -> str:
    """``url`` (a PostgreSQL server, or a database on it) pointing at the database ``dbname``."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


def postgres_problem(url: str) -> str | None:
    """Why the PostgreSQL server at ``url`` cannot be used, or None when it answers."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(pg_url_for(url, "postgres"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@contextlib.contextmanager
def fresh_database(
    kind: str, name: str, *, pg_url: str, keep: bool, sqlite_file: str = "bench.sqlite3"
) -> Iterator[str]:
    """The DATABASE_URL of an empty database, removed afterwards unless ``keep``.

    ``kind`` "sqlite": ``sqlite_file`` in a new temporary folder; otherwise the PostgreSQL
    database ``name`` on the server of ``pg_url`` (dropped first if a run left it behind).
    """
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=name.replace("_", "-") + "-"))
        path = folder / sqlite_file
        try:
            yield f"sqlite:///{path}"  # absolute path: sqlite:////tmp/...
        finally:
            if keep:
                print(f"(kept {path})")
            else:
                for leftover in folder.glob("*"):
                    leftover.unlink()
                folder.rmdir()
        return
    import psycopg
    from psycopg import sql

    admin_url = pg_url_for(pg_url, "postgres")

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    drop()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_url_for(pg_url, name)
    finally:
        if keep:
            print(f"(kept database {name})")
        else:
            drop()


def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    """This process's environment for a subprocess that runs Django on ``database_url``."""
    env = {
        **os.environ,
        **DJANGO_ENV,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("PYTEST_VERSION", None)  # set under pytest: the settings would think it is a test
    return env


def add_run_options(parser: argparse.ArgumentParser, *, sizes: bool) -> None:
    """``--keep``, ``--json`` and the hidden options the parent passes to a worker."""
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    if sizes:
        parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)


def forward(args: argparse.Namespace, names: Iterable[str]) -> list[str]:
    """The options ``names`` of ``args`` on a command line again: ``--name value``, ``--name
    v1 v2`` for a list, ``--name`` alone for a flag that is set; unset ones left out."""
    line: list[str] = []
    for name in names:
        value = getattr(args, name)
        option = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            line.append(option)
        elif isinstance(value, list | tuple):
            line += [option, *(str(v) for v in value)]
        else:
            line += [option, str(value)]
    return line


def run_parent(
    args: argparse.Namespace, script: str, pg_name: str, options: Iterable[str], summary: Summary
) -> int:
    """One worker per database in ``args.databases`` (and size in ``args.sizes`` when the
    script has that option), then ``summary(results, skipped)``.

    Each worker runs ``script --worker --database KIND [--size N] --json-out FILE`` with the
    parent's ``options`` (``forward``) in a fresh database (``pg_name`` on PostgreSQL) and
    writes its results to FILE; a worker that fails is recorded as ``{"failed": exit
    status}``. ``args`` also needs ``pg_url``, ``keep`` and ``json``. Returns the exit status.
    """
    started = time.perf_counter()
    worker_args = forward(args, options)
    sizes: Sequence[int] | None = getattr(args, "sizes", None)
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for kind in args.databases:
        if kind == "postgres":
            problem = postgres_problem(args.pg_url)
            if problem:
                print(f"\nSKIPPED postgres: no PostgreSQL answers at {args.pg_url} ({problem})")
                skipped[kind] = problem
                continue
        each: list[int | None] = [None] if sizes is None else [*sizes]
        for size in each:
            failed: dict[str, Any] = {"database": kind}
            cmd = [sys.executable, str(Path(script).resolve()), "--worker", "--database", kind]
            heading = which = kind
            if size is not None:
                failed["size"] = size
                cmd += ["--size", str(size)]
                heading, which = f"{kind}, {size:,} patients", f"{kind}/{size}"
            with (
                fresh_database(
                    kind,
                    pg_name,
                    pg_url=args.pg_url,
                    keep=args.keep,
                    sqlite_file="bench.sqlite3" if size is None else f"bench-{size}.sqlite3",
                ) as url,
                tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out,
            ):
                print(f"\n=== {heading} ".ljust(78, "="), flush=True)
                proc = subprocess.run(  # noqa: S603
                    [*cmd, "--json-out", out.name, *worker_args],
                    env=worker_env(url),
                    cwd=ROOT,
                    check=False,
                )
                if proc.returncode != 0:
                    print(f"FAILED: worker for {which} exited {proc.returncode}")
                    results.append({**failed, "failed": proc.returncode})
                else:
                    results.append(json.loads(Path(out.name).read_text()))
                Path(out.name).unlink(missing_ok=True)
    summary(results, skipped)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"\n(results written to {args.json})")
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 1 if any("failed" in r for r in results) else 0


# --------------------------------------------------------------------------------------
# Worker: runs inside the subprocess with DATABASE_URL already set
# --------------------------------------------------------------------------------------


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import warnings

    import django

    # WhiteNoise warns once that collectstatic has not run; the benchmarks do not need it.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()


def migrate() -> None:
    from django.core.management import call_command
    from django.db import connection

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"{connection.vendor}: migrated in {time.perf_counter() - t0:.1f} s", flush=True)


def analyze(*, optimize: bool = False) -> float:
    """``VACUUM ANALYZE`` (PostgreSQL: what autovacuum leaves in steady state) or ``ANALYZE``
    (SQLite, then ``PRAGMA optimize`` when ``optimize``); returns the seconds it took."""
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
            if optimize:
                cursor.execute("PRAGMA optimize")
    return time.perf_counter() - t0


def measure(
    name: str,
    call: Callable[[], Any],
    repeat: int,
    *,
    title: str,
    http: bool,
    warmup: int = 3,
    slowest: int = 0,
) -> dict[str, Any]:
    """Time ``call()`` ``repeat`` times after ``warmup`` calls; print and return the figures.

    p50/p95/max in ms (``time.perf_counter`` around the call) and the SQL queries per call
    (``CaptureQueriesContext``, without the idle-timeout session save): ``q_min``, ``q_max``
    and the most frequent, ``q_mode``. With ``http`` the call returns a response and anything
    but 200 stops the run. With ``slowest`` the figures also keep the SQL of that many
    slowest statements (``slowest_sql``).
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def check(response: Any) -> None:
        if http and response.status_code != 200:
            raise SystemExit(f"{name}: answered {response.status_code}, not 200 — stopping.")

    for _ in range(warmup):
        check(call())
    ms: list[float] = []
    queries: list[int] = []
    statements: list[tuple[float, str]] = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = call()
            ms.append((time.perf_counter() - t0) * 1000)
        check(response)
        captured = [q for q in ctx.captured_queries if not q["sql"].startswith(SESSION_WRITE)]
        queries.append(len(captured))
        if slowest:
            statements = sorted(
                [*statements, *((float(q["time"]) * 1000, q["sql"]) for q in captured)],
                reverse=True,
            )[:slowest]
    summary: dict[str, Any] = {
        "n": repeat,
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "max": max(ms),
        "q_min": min(queries),
        "q_max": max(queries),
        "q_mode": Counter(queries).most_common(1)[0][0],
    }
    line = (
        f"  {title}: p50 {summary['p50']:.1f} ms  p95 {summary['p95']:.1f} ms  "
        f"max {summary['max']:.1f} ms  queries {fmt_range(summary['q_min'], summary['q_max'])}"
    )
    if slowest:
        summary["slowest_sql"] = [{"ms": round(t, 2), "sql": s[:3000]} for t, s in statements]
        if statements:
            line += f"  (slowest statement {statements[0][0]:.1f} ms)"
    print(line, flush=True)
    return summary
