"""The pure rules of treatment plans, at every boundary (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.accounts.rules import DoseRules
from openiop.plans import rules
from openiop.plans.rules import Intensity, Item

ADULT_IOP = DoseRules(Decimal("3.0"), 3, Decimal("9"), Decimal("19"))


def errors(hours: str, days: int, program: DoseRules = ADULT_IOP) -> dict[str, str]:
    return rules.intensity_errors(Intensity(Decimal(hours), days), program)


# --- planned intensity ---------------------------------------------------------------------


def test_the_program_minimum_is_allowed() -> None:
    assert errors("3.0", 3) == {}
    assert errors("3", 3) == {}


def test_a_shorter_day_names_the_minimum_hours_per_day() -> None:
    found = errors("2.99", 3)
    assert set(found) == {"hours_per_day"}
    assert "minimum hours per day" in found["hours_per_day"]
    assert "2.99 hours a day" in found["hours_per_day"]
    assert "(3)" in found["hours_per_day"]  # never "3.00"


def test_fewer_days_names_the_minimum_days_per_week() -> None:
    found = errors("3", 2)
    assert set(found) == {"days_per_week"}
    assert "minimum days per week" in found["days_per_week"]


def test_the_weekly_minimum_is_checked_when_the_day_is_long_enough() -> None:
    shorter_days = DoseRules(Decimal("2.5"), 3, Decimal("9"), Decimal("19"))
    assert errors("3.0", 3, shorter_days) == {}  # 9.0 a week: exactly the minimum
    found = errors("2.99", 3, shorter_days)  # 8.97 a week
    assert "minimum hours per week" in found["hours_per_day"]
    assert "8.97" in found["hours_per_day"]


def test_the_weekly_maximum_is_inclusive() -> None:
    five_days = DoseRules(Decimal("3"), 3, Decimal("9"), Decimal("19"))
    assert errors("3.8", 5, five_days) == {}  # 19.0
    found = errors("3.802", 5, five_days)  # 19.01
    assert "maximum hours per week" in found["hours_per_day"]
    found = errors("4", 5, five_days)  # 20
    assert "maximum hours per week" in found["hours_per_day"]
    assert "higher level of care" in found["hours_per_day"]


def test_no_maximum_means_no_ceiling() -> None:
    open_ended = DoseRules(Decimal("3"), 3, Decimal("9"), None)
    assert errors("24", 7, open_ended) == {}


@pytest.mark.parametrize("days", [0, 8, -1])
def test_days_outside_a_week_are_refused(days: int) -> None:
    assert "between 1 and 7" in errors("3", days)["days_per_week"]


@pytest.mark.parametrize("hours", ["0", "24.01", "-1"])
def test_hours_outside_a_day_are_refused(hours: str) -> None:
    assert "at most 24" in errors(hours, 3)["hours_per_day"]


def test_24_hours_is_a_possible_day() -> None:
    assert "hours_per_day" not in errors("24", 3, DoseRules(Decimal("3"), 3, Decimal("9"), None))


@given(
    hours=st.decimals(min_value=Decimal("3"), max_value=Decimal("6.33"), places=2),
    days=st.integers(min_value=3, max_value=3),
)
def test_anything_within_the_bounds_is_allowed(hours: Decimal, days: int) -> None:
    assert rules.intensity_errors(Intensity(hours, days), ADULT_IOP) == {}


@given(
    hours=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("24"), places=2),
    days=st.integers(min_value=1, max_value=7),
)
def test_every_refusal_names_a_rule_and_acceptance_means_within_bounds(
    hours: Decimal, days: int
) -> None:
    found = rules.intensity_errors(Intensity(hours, days), ADULT_IOP)
    weekly = hours * days
    within = hours >= 3 and days >= 3 and Decimal("9") <= weekly <= Decimal("19")
    assert (found == {}) == within
    for message in found.values():
        assert "minimum" in message or "maximum" in message


def test_meetings() -> None:
    assert rules.meetings_error(None, 0) is not None
    assert rules.meetings_error(-1, 0) is not None
    assert rules.meetings_error(22, 0) is not None
    assert rules.meetings_error(21, 0) is None
    assert rules.meetings_error(0, 0) is None
    assert rules.meetings_error(2, 2) is None
    assert rules.meetings_error(1, 2) == (
        "The program requires at least 2 mutual-help meetings a week."
    )
    assert (
        rules.meetings_error(0, 1) == "The program requires at least 1 mutual-help meeting a week."
    )


# --- reviews -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "days", "due"),
    [
        (dt.date(2026, 1, 31), 30, dt.date(2026, 3, 2)),
        (dt.date(2028, 1, 31), 30, dt.date(2028, 3, 1)),  # leap year
        (dt.date(2026, 12, 15), 30, dt.date(2027, 1, 14)),
        (dt.date(2026, 2, 28), 1, dt.date(2026, 3, 1)),
        (dt.date(2026, 1, 5), 90, dt.date(2026, 4, 5)),
    ],
)
def test_next_review_counts_calendar_days(last: dt.date, days: int, due: dt.date) -> None:
    assert rules.next_review_due(last, days) == due


@pytest.mark.parametrize("days", [0, -30])
def test_a_review_cycle_is_at_least_a_day(days: int) -> None:
    with pytest.raises(ValueError, match="at least one day"):
        rules.next_review_due(dt.date(2026, 1, 1), days)


def test_a_change_makes_the_review_due_that_day_unless_due_earlier() -> None:
    change = dt.date(2026, 3, 10)
    assert rules.due_after_change(None, change) == change
    assert rules.due_after_change(dt.date(2026, 3, 1), change) == dt.date(2026, 3, 1)
    assert rules.due_after_change(dt.date(2026, 4, 1), change) == change
    assert rules.due_after_change(change, change) == change


def test_review_state_boundaries() -> None:
    today = dt.date(2026, 3, 10)
    assert rules.review_state(None, today) == "none"
    assert rules.review_state(dt.date(2026, 3, 9), today) == "overdue"
    assert rules.review_state(today, today) == "due"
    assert rules.review_state(dt.date(2026, 3, 17), today) == "due"  # 7 days: due soon
    assert rules.review_state(dt.date(2026, 3, 18), today) == "scheduled"
    assert rules.review_state(dt.date(2026, 3, 11), today, soon_days=0) == "scheduled"


# --- signatures ----------------------------------------------------------------------------


def test_required_signatures() -> None:
    assert rules.required_signatures(clinician_needs_cosign=None) == ("patient", "clinician")
    assert rules.required_signatures(clinician_needs_cosign=False) == ("patient", "clinician")
    assert rules.required_signatures(clinician_needs_cosign=True) == (
        "patient",
        "clinician",
        "supervisor",
    )


def test_missing_signatures() -> None:
    assert rules.missing_signatures([], clinician_needs_cosign=None) == ["patient", "clinician"]
    assert rules.missing_signatures(["patient"], clinician_needs_cosign=None) == ["clinician"]
    assert rules.missing_signatures(["patient", "clinician"], clinician_needs_cosign=False) == []
    assert rules.missing_signatures(["patient", "clinician"], clinician_needs_cosign=True) == [
        "supervisor"
    ]
    assert (
        rules.missing_signatures(
            ["clinician", "supervisor", "patient"], clinician_needs_cosign=True
        )
        == []
    )


@pytest.mark.parametrize(
    ("typed", "matches"),
    [
        ("Dana Quintero", True),
        ("dana quintero", True),
        ("  DANA   Quintero ", True),
        ("Quintero, Dana", False),  # order matters: first and last name as in the chart
        ("Dana, Quintero", True),
        ("Dana Maria Quintero", True),
        ("Dee Quintero", True),
        ("Dana", False),
        ("Dana Quinteros", False),
        ("", False),
        ("   ", False),
        (",", False),
    ],
)
def test_typed_name_matches(typed: str, matches: bool) -> None:
    names = ["Dana Quintero", "Dana Maria Quintero", "Dee Quintero"]
    assert rules.typed_name_matches(typed, names) is matches


def test_a_blank_name_in_the_chart_matches_nothing() -> None:
    assert rules.typed_name_matches("x", ["", "  "]) is False
    assert rules.typed_name_matches("", [""]) is False


# --- comparing versions --------------------------------------------------------------------


def item(key: str, text: str = "", label: str = "Objective") -> Item:
    return Item(key, "objective", label, text or f"text {key}")


def changes(result: rules.Comparison) -> list[tuple[str, str]]:
    return [((r.right or r.left).key, r.change) for r in result.rows]  # type: ignore[union-attr]


def test_compare_same_changed_added() -> None:
    left = [item("a"), item("b"), item("c")]
    right = [item("a"), item("b", "new words"), item("c"), item("d")]
    result = rules.compare(left, right)
    assert changes(result) == [("a", "same"), ("b", "changed"), ("c", "same"), ("d", "added")]
    assert result.counts == {"same": 2, "changed": 1, "added": 1, "removed": 0}


def test_a_label_change_is_a_change() -> None:
    result = rules.compare([item("a", "x", "Problem 1")], [item("a", "x", "Problem 2")])
    assert changes(result) == [("a", "changed")]


def test_a_removed_item_stays_where_it_was() -> None:
    left = [item("a"), item("b"), item("c")]
    right = [item("a"), item("c")]
    assert changes(rules.compare(left, right)) == [("a", "same"), ("b", "removed"), ("c", "same")]


def test_a_removed_first_item_comes_first() -> None:
    left = [item("a"), item("b")]
    right = [item("x"), item("b")]
    assert changes(rules.compare(left, right)) == [("a", "removed"), ("x", "added"), ("b", "same")]


def test_everything_removed_and_everything_added() -> None:
    result = rules.compare([item("a"), item("b")], [item("c")])
    assert changes(result) == [("a", "removed"), ("b", "removed"), ("c", "added")]
    assert rules.compare([], []).rows == []


def test_a_removed_row_keeps_its_old_text() -> None:
    row = rules.compare([item("a", "old")], []).rows[0]
    assert row.left is not None and row.left.text == "old" and row.right is None


keys = st.lists(st.sampled_from("abcdefghij"), unique=True, max_size=10)
texts = st.sampled_from(["one", "two"])


@given(keys=keys, text=texts)
def test_a_version_compared_with_itself_is_the_same(keys: list[str], text: str) -> None:
    items = [item(k, text) for k in keys]
    result = rules.compare(items, items)
    assert all(r.change == "same" for r in result.rows)
    assert len(result.rows) == len(keys)


@given(left=keys, right=keys, lt=texts, rt=texts)
def test_every_key_is_one_row(left: list[str], right: list[str], lt: str, rt: str) -> None:
    result = rules.compare([item(k, lt) for k in left], [item(k, rt) for k in right])
    assert sum(result.counts.values()) == len(set(left) | set(right))
    assert sorted((r.right or r.left).key for r in result.rows) == sorted(  # type: ignore[union-attr]
        set(left) | set(right)
    )
    assert result.counts["added"] == len(set(right) - set(left))
    assert result.counts["removed"] == len(set(left) - set(right))
    # The right side keeps its order.
    assert [r.right.key for r in result.rows if r.right] == right
