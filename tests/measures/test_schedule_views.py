"""The schedules page and stopping a schedule, through the test client: who may, scope, field
errors that save nothing, the confirmation before stopping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.measures.models import InstrumentSchedule
from openiop.patients.models import Patient
from tests.conftest import body, signed_in
from tests.measures import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    return f.open_episode(patient, clinician)


def page_url(patient: Patient) -> str:
    return reverse("measures:schedules", args=[patient.pk])


def stop_url(s: InstrumentSchedule) -> str:
    return reverse("measures:stop_schedule", args=[s.episode.patient_id, s.pk])


def test_it_lists_the_running_schedules_with_when_each_is_next_due(
    clinician_client: Client, episode: EpisodeOfCare
) -> None:
    page = body(clinician_client.get(page_url(episode.patient)))
    assert "Repeated instruments this stay" in page
    for text in ("PHQ-9", "GAD-7", "BAM", "every 2 weeks", "every week", "Default at admission"):
        assert text in page
    assert "overdue by 30 days" in page
    assert 'for="id_every_days"' in page and 'for="id_starts_on"' in page
    assert 'Stop<span class="visually-hidden"> repeating PHQ-9</span>' in page


def test_it_changes_how_often_and_keeps_the_old_one_as_stopped(
    clinician_client: Client, clinician: User, episode: EpisodeOfCare
) -> None:
    clinician_client.get(page_url(episode.patient))
    today = f.today_at(episode.facility)
    response = clinician_client.post(
        page_url(episode.patient),
        {"instrument": "phq9", "every_days": "7", "starts_on": today.isoformat()},
        follow=True,
    )
    page = body(response)
    assert "PHQ-9 is now repeated every week" in page
    assert "Stopped" in page and "Changed: PHQ-9 every 7 days" in page
    running = InstrumentSchedule.objects.get(
        episode=episode, instrument="phq9", stopped_at__isnull=True
    )
    assert running.every_days == 7 and running.created_by == clinician


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"every_days": "0"}, "greater than or equal to 1"),
        ({"every_days": "abc"}, "Enter a whole number"),
        ({"starts_on": "before"}, "cannot start before admission"),
        ({"instrument": "phq10"}, "Select a valid choice"),
    ],
)
def test_wrong_input_rerenders_with_the_message_and_saves_nothing(
    clinician_client: Client, episode: EpisodeOfCare, data: dict[str, str], message: str
) -> None:
    clinician_client.get(page_url(episode.patient))
    before = list(InstrumentSchedule.objects.values_list("pk", "stopped_at"))
    values = {
        "instrument": "phq9",
        "every_days": "7",
        "starts_on": f.today_at(episode.facility).isoformat(),
    }
    values.update(data)
    if values["starts_on"] == "before":
        values["starts_on"] = (episode.admission_date - dt.timedelta(days=1)).isoformat()
    response = clinician_client.post(page_url(episode.patient), values)
    assert response.status_code == 200
    assert message in body(response)
    assert list(InstrumentSchedule.objects.values_list("pk", "stopped_at")) == before


def test_stopping_asks_why_first_then_stops(
    clinician_client: Client, clinician: User, episode: EpisodeOfCare
) -> None:
    s = f.schedule(episode, "bam", every_days=7)
    page = body(clinician_client.get(stop_url(s)))
    assert "Stop repeating the BAM?" in page and "data-confirm" in page
    assert 'for="id_reason"' in page
    response = clinician_client.post(stop_url(s), {"reason": ""})
    assert response.status_code == 200 and "This field is required" in body(response)
    s.refresh_from_db()
    assert s.is_active
    response = clinician_client.post(stop_url(s), {"reason": "Patient prefers the PHQ-9 only"})
    assert response.status_code == 302
    s.refresh_from_db()
    assert not s.is_active and s.stopped_by == clinician
    page = body(clinician_client.get(page_url(episode.patient)))
    assert "Patient prefers the PHQ-9 only" in page


def test_a_schedule_of_another_chart_is_not_found(
    clinician_client: Client, clinician: User, episode: EpisodeOfCare, facility: Any
) -> None:
    from tests.factories import CareTeamMemberFactory, PatientFactory

    other = PatientFactory.create(facility=facility)
    CareTeamMemberFactory.create(patient=other, user=clinician)
    s = f.schedule(f.open_episode(other, clinician), "phq9")
    url = reverse("measures:stop_schedule", args=[episode.patient_id, s.pk])
    assert clinician_client.get(url).status_code == 404


def test_an_outsider_gets_404_and_it_is_audited(
    other_clinician: User, episode: EpisodeOfCare
) -> None:
    s = f.schedule(episode, "phq9")
    client = signed_in(other_clinician)
    assert client.get(page_url(episode.patient)).status_code == 404
    assert client.get(stop_url(s)).status_code == 404
    assert client.get(reverse("measures:chart", args=[episode.patient_id])).status_code == 404
    assert AuditEvent.objects.filter(
        actor=other_clinician, action=AuditEvent.Action.DENIED
    ).exists()
    s.refresh_from_db()
    assert s.is_active


def test_admissions_reads_the_schedules_but_does_not_change_them(
    admissions: User, episode: EpisodeOfCare
) -> None:
    client = signed_in(admissions)
    page = body(client.get(page_url(episode.patient)))
    assert "Repeated instruments this stay" in page and "repeating PHQ-9" not in page
    assert 'name="every_days"' not in page
    response = client.post(
        page_url(episode.patient), {"instrument": "phq9", "every_days": "7", "starts_on": ""}
    )
    assert response.status_code == 403
    s = InstrumentSchedule.objects.get(episode=episode, instrument="phq9")
    assert client.get(stop_url(s)).status_code == 403


@pytest.mark.parametrize("role", ["billing", "front_desk"])
def test_roles_outside_measures_are_refused(
    make_user: Any, role: str, episode: EpisodeOfCare
) -> None:
    client = signed_in(make_user(role))
    assert client.get(page_url(episode.patient)).status_code == 403
    s = f.schedule(episode, "phq9")
    assert client.post(stop_url(s), {"reason": "Not needed any more"}).status_code == 403
    s.refresh_from_db()
    assert s.is_active


def test_without_an_open_stay_there_is_nothing_to_schedule(
    clinician_client: Client, patient: Patient
) -> None:
    assert clinician_client.get(page_url(patient)).status_code == 404
