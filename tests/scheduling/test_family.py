"""The family program: nothing about the patient reaches a family member without a consent
that names them — on family-education lists, in family sessions and on the chart page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import Consent, Patient, SupportContact
from openiop.scheduling import family, services
from openiop.scheduling.models import Appointment, FamilyAttendance, Schedule, Session
from tests.admissions.factories import program_with_phases
from tests.conftest import body, last_event, signed_in
from tests.factories import SupportContactFactory
from tests.patients.consent_factories import ConsentFactory
from tests.scheduling.factories import admitted, group, schedule

REFUSAL = (
    "There is no active consent naming Dana Smith. Record one in Support system & consents first."
)


def today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def episode(facility: Facility, program: Program, clinician: User) -> EpisodeOfCare:
    return admitted(facility, program, clinician)


@pytest.fixture
def person(episode: EpisodeOfCare) -> Patient:
    return episode.patient


@pytest.fixture
def mother(person: Patient) -> SupportContact:
    return SupportContactFactory.create(
        patient=person,
        name="Dana Smith",
        relationship_kind=SupportContact.Kind.PARENT,
        relationship="mother",
        family_program_participant=True,
    )


def consent_for(contact: SupportContact, **kwargs: Any) -> Consent:
    values: dict[str, Any] = {
        "patient": contact.patient,
        "recipient_name": contact.name,
        "recipient_organization": "",
        "support_contact": contact,
        "categories": ["attendance"],
    }
    if not kwargs.get("draft"):
        values["signed_at"] = timezone.now() - dt.timedelta(days=30)
    values.update(kwargs)
    return ConsentFactory.create(**values)


@pytest.fixture
def education(director: User, program: Program, clinician: User, facility: Facility) -> Schedule:
    """Family education every week on today's weekday, from two weeks ago, 18:00–19:30."""
    kind = group(
        director, program, "Family education", kind="family_education", duration_minutes=90
    )
    return schedule(
        director,
        kind,
        clinician,
        rrule="FREQ=WEEKLY",
        start_date=today(facility) - dt.timedelta(days=14),
        start_time=dt.time(18, 0),
    )


def session_at(sched: Schedule, days: int) -> Session:
    day = today(sched.facility) + dt.timedelta(days=days)
    return Session.objects.select_related("group").get(schedule=sched, occurrence_date=day)


def family_session(clinician: User, episode: EpisodeOfCare, days: int = 3) -> Appointment:
    return services.book_appointment(
        actor=clinician,
        episode=episode,
        kind=Appointment.Kind.FAMILY,
        staff=clinician,
        day=today(episode.facility) + dt.timedelta(days=days),
        start=dt.time(14, 0),
        telehealth=True,
    )


# --- consent_naming -----------------------------------------------------------------------------


def test_consent_naming_finds_only_an_active_consent_naming_that_member(
    person: Patient, mother: SupportContact, facility: Facility
) -> None:
    day = today(facility)
    assert family.consent_naming(person, mother, day) is None
    ConsentFactory.create(patient=person, tpo=True)  # TPO never covers family
    consent_for(mother, support_contact=None, recipient_name="Jordan Smith")  # someone else
    consent_for(mother, draft=True)  # never signed
    consent_for(mother, support_contact=None, recipient_organization="Smith Family LLC")
    assert family.consent_naming(person, mother, day) is None
    named = consent_for(mother, expires_on=day + dt.timedelta(days=90))
    assert family.consent_naming(person, mother, day) == named
    assert family.consent_naming(person, mother, day + dt.timedelta(days=90)) == named
    assert family.consent_naming(person, mother, day + dt.timedelta(days=91)) is None
    # Not yet signed that day: it did not name her then.
    assert family.consent_naming(person, mother, day - dt.timedelta(days=31)) is None


def test_a_consent_to_a_person_by_name_names_the_member_of_that_name(
    person: Patient, mother: SupportContact, facility: Facility
) -> None:
    named = consent_for(mother, support_contact=None, recipient_name="  dana   SMITH ")
    assert family.consent_naming(person, mother, today(facility)) == named
    other = SupportContactFactory.create(patient=person, name="Lee Smith")
    assert family.consent_naming(person, other, today(facility)) is None


