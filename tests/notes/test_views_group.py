"""The group-note screen through the test client: one page for the whole session."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes.models import Addendum, GroupNote, GroupNoteEntry
from openiop.scheduling.models import Schedule, Session
from tests.conftest import body, signed_in
from tests.factories import CareTeamMemberFactory
from tests.notes.conftest import PASSWORD, objective_of, signed_group_note, write_group_note
from tests.plans.factories import active_plan
from tests.scheduling import factories

pytestmark = pytest.mark.django_db


def url(session: Session) -> str:
    return reverse("notes:group", args=[session.pk])


def part(episode: EpisodeOfCare, **fields: Any) -> dict[str, str]:
    """One attendee's part as the screen posts it."""
    name = episode.patient.last_name
    values: dict[str, Any] = {
        "participation": "active",
        "response": f"Response written for {name}.",
        "objective": objective_of(episode).pk,
        "progress": "progressing",
        "plan": f"Plan written for {name}.",
    }
    values.update(fields)
    return {f"entry-{episode.patient_id}-{k}": str(v) for k, v in values.items()}


def form(*parts: dict[str, str], revision: str = "", **shared: str) -> dict[str, str]:
    data = {
        "action": "save",
        "revision": revision,
        "topic": "Coping with cravings",
        "interventions": "Urge surfing; CBT thought record.",
        "process": "The group was engaged and supportive.",
        "late_reason": "Charting after the holiday.",
    }
    data.update(shared)
    for one in parts:
        data.update(one)
    return data


def test_the_screen_lists_who_came_and_counts_who_did_not(
    clinician: User, session: Session, attendees: list[EpisodeOfCare], absent: EpisodeOfCare
) -> None:
    page = body(signed_in(clinician).get(url(session)))
    for e in attendees:
        assert e.patient.display_name in page
        assert f'name="entry-{e.patient_id}-participation"' in page
    assert "Diaz" not in page
    assert f"entry-{absent.patient_id}-" not in page
    assert "1 did not attend and get no note" in page
    # the shared part opens with the session's topic when one was set at attendance
    events = AuditEvent.objects.filter(section="group note screen", action="view")
    assert {e.patient_id for e in events} == {e.patient_id for e in attendees}


