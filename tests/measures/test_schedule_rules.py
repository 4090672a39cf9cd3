"""The pure rules of measurement-based care: when a repeated instrument is next due, due or
overdue, what a schedule may be, and response and remission (SPEC §6) — at every boundary."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.measures import rules

START = dt.date(2026, 3, 2)
days = st.integers(min_value=rules.EVERY_DAYS_MIN, max_value=rules.EVERY_DAYS_MAX)
dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


# --- next_due ------------------------------------------------------------------------------------


def test_it_is_due_on_the_start_day_when_never_given() -> None:
    assert rules.next_due(start=START, every_days=14, last_given=None) == START


def test_it_is_due_every_days_after_the_last_time_given() -> None:
    given_on = START + dt.timedelta(days=3)
    assert rules.next_due(start=START, every_days=14, last_given=given_on) == dt.date(2026, 3, 19)


def test_a_result_before_the_start_never_makes_it_due_before_the_start() -> None:
    # Given at the assessment 3 days before admission: due 11 days after admission.
    before = START - dt.timedelta(days=3)
    assert rules.next_due(start=START, every_days=14, last_given=before) == START + dt.timedelta(
        days=11
    )
    long_before = START - dt.timedelta(days=400)
    assert rules.next_due(start=START, every_days=14, last_given=long_before) == START


def test_given_on_the_start_day_it_is_next_due_a_full_interval_later() -> None:
    assert rules.next_due(start=START, every_days=7, last_given=START) == START + dt.timedelta(7)


@given(start=dates, every=days, offset=st.integers(min_value=-800, max_value=800))
def test_next_due_is_never_before_the_start_nor_before_an_interval_after_the_last(
    start: dt.date, every: int, offset: int
) -> None:
    last = start + dt.timedelta(days=offset)
    due = rules.next_due(start=start, every_days=every, last_given=last)
    assert due >= start
    assert due >= last + dt.timedelta(days=every)
    assert due in (start, last + dt.timedelta(days=every))


@given(start=dates, every=days, offset=st.integers(min_value=0, max_value=800))
def test_giving_it_on_the_day_it_is_due_moves_it_exactly_one_interval(
    start: dt.date, every: int, offset: int
) -> None:
    last = start + dt.timedelta(days=offset)
    due = rules.next_due(start=start, every_days=every, last_given=last)
    assert rules.next_due(start=start, every_days=every, last_given=due) == due + dt.timedelta(
        days=every
    )


# --- due, overdue, how late ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today_offset", "due", "overdue", "late", "words"),
    [
        (-1, False, False, 0, "due in 1 day"),
        (0, True, False, 0, "due today"),
        (1, True, True, 1, "overdue by 1 day"),
        (9, True, True, 9, "overdue by 9 days"),
        (-5, False, False, 0, "due in 5 days"),
    ],
)
def test_due_and_overdue_at_the_boundary(
    today_offset: int, due: bool, overdue: bool, late: int, words: str
) -> None:
    today = START + dt.timedelta(days=today_offset)
    assert rules.is_due(START, today) is due
    assert rules.is_overdue(START, today) is overdue
    assert rules.days_overdue(START, today) == late
    assert rules.due_words(START, today) == words


@given(due_on=dates, today=dates)
def test_overdue_is_due_and_late_by_a_positive_number_of_days(
    due_on: dt.date, today: dt.date
) -> None:
    late = rules.days_overdue(due_on, today)
    assert late >= 0
    assert rules.is_overdue(due_on, today) == (late > 0)
    if rules.is_overdue(due_on, today):
        assert rules.is_due(due_on, today)
    assert rules.is_due(due_on, today) == (due_on <= today)


# --- what a schedule may be ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "ok"), [(0, False), (1, True), (14, True), (365, True), (366, False), (-7, False)]
)
def test_every_days_runs_from_1_to_365(every: int, ok: bool) -> None:
    problems = rules.schedule_problems(
        every_days=every, starts_on=START, admitted_on=START, today=START
    )
    assert ("every_days" not in problems) is ok


def test_a_schedule_starts_on_or_after_admission_and_within_a_year() -> None:
    def problems(starts_on: dt.date) -> dict[str, str]:
        return rules.schedule_problems(
            every_days=14, starts_on=starts_on, admitted_on=START, today=START
        )

    assert "starts_on" in problems(START - dt.timedelta(days=1))
    assert problems(START) == {}
    assert problems(START + dt.timedelta(days=366)) == {}
    assert "starts_on" in problems(START + dt.timedelta(days=367))


# --- response and remission (SPEC §6: PHQ-9 only) ------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "latest", "response", "remission"),
    [
        (20, 10, True, False),  # exactly 50 % down
        (20, 11, False, False),  # 45 %
        (9, 4, True, True),  # 56 % and under 5
        (9, 5, False, False),  # 5 is not under 5
        (4, 4, False, True),  # under 5 from the start
        (0, 0, False, True),  # a baseline of 0 has no response
    ],
)
def test_phq9_response_and_remission_boundaries(
    baseline: int, latest: int, response: bool, remission: bool
) -> None:
    progress = rules.progress("phq9", baseline, latest)
    assert progress is not None
    assert (progress.response, progress.remission) == (response, remission)
    assert progress == rules.phq9_progress(baseline, latest)


@pytest.mark.parametrize("code", ["gad7", "audit", "dast10", "bam"])
def test_spec_defines_response_and_remission_for_the_phq9_only(code: str) -> None:
    assert rules.progress(code, 20, 2) is None


@given(baseline=st.integers(1, 27), latest=st.integers(0, 27))
def test_response_is_a_drop_of_half_the_baseline_or_more(baseline: int, latest: int) -> None:
    progress = rules.progress("phq9", baseline, latest)
    assert progress is not None
    assert progress.response == (2 * (baseline - latest) >= baseline)
    assert progress.remission == (latest < 5)


def test_the_defaults_are_phq9_and_gad7_every_14_days_and_bam_every_7() -> None:
    assert dict(rules.DEFAULT_SCHEDULES) == {"phq9": 14, "gad7": 14, "bam": 7}