def test_the_longest_lasting_active_consent_is_shown(
    person: Patient, mother: SupportContact, facility: Facility
) -> None:
    day = today(facility)
    consent_for(mother, expires_on=day + dt.timedelta(days=10))
    longer = consent_for(mother, expiry_kind=Consent.Expiry.END_OF_TREATMENT, expires_on=None)
    found = family.consent_naming(person, mother, day)
    assert found == longer
    assert family.consent_label(found) == f"Named in {longer.reference}, until the end of treatment"


# --- family education ---------------------------------------------------------------------------


def test_a_member_no_consent_names_is_refused_and_nothing_is_saved(
    clinician: User, mother: SupportContact, education: Schedule
) -> None:
    with pytest.raises(ValidationError) as refused:
        family.add_to_family_education(
            actor=clinician, session=session_at(education, 7), contact=mother
        )
    assert refused.value.message_dict["support_contact"] == [REFUSAL]
    assert not FamilyAttendance.objects.exists()


def test_with_an_active_naming_consent_they_are_listed_then_recorded(
    clinician: User, person: Patient, mother: SupportContact, education: Schedule
) -> None:
    consent = consent_for(mother)
    row = family.add_to_family_education(
        actor=clinician, session=session_at(education, 7), contact=mother
    )
    assert row.status == FamilyAttendance.Status.EXPECTED
    assert row.patient == person and row.consent == consent
    event = last_event(section="family program", action=AuditEvent.Action.CREATE)
    assert event.patient_id == person.pk
    past = family.record_family_attendance(
        actor=clinician, session=session_at(education, -7), contact=mother, status="present"
    )
    assert past.status == "present"
    again = family.record_family_attendance(
        actor=clinician, session=session_at(education, -7), contact=mother, status="excused"
    )
    assert again.pk == past.pk and again.status == "excused"
    assert FamilyAttendance.objects.count() == 2
    # Attendance is recorded once the session has started.
    with pytest.raises(ValidationError) as early:
        family.record_family_attendance(
            actor=clinician, session=session_at(education, 7), contact=mother, status="present"
        )
    assert "status" in early.value.message_dict


@pytest.mark.parametrize(
    "kind",
    ["expired", "revoked", "ends_before_the_session", "draft", "treatment_ended"],
)
def test_an_expired_or_revoked_consent_does_not_count(
    clinician: User, person: Patient, mother: SupportContact, education: Schedule, kind: str
) -> None:
    day = today(person.facility)
    cases: dict[str, dict[str, Any]] = {
        "expired": {"expires_on": day - dt.timedelta(days=1)},
        "revoked": {"revoked_on": day - dt.timedelta(days=1), "revoked_at": timezone.now()},
        "ends_before_the_session": {"expires_on": day + dt.timedelta(days=3)},
        "draft": {"draft": True},
        "treatment_ended": {"expiry_kind": Consent.Expiry.END_OF_TREATMENT, "expires_on": None},
    }
    values = cases[kind]
    consent_for(mother, **values)
    if kind == "treatment_ended":
        Patient.objects.filter(pk=person.pk).update(status=Patient.Status.DISCHARGED)
    with pytest.raises(ValidationError) as refused:
        family.add_to_family_education(
            actor=clinician, session=session_at(education, 7), contact=mother
        )
    assert refused.value.message_dict["support_contact"] == [REFUSAL]
    assert not FamilyAttendance.objects.exists()


def test_a_consent_revoked_after_a_past_session_still_covers_that_session(
    clinician: User, mother: SupportContact, education: Schedule, facility: Facility
) -> None:
    consent_for(mother, revoked_on=today(facility) - dt.timedelta(days=1))
    made = family.record_family_attendance(
        actor=clinician, session=session_at(education, -7), contact=mother, status="present"
    )
    assert made.status == "present"
    with pytest.raises(ValidationError):
        family.add_to_family_education(
            actor=clinician, session=session_at(education, 0), contact=mother
        )


