"""Regenerate the README screenshots in docs/screenshots/ from a fresh demo database.

    .venv/bin/python scripts/screenshots.py

Starts from an empty SQLite file in /tmp, migrates it, loads the demo (fictional people only),
serves it with ``runserver`` on 127.0.0.1:8765 and photographs the pages in Debian's Chromium
(``apt-get install chromium``; Playwright's own browser downloads are not used). The server is
stopped and the database removed at the end, whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
DATABASE = Path("/tmp/openiop-shots.sqlite3")  # noqa: S108 - a throwaway demo database
ADDRESS = "127.0.0.1:8765"
BASE = f"http://{ADDRESS}"
PASSWORD = "openiop-demo-2026"  # noqa: S105 - the demo's published password
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
TABLET: ViewportSize = {"width": 820, "height": 1180}  # an iPad Air in portrait
WIDE: ViewportSize = {"width": 1920, "height": 1200}  # the week's seven columns, day and night


def demo_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTEST_VERSION", "OPENIOP_TESTING", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{DATABASE}",
        DEBUG="true",
        OPENIOP_DEMO="true",
        OPENIOP_REQUIRE_MFA="false",
        OPENIOP_HTTPS="false",
        LOG_LEVEL="WARNING",
        OPENIOP_ATTACHMENTS_DIR="/tmp/openiop-shots-attachments",  # noqa: S108 - throwaway
    )
    return env


def remove_database() -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{DATABASE}{suffix}").unlink(missing_ok=True)


def manage(*args: str) -> None:
    print(f"manage.py {' '.join(args)}")
    subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=demo_env(), check=True
    )


# Which demo patients the plan shots show; the demo's choices are random, so ask its database.
PLAN_PATIENTS = """
import json
from django.db.models import Count
from openiop.plans.models import ObjectiveLink, PlanVersion, RelapsePreventionPlan
relapse = set(RelapsePreventionPlan.objects.values_list("patient_id", flat=True))
linked = dict(
    ObjectiveLink.objects.values_list("patient_id").annotate(n=Count("pk")).values_list(
        "patient_id", "n"
    )
)
active = PlanVersion.objects.filter(status="active").values_list("plan__patient_id", flat=True)
with_both = sorted((p for p in active if p in relapse), key=lambda p: (-linked.get(p, 0), p))
revised = (
    PlanVersion.objects.filter(status="active", number__gte=2)
    .order_by("pk")
    .values_list("plan__patient_id", flat=True)
    .first()
)
print(json.dumps({"plan": with_both[0] if with_both else None, "revised": revised}))
"""


# Which session and patient the schedule shots show: the demo's attendance is random too.
SCHEDULE_PICKS = """
import datetime as dt
import json
from django.utils import timezone
from openiop.admissions.models import EpisodeOfCare
from openiop.plans.models import PlanVersion
from openiop.scheduling import rules, selectors
from openiop.scheduling.models import Attendance, Session
recent = Session.objects.filter(
    facilitator__email="clinician@example.org",
    ends_at__lte=timezone.now(),
    attendance_saved_at__isnull=False,
).order_by("-starts_at", "pk")[:15]
def mix(session):
    statuses = list(Attendance.objects.filter(session=session).values_list("status", flat=True))
    return (len(set(statuses)), len(statuses))
session = max(recent, key=mix, default=None)
planned = PlanVersion.objects.filter(status="active", plan__episode__isnull=False).values_list(
    "plan__episode_id", flat=True
)
patient = None
for episode in (
    EpisodeOfCare.objects.filter(
        discharge_date__isnull=True,
        program__level_of_care="2.1",
        patient__status="active",
        pk__in=list(planned),
    )
    .select_related("program", "facility")
    .order_by("pk")
):
    today = selectors.today_at(episode.facility)
    last_week = rules.week_start(today) - dt.timedelta(days=7)
    week = selectors.planned_week(episode, today)
    top = episode.program.max_hours_per_week
    _days, row = selectors.episode_week(episode, last_week)
    if (
        row.status == rules.WeekStatus.MEETS
        and not week.below_minimum
        and (top is None or week.enrolled_minutes <= top * 60)
        and not selectors.episode_dose(episode, today).at_risk
    ):
        patient = episode.patient_id
        break
