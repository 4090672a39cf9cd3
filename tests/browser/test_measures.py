"""Browser journey: a clinician gives a PHQ-9 with the keyboard and a mouse, sees the
suicide-risk alert in the chart header, and acknowledges it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import User
from openiop.measures.models import Administration
from openiop.patients.models import ClinicalAlert, Patient
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_clinician_gives_a_phq9_and_acknowledges_the_suicide_alert(
    page: Page,
    url: Callable[[str], str],
    clinician: User,
    patient: Patient,
) -> None:
    sign_in(page, url(""), clinician)
    page.goto(url(f"/measures/patient/{patient.pk}/"))
    expect(page.get_by_text("No instruments given yet.")).to_be_visible()
    page.get_by_role("link", name="Give PHQ-9").click()
    expect(page.get_by_role("heading", name="Patient Health Questionnaire (PHQ-9)")).to_be_visible()

    # Question 1 by keyboard: focus the first answer, arrow to "More than half the days".
    first = page.get_by_role("group", name="1. Little interest or pleasure in doing things")
    first.get_by_role("radio", name="Not at all (0)").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(first.get_by_role("radio", name="More than half the days (2)")).to_be_checked()
    for n in range(2, 9):
        page.locator(f'input[name="item_{n}"][value="1"]').check()
    page.locator('input[name="item_9"][value="1"]').check()
    page.get_by_role("button", name="Save and score").click()

    expect(page.get_by_text("PHQ-9 saved: 10 · moderate.")).to_be_visible()
    header = page.get_by_role("region", name="Patient")
    alert = header.get_by_role("alert")
    expect(alert).to_contain_text("Suicide risk")
    expect(alert).to_contain_text("Complete a full suicide risk assessment and safety plan")
    a = Administration.objects.get()
    assert (a.total, a.band, a.flags) == (10, "moderate", ["suicide_risk"])

    alert.get_by_text("Acknowledge and record the action taken").click()
    alert.get_by_label("Action taken").fill("Safety plan completed with the patient today")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Alert acknowledged.")).to_be_visible()
    expect(header.get_by_role("alert")).to_have_count(0)
    assert ClinicalAlert.objects.get().acknowledged_by == clinician
