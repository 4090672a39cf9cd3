"""Pure measures rules: AUDIT-C cut-off from the chart, dating, PHQ-9 response and remission."""

from __future__ import annotations

import datetime as dt

import pytest

from openiop.measures import rules
from openiop.measures.scoring import score
from tests.measures import factories as f

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("recorded", "cutoff"),
    [
        ("male", "male"),
        ("female", "female"),
        ("intersex", None),
        ("unknown", None),
        ("declined", None),
    ],
)
def test_it_takes_the_auditc_cutoff_from_the_chart_only_for_male_or_female(
    recorded: str, cutoff: str | None
) -> None:
    assert rules.auditc_sex_from_record(recorded) == cutoff


def test_it_offers_the_lower_auditc_cutoff_first() -> None:
    assert rules.AUDITC_DEFAULT_SEX == "female"


@pytest.mark.parametrize(
    ("when", "ok"),
    [
        (NOW - dt.timedelta(days=400), True),
        (NOW, True),
        (NOW + dt.timedelta(minutes=5), True),
        (NOW + dt.timedelta(minutes=5, seconds=1), False),
        (NOW + dt.timedelta(days=1), False),
    ],
)
def test_it_refuses_a_time_given_in_the_future(when: dt.datetime, ok: bool) -> None:
    assert (rules.administered_at_problem(when, NOW) is None) == ok


@pytest.mark.parametrize(
    ("baseline", "latest", "response", "remission", "words"),
    [
        (20, 10, True, False, "down 50 %"),
        (20, 11, False, False, "down 45 %"),
        (9, 5, False, False, "down 44 %"),
        (9, 4, True, True, "down 56 %"),
        (4, 4, False, True, "no change"),
        (10, 15, False, False, "up 50 %"),
        (0, 0, False, True, ""),
    ],
)
def test_it_calls_phq9_response_at_a_50_percent_drop_and_remission_under_5(
    baseline: int, latest: int, response: bool, remission: bool, words: str
) -> None:
    p = rules.phq9_progress(baseline, latest)
    assert (p.response, p.remission, p.change_words) == (response, remission, words)
    assert p.change == latest - baseline


def test_it_words_the_phq9_alert_with_the_answer_given() -> None:
    answers = f.phq9(12, item9=2)
    message = rules.suicide_alert_message("phq9", score("phq9", answers), answers)
    assert "“More than half the days”" in message
    assert "Total 12 (moderate)" in message


def test_it_words_the_cssrs_alert_with_the_risk() -> None:
    answers = f.cssrs("4")
    message = rules.suicide_alert_message("cssrs_screen", score("cssrs_screen", answers), answers)
    assert message == "C-SSRS screener: high risk."
