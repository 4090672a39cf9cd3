"""Individual, family and case-management notes; addenda, co-signatures, unsigned flags."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from allauth.mfa.totp.internal import auth as totp_auth
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes import rules, services
from openiop.notes.models import Addendum, Cosignature, Note, NoteSettings, UnsignedFlag
from openiop.notifications.models import Notification
from openiop.plans.models import ObjectiveLink
from tests.factories import SupportContactFactory
from tests.notes.conftest import PASSWORD, write_note

pytestmark = pytest.mark.django_db

NOW = 1_780_000_000.0
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def sign(note: object, actor: User) -> Note:
    assert isinstance(note, Note)
    return services.sign_note(actor=actor, note=note, password=PASSWORD)


def test_it_writes_a_dap_note_by_default(clinician: User, attendees: list[EpisodeOfCare]) -> None:
    note = write_note(clinician, attendees[0])
    assert isinstance(note, Note)
    assert note.note_format == rules.DAP
    assert [label for label, _ in note.section_items()] == ["Data", "Assessment", "Plan"]
    assert note.late_entry and note.late_reason == "Charting after the holiday."
    assert note.service_date == dt.date(2026, 3, 3)


def test_the_organization_chooses_birp(
    director: User, clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    services.save_settings(
        actor=director,
        organization=director.organization,  # type: ignore[arg-type]
        note_format=rules.BIRP,
        unsigned_after_hours=48,
        late_after_hours=24,
    )
    sections = {"behavior": "B", "intervention": "I", "response": "R", "plan": "P"}
    note = write_note(clinician, attendees[0], sections=sections)
    assert isinstance(note, Note)
    assert note.note_format == rules.BIRP
    assert note.sections == sections


def test_only_the_director_sets_the_format(clinician: User) -> None:
    with pytest.raises(PermissionDenied):
        services.save_settings(
            actor=clinician,
            organization=clinician.organization,  # type: ignore[arg-type]
            note_format=rules.SOAP,
            unsigned_after_hours=24,
            late_after_hours=24,
        )
    assert not NoteSettings.objects.exists()


def test_bad_times_and_future_sessions_are_refused(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    start = timezone.now() + dt.timedelta(hours=2)
    with pytest.raises(ValidationError) as error:
        write_note(clinician, attendees[0], started_at=start, ended_at=start)
    assert "has not happened" in str(error.value.message_dict["started_at"])
    past = dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.UTC)
    with pytest.raises(ValidationError) as error:
        write_note(clinician, attendees[0], started_at=past, ended_at=past - dt.timedelta(hours=1))
    assert "ended_at" in error.value.message_dict
    assert not Note.objects.exists()


def test_family_participants_come_from_the_support_system(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    patient = attendees[0].patient
    mother = SupportContactFactory.create(patient=patient, name="Rosa Alvarez")
    stranger = SupportContactFactory.create(patient=attendees[1].patient)
    with pytest.raises(ValidationError) as error:
        write_note(clinician, attendees[0], kind="family", participant_ids=[stranger.pk])
    assert "participants" in error.value.message_dict
    note = write_note(clinician, attendees[0], kind="family", participant_ids=[mother.pk])
    assert isinstance(note, Note)
    assert list(note.participants.all()) == [mother]


def test_signing_needs_every_section_and_the_risk_plan(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    note = write_note(
        clinician,
        attendees[0],
        sections={"data": "D", "assessment": "", "plan": "P"},
        risk_level="moderate",
    )
    with pytest.raises(ValidationError) as error:
        sign(note, clinician)
    assert set(error.value.message_dict) == {"assessment", "risk_text"}
    assert Note.objects.get().signed_at is None


def test_signing_stamps_and_links_the_objectives(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    note = sign(write_note(clinician, attendees[0]), clinician)
    assert note.signed_at is not None and note.signed_by == clinician
    assert ObjectiveLink.objects.filter(service_kind="individual").count() == 1
    assert AuditEvent.objects.filter(action="sign", section="clinical note").count() == 1
    with pytest.raises(ValidationError, match="addendum"):
        write_note(clinician, attendees[0], note=note, risk_text="changed")


def test_a_note_without_objectives_is_flagged(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    note = write_note(clinician, attendees[0], objective_ids=[])
    assert isinstance(note, Note)
    assert "no treatment-plan objective" in services.unlinked_warning(note)


def test_it_signs_with_an_authenticator_code(
    clinician: User, attendees: list[EpisodeOfCare], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(totp_auth, "time", types.SimpleNamespace(time=lambda: NOW))
    totp_auth.TOTP.activate(clinician, SECRET)
    code = totp_auth.format_hotp_value(totp_auth.hotp_value(SECRET, int(NOW) // 30))
    note = write_note(clinician, attendees[0])
    assert isinstance(note, Note)
    with pytest.raises(ValidationError):
        services.sign_note(actor=clinician, note=note, code="000000" if code != "000000" else "1")
    signed = services.sign_note(actor=clinician, note=note, code=code)
    assert signed.sign_method == "mfa"


def test_an_addendum_says_who_when_and_why(clinician: User, attendees: list[EpisodeOfCare]) -> None:
    draft = write_note(clinician, attendees[0])
    assert isinstance(draft, Note)
    with pytest.raises(ValidationError, match="not signed"):
        services.add_addendum(
            actor=clinician, target=draft, text="x", reason="y", password=PASSWORD
        )
    note = sign(draft, clinician)
    with pytest.raises(ValidationError) as error:
        services.add_addendum(
            actor=clinician, target=note, text="More.", reason="", password=PASSWORD
        )
    assert "reason" in error.value.message_dict
    addendum = services.add_addendum(
        actor=clinician, target=note, text="More.", reason="Called back.", password=PASSWORD
    )
    assert addendum.author == clinician and addendum.reason == "Called back."
    assert Addendum.objects.count() == 1


def test_the_supervisor_cosigns_a_supervisees_note(
    make_user: object, attendees: list[EpisodeOfCare], clinician: User
) -> None:
    supervisor = make_user(role=Role.CLINICAL_SUPERVISOR)  # type: ignore[operator]
    clinician.supervisor = supervisor
    clinician.needs_cosign = True
    clinician.save()
    note = sign(write_note(clinician, attendees[0]), clinician)
    assert note.needs_cosign
    from openiop.notes import selectors

    assert selectors.cosign_queue(supervisor) == [note]
    with pytest.raises(PermissionDenied):
        services.cosign(actor=clinician, target=note, password=PASSWORD)
    services.cosign(actor=supervisor, target=note, password=PASSWORD, comment="Agree.")
    assert Cosignature.objects.get().cosigned_by == supervisor
    assert selectors.cosign_queue(supervisor) == []
    with pytest.raises(ValidationError, match="already"):
        services.cosign(actor=supervisor, target=note, password=PASSWORD)


def test_unsigned_notes_are_flagged_once_to_author_and_supervisor(
    make_user: object, attendees: list[EpisodeOfCare], clinician: User
) -> None:
    supervisor = make_user(role=Role.CLINICAL_SUPERVISOR)  # type: ignore[operator]
    clinician.supervisor = supervisor
    clinician.save()
    note = write_note(clinician, attendees[0])
    assert isinstance(note, Note)
    just_before = note.ended_at + dt.timedelta(hours=24)
    assert services.flag_unsigned(now=just_before) == 0  # exactly 24 h: not yet
    assert services.flag_unsigned(now=just_before + dt.timedelta(minutes=1)) == 1
    assert services.flag_unsigned(now=just_before + dt.timedelta(hours=5)) == 0  # once
    assert UnsignedFlag.objects.count() == 1
    told = set(Notification.objects.values_list("recipient_id", flat=True))
    assert told == {clinician.pk, supervisor.pk}
    assert "Alvarez" not in Notification.objects.first().message  # type: ignore[union-attr]


def test_rules_late_and_overdue_at_the_boundary() -> None:
    ended = dt.datetime(2026, 3, 3, 18, 0, tzinfo=dt.UTC)
    exactly = ended + dt.timedelta(hours=24)
    assert not rules.is_late(service_ended=ended, written=exactly, late_after_hours=24)
    assert rules.is_late(
        service_ended=ended, written=exactly + dt.timedelta(seconds=1), late_after_hours=24
    )
    assert not rules.unsigned_overdue(service_ended=ended, now=exactly, unsigned_after_hours=24)
    assert rules.unsigned_overdue(
        service_ended=ended, now=exactly + dt.timedelta(seconds=1), unsigned_after_hours=24
    )


def test_an_outsider_cannot_write_a_note(
    other_clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    with pytest.raises(PermissionDenied):
        write_note(other_clinician, attendees[0], objective_ids=[])
    assert not Note.objects.exists()


def test_billing_cannot_write_notes(billing: User, attendees: list[EpisodeOfCare]) -> None:
    with pytest.raises(PermissionDenied):
        write_note(billing, attendees[0], objective_ids=[])
