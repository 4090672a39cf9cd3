"""Browser journey of issue 4: a clinician writes the treatment plan with an admitted person.

The clinician opens the chart's Treatment plan tab, starts the plan, takes a problem from the
plan library and makes it the person's own (the goal in their words, the objective that fits,
a realistic date), adds an objective of their own with its service, collects the patient's
typed signature and signs with their password. The signed version is active and locked. Then
the relapse-prevention plan is written with the person and its pocket card printed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient, SupportContact
from openiop.plans import services
from openiop.plans.forms import OWN_WORDS_REQUIRED
from openiop.plans.models import (
    Objective,
    PlanVersion,
    Problem,
    RelapsePreventionPlan,
    Signature,
)
from tests.admissions.factories import episode as make_episode
from tests.admissions.factories import program_with_phases
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, SupportContactFactory

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("OPENIOP_SCREENSHOTS_DIR", "")

LIBRARY_ENTRY = "Continued alcohol or drug use"
# The entry's title is visually hidden after "Use this" (Chromium names it "Use this : …").
USE_ENTRY = re.compile(rf"^Use this\s*: {LIBRARY_ENTRY}$")
OWN_WORDS = "I want to be sober when my son comes home for the holidays."
OWN_OBJECTIVE = "Go to 2 mutual-help meetings a week and tell the group about them."


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/plans-{name}.png", full_page=True)


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    """Dana Quintero, admitted to the clinician's program (the clinician signs alone)."""
    assert not clinician.needs_cosign
    return make_episode(patient, program_with_phases(patient.facility), clinician)


@pytest.fixture
def sister(patient: Patient) -> SupportContact:
    return SupportContactFactory.create(
        patient=patient, name="Marisol Quintero", relationship="sister", phone="951-555-0188"
    )


