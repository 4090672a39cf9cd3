#!/usr/bin/env python
"""Public help-request benchmark for OpenIOP: 20 concurrent clients posting /get-help/.

    .venv/bin/python benchmarks/public_form.py [--requests 2000] [--clients 20] [--workers N]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/public_form.py

What it does:

1. makes a fresh database — a temporary SQLite file by default, or, when DATABASE_URL (or
   ``--database postgres``) names a PostgreSQL server, a fresh database
   ``openiop_bench_public_form`` on that server (dropped afterwards unless ``--keep``);
2. migrates it and creates a facility with three admissions staff and a clinical director
   (each help request notifies the admissions staff in-app and by e-mail);
3. starts the real WSGI stack under gunicorn (sync workers, default 2 × CPUs + 1), wrapped
   so that each response carries the time the server spent on it (``Server-Timing``) and the
   number of SQL queries it ran;
4. runs ``--clients`` threads that each fetch the form once (the CSRF cookie and token, as a
   browser does) and then post valid help requests until ``--requests`` posts are done.
   Every post comes from its own address (``X-Forwarded-For`` with
   ``OPENIOP_TRUST_X_FORWARDED_FOR=true``) so the per-address rate limit does not interfere;
   the limiter still runs on every post;
5. prints requests per second, p50/p95/max server time and client latency in ms, queries
   per request, and the rows created (inquiries, stage history, notifications, audit events).

Settings in the server: ``OPENIOP_TESTING=true`` (as benchmarks/patient_search.py), so
e-mails go through django-tasks' immediate backend inside the request (locmem e-mail
backend): a conservative figure, since production only enqueues the e-mail task.
The target is a server-time p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import harness

ROOT = harness.ROOT
TARGET_P95_MS = 100.0
PG_DB_NAME = "openiop_bench_public_form"
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --------------------------------------------------------------------------------------
# Inside gunicorn: the project's WSGI application, timed
# --------------------------------------------------------------------------------------

_wrapped: Callable[..., Iterable[bytes]] | None = None


def _build() -> Callable[..., Iterable[bytes]]:
    sys.path.insert(0, str(ROOT))
    from django.db import connection

    from config.wsgi import application as django_app

    def timed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        queries = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda data: None

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            result = django_app(environ, capture)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()  # request_finished: the connection is closed or kept here
        elapsed_ms = (time.perf_counter() - started) * 1000
        headers = [
            *captured["headers"],
            ("Server-Timing", f"app;dur={elapsed_ms:.3f}"),
            ("X-Bench-Queries", str(queries)),
        ]
        start_response(captured["status"], headers, captured["exc_info"])
        return [body]

    return timed


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """gunicorn's entry point (``public_form:application``)."""
    global _wrapped
    if _wrapped is None:
        _wrapped = _build()
    return _wrapped(environ, start_response)


if "gunicorn" in sys.modules and __name__ != "__main__":
    # gunicorn --preload: Django is set up once in the master, before the workers fork.
    _wrapped = _build()


# --------------------------------------------------------------------------------------
# Worker steps run in a subprocess with DATABASE_URL set: setup and the final count
# --------------------------------------------------------------------------------------


def worker_setup() -> None:
    harness.setup_django()
    from openiop.accounts.models import Facility, Organization, User
    from openiop.accounts.roles import Role

    org = Organization.objects.create(name="Benchmark Recovery Collective")
    facility = Facility.objects.create(
        organization=org,
        name="Benchmark IOP",
        code="BEN",
        time_zone="America/Los_Angeles",
        phone="951-555-0100",
    )
    people = [
        ("admissions1@bench.example.org", Role.ADMISSIONS),
        ("admissions2@bench.example.org", Role.ADMISSIONS),
        ("admissions3@bench.example.org", Role.ADMISSIONS),
        ("director@bench.example.org", Role.CLINICAL_DIRECTOR),
    ]
    for email, role in people:
        user = User.objects.create_user(email, password=None, role=role, organization=org)
        user.facilities.set([facility])


def worker_report() -> None:
    harness.setup_django()
    from openiop.audit.models import AuditEvent
    from openiop.intake.models import Inquiry, InquiryStageChange
    from openiop.notifications.models import Notification

    print(
        json.dumps(
            {
                "inquiries": Inquiry.objects.count(),
                "stage_changes": InquiryStageChange.objects.count(),
                "notifications": Notification.objects.count(),
                "audit_events": AuditEvent.objects.filter(section="inquiry").count(),
            }
        )
    )


# --------------------------------------------------------------------------------------
# Parent: database, server, clients
# --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status in (200, 503):
                return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


class Result:
    __slots__ = ("client_ms", "queries", "server_ms", "status")

    def __init__(self, status: int, server_ms: float, client_ms: float, queries: int) -> None:
        self.status, self.server_ms, self.client_ms, self.queries = (
            status,
            server_ms,
            client_ms,
            queries,
        )


def _form_body(token: str, n: int) -> bytes:
    return urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "first_name": f"Bench{n}",
            "last_name": "Example",
            "phone": f"951-555-01{n % 100:02d}",
            "email": f"bench{n}@example.org",
            "who_needs_help": "self",
            "concerns": "substances",
            "insurance_payer": "Example Health Plan",
            "best_time_to_call": "any",
            "consent_to_contact": "on",
            "message": "Synthetic benchmark request.",
            "website": "",
        }
    ).encode()


