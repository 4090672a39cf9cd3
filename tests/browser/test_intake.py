"""Browser journey: a person asks for help; admissions works the card and screens the person."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import Facility, User
from openiop.intake.models import Inquiry, Screening
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("OPENIOP_SCREENSHOTS_DIR", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_a_help_request_reaches_the_board_and_is_screened(
    page: Page,
    url: Callable[[str], str],
    facility: Facility,
    admissions: User,
) -> None:
    # The person, without signing in.
    page.goto(url("/get-help/"))
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    page.get_by_label("First name").fill("Avery")
    page.get_by_label("Last name").fill("Solano")
    page.get_by_label("Phone").fill("951-555-0142")
    page.get_by_label("Alcohol or drugs").check()
    page.get_by_label("Best time to call").select_option(label="Evening (5 pm – 8 pm)")
    shot(page, "get-help")
    page.get_by_label("You may call, text or e-mail me about this request.").check()
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for reaching out")
    expect(page.locator("main")).not_to_contain_text("Avery")
    shot(page, "thanks")
    inquiry = Inquiry.objects.get()

    # Admissions: the card on the board, moved with the keyboard-friendly select.
    sign_in(page, url(""), admissions)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admissions").click()
    card = page.locator(".inquiry-card", has_text="Avery S.")
    expect(card).to_be_visible()
    shot(page, "board")
    card.get_by_label("Move Avery S. to…").select_option(label="Contacted")
    card.get_by_role("button", name="Move").click()
    expect(page.locator(".messages")).to_contain_text("Avery S. moved to Contacted")

    # Screening with an imminent-risk answer.
    page.goto(url(f"/inquiries/{inquiry.pk}/screening/"))
    page.get_by_role("group", name="Withdrawal scale").get_by_label(
        "CIWA-Ar (alcohol), 0–67"
    ).check()
    page.get_by_label("Withdrawal scale total").fill("9")
    for number in range(1, 7):
        group = page.get_by_role("group", name=f"{number}.")
        group.get_by_label("Yes" if number == 4 else "No").check()
    page.get_by_label("Living situation").select_option(label="With family")
    page.get_by_role("group", name="Has a support system").get_by_label("Yes").check()
    page.get_by_label("Motivation").select_option(label="Wants sobriety")
    page.get_by_role("group", name="Which track").get_by_label("Evening track").check()
    page.get_by_role("group", name="Needs 24-hour supervision?").get_by_label("No").check()
    page.get_by_role("group", name="Medical or psychiatric instability").get_by_label("No").check()
    page.get_by_role("button", name="Check the recommendation").click()
    expect(page.locator(".urgent-box")).to_contain_text("Do not end the call")
    assert not Screening.objects.exists()
    shot(page, "screening-check")
    page.get_by_role("button", name="Save screening").click()
    expect(page.locator(".urgent-box")).to_contain_text("988 Suicide & Crisis Lifeline")
    shot(page, "inquiry")
    assert Screening.objects.get().urgent
