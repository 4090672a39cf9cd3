"""Break the glass: a clinician opens a chart outside their scope and is told it is recorded."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import Facility, User
from openiop.patients.models import BreakGlassGrant, Patient
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

REASON = "Crisis call: the patient says they took too many pills, counselor is away."


def test_a_clinician_uses_emergency_access_and_sees_the_red_banner_on_the_chart(
    page: Page,
    url: Callable[[str], str],
    clinician: User,
    other_facility: Facility,
    outside_patient: Patient,
) -> None:
    sign_in(page, url(""), clinician)
    response = page.goto(url(f"/patients/{outside_patient.pk}/"))
    assert response is not None
    assert response.status == 404

    page.goto(url("/patients/"))
    page.get_by_role("link", name="Emergency access").click()
    expect(page.get_by_role("heading", name="Emergency access to a chart")).to_be_visible()
    page.get_by_label("Facility").select_option(label=other_facility.name)
    page.get_by_label("Medical record number").fill(outside_patient.mrn)
    page.get_by_label("Why do you need this chart now?").fill(REASON)
    page.get_by_label("I understand this access is recorded and reviewed.").check()
    page.get_by_role("button", name="Open the chart").click()

    header = page.get_by_role("region", name="Patient")
    expect(header.get_by_role("heading", level=1)).to_contain_text("Rowan Ibarra")
    banner = header.get_by_role("alert")
    expect(banner).to_contain_text("Emergency access until")
    expect(banner).to_contain_text("Everything you open is recorded for review.")
    expect(banner).to_have_class(re.compile(r"\bdanger\b"))
    expect(banner).to_have_css("border-top-color", "rgb(163, 35, 27)")  # --danger
    expect(banner).to_have_css("background-color", "rgb(251, 234, 234)")  # --danger-bg
    assert page.url == url(f"/patients/{outside_patient.pk}/")
    grant = BreakGlassGrant.objects.get()
    assert (grant.user, grant.patient, grant.reason) == (clinician, outside_patient, REASON)
