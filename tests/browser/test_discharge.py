"""Browser journey: a counselor discharges a patient to a step-down from the Discharge tab,
completes and signs the summary, and the alumni coordinator finds the person on the
follow-ups due list (issue 7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.discharge.models import Discharge, FollowUp
from tests.admissions.factories import program_with_phases
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.scheduling import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_discharge_to_a_step_down_reaches_the_alumni_due_list(
    page: Page,
    url: Callable[[str], str],
    facility: Facility,
    clinician: User,
) -> None:
    program = program_with_phases(facility)
    episode = f.admitted(facility, program, clinician, "Okafor")
    today = timezone.localdate(timezone=facility.zone)
    # In care for 120 days; the last day was 27 days ago, so the 30-day call is due in 3 days.
    episode.admission_date = today - dt.timedelta(days=147)
    episode.save(update_fields=["admission_date"])
    last_day = today - dt.timedelta(days=27)

    sign_in(page, url(""), clinician)
    page.goto(url(f"/discharge/patients/{episode.patient_id}/"))
    expect(page.get_by_role("heading", name="Discharge readiness")).to_be_visible()
    page.get_by_role("link", name="Discharge Test Okafor…").click()

    page.get_by_label("Discharge date").fill(last_day.isoformat())
    page.get_by_label("Completed IOP, stepping down to less care").check()
    page.get_by_label("Alumni program").check()
    page.get_by_label("Program or provider (optional)").fill("Harborlight alumni program")
    page.get_by_label("How to reach them").fill("(555) 010-0142, evenings")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discharge", exact=True).click()

    # The summary, pre-filled with the facts, completed and signed.
    expect(page.get_by_role("heading", name="Sign the summary")).to_be_visible()
    expect(page.get_by_text("TEDS LOS code 34").first).to_be_visible()  # 120 days: 91–120
    page.get_by_label("Course of treatment").fill("Attended the day track; built routines.")
    page.get_by_label("Condition at discharge").fill("Stable, engaged, no use in 30 days.")
    page.get_by_label("Recommendations").fill("Alumni group monthly; meetings three a week.")
    page.get_by_role("button", name="Save the summary").click()
    page.get_by_label("Your password").fill(PASSWORD)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign the summary").click()
    expect(page.get_by_text("The summary is locked")).to_be_visible()

    discharge = Discharge.objects.get(episode=episode)
    assert discharge.is_signed and discharge.step_down == "alumni" and discharge.reason == 1
    assert discharge.discharge_date == last_day
    assert FollowUp.objects.filter(episode=episode).count() == 5

    # The alumni coordinator's list: due in three days.
    page.context.clear_cookies()
    coordinator = UserFactory.create(role=Role.ALUMNI_COORDINATOR, facilities=[facility])
    sign_in(page, url(""), coordinator)
    page.get_by_role("link", name="Follow-ups due").click()
    row = page.get_by_role("row").filter(has_text="Okafor")
    expect(row).to_contain_text("30-day")
    expect(row).to_contain_text("Alumni program")
    row.get_by_role("link", name="Open").click()
    expect(page.get_by_text("(555) 010-0142, evenings").first).to_be_visible()