print(json.dumps({"attendance": session.pk if session else None, "patient": patient}))
"""


DOCUMENTATION_PICKS = """
import json
from django.db.models import Count
from openiop.measures.models import Administration
from openiop.notes.models import GroupNote
from openiop.recovery.models import RelapseEvent
with_parts = GroupNote.objects.annotate(n=Count("entries")).filter(n__gte=3)
draft = with_parts.filter(signed_at__isnull=True).order_by("-service_date").first()
signed = with_parts.filter(signed_at__isnull=False).order_by("-service_date").first()
entry = signed.entries.order_by("id").first() if signed else None
relapse = RelapseEvent.objects.order_by("-date").first()
trend = (
    Administration.objects.filter(instrument="phq9", entered_in_error_at__isnull=True)
    .values("patient").annotate(n=Count("id")).order_by("-n", "patient").first()
)
print(json.dumps({
    "draft": draft.session_id if draft else None,
    "draft_author": draft.author.email if draft else None,
    "entry_patient": entry.patient_id if entry else None,
    "entry_author": signed.author.email if signed else None,
    "recovery": relapse.patient_id if relapse else None,
    "trend": trend["patient"] if trend else None,
}))
"""


CONTINUING_PICKS = """
import json
from openiop.discharge.models import Discharge, DischargePlan, Referral
plan = DischargePlan.objects.order_by("episode__admission_date").first()
with_referrals = Discharge.objects.filter(
    episode__referrals__isnull=False, step_down="outpatient"
).order_by("-discharge_date").first() or Discharge.objects.order_by("-discharge_date").first()
print(json.dumps({
    "readiness": plan.episode.patient_id if plan else None,
    "readiness_clinician": plan.episode.primary_clinician.email if plan else None,
    "summary": with_referrals.pk if with_referrals else None,
}))
"""


def ask_demo(code: str) -> dict[str, Any]:
    """Run ``code`` in the demo's ``manage.py shell``; it prints a JSON object last."""
    done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=demo_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def plan_patients() -> dict[str, int | None]:
    """The patient whose active plan has the most services linked and a relapse-prevention
    plan, and one whose plan has a signed version 2 (None when the demo has neither)."""
    return ask_demo(PLAN_PATIENTS)


def schedule_picks() -> dict[str, int | None]:
    """The counselor's (clinician@example.org) latest group with the most kinds of attendance
    recorded, and an adult IOP patient in active care whose groups and last week fit the
    plan and the program (None when the demo has none)."""
    return ask_demo(SCHEDULE_PICKS)


def documentation_picks() -> dict[str, Any]:
    """A group-note draft with three or more parts and its author, a signed group note's
    attendee, the patient with the latest relapse, and the patient with the most PHQ-9s."""
    return ask_demo(DOCUMENTATION_PICKS)


def continuing_picks() -> dict[str, Any]:
    """A patient in care with a discharge plan (the readiness checklist) and their clinician,
    and a recent signed discharge with referrals."""
    return ask_demo(CONTINUING_PICKS)


def healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{BASE}/healthz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def server() -> Iterator[None]:
    if healthy():
        sys.exit(f"Something already answers at {BASE}; stop it first.")
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "runserver", ADDRESS, "--noreload"],
        cwd=ROOT,
        env=demo_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not healthy():
            if process.poll() is not None:
                sys.exit(f"runserver stopped:\n{process.stderr.read() if process.stderr else ''}")
            if time.monotonic() > deadline:
                sys.exit(f"runserver did not answer at {BASE}/healthz within 30 seconds.")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def shoot(page: Page, name: str) -> None:
    page.mouse.move(0, 0)  # no hover highlight
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring
    path = OUT / name
    page.screenshot(path=str(path))
    print(f"  {path.relative_to(ROOT)}")


def scroll_to_top(target: Locator) -> None:
    """Scroll the page so ``target`` sits just below the top of the window."""
    target.evaluate("e => window.scrollBy(0, e.getBoundingClientRect().top - 16)")