def run_clients(port: int, clients: int, total: int, first: int = 0) -> tuple[list[Result], float]:
    """``total`` posts by ``clients`` threads; post n comes from its own address."""
    counter = iter(range(first, first + total))
    lock = threading.Lock()
    results: list[Result] = []
    ready = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/get-help/")
        response = conn.getresponse()
        html = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        match = _TOKEN.search(html)
        assert match and cookie.startswith("csrftoken="), "no CSRF token on the form"
        token = match.group(1)
        conn.close()
        ready.wait()
        mine: list[Result] = []
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            started = time.perf_counter()
            conn.request(
                "POST",
                "/get-help/",
                body=_form_body(token, n),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookie,
                    "X-Forwarded-For": address,
                },
            )
            response = conn.getresponse()
            response.read()
            client_ms = (time.perf_counter() - started) * 1000
            conn.close()
            timing = response.getheader("Server-Timing", "app;dur=nan")
            mine.append(
                Result(
                    response.status,
                    float(timing.split("dur=")[1]),
                    client_ms,
                    int(response.getheader("X-Bench-Queries", "-1")),
                )
            )
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--warmup", type=int, default=100, help="posts before measuring (not in the figures)"
    )
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", choices=["setup", "report"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "setup":
        worker_setup()
        return 0
    if args.worker == "report":
        worker_report()
        return 0

    configured = os.environ.get("DATABASE_URL", "")
    kind = args.database or ("postgres" if configured.startswith("postgres") else "sqlite")
    pg_url = os.environ.get("BENCH_POSTGRES_URL") or configured or harness.DEFAULT_PG_URL
    print(harness.banner("public help-request benchmark"))
    print(
        f"database={kind} requests={args.requests} clients={args.clients} "
        f"gunicorn sync workers={args.workers}"
    )
    with harness.fresh_database(kind, PG_DB_NAME, pg_url=pg_url, keep=args.keep) as url:
        env = harness.worker_env(
            url,
            OPENIOP_TRUST_X_FORWARDED_FOR="true",
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            LOG_LEVEL="WARNING",
            # WhiteNoise warns that collectstatic has not run; the form's assets are not timed.
            PYTHONWARNINGS="ignore::UserWarning",
        )
        here = str(Path(__file__).resolve())
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True
        )
        subprocess.run([sys.executable, here, "--worker", "setup"], env=env, cwd=ROOT, check=True)  # noqa: S603
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--pythonpath",
                f"{ROOT / 'benchmarks'},{ROOT}",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--backlog",
                "256",
                "public_form:application",
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            _wait_for(port, server)
            if args.warmup:
                run_clients(port, args.clients, args.warmup, first=args.requests)
            results, wall = run_clients(port, args.clients, args.requests)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        report = subprocess.run(  # noqa: S603
            [sys.executable, here, "--worker", "report"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        rows = json.loads(report.stdout.strip().splitlines()[-1])

    ok = [r for r in results if r.status == 302]
    server_ms = [r.server_ms for r in ok]
    client_ms = [r.client_ms for r in ok]
    queries = sorted({r.queries for r in ok})
    figures = {
        "database": kind,
        "requests": len(results),
        "redirected_ok": len(ok),
        "other_status": sorted({r.status for r in results if r.status != 302}),
        "requests_per_second": len(results) / wall,
        "server_ms": {
            "p50": harness.percentile(server_ms, 50),
            "p95": harness.percentile(server_ms, 95),
            "max": max(server_ms, default=float("nan")),
            "mean": statistics.fmean(server_ms) if server_ms else float("nan"),
        },
        "client_ms": {
            "p50": harness.percentile(client_ms, 50),
            "p95": harness.percentile(client_ms, 95),
            "max": max(client_ms, default=float("nan")),
        },
        "queries_per_request": queries,
        "rows": rows,
        "warmup_posts": args.warmup,
    }
    print()
    print(f"posts: {len(results)} in {wall:.1f} s -> {figures['requests_per_second']:.1f} req/s")
    print(f"answered 302 (saved): {len(ok)}; other statuses: {figures['other_status'] or 'none'}")
    s, c = figures["server_ms"], figures["client_ms"]
    print(f"server time ms: p50 {s['p50']:.1f}  p95 {s['p95']:.1f}  max {s['max']:.1f}")
    print(
        f"client latency ms (incl. waiting for a free worker): p50 {c['p50']:.1f}  "
        f"p95 {c['p95']:.1f}  max {c['max']:.1f}"
    )
    shown = "-".join(str(q) for q in (queries[0], queries[-1])) if queries else "?"
    print(f"queries per request: {shown}")
    posts = len(results) + args.warmup
    per = {k: v / posts for k, v in rows.items()}
    shown_rows = ", ".join(f"{k} {v} ({per[k]:.1f}/post)" for k, v in rows.items())
    print(f"rows created, {args.warmup} warm-up posts included: {shown_rows}")
    verdict = "PASS" if s["p95"] < TARGET_P95_MS else "FAIL"
    print(f"server p95 {s['p95']:.1f} ms -> {verdict} (target < {TARGET_P95_MS:.0f} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0 if ok and len(ok) == len(results) and verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
