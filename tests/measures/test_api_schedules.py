"""Schedules, the list of instruments due and the trends over the API: the same services,
scope and audit as the pages; 400 with field errors, 403 by role, 404 out of scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.measures.models import InstrumentSchedule
from openiop.patients.models import Patient
from tests.conftest import api_signed_in, as_json
from tests.factories import CareTeamMemberFactory, PatientFactory
from tests.measures import factories as f
from tests.measures.factories import AdministrationFactory

pytestmark = pytest.mark.django_db
SCHEDULES = "/api/v1/instrument-schedules/"
DUE = "/api/v1/instruments-due/"
TRENDS = "/api/v1/instrument-trends/"


@pytest.fixture
def api(clinician: User) -> APIClient:
    return api_signed_in(clinician)


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    return f.open_episode(patient, clinician)


# --- schedules -----------------------------------------------------------------------------------


def test_it_lists_a_patients_schedules_with_when_each_is_due(
    api: APIClient, clinician: User, episode: EpisodeOfCare
) -> None:
    response = api.get(SCHEDULES, {"patient": episode.patient_id})
    assert response.status_code == 200
    rows = as_json(response)["results"]
    assert sorted((r["instrument"], r["every_days"]) for r in rows) == [
        ("bam", 7),
        ("gad7", 14),
        ("phq9", 14),
    ]
    phq9 = next(r for r in rows if r["instrument"] == "phq9")
    assert phq9["next_due"] == episode.admission_date.isoformat()
    assert phq9["days_overdue"] == 30 and phq9["last_given"] is None
    assert phq9["active"] and phq9["is_default"] and phq9["patient"] == episode.patient_id
    views = AuditEvent.objects.filter(actor=clinician, action=AuditEvent.Action.VIEW)
    assert views.count() == 1 and views.get().patient_id == episode.patient_id


def test_listing_needs_a_patient(api: APIClient) -> None:
    response = api.get(SCHEDULES)
    assert response.status_code == 400 and "patient" in as_json(response)


def test_it_creates_a_schedule_on_the_open_stay(
    api: APIClient, clinician: User, episode: EpisodeOfCare
) -> None:
    response = api.post(
        SCHEDULES,
        {"patient": episode.patient_id, "instrument": "auditc", "every_days": 30},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = as_json(response)
    assert (data["instrument"], data["every_days"], data["episode"]) == ("auditc", 30, episode.pk)
    assert data["starts_on"] == f.today_at(episode.facility).isoformat()
    assert data["next_due"] == data["starts_on"] and data["days_overdue"] == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"every_days": 0}, "every_days"),
        ({"every_days": "often"}, "every_days"),
        ({"instrument": "phq10"}, "instrument"),
        ({"starts_on": "2001-01-01"}, "starts_on"),
        ({"starts_on": "soon"}, "starts_on"),
        ({"patient": None}, "patient"),
    ],
)
def test_wrong_input_answers_400_with_the_field_and_saves_nothing(
    api: APIClient, episode: EpisodeOfCare, payload: dict[str, Any], field: str
) -> None:
    body: dict[str, Any] = {"patient": episode.patient_id, "instrument": "phq9", "every_days": 7}
    body.update(payload)
    response = api.post(SCHEDULES, body, format="json")
    assert response.status_code == 400
    assert field in as_json(response)
    assert not InstrumentSchedule.objects.exists()


def test_without_an_open_stay_it_answers_400_on_patient(api: APIClient, patient: Patient) -> None:
    response = api.post(
        SCHEDULES, {"patient": patient.pk, "instrument": "phq9", "every_days": 7}, format="json"
    )
    assert response.status_code == 400
    assert "no open episode" in as_json(response)["patient"][0]


def test_it_stops_a_schedule_with_a_reason(
    api: APIClient, clinician: User, episode: EpisodeOfCare
) -> None:
    s = f.schedule(episode, "gad7")
    response = api.post(f"{SCHEDULES}{s.pk}/stop/", {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in as_json(response)
    response = api.post(f"{SCHEDULES}{s.pk}/stop/", {"reason": "Anxiety minimal"}, format="json")
    assert response.status_code == 200
    data = as_json(response)
    assert data["active"] is False and data["stop_reason"] == "Anxiety minimal"
    assert data["stopped_by"] == clinician.pk and data["next_due"] is None


def test_it_reads_one_schedule(api: APIClient, episode: EpisodeOfCare) -> None:
    s = f.schedule(episode, "phq9")
    data = as_json(api.get(f"{SCHEDULES}{s.pk}/"))
    assert data["id"] == s.pk and data["next_due"] == episode.admission_date.isoformat()


def test_an_outsider_gets_404_everywhere(other_clinician: User, episode: EpisodeOfCare) -> None:
    s = f.schedule(episode, "phq9")
    api = api_signed_in(other_clinician)
    assert api.get(SCHEDULES, {"patient": episode.patient_id}).status_code == 404
    assert api.get(f"{SCHEDULES}{s.pk}/").status_code == 404
    assert (
        api.post(f"{SCHEDULES}{s.pk}/stop/", {"reason": "Not needed"}, format="json").status_code
        == 404
    )
    response = api.post(
        SCHEDULES,
        {"patient": episode.patient_id, "instrument": "phq9", "every_days": 7},
        format="json",
    )
    assert response.status_code == 404
    assert (
        api.get(TRENDS, {"patient": str(episode.patient_id), "instrument": "phq9"}).status_code
        == 404
    )
    s.refresh_from_db()
    assert s.is_active and InstrumentSchedule.objects.count() == 1
    assert AuditEvent.objects.filter(
        actor=other_clinician, action=AuditEvent.Action.DENIED
    ).exists()


def test_admissions_reads_schedules_but_may_not_change_them(
    admissions: User, episode: EpisodeOfCare
) -> None:
    api = api_signed_in(admissions)
    assert api.get(SCHEDULES, {"patient": episode.patient_id}).status_code == 200
    s = InstrumentSchedule.objects.get(episode=episode, instrument="phq9")
    assert (
        api.post(f"{SCHEDULES}{s.pk}/stop/", {"reason": "Not needed"}, format="json").status_code
        == 403
    )
    assert api.get(DUE).status_code == 403


@pytest.mark.parametrize("role", ["billing", "front_desk", "auditor"])
def test_roles_without_measures_get_403(make_user: Any, role: str, episode: EpisodeOfCare) -> None:
    api = api_signed_in(make_user(role))
    assert api.get(SCHEDULES, {"patient": episode.patient_id}).status_code == 403
    assert api.get(DUE).status_code == 403
    assert (
        api.get(TRENDS, {"patient": str(episode.patient_id), "instrument": "phq9"}).status_code
        == 403
    )


# --- the list of instruments due -----------------------------------------------------------------


def test_the_due_list_for_the_facility(
    api: APIClient, clinician: User, facility: Facility, episode: EpisodeOfCare
) -> None:
    today = f.today_at(facility)
    AdministrationFactory.create(
        patient=episode.patient, administered_at=f.given_on(facility, today - dt.timedelta(16))
    )
    response = api.get(DUE, {"facility": facility.pk})
    assert response.status_code == 200
    rows = as_json(response)["results"]
    # Longest overdue first (never given since admission), then by name and instrument.
    assert [(r["instrument"], r["days_overdue"], r["overdue"]) for r in rows] == [
        ("bam", 30, True),
        ("gad7", 30, True),
        ("phq9", 2, True),
    ]
    assert rows[0]["patient"] == episode.patient_id and rows[0]["patient_name"] == "Dana Quintero"
    events = AuditEvent.objects.filter(section="instruments due (API)")
    assert [e.patient_id for e in events] == [episode.patient_id]


def test_the_due_list_refuses_a_facility_you_do_not_work_at(
    api: APIClient, other_facility: Facility
) -> None:
    response = api.get(DUE, {"facility": other_facility.pk})
    assert response.status_code == 400 and "facility" in as_json(response)


def test_the_due_list_costs_the_same_for_2_or_12_patients(
    api: APIClient, clinician: User, facility: Facility
) -> None:
    def admit(n: int) -> None:
        for _ in range(n):
            p = PatientFactory.create(facility=facility)
            CareTeamMemberFactory.create(patient=p, user=clinician)
            e = f.open_episode(p, clinician)
            f.schedule(e, "phq9")
            f.schedule(e, "gad7")
            f.schedule(e, "bam", every_days=7)

    admit(2)
    api.get(DUE)
    with CaptureQueriesContext(connection) as few:
        api.get(DUE)
    admit(10)
    with CaptureQueriesContext(connection) as many:
        assert as_json(api.get(DUE))["count"] == 36
    assert len(many) == len(few)


# --- trends --------------------------------------------------------------------------------------


def test_the_trend_of_one_instrument(
    api: APIClient, clinician: User, episode: EpisodeOfCare
) -> None:
    admitted = episode.admission_date
    for day, total in ((0, 18), (14, 9), (28, 4)):
        AdministrationFactory.create(
            patient=episode.patient,
            answers=f.phq9(total),
            administered_at=f.given_on(episode.facility, admitted + dt.timedelta(day)),
        )
    response = api.get(TRENDS, {"patient": str(episode.patient_id), "instrument": "phq9"})
    assert response.status_code == 200
    data = as_json(response)
    assert [p["values"]["total"] for p in data["points"]] == [18, 9, 4]
    assert data["baseline"] == {"total": 18} and data["latest"] == {"total": 4}
    assert data["response"] is True and data["remission"] is True
    assert [p["response"] for p in data["points"]] == [False, True, True]
    assert data["bands"][0] == {"name": "minimal", "low": 0, "high": 4, "tone": "ok"}
    assert data["episode"] == episode.pk
    views = AuditEvent.objects.filter(actor=clinician, action=AuditEvent.Action.VIEW)
    assert views.count() == 1


def test_a_trend_without_results_is_empty(api: APIClient, episode: EpisodeOfCare) -> None:
    data = as_json(api.get(TRENDS, {"patient": str(episode.patient_id), "instrument": "gad7"}))
    assert data["points"] == [] and data["baseline"] is None and data["response"] is None


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({}, {"patient", "instrument"}),
        ({"instrument": "phq10", "patient": "x"}, {"patient", "instrument"}),
        ({"instrument": "cssrs_screen"}, {"instrument"}),
        ({"instrument": "phq9", "episode": "latest"}, {"episode"}),
        ({"instrument": "phq9", "episode": "999999"}, {"episode"}),
    ],
)
def test_trend_parameters_answer_400_with_the_fields(
    api: APIClient, episode: EpisodeOfCare, params: dict[str, str], fields: set[str]
) -> None:
    query = {"patient": str(episode.patient_id), **params}
    if not params:
        query = {}
    response = api.get(TRENDS, query)
    assert response.status_code == 400
    assert set(as_json(response)) == fields
