"""Browser journeys: Debian's Chromium driven by Playwright against pytest-django's live server.

Chromium comes from Debian (``apt-get install chromium``), never from ``playwright install``.
Without it every browser test is skipped with the reason, unless OPENIOP_REQUIRE_BROWSER=1
(CI) makes its absence a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from openiop.accounts.models import User
from tests.factories import PASSWORD

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
MISSING = "Debian's chromium is not installed: apt-get install chromium"


# --- the live server's flush may empty the audit trail ---------------------------------------
#
# Transactional (live_server) tests end with a flush; tests/conftest.py runs it as an
# audit retention purge, since the audit triggers refuse DELETE and TRUNCATE otherwise.


# --- Chromium -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test process (each xdist worker starts its own)."""
    if not CHROMIUM.exists():
        if os.environ.get("OPENIOP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"OPENIOP_REQUIRE_BROWSER=1 but {MISSING}", pytrace=False)
        pytest.skip(MISSING)
    # Playwright's sync API keeps an asyncio event loop in this thread, so Django's guard
    # against ORM calls from async code would refuse the factories and assertions of every
    # journey. Only while Playwright runs: the rest of the suite keeps the guard.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                headless=True, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: no cookies or storage carried from one journey to the next."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    ctx.set_default_timeout(5_000)  # a missing element fails in seconds, not half a minute
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def url(live_server: Any) -> Callable[[str], str]:
    """``url("/patients/")`` is that path on the live server."""

    def make(path: str) -> str:
        return f"{live_server.url}{path}"

    return make


def sign_in(page: Page, base_url: str, user: User) -> None:
    """Sign in through allauth's form, as a person would, and land on the home page."""
    page.goto(f"{base_url}/accounts/login/")
    page.locator('input[name="login"]').fill(user.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good to see you")
