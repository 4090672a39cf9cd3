"""The chart timeline: one chronological list, filtered, paged, private and constant in cost."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.measures.models import Administration
from openiop.recovery import services as recovery
from openiop.scheduling.models import Session
from openiop.timeline import selectors
from tests.conftest import api_signed_in, as_json, body, signed_in
from tests.notes.conftest import signed_group_note, write_note

pytestmark = pytest.mark.django_db


def give_phq9(actor: User, episode: EpisodeOfCare, day: dt.date, score_each: int) -> None:
    from openiop.measures import services as measures

    measures.administer(
        actor=actor,
        patient=episode.patient,
        code="phq9",
        answers={str(i): score_each for i in range(1, 10)},
        administered_at=dt.datetime.combine(day, dt.time(18, 0), tzinfo=dt.UTC),
    )


@pytest.fixture
def chart(clinician: User, session: Session, attendees: list[EpisodeOfCare]) -> EpisodeOfCare:
    """Alvarez: a group, a signed group note, an individual note, a PHQ-9, a drug test."""
    signed_group_note(clinician, session, attendees)
    first = attendees[0]
    write_note(clinician, first)
    give_phq9(clinician, first, dt.date(2026, 3, 4), 2)
    recovery.record_drug_test(
        actor=clinician,
        episode=first,
        specimen="urine",
        observed=True,
        collected_at=dt.datetime(2026, 3, 5, 16, 0, tzinfo=dt.UTC),
        collected_by=clinician,
        results={"opiates": "positive", "alcohol": "negative"},
    )
    return first


def kinds(page: selectors.Page) -> list[str]:
    return [e.kind for e in page.events]


def test_it_lists_everything_newest_first(chart: EpisodeOfCare) -> None:
    page = selectors.timeline(chart.patient)
    # alerts and the plan's signing happened today (when the test ran)
    clinical = [k for k in kinds(page) if k in {"drug_test", "measure", "note", "group_note"}]
    assert clinical == ["drug_test", "measure", "note", "group_note"]
    assert "alert" in kinds(page)
    assert {"group_note", "session", "plan", "admission"} <= set(kinds(page))
    days = [e.day for e in page.events]
    assert days == sorted(days, reverse=True)
    test = next(e for e in page.events if e.kind == "drug_test")
    assert test.flag == "unexpected" and test.detail == "Unexpected result"
    group = next(e for e in page.events if e.kind == "group_note")
    assert group.title == "Group note: Coping with cravings"


def test_it_filters_by_kind_and_dates(chart: EpisodeOfCare) -> None:
    only_notes = selectors.timeline(chart.patient, categories=["notes"])
    assert set(kinds(only_notes)) == {"note", "group_note"}
    one_day = selectors.timeline(chart.patient, start=dt.date(2026, 3, 4), end=dt.date(2026, 3, 4))
    assert kinds(one_day) == ["measure"]


def test_it_pages(chart: EpisodeOfCare) -> None:
    everything = selectors.timeline(chart.patient)
    first = selectors.timeline(chart.patient, page_size=3)
    second = selectors.timeline(chart.patient, page=2, page_size=3)
    assert first.pages == -(-everything.total // 3)
    assert [e.ref for e in first.events + second.events] == [e.ref for e in everything.events[:6]]


def test_the_page_shows_only_this_patients_part(chart: EpisodeOfCare, clinician: User) -> None:
    response = signed_in(clinician).get(reverse("timeline:chart", args=[chart.patient_id]))
    assert response.status_code == 200
    html = body(response)
    assert "Group note: Coping with cravings" in html
    assert "Unexpected result" in html
    for other in ("Baker", "Chen", "Response written for"):
        assert other not in html
    assert AuditEvent.objects.filter(section="timeline", patient=chart.patient).exists()


def test_the_page_costs_the_same_for_more_events(chart: EpisodeOfCare, clinician: User) -> None:
    client = signed_in(clinician)
    url = reverse("timeline:chart", args=[chart.patient_id])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(12):
        give_phq9(clinician, chart, dt.date(2026, 4, 1) + dt.timedelta(days=n), 1)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert "Patient Health Questionnaire" in body(response) or "PHQ-9" in body(response)
    assert len(many) == len(few)
    assert Administration.objects.filter(patient=chart.patient).count() == 13


def test_bad_dates_are_explained(chart: EpisodeOfCare, clinician: User) -> None:
    url = reverse("timeline:chart", args=[chart.patient_id])
    response = signed_in(clinician).get(url, {"from": "2026-03-09", "to": "2026-03-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in body(response)


def test_outsiders_and_other_roles_are_refused(
    chart: EpisodeOfCare, other_clinician: User, billing: User
) -> None:
    url = reverse("timeline:chart", args=[chart.patient_id])
    assert signed_in(other_clinician).get(url).status_code == 404
    assert signed_in(billing).get(url).status_code == 403


def test_the_api_gives_the_same_page(
    chart: EpisodeOfCare, clinician: User, other_clinician: User
) -> None:
    client = api_signed_in(clinician)
    data = as_json(
        client.get("/api/v1/timeline/", {"patient": str(chart.patient_id), "show": "notes"})
    )
    assert {e["kind"] for e in data["events"]} == {"note", "group_note"}
    assert data["total"] == len(data["events"])
    bad = client.get("/api/v1/timeline/", {"patient": str(chart.patient_id), "from": "someday"})
    assert bad.status_code == 400 and "from" in as_json(bad)
    outsider = api_signed_in(other_clinician)
    assert outsider.get("/api/v1/timeline/", {"patient": chart.patient_id}).status_code == 404
    assert "Baker" not in str(data)
