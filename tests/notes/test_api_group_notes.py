"""Group notes over the REST API: the facilitator writes the shared part and an entry per
attendee; a patient's chart holds only their own entry with the shared part — never another
attendee's name or words; 400 naming the field for an absent patient, 409 for a signed or
stale note, 404 out of scope, 403 outside the clinical team, one audit per patient read."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes import services
from openiop.notes.models import Addendum, GroupNote, GroupNoteEntry
from openiop.scheduling.models import Schedule, Session
from tests.conftest import api_signed_in, as_json, last_event
from tests.factories import CareTeamMemberFactory
from tests.notes.conftest import PASSWORD, objective_of, signed_group_note, write_group_note
from tests.scheduling import factories
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db

API = "/api/v1/"


@pytest.fixture
def client(clinician: User) -> APIClient:
    return api_signed_in(clinician)


def post(client: APIClient, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(API + url, data or {}, format="json")


def entry(episode: EpisodeOfCare, **changes: Any) -> dict[str, Any]:
    name = episode.patient.last_name
    objective = objective_of(episode)  # None for Diaz, who missed the session
    return {
        "patient": episode.patient_id,
        "participation": "active",
        "response": f"Response written for {name}.",
        "objective": objective.pk if objective is not None else None,
        "progress": "progressing" if objective is not None else "",
        "plan": f"Plan written for {name}.",
        **changes,
    }


def group_payload(session: Session, episodes: list[EpisodeOfCare], **changes: Any) -> dict:
    return {
        "session": session.pk,
        "topic": "Coping with cravings",
        "interventions": "Urge surfing; CBT thought record.",
        "process": "The group was engaged and supportive.",
        "late_reason": "Charting after the holiday.",
        "entries": [entry(e) for e in episodes],
        **changes,
    }


def test_the_facilitator_writes_changes_and_signs_the_group_note(
    client: APIClient, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    roster = as_json(client.get(f"{API}group-notes/roster/", {"session": session.pk}))
    assert [a["patient_name"] for a in roster["attendees"]] == [
        "Test Alvarez",
        "Test Baker",
        "Test Chen",
    ]
    assert roster["absent"] == 1 and roster["not_shown"] == 0 and roster["group_note"] is None
    assert roster["attendees"][0]["objectives"][0]["id"] == objective_of(attendees[0]).pk

    made = post(client, "group-notes/", group_payload(session, attendees[:2]))
    assert made.status_code == 201, made.content
    note = as_json(made)
    assert note["topic"] == "Coping with cravings" and note["late_entry"] is True
    assert [e["patient_name"] for e in note["entries"]] == ["Test Alvarez", "Test Baker"]
    assert note["entries"][0]["objective"]["id"] == objective_of(attendees[0]).pk

    again = post(client, "group-notes/", group_payload(session, attendees))
    assert again.status_code == 409

    # an attendee's part is added; fields left out keep their value
    url = f"{API}group-notes/{note['id']}/"
    changed = client.patch(
        url,
        {
            "revision": note["revision"],
            "entries": [entry(attendees[2]), {"patient": attendees[0].patient_id, "plan": "New."}],
        },
        format="json",
    )
    assert changed.status_code == 200, changed.content
    parts = {e["patient_name"]: e for e in as_json(changed)["entries"]}
    assert set(parts) == {"Test Alvarez", "Test Baker", "Test Chen"}
    assert parts["Test Alvarez"]["plan"] == "New."
    assert parts["Test Alvarez"]["response"] == "Response written for Alvarez."
    assert as_json(changed)["topic"] == "Coping with cravings"

    stale = client.patch(url, {"revision": note["revision"], "topic": "Other"}, format="json")
    assert stale.status_code == 409
    assert GroupNote.objects.get().topic == "Coping with cravings"

    wrong = post(client, f"group-notes/{note['id']}/sign/", {"password": "not it"})
    assert wrong.status_code == 400 and "password" in as_json(wrong)
    assert GroupNote.objects.get().signed_at is None
    signed = post(client, f"group-notes/{note['id']}/sign/", {"password": PASSWORD})
    assert signed.status_code == 200, signed.content
    assert as_json(signed)["signed"] is True and as_json(signed)["sign_method"] == "password"

    locked = client.patch(url, {"topic": "Changed"}, format="json")
    assert locked.status_code == 409
    assert "Write an addendum instead." in as_json(locked)["detail"]
    assert GroupNote.objects.get().topic == "Coping with cravings"


def test_a_note_for_an_absent_patient_names_the_field_and_saves_nothing(
    client: APIClient, session: Session, attendees: list[EpisodeOfCare], absent: EpisodeOfCare
) -> None:
    refused = post(client, "group-notes/", group_payload(session, [*attendees, absent]))
    assert refused.status_code == 400
    errors = as_json(refused)["entries"]["non_field_errors"]
    assert "did not attend" in errors[0] and "Diaz" in errors[0]
    assert not GroupNote.objects.exists() and not GroupNoteEntry.objects.exists()

    blank = post(
        client,
        "group-notes/",
        group_payload(session, attendees, entries=[entry(attendees[0], response=" ")]),
    )
    assert blank.status_code == 400
    assert as_json(blank)["entries"] == {
        str(attendees[0].patient_id): {"response": ["Write how they responded to the group."]}
    }
    assert not GroupNote.objects.exists()


def test_a_patients_chart_holds_only_their_own_part(
    client: APIClient, clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = signed_group_note(clinician, session, attendees)
    alvarez, baker = attendees[0], attendees[1]
    baker_entry = note.entries.get(patient=baker.patient)
    for target, text in ((baker_entry, "Baker's ride fell through."), (note, "Room changed.")):
        added = post(
            client,
            f"group-notes/{note.pk}/addendum/",
            {
                "text": text,
                "reason": "Learned later.",
                "password": PASSWORD,
                "entry": target.pk if target is baker_entry else None,
            },
        )
        assert added.status_code == 201, added.content
    assert Addendum.objects.filter(entry=baker_entry).count() == 1

    listed = client.get(f"{API}group-note-entries/", {"patient": alvarez.patient_id})
    assert listed.status_code == 200
    rows = as_json(listed)["results"]
    assert len(rows) == 1
    text = json.dumps(rows)
    for other in ("Baker", "Chen", "Response written for Baker.", "Plan written for Chen."):
        assert other not in text
    assert rows[0]["response"] == "Response written for Alvarez."
    assert rows[0]["group_note"]["topic"] == "Coping with cravings"
    assert [a["text"] for a in rows[0]["group_note"]["addenda"]] == ["Room changed."]
    assert rows[0]["addenda"] == []

    one = client.get(f"{API}group-note-entries/{rows[0]['id']}/")
    assert one.status_code == 200
    assert "Baker" not in one.content.decode() and "Chen" not in one.content.decode()

    theirs = as_json(client.get(f"{API}group-note-entries/", {"patient": baker.patient_id}))
    assert [a["text"] for a in theirs["results"][0]["addenda"]] == ["Baker's ride fell through."]


def test_the_facilitator_view_names_only_patients_in_your_scope(
    clinician: User,
    make_user: Callable[..., User],
    session: Session,
    attendees: list[EpisodeOfCare],
) -> None:
    note = signed_group_note(clinician, session, attendees)
    colleague = make_user(Role.CLINICIAN)
    CareTeamMemberFactory.create(patient=attendees[1].patient, user=colleague)
    client = api_signed_in(colleague)
    before = AuditEvent.objects.count()
    shown = client.get(f"{API}group-notes/{note.pk}/")
    assert shown.status_code == 200
    body = as_json(shown)
    assert [e["patient_name"] for e in body["entries"]] == ["Test Baker"]
    assert body["not_shown"] == 2
    assert "Alvarez" not in shown.content.decode() and "Chen" not in shown.content.decode()
    # one record, for the one patient shown
    assert AuditEvent.objects.count() == before + 1
    assert last_event().patient_id == attendees[1].patient_id

    roster = as_json(client.get(f"{API}group-notes/roster/", {"session": session.pk}))
    assert [a["patient_name"] for a in roster["attendees"]] == ["Test Baker"]
    assert roster["not_shown"] == 2


def test_a_draft_group_note_is_its_authors_alone(
    clinician: User, director: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = write_group_note(clinician, session, attendees)
    client = api_signed_in(director)
    assert client.get(f"{API}group-notes/{note.pk}/").status_code == 404
    listed = as_json(client.get(f"{API}group-note-entries/", {"patient": attendees[0].patient_id}))
    assert listed["count"] == 0
    roster = as_json(client.get(f"{API}group-notes/roster/", {"session": session.pk}))
    assert roster["group_note"] == note.pk
    assert all(a["entry"] is None for a in roster["attendees"])


def test_an_addendum_needs_a_signed_group_note(
    client: APIClient, clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = write_group_note(clinician, session, attendees)
    early = post(
        client,
        f"group-notes/{note.pk}/addendum/",
        {"text": "More.", "reason": "Later.", "password": PASSWORD},
    )
    assert early.status_code == 400
    assert "not signed yet" in as_json(early)["non_field_errors"][0]
    assert not Addendum.objects.exists()


def test_an_outsider_gets_404(
    other_clinician: User, clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = signed_group_note(clinician, session, attendees)
    client = api_signed_in(other_clinician)
    entry_id = note.entries.first().pk  # type: ignore[union-attr]
    for url, params in (
        (f"group-notes/{note.pk}/", {}),
        ("group-notes/roster/", {"session": session.pk}),
        ("group-note-entries/", {"patient": attendees[0].patient_id}),
        (f"group-note-entries/{entry_id}/", {}),
    ):
        assert client.get(API + url, params).status_code == 404, url
    assert post(client, "group-notes/", group_payload(session, attendees)).status_code == 404
    added = post(
        client, f"group-notes/{note.pk}/addendum/", {"text": "T", "reason": "R", "password": "x"}
    )
    assert added.status_code == 404
    assert not Addendum.objects.exists()


def test_an_entry_for_a_patient_out_of_scope_is_refused(
    make_user: Callable[..., User], session: Session, attendees: list[EpisodeOfCare]
) -> None:
    colleague = make_user(Role.CLINICIAN)
    CareTeamMemberFactory.create(patient=attendees[0].patient, user=colleague)
    refused = post(api_signed_in(colleague), "group-notes/", group_payload(session, attendees))
    assert refused.status_code == 400
    assert as_json(refused)["entries"]["non_field_errors"] == [
        "Choose patients in your care who came to this session."
    ]
    assert not GroupNote.objects.exists()


def test_roles_outside_the_clinical_team_get_403(
    billing: User, clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = signed_group_note(clinician, session, attendees)
    client = api_signed_in(billing)
    for url, params in (
        (f"group-notes/{note.pk}/", {}),
        ("group-note-entries/", {"patient": attendees[0].patient_id}),
    ):
        assert client.get(API + url, params).status_code == 403
    assert post(client, "group-notes/", group_payload(session, attendees)).status_code == 403
    assert last_event(action=AuditEvent.Action.DENIED).section == "group note (API)"


def test_each_chart_read_leaves_one_audit_record_and_costs_the_same(
    client: APIClient,
    clinician: User,
    schedule: Schedule,
    session: Session,
    attendees: list[EpisodeOfCare],
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    signed_group_note(clinician, session, attendees)
    chart = {"patient": attendees[0].patient_id}
    before = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as one:
        client.get(f"{API}group-note-entries/", chart)
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert event.action == AuditEvent.Action.VIEW and event.patient_id == attendees[0].patient_id

    wednesday = factories.session_on(schedule, MONDAY + dt.timedelta(days=2))
    factories.came(clinician, wednesday, *attendees)
    signed_group_note(clinician, wednesday, attendees)
    with django_assert_max_num_queries(len(one)):
        listed = client.get(f"{API}group-note-entries/", chart)
    assert as_json(listed)["count"] == 2


def test_a_supervisor_cosigns_a_group_note(
    clinician: User,
    make_user: Callable[..., User],
    session: Session,
    attendees: list[EpisodeOfCare],
) -> None:
    supervisor = make_user(Role.CLINICAL_SUPERVISOR)
    clinician.supervisor = supervisor
    clinician.needs_cosign = True
    clinician.save()
    note = signed_group_note(clinician, session, attendees)
    client = api_signed_in(supervisor)
    queue = as_json(client.get(f"{API}notes/cosign-queue/"))
    assert [(r["type"], r["id"], r["patient"]) for r in queue] == [("group_note", note.pk, None)]
    done = post(client, f"group-notes/{note.pk}/cosign/", {"password": PASSWORD})
    assert done.status_code == 200, done.content
    assert as_json(done)["cosigned"] is True
    assert services.may_cosign(supervisor, clinician)
