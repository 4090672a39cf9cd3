"""The organization's plan library through the test client: who reads, who edits,
validation that saves nothing, and restoring the standard entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from openiop.accounts.models import Organization, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.plans import library
from openiop.plans.models import LibraryProblem
from tests.conftest import body, last_event, signed_in


def _entry_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Gambling alongside drinking",
        "category": "substance_use",
        "statement": "Bets on sports when drinking; debts are growing.",
        "asam_dimensions": "3,5",
        "own_words_example": "I want to stop losing my paycheck.",
        "clinical": "No gambling for 8 weeks.",
        "is_active": "on",
        "objective_rows": "3",
        "intervention_rows": "3",
        "objective-0-text": "Attend 2 Gamblers Anonymous meetings a week.",
        "objective-0-target_weeks": "4",
        "objective-1-text": "",
        "objective-1-target_weeks": "",
        "intervention-0-modality": "mutual_help",
        "intervention-0-description": "Gamblers Anonymous",
        "intervention-0-frequency": "2 times a week",
    }
    data.update(overrides)
    return data


def test_the_list_groups_entries_by_category_and_marks_inactive_ones(
    director_client: Client,
    director: User,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    org = director.organization
    assert org is not None
    entry = LibraryProblem.objects.filter(organization=org).first()
    assert entry is not None
    entry.is_active = False
    entry.save()
    with django_assert_max_num_queries(12):
        response = director_client.get("/plans/library/")
    assert response.status_code == 200
    html = body(response)
    assert "Substance use" in html and "Depression" in html and "Trauma" in html
    assert html.count("inactive — not offered") == 1
    assert "Add an entry" in html and "Restore the standard entries" in html
    assert f"/plans/library/{entry.pk}/" in html


def test_a_clinician_reads_the_library_but_does_not_edit_it(
    clinician_client: Client, clinician: User
) -> None:
    entry = LibraryProblem.objects.filter(organization=clinician.organization).first()
    assert entry is not None
    html = body(clinician_client.get("/plans/library/"))
    assert entry.title in html
    assert "Add an entry" not in html and f"/plans/library/{entry.pk}/" not in html
    assert clinician_client.get("/plans/library/new/").status_code == 403
    assert clinician_client.get(f"/plans/library/{entry.pk}/").status_code == 403
    before = entry.title
    response = clinician_client.post(f"/plans/library/{entry.pk}/", _entry_data())
    assert response.status_code == 403
    assert clinician_client.post("/plans/library/restore/").status_code == 403
    entry.refresh_from_db()
    assert entry.title == before


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.AUDITOR])
def test_other_roles_do_not_open_the_library(make_user: Callable[..., User], role: str) -> None:
    client = signed_in(make_user(role))
    assert client.get("/plans/library/").status_code == 403


def test_the_programs_page_links_to_the_library_for_its_readers(
    clinician: User, front_desk: User
) -> None:
    assert "/plans/library/" in body(signed_in(clinician).get("/staff/programs/"))
    assert "/plans/library/" not in body(signed_in(front_desk).get("/staff/programs/"))


def test_the_director_adds_an_entry_with_objectives_and_interventions(
    director_client: Client, director: User
) -> None:
    page = body(director_client.get("/plans/library/new/"))
    assert 'name="objective-2-text"' in page and 'name="intervention-2-frequency"' in page
    response = director_client.post("/plans/library/new/", _entry_data())
    assert response.status_code == 302 and response["Location"] == "/plans/library/"
    entry = LibraryProblem.objects.get(title="Gambling alongside drinking")
    assert entry.organization == director.organization and entry.asam_dimensions == "3,5"
    goal = entry.goals.get()
    assert goal.own_words_example == "I want to stop losing my paycheck."
    assert [(o.text, o.target_weeks) for o in entry.objectives.all()] == [
        ("Attend 2 Gamblers Anonymous meetings a week.", 4)
    ]
    assert [(i.modality, i.frequency) for i in entry.interventions.all()] == [
        ("mutual_help", "2 times a week")
    ]
    assert last_event(section="plan library").action == AuditEvent.Action.CREATE


def test_the_director_edits_an_entry_and_can_make_it_inactive(
    director_client: Client, director: User
) -> None:
    entry = LibraryProblem.objects.filter(organization=director.organization).first()
    assert entry is not None
    page = body(director_client.get(f"/plans/library/{entry.pk}/"))
    assert entry.title in page
    objectives = entry.objectives.count()
    # The existing rows plus three empty ones.
    assert f'name="objective-{objectives + 2}-text"' in page
    assert f'name="objective-{objectives + 3}-text"' not in page
    data = _entry_data(title="Renamed entry")
    del data["is_active"]
    response = director_client.post(f"/plans/library/{entry.pk}/", data)
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.title == "Renamed entry" and not entry.is_active
    assert entry.objectives.count() == 1


def test_validation_errors_show_on_the_fields_and_save_nothing(
    director_client: Client, director: User
) -> None:
    entry = LibraryProblem.objects.filter(organization=director.organization).first()
    assert entry is not None
    cases = [
        (_entry_data(title=""), "This field is required."),
        (_entry_data(title=entry.title.upper()), "already has an entry with this title"),
        (_entry_data(**{"objective-0-text": ""}), "Add at least one objective."),
        (_entry_data(**{"objective-0-target_weeks": "200"}), "less than or equal to 104"),
        (_entry_data(**{"objective-1-text": "No weeks"}), "Give the target in weeks"),
        (_entry_data(**{"intervention-0-frequency": ""}), "Intervention 1: say how often."),
        (_entry_data(**{"intervention-1-frequency": "daily"}), "Choose the kind of intervention"),
        (_entry_data(asam_dimensions="7"), "ASAM dimensions are numbers 1 to 6."),
    ]
    count = LibraryProblem.objects.count()
    for data, message in cases:
        response = director_client.post("/plans/library/new/", data)
        assert response.status_code == 200, message
        html = body(response)
        assert message in html, message
        assert "Nothing was saved." in html
    assert LibraryProblem.objects.count() == count


def test_another_organizations_entry_is_not_found(director_client: Client) -> None:
    other = Organization.objects.create(name="Elsewhere Recovery")
    entry = LibraryProblem.objects.filter(organization=other).first()
    assert entry is not None  # the standard library arrives with a new organization
    assert director_client.get(f"/plans/library/{entry.pk}/").status_code == 404
    assert director_client.post(f"/plans/library/{entry.pk}/", _entry_data()).status_code == 404
    assert f"/plans/library/{entry.pk}/" not in body(director_client.get("/plans/library/"))
    entry.refresh_from_db()
    assert entry.title != "Gambling alongside drinking"


def test_restore_asks_first_then_puts_the_standard_entries_back(
    director_client: Client, director: User
) -> None:
    org = director.organization
    mine = LibraryProblem.objects.filter(organization=org).first()
    assert mine is not None
    mine.title = "Our own wording"
    mine.save()
    total = LibraryProblem.objects.filter(organization=org).count()
    page = body(director_client.get("/plans/library/restore/"))
    assert "Yes, restore the standard entries" in page
    assert LibraryProblem.objects.filter(organization=org).count() == total
    response = director_client.post("/plans/library/restore/")
    assert response.status_code == 302
    assert LibraryProblem.objects.filter(organization=org).count() == total + 1
    assert LibraryProblem.objects.filter(organization=org, title="Our own wording").exists()
    titles = set(LibraryProblem.objects.filter(organization=org).values_list("title", flat=True))
    assert {e["title"] for e in library.DEFAULT_LIBRARY} <= titles
    # A second restore finds nothing missing.
    director_client.post("/plans/library/restore/")
    assert LibraryProblem.objects.filter(organization=org).count() == total + 1
