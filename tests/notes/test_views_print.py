"""Printouts (PDF) and the CSV export: audited, with the §2.32 notice, and a group note only
as the patient's chart shows it (shared part and own part)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes import printing, selectors, services
from openiop.notes.models import GroupNoteEntry, Note
from openiop.patients.consent_rules import PART2_NOTICE
from openiop.scheduling.models import Session
from tests.conftest import signed_in
from tests.notes.conftest import PASSWORD, signed_group_note, write_note

pytestmark = pytest.mark.django_db


def _signed_note(clinician: User, episode: EpisodeOfCare, **overrides: object) -> Note:
    draft = write_note(clinician, episode, **overrides)
    assert isinstance(draft, Note)
    return services.sign_note(actor=clinician, note=draft, password=PASSWORD)


def _entry(episode: EpisodeOfCare) -> GroupNoteEntry:
    found = selectors.group_entry_of(
        episode.patient, GroupNoteEntry.objects.get(patient=episode.patient).pk
    )
    assert found is not None
    return found


def test_the_printed_group_note_has_only_the_patients_own_part(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    signed_group_note(clinician, session, attendees)
    baker = GroupNoteEntry.objects.get(patient=attendees[1].patient)
    services.add_addendum(
        actor=clinician, target=baker, text="Baker only.", reason="Later", password=PASSWORD
    )
    alvarez = attendees[0].patient
    html = printing.entry_html(_entry(attendees[0]), alvarez, clinician)
    assert PART2_NOTICE in html
    assert "Response written for Alvarez." in html and "Plan written for Alvarez." in html
    assert "Coping with cravings" in html
    assert "Baker" not in html and "Chen" not in html


def test_the_pdf_is_a_pdf_and_is_audited_as_a_print(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    signed_group_note(clinician, session, attendees)
    entry = GroupNoteEntry.objects.get(patient=attendees[0].patient)
    pid = attendees[0].patient_id
    response = signed_in(clinician).get(reverse("notes:entry_print", args=[pid, entry.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    event = AuditEvent.objects.get(action="print", patient_id=pid)
    assert event.object_id == str(entry.pk)
    # another attendee's entry is not printable through this chart
    other = GroupNoteEntry.objects.get(patient=attendees[1].patient)
    address = reverse("notes:entry_print", args=[pid, other.pk])
    assert signed_in(clinician).get(address).status_code == 404


def test_a_note_prints_with_its_sections_signature_and_notice(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    note = _signed_note(clinician, attendees[0])
    loaded = selectors.note_of(attendees[0].patient, note.pk)
    assert loaded is not None
    html = printing.note_html(loaded, attendees[0].patient, clinician)
    assert PART2_NOTICE in html
    assert "Said cravings eased." in html
    assert f"by {clinician.display_name} (password)" in html
    assert "Late entry" in html and "Charting after the holiday." in html
    response = signed_in(clinician).get(
        reverse("notes:print", args=[attendees[0].patient_id, note.pk])
    )
    assert response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="print", object_id=str(note.pk)).exists()


def test_a_draft_prints_marked_as_a_draft(clinician: User, attendees: list[EpisodeOfCare]) -> None:
    draft = write_note(clinician, attendees[0])
    assert isinstance(draft, Note)
    loaded = selectors.note_of(attendees[0].patient, draft.pk)
    assert loaded is not None
    assert "DRAFT — not signed" in printing.note_html(loaded, attendees[0].patient, clinician)


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def test_the_export_has_signed_notes_and_only_the_patients_own_group_part(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    signed_group_note(clinician, session, attendees)
    baker = GroupNoteEntry.objects.get(patient=attendees[1].patient)
    services.add_addendum(
        actor=clinician, target=baker, text="Baker only.", reason="Later", password=PASSWORD
    )
    _signed_note(clinician, attendees[0])
    write_note(clinician, attendees[0], sections={"data": "Unsigned draft words."})
    pid = attendees[0].patient_id
    response = signed_in(clinician).get(reverse("notes:export", args=[pid]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "Baker" not in text and "Chen" not in text
    assert "Unsigned draft words." not in text
    rows = _rows(response.content)
    assert rows[0] == printing.CSV_COLUMNS
    assert rows[-1] == [PART2_NOTICE]
    body_rows = rows[1:-1]
    assert len(body_rows) == 2
    kinds = {r[3] for r in body_rows}
    assert kinds == {"Group", "Individual session"}
    group = next(r for r in body_rows if r[3] == "Group")
    assert "Response written for Alvarez." in group[9] and "Coping with cravings" in group[9]
    event = AuditEvent.objects.get(action="export", patient_id=pid)
    assert event.section == "clinical notes (export)"


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("ok", "ok"),
    ],
)
def test_a_cell_that_starts_like_a_formula_is_defused(text: str, cell: str) -> None:
    assert printing._cell(text) == cell
