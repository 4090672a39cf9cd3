"""Group notes through the services: one shared part, one entry per attendee, signing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes import services
from openiop.notes.models import GroupNote, GroupNoteEntry
from openiop.plans.models import ObjectiveLink
from openiop.scheduling.models import Session
from tests.factories import CareTeamMemberFactory
from tests.notes.conftest import (
    PASSWORD,
    entry_for,
    objective_of,
    signed_group_note,
    write_group_note,
)

pytestmark = pytest.mark.django_db


def test_it_writes_the_shared_part_once_and_an_entry_per_attendee(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = write_group_note(clinician, session, attendees)
    assert note.topic == "Coping with cravings"
    assert note.late_entry is True  # written months after the session
    assert sorted(note.entries.values_list("patient__last_name", flat=True)) == [
        "Alvarez",
        "Baker",
        "Chen",
    ]
    events = AuditEvent.objects.filter(section="group note", action="create")
    assert {e.patient_id for e in events} == {e.patient_id for e in attendees}


def test_it_refuses_a_note_for_someone_who_did_not_attend(
    clinician: User, session: Session, attendees: list[EpisodeOfCare], absent: EpisodeOfCare
) -> None:
    with pytest.raises(ValidationError) as error:
        write_group_note(clinician, session, [*attendees, absent])
    assert "did not attend" in str(error.value.message_dict["entries"])
    assert "Diaz" in str(error.value.message_dict["entries"])
    assert not GroupNote.objects.exists()
    assert not GroupNoteEntry.objects.exists()


def test_it_refuses_an_objective_from_another_patients_plan(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    first, second = attendees[0], attendees[1]
    with pytest.raises(ValidationError) as error:
        services.save_group_note(
            actor=clinician,
            session=session,
            topic="T",
            interventions="I",
            process="P",
            late_reason="Late.",
            entries={first.patient_id: entry_for(first, objective_id=objective_of(second).pk)},
        )
    assert f"entry-{first.patient_id}-objective" in error.value.message_dict
    assert not GroupNote.objects.exists()


def test_a_late_note_needs_the_reason(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    with pytest.raises(ValidationError) as error:
        write_group_note(clinician, session, attendees, late_reason="")
    assert "late_reason" in error.value.message_dict


def test_signing_needs_every_attendee_and_the_password(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    note = write_group_note(clinician, session, attendees[:2])
    with pytest.raises(ValidationError, match="1 attendee"):
        services.sign_group_note(actor=clinician, group_note=note, password=PASSWORD)
    note = write_group_note(clinician, session, attendees)
    with pytest.raises(ValidationError) as error:
        services.sign_group_note(actor=clinician, group_note=note, password="wrong")
    assert "password" in error.value.message_dict
    note.refresh_from_db()
    assert note.signed_at is None
    signed = services.sign_group_note(actor=clinician, group_note=note, password=PASSWORD)
    assert signed.signed_at is not None and signed.sign_method == "password"
    # the golden thread: each attendee's objective is linked to their own entry
    links = ObjectiveLink.objects.filter(service_kind="group")
    assert {link.patient_id for link in links} == {e.patient_id for e in attendees}


def test_a_signed_group_note_refuses_changes(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    signed_group_note(clinician, session, attendees)
    with pytest.raises(ValidationError, match="addendum"):
        write_group_note(clinician, session, attendees, topic="Changed")
    assert GroupNote.objects.get().topic == "Coping with cravings"


def test_only_the_author_signs(
    clinician: User, session: Session, attendees: list[EpisodeOfCare], director: User
) -> None:
    note = write_group_note(clinician, session, attendees)
    with pytest.raises(PermissionDenied):
        services.sign_group_note(actor=director, group_note=note, password=PASSWORD)


def test_an_outsider_cannot_write_entries(
    other_clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    with pytest.raises(PermissionDenied):
        write_group_note(other_clinician, session, attendees)
    assert not GroupNote.objects.exists()


def test_a_part_for_someone_marked_absent_since_is_dropped(
    clinician: User, session: Session, attendees: list[EpisodeOfCare]
) -> None:
    from tests.scheduling import factories

    write_group_note(clinician, session, attendees)
    factories.came(clinician, session, attendees[2], status="excused")  # corrected later
    with pytest.raises(ValidationError, match="no longer recorded as attending"):
        services.sign_group_note(
            actor=clinician, group_note=GroupNote.objects.get(), password=PASSWORD
        )
    note = write_group_note(clinician, session, attendees[:2])
    assert sorted(note.entries.values_list("patient_id", flat=True)) == sorted(
        e.patient_id for e in attendees[:2]
    )
    assert services.sign_group_note(actor=clinician, group_note=note, password=PASSWORD).is_signed


def test_the_author_signs_for_the_attendees_they_may_see(
    make_user: Callable[..., User], session: Session, attendees: list[EpisodeOfCare]
) -> None:
    colleague = make_user(role=Role.CLINICIAN)
    for e in attendees[:2]:  # Chen is not in the colleague's care
        CareTeamMemberFactory.create(patient=e.patient, user=colleague)
    note = write_group_note(colleague, session, attendees[:2])
    signed = services.sign_group_note(actor=colleague, group_note=note, password=PASSWORD)
    assert signed.is_signed
    event = AuditEvent.objects.filter(action="sign", section="group note").first()
    assert event is not None and event.detail["attendees_not_in_your_care"] == 1


def test_a_session_at_another_facility_is_refused(other_clinician: User, session: Session) -> None:
    with pytest.raises(PermissionDenied):
        services.save_group_note(
            actor=other_clinician,
            session=session,
            topic="T",
            interventions="I",
            process="P",
            entries={},
            late_reason="Late.",
        )
    assert not GroupNote.objects.exists()
