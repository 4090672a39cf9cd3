"""Browser journey of issue 3: from the public help form to an admitted patient.

A person asks for help on the public page; admissions reads the notice, reaches the person,
screens them (IOP appropriate), registers them and books the assessment; the clinical director
signs the ASAM and biopsychosocial assessments; admissions admits them to the evening track,
the TEDS substance fields and the payer already filled in. Each staff member works in their own
browser profile, only through the pages (the fixtures set up the facility, program and staff).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.intake.models import Inquiry, Stage
from openiop.patients.models import Patient
from tests.admissions.factories import program_with_phases
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("OPENIOP_SCREENSHOTS_DIR", "")

# The person (synthetic).
FIRST, LAST = "Rosalind", "Achterberg"
PHONE = "(951) 555-0163"
EMAIL = "rosalind.achterberg@example.org"
PAYER, MEMBER_ID = "Harbor Health Plan", "HHP-0042-7781"
SHORT = f"{FIRST} {LAST[0]}."


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/journey-{name}.png", full_page=True)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility, name="Adult IOP")


@contextmanager
def signed_in_page(browser: Browser, base_url: str, user: User) -> Iterator[Page]:
    """A staff member on their own device: a fresh browser profile, signed in."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(5_000)
    try:
        page = context.new_page()
        sign_in(page, base_url, user)
        yield page
    finally:
        context.close()


def expect_stage(page: Page, label: str) -> None:
    """The inquiry page's heading shows the stage as a pill."""
    expect(page.get_by_role("heading", level=1).locator(".pill").first).to_have_text(label)


def ask_for_help(page: Page, url: Callable[[str], str]) -> None:
    page.goto(url("/get-help/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask for help")
    page.get_by_label("First name").fill(FIRST)
    page.get_by_label("Last name").fill(LAST)
    page.get_by_label("Phone").fill(PHONE)
    page.get_by_label("E-mail", exact=True).fill(EMAIL)
    page.get_by_label("Best time to call").select_option(label="Evening (5 pm – 8 pm)")
    page.get_by_role("group", name="Who needs help?").get_by_label("Me", exact=True).check()
    page.get_by_label("Alcohol or drugs").check()
    page.get_by_label("Insurance (optional)").fill(PAYER)
    page.get_by_label("Member ID (optional)").fill(MEMBER_ID)
    page.get_by_label("Anything you want us to know (optional)").fill(
        "I drink every night and I want to stop. Evenings work, I work days."
    )
    page.get_by_label("You may call, text or e-mail me about this request.").check()
    shot(page, "1-get-help")
    page.get_by_role("button", name="Send my request").click()


def screen_for_iop(page: Page) -> None:
    page.get_by_role("link", name="Screen for IOP fit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Screen {SHORT} for IOP fit")
    page.get_by_role("group", name="Withdrawal scale").get_by_label(
        "CIWA-Ar (alcohol), 0–67"
    ).check()
    page.get_by_label("Withdrawal scale total").fill("6")
    for number in range(1, 7):
        page.get_by_role("group", name=f"{number}.").get_by_label("No", exact=True).check()
    page.get_by_label("Living situation").select_option(label="Stable housing with others")
    page.get_by_label("Motivation").select_option(label="Wants sobriety")
    page.get_by_role("group", name="Has a support system").get_by_label("Yes").check()
    page.get_by_label("Who supports them").fill("Her sister and an AA sponsor")
    page.get_by_role("group", name="Which track").get_by_label("Evening track").check()
    page.get_by_role("group", name="Needs 24-hour supervision?").get_by_label("No").check()
    page.get_by_role("group", name="Medical or psychiatric instability").get_by_label("No").check()
    page.get_by_role("button", name="Check the recommendation").click()
    expect(page.get_by_role("heading", name="Recommendation: IOP appropriate")).to_be_visible()
    expect(page.locator(".urgent-box")).to_have_count(0)
    shot(page, "3-screening")
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_role("status")).to_contain_text("Screening saved: IOP appropriate.")


def sign_asam(page: Page) -> None:
    page.get_by_role("link", name="New ASAM assessment").click()
    expect(page.locator("#recommendation")).to_contain_text("Rate all six dimensions")
    ratings = {1: "1", 2: "0", 3: "2", 4: "2", 5: "3", 6: "1"}
    for d, value in ratings.items():
        group = page.get_by_role("group", name=f"Dimension {d}:")
        group.get_by_label(value, exact=False).first.check()
        page.get_by_label(f"Why {d}? (rationale)").fill(f"Synthetic reason for dimension {d}.")
    expect(page.locator("#recommendation")).to_contain_text("Intensive outpatient (2.1)")
    page.get_by_label("Final level of care").select_option(label="2.1 — Intensive outpatient (IOP)")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("saved as a draft")
    page.get_by_label("Your password").fill(PASSWORD)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_role("status")).to_contain_text("Signed. The ASAM assessment is locked")


