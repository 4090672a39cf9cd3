"""Browser journey: a facilitator writes a whole session's group note on one screen, signs it
with the password, and each attendee's chart shows their own part only (issue 6)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import Facility, User
from openiop.notes.models import GroupNote
from tests.admissions.factories import program_with_phases
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.plans.factories import active_plan
from tests.scheduling import factories as f
from tests.scheduling.factories import MONDAY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = ("Alvarez", "Baker", "Chen")


def test_a_group_note_is_written_signed_and_each_chart_shows_only_its_own_part(
    page: Page,
    url: Callable[[str], str],
    facility: Facility,
    director: User,
    clinician: User,
) -> None:
    program = program_with_phases(facility)
    schedule = f.schedule(
        director, f.group(director, program), clinician, where=f.room(director, facility)
    )
    episodes = [f.admitted(facility, program, clinician, name) for name in NAMES]
    for episode in episodes:
        f.enrolled(clinician, episode, schedule)
        active_plan(clinician, episode)
    session = f.session_on(schedule, MONDAY)
    f.came(clinician, session, *episodes)

    sign_in(page, url(""), clinician)
    page.goto(url(f"/notes/sessions/{session.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Group note: Process group")

    # The shared part, once; the session is long past, so it is a late entry with a reason.
    page.get_by_label("Topic").fill("Coping with cravings")
    page.get_by_label("Interventions used").fill("Urge surfing; CBT thought record.")
    page.get_by_label("Group process").fill("The group was engaged and supportive.")
    page.get_by_label("Why this note is written late").fill("Charting after the holiday.")

    # Each attendee's part, then one plan copied to everyone.
    for episode in episodes:
        card = page.locator(f"#attendee-{episode.patient_id}")
        name = episode.patient.last_name
        card.get_by_label("Participation").select_option(label="Active and engaged")
        card.get_by_label("Response to the group").fill(f"Response written for {name}.")
        card.get_by_label("Objective worked on").select_option(index=1)
        card.get_by_label("Progress").select_option(label="Progressing")
    first = page.locator(f"#attendee-{episodes[0].patient_id}")
    first.get_by_label("Plan").fill("Attend Wednesday's group and call the sponsor.")
    first.get_by_role("button", name="Copy this plan to everyone").click()
    last = page.locator(f"#attendee-{episodes[-1].patient_id}")
    expect(last.get_by_label("Plan")).to_have_value(
        "Attend Wednesday's group and call the sponsor."
    )

    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("Draft saved with 3 attendee parts")).to_be_visible()

    signing = page.locator("[data-sign-card]")
    signing.get_by_label("Your password").fill(PASSWORD)
    signing.get_by_role("button", name="Sign the group note").click()
    expect(page.get_by_text("Signed. Each attendee's chart")).to_be_visible()
    note = GroupNote.objects.get(session=session)
    assert note.signed_at is not None and note.entries.count() == 3

    # Each chart: the shared part and that person's own part — nobody else's name or words.
    for episode in episodes:
        page.goto(url(f"/notes/patients/{episode.patient_id}/"))
        name = episode.patient.last_name
        expect(page.get_by_text(f"Response written for {name}.")).to_be_visible()
        expect(page.get_by_text("Coping with cravings").first).to_be_visible()
        content = page.content()
        for other in NAMES:
            if other != name:
                assert other not in content, f"{other} shows in {name}'s chart"