def test_only_family_education_sessions_of_active_members_take_family(
    clinician: User,
    director: User,
    program: Program,
    mother: SupportContact,
    education: Schedule,
    facility: Facility,
) -> None:
    consent_for(mother)
    process = schedule(director, group(director, program), clinician, start_date=today(facility))
    with pytest.raises(ValidationError) as refused:
        family.add_to_family_education(
            actor=clinician,
            session=Session.objects.filter(schedule=process).first(),  # type: ignore[arg-type]
            contact=mother,
        )
    assert "family-education sessions only" in refused.value.message_dict["session"][0]
    SupportContact.objects.filter(pk=mother.pk).update(active=False)
    mother.refresh_from_db()
    with pytest.raises(ValidationError) as inactive:
        family.add_to_family_education(
            actor=clinician, session=session_at(education, 7), contact=mother
        )
    assert (
        "no longer part of the support system" in inactive.value.message_dict["support_contact"][0]
    )


def test_taking_off_the_list_only_before_attendance_is_recorded(
    clinician: User, mother: SupportContact, education: Schedule
) -> None:
    consent_for(mother)
    listed = family.add_to_family_education(
        actor=clinician, session=session_at(education, 7), contact=mother
    )
    came = family.record_family_attendance(
        actor=clinician, session=session_at(education, -7), contact=mother, status="present"
    )
    with pytest.raises(ValidationError):
        family.remove_from_family_education(actor=clinician, row=came)
    family.remove_from_family_education(actor=clinician, row=listed)
    assert list(FamilyAttendance.objects.all()) == [came]
    assert last_event(section="family program").action == AuditEvent.Action.DELETE


def test_roles_outside_the_clinical_team_do_not_write(
    front_desk: User,
    admissions: User,
    other_clinician: User,
    mother: SupportContact,
    education: Schedule,
) -> None:
    consent_for(mother)
    for actor in (front_desk, admissions, other_clinician):
        with pytest.raises(PermissionDenied):
            family.add_to_family_education(
                actor=actor, session=session_at(education, 7), contact=mother
            )
    assert not FamilyAttendance.objects.exists()


# --- family sessions ----------------------------------------------------------------------------


def test_a_family_session_takes_only_members_a_consent_names(
    clinician: User, episode: EpisodeOfCare, mother: SupportContact
) -> None:
    session = family_session(clinician, episode)
    with pytest.raises(ValidationError) as refused:
        family.add_family_participant(actor=clinician, appointment=session, contact=mother)
    assert refused.value.message_dict["support_contact"] == [REFUSAL]
    assert not session.participants.exists()
    day = session.service_date
    assert family.consent_refusal([mother], on=day) == REFUSAL
    consent_for(mother)
    assert family.consent_refusal([mother], on=day) is None
    family.add_family_participant(actor=clinician, appointment=session, contact=mother)
    assert list(session.participants.all()) == [mother]
    family.remove_family_participant(actor=clinician, appointment=session, contact=mother)
    assert not session.participants.exists()


def test_an_individual_appointment_takes_no_family(
    clinician: User, episode: EpisodeOfCare, mother: SupportContact
) -> None:
    consent_for(mother)
    individual = services.book_appointment(
        actor=clinician,
        episode=episode,
        kind=Appointment.Kind.INDIVIDUAL,
        staff=clinician,
        day=today(episode.facility) + dt.timedelta(days=2),
        start=dt.time(10, 0),
        telehealth=True,
    )
    with pytest.raises(ValidationError):
        family.add_family_participant(actor=clinician, appointment=individual, contact=mother)


# --- the chart page -----------------------------------------------------------------------------


def page(patient: Patient) -> str:
    return reverse("scheduling:family", kwargs={"patient_id": patient.pk})


def test_the_page_shows_members_their_consents_sessions_and_education(
    clinician: User, episode: EpisodeOfCare, mother: SupportContact, education: Schedule
) -> None:
    brother = SupportContactFactory.create(patient=episode.patient, name="Sam Rivera")
    consent = consent_for(mother, expires_on=today(episode.facility) + dt.timedelta(days=60))
    family.add_to_family_education(
        actor=clinician, session=session_at(education, 7), contact=mother
    )
    appointment = family_session(clinician, episode)
    family.add_family_participant(actor=clinician, appointment=appointment, contact=mother)
    response = signed_in(clinician).get(page(episode.patient))
    assert response.status_code == 200
    text = body(response)
    until = consent.expires_on.strftime("%m/%d/%Y")  # type: ignore[union-attr]
    assert f"Named in {consent.reference}, until {until}" in text
    assert "Sam Rivera" in text and "No active consent naming them" in text
    assert "Family education" in text and "Expected" in text
    assert "Family sessions" in text and "Dana Smith" in text
    assert brother.name in text
    event = last_event(action=AuditEvent.Action.VIEW, section="family program")
    assert event.patient_id == episode.patient_id


