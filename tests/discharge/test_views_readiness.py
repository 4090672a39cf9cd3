"""The Discharge & continuing care tab, the discharge-plan page and the transfer page through
the test client: who may open them (403 audited, 404 outside), what they show, that bad
input saves nothing, and a constant number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.discharge import rules
from openiop.discharge.models import (
    Discharge,
    DischargePlan,
    FollowUp,
    LevelOfCareChange,
    Referral,
)
from openiop.discharge.transfer import transfer
from openiop.recovery import services as recovery_services
from openiop.scheduling.models import DoseDay
from tests.admissions.factories import episode as episode_row
from tests.admissions.factories import program_with_phases
from tests.conftest import body, signed_in
from tests.factories import CareTeamMemberFactory, PatientFactory, SupportContactFactory

pytestmark = pytest.mark.django_db


def today_of(episode: EpisodeOfCare) -> dt.date:
    return timezone.localdate(timezone=episode.facility.zone)


@pytest.fixture
def op(facility: Facility) -> Program:
    return program_with_phases(
        facility,
        name="Outpatient",
        level_of_care="1",
        min_hours_per_day=Decimal("1.0"),
        min_days_per_week=1,
        min_hours_per_week=Decimal("1"),
        max_hours_per_week=Decimal("8.99"),
    )


def url(name: str, episode: EpisodeOfCare) -> str:
    return reverse(f"discharge:{name}", args=[episode.patient_id])


def discharged(
    episode: EpisodeOfCare, actor: User, day: dt.date, *, reason_key: str = "completed"
) -> Discharge:
    """A discharge row as the discharge service leaves it (unsigned)."""
    EpisodeOfCare.objects.filter(pk=episode.pk).update(discharge_date=day)
    episode.refresh_from_db()
    return Discharge.objects.create(
        episode=episode,
        patient=episode.patient,
        facility=episode.facility,
        discharge_date=day,
        reason_key=reason_key,
        reason=rules.teds_reason(reason_key),
        step_down="aftercare",
        step_down_provider="Harbor aftercare group",
        created_by=actor,
    )


# --- who may open the tab ----------------------------------------------------------------------


def test_the_clinician_sees_days_readiness_levels_and_the_discharge_link(
    episode: EpisodeOfCare, clinician: User
) -> None:
    response = signed_in(clinician).get(url("chart", episode))
    assert response.status_code == 200
    page = body(response)
    day = episode.days_in_treatment(today_of(episode))
    assert f"Day {day}</strong> in treatment" in page
    assert "Discharge readiness" in page
    assert "0 of 8</strong> ready" in page
    assert "No signed treatment plan yet." in page
    assert reverse("discharge:plan", args=[episode.patient_id]) in page
    assert reverse("discharge:transfer", args=[episode.patient_id]) in page
    assert reverse("discharge:new", args=[episode.patient_id]) in page
    assert "No transfer in this episode." in page
    event = AuditEvent.objects.filter(patient_id=episode.patient_id).latest("id")
    assert event.action == AuditEvent.Action.VIEW
    assert event.section == "discharge and continuing care"


def test_under_ninety_days_says_so(facility: Facility, program: Program, clinician: User) -> None:
    patient = PatientFactory.create(facility=facility, status="active")
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    ep = episode_row(
        patient, program, clinician, admission_date=timezone.localdate() - dt.timedelta(days=9)
    )
    page = body(signed_in(clinician).get(url("chart", ep)))
    assert "Most people need at least 90 days in treatment" in page
    assert "days to go" in page


@pytest.mark.parametrize("role", ["billing", "front_desk"])
def test_billing_and_the_front_desk_are_refused_and_the_refusal_is_audited(
    episode: EpisodeOfCare, role: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(role)
    client = signed_in(user)
    for name in ("chart", "plan", "transfer"):
        response = client.get(url(name, episode))
        assert response.status_code == 403
        event = AuditEvent.objects.filter(actor=user).latest("id")
        assert event.action == AuditEvent.Action.DENIED
        assert event.detail["patient_id"] == episode.patient_id
    # Nothing of the chart was opened.
    assert not AuditEvent.objects.filter(actor=user, action=AuditEvent.Action.VIEW).exists()


def test_a_clinician_of_another_facility_gets_404(
    episode: EpisodeOfCare, other_clinician: User
) -> None:
    client = signed_in(other_clinician)
    for name in ("chart", "plan", "transfer"):
        assert client.get(url(name, episode)).status_code == 404
    event = AuditEvent.objects.filter(actor=other_clinician).latest("id")
    assert event.action == AuditEvent.Action.DENIED


def test_a_patient_never_admitted_has_an_empty_tab(clinician: User, patient: Any) -> None:
    response = signed_in(clinician).get(reverse("discharge:chart", args=[patient.pk]))
    assert response.status_code == 200
    assert "has not been admitted yet" in body(response)


# --- the discharge and what follows it ---------------------------------------------------------


def test_a_discharged_episode_shows_its_discharge_referrals_and_follow_ups(
    episode: EpisodeOfCare, clinician: User
) -> None:
    discharge = discharged(
        episode, clinician, dt.date(2026, 2, 20), reason_key="left_against_advice"
    )
    Referral.objects.create(
        episode=episode,
        patient=episode.patient,
        kind=Referral.Kind.HOUSING,
        provider="County housing office",
        status=Referral.Status.MADE,
        status_on=dt.date(2026, 2, 20),
        created_by=clinician,
    )
    FollowUp.objects.create(
        episode=episode,
        patient=episode.patient,
        facility=episode.facility,
        days_after=30,
        due_on=dt.date(2026, 3, 22),
        status=FollowUp.Status.COMPLETED,
        completed_on=dt.date(2026, 3, 23),
        any_use=False,
        meetings_30=8,
        working_or_school=True,
    )
    due = FollowUp.objects.create(
        episode=episode,
        patient=episode.patient,
        facility=episode.facility,
        days_after=60,
        due_on=dt.date(2026, 4, 21),
    )
    page = body(signed_in(clinician).get(url("chart", episode)))
    assert "Readiness at discharge" in page
    assert "02/20/2026" in page
    assert "Left against clinical advice" in page
    assert "2 — Dropped out" in page or "TEDS REASON</dt><dd>2" in page
    assert "before day 90" in page
    assert reverse("discharge:summary", args=[discharge.pk]) in page
    assert "Draft" in page
    assert "County housing office" in page
    assert "Referral made" in page
    assert reverse("discharge:referrals", args=[episode.patient_id]) in page
    assert "No use since discharge; 8 meetings in 30 days; working or in school" in page
    assert reverse("discharge:followup", args=[due.pk]) in page
    # Closed: no transfer, no new discharge, no plan editing.
    assert reverse("discharge:transfer", args=[episode.patient_id]) not in page
    assert reverse("discharge:new", args=[episode.patient_id]) not in page


def test_a_readmitted_patient_shows_the_open_episode_and_earlier_discharges(
    episode: EpisodeOfCare, program: Program, clinician: User
) -> None:
    earlier = discharged(episode, clinician, dt.date(2026, 2, 20))
    readmitted = episode_row(
        episode.patient, program, clinician, admission_date=dt.date(2026, 6, 1)
    )
    page = body(signed_in(clinician).get(url("chart", readmitted)))
    assert "Discharge readiness" in page
    assert "Earlier discharges" in page
    assert "01/05/2026 to 02/20/2026" in page
    assert reverse("discharge:summary", args=[earlier.pk]) in page
    day = readmitted.days_in_treatment(today_of(readmitted))
    assert f"Day {day}</strong>" in page


# --- the discharge plan page -------------------------------------------------------------------


def test_the_discharge_plan_is_saved_from_its_page(episode: EpisodeOfCare, clinician: User) -> None:
    client = signed_in(clinician)
    assert client.get(url("plan", episode)).status_code == 200
    response = client.post(
        url("plan", episode),
        {
            "planned_step_down": "recovery_residence",
            "planned_date": "2026-12-15",
            "step_down_provider": "Oak House",
            "housing_ready": "on",
            "housing_note": "Bed at Oak House from 12/15",
            "work_school_note": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#readiness")
    plan = DischargePlan.objects.get(episode=episode)
    assert (plan.planned_step_down, plan.planned_date) == (
        "recovery_residence",
        dt.date(2026, 12, 15),
    )
    assert plan.housing_ready and not plan.work_school_ready
    page = body(client.get(url("chart", episode)))
    assert "Recovery residence (sober living) — Oak House" in page
    assert "Confirmed: Bed at Oak House from 12/15" in page
    # The form comes back filled in.
    assert 'value="Oak House"' in body(client.get(url("plan", episode)))


def test_a_bad_discharge_plan_saves_nothing(episode: EpisodeOfCare, clinician: User) -> None:
    response = signed_in(clinician).post(
        url("plan", episode),
        {"planned_step_down": "outpatient", "planned_date": "2025-12-01", "housing_ready": "on"},
    )
    assert response.status_code == 200
    page = body(response)
    assert "Nothing was saved." in page
    assert "The planned date is before the admission on 01/05/2026." in page
    assert not DischargePlan.objects.exists()


# --- the transfer page -------------------------------------------------------------------------


def test_a_transfer_from_its_page(
    episode: EpisodeOfCare, program: Program, op: Program, clinician: User
) -> None:
    client = signed_in(clinician)
    page = body(client.get(url("transfer", episode)))
    assert "in the same episode of care" in page
    assert "Outpatient — level 1" in page
    assert f">{program.name} — level" not in page  # the current program is not offered
    today = today_of(episode)
    response = client.post(
        url("transfer", episode),
        {
            "to_program": op.pk,
            "to_track": op.tracks.get(name="Evening").pk,
            "changed_on": today.isoformat(),
            "reason": "Working days again; evening outpatient group.",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#levels")
    change = LevelOfCareChange.objects.get(episode=episode)
    assert (change.to_program, change.to_services) == (op, 7)
    page = body(client.get(url("chart", episode)))
    assert "Working days again; evening outpatient group." in page
    assert "Outpatient" in page


def test_a_bad_transfer_saves_nothing(
    episode: EpisodeOfCare, program: Program, op: Program, clinician: User
) -> None:
    client = signed_in(clinician)
    response = client.post(
        url("transfer", episode),
        {
            "to_program": op.pk,
            "to_track": program.tracks.first().pk,  # type: ignore[union-attr]
            "changed_on": "2025-12-31",
            "reason": "",
        },
    )
    assert response.status_code == 200
    page = body(response)
    assert "Nothing was saved." in page
    assert "This field is required." in page  # the reason
    assert "Select a valid choice." in page  # a track of the current program
    response = client.post(
        url("transfer", episode),
        {"to_program": op.pk, "changed_on": "2025-12-31", "reason": "Steps down as planned."},
    )
    page = body(response)
    assert "Nothing was saved." in page
    assert "The transfer cannot be before the admission on 01/05/2026." in page
    assert not LevelOfCareChange.objects.exists()
    episode.refresh_from_db()
    assert episode.program == program


def test_a_closed_episode_offers_no_transfer(episode: EpisodeOfCare, clinician: User) -> None:
    discharged(episode, clinician, dt.date(2026, 2, 20))
    client = signed_in(clinician)
    page = body(client.get(url("transfer", episode)))
    assert "no open episode of care" in page
    assert "no open episode of care" in body(client.get(url("plan", episode)))


# --- constant queries --------------------------------------------------------------------------


def _history(episode: EpisodeOfCare, clinician: User, op: Program, size: int) -> None:
    """``size`` weeks of attendance, meetings and tests, transfers, referrals, follow-ups."""
    monday = episode.admission_date
    for _ in range(size):
        DoseDay.objects.bulk_create(
            DoseDay(
                episode=episode,
                patient_id=episode.patient_id,
                facility_id=episode.facility_id,
                date=monday + dt.timedelta(days=n),
                week_start=monday,
                minutes=180,
            )
            for n in range(3)
        )
        recovery_services.add_meeting(
            actor=clinician,
            episode=episode,
            date=monday,
            fellowship="na",
            setting="online",
            minutes=60,
            verification="self",
        )
        recovery_services.record_drug_test(
            actor=clinician,
            episode=episode,
            specimen="urine",
            observed=False,
            collected_at=dt.datetime.combine(monday, dt.time(17), tzinfo=dt.UTC),
            collected_by=clinician,
            results={"cocaine": "negative"},
        )
        monday += dt.timedelta(days=7)
    SupportContactFactory.create_batch(size, patient=episode.patient)
    programs = [op, episode.program]
    for n in range(size):
        transfer(
            actor=clinician,
            episode=episode,
            to_program=programs[n % 2],
            changed_on=episode.admission_date + dt.timedelta(days=7 * (n + 1)),
            reason="Level of care changes as planned.",
        )


def _discharge_history(episode: EpisodeOfCare, clinician: User, size: int) -> None:
    for n in range(size):
        Referral.objects.create(
            episode=episode,
            patient=episode.patient,
            kind=Referral.Kind.MEDICAL,
            provider=f"Clinic {n}",
            status_on=dt.date(2026, 6, 1),
            created_by=clinician,
        )
        FollowUp.objects.create(
            episode=episode,
            patient=episode.patient,
            facility=episode.facility,
            days_after=30 * (n + 1),
            due_on=dt.date(2026, 7, 1) + dt.timedelta(days=30 * n),
            status=FollowUp.Status.COMPLETED,
            any_use=True,
            days_used_30=n,
        )


@pytest.mark.parametrize("size", [1, 6])
def test_the_tab_costs_the_same_queries_whatever_the_history(
    facility: Facility,
    program: Program,
    op: Program,
    clinician: User,
    size: int,
    django_assert_max_num_queries: Any,
) -> None:
    patient = PatientFactory.create(facility=facility, status="active")
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    earlier = []
    for n in range(size):
        old = episode_row(patient, program, clinician, admission_date=dt.date(2025, 1, 1 + n))
        earlier.append(discharged(old, clinician, dt.date(2025, 3, 1 + n)))
    current = episode_row(patient, program, clinician, admission_date=dt.date(2026, 1, 5))
    _history(current, clinician, op, size)
    client = signed_in(clinician)
    client.get(url("chart", current))  # sessions and caches warm
    # In treatment: readiness and the level-of-care history.
    with django_assert_max_num_queries(22):
        response = client.get(url("chart", current))
    assert body(response).count("Level of care changes as planned.") == size
    # Discharged: the discharge, its referrals and follow-ups, the earlier discharges.
    last = discharged(current, clinician, dt.date(2026, 5, 29))
    _discharge_history(current, clinician, size)
    with django_assert_max_num_queries(22):
        response = client.get(url("chart", current))
    assert response.status_code == 200
    page = body(response)
    assert page.count("Clinic ") == size
    for before in earlier:
        assert reverse("discharge:summary", args=[before.pk]) in page
    assert reverse("discharge:summary", args=[last.pk]) in page