def signed_in_page(browser: Browser, email: str, viewport: ViewportSize = DESKTOP) -> Page:
    context = browser.new_context(viewport=viewport, locale="en-US", device_scale_factor=1)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{BASE}/accounts/login/")
    page.locator('input[name="login"]').fill(email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def photograph_plans(browser: Browser, patients: dict[str, int | None]) -> None:
    """The Treatment plan tab, the comparison of two signed versions and the
    relapse-prevention plan, as the clinical director sees them."""
    page = signed_in_page(browser, "director@example.org")
    chosen = patients.get("plan")
    if chosen is None:
        sys.exit("The demo has no active plan with a relapse-prevention plan to photograph.")
    page.goto(f"{BASE}/plans/patient/{chosen}/")
    expect(page.get_by_role("heading", name="Treatment plan", exact=True)).to_be_visible()
    expect(page.locator(".plan-status .pill.ok")).to_have_text("Active")
    # Down to the first problem: the goal in the person's words, the objectives and how many
    # services were linked to each (the golden thread).
    scroll_to_top(page.locator(".plan-problem").first)
    shoot(page, "plan.png")
    page.goto(f"{BASE}/plans/patient/{chosen}/relapse-prevention/")
    expect(page.get_by_role("heading", name="Relapse-prevention plan")).to_be_visible()
    shoot(page, "relapse-plan.png")
    revised = patients.get("revised")
    if revised is None:
        print("  (no demo patient has a second signed version: plan-compare.png not taken)")
    else:
        page.goto(f"{BASE}/plans/patient/{revised}/compare/?changes_only=1")
        summary = page.get_by_role("heading", name="Version 1 → version 2")
        expect(summary).to_be_visible()
        scroll_to_top(page.get_by_role("heading", name="Compare versions of the treatment plan"))
        shoot(page, "plan-compare.png")
    page.context.close()


def photograph_schedule(browser: Browser, picks: dict[str, int | None]) -> None:
    """The IOP week: the facility's calendar, a group's attendance as its counselor records
    it, a patient's week on the chart and the weekly dose report."""
    # The clinical director: the facility's week, wide enough for seven days side by side.
    page = signed_in_page(browser, "director@example.org", WIDE)
    page.goto(f"{BASE}/schedule/")
    expect(page.get_by_role("heading", name=re.compile(r"^Week of"))).to_be_visible()
    expect(page.locator(".lane-night .cal-entry").first).to_be_visible()
    scroll_to_top(page.locator(".page-head").first)
    shoot(page, "schedule-week.png")
    page.context.close()

    # The counselor who ran the group: the whole roster on one screen, as saved.
    session = picks.get("attendance")
    if session is None:
        sys.exit("The demo has no group of clinician@example.org with attendance recorded.")
    page = signed_in_page(browser, "clinician@example.org")
    page.goto(f"{BASE}/schedule/session/{session}/attendance/")
    expect(page.get_by_role("heading", name=re.compile(r"^Attendance: "))).to_be_visible()
    expect(page.locator("#roster-rows tr").first).to_be_visible()
    scroll_to_top(page.locator("form.attendance-form"))
    shoot(page, "attendance.png")
    page.context.close()

    # The clinical director: a patient's week and dose on the chart, then the dose report.
    patient = picks.get("patient")
    if patient is None:
        sys.exit("The demo has no adult IOP patient whose week fits the plan to photograph.")
    page = signed_in_page(browser, "director@example.org")
    page.goto(f"{BASE}/schedule/patient/{patient}/")
    expect(page.get_by_role("heading", name="Schedule & attendance")).to_be_visible()
    dose = page.locator("section").filter(has=page.get_by_role("heading", name="This week's dose"))
    expect(dose).to_be_visible()
    scroll_to_top(dose)
    shoot(page, "patient-schedule.png")

    # Last week, whole: this week's figures are only the hours attended so far.
    page.goto(f"{BASE}/schedule/dose/")
    page.get_by_role("navigation", name="Weeks").get_by_role("link", name="Week before").click()
    page.wait_for_url(re.compile(r"[?&]week="))
    expect(page.get_by_role("heading", name=re.compile(r"^Dose report"))).to_be_visible()
    expect(page.locator("main table tbody tr").first).to_be_visible()
    scroll_to_top(page.get_by_role("heading", name=re.compile(r"^Dose report")))
    shoot(page, "dose-report.png")
    page.context.close()


def photograph(browser: Browser) -> None:
    # The sign-in page, before anyone signs in.
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.goto(f"{BASE}/accounts/login/")
    shoot(page, "signin.png")
    # The public help request: no sign-in.
    page.goto(f"{BASE}/get-help/")
    expect(page.get_by_role("heading", name="Ask for help")).to_be_visible()
    shoot(page, "get-help.png")
    context.close()

    # Admissions: the board, then an inquiry that has been screened.
    page = signed_in_page(browser, "admissions@example.org")
    page.goto(f"{BASE}/inquiries/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Admissions")
    shoot(page, "admissions-board.png")
    page.locator(".inquiry-card").filter(has_text="Move").nth(5).locator("a").first.click()
    expect(page.get_by_role("heading", name="Screening for IOP fit")).to_be_visible()
    shoot(page, "inquiry.png")
    page.context.close()

    # The clinical director: search, a chart, the registration form, then home (which by then
    # lists the charts just opened).
    page = signed_in_page(browser, "director@example.org")
    page.goto(f"{BASE}/patients/")
    first_row = page.locator("#results tbody tr").first
    last_name = first_row.locator("td a").first.inner_text().split(",")[0]
    page.get_by_role("searchbox").press_sequentially(last_name[:4], delay=40)
    expect(page.locator("#results-title")).to_contain_text("found")
    shoot(page, "patients.png")

    page.locator("#results tbody tr td a").first.click()
    expect(page.locator(".chart-header")).to_be_visible()
    chart_url = page.url
    shoot(page, "chart.png")
    for row in range(1, 3):  # a few more charts, so home shows "Charts you opened recently"
        page.goto(f"{BASE}/patients/")
        page.locator("#results tbody tr td a").nth(row).click()
        expect(page.locator(".chart-header")).to_be_visible()

    # Someone in treatment: everyone admitted, then their chart's tabs.
    page.goto(f"{BASE}/admissions/")
    shoot(page, "in-treatment.png")
    page.locator("table tbody tr td a").nth(3).click()
    expect(page.locator(".chart-header")).to_be_visible()
    admitted_url = page.url
    for tab, name in (
        ("Admission", "admission.png"),
        ("Assessments", "assessments.png"),
        ("Measures", "measures.png"),
        ("Support system & consents", "consents.png"),
    ):
        page.goto(admitted_url)
        page.get_by_role("navigation", name="Chart sections").get_by_role("link", name=tab).click()
        expect(page.locator(".chart-header")).to_be_visible()
        shoot(page, name)
    page.goto(admitted_url)
    page.get_by_role("navigation", name="Chart sections").get_by_role(
        "link", name="Assessments"
    ).click()
    # By its full name: a bare "Open" also matches the "OpenIOP" home link in the banner.
    page.get_by_role("link", name=re.compile(r"^Open\s*ASAM assessment")).first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^ASAM assessment of"))).to_be_visible()
    shoot(page, "asam.png")

    page.goto(f"{BASE}/patients/new/")
    expect(page.get_by_role("heading", name="Register a patient")).to_be_visible()
    shoot(page, "register.png")

    page.goto(f"{BASE}/")
    shoot(page, "home.png")
    page.context.close()

    # A clinician's home: their caseload.
    page = signed_in_page(browser, "clinician@example.org")
    page.goto(f"{BASE}/")  # again, without the "Successfully signed in" message
    shoot(page, "caseload.png")
    page.context.close()

    # The chart on a tablet, portrait.
    page = signed_in_page(browser, "director@example.org", TABLET)
    page.goto(chart_url)
    expect(page.locator(".chart-header")).to_be_visible()
    shoot(page, "tablet-chart.png")
    page.context.close()

    # The auditor lands on the audit trail, which now holds all of the above.
    page = signed_in_page(browser, "auditor@example.org")
    page.goto(f"{BASE}/audit/")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    shoot(page, "audit.png")
    page.context.close()


def photograph_documentation(browser: Browser, picks: dict[str, Any]) -> None:
    """The group-note screen, a chart's notes, the Recovery tab, the PHQ-9 chart and the
    timeline (issue 6)."""
    missing = [k for k, v in picks.items() if v is None]
    if missing:
        sys.exit(f"The demo lacks what these screenshots need: {', '.join(missing)}.")
    page = signed_in_page(browser, picks["draft_author"])
    page.goto(f"{BASE}/notes/sessions/{picks['draft']}/")
    expect(page.get_by_role("heading", name="Each attendee's part")).to_be_visible()
    scroll_to_top(page.locator(".attendees-title"))
    shoot(page, "group-note.png")
    page.context.close()

    page = signed_in_page(browser, picks["entry_author"])
    page.goto(f"{BASE}/notes/patients/{picks['entry_patient']}/")
    expect(page.get_by_role("heading", name="Clinical notes")).to_be_visible()
    shoot(page, "chart-notes.png")
    page.context.close()

    page = signed_in_page(browser, "director@example.org")
    page.goto(f"{BASE}/recovery/patients/{picks['recovery']}/")
    expect(page.get_by_role("heading", name="Recovery", exact=True)).to_be_visible()
    scroll_to_top(page.locator("#sobriety"))
    shoot(page, "recovery.png")
    page.goto(f"{BASE}/timeline/patients/{picks['recovery']}/")
    expect(page.get_by_role("heading", name="Timeline", exact=True)).to_be_visible()
    scroll_to_top(page.locator(".timeline-filters"))
    shoot(page, "timeline.png")
    page.goto(f"{BASE}/measures/patient/{picks['trend']}/")
    scroll_to_top(page.locator(".trends"))
    page.wait_for_function("document.querySelector('canvas[data-trend]')?.width > 0")
    shoot(page, "measures-trend.png")
    page.context.close()


def photograph_continuing(browser: Browser, picks: dict[str, Any]) -> None:
    """The Discharge tab with readiness, a signed discharge summary, the alumni coordinator's
    follow-ups due, the director's reports dashboard, a report and the TEDS page (issue 7)."""
    missing = [k for k, v in picks.items() if v is None]
    if missing:
        sys.exit(f"The demo lacks what these screenshots need: {', '.join(missing)}.")
    page = signed_in_page(browser, picks["readiness_clinician"])
    page.goto(f"{BASE}/discharge/patients/{picks['readiness']}/")
    expect(page.get_by_role("heading", name="Discharge readiness")).to_be_visible()
    shoot(page, "discharge-readiness.png")
    page.context.close()

    page = signed_in_page(browser, "director@example.org")
    page.goto(f"{BASE}/discharge/summaries/{picks['summary']}/")
    expect(page.get_by_text("The summary is locked")).to_be_visible()
    shoot(page, "discharge-summary.png")
    page.goto(f"{BASE}/reports/")
    page.wait_for_function("document.querySelector('canvas')?.width > 0")
    shoot(page, "reports-dashboard.png")
    page.goto(f"{BASE}/reports/r/completion/")
    page.wait_for_function("document.querySelector('canvas')?.width > 0")
    shoot(page, "report-completion.png")
    page.goto(f"{BASE}/reports/teds/")
    shoot(page, "teds.png")
    page.context.close()

    page = signed_in_page(browser, "alumni@example.org")
    page.goto(f"{BASE}/discharge/followups/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Follow-ups")
    shoot(page, "followups-due.png")
    page.context.close()


def main() -> None:
    if not CHROMIUM.exists():
        sys.exit("Debian's chromium is not installed: apt-get install chromium")
    OUT.mkdir(parents=True, exist_ok=True)
    remove_database()
    try:
        manage("migrate", "--noinput", "--verbosity", "0")
        manage("load_demo")
        patients = plan_patients()
        picks = schedule_picks()
        documentation = documentation_picks()
        continuing = continuing_picks()
        with server(), sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                headless=True, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            try:
                print(f"Screenshots of {BASE}:")
                photograph(browser)
                photograph_plans(browser, patients)
                photograph_schedule(browser, picks)
                photograph_documentation(browser, documentation)
                photograph_continuing(browser, continuing)
            finally:
                browser.close()
    finally:
        remove_database()


if __name__ == "__main__":
    main()
