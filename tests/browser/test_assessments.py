"""The clinician's journey: rate ASAM with the live recommendation, sign; a biopsychosocial
section saves itself when a field is left."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import User
from openiop.assessments.models import AsamAssessment, Biopsychosocial, Status
from openiop.patients.models import Patient
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("OPENIOP_SCREENSHOTS", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_a_clinician_rates_asam_sees_the_recommendation_live_and_signs(
    page: Page, url: Callable[[str], str], clinician: User, patient: Patient
) -> None:
    sign_in(page, url(""), clinician)
    page.goto(url(f"/assessments/patient/{patient.pk}/"))
    page.get_by_role("link", name="New ASAM assessment").click()
    box = page.locator("#recommendation")
    expect(box).to_contain_text("Rate all six dimensions")
    ratings = {1: "1", 2: "0", 3: "2", 4: "2", 5: "3", 6: "1"}
    for d, value in ratings.items():
        group = page.get_by_role("group", name=f"Dimension {d}:")
        group.get_by_label(value, exact=False).first.check()
        page.get_by_label(f"Why {d}? (rationale)").fill(f"Synthetic reason {d}.")
    expect(page.locator("#recommendation")).to_contain_text("Intensive outpatient (2.1)")
    page.get_by_role("group", name="Dimension 3:").get_by_label("3", exact=False).first.check()
    expect(page.locator("#recommendation")).to_contain_text("Partial hospitalization (2.5)")
    page.get_by_label("Final level of care").select_option("2.1")
    expect(page.locator("#recommendation")).to_contain_text("differs from the recommendation")
    page.get_by_label("Reason for a different level").fill("PHP waitlist; IOP with weekly MD.")
    shot(page, "asam-form")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("saved as a draft")
    page.get_by_label("Your password").fill(PASSWORD)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_role("status")).to_contain_text("Signed")
    shot(page, "asam-detail")
    assessment = AsamAssessment.objects.get()
    assert assessment.status == Status.SIGNED and assessment.final_level == "2.1"
    assert assessment.recommendation == "2.5" and assessment.is_override


def test_a_biopsychosocial_section_saves_as_the_clinician_types(
    page: Page, url: Callable[[str], str], clinician: User, patient: Patient, settings: Any
) -> None:
    sign_in(page, url(""), clinician)
    page.goto(url(f"/assessments/patient/{patient.pk}/"))
    page.get_by_role("button", name="New biopsychosocial assessment").click()
    expect(page.get_by_role("heading", name="Housing", exact=True)).to_be_visible()
    housing = page.locator("#housing")
    housing.get_by_label("Housing").fill("Lives with a cousin; needs own place by summer.")
    housing.get_by_label("Housing").blur()
    expect(page.locator("#status-housing")).to_contain_text("Saved at")
    medical = page.locator("#medical")
    medical.get_by_label("Pulse").fill("400")
    medical.get_by_label("Pulse").blur()
    expect(page.locator("#status-medical")).to_contain_text("Pulse must be between 30 and 220")
    diagnoses = page.locator("#diagnoses")
    diagnoses.get_by_label("Find a code in the list").fill("opioid dependence uncomplicated")
    page.get_by_role("button", name="F11.20").click()
    expect(page.locator("#status-diagnoses")).to_contain_text("F11.20 — Opioid dependence")
    shot(page, "bps-edit")
    assessment = Biopsychosocial.objects.get()
    assert assessment.housing.startswith("Lives with a cousin")
    assert assessment.pulse is None
    assert [d.code for d in assessment.diagnoses.all()] == ["F11.20"]
