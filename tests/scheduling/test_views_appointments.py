"""Appointment pages, through the test client: book, reschedule, cancel, record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient
from openiop.scheduling import services
from openiop.scheduling.models import Appointment, Attendance, DoseDay, Room
from tests.admissions.factories import episode as make_episode
from tests.admissions.factories import program_with_phases
from tests.conftest import body, signed_in
from tests.factories import SupportContactFactory, UserFactory
from tests.patients.consent_factories import ConsentFactory
from tests.scheduling import factories
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def therapist(facility: Facility) -> User:
    return UserFactory.create(
        email="therapist@example.org",
        role=Role.CLINICIAN,
        facilities=[facility],
        first_name="Robin",
        last_name="Therapist",
    )


@pytest.fixture
def room(director: User, facility: Facility) -> Room:
    return factories.room(director, facility, "Office 2")


@pytest.fixture
def care(patient: Patient, program: Program, clinician: User) -> EpisodeOfCare:
    """The conftest patient, in treatment."""
    return make_episode(patient, program, clinician)


def new_url(patient: Patient) -> str:
    return reverse("scheduling:appointment_new", args=[patient.pk])


def booking(therapist: User, room: Room, **data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": "individual",
        "staff": str(therapist.pk),
        "day": MONDAY.isoformat(),
        "start": "13:00",
        "minutes": "",
        "room": str(room.pk),
    }
    values.update(data)
    return values


def booked(
    actor: User, care: EpisodeOfCare, therapist: User, room: Room, **data: Any
) -> Appointment:
    values: dict[str, Any] = {
        "kind": "individual",
        "staff": therapist,
        "day": MONDAY,
        "start": dt.time(13, 0),
        "minutes": 50,
        "room": room,
    }
    values.update(data)
    return services.book_appointment(actor=actor, episode=care, **values)


def test_it_books_with_the_usual_length(
    front_desk: User, care: EpisodeOfCare, therapist: User, room: Room
) -> None:
    client = signed_in(front_desk)
    page = body(client.get(new_url(care.patient)))
    assert "Robin Therapist" in page
    assert "Office 2" in page
    response = client.post(new_url(care.patient), booking(therapist, room), follow=True)
    appointment = Appointment.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "scheduling:appointment", args=[appointment.pk]
    )
    assert (appointment.kind, appointment.staff, appointment.minutes) == (
        "individual",
        therapist,
        50,
    )
    assert appointment.service_date == MONDAY
    page = body(response)
    assert "Booked: individual therapy on Monday 3/2/2026 at 1:00 PM with Robin Therapist." in page
    assert reverse("scheduling:patient", args=[care.patient_id]) in page


@pytest.mark.parametrize(("kind", "minutes"), [("drug_test", 15), ("case_management", 30)])
def test_the_usual_length_follows_the_kind(
    clinician: User, care: EpisodeOfCare, therapist: User, room: Room, kind: str, minutes: int
) -> None:
    signed_in(clinician).post(new_url(care.patient), booking(therapist, room, kind=kind))
    assert Appointment.objects.get().minutes == minutes


def test_a_double_booking_is_refused_with_who_is_in_the_way(
    clinician: User,
    facility: Facility,
    program: Program,
    care: EpisodeOfCare,
    therapist: User,
    room: Room,
) -> None:
    other = factories.admitted(facility, program, clinician, "Okafor")
    booked(clinician, other, therapist, room)
    response = signed_in(clinician).post(
        new_url(care.patient),
        {**booking(therapist, room, start="13:30"), "room": "", "telehealth": "on"},
    )
    page = body(response)
    assert response.status_code == 200
    assert "Nothing was booked." in page
    assert "Double-booked: Robin Therapist has an appointment on Mon 2 Mar at 1:00 pm." in page
    assert Appointment.objects.count() == 1


def test_family_participants_must_be_the_patients_own_contacts(
    clinician: User,
    facility: Facility,
    program: Program,
    care: EpisodeOfCare,
    therapist: User,
    room: Room,
) -> None:
    mine = SupportContactFactory.create(patient=care.patient, name="Ana Quintero")
    stranger = SupportContactFactory.create(
        patient=factories.admitted(facility, program, clinician, "Other").patient,
        name="Not Theirs",
    )
    client = signed_in(clinician)
    page = body(client.get(new_url(care.patient)))
    assert "Ana Quintero" in page
    assert "Not Theirs" not in page

    refused = client.post(
        new_url(care.patient),
        booking(therapist, room, kind="family", participants=[str(stranger.pk)]),
    )
    assert "Choose people from this patient&#x27;s support system." in body(refused)
    not_family = client.post(
        new_url(care.patient), booking(therapist, room, participants=[str(mine.pk)])
    )
    assert "Support-system members take part in family sessions only." in body(not_family)
    assert not Appointment.objects.exists()

    no_consent = client.post(
        new_url(care.patient),
        booking(therapist, room, kind="family", participants=[str(mine.pk)]),
    )
    assert "There is no active consent naming Ana Quintero." in body(no_consent)
    assert not Appointment.objects.exists()

    ConsentFactory.create(
        patient=care.patient,
        recipient_name=mine.name,
        recipient_organization="",
        support_contact=mine,
        categories=["attendance"],
        signed_at=dt.datetime(2026, 2, 1, 17, 0, tzinfo=dt.UTC),
    )
    client.post(
        new_url(care.patient),
        booking(therapist, room, kind="family", participants=[str(mine.pk)]),
    )
    family = Appointment.objects.get()
    assert list(family.participants.all()) == [mine]
    assert family.minutes == 50
    assert "Ana Quintero" in body(client.get(reverse("scheduling:appointment", args=[family.pk])))


def test_reschedule_keeps_the_old_one_as_rescheduled(
    clinician: User, care: EpisodeOfCare, therapist: User, room: Room
) -> None:
    old = booked(clinician, care, therapist, room)
    address = reverse("scheduling:appointment_reschedule", args=[old.pk])
    client = signed_in(clinician)
    page = body(client.get(address))
    assert "Move the appointment" in page
    # The browser's own pickers, starting at the current day and time.
    assert '<input type="date" name="day" value="2026-03-02"' in page
    assert '<input type="time" name="start" value="13:00"' in page
    missing = client.post(address, {"day": "2026-03-03", "start": "10:00", "reason": ""})
    assert "Say why it moves." in body(missing)
    assert 'value="2026-03-03"' in body(missing)  # kept as typed
    response = client.post(
        address, {"day": "2026-03-03", "start": "10:00", "reason": "Patient works late"}
    )
    old.refresh_from_db()
    assert old.status == Appointment.Status.RESCHEDULED
    assert old.status_reason == "Patient works late"
    new = old.rescheduled_to
    assert new is not None
    assert response["Location"] == reverse("scheduling:appointment", args=[new.pk])
    assert (new.service_date, new.minutes, new.staff, new.status) == (
        dt.date(2026, 3, 3),
        50,
        therapist,
        "scheduled",
    )
    page = body(client.get(reverse("scheduling:appointment", args=[new.pk])))
    assert "Moved from" in page and "Patient works late" in page
    # The old one can no longer be moved or cancelled.
    again = client.get(address, follow=True)
    assert "This appointment is already rescheduled." in body(again)


def test_cancel_asks_for_the_reason_then_cancels(
    front_desk: User, care: EpisodeOfCare, therapist: User, room: Room
) -> None:
    appointment = booked(front_desk, care, therapist, room)
    address = reverse("scheduling:appointment_cancel", args=[appointment.pk])
    client = signed_in(front_desk)
    assert "Cancel this appointment?" in body(client.get(address))
    refused = client.post(address, {"reason": ""})
    assert "Say why it is cancelled." in body(refused)
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    client.post(address, {"reason": "Family emergency"})
    appointment.refresh_from_db()
    assert (appointment.status, appointment.status_reason) == ("cancelled", "Family emergency")


def test_a_no_show_records_an_unexcused_absence(
    clinician: User, care: EpisodeOfCare, therapist: User, room: Room
) -> None:
    appointment = booked(clinician, care, therapist, room)
    address = reverse("scheduling:appointment_record", args=[appointment.pk])
    client = signed_in(clinician)
    response = client.post(address, {"status": "unexcused"}, follow=True)
    assert "Recorded: unexcused absence, 0 minutes." in body(response)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.NO_SHOW
    row = Attendance.objects.get(appointment=appointment)
    assert (row.status, row.minutes, row.patient_id) == ("unexcused", 0, care.patient_id)
    assert DoseDay.objects.get(episode=care, date=MONDAY).minutes == 0


def test_attending_counts_the_minutes(
    clinician: User, care: EpisodeOfCare, therapist: User, room: Room
) -> None:
    appointment = booked(clinician, care, therapist, room)
    address = reverse("scheduling:appointment_record", args=[appointment.pk])
    client = signed_in(clinician)
    too_long = client.post(address, {"status": "present", "minutes": "51"})
    assert "cannot be more than the session&#x27;s 50 minutes" in body(too_long)
    assert not Attendance.objects.exists()
    client.post(address, {"status": "late", "arrived": "13:10"})
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED
    assert Attendance.objects.get(appointment=appointment).minutes == 40
    page = body(client.get(reverse("scheduling:appointment", args=[appointment.pk])))
    assert "Late</strong>, 40 minutes" in page


def test_an_appointment_that_has_not_started_cannot_be_recorded(
    clinician: User, care: EpisodeOfCare, therapist: User, room: Room
) -> None:
    appointment = booked(clinician, care, therapist, room, day=dt.date(2099, 3, 2))
    address = reverse("scheduling:appointment_record", args=[appointment.pk])
    client = signed_in(clinician)
    page = body(client.get(address))
    assert "This appointment has not started yet" in page
    response = client.post(address, {"status": "present"})
    assert "record it once it has" in body(response)
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    assert not Attendance.objects.exists()


def test_outsiders_are_not_found(
    clinician: User,
    other_clinician: User,
    outside_patient: Patient,
    care: EpisodeOfCare,
    therapist: User,
    room: Room,
) -> None:
    appointment = booked(clinician, care, therapist, room)
    outsider = signed_in(other_clinician)
    assert outsider.get(new_url(care.patient)).status_code == 404
    assert outsider.post(new_url(care.patient), booking(therapist, room)).status_code == 404
    for name in ("appointment", "appointment_reschedule", "appointment_cancel"):
        assert outsider.get(reverse(f"scheduling:{name}", args=[appointment.pk])).status_code == 404
    record = reverse("scheduling:appointment_record", args=[appointment.pk])
    assert outsider.post(record, {"status": "unexcused"}).status_code == 404
    assert signed_in(clinician).get(new_url(outside_patient)).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_a_clinician_without_the_patient_on_the_caseload_is_not_found(
    make_user: Callable[..., User], care: EpisodeOfCare, therapist: User, room: Room
) -> None:
    stranger = make_user(Role.CLINICIAN)
    appointment = booked(therapist, care, therapist, room)
    client = signed_in(stranger)
    assert client.get(reverse("scheduling:appointment", args=[appointment.pk])).status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.BILLING])
def test_roles_that_do_not_book_are_refused(
    make_user: Callable[..., User],
    care: EpisodeOfCare,
    clinician: User,
    therapist: User,
    room: Room,
    role: str,
) -> None:
    appointment = booked(clinician, care, therapist, room)
    client = signed_in(make_user(role))
    assert client.get(new_url(care.patient)).status_code == 403
    assert client.post(new_url(care.patient), booking(therapist, room)).status_code == 403
    cancel = reverse("scheduling:appointment_cancel", args=[appointment.pk])
    assert client.post(cancel, {"reason": "Because"}).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_billing_reads_the_appointment_without_actions(
    billing: User, clinician: User, care: EpisodeOfCare, therapist: User, room: Room
) -> None:
    appointment = booked(clinician, care, therapist, room)
    page = body(signed_in(billing).get(reverse("scheduling:appointment", args=[appointment.pk])))
    assert "Individual therapy" in page
    assert "Reschedule" not in page


def test_a_patient_not_in_treatment_is_sent_back(clinician: User, patient: Patient) -> None:
    response = signed_in(clinician).get(new_url(patient), follow=True)
    assert response.redirect_chain[-1][0] == reverse("scheduling:patient", args=[patient.pk])
