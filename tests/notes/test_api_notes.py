"""Individual notes over the REST API: drafts are their author's, signing needs the password,
a signed note answers 409 to any change, addenda only on signed notes, co-signatures, the
work lists, 404 out of scope, 403 for roles outside the clinical team, one audit per read,
and a schema with no new warnings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes import services
from openiop.notes.models import Addendum, Cosignature, Note
from tests.conftest import api_signed_in, as_json, last_event
from tests.notes.conftest import PASSWORD, objective_of, write_note

pytestmark = pytest.mark.django_db

API = "/api/v1/"
START = dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def alvarez(people: list[EpisodeOfCare]) -> EpisodeOfCare:
    return people[0]


@pytest.fixture
def client(clinician: User) -> APIClient:
    return api_signed_in(clinician)


def payload(episode: EpisodeOfCare, **changes: Any) -> dict[str, Any]:
    return {
        "patient": episode.patient_id,
        "kind": "individual",
        "started_at": START.isoformat(),
        "ended_at": (START + dt.timedelta(minutes=50)).isoformat(),
        "sections": {"data": "Said cravings eased.", "assessment": "Improving.", "plan": "Next."},
        "objectives": [objective_of(episode).pk],
        "late_reason": "Charting after the holiday.",
        **changes,
    }


def post(client: APIClient, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(API + url, data or {}, format="json")


def signed_note(author: User, episode: EpisodeOfCare) -> Note:
    note: Note = write_note(author, episode)  # type: ignore[assignment]
    return services.sign_note(actor=author, note=note, password=PASSWORD)


def test_a_draft_is_written_shown_in_its_format_and_signed(
    client: APIClient, alvarez: EpisodeOfCare
) -> None:
    made = post(client, "notes/", payload(alvarez, sections={"data": "Said cravings eased."}))
    assert made.status_code == 201, made.content
    note = as_json(made)
    assert note["note_format"] == "dap"
    assert [(s["key"], s["label"]) for s in note["sections"]] == [
        ("data", "Data"),
        ("assessment", "Assessment"),
        ("plan", "Plan"),
    ]
    assert note["signed"] is False and note["signed_at"] is None
    assert note["late_entry"] is True and note["late_reason"] == "Charting after the holiday."
    assert note["unlinked"] is False
    assert note["objectives"] == [
        {"id": objective_of(alvarez).pk, "text": objective_of(alvarez).text}
    ]
    assert set(note["sign_problems"]) == {"assessment", "plan"}

    # PATCH changes only the sections sent
    changed = client.patch(
        f"{API}notes/{note['id']}/",
        {"sections": {"assessment": "Improving.", "plan": "Next week."}},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert [s["text"] for s in as_json(changed)["sections"]] == [
        "Said cravings eased.",
        "Improving.",
        "Next week.",
    ]
    assert as_json(changed)["sign_problems"] == {}

    wrong = post(client, f"notes/{note['id']}/sign/", {"password": "not it"})
    assert wrong.status_code == 400
    assert "password" in as_json(wrong)
    assert Note.objects.get().signed_at is None

    signed = post(client, f"notes/{note['id']}/sign/", {"password": PASSWORD})
    assert signed.status_code == 200, signed.content
    body = as_json(signed)
    assert body["signed"] is True and body["sign_method"] == "password"
    assert body["signed_by_name"] and body["needs_cosign"] is False
    assert body["cosigned"] is False and body["cosignature"] is None
    again = post(client, f"notes/{note['id']}/sign/", {"password": PASSWORD})
    assert again.status_code == 409


def test_bad_input_answers_field_errors_and_saves_nothing(
    client: APIClient, alvarez: EpisodeOfCare, people: list[EpisodeOfCare]
) -> None:
    late = post(client, "notes/", payload(alvarez, late_reason=""))
    assert late.status_code == 400
    assert "late_reason" in as_json(late)
    theirs = post(client, "notes/", payload(alvarez, objectives=[objective_of(people[1]).pk]))
    assert theirs.status_code == 400
    assert "objectives" in as_json(theirs)
    backwards = post(
        client, "notes/", payload(alvarez, ended_at=(START - dt.timedelta(hours=1)).isoformat())
    )
    assert as_json(backwards)["ended_at"] == ["The end time is before the start time."]
    someone_else = post(client, "notes/", payload(alvarez, appointment=999999))
    assert "appointment" in as_json(someone_else)
    assert not Note.objects.exists()


def test_a_signed_note_refuses_every_change(
    client: APIClient, clinician: User, alvarez: EpisodeOfCare
) -> None:
    note = signed_note(clinician, alvarez)
    url = f"{API}notes/{note.pk}/"
    for response in (
        client.patch(url, {"risk_text": "Changed."}, format="json"),
        client.put(url, payload(alvarez), format="json"),
        client.delete(url),
    ):
        assert response.status_code == 409
        assert as_json(response)["detail"] == (
            "This note is signed and can no longer be changed. Write an addendum instead."
        )
    note.refresh_from_db()
    assert note.sections["data"] == "Said cravings eased."


def test_an_addendum_needs_a_signed_note_and_the_password(
    client: APIClient, clinician: User, alvarez: EpisodeOfCare
) -> None:
    draft: Note = write_note(clinician, alvarez)  # type: ignore[assignment]
    early = post(
        client,
        f"notes/{draft.pk}/addendum/",
        {"text": "More.", "reason": "Later.", "password": PASSWORD},
    )
    assert early.status_code == 400
    assert "not signed yet" in as_json(early)["non_field_errors"][0]
    assert not Addendum.objects.exists()

    services.sign_note(actor=clinician, note=draft, password=PASSWORD)
    wrong = post(
        client,
        f"notes/{draft.pk}/addendum/",
        {"text": "More.", "reason": "Later.", "password": "x"},
    )
    assert wrong.status_code == 400 and "password" in as_json(wrong)
    assert not Addendum.objects.exists()
    made = post(
        client,
        f"notes/{draft.pk}/addendum/",
        {"text": "Urine test came back.", "reason": "Result received later.", "password": PASSWORD},
    )
    assert made.status_code == 201, made.content
    shown = as_json(client.get(f"{API}notes/{draft.pk}/"))
    assert [a["text"] for a in shown["addenda"]] == ["Urine test came back."]
    assert shown["addenda"][0]["reason"] == "Result received later."


def test_a_draft_is_its_authors_alone_and_discarded_by_them(
    client: APIClient, clinician: User, director: User, alvarez: EpisodeOfCare
) -> None:
    draft: Note = write_note(clinician, alvarez)  # type: ignore[assignment]
    other = api_signed_in(director)
    listed = other.get(f"{API}notes/", {"patient": alvarez.patient_id})
    assert listed.status_code == 200 and as_json(listed)["count"] == 0
    assert other.get(f"{API}notes/{draft.pk}/").status_code == 404
    assert other.delete(f"{API}notes/{draft.pk}/").status_code == 404
    assert as_json(client.get(f"{API}notes/", {"patient": alvarez.patient_id}))["count"] == 1

    assert client.delete(f"{API}notes/{draft.pk}/").status_code == 204
    assert not Note.objects.exists()
    assert last_event(action=AuditEvent.Action.DELETE).patient_id == alvarez.patient_id


def test_an_outsider_gets_404_as_for_no_such_patient(
    other_clinician: User, clinician: User, alvarez: EpisodeOfCare
) -> None:
    note = signed_note(clinician, alvarez)
    outsider = api_signed_in(other_clinician)
    for url, params in (
        ("notes/", {"patient": alvarez.patient_id}),
        ("notes/", {"patient": 987654}),
        (f"notes/{note.pk}/", {}),
        (f"notes/{987654}/", {}),
    ):
        assert outsider.get(API + url, params).status_code == 404
    assert last_event(action=AuditEvent.Action.DENIED).detail == {"patient_id": alvarez.patient_id}
    made = post(outsider, "notes/", payload(alvarez))
    assert made.status_code == 404
    added = post(
        outsider, f"notes/{note.pk}/addendum/", {"text": "T", "reason": "R", "password": PASSWORD}
    )
    assert added.status_code == 404
    assert Note.objects.count() == 1 and not Addendum.objects.exists()


def test_roles_outside_the_clinical_team_get_403(billing: User, alvarez: EpisodeOfCare) -> None:
    client = api_signed_in(billing)
    listed = client.get(f"{API}notes/", {"patient": alvarez.patient_id})
    assert listed.status_code == 403
    assert as_json(listed)["detail"] == "Only the clinical team reads clinical notes."
    assert last_event(action=AuditEvent.Action.DENIED).section == "clinical note (API)"
    assert post(client, "notes/", payload(alvarez)).status_code == 403
    assert client.get(f"{API}notes/to-sign/").status_code == 403
    assert client.get(f"{API}notes/cosign-queue/").status_code == 403
    assert not Note.objects.exists()


def test_each_read_leaves_one_audit_record(
    client: APIClient, clinician: User, alvarez: EpisodeOfCare
) -> None:
    note = signed_note(clinician, alvarez)
    before = AuditEvent.objects.count()
    client.get(f"{API}notes/", {"patient": alvarez.patient_id})
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert event.action == AuditEvent.Action.VIEW and event.patient_id == alvarez.patient_id
    client.get(f"{API}notes/{note.pk}/")
    assert AuditEvent.objects.count() == before + 2
    assert last_event().object_id == str(note.pk)


def test_the_list_costs_the_same_for_one_note_or_many(
    client: APIClient,
    clinician: User,
    alvarez: EpisodeOfCare,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    signed_note(clinician, alvarez)
    with CaptureQueriesContext(connection) as one:
        client.get(f"{API}notes/", {"patient": alvarez.patient_id})
    for hours in (1, 2, 3):
        begins = START + dt.timedelta(hours=hours)
        write_note(
            clinician, alvarez, started_at=begins, ended_at=begins + dt.timedelta(minutes=30)
        )
    with django_assert_max_num_queries(len(one)):
        listed = client.get(f"{API}notes/", {"patient": alvarez.patient_id})
    assert as_json(listed)["count"] == 4


def test_a_supervisor_cosigns_from_their_queue(
    clinician: User, make_user: Callable[..., User], alvarez: EpisodeOfCare
) -> None:
    supervisor = make_user(Role.CLINICAL_SUPERVISOR)
    clinician.supervisor = supervisor
    clinician.needs_cosign = True
    clinician.save()
    draft: Note = write_note(clinician, alvarez)  # type: ignore[assignment]
    mine = api_signed_in(clinician)
    to_sign = as_json(mine.get(f"{API}notes/to-sign/"))
    assert [(r["type"], r["id"], r["overdue"]) for r in to_sign] == [("note", draft.pk, True)]
    post(mine, f"notes/{draft.pk}/sign/", {"password": PASSWORD})
    assert mine.get(f"{API}notes/cosign-queue/").status_code == 403
    refused = post(mine, f"notes/{draft.pk}/cosign/", {"password": PASSWORD})
    assert refused.status_code == 403

    theirs = api_signed_in(supervisor)
    queue = as_json(theirs.get(f"{API}notes/cosign-queue/"))
    assert [(r["type"], r["id"], r["patient"]) for r in queue] == [
        ("note", draft.pk, alvarez.patient_id)
    ]
    wrong = post(theirs, f"notes/{draft.pk}/cosign/", {"password": "x"})
    assert wrong.status_code == 400 and not Cosignature.objects.exists()
    done = post(theirs, f"notes/{draft.pk}/cosign/", {"password": PASSWORD, "comment": "Agree."})
    assert done.status_code == 200, done.content
    body = as_json(done)
    assert body["cosigned"] is True and body["cosignature"]["comment"] == "Agree."
    assert as_json(theirs.get(f"{API}notes/cosign-queue/")) == []


def _schema_warnings(patterns: list[Any]) -> set[str]:
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    return set(GENERATOR_STATS._warn_cache) | set(GENERATOR_STATS._error_cache)


def test_the_notes_endpoints_add_no_schema_warnings(db: None) -> None:
    from config.urls import api_v1 as urls

    api_v1: list[Any] = list(urls)
    without: list[Any] = [
        p for p in api_v1 if "openiop.notes.api_urls" not in str(getattr(p, "urlconf_name", ""))
    ]
    assert len(without) == len(api_v1) - 1
    before = _schema_warnings([path("api/v1/", include((without, "api")))])
    after = _schema_warnings([path("api/v1/", include((api_v1, "api")))])
    assert after == before
    schema = SchemaGenerator(patterns=[path("api/v1/", include((api_v1, "api")))]).get_schema(
        request=None, public=True
    )
    validate_schema(schema)
    assert "/api/v1/group-note-entries/" in schema["paths"]
    assert "/api/v1/notes/{id}/sign/" in schema["paths"]
