from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.admissions import rules
from openiop.core import teds

TODAY = dt.date(2026, 11, 28)
BORN = dt.date(1990, 5, 1)


def test_it_accepts_today_and_refuses_tomorrow() -> None:
    assert rules.admission_date_error(TODAY, today=TODAY, born=BORN) is None
    assert "future" in (
        rules.admission_date_error(TODAY + dt.timedelta(days=1), today=TODAY, born=BORN) or ""
    )


def test_it_refuses_a_date_before_birth_and_a_wrong_year() -> None:
    assert "birth" in (
        rules.admission_date_error(dt.date(1989, 1, 1), today=TODAY, born=BORN) or ""
    )
    year_ago = TODAY - dt.timedelta(days=365)
    assert rules.admission_date_error(year_ago, today=TODAY, born=BORN) is None
    assert "year" in (
        rules.admission_date_error(year_ago - dt.timedelta(days=1), today=TODAY, born=BORN) or ""
    )


@pytest.mark.parametrize(
    ("day", "remaining", "reached"), [(1, 89, False), (89, 1, False), (90, 0, True), (400, 0, True)]
)
def test_it_counts_down_to_the_90_day_minimum(day: int, remaining: int, reached: bool) -> None:
    progress = rules.stay_progress(day)
    assert progress.remaining == remaining
    assert progress.reached_minimum is reached


@given(st.integers(min_value=-5, max_value=2000))
def test_it_keeps_progress_between_0_and_100_percent(day: int) -> None:
    assert 0 <= rules.stay_progress(day).percent <= 100


def test_it_warns_when_the_program_level_differs_from_the_asam_level() -> None:
    assert rules.asam_mismatch("2.1", "2.1") is None
    assert rules.asam_mismatch("", "2.1") is None
    warning = rules.asam_mismatch("2.5", "2.1")
    assert warning is not None and "2.5" in warning


@pytest.mark.parametrize(
    ("days", "code"),
    [
        (0, 1),
        (1, 1),
        (30, 30),
        (31, 31),
        (45, 31),
        (46, 32),
        (60, 32),
        (61, 33),
        (90, 33),
        (91, 34),
        (120, 34),
        (121, 35),
        (180, 35),
        (181, 36),
        (365, 36),
        (366, 37),
    ],
)
def test_it_buckets_length_of_stay_as_teds_los(days: int, code: int) -> None:
    assert teds.los_code(days) == code


@pytest.mark.parametrize(
    ("age", "code"),
    [
        (11, 1),
        (12, 2),
        (14, 2),
        (15, 3),
        (17, 3),
        (18, 4),
        (20, 4),
        (21, 5),
        (24, 5),
        (25, 6),
        (29, 6),
        (30, 7),
        (None, None),
    ],
)
def test_it_codes_age_at_first_use(age: int | None, code: int | None) -> None:
    assert teds.first_use_code(age) == code


def test_it_codes_missing_values_as_minus_nine() -> None:
    assert teds.coded(None) == -9
    assert teds.coded(6) == 6