def test_adding_from_the_page_without_consent_shows_the_reason_and_saves_nothing(
    clinician: User, episode: EpisodeOfCare, mother: SupportContact, education: Schedule
) -> None:
    client = signed_in(clinician)
    url = reverse("scheduling:family_education_add", kwargs={"patient_id": episode.patient_id})
    data = {
        "education-session": session_at(education, 7).pk,
        "education-support_contact": mother.pk,
        "education-status": "expected",
    }
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert REFUSAL.replace("&", "&amp;") in body(refused)
    assert not FamilyAttendance.objects.exists()
    consent_for(mother)
    assert client.post(url, data).status_code == 302
    assert FamilyAttendance.objects.get().support_contact == mother


def test_recording_from_the_page_and_adding_to_a_family_session(
    clinician: User, episode: EpisodeOfCare, mother: SupportContact, education: Schedule
) -> None:
    consent_for(mother)
    client = signed_in(clinician)
    row = family.add_to_family_education(
        actor=clinician, session=session_at(education, -7), contact=mother
    )
    url = reverse(
        "scheduling:family_education_row",
        kwargs={"patient_id": episode.patient_id, "row_id": row.pk},
    )
    assert client.post(url, {"status": "present"}).status_code == 302
    assert FamilyAttendance.objects.get().status == "present"
    appointment = family_session(clinician, episode)
    added = client.post(
        reverse("scheduling:family_participant_add", kwargs={"patient_id": episode.patient_id}),
        {"participant-appointment": appointment.pk, "participant-support_contact": mother.pk},
    )
    assert added.status_code == 302
    assert list(appointment.participants.all()) == [mother]


def test_an_outsider_gets_404_and_roles_without_the_support_system_403(
    episode: EpisodeOfCare,
    other_clinician: User,
    front_desk: User,
    billing: User,
    auditor: User,
    admissions: User,
) -> None:
    assert signed_in(other_clinician).get(page(episode.patient)).status_code == 404
    for user in (front_desk, billing, auditor):
        assert signed_in(user).get(page(episode.patient)).status_code == 403
    # Admissions reads the page but does not run the program.
    reader = signed_in(admissions)
    assert reader.get(page(episode.patient)).status_code == 200
    add = reverse("scheduling:family_education_add", kwargs={"patient_id": episode.patient_id})
    assert reader.post(add, {}).status_code == 403


def test_the_page_costs_the_same_queries_however_much_family(
    clinician: User,
    episode: EpisodeOfCare,
    mother: SupportContact,
    education: Schedule,
    django_assert_max_num_queries: Any,
) -> None:
    client = signed_in(clinician)
    consent_for(mother)
    family.add_to_family_education(
        actor=clinician, session=session_at(education, 7), contact=mother
    )
    first = family_session(clinician, episode, days=2)
    family.add_family_participant(actor=clinician, appointment=first, contact=mother)
    client.get(page(episode.patient))  # warm up
    with django_assert_max_num_queries(100) as few:
        assert client.get(page(episode.patient)).status_code == 200
    for n in range(5):
        member = SupportContactFactory.create(patient=episode.patient, name=f"Relative {n} Rivera")
        consent_for(member)
        for days in (-14, -7, 0, 7):
            family.add_to_family_education(
                actor=clinician, session=session_at(education, days), contact=member
            )
        appointment = family_session(clinician, episode, days=3 + n)
        family.add_family_participant(actor=clinician, appointment=appointment, contact=member)
        family.add_family_participant(actor=clinician, appointment=appointment, contact=mother)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(page(episode.patient)).status_code == 200
