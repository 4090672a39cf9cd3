"""Signed notes are immutable in the database itself, not only in the services.

These statements go around the services on purpose (queryset updates, raw SQL, deletes):
the triggers of migration 0002 must refuse them on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.purge import allow_audit_purge
from openiop.notes import services
from openiop.notes.models import (
    Addendum,
    GroupNote,
    GroupNoteEntry,
    Note,
    NoteObjective,
    NoteParticipant,
)
from openiop.scheduling.models import Session
from tests.factories import SupportContactFactory
from tests.notes.conftest import PASSWORD, objective_of, signed_group_note, write_note

pytestmark = pytest.mark.django_db


def refused(statement: object) -> bool:
    """Whether the database refuses the statement (run in its own savepoint)."""
    try:
        with transaction.atomic():
            statement()  # type: ignore[operator]
    except DatabaseError as error:
        assert "signed note is locked" in str(error)
        return True
    return False


@pytest.fixture
def signed_note(clinician: User, attendees: list[EpisodeOfCare]) -> Note:
    note = write_note(clinician, attendees[0])
    assert isinstance(note, Note)
    return services.sign_note(actor=clinician, note=note, password=PASSWORD)


def test_a_draft_can_change(clinician: User, attendees: list[EpisodeOfCare]) -> None:
    note = write_note(clinician, attendees[0])
    assert not refused(lambda: Note.objects.filter(pk=note.pk).update(risk_text="edited"))  # type: ignore[attr-defined]
    assert Note.objects.get().risk_text == "edited"


def test_a_signed_note_refuses_update_and_delete(signed_note: Note) -> None:
    assert refused(lambda: Note.objects.filter(pk=signed_note.pk).update(sections={"data": "x"}))
    assert refused(lambda: Note.objects.filter(pk=signed_note.pk).update(signed_at=None))
    with connection.cursor() as cursor:
        assert refused(
            lambda: cursor.execute("DELETE FROM notes_note WHERE id = %s", [signed_note.pk])
        )
        assert refused(
            lambda: cursor.execute(
                "UPDATE notes_note SET risk_text = %s WHERE id = %s", ["raw", signed_note.pk]
            )
        )
    signed_note.refresh_from_db()
    assert signed_note.sections["data"] == "Said cravings eased."
    assert signed_note.signed_at is not None


def test_a_signed_notes_objectives_and_participants_are_fixed(
    signed_note: Note, attendees: list[EpisodeOfCare]
) -> None:
    contact = SupportContactFactory.create(patient=signed_note.patient)
    assert refused(lambda: NoteObjective.objects.filter(note=signed_note).delete())
    assert refused(lambda: NoteParticipant.objects.create(note=signed_note, contact=contact))
    assert refused(
        lambda: NoteObjective.objects.filter(note=signed_note).update(
            objective=objective_of(attendees[1])
        )
    )
    assert NoteObjective.objects.filter(note=signed_note).count() == 1


def test_a_signed_group_note_and_its_entries_are_fixed(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = signed_group_note(clinician, session, attendees)
    entry = note.entries.first()
    assert entry is not None
    assert refused(lambda: GroupNote.objects.filter(pk=note.pk).update(topic="changed"))
    assert refused(lambda: GroupNoteEntry.objects.filter(pk=entry.pk).update(plan="changed"))
    assert refused(lambda: GroupNoteEntry.objects.filter(pk=entry.pk).delete())
    assert refused(
        lambda: GroupNoteEntry.objects.create(
            group_note=note,
            patient=entry.patient,
            episode=entry.episode,
            attendance=entry.attendance,
            participation="active",
            response="r",
            plan="p",
        )
    )
    assert GroupNoteEntry.objects.get(pk=entry.pk).plan == entry.plan


def test_addenda_never_change(signed_note: Note, clinician: User) -> None:
    addendum = services.add_addendum(
        actor=clinician,
        target=signed_note,
        text="Urine screen came back negative.",
        reason="Result received after signing.",
        password=PASSWORD,
    )
    assert refused(lambda: Addendum.objects.filter(pk=addendum.pk).update(text="changed"))
    assert refused(lambda: Addendum.objects.filter(pk=addendum.pk).delete())


def test_a_retention_purge_may_remove_signed_notes(signed_note: Note) -> None:
    with allow_audit_purge(connection):
        NoteObjective.objects.filter(note=signed_note).delete()
        Note.objects.filter(pk=signed_note.pk).delete()
    assert not Note.objects.exists()