def sign_biopsychosocial(page: Page) -> None:
    page.get_by_role("button", name="New biopsychosocial assessment").click()
    expect(page.get_by_role("status")).to_contain_text("Biopsychosocial assessment started")
    primary = page.get_by_role("group", name="Primary substance")
    primary.get_by_label("Substance", exact=True).select_option(label="2 — Alcohol")
    primary.get_by_label("Route", exact=True).select_option(label="1 — Oral")
    primary.get_by_label("Frequency, past month").select_option(label="3 — Daily use")
    primary.get_by_label("Age at first use").fill("16")
    page.locator("#substance_use").get_by_role("button", name="Save this section").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: Substance use.")
    goals = page.locator("#goals")
    goals.get_by_label("Goals, in the person's own words").fill(
        "“I want to be sober for my niece's graduation and keep my job.”"
    )
    goals.get_by_role("button", name="Save this section").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: Goals")
    shot(page, "5-biopsychosocial")
    sign = page.locator("#sign")
    sign.get_by_label("Your password").fill(PASSWORD)
    page.once("dialog", lambda dialog: dialog.accept())
    sign.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Signed. The biopsychosocial assessment is locked"
    )


def test_a_help_request_becomes_an_admitted_patient_on_the_evening_track(
    browser: Browser,
    page: Page,
    url: Callable[[str], str],
    facility: Facility,
    program: Program,
    admissions: User,
    director: User,
    clinician: User,
) -> None:
    base = url("")
    today = timezone.localdate(timezone=facility.zone)

    # 1. The person, without signing in: the thanks page gives nothing of it back.
    ask_for_help(page, url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for reaching out")
    main = page.locator("main")
    for typed in (FIRST, LAST, "555-0163", EMAIL, PAYER, MEMBER_ID, "drink"):
        expect(main).not_to_contain_text(typed)
    assert page.url == url("/get-help/thanks/")
    shot(page, "1-thanks")

    with signed_in_page(browser, base, admissions) as desk:
        # 2. Admissions: the notice in Messages opens the inquiry; the card is on the board.
        nav = desk.get_by_role("navigation", name="Main")
        messages_link = nav.get_by_role("link", name="Messages")
        expect(messages_link).to_contain_text("1")
        nav.get_by_role("link", name="Admissions").click()
        new_column = desk.locator(".board-column", has=desk.locator("#col-new"))
        expect(new_column.locator(".inquiry-card", has_text=SHORT)).to_be_visible()
        messages_link.click()
        notice = desk.get_by_role("button", name="New help request received (web form)")
        expect(notice).not_to_contain_text(FIRST)  # the notice names nobody
        notice.click()
        expect(desk.get_by_role("heading", level=1)).to_contain_text(f"{FIRST} {LAST}")
        expect_stage(desk, "New")
        told = desk.get_by_role("region", name="What they told us")
        expect(told).to_contain_text(f"{PAYER}, member ID {MEMBER_ID}")
        shot(desk, "2-inquiry")

        contact = desk.get_by_role("region", name="Contact attempts")
        contact.get_by_label(re.compile(r"^How\b")).select_option(label="Phone")
        contact.get_by_label("What happened").select_option(label="Reached")
        # By name, not label: the page repeats id_note (stage form) and id_next_follow_up
        # (owner form), so this form's "Note (optional)" label points at the stage form's note.
        contact.locator("textarea[name='note']").fill("Talked 20 minutes; screened on the call.")
        contact.get_by_role("button", name="Log attempt").click()
        expect(desk.get_by_role("status")).to_contain_text("Contact attempt logged.")
        expect_stage(desk, "Contacted")

        screen_for_iop(desk)
        expect_stage(desk, "Screened")
        expect(desk.get_by_role("region", name="Screening for IOP fit")).to_contain_text(
            "IOP appropriate"
        )

        # 3. Registered from the inquiry (name and contact come from it), assessment booked.
        desk.get_by_role("link", name="Register as patient").click()
        expect(desk.get_by_label("Legal first name")).to_have_value(FIRST)
        expect(desk.get_by_label("Legal last name")).to_have_value(LAST)
        desk.get_by_label("Date of birth").fill("1986-04-19")
        desk.get_by_label("Sex at birth").select_option(label="Female")
        desk.get_by_label("Pronouns").fill("she/her")
        desk.get_by_role("button", name="Register").click()
        expect(desk.get_by_role("status")).to_contain_text(f"{FIRST} {LAST} is registered with MRN")
        tomorrow = today + dt.timedelta(days=1)
        desk.get_by_label("Assessment date and time").fill(f"{tomorrow.isoformat()}T10:00")
        desk.get_by_role("button", name="Schedule assessment").click()
        expect(desk.get_by_role("status")).to_contain_text("Assessment scheduled.")
        expect_stage(desk, "Assessment scheduled")
        desk.get_by_role("region", name="In the pipeline").get_by_role(
            "link", name=f"{FIRST} {LAST}"
        ).click()
        header = desk.get_by_role("region", name="Patient")
        expect(header.get_by_role("heading", level=1)).to_contain_text(f"{FIRST} {LAST}")
        expect(header).to_contain_text("Not yet admitted")
        chart_url = desk.url
        patient = Patient.objects.get()
        assert chart_url == url(f"/patients/{patient.pk}/")

        # 4. The clinical director assesses and signs (a clinician sees only their caseload).
        with signed_in_page(browser, base, director) as office:
            office.goto(chart_url)
            tabs = office.get_by_role("navigation", name="Chart sections")
            tabs.get_by_role("link", name="Assessments").click()
            sign_asam(office)
            tabs.get_by_role("link", name="Assessments").click()
            sign_biopsychosocial(office)

        # 5. Admissions finds the card under Assessed and admits: the substances come from the
        # biopsychosocial assessment, the payer from the help request.
        main_nav = desk.get_by_role("navigation", name="Main")
        main_nav.get_by_role("link", name="Admissions").click()
        assessed = desk.locator(".board-column", has=desk.locator("#col-assessed"))
        assessed.get_by_role("link", name=SHORT).click()
        expect_stage(desk, "Assessed")
        desk.get_by_role("region", name="In the pipeline").get_by_role(
            "link", name=f"{FIRST} {LAST}"
        ).click()
        desk.get_by_role("navigation", name="Chart sections").get_by_role(
            "link", name="Admission"
        ).click()
        desk.get_by_role("link", name="Admit to a program").click()
        expect(desk.get_by_role("heading", name="Admit to a program")).to_be_visible()
        known = desk.get_by_role("region", name="What we know already")
        expect(known).to_contain_text("final level 2.1")
        expect(known).to_contain_text("the TEDS substance fields below come from it")
        sub1 = desk.get_by_label("Primary substance (SUB1)")
        expect(sub1.locator("option:checked")).to_have_text("Alcohol")
        expect(desk.get_by_label("Route (ROUTE1)").locator("option:checked")).to_have_text("Oral")
        expect(desk.get_by_label("Frequency (FREQ1)").locator("option:checked")).to_have_text(
            "Daily use"
        )
        expect(desk.get_by_label("Payer", exact=True)).to_have_value(PAYER)
        expect(desk.get_by_label("Member ID", exact=True)).to_have_value(MEMBER_ID)
        desk.get_by_label(re.compile(r"^Program\b")).select_option(label="Adult IOP (2.1)")
        desk.get_by_label("Track", exact=True).select_option(label="Adult IOP — Evening")
        desk.get_by_label("Admission date").fill(today.isoformat())
        desk.get_by_label("Primary clinician").select_option(label=clinician.display_name)
        desk.get_by_label("Referral source (TEDS PSOURCE)").select_option(
            label="Individual (includes self-referral)"
        )
        shot(desk, "6-admit")
        desk.get_by_role("button", name="Admit", exact=True).click()

        # 6. Day 1 in the engagement phase, in treatment; the inquiry is admitted.
        expect(desk.get_by_role("status")).to_contain_text("Admitted to Adult IOP")
        header = desk.get_by_role("region", name="Patient")
        expect(header).to_contain_text("Day 1 in treatment")
        expect(header).to_contain_text("Phase: Engagement")
        expect(header).to_contain_text("Evening")
        expect(header.locator(".status")).to_have_text("In treatment")
        shot(desk, "7-admitted")
        main_nav.get_by_role("link", name="Admissions").click()
        admitted = desk.locator(".board-column", has=desk.locator("#col-admitted"))
        expect(admitted.locator(".inquiry-card", has_text=SHORT)).to_be_visible()

    # The primary clinician now has the person on their caseload.
    with signed_in_page(browser, base, clinician) as room:
        room.goto(chart_url)
        header = room.get_by_role("region", name="Patient")
        expect(header).to_contain_text("Day 1 in treatment")
        expect(header).to_contain_text(f"Primary clinician: {clinician.display_name}")

    inquiry = Inquiry.objects.get()
    patient.refresh_from_db()
    episode = EpisodeOfCare.objects.get()
    assert inquiry.stage == Stage.ADMITTED and inquiry.patient_id == patient.pk
    assert patient.status == Patient.Status.ACTIVE
    assert episode.admission_date == today and episode.asam_level == "2.1"
    assert episode.track is not None and episode.track.kind == "evening"
    assert episode.phase is not None and episode.phase.code == "engagement"
    assert episode.teds_sub1 == 2 and episode.teds_route1 == 1 and episode.teds_freq1 == 3
    assert [(c.payer, c.member_id) for c in episode.coverages.all()] == [(PAYER, MEMBER_ID)]


def test_a_help_request_without_a_way_to_reach_the_person_is_refused_and_kept(
    page: Page, url: Callable[[str], str], facility: Facility
) -> None:
    page.goto(url("/get-help/"))
    page.get_by_label("First name").fill(FIRST)
    page.get_by_label("You may call, text or e-mail me about this request.").check()
    page.get_by_role("button", name="Send my request").click()

    expect(page.get_by_role("alert").filter(has_text="Nothing was sent yet.")).to_be_visible()
    expect(page.locator(".errorlist", has_text="Give a phone number or an e-mail")).to_be_visible()
    expect(page.locator(".errorlist", has_text="Choose at least one")).to_be_visible()
    expect(page.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("First name")).to_have_value(FIRST)
    assert page.url == url("/get-help/")
    assert not Inquiry.objects.exists()
