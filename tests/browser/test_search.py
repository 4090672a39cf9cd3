"""A clinician finds a patient of their caseload by part of the name and opens the chart."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import Facility, User
from openiop.patients.models import Patient
from tests.browser.conftest import sign_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.browser


def test_a_clinician_finds_a_patient_by_part_of_the_last_name_and_opens_the_chart(
    page: Page,
    url: Callable[[str], str],
    clinician: User,
    facility: Facility,
    patient: Patient,
    outside_patient: Patient,
) -> None:
    # Same facility and a name that matches the search too, but not on the caseload.
    PatientFactory(facility=facility, first_name="Lee", last_name="Quinlan")
    sign_in(page, url(""), clinician)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()
    search = page.get_by_role("searchbox", name="Find a patient")
    expect(search).to_be_focused()
    search.press_sequentially("Quin")

    results = page.locator("#results")
    expect(results.get_by_role("heading", level=2)).to_have_text("1 found")
    table = results.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and Dana
    expect(table).to_contain_text("Quintero, Dana")
    expect(table).to_contain_text(patient.mrn)
    expect(results).not_to_contain_text("Quinlan")
    expect(results).not_to_contain_text(outside_patient.last_name)

    table.get_by_role("link", name="Quintero, Dana").click()
    header = page.get_by_role("region", name="Patient")
    expect(header.get_by_role("heading", level=1)).to_contain_text("Dana Quintero")
    expect(header.locator("h1 .pill")).to_have_text("she/her")
    expect(header).to_contain_text(f"MRN {patient.mrn}")
    assert page.url == url(f"/patients/{patient.pk}/")
