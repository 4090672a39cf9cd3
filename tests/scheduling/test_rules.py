"""The pure rules of the IOP week at every boundary: recurrence across daylight-saving
changes, the dose rule (SPEC §2), minutes attended, eligibility (SPEC §7) and alerts."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.accounts.rules import DoseRules
from openiop.scheduling import rules
from openiop.scheduling.rules import Person, WeekStatus

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
UTC = dt.UTC
SPRING_FORWARD = dt.date(2026, 3, 8)  # 2:00 → 3:00
FALL_BACK = dt.date(2026, 11, 1)  # 2:00 → 1:00
ADULT_IOP = DoseRules(Decimal("3.0"), 3, Decimal("9"), Decimal("19"))


def expand(
    rule: str,
    start: dt.date,
    time: dt.time,
    first: dt.date,
    last: dt.date,
    *,
    minutes: int = 90,
    end_date: dt.date | None = None,
) -> list[rules.Occurrence]:
    return rules.expand(
        rule,
        start_date=start,
        start_time=time,
        minutes=minutes,
        zone=LA,
        window_start=first,
        window_end=last,
        end_date=end_date,
    )


def offset_hours(moment: dt.datetime) -> float:
    offset = moment.utcoffset()
    assert offset is not None
    return offset.total_seconds() / 3600


# --- recurrence across daylight saving ----------------------------------------------------------


def test_it_keeps_an_evening_group_at_6_pm_across_spring_forward() -> None:
    found = expand(
        "FREQ=DAILY",
        dt.date(2026, 3, 5),
        dt.time(18, 0),
        SPRING_FORWARD - dt.timedelta(days=2),
        SPRING_FORWARD + dt.timedelta(days=1),
    )
    assert [o.occurrence_date for o in found] == [
        dt.date(2026, 3, 6),
        dt.date(2026, 3, 7),
        dt.date(2026, 3, 8),
        dt.date(2026, 3, 9),
    ]
    assert {o.starts_at.astimezone(LA).time() for o in found} == {dt.time(18, 0)}
    assert [offset_hours(o.starts_at) for o in found] == [-8, -8, -7, -7]
    assert [o.starts_at.astimezone(UTC).hour for o in found] == [2, 2, 1, 1]  # next UTC day


def test_it_keeps_an_evening_group_at_6_pm_across_fall_back() -> None:
    found = expand(
        "FREQ=DAILY",
        dt.date(2026, 10, 1),
        dt.time(18, 0),
        dt.date(2026, 10, 31),
        dt.date(2026, 11, 2),
    )
    assert {o.starts_at.astimezone(LA).time() for o in found} == {dt.time(18, 0)}
    assert [offset_hours(o.starts_at) for o in found] == [-7, -8, -8]
    for o in found:
        assert o.ends_at - o.starts_at == dt.timedelta(minutes=90)


def test_it_puts_a_monday_wednesday_friday_group_at_9_am_both_weeks() -> None:
    found = expand(
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        dt.date(2026, 3, 2),
        dt.time(9, 0),
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 13),
    )
    assert [o.occurrence_date.day for o in found] == [2, 4, 6, 9, 11, 13]
    assert {o.starts_at.astimezone(LA).time() for o in found} == {dt.time(9, 0)}
    assert [o.starts_at.astimezone(UTC).hour for o in found] == [17, 17, 17, 16, 16, 16]


def test_it_places_1_30_on_fall_back_day_once_in_daylight_time() -> None:
    (o,) = expand("FREQ=DAILY", FALL_BACK, dt.time(1, 30), FALL_BACK, FALL_BACK)
    assert o.starts_at.astimezone(LA).time() == dt.time(1, 30)
    assert offset_hours(o.starts_at) == -7  # the first 1:30, before the clocks go back
    assert o.starts_at.astimezone(UTC) == dt.datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    assert o.ends_at.astimezone(UTC) - o.starts_at.astimezone(UTC) == dt.timedelta(minutes=90)
    assert o.ends_at.astimezone(LA).time() == dt.time(2, 0)  # 90 real minutes, wall clock +30


def test_it_moves_2_30_on_spring_forward_day_to_3_30() -> None:
    (o,) = expand("FREQ=DAILY", SPRING_FORWARD, dt.time(2, 30), SPRING_FORWARD, SPRING_FORWARD)
    assert o.starts_at.astimezone(LA).time() == dt.time(3, 30)
    assert o.starts_at.astimezone(UTC) == dt.datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert o.starts_at.astimezone(LA).date() == SPRING_FORWARD


def test_it_counts_the_last_day_and_the_window_bounds() -> None:
    mwf = "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    ended = expand(
        mwf,
        dt.date(2026, 3, 2),
        dt.time(9, 0),
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 31),
        end_date=dt.date(2026, 3, 4),
    )
    assert [o.occurrence_date for o in ended] == [dt.date(2026, 3, 2), dt.date(2026, 3, 4)]
    window = expand(
        mwf, dt.date(2026, 3, 2), dt.time(9, 0), dt.date(2026, 3, 4), dt.date(2026, 3, 6)
    )
    assert [o.occurrence_date for o in window] == [dt.date(2026, 3, 4), dt.date(2026, 3, 6)]
    inside = expand(
        mwf, dt.date(2026, 3, 2), dt.time(9, 0), dt.date(2026, 3, 5), dt.date(2026, 3, 5)
    )
    assert inside == []
    before_start = expand(
        mwf, dt.date(2026, 3, 4), dt.time(9, 0), dt.date(2026, 3, 2), dt.date(2026, 3, 4)
    )
    assert [o.occurrence_date for o in before_start] == [dt.date(2026, 3, 4)]
    assert (
        expand(
            mwf,
            dt.date(2026, 3, 2),
            dt.time(9, 0),
            dt.date(2026, 3, 9),
            dt.date(2026, 3, 31),
            end_date=dt.date(2026, 3, 6),
        )
        == []
    )


@given(
    day=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31)),
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    minutes=st.integers(min_value=15, max_value=480),
)
def test_it_keeps_the_wall_clock_time_except_in_the_spring_gap(
    day: dt.date, at: dt.time, minutes: int
) -> None:
    (o,) = expand("FREQ=DAILY", day, at, day, day, minutes=minutes)
    local = o.starts_at.astimezone(LA)
    in_gap = day in (SPRING_FORWARD, dt.date(2027, 3, 14)) and dt.time(2, 0) <= at < dt.time(3, 0)
    if in_gap:
        assert local.time() == dt.time(at.hour + 1, at.minute)
    else:
        assert local.time() == at
    assert local.date() == day
    assert o.ends_at.astimezone(UTC) - o.starts_at.astimezone(UTC) == dt.timedelta(minutes=minutes)


def test_it_counts_a_weeks_minutes_from_the_rule() -> None:
    week = rules.weekly_minutes(
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        minutes=180,
        start_date=dt.date(2026, 3, 2),
        end_date=None,
        week_of=dt.date(2026, 3, 11),
    )
    assert week == 540
    started_midweek = rules.weekly_minutes(
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        minutes=180,
        start_date=dt.date(2026, 3, 4),
        end_date=None,
        week_of=dt.date(2026, 3, 2),
    )
    assert started_midweek == 360


def test_overlaps_are_half_open() -> None:
    nine = dt.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    a = (nine, nine + dt.timedelta(minutes=90))
    assert not rules.overlaps(a, (a[1], a[1] + dt.timedelta(minutes=60)))
    assert rules.overlaps(a, (a[1] - dt.timedelta(minutes=1), a[1] + dt.timedelta(minutes=60)))


# --- rrule_error ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", None),
        ("RRULE:FREQ=WEEKLY;BYDAY=TU,TH", None),
        ("freq=daily", None),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", None),
        ("FREQ=WEEKLY;BYDAY=MO;", None),
        ("", "Say how it repeats"),
        ("FREQ=WEEKLY;COUNT=10", "Leave UNTIL and COUNT out"),
        ("FREQ=WEEKLY;UNTIL=20261231T000000Z", "Leave UNTIL and COUNT out"),
        ("DTSTART=20260302;FREQ=WEEKLY", "Leave DTSTART out"),
        ("DTSTART:20260302T090000\nRRULE:FREQ=WEEKLY", "Leave DTSTART out"),
        ("FREQ=WEEKLY;BYHOUR=9", "Leave the time out"),
        ("FREQ=WEEKLY;BYMINUTE=30", "Leave the time out"),
        ("FREQ=HOURLY", "A group repeats daily, weekly, monthly or yearly."),
        ("FREQ=MINUTELY", "A group repeats daily, weekly, monthly or yearly."),
        ("garbage", "Start the rule with how often it repeats"),
        ("BYDAY=MO", "Start the rule with how often it repeats"),
        ("FREQ=WEEKLY;BYDAY", "Write each part as NAME=VALUE"),
        ("FREQ=WEEKLY;BYDAY=XX", "That is not a recurrence rule we can read"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL must be 1 or more"),
        ("FREQ=WEEKLY;INTERVAL=-1", "INTERVAL must be 1 or more"),
    ],
)
def test_it_explains_a_rule_it_cannot_use(text: str, expected: str | None) -> None:
    error = rules.rrule_error(text)
    if expected is None:
        assert error is None
    else:
        assert error is not None and error.startswith(expected)
        assert "unpack" not in error and "positional" not in error  # no Python internals


# --- the dose rule (SPEC §2) ---------------------------------------------------------------------


def test_a_service_day_starts_at_3_hours() -> None:
    assert not rules.is_service_day(179, ADULT_IOP)
    assert rules.is_service_day(180, ADULT_IOP)
    assert rules.service_day_minutes(ADULT_IOP) == 180


def test_a_service_day_follows_the_programs_daily_minimum() -> None:
    two_and_a_half = DoseRules(Decimal("2.5"), 3, Decimal("6"), Decimal("19"))
    assert not rules.is_service_day(149, two_and_a_half)
    assert rules.is_service_day(150, two_and_a_half)
    assert rules.service_day_minutes(two_and_a_half) == 150
    odd = DoseRules(Decimal("2.333"), 3, Decimal("6"), Decimal("19"))  # 139.98 minutes
    assert rules.service_day_minutes(odd) == 140
    assert not rules.is_service_day(139, odd)
    assert rules.is_service_day(140, odd)


@given(hundredths=st.integers(min_value=25, max_value=2400), minutes=st.integers(0, 1440))
def test_service_day_minutes_agrees_with_is_service_day(hundredths: int, minutes: int) -> None:
    dose = DoseRules(Decimal(hundredths) / 100, 3, Decimal("9"), None)
    threshold = rules.service_day_minutes(dose)
    assert rules.is_service_day(minutes, dose) == (minutes >= threshold)
    assert rules.is_service_day(threshold, dose)
    assert not rules.is_service_day(threshold - 1, dose)


@pytest.mark.parametrize(
    ("hours", "days", "status"),
    [
        (Decimal("9.0"), 3, WeekStatus.MEETS),
        (Decimal("8.98"), 3, WeekStatus.BELOW),
        (rules.hours(539), 3, WeekStatus.BELOW),  # 8 h 59 min
        (rules.hours(540), 3, WeekStatus.MEETS),
        (Decimal("12"), 2, WeekStatus.BELOW),  # enough hours, too few days
        (Decimal("8.98"), 5, WeekStatus.BELOW),  # enough days, too few hours
        (Decimal("19"), 5, WeekStatus.MEETS),
        (Decimal("19.01"), 5, WeekStatus.ABOVE),
        (Decimal("19.01"), 1, WeekStatus.ABOVE),
        (Decimal("0"), 0, WeekStatus.BELOW),
    ],
)
def test_a_week_needs_both_days_and_hours(hours: Decimal, days: int, status: WeekStatus) -> None:
    assert rules.week_status(hours, days, ADULT_IOP) == status


def test_a_week_without_a_maximum_is_never_above() -> None:
    php = DoseRules(Decimal("4"), 5, Decimal("20"), None)
    assert rules.week_status(Decimal("60"), 5, php) == WeekStatus.MEETS
    assert WeekStatus.ABOVE.label == "Above the maximum"


@pytest.mark.parametrize(
    ("hours", "days", "text"),
    [
        (Decimal("9"), 3, ""),
        (Decimal("8.98"), 3, "0.02 more hours"),
        (Decimal("12"), 2, "1 more service day"),
        (Decimal("8.98"), 2, "1 more service day and 0.02 more hours"),
        (Decimal("5"), 1, "2 more service days and 4 more hours"),
    ],
)
def test_it_says_what_a_short_week_lacks(hours: Decimal, days: int, text: str) -> None:
    assert rules.week_shortfall(hours, days, ADULT_IOP) == text


def test_week_start_is_the_monday() -> None:
    assert rules.week_start(dt.date(2026, 3, 8)) == dt.date(2026, 3, 2)  # Sunday
    assert rules.week_start(dt.date(2026, 3, 9)) == dt.date(2026, 3, 9)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal(9), "9"),
        (Decimal("8.5"), "8.5"),
        (rules.hours(539), "8.98"),
        (Decimal("0.02"), "0.02"),
        (Decimal("10.00"), "10"),
        (Decimal(0), "0"),
    ],
)
def test_hours_text(value: Decimal, text: str) -> None:
    assert rules.hours_text(value) == text


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(179, "2 h 59 min"), (180, "3 h"), (45, "45 min"), (61, "1 h 01 min"), (0, "0 min")],
)
def test_minutes_text(minutes: int, text: str) -> None:
    assert rules.minutes_text(minutes) == text


# --- minutes attended -----------------------------------------------------------------------------

NINE = dt.time(9, 0)


@pytest.mark.parametrize(
    ("status", "arrived", "left", "minutes"),
    [
        ("present", None, None, 180),
        ("late", dt.time(9, 20), None, 160),
        ("left_early", None, dt.time(11, 30), 150),
        ("late", dt.time(9, 20), dt.time(11, 30), 130),
        ("present", dt.time(8, 45), None, 180),  # early arrival counts from the start
        ("present", None, dt.time(12, 30), 180),  # staying late counts to the end
        ("late", dt.time(12, 15), None, 0),  # after the end
        ("excused", None, None, 0),
        ("unexcused", None, None, 0),
        ("cancelled", None, None, 0),
        ("unexcused", dt.time(9, 0), dt.time(12, 0), 0),
    ],
)
def test_minutes_attended(
    status: str, arrived: dt.time | None, left: dt.time | None, minutes: int
) -> None:
    assert (
        rules.minutes_attended(
            status, session_start=NINE, session_minutes=180, arrived=arrived, left=left
        )
        == minutes
    )


@given(
    arrived=st.none() | st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    left=st.none() | st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    length=st.integers(15, 480),
)
def test_minutes_attended_stay_within_the_session(
    arrived: dt.time | None, left: dt.time | None, length: int
) -> None:
    start = dt.time(8, 0)
    got = rules.minutes_attended(
        "late", session_start=start, session_minutes=length, arrived=arrived, left=left
    )
    assert 0 <= got <= length


@pytest.mark.parametrize(
    ("status", "minutes", "arrived", "left", "errors"),
    [
        ("present", 180, None, None, {}),
        ("present", 0, None, None, {}),
        ("present", None, None, None, {}),
        ("present", -1, None, None, {"minutes": "Minutes attended cannot be negative."}),
        (
            "present",
            181,
            None,
            None,
            {"minutes": "Minutes attended cannot be more than the session's 180 minutes."},
        ),
        (
            "excused",
            30,
            None,
            None,
            {"minutes": "An absence or a cancelled session counts no minutes."},
        ),
        ("cancelled", 0, None, None, {}),
        (
            "late",
            None,
            dt.time(10, 0),
            dt.time(9, 30),
            {"left_at": "The time they left must be after the time they arrived."},
        ),
        (
            "late",
            None,
            dt.time(10, 0),
            dt.time(10, 0),
            {"left_at": "The time they left must be after the time they arrived."},
        ),
        ("late", None, dt.time(10, 0), dt.time(10, 1), {}),
    ],
)
def test_attendance_errors(
    status: str,
    minutes: int | None,
    arrived: dt.time | None,
    left: dt.time | None,
    errors: dict[str, str],
) -> None:
    assert (
        rules.attendance_errors(status, minutes, session_minutes=180, arrived=arrived, left=left)
        == errors
    )


# --- eligibility (SPEC §7) -----------------------------------------------------------------------

GENDERS = ["woman", "trans_woman", "man", "trans_man", "non_binary", "other", "declined", ""]
VETERAN = ["veteran", "active_duty", "reserve", "no", "declined", ""]


@pytest.mark.parametrize("gender", GENDERS)
def test_womens_group(gender: str) -> None:
    error = rules.eligibility_error("women", Person(gender_identity=gender))
    assert (error is None) == (gender in ("woman", "trans_woman"))
    if error:
        assert error.startswith("This is a women's group")


@pytest.mark.parametrize("gender", GENDERS)
def test_mens_group(gender: str) -> None:
    error = rules.eligibility_error("men", Person(gender_identity=gender))
    assert (error is None) == (gender in ("man", "trans_man"))
    if error:
        assert error.startswith("This is a men's group")


@pytest.mark.parametrize("status", VETERAN)
def test_veterans_group(status: str) -> None:
    error = rules.eligibility_error("veterans", Person(veteran_status=status))
    assert (error is None) == (status in ("veteran", "active_duty", "reserve"))
    if error:
        assert "veteran status" in error


@pytest.mark.parametrize("opt_in", [True, False])
@pytest.mark.parametrize("gender", ["woman", "man", "non_binary", ""])
def test_lgbtq_group_is_opt_in_whatever_the_gender(opt_in: bool, gender: str) -> None:
    error = rules.eligibility_error("lgbtq", Person(gender_identity=gender, lgbtq_opt_in=opt_in))
    assert (error is None) == opt_in
    if error:
        assert error.startswith("This is an LGBTQ+ group")


@pytest.mark.parametrize("opt_in", [True, False])
def test_survivors_group_is_opt_in(opt_in: bool) -> None:
    error = rules.eligibility_error(
        "survivors", Person(survivor_opt_in=opt_in, lgbtq_opt_in=not opt_in)
    )
    assert (error is None) == opt_in
    if error:
        assert error.startswith("This is a survivors' group")


@pytest.mark.parametrize("gender", GENDERS)
@pytest.mark.parametrize("status", VETERAN)
def test_an_open_group_takes_everyone(gender: str, status: str) -> None:
    assert (
        rules.eligibility_error("", Person(gender_identity=gender, veteran_status=status)) is None
    )


def test_an_opt_in_does_not_open_another_specialty() -> None:
    everything = Person(gender_identity="non_binary", lgbtq_opt_in=True, survivor_opt_in=True)
    assert rules.eligibility_error("veterans", everything) is not None
    assert rules.eligibility_error("women", everything) is not None
    assert rules.eligibility_error("men", everything) is not None


# --- warnings and alerts ------------------------------------------------------------------------


def test_phase_warning() -> None:
    assert rules.phase_warning([], 3, "Engagement") is None  # every phase
    assert rules.phase_warning([1, 2], 2, "Engagement or Early recovery") is None
    assert (
        rules.phase_warning([1], 3, "Engagement")
        == "This group is for Engagement; the patient is in another phase."
    )
    assert (
        rules.phase_warning([1], None, "Engagement")
        == "This group is for Engagement; the patient has no phase recorded."
    )


def test_track_warning() -> None:
    assert rules.track_warning(None, "Evening") is None
    assert rules.track_warning("Day", None) is None
    assert rules.track_warning("Day", "Day") is None
    assert (
        rules.track_warning("Evening", "Day")
        == "This group meets on the Evening track; the patient is on the Day track."
    )


@pytest.mark.parametrize(
    ("latest_first", "streak"),
    [
        ([], 0),
        (["present"], 0),
        (["unexcused"], 1),
        (["unexcused", "unexcused"], 2),
        (["unexcused", "cancelled", "unexcused"], 2),  # a cancelled session is skipped
        (["cancelled", "unexcused", "unexcused", "present"], 2),
        (["unexcused", "excused", "unexcused"], 1),  # an excused absence breaks it
        (["present", "unexcused", "unexcused"], 0),  # only the latest ones count
        (["unexcused", "late", "unexcused"], 1),
    ],
)
def test_unexcused_streak(latest_first: list[str], streak: int) -> None:
    assert rules.unexcused_streak(latest_first) == streak


@pytest.mark.parametrize(
    ("since", "in_treatment", "risk"),
    [
        (6, 30, False),
        (7, 30, True),
        (0, 30, False),
        (None, 7, False),  # admitted a week ago, nothing yet: not yet
        (None, 8, True),
    ],
)
def test_is_at_risk(since: int | None, in_treatment: int, risk: bool) -> None:
    assert rules.is_at_risk(since, in_treatment) is risk


@pytest.mark.parametrize(
    ("kind", "asked", "minutes"),
    [
        ("individual", None, 50),
        ("family", None, 50),
        ("case_management", None, 30),
        ("medication", None, 30),
        ("drug_test", None, 15),
        ("drug_test", 20, 20),  # what was asked wins
        ("individual", 0, 0),  # zero is kept, so the service refuses it
        ("unknown", None, 50),
    ],
)
def test_appointment_minutes(kind: str, asked: int | None, minutes: int) -> None:
    assert rules.appointment_minutes(kind, asked) == minutes
