"""The pure discharge rules at every boundary: TEDS LOS codes, the REASON mapping, the 90-day
principle, the follow-up schedule and its settings (SPEC §2, §9)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.admissions.models import EpisodeOfCare
from openiop.core import teds
from openiop.discharge import rules
from openiop.discharge.models import Discharge

ADMITTED = dt.date(2026, 1, 5)

# days from admission to discharge → TEDS LOS (SPEC §9: 1–30 exact, then buckets)
LOS_BOUNDARIES = [
    (0, 1),
    (1, 1),
    (2, 2),
    (29, 29),
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
    (2000, 37),
]


@pytest.mark.parametrize(("days", "code"), LOS_BOUNDARIES)
def test_teds_los_code_at_every_boundary(days: int, code: int) -> None:
    assert teds.los_code(days) == code


@pytest.mark.parametrize(("days", "code"), LOS_BOUNDARIES)
def test_a_discharge_counts_its_los_from_admission_to_discharge(days: int, code: int) -> None:
    discharged = ADMITTED + dt.timedelta(days=days)
    assert rules.length_of_stay(ADMITTED, discharged) == days
    discharge = Discharge(episode=EpisodeOfCare(admission_date=ADMITTED), discharge_date=discharged)
    assert discharge.length_of_stay == days
    assert discharge.los_code == code


def test_a_same_day_discharge_is_los_code_1() -> None:
    assert rules.length_of_stay(ADMITTED, ADMITTED) == 0
    assert teds.los_code(rules.length_of_stay(ADMITTED, ADMITTED)) == 1


def test_a_negative_stay_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        teds.los_code(-1)


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000))
def test_los_codes_never_go_down_as_the_stay_grows(a: int, b: int) -> None:
    short, long = sorted((a, b))
    assert 1 <= teds.los_code(short) <= teds.los_code(long) <= 37


@given(st.integers(min_value=1, max_value=30))
def test_the_first_thirty_days_are_their_own_code(days: int) -> None:
    assert teds.los_code(days) == days


# --- REASON -------------------------------------------------------------------------------------

EXPECTED_REASONS = {
    "completed": 1,
    "completed_step_down": 1,
    "left_against_advice": 2,
    "stopped_attending": 2,
    "rule_violation": 3,
    "administrative": 3,
    "transferred_out": 4,
    "higher_level": 4,
    "incarcerated": 5,
    "died": 6,
    "moved": 7,
    "medical": 7,
    "other": 7,
}


def test_every_reason_maps_to_its_teds_code() -> None:
    assert set(rules.DISCHARGE_REASONS) == set(EXPECTED_REASONS)
    for key, code in EXPECTED_REASONS.items():
        assert rules.teds_reason(key) == code, key
        assert rules.teds_reason(key) in teds.Reason.values


def test_every_teds_reason_code_is_reachable() -> None:
    assert {int(rules.teds_reason(k)) for k in rules.DISCHARGE_REASONS} == set(teds.Reason.values)


def test_an_unknown_reason_is_refused() -> None:
    with pytest.raises(KeyError):
        rules.teds_reason("went_fishing")


def test_the_reason_choices_are_plain_words() -> None:
    labels = dict(rules.REASON_CHOICES)
    assert labels["left_against_advice"] == "Left against clinical advice"
    assert all(label and not label[0].isdigit() for label in labels.values())


# --- the 90-day principle -----------------------------------------------------------------------


def test_day_89_is_early_and_day_90_is_not() -> None:
    day_89 = ADMITTED + dt.timedelta(days=88)
    day_90 = ADMITTED + dt.timedelta(days=89)
    assert rules.is_early(ADMITTED, day_89)
    assert not rules.is_early(ADMITTED, day_90)
    assert EpisodeOfCare(admission_date=ADMITTED).days_in_treatment(day_90) == 90


@given(st.integers(min_value=0, max_value=1000))
def test_early_means_fewer_than_90_days_in_treatment(days: int) -> None:
    discharged = ADMITTED + dt.timedelta(days=days)
    assert rules.is_early(ADMITTED, discharged) == (days + 1 < 90)


# --- the discharge date and the step-down -------------------------------------------------------

TODAY = dt.date(2026, 5, 1)


def test_the_discharge_date_is_checked() -> None:
    check = rules.discharge_date_error
    assert check(ADMITTED, admitted=ADMITTED, today=TODAY) is None
    assert check(TODAY, admitted=ADMITTED, today=TODAY) is None
    before = check(ADMITTED - dt.timedelta(days=1), admitted=ADMITTED, today=TODAY)
    assert before == "The discharge date is before the admission on 01/05/2026."
    future = check(TODAY + dt.timedelta(days=1), admitted=ADMITTED, today=TODAY)
    assert future is not None and "in the future" in future
    missing = check(None, admitted=ADMITTED, today=TODAY)
    assert missing is not None and missing.startswith("Enter the discharge date")


def test_a_step_down_is_needed_except_after_death_or_jail() -> None:
    assert rules.step_down_error("", "completed") is not None
    assert rules.step_down_error("none", "completed") is not None
    assert rules.step_down_error("aftercare", "completed") is None
    assert rules.step_down_error("none", "died") is None
    assert rules.step_down_error("", "incarcerated") is None
    assert rules.step_down_error("aftercare", "died") == "No step-down after this discharge reason."


# --- follow-ups ---------------------------------------------------------------------------------


def test_the_default_schedule_is_30_60_90_180_365_days() -> None:
    discharged = dt.date(2026, 4, 15)
    schedule = rules.followup_schedule(discharged, rules.DEFAULT_FOLLOWUP_DAYS)
    assert schedule == [
        (30, dt.date(2026, 5, 15)),
        (60, dt.date(2026, 6, 14)),
        (90, dt.date(2026, 7, 14)),
        (180, dt.date(2026, 10, 12)),
        (365, dt.date(2027, 4, 15)),
    ]


def test_the_schedule_drops_repeats_and_sorts() -> None:
    discharged = dt.date(2026, 4, 15)
    assert rules.followup_schedule(discharged, [90, 30, 30, 7]) == [
        (7, dt.date(2026, 4, 22)),
        (30, dt.date(2026, 5, 15)),
        (90, dt.date(2026, 7, 14)),
    ]


@given(
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)),
    st.lists(st.integers(min_value=1, max_value=rules.MAX_FOLLOWUP_DAY), max_size=12),
)
def test_every_follow_up_falls_its_days_after_the_discharge(
    discharged: dt.date, days: list[int]
) -> None:
    schedule = rules.followup_schedule(discharged, days)
    assert [d for d, _ in schedule] == sorted(set(days))
    assert all(due == discharged + dt.timedelta(days=d) for d, due in schedule)


def test_follow_up_days_are_parsed() -> None:
    assert rules.parse_followup_days("30, 60; 90,180 , 365") == [30, 60, 90, 180, 365]
    assert rules.parse_followup_days("365,30") == [30, 365]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter at least one follow-up day"),
        (" , ", "Enter at least one follow-up day"),
        ("30, soon", "“soon” is not a number of days."),
        ("-5", "is not a number of days"),
        ("0", "Follow-up days are 1 to 3650 (0 given)."),
        ("3651", "Follow-up days are 1 to 3650 (3651 given)."),
        ("30, 30", "Each follow-up day once, please."),
    ],
)
def test_bad_follow_up_days_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        rules.parse_followup_days(text)


def test_follow_up_days_error_accepts_the_defaults() -> None:
    assert rules.followup_days_error(list(rules.DEFAULT_FOLLOWUP_DAYS)) is None
    assert rules.followup_days_error([30, 30]) == "Each follow-up day once, please."
    assert rules.followup_days_error([]) is not None


@given(
    st.lists(st.integers(min_value=1, max_value=rules.MAX_FOLLOWUP_DAY), min_size=1, unique=True)
)
def test_parsing_what_is_written_gives_the_days_back(days: list[int]) -> None:
    assert rules.parse_followup_days(", ".join(str(d) for d in days)) == sorted(days)
