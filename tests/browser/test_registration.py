"""Admissions registers people through the form: the chart, the duplicate warning, bad input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.accounts.models import User
from openiop.patients.models import Patient
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def fill_registration(page: Page, *, first: str, last: str, born: dt.date) -> None:
    page.get_by_label("Legal first name").fill(first)
    page.get_by_label("Legal last name").fill(last)
    page.get_by_label("Date of birth").fill(born.isoformat())
    page.get_by_label("Sex at birth").select_option(label="Female")
    page.get_by_label("Pronouns").fill("she/her")
    contact = page.get_by_role("group", name="Contact", exact=True)
    contact.get_by_label("Phone").fill("(951) 555-0123")


def test_admissions_registers_a_patient_and_is_warned_about_a_likely_duplicate(
    page: Page, url: Callable[[str], str], admissions: User
) -> None:
    born = dt.date(1988, 7, 3)
    sign_in(page, url(""), admissions)

    page.goto(url("/patients/"))
    page.get_by_role("link", name="Register a patient").click()
    expect(page.get_by_role("heading", name="Register a patient")).to_be_visible()
    fill_registration(page, first="Marisol", last="Okonkwo", born=born)
    page.get_by_role("button", name="Register").click()

    header = page.get_by_role("region", name="Patient")
    expect(header.get_by_role("heading", level=1)).to_contain_text("Marisol Okonkwo")
    first = Patient.objects.get()  # only once the chart shows: the save is done
    expect(page.get_by_role("status")).to_contain_text(
        f"Marisol Okonkwo is registered with MRN {first.mrn}."
    )
    expect(header).to_contain_text(f"MRN {first.mrn}")
    expect(header).to_contain_text("Born 07/03/1988")

    # The same person again, the last name misspelled.
    page.goto(url("/patients/new/"))
    fill_registration(page, first="Marisol", last="Okonkwoh", born=born)
    page.get_by_role("button", name="Register").click()

    warning = page.locator(".alert.warning")
    expect(warning).to_contain_text("This may be someone already registered.")
    expect(warning.get_by_role("link", name="Marisol Okonkwo")).to_be_visible()
    expect(warning).to_contain_text(f"MRN {first.mrn}")
    assert Patient.objects.count() == 1

    confirm = page.get_by_label("I checked: this is a different person")
    expect(confirm).not_to_be_checked()
    # What was typed is still there; only the confirmation is new.
    expect(page.get_by_label("Legal last name")).to_have_value("Okonkwoh")
    confirm.check()
    page.get_by_role("button", name="Register").click()

    header = page.get_by_role("region", name="Patient")
    expect(header.get_by_role("heading", level=1)).to_contain_text("Marisol Okonkwoh")
    second = Patient.objects.exclude(pk=first.pk).get()
    expect(header).to_contain_text(f"MRN {second.mrn}")
    assert page.url == url(f"/patients/{second.pk}/")


def test_a_birth_date_in_the_future_is_refused_and_nothing_is_saved(
    page: Page, url: Callable[[str], str], admissions: User
) -> None:
    sign_in(page, url(""), admissions)
    page.goto(url("/patients/new/"))
    next_year = timezone.localdate() + dt.timedelta(days=366)
    fill_registration(page, first="Tobias", last="Ferreira", born=next_year)
    page.get_by_role("button", name="Register").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Nothing was saved.")
    expect(summary).to_be_focused()
    birth_date = page.get_by_label("Date of birth")
    expect(birth_date).to_have_attribute("aria-invalid", "true")
    # The message is shown next to the field and read out with it (aria-describedby).
    message = "The date of birth cannot be in the future."
    expect(page.locator(".errorlist", has_text=message)).to_be_visible()
    expect(birth_date).to_have_accessible_description(message)
    expect(page.get_by_label("Legal first name")).to_have_value("Tobias")
    assert page.url == url("/patients/new/")
    assert not Patient.objects.exists()