def open_plan_tab(page: Page, patient: Patient) -> None:
    """From the home page to the chart's Treatment plan tab, as a clinician would."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name=f"{patient.last_name}, {patient.first_name}").click()
    page.get_by_role("navigation", name="Chart sections").get_by_role(
        "link", name="Treatment plan"
    ).click()


def test_a_clinician_writes_signs_and_locks_a_plan_then_prints_the_pocket_card(
    page: Page,
    url: Callable[[str], str],
    clinician: User,
    patient: Patient,
    episode: EpisodeOfCare,
    sister: SupportContact,
) -> None:
    today = timezone.localdate(timezone=patient.facility.zone)
    keep_by = today + dt.timedelta(weeks=5)
    own_by = today + dt.timedelta(weeks=8)
    sign_in(page, url(""), clinician)

    # 1. The tab offers to start the plan; starting opens the draft editor.
    open_plan_tab(page, patient)
    expect(page.get_by_role("heading", name="No treatment plan yet")).to_be_visible()
    page.get_by_role("button", name="Start the treatment plan").click()
    expect(page.get_by_role("status")).to_contain_text("The treatment plan is started.")
    expect(page.get_by_role("heading", level=2)).to_contain_text("Treatment plan, version 1")

    # 2. A problem from the library, made the person's own: their words for the goal, the
    # first objective kept with a later date, the others left out, one service kept.
    page.get_by_role("link", name="Add from the library").click()
    expect(page.get_by_role("heading", name="Add a problem from the library")).to_be_visible()
    page.get_by_role("link", name=USE_ENTRY).click()
    expect(page.get_by_role("heading", level=2)).to_have_text(f"From the library: {LIBRARY_ENTRY}")
    goal = page.get_by_label("Goal in the patient's own words")
    expect(goal).to_have_value("")  # the library's example is only a hint
    goal.fill(OWN_WORDS)
    expect(page.get_by_label("Use objective 1")).to_be_checked()
    page.get_by_label("Target date of objective 1").fill(keep_by.isoformat())
    page.get_by_label("Use objective 2").uncheck()
    page.get_by_label("Use objective 3").uncheck()
    expect(page.get_by_label("Serves (1)")).to_have_value("1")
    page.get_by_label("Use intervention 2").uncheck()
    page.get_by_label("Use intervention 3").uncheck()
    page.get_by_label("Responsible staff (1)").select_option(
        label=f"{clinician.display_name} ({clinician.role_label})"
    )
    shot(page, "1-library-add")
    page.get_by_role("button", name="Add to the plan").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"“{LIBRARY_ENTRY}” is added to the plan, in the person's words."
    )
    problem = page.locator(".plan-problem").first
    expect(problem.locator("blockquote.own-words")).to_have_text(f"“{OWN_WORDS}”")
    expect(problem.locator(".plan-objective")).to_have_count(1)
    expect(problem).to_contain_text(f"Target date {keep_by:%m/%d/%Y}")
    expect(problem).to_contain_text("Responsible: " + clinician.display_name)

    # 3. An objective of their own: the page asks for its service before it can be signed.
    problem.get_by_role("link", name="Add an objective").click()
    page.get_by_label("Measurable objective").fill(OWN_OBJECTIVE)
    page.get_by_label("Target date").fill(own_by.isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The objective is added.")
    signing = page.get_by_role("region", name="Signing")
    expect(signing).to_contain_text("needs at least one intervention")
    mine = page.locator(".plan-objective", has_text=OWN_OBJECTIVE)
    mine.get_by_role("link", name="Add an intervention").click()
    page.get_by_label("Kind of service").select_option(label="Mutual-help meetings")
    page.get_by_label("What it is").fill("Find a home group with the counselor's meeting list.")
    page.get_by_label("How often").fill("Weekly")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The intervention is added.")
    expect(signing).to_contain_text("Ready to sign")
    shot(page, "2-draft")

    # 4. Signatures: the patient types their name and attests, the clinician re-enters the
    # password. The first signature already locks the version.
    signing.get_by_role("link", name="Ready to sign").click()
    expect(page.get_by_role("heading", name="Patient signature")).to_be_visible()
    page.get_by_label("Patient's full name, typed by the patient").fill("Dana Quintero")
    page.get_by_label("I took part in writing this plan and I agree with it.").check()
    page.get_by_role("button", name="Save the patient's signature").click()
    expect(page.get_by_role("status")).to_contain_text("Patient signature saved.")
    expect(page.get_by_role("heading", name="Patient signature")).to_have_count(0)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign as the clinician").click()
    saved = page.get_by_role("status").filter(has_text="Clinician signature saved.")
    expect(saved).to_contain_text("The plan is active.")
    expect(
        page.get_by_role("status").filter(has_text="Every required signature is present")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Sign as the clinician")).to_have_count(0)
    signed = page.get_by_role("region", name="Who has signed")
    expect(signed.get_by_role("row")).to_have_count(3)  # the header and two signatures
    expect(signed).to_contain_text("Dana Quintero")
    expect(signed).to_contain_text(clinician.display_name)
    shot(page, "3-signed")

    # 5. The signed version is active and locked: no editing left anywhere on it.
    page.get_by_role("link", name="Back to the plan").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("Active")
    expect(page.get_by_role("note")).to_contain_text("Signed versions are locked")
    for name in ("Add a problem", "Add from the library", "Edit the goal", "Add an objective"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit", exact=False)).to_have_count(0)
    page.get_by_role("link", name="Back to the treatment plan").click()
    status = page.get_by_role("region", name="Status")
    # No date here: the tab prints activated_at in UTC, not the facility's zone (reported).
    expect(status).to_contain_text("Active Version 1 is in force since")
    expect(page.get_by_role("link", name="Edit the draft")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign", exact=True)).to_have_count(0)
    expect(page.locator(".golden-thread")).to_have_text(["No services linked yet"] * 2)

    # 6. The relapse-prevention plan, in the person's words, with their sister on the card.
    status.get_by_role("link", name="Relapse-prevention plan").click()
    expect(page.get_by_role("heading", name="Relapse-prevention plan")).to_be_visible()
    expect(page.get_by_role("link", name="Print the pocket card")).to_have_count(0)
    page.get_by_label("People", exact=True).fill("My old drinking buddies from work")
    page.get_by_label("Places", exact=True).fill("The bar on 5th Street")
    page.get_by_label("Feelings", exact=True).fill("Lonely on Sunday nights")
    page.get_by_label("Situations", exact=True).fill("Payday")
    page.get_by_label("Signs I am heading toward a relapse").fill("Skipping group, not sleeping")
    page.get_by_label("Things I will do instead").fill("Call my sponsor\nGo for a run")
    page.get_by_label("Why I want to stay in recovery").fill("My son and my job")
    page.get_by_label("What I will do after a slip").fill("Tell my counselor the same day")
    page.get_by_label("Marisol Quintero (sister) — 951-555-0188").check()
    expect(page.get_by_label("Crisis lines and emergency help")).to_contain_text("988")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_role("status")).to_contain_text("Relapse-prevention plan saved.")
    expect(page.get_by_label("Places", exact=True)).to_have_value("The bar on 5th Street")
    shot(page, "4-relapse")

    # 7. The pocket card, fetched with the clinician's session: a PDF.
    card = page.get_by_role("link", name="Print the pocket card")
    href = card.get_attribute("href")
    assert href is not None
    response = page.request.get(url(href))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    version = PlanVersion.objects.get()
    assert version.status == PlanVersion.Status.ACTIVE and version.is_locked
    assert sorted(version.signatures.values_list("role", "method")) == [
        (Signature.Role.CLINICIAN, Signature.Method.PASSWORD),
        (Signature.Role.PATIENT, Signature.Method.TYPED),
    ]
    objectives = Objective.objects.filter(goal__problem__version=version).order_by("order")
    assert [(o.target_date, o.interventions.count()) for o in objectives] == [
        (keep_by, 1),
        (own_by, 1),
    ]
    assert version.problems.get().goals.get().own_words == OWN_WORDS
    relapse = RelapsePreventionPlan.objects.get(episode=episode)
    assert relapse.triggers_places == "The bar on 5th Street"
    assert list(relapse.support_contacts.all()) == [sister]


def test_a_library_problem_without_the_patients_own_words_is_refused_and_nothing_is_saved(
    page: Page,
    url: Callable[[str], str],
    clinician: User,
    patient: Patient,
    episode: EpisodeOfCare,
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    sign_in(page, url(""), clinician)
    page.goto(url(f"/plans/patient/{patient.pk}/version/{version.pk}/"))
    page.get_by_role("link", name="Add from the library").click()
    page.get_by_role("link", name=USE_ENTRY).click()
    page.get_by_label("Use objective 2").uncheck()
    statement = page.get_by_role("textbox", name=re.compile(r"^Problem\b"))
    statement.fill("Drinks every night after work.")
    page.get_by_role("button", name="Add to the plan").click()

    expect(page.get_by_role("alert").filter(has_text="Nothing was saved.")).to_be_visible()
    goal = page.get_by_label("Goal in the patient's own words")
    expect(goal).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".own-words-field .errorlist")).to_have_text(OWN_WORDS_REQUIRED)
    # What was typed or unticked stays as it was, to correct and send again.
    expect(statement).to_have_value("Drinks every night after work.")
    expect(page.get_by_label("Use objective 2")).not_to_be_checked()
    assert not Problem.objects.filter(version=version).exists()
