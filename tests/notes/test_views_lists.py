"""Notes to sign, notes to co-sign and the organization's note settings."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes.models import Note, NoteSettings
from openiop.scheduling.models import Session
from tests.conftest import body, signed_in
from tests.notes.conftest import write_group_note, write_note

pytestmark = pytest.mark.django_db


def test_my_drafts_are_listed_with_the_overdue_ones_flagged(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = write_note(clinician, attendees[0])
    assert isinstance(note, Note)
    write_group_note(clinician, session, attendees)
    page = body(signed_in(clinician).get(reverse("notes:to_sign")))
    assert reverse("notes:edit", args=[note.patient_id, note.pk]) in page
    assert reverse("notes:group", args=[session.pk]) in page
    assert "2 notes unsigned for more than 24 hours." in page
    assert "Unsigned for more than 24 hours" in page
    assert attendees[0].patient.display_name in page
    # the group note is listed by its group, never by its attendees
    assert "Baker" not in page and "Chen" not in page
    event = AuditEvent.objects.get(section="notes to sign")
    assert event.patient_id == attendees[0].patient_id


def test_nothing_to_sign(clinician: User) -> None:
    page = body(signed_in(clinician).get(reverse("notes:to_sign")))
    assert "Nothing to sign" in page


def test_a_supervisor_sees_the_supervisees_overdue_notes(
    clinician: User, attendees: list[EpisodeOfCare], make_user: Any
) -> None:
    supervisor = make_user(Role.CLINICAL_SUPERVISOR)
    User.objects.filter(pk=clinician.pk).update(supervisor=supervisor)
    note = write_note(clinician, attendees[0])
    assert isinstance(note, Note)
    page = body(signed_in(supervisor).get(reverse("notes:to_sign")))
    assert "My supervisees' overdue notes" in page
    assert reverse("notes:detail", args=[note.patient_id, note.pk]) in page
    assert clinician.display_name in page


def test_only_the_clinical_team_opens_the_lists(
    front_desk: User, billing: User, clinician: User
) -> None:
    for user in (front_desk, billing):
        assert signed_in(user).get(reverse("notes:to_sign")).status_code == 403
        assert signed_in(user).get(reverse("notes:cosign_queue")).status_code == 403
    assert signed_in(clinician).get(reverse("notes:cosign_queue")).status_code == 403


def test_the_director_sets_the_format_and_hours(director: User, clinician: User) -> None:
    address = reverse("notes:settings")
    assert signed_in(clinician).get(address).status_code == 403
    assert signed_in(clinician).post(address, {"note_format": "soap"}).status_code == 403
    client = signed_in(director)
    assert "DAP (data, assessment, plan)" in body(client.get(address))
    bad = {"note_format": "soap", "unsigned_after_hours": "0", "late_after_hours": "400"}
    page = body(client.post(address, bad))
    assert "Nothing was saved." in page
    assert page.count("Enter a number of hours from 1 to 336 (two weeks).") == 2
    assert not NoteSettings.objects.exists()
    good = {"note_format": "soap", "unsigned_after_hours": "48", "late_after_hours": "72"}
    assert client.post(address, good).status_code == 302
    saved = NoteSettings.objects.get()
    assert (saved.note_format, saved.unsigned_after_hours, saved.late_after_hours) == (
        "soap",
        48,
        72,
    )
    assert AuditEvent.objects.filter(section="note settings", action="update").exists()


def test_the_work_list_shows_the_facilitys_time(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    write_note(clinician, attendees[0])  # 17:00 UTC on 3 March: 9:00 AM in Los Angeles
    page = body(signed_in(clinician).get(reverse("notes:to_sign")))
    assert "03/03/2026 9:00 AM" in page
    assert "5:00 PM" not in page
