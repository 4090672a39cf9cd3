"""Signing in with the keyboard alone: the skip link first, then Tab and Enter."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from openiop.accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def tab_to(page: Page, target: Locator, *, limit: int = 6) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{limit} presses of Tab did not reach {target}")


def test_the_sign_in_form_is_completed_with_tab_and_enter_only(
    page: Page, url: Callable[[str], str], clinician: User
) -> None:
    page.goto(url("/accounts/login/"))

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown when focused, hidden otherwise
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    email = page.get_by_role("textbox", name="Email")
    tab_to(page, email)
    page.keyboard.type(clinician.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Good to see you, {clinician.first_name}"
    )
    assert page.url == url("/")