def test_the_topic_starts_from_the_session(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    Session.objects.filter(pk=session.pk).update(topic="Relapse warning signs")
    page = body(signed_in(clinician).get(url(session)))
    assert 'value="Relapse warning signs"' in page


def test_saving_writes_the_shared_part_and_every_part(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    client = signed_in(clinician)
    response = client.post(url(session), form(*(part(e) for e in attendees)))
    assert response.status_code == 302
    note = GroupNote.objects.get(session=session)
    assert note.topic == "Coping with cravings"
    assert note.late_entry and note.late_reason == "Charting after the holiday."
    entries = {e.patient.last_name: e for e in note.entries.select_related("patient")}
    assert sorted(entries) == ["Alvarez", "Baker", "Chen"]
    assert entries["Baker"].response == "Response written for Baker."
    assert entries["Baker"].objective_id == objective_of(attendees[1]).pk
    page = body(client.get(url(session)))
    assert "Draft saved with 3 attendee parts" in page
    assert "Sign the group note" in page


def test_a_blank_part_is_left_for_later_and_signing_waits_for_it(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    client = signed_in(clinician)
    client.post(url(session), form(*(part(e) for e in attendees[:2])))
    note = GroupNote.objects.get(session=session)
    assert note.entries.count() == 2
    page = body(client.get(url(session)))
    assert "1 still to write" in page
    response = client.post(url(session), {"action": "sign", "sign-password": PASSWORD})
    assert "1 attendee(s) have no part in this note yet" in body(response)
    note.refresh_from_db()
    assert note.signed_at is None


def test_a_part_with_something_missing_saves_nothing(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    broken = part(attendees[1], participation="", response="")
    response = signed_in(clinician).post(
        url(session), form(part(attendees[0]), broken, part(attendees[2]))
    )
    page = body(response)
    assert response.status_code == 200
    assert "Nothing was saved" in page
    assert "Choose how they took part." in page
    assert "Write how they responded to the group." in page
    assert not GroupNote.objects.exists()
    # what was typed is kept
    assert "Response written for Chen." in page


def test_a_missing_shared_part_and_late_reason_save_nothing(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    response = signed_in(clinician).post(
        url(session), form(*(part(e) for e in attendees), topic="", late_reason="")
    )
    page = body(response)
    assert "Write the session&#x27;s topic." in page
    assert "say why (it will be marked as a late entry)" in page
    assert not GroupNote.objects.exists()


def test_an_objective_of_someone_else_is_refused(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    wrong = part(attendees[0], objective=objective_of(attendees[1]).pk)
    page = body(signed_in(clinician).post(url(session), form(wrong)))
    assert "Choose an objective from their active treatment plan." in page
    assert not GroupNote.objects.exists()


def test_a_page_opened_before_another_save_is_refused(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    client = signed_in(clinician)
    client.post(url(session), form(*(part(e) for e in attendees)))
    note = GroupNote.objects.get(session=session)
    first = note.updated_at.isoformat()
    client.post(url(session), form(*(part(e) for e in attendees), revision=first, topic="Second"))
    # a screen still holding the first revision, or one opened before the note existed
    for stale in (first, ""):
        page = body(client.post(url(session), form(revision=stale, topic="Stale")))
        assert "Someone saved this note after you opened it" in page
    assert GroupNote.objects.get(session=session).topic == "Second"


def test_signing_with_a_wrong_password_signs_nothing(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    client = signed_in(clinician)
    client.post(url(session), form(*(part(e) for e in attendees)))
    page = body(client.post(url(session), {"action": "sign", "sign-password": "wrong"}))
    assert "The note is not signed." in page
    assert GroupNote.objects.get().signed_at is None
    page = body(client.post(url(session), {"action": "sign"}))
    assert "Enter your password or a code from your authenticator app." in page
    assert GroupNote.objects.get().signed_at is None
    response = client.post(url(session), {"action": "sign", "sign-password": PASSWORD})
    assert response.status_code == 302
    assert GroupNote.objects.get().signed_at is not None
    assert AuditEvent.objects.filter(section="group note", action="sign").count() == 3


def test_a_signed_note_is_read_only_and_takes_addenda(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = signed_group_note(clinician, session, attendees)
    client = signed_in(clinician)
    page = body(client.get(url(session)))
    assert 'name="action" value="save"' not in page
    assert "Add an addendum about Test Baker" in page
    # a save posted anyway changes nothing
    client.post(url(session), form(*(part(e) for e in attendees), topic="Changed"))
    assert GroupNote.objects.get().topic == "Coping with cravings"
    baker = GroupNoteEntry.objects.get(group_note=note, patient=attendees[1].patient)
    data = {
        "action": "addendum",
        "target": str(baker.pk),
        f"add-{baker.pk}-text": "Baker called to add context.",
        f"add-{baker.pk}-reason": "Information received later",
        f"add-{baker.pk}-password": "wrong",
    }
    page = body(client.post(url(session), data))
    assert "The addendum is not saved." in page
    assert not Addendum.objects.exists()
    data[f"add-{baker.pk}-password"] = PASSWORD
    assert client.post(url(session), data).status_code == 302
    addendum = Addendum.objects.get()
    assert addendum.entry_id == baker.pk and addendum.group_note_id is None
    shared = {
        "action": "addendum",
        "target": "shared",
        "add-shared-text": "The room changed halfway.",
        "add-shared-reason": "Omitted",
        "add-shared-password": PASSWORD,
    }
    assert client.post(url(session), shared).status_code == 302
    assert Addendum.objects.filter(group_note=note).count() == 1


def test_only_the_author_changes_a_draft(
    clinician: User, session: Session, attendees: list[EpisodeOfCare], director: User
) -> None:
    write_group_note(clinician, session, attendees)
    client = signed_in(director)
    page = body(client.get(url(session)))
    assert "Only they can change and sign it." in page
    assert 'value="save"' not in page
    client.post(url(session), form(*(part(e) for e in attendees), topic="Director's"))
    assert GroupNote.objects.get().topic == "Coping with cravings"


def test_attendees_the_user_may_not_see_are_counted_not_named(
    make_user: Any, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    counselor = make_user(Role.CLINICIAN)
    CareTeamMemberFactory.create(patient=attendees[0].patient, user=counselor)
    page = body(signed_in(counselor).get(url(session)))
    assert "Test Alvarez" in page
    assert "Baker" not in page and "Chen" not in page
    assert "2 people who came are not shown" in page


def test_an_outsider_gets_404_and_other_roles_403(
    other_clinician: User, front_desk: User, billing: User, session: Session
) -> None:
    assert signed_in(other_clinician).get(url(session)).status_code == 404
    assert signed_in(front_desk).get(url(session)).status_code == 403
    assert signed_in(billing).get(url(session)).status_code == 403
    assert signed_in(front_desk).post(url(session), form()).status_code == 403
    assert not GroupNote.objects.exists()


def test_a_future_session_cannot_be_written(
    clinician: User, schedule: Schedule, attendees: list[EpisodeOfCare]
) -> None:
    future = Session.objects.filter(schedule=schedule).order_by("-starts_at").first()
    assert future is not None
    page = body(signed_in(clinician).get(url(future)))
    assert "This session has not happened yet." in page
    assert 'value="save"' not in page


def _queries(client: Any, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    return len(queries)


def test_the_screen_costs_the_same_queries_for_3_or_15_attendees(
    clinician: User,
    facility: Facility,
    program: Program,
    schedule: Schedule,
    session: Session,
    attendees: list[EpisodeOfCare],
) -> None:
    client = signed_in(clinician)
    write_group_note(clinician, session, attendees)
    client.get(url(session))  # warm the session and permission caches
    three = _queries(client, url(session))
    extra = [
        factories.admitted(facility, program, clinician, last_name=f"Extra{n:02d}")
        for n in range(12)
    ]
    for e in extra:
        active_plan(clinician, e)
    factories.came(clinician, session, *extra, drop_in=True)  # the group holds 15 on its roster
    fifteen = _queries(client, url(session))
    assert "Extra11" in body(client.get(url(session)))
    assert fifteen == three
    assert fifteen <= 30
