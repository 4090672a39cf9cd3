"""Writing an individual, family or case-management note through its pages: the form in the
organization's format, signing with the password, discarding, addenda, co-signature."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notes import services
from openiop.notes.models import Addendum, Cosignature, Note, NoteSettings
from openiop.scheduling import services as scheduling
from openiop.scheduling.models import Appointment
from tests.conftest import body, signed_in
from tests.factories import SupportContactFactory
from tests.notes.conftest import PASSWORD, objective_of, write_note

pytestmark = pytest.mark.django_db


def new_url(episode: EpisodeOfCare, kind: str = "individual") -> str:
    return reverse("notes:new", args=[episode.patient_id, kind])


def detail_url(note: Note) -> str:
    return reverse("notes:detail", args=[note.patient_id, note.pk])


def posted(episode: EpisodeOfCare, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "day": "2026-03-03",
        "start": "09:00",
        "end": "09:50",
        "data": "Said cravings eased this week.",
        "assessment": "Improving; engaged.",
        "plan": "Meet next Tuesday.",
        "objectives": [str(objective_of(episode).pk)],
        "risk_level": "none",
        "risk_text": "",
        "late_reason": "Charting after the holiday.",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_follows_the_organizations_format_with_hints(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    client = signed_in(clinician)
    page = body(client.get(new_url(attendees[0])))
    assert "Individual session note" in page
    for label in ("Data", "Assessment", "Plan"):
        assert f">{label}</label>" in page
    assert "What the patient said and did; what you observed." in page
    assert objective_of(attendees[0]).text in page
    assert clinician.organization is not None
    NoteSettings.objects.create(organization=clinician.organization, note_format="birp")
    page = body(client.get(new_url(attendees[0])))
    for label in ("Behavior", "Intervention", "Response", "Plan"):
        assert f">{label}</label>" in page
    assert 'name="data"' not in page


def test_a_draft_is_saved_in_the_facility_zone_and_linked(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    response = signed_in(clinician).post(new_url(attendees[0]), posted(attendees[0]))
    assert response.status_code == 302
    note = Note.objects.get()
    assert response["Location"] == detail_url(note)
    assert note.kind == "individual" and note.note_format == "dap"
    # 9:00 in Los Angeles (PST, before daylight saving) is 17:00 UTC
    assert note.started_at == dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.UTC)
    assert note.sections["data"] == "Said cravings eased this week."
    assert note.late_entry and note.late_reason == "Charting after the holiday."
    assert list(note.objective_links.values_list("objective_id", flat=True)) == [
        objective_of(attendees[0]).pk
    ]
    assert note.signed_at is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"end": "08:30"}, "The end time is before the start time."),
        ({"late_reason": ""}, "say why (it will be marked as a late entry)"),
        ({"start": ""}, "Enter when the session started."),
        ({"day": "2025-06-01"}, "The patient was not in treatment with us on that day."),
        ({"objectives": ["999999"]}, "Choose objectives from the patient&#x27;s active"),
        ({"risk_level": "extreme"}, "Select a valid choice."),
    ],
)
def test_bad_input_saves_nothing(
    clinician: User, attendees: list[EpisodeOfCare], fields: dict[str, Any], message: str
) -> None:
    response = signed_in(clinician).post(new_url(attendees[0]), posted(attendees[0], **fields))
    assert response.status_code == 200
    page = body(response)
    assert "Nothing was saved." in page
    assert message in page
    assert not Note.objects.exists()


def test_a_family_note_lists_the_support_system_who_took_part(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    patient = attendees[0].patient
    mother = SupportContactFactory.create(patient=patient, name="Rosa Example")
    SupportContactFactory.create(patient=patient, name="Former Contact", active=False)
    client = signed_in(clinician)
    page = body(client.get(new_url(attendees[0], "family")))
    assert "Rosa Example" in page and "Former Contact" not in page
    assert signed_in(clinician).get(new_url(attendees[0], "individual")).status_code == 200
    assert "Rosa Example" not in body(client.get(new_url(attendees[0], "individual")))
    data = posted(attendees[0], participants=[str(mother.pk)])
    assert client.post(new_url(attendees[0], "family"), data).status_code == 302
    note = Note.objects.get()
    assert note.kind == "family"
    assert list(note.participants.all()) == [mother]


def test_an_unknown_kind_is_404(clinician: User, attendees: list[EpisodeOfCare]) -> None:
    assert signed_in(clinician).get(new_url(attendees[0], "group")).status_code == 404


def test_an_appointment_fills_in_the_times(clinician: User, attendees: list[EpisodeOfCare]) -> None:
    episode = attendees[0]
    appointment = scheduling.book_appointment(
        actor=clinician,
        episode=episode,
        kind=Appointment.Kind.INDIVIDUAL,
        staff=clinician,
        day=dt.date(2026, 3, 4),
        start=dt.time(14, 0),
        minutes=50,
        room=None,
        telehealth=True,
        participants=[],
    )
    address = new_url(episode) + f"?appointment={appointment.pk}"
    client = signed_in(clinician)
    page = body(client.get(address))
    assert 'value="2026-03-04"' in page and 'value="14:00"' in page and 'value="14:50"' in page
    data = posted(episode, day="2026-03-04", start="14:00", end="14:50")
    data["appointment"] = str(appointment.pk)
    assert client.post(address, data).status_code == 302
    assert Note.objects.get().appointment_id == appointment.pk


def _draft(clinician: User, episode: EpisodeOfCare, **overrides: Any) -> Note:
    note = write_note(clinician, episode, **overrides)
    assert isinstance(note, Note)
    return note


def test_signing_with_a_wrong_password_signs_nothing(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    note = _draft(clinician, attendees[0])
    client = signed_in(clinician)
    page = body(client.get(detail_url(note)))
    assert "Your password or a code from your authenticator app" in page
    assert 'name="sign-code"' in page
    page = body(client.post(detail_url(note), {"action": "sign", "sign-password": "wrong"}))
    assert "The note is not signed." in page
    note.refresh_from_db()
    assert note.signed_at is None
    assert not AuditEvent.objects.filter(section="clinical note", action="sign").exists()
    response = client.post(detail_url(note), {"action": "sign", "sign-password": PASSWORD})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.signed_at is not None and note.sign_method == "password"
    assert AuditEvent.objects.filter(section="clinical note", action="sign").count() == 1


def test_an_incomplete_draft_says_what_is_missing_before_signing(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    note = _draft(clinician, attendees[0], sections={"data": "Only data."}, risk_level="high")
    client = signed_in(clinician)
    page = body(client.get(detail_url(note)))
    assert "Finish the draft before signing" in page
    assert "Write the assessment section." in page
    assert "Describe the risk you assessed and the safety plan." in page
    client.post(detail_url(note), {"action": "sign", "sign-password": PASSWORD})
    note.refresh_from_db()
    assert note.signed_at is None


def test_a_signed_note_cannot_be_edited(clinician: User, attendees: list[EpisodeOfCare]) -> None:
    note = services.sign_note(
        actor=clinician, note=_draft(clinician, attendees[0]), password=PASSWORD
    )
    edit = reverse("notes:edit", args=[note.patient_id, note.pk])
    client = signed_in(clinician)
    response = client.post(edit, posted(attendees[0], data="Rewritten after signing."))
    assert response.status_code == 302 and response["Location"] == detail_url(note)
    note.refresh_from_db()
    assert note.sections["data"] == "Said cravings eased."
    page = body(client.get(detail_url(note)))
    assert "can no longer be changed" in page
    assert "Add an addendum" in page
    assert 'value="sign"' not in page


def test_only_the_author_changes_signs_or_discards_a_draft(
    clinician: User, attendees: list[EpisodeOfCare], make_user: Any
) -> None:
    note = _draft(clinician, attendees[0])
    colleague = make_user(Role.CLINICAL_DIRECTOR)
    client = signed_in(colleague)
    assert "Only they can change or sign it." in body(client.get(detail_url(note)))
    edit = reverse("notes:edit", args=[note.patient_id, note.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, posted(attendees[0], data="Not mine")).status_code == 403
    assert client.post(detail_url(note), {"action": "discard"}).status_code == 403
    client.post(detail_url(note), {"action": "sign", "sign-password": PASSWORD})
    note.refresh_from_db()
    assert note.signed_at is None and note.sections["data"] == "Said cravings eased."


def test_the_author_edits_and_discards_a_draft(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    note = _draft(clinician, attendees[0])
    client = signed_in(clinician)
    edit = reverse("notes:edit", args=[note.patient_id, note.pk])
    page = body(client.get(edit))
    assert "Said cravings eased." in page and 'value="2026-03-03"' in page
    assert client.post(edit, posted(attendees[0], data="Rewritten.")).status_code == 302
    note.refresh_from_db()
    assert note.sections["data"] == "Rewritten."
    assert "Discard this draft" in body(client.get(detail_url(note)))
    response = client.post(detail_url(note), {"action": "discard"})
    assert response["Location"] == reverse("notes:chart", args=[note.patient_id])
    assert not Note.objects.exists()


def test_an_addendum_needs_the_reason_and_the_password(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    note = services.sign_note(
        actor=clinician, note=_draft(clinician, attendees[0]), password=PASSWORD
    )
    client = signed_in(clinician)
    data = {"action": "addendum", "add-text": "Called back later.", "add-reason": ""}
    page = body(client.post(detail_url(note), {**data, "add-password": PASSWORD}))
    assert "Say why you add this." in page
    page = body(client.post(detail_url(note), {**data, "add-reason": "Later call"}))
    assert "Enter your password or a code" in page
    assert not Addendum.objects.exists()
    ok = {**data, "add-reason": "Later call", "add-password": PASSWORD}
    assert client.post(detail_url(note), ok).status_code == 302
    addendum = Addendum.objects.get()
    assert addendum.note_id == note.pk and addendum.reason == "Later call"
    page = body(client.get(detail_url(note)))
    assert "Called back later." in page and "why: Later call" in page


def test_a_supervisor_cosigns_from_the_note(
    clinician: User, attendees: list[EpisodeOfCare], make_user: Any
) -> None:
    supervisor = make_user(Role.CLINICAL_SUPERVISOR)
    User.objects.filter(pk=clinician.pk).update(supervisor=supervisor, needs_cosign=True)
    clinician.refresh_from_db()
    note = services.sign_note(
        actor=clinician, note=_draft(clinician, attendees[0]), password=PASSWORD
    )
    assert "Co-sign the note" not in body(signed_in(clinician).get(detail_url(note)))
    client = signed_in(supervisor)
    queue = body(client.get(reverse("notes:cosign_queue")))
    assert detail_url(note) in queue and attendees[0].patient.display_name in queue
    page = body(client.get(detail_url(note)))
    assert "Waiting for co-signature" in page and "Co-sign the note" in page
    page = body(client.post(detail_url(note), {"action": "cosign", "cosign-password": "no"}))
    assert "Not co-signed." in page
    assert not Cosignature.objects.exists()
    data = {"action": "cosign", "cosign-password": PASSWORD, "cosign-comment": "Reviewed."}
    assert client.post(detail_url(note), data).status_code == 302
    assert Cosignature.objects.get().cosigned_by == supervisor
    assert detail_url(note) not in body(client.get(reverse("notes:cosign_queue")))


def test_the_late_reason_is_kept_out_of_the_way_for_a_timely_note(
    clinician: User, attendees: list[EpisodeOfCare]
) -> None:
    """A note written the same day as its service is not late: no reason is asked."""
    now = timezone.localtime(timezone.now(), attendees[0].patient.facility.zone)
    start = (now - dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    if start.date() != (start + dt.timedelta(minutes=50)).date():
        start = start.replace(hour=22, minute=0)  # the form takes one day: end before midnight
    data = posted(
        attendees[0],
        day=start.date().isoformat(),
        start=start.strftime("%H:%M"),
        end=(start + dt.timedelta(minutes=50)).strftime("%H:%M"),
        late_reason="",
    )
    response = signed_in(clinician).post(new_url(attendees[0]), data)
    assert response.status_code == 302
    note = Note.objects.get()
    assert not note.late_entry
    page = body(signed_in(clinician).get(reverse("notes:edit", args=[note.patient_id, note.pk])))
    assert 'name="late_reason"' not in page
