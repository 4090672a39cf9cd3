"""Browser journey: a facilitator records a whole group's attendance on one screen and the
patient's week on the chart changes with it (issue 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import Facility, User
from openiop.scheduling import services
from tests.admissions.factories import program_with_phases
from tests.browser.conftest import sign_in
from tests.scheduling import factories as f
from tests.scheduling.factories import MONDAY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def record(page: Page, url: Callable[[str], str], session_pk: int, absent: int | None) -> None:
    page.goto(url(f"/schedule/session/{session_pk}/attendance/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Attendance: Process group")
    if absent is not None:
        page.locator(f"#row-{absent}").get_by_label("Attendance").select_option(
            label="Unexcused absence"
        )
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance saved")).to_be_visible()


def test_a_whole_group_is_recorded_and_the_patients_week_changes(
    page: Page,
    url: Callable[[str], str],
    facility: Facility,
    director: User,
    clinician: User,
) -> None:
    program = program_with_phases(facility)
    schedule = f.schedule(
        director, f.group(director, program), clinician, where=f.room(director, facility)
    )
    ana = f.admitted(facility, program, clinician, "Abara")
    ben = f.admitted(facility, program, clinician, "Brook")
    for episode in (ana, ben):
        services.enroll(actor=clinician, episode=episode, schedule=schedule, start_date=MONDAY)
    sign_in(page, url(""), clinician)
    week = url(f"/schedule/patient/{ana.patient_id}/?week={MONDAY.isoformat()}")

    # Monday: Ana came, Ben did not. Her week has one service day and is below the minimum.
    record(page, url, f.session_on(schedule, MONDAY).pk, absent=ben.patient_id)
    page.goto(week)
    status = page.locator(".week-status")
    expect(status).to_contain_text("Below the minimum")
    expect(status).to_contain_text("3 h over 1 service day")

    # Wednesday and Friday, everyone came: her week now meets the minimum.
    for day in (MONDAY + dt.timedelta(days=2), MONDAY + dt.timedelta(days=4)):
        record(page, url, f.session_on(schedule, day).pk, absent=None)
    page.goto(week)
    expect(status).to_contain_text("Meets the minimum")
    expect(status).to_contain_text("9 h over 3 service days")
    days = page.get_by_role("table", name="Minutes attended each day of the week")
    expect(days.get_by_text("service day")).to_have_count(3)
