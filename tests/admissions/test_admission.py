"""Admission opens an episode of care: one open per patient per facility, audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions import services
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import CareTeamMember, Patient
from tests.admissions.factories import episode, program_with_phases
from tests.conftest import body, last_event, signed_in


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility, name="Adult IOP")


def today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def admit(
    actor: User, patient: Patient, program: Program | None, clinician: User | None, **kw: Any
) -> Any:
    values: dict[str, Any] = {
        "actor": actor,
        "patient": patient,
        "program": program,
        "admission_date": today(patient.facility),
        "primary_clinician": clinician,
        "referral_source": 1,
    }
    values.update(kw)
    return services.admit(**values)


def test_it_opens_an_episode_in_the_engagement_phase(
    admissions: User, patient: Patient, program: Program, clinician: User
) -> None:
    ep = admit(
        admissions,
        patient,
        program,
        clinician,
        track=program.tracks.get(name="Evening"),
        coverage={"payer": "Blue Example Health", "member_id": "XJ-555-0101"},
        teds_values={"teds_sub1": 2, "teds_route1": 1, "teds_freq1": 3, "teds_employ": 1},
    )
    assert ep.phase is not None and ep.phase.code == "engagement"
    assert ep.level_of_care == "2.1"
    assert ep.teds_services == 6  # TEDS SERVICES: ambulatory, intensive outpatient
    assert ep.teds_sub1 == 2 and ep.teds_freq1 == 3
    assert ep.coverages.get().payer == "Blue Example Health"
    assert ep.expected_length_days == 90
    patient.refresh_from_db()
    assert patient.status == Patient.Status.ACTIVE
    event = last_event(action=AuditEvent.Action.CREATE, section="admission")
    assert event.patient_id == patient.pk and event.changes["program_id"] == [None, program.pk]


def test_it_puts_the_primary_clinician_on_the_care_team(
    admissions: User, unassigned_patient: Patient, program: Program, clinician: User
) -> None:
    admit(admissions, unassigned_patient, program, clinician)
    assert CareTeamMember.objects.filter(
        patient=unassigned_patient, user=clinician, role="primary_clinician", ended_on=None
    ).exists()
    assert signed_in(clinician).get(f"/patients/{unassigned_patient.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ("program", "program"),
        ("admission_date", "admission_date"),
        ("primary_clinician", "primary_clinician"),
        ("referral_source", "referral_source"),
    ],
)
def test_it_refuses_an_admission_without_its_required_facts(
    missing: str,
    field: str,
    admissions: User,
    patient: Patient,
    program: Program,
    clinician: User,
) -> None:
    values: dict[str, Any] = {"program": program, "primary_clinician": clinician, missing: None}
    program_value, clinician_value = values.pop("program"), values.pop("primary_clinician")
    with pytest.raises(ValidationError) as error:
        admit(admissions, patient, program_value, clinician_value, **values)
    assert field in error.value.message_dict
    assert not EpisodeOfCare.objects.exists()


def test_it_refuses_a_second_open_episode_with_the_reason(
    admissions: User, patient: Patient, program: Program, clinician: User
) -> None:
    admit(admissions, patient, program, clinician)
    with pytest.raises(ValidationError) as error:
        admit(admissions, patient, program, clinician)
    assert "already has an open episode" in error.value.messages[0]
    assert EpisodeOfCare.objects.count() == 1


def test_it_opens_a_new_episode_on_readmission_and_keeps_the_history(
    admissions: User, patient: Patient, program: Program, clinician: User
) -> None:
    first = episode(
        patient,
        program,
        clinician,
        admission_date=dt.date(2026, 1, 5),
        discharge_date=dt.date(2026, 4, 20),
    )
    second = admit(admissions, patient, program, clinician)
    assert second.pk != first.pk
    assert list(EpisodeOfCare.objects.filter(patient=patient).order_by("admission_date")) == [
        first,
        second,
    ]


def test_the_database_refuses_two_open_episodes_too(
    patient: Patient, program: Program, clinician: User
) -> None:
    from django.db import IntegrityError, transaction

    episode(patient, program, clinician)
    with pytest.raises(IntegrityError), transaction.atomic():
        episode(patient, program, clinician)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"admission_date": dt.date(2099, 1, 1)}, "admission_date"),
        ({"referral_source": 9}, "referral_source"),
        ({"expected_length_days": 0}, "expected_length_days"),
        ({"teds_values": {"teds_sub1": 42}}, "teds_sub1"),
        ({"teds_values": {"teds_route1": 0}}, "teds_route1"),
    ],
)
def test_it_refuses_bad_values_and_saves_nothing(
    kwargs: dict[str, Any],
    field: str,
    admissions: User,
    patient: Patient,
    program: Program,
    clinician: User,
) -> None:
    Patient.objects.filter(pk=patient.pk).update(status=Patient.Status.PROSPECTIVE)
    with pytest.raises(ValidationError) as error:
        admit(admissions, patient, program, clinician, **kwargs)
    assert field in error.value.message_dict
    assert not EpisodeOfCare.objects.exists()
    patient.refresh_from_db()
    assert patient.status == Patient.Status.PROSPECTIVE


def test_it_refuses_a_program_or_clinician_of_another_facility(
    admissions: User,
    patient: Patient,
    program: Program,
    clinician: User,
    other_facility: Facility,
    other_clinician: User,
) -> None:
    elsewhere = program_with_phases(other_facility)
    with pytest.raises(ValidationError) as error:
        admit(admissions, patient, elsewhere, clinician)
    assert "program" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        admit(admissions, patient, program, other_clinician)
    assert "primary_clinician" in error.value.message_dict


def test_it_refuses_a_track_of_another_program(
    admissions: User, patient: Patient, program: Program, clinician: User, facility: Facility
) -> None:
    other = program_with_phases(
        facility,
        name="Adult OP",
        level_of_care="1",
        min_hours_per_week=1,
        min_days_per_week=1,
        max_hours_per_week=8,
    )
    with pytest.raises(ValidationError) as error:
        admit(admissions, patient, program, clinician, track=other.tracks.first())
    assert "track" in error.value.message_dict


def test_roles_that_do_not_admit_are_refused(
    make_user: Callable[..., User], patient: Patient, program: Program, clinician: User
) -> None:
    with pytest.raises(PermissionDenied):
        admit(make_user(Role.BILLING), patient, program, clinician)


def test_it_changes_the_primary_clinician_and_hands_over_the_care_team(
    admissions: User,
    patient: Patient,
    program: Program,
    clinician: User,
    make_user: Callable[..., User],
) -> None:
    ep = admit(admissions, patient, program, clinician)
    newcomer = make_user(Role.CLINICIAN)
    services.update_episode(
        actor=admissions,
        episode=ep,
        data={"primary_clinician": newcomer},
        coverage={"payer": "Example Medicaid", "priority": "primary"},
    )
    ep.refresh_from_db()
    assert ep.primary_clinician == newcomer
    active = CareTeamMember.objects.filter(patient=patient, role="primary_clinician", ended_on=None)
    assert [m.user for m in active] == [newcomer]
    event = last_event(action=AuditEvent.Action.UPDATE, section="admission")
    assert event.changes["primary_clinician_id"] == [clinician.pk, newcomer.pk]
    assert event.changes["coverage.primary.payer"] == [None, "Example Medicaid"]


def test_a_discharged_episode_cannot_be_changed(
    admissions: User, patient: Patient, program: Program, clinician: User
) -> None:
    closed = episode(patient, program, clinician, discharge_date=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError):
        services.update_episode(actor=admissions, episode=closed, data={"referral_detail": "x"})


def test_days_in_treatment_count_the_admission_day_as_day_one(
    patient: Patient, program: Program, clinician: User
) -> None:
    ep = episode(patient, program, clinician, admission_date=dt.date(2026, 1, 5))
    assert ep.days_in_treatment(dt.date(2026, 1, 5)) == 1
    assert ep.days_in_treatment(dt.date(2026, 4, 4)) == 90
    ep.discharge_date = dt.date(2026, 2, 4)
    assert ep.days_in_treatment(dt.date(2026, 6, 1)) == 31
    assert ep.length_of_stay_days == 30


# --- pages --------------------------------------------------------------------------------


def test_the_admission_page_admits_and_shows_the_90_day_minimum(
    admissions: User, patient: Patient, program: Program, clinician: User
) -> None:
    client = signed_in(admissions)
    page = client.get(f"/admissions/patient/{patient.pk}/admit/")
    assert page.status_code == 200 and "Admit to a program" in body(page)
    response = client.post(
        f"/admissions/patient/{patient.pk}/admit/",
        {
            "program": program.pk,
            "track": program.tracks.get(name="Day").pk,
            "admission_date": today(patient.facility).isoformat(),
            "primary_clinician": clinician.pk,
            "referral_source": 7,
            "referral_detail": "County drug court",
            "expected_length_days": 120,
            "coverage-payer": "Example Medicaid",
            "coverage-member_id": "MC-555-0199",
            "coverage-subscriber_relationship": "self",
            "teds_sub1": 5,
            "teds_route1": 4,
            "teds_freq1": 3,
        },
    )
    assert response.status_code == 302
    chart = body(client.get(f"/admissions/patient/{patient.pk}/"))
    assert "Day 1</strong> of the 90-day minimum" in chart
    assert "Court/criminal justice referral" in chart
    assert "Example Medicaid" in chart
    assert "Heroin" in chart


def test_the_admission_form_shows_messages_and_saves_nothing(
    admissions: User, patient: Patient, program: Program
) -> None:
    response = signed_in(admissions).post(
        f"/admissions/patient/{patient.pk}/admit/",
        {"program": program.pk, "coverage-subscriber_relationship": "self"},
    )
    assert response.status_code == 200
    text = body(response)
    assert "Nothing was saved" in text and "This field is required" in text
    assert not EpisodeOfCare.objects.exists()


def test_the_header_shows_the_episode_on_every_chart_page(
    director: User, patient: Patient, program: Program, clinician: User
) -> None:
    episode(patient, program, clinician, admission_date=today(patient.facility))
    text = body(signed_in(director).get(f"/patients/{patient.pk}/"))
    assert "Day <strong>1</strong> in treatment" in text
    assert "Phase: Engagement" in text


def test_outsiders_get_404_and_roles_without_admission_403(
    other_clinician: User, patient: Patient, make_user: Callable[..., User]
) -> None:
    outsider = signed_in(other_clinician)
    assert outsider.get(f"/admissions/patient/{patient.pk}/").status_code == 404
    assert outsider.get(f"/admissions/patient/{patient.pk}/admit/").status_code == 404
    billing = signed_in(make_user(Role.BILLING))
    assert billing.get(f"/admissions/patient/{patient.pk}/admit/").status_code == 403
    assert billing.get(f"/admissions/patient/{patient.pk}/").status_code == 200


def test_the_auditor_opens_no_admission(auditor: User, patient: Patient) -> None:
    assert signed_in(auditor).get(f"/admissions/patient/{patient.pk}/").status_code == 404


@pytest.mark.parametrize("count", [3, 30])
def test_the_census_costs_a_constant_number_of_queries(
    count: int,
    facility: Facility,
    director: User,
    program: Program,
    clinician: User,
    django_assert_max_num_queries: Callable[[int], Any],
) -> None:
    from tests.factories import PatientFactory

    for n in range(count):
        episode(
            PatientFactory.create(facility=facility),
            program,
            clinician,
            admission_date=today(facility) - dt.timedelta(days=n),
        )
    client = signed_in(director)
    client.get("/")
    with django_assert_max_num_queries(8):
        response = client.get("/admissions/")
    assert body(response).count("<tr") == count + 1
    assert last_event(section="current episodes").detail == {"count": count}


@pytest.mark.parametrize("count", [1, 10])
def test_the_admission_tab_costs_a_constant_number_of_queries(
    count: int,
    director: User,
    patient: Patient,
    program: Program,
    clinician: User,
    django_assert_max_num_queries: Callable[[int], Any],
) -> None:
    for n in range(count):
        episode(
            patient,
            program,
            clinician,
            admission_date=dt.date(2020, 1, 1) + dt.timedelta(days=30 * n),
            discharge_date=dt.date(2020, 1, 20) + dt.timedelta(days=30 * n),
        )
    client = signed_in(director)
    client.get("/")
    with django_assert_max_num_queries(14):
        response = client.get(f"/admissions/patient/{patient.pk}/")
    assert response.status_code == 200
