"""Trends over a stay: the selector (baseline = the first result of the stay, response and
remission per SPEC §6), and the charts on the Measures tab (data through json_script, the same
numbers in a table, constant queries)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.measures import selectors
from openiop.patients.models import Patient
from tests.conftest import body
from tests.measures import factories as f
from tests.measures.factories import AdministrationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    return f.open_episode(patient, clinician)


def give(episode: EpisodeOfCare, day: int, total: int, code: str = "phq9", **kw: Any) -> Any:
    """A result ``day`` days after admission."""
    values: dict[str, Any] = {
        "patient": episode.patient,
        "instrument": code,
        "administered_at": f.given_on(
            episode.facility, episode.admission_date + dt.timedelta(days=day)
        ),
    }
    if code == "phq9":
        values["answers"] = f.phq9(total)
    elif code == "gad7":
        values["answers"] = f.gad7(total)
    values.update(kw)
    return AdministrationFactory.create(**values)


def tab(patient: Patient) -> str:
    return reverse("measures:chart", args=[patient.pk])


# --- the selector --------------------------------------------------------------------------------


def test_the_baseline_is_the_first_result_of_the_stay(episode: EpisodeOfCare) -> None:
    give(episode, -5, 24)  # at the assessment, before admission
    first = give(episode, 0, 18)
    give(episode, 14, 12)
    last = give(episode, 28, 8)
    trend = selectors.trend(episode.patient, "phq9", episode)
    assert trend is not None
    assert [p.values["total"] for p in trend.points] == [18, 12, 8]
    assert trend.baseline.administration_id == first.pk and trend.baseline.baseline
    assert trend.latest.administration_id == last.pk and trend.latest.latest
    assert trend.episode_id == episode.pk


def test_response_is_half_the_baseline_or_more_and_remission_under_5(
    episode: EpisodeOfCare,
) -> None:
    give(episode, 0, 18)
    give(episode, 14, 10)  # 44 % down: neither
    give(episode, 28, 9)  # 50 % down: response
    give(episode, 42, 4)  # remission
    trend = selectors.trend(episode.patient, "phq9", episode)
    assert trend is not None
    assert [(p.response, p.remission) for p in trend.points] == [
        (False, False),
        (False, False),
        (True, False),
        (True, True),
    ]
    assert trend.response is True and trend.remission is True
    assert trend.progress is not None and trend.progress.percent_drop == 78
    data = trend.as_data()
    assert data["baseline"] == {"total": 18} and data["latest"] == {"total": 4}
    assert data["response"] is True and data["remission"] is True
    assert "remission" in data["summary"]


def test_no_response_yet(episode: EpisodeOfCare) -> None:
    give(episode, 0, 18)
    give(episode, 14, 10)
    trend = selectors.trend(episode.patient, "phq9", episode)
    assert trend is not None and trend.response is False and trend.remission is False


def test_one_result_has_a_baseline_and_no_response_yet(episode: EpisodeOfCare) -> None:
    give(episode, 0, 3)
    trend = selectors.trend(episode.patient, "phq9", episode)
    assert trend is not None
    assert trend.baseline is trend.latest
    assert trend.response is None and trend.remission is None


def test_results_entered_in_error_are_left_out(episode: EpisodeOfCare) -> None:
    give(episode, 0, 18)
    give(
        episode,
        3,
        2,
        entered_in_error_at=f.given_on(episode.facility, episode.admission_date),
        entered_in_error_reason="Wrong patient",
    )
    trend = selectors.trend(episode.patient, "phq9", episode)
    assert trend is not None and [p.values["total"] for p in trend.points] == [18]


def test_spec_gives_the_gad7_bands_but_no_response_or_remission(episode: EpisodeOfCare) -> None:
    give(episode, 0, 16, "gad7")
    give(episode, 14, 3, "gad7")
    trend = selectors.trend(episode.patient, "gad7", episode)
    assert trend is not None
    assert trend.response is None and trend.remission is None
    assert not any(p.response or p.remission for p in trend.points)
    assert [(b["name"], b["low"], b["high"]) for b in trend.bands] == [
        ("minimal", 0, 4),
        ("mild", 5, 9),
        ("moderate", 10, 14),
        ("severe", 15, 21),
    ]
    assert trend.y_max == 21


def test_the_phq9_bands_are_the_spec_bands(episode: EpisodeOfCare) -> None:
    give(episode, 0, 12)
    trend = selectors.trend(episode.patient, "phq9", episode)
    assert trend is not None
    assert [(b["name"], b["low"], b["high"], b["tone"]) for b in trend.bands] == [
        ("minimal", 0, 4, "ok"),
        ("mild", 5, 9, "neutral"),
        ("moderate", 10, 14, "warn"),
        ("moderately severe", 15, 19, "danger"),
        ("severe", 20, 27, "danger"),
    ]


def test_the_bam_is_followed_by_its_three_subscales(episode: EpisodeOfCare) -> None:
    give(episode, 0, 0, "bam", answers=f.bam(i4=3, i1=2, i9=4))
    give(episode, 7, 0, "bam", answers=f.bam(i4=1))
    trend = selectors.trend(episode.patient, "bam", episode)
    assert trend is not None
    assert [key for key, _ in trend.series] == ["use", "risk", "protective"]
    assert trend.points[0].values == {"use": 3, "risk": 2, "protective": 4}
    assert trend.points[1].values == {"use": 1, "risk": 0, "protective": 0}
    assert trend.bands == [] and trend.response is None
    assert trend.y_max == 24


def test_a_discharged_stay_ends_at_discharge_and_without_a_stay_every_result_counts(
    patient: Patient, clinician: User
) -> None:
    today = f.today_at(patient.facility)
    closed = f.open_episode(
        patient,
        clinician,
        admitted=today - dt.timedelta(60),
        discharge_date=today - dt.timedelta(30),
    )
    give(closed, 0, 20)
    give(closed, 30, 10)  # the discharge day counts
    give(closed, 31, 2)  # after discharge
    assert selectors.stay_of(patient) == closed
    trend = selectors.trend(patient, "phq9", closed)
    assert trend is not None and [p.values["total"] for p in trend.points] == [20, 10]
    everything = selectors.trend(patient, "phq9", None)
    assert everything is not None and len(everything.points) == 3


def test_the_cssrs_is_not_charted(episode: EpisodeOfCare) -> None:
    give(episode, 0, 0, "cssrs_screen", answers=f.cssrs("1"))
    assert selectors.trends(episode.patient, episode) == []


# --- the charts on the tab -----------------------------------------------------------------------


def trend_json(page: str) -> list[dict[str, Any]]:
    found = re.search(
        r'<script id="measures-trends" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, "no json_script on the page"
    data: list[dict[str, Any]] = json.loads(found.group(1))
    return data


def test_the_tab_draws_a_chart_per_instrument_from_json_script_with_a_table(
    clinician_client: Client, episode: EpisodeOfCare
) -> None:
    give(episode, 0, 18)
    give(episode, 28, 4)
    give(episode, 0, 16, "gad7")
    page = body(clinician_client.get(tab(episode.patient)))
    data = trend_json(page)
    assert [t["instrument"] for t in data] == ["phq9", "gad7"]
    assert [p["values"]["total"] for p in data[0]["points"]] == [18, 4]
    assert data[0]["remission"] is True
    assert "Dana" not in json.dumps(data)  # numbers and dates only
    assert 'canvas data-trend="phq9"' in page and 'canvas data-trend="gad7"' in page
    assert 'role="img"' in page
    assert "vendor/chartjs/chart.umd.js" in page and "measures/charts.js" in page
    assert "Show the numbers as a table" in page
    assert "<td>Latest · remission</td>" in page
    assert "<td>Baseline</td>" in page
    assert "Remission (under 5)" in page
    assert "cdn" not in page.lower()


def test_the_tab_has_no_chart_script_without_results(
    clinician_client: Client, episode: EpisodeOfCare
) -> None:
    page = body(clinician_client.get(tab(episode.patient)))
    assert "measures-trends" not in page and "chart.umd.js" not in page


def test_the_tab_keeps_a_constant_number_of_queries_with_charts(
    clinician_client: Client, episode: EpisodeOfCare
) -> None:
    give(episode, 0, 18)
    clinician_client.get(tab(episode.patient))  # first opening starts the default schedules
    with CaptureQueriesContext(connection) as few:
        assert clinician_client.get(tab(episode.patient)).status_code == 200
    for day in range(1, 25):
        give(episode, day, day % 20)
        give(episode, day, day % 15, "gad7")
        give(episode, day, 0, "bam", answers=f.bam(i4=day % 4))
    with CaptureQueriesContext(connection) as many:
        assert clinician_client.get(tab(episode.patient)).status_code == 200
    assert len(many) == len(few)


def test_the_files_are_served_from_our_own_static_folder() -> None:
    from django.contrib.staticfiles import finders

    chart = finders.find("vendor/chartjs/chart.umd.js")
    assert (
        chart and finders.find("vendor/chartjs/LICENSE.md") and finders.find("measures/charts.js")
    )
    with open(str(chart), encoding="utf-8") as fh:
        text = fh.read()
    assert "Chart.js v4." in text[:200] and "sourceMappingURL" not in text


def test_the_latest_results_table_measures_the_phq9_change_from_the_stays_first(
    clinician_client: Client, episode: EpisodeOfCare
) -> None:
    give(episode, -5, 24)  # at the assessment, before admission
    give(episode, 0, 18)
    give(episode, 14, 9)
    page = body(clinician_client.get(tab(episode.patient)))
    assert "Since the first PHQ-9 of this stay: 18 → 9 (down 50 %)." in page
