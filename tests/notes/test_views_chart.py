"""The chart's Notes tab and the page of a patient's part of a group note: what they show,
and above all what they never show (another attendee's name or words)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes import services
from openiop.notes.models import GroupNoteEntry, Note
from openiop.scheduling.models import Session
from tests.conftest import body, signed_in
from tests.notes.conftest import PASSWORD, signed_group_note, write_group_note, write_note

pytestmark = pytest.mark.django_db

OTHERS = ("Baker", "Chen")


def chart(episode: EpisodeOfCare, **query: str) -> str:
    address = reverse("notes:chart", args=[episode.patient_id])
    if query:
        address += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return address


def assert_only_alvarez(page: str) -> None:
    assert "Response written for Alvarez." in page
    assert "Plan written for Alvarez." in page
    for name in OTHERS:
        assert name not in page, f"{name} leaked into Alvarez's chart"


def add_private_addenda(clinician: User, session: Session) -> None:
    """One addendum about Baker only, one about the whole session."""
    baker = GroupNoteEntry.objects.get(group_note__session=session, patient__last_name="Baker")
    services.add_addendum(
        actor=clinician,
        target=baker,
        text="Baker disclosed a relapse after group.",
        reason="Information received later",
        password=PASSWORD,
    )
    services.add_addendum(
        actor=clinician,
        target=baker.group_note,
        text="The session ended ten minutes early.",
        reason="Omitted at first",
        password=PASSWORD,
    )


def test_the_chart_shows_the_shared_part_and_only_the_patients_own_part(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    signed_group_note(clinician, session, attendees)
    add_private_addenda(clinician, session)
    page = body(signed_in(clinician).get(chart(attendees[0])))
    assert "Coping with cravings" in page
    assert "Urge surfing" in page
    assert "The session ended ten minutes early." in page  # the shared addendum
    assert "relapse after group" not in page  # Baker's own addendum
    assert_only_alvarez(page)
    # Baker's chart has Baker's part and addendum, and nobody else's words
    page = body(signed_in(clinician).get(chart(attendees[1])))
    assert "Response written for Baker." in page
    assert "Baker disclosed a relapse after group." in page
    assert "Alvarez" not in page and "Chen" not in page


def test_the_entry_page_shows_only_the_patients_own_part(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    signed_group_note(clinician, session, attendees)
    add_private_addenda(clinician, session)
    mine = GroupNoteEntry.objects.get(patient=attendees[0].patient)
    client = signed_in(clinician)
    page = body(client.get(reverse("notes:entry", args=[attendees[0].patient_id, mine.pk])))
    assert_only_alvarez(page)
    assert "The session ended ten minutes early." in page
    # another attendee's entry is not reachable through this chart
    theirs = GroupNoteEntry.objects.get(patient=attendees[1].patient)
    address = reverse("notes:entry", args=[attendees[0].patient_id, theirs.pk])
    assert client.get(address).status_code == 404


def test_an_addendum_from_the_entry_page_belongs_to_that_patient_only(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    signed_group_note(clinician, session, attendees)
    mine = GroupNoteEntry.objects.get(patient=attendees[0].patient)
    address = reverse("notes:entry", args=[attendees[0].patient_id, mine.pk])
    data = {
        "action": "addendum",
        "add-text": "Alvarez asked for a sponsor list.",
        "add-reason": "Forgot to write it",
        "add-password": PASSWORD,
    }
    client = signed_in(clinician)
    assert client.post(address, data).status_code == 302
    assert mine.addenda.count() == 1
    assert "asked for a sponsor list" not in body(client.get(chart(attendees[1])))


def test_badges_say_draft_signed_late_unlinked_and_cosignature(
    clinician: User, attendees: list[EpisodeOfCare], make_user: Any
) -> None:
    supervisor = make_user(Role.CLINICAL_SUPERVISOR)
    User.objects.filter(pk=clinician.pk).update(supervisor=supervisor, needs_cosign=True)
    clinician.refresh_from_db()
    alvarez = attendees[0]
    draft = write_note(clinician, alvarez)
    client = signed_in(clinician)
    page = body(client.get(chart(alvarez)))
    assert "Draft" in page
    assert "Late entry" in page and "Charting after the holiday." in page
    assert "Linked to no plan objective" not in page
    unlinked = write_note(
        clinician,
        alvarez,
        objective_ids=[],
        started_at=dt.datetime(2026, 3, 4, 17, 0, tzinfo=dt.UTC),
        ended_at=dt.datetime(2026, 3, 4, 17, 50, tzinfo=dt.UTC),
    )
    assert "Linked to no plan objective" in body(client.get(chart(alvarez)))
    services.sign_note(actor=clinician, note=draft, password=PASSWORD)  # type: ignore[arg-type]
    page = body(client.get(chart(alvarez)))
    assert re.search(rf"Signed \d\d/\d\d/\d{{4}} \d\d:\d\d by {clinician.display_name}", page)
    assert "Waiting for co-signature" in page
    services.cosign(actor=supervisor, target=draft, password=PASSWORD)  # type: ignore[arg-type]
    page = body(client.get(chart(alvarez)))
    assert f"by {supervisor.display_name}" in page and "Co-signed" in page
    assert "Waiting for co-signature" not in page
    assert unlinked is not None


def test_filters_choose_the_kind_and_the_signature(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    signed_group_note(clinician, session, attendees)
    write_note(clinician, attendees[0], sections={"data": "Individual draft words."})
    client = signed_in(clinician)
    group_only = body(client.get(chart(attendees[0], kind="group")))
    assert "Coping with cravings" in group_only and "Individual draft words." not in group_only
    individual = body(client.get(chart(attendees[0], kind="individual")))
    assert "Individual draft words." in individual and "Coping with cravings" not in individual
    unsigned = body(client.get(chart(attendees[0], status="unsigned")))
    assert "Individual draft words." in unsigned and "Coping with cravings" not in unsigned
    signed = body(client.get(chart(attendees[0], status="signed")))
    assert "Coping with cravings" in signed and "Individual draft words." not in signed


def test_the_chart_offers_the_notes_to_write_print_and_export(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    page = body(signed_in(clinician).get(chart(attendees[0])))
    pid = attendees[0].patient_id
    for kind in ("individual", "family", "case_management"):
        assert reverse("notes:new", args=[pid, kind]) in page
    assert reverse("notes:export", args=[pid]) in page
    assert "No clinical notes yet." in page
    assert AuditEvent.objects.filter(
        patient_id=pid, section="clinical notes", action="view"
    ).exists()


def test_an_outsider_gets_404_and_non_clinical_roles_403(
    other_clinician: User,
    billing: User,
    front_desk: User,
    auditor: User,
    clinician: User,
    attendees: list[EpisodeOfCare],
) -> None:
    note = write_note(clinician, attendees[0])
    assert isinstance(note, Note)
    pid = attendees[0].patient_id
    pages = [
        reverse("notes:chart", args=[pid]),
        reverse("notes:detail", args=[pid, note.pk]),
        reverse("notes:export", args=[pid]),
        reverse("notes:print", args=[pid, note.pk]),
        reverse("notes:new", args=[pid, "individual"]),
    ]
    for address in pages:
        assert signed_in(other_clinician).get(address).status_code == 404, address
        for user in (billing, front_desk, auditor):
            assert signed_in(user).get(address).status_code == 403, (address, user.role)
    assert AuditEvent.objects.filter(actor=other_clinician, action="denied").exists()


def _queries(client: Any, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    return len(queries)


def test_the_chart_costs_the_same_queries_for_2_or_8_notes(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    alvarez = attendees[0]
    write_group_note(clinician, session, attendees)
    first = services.sign_note(
        actor=clinician,
        note=write_note(clinician, alvarez),  # type: ignore[arg-type]
        password=PASSWORD,
    )
    services.add_addendum(
        actor=clinician, target=first, text="Later.", reason="Why", password=PASSWORD
    )
    client = signed_in(clinician)
    client.get(chart(alvarez))  # warm the session and permission caches
    two = _queries(client, chart(alvarez))
    for day in range(6):
        start = dt.datetime(2026, 3, 5 + day, 17, 0, tzinfo=dt.UTC)
        note = write_note(
            clinician,
            alvarez,
            kind="case_management" if day % 2 else "individual",
            started_at=start,
            ended_at=start + dt.timedelta(minutes=30),
        )
        if day % 3 == 0:
            note = services.sign_note(actor=clinician, note=note, password=PASSWORD)  # type: ignore[arg-type]
            services.add_addendum(
                actor=clinician, target=note, text="More.", reason="Why", password=PASSWORD
            )
    assert len(body(client.get(chart(alvarez))).split('class="card note-card')) == 9
    eight = _queries(client, chart(alvarez))
    assert eight == two
    assert eight <= 30
