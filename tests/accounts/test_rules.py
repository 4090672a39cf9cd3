"""Dose rules against the ASAM level of care (SPEC §2), at every boundary."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.accounts.rules import (
    DoseRules,
    LevelOfCare,
    Population,
    default_dose_rules,
    dose_rule_errors,
)

IOP, PHP, OP = LevelOfCare.IOP, LevelOfCare.PHP, LevelOfCare.OP
ADULT, TEEN = Population.ADULT, Population.ADOLESCENT


def rules(week_min: str, week_max: str | None, *, day: str = "3.0", days: int = 3) -> DoseRules:
    return DoseRules(
        min_hours_per_day=Decimal(day),
        min_days_per_week=days,
        min_hours_per_week=Decimal(week_min),
        max_hours_per_week=None if week_max is None else Decimal(week_max),
    )


def test_it_starts_adult_iop_at_three_hours_three_days_nine_to_nineteen() -> None:
    assert default_dose_rules(IOP, ADULT) == DoseRules(
        Decimal("3.0"), 3, Decimal("9"), Decimal("19")
    )


def test_it_starts_adolescent_iop_at_six_hours_a_week() -> None:
    defaults = default_dose_rules(IOP, TEEN)
    assert defaults.min_hours_per_week == Decimal("6")
    assert defaults.min_hours_per_day == Decimal("2.0")


def test_it_starts_php_at_twenty_hours_a_week() -> None:
    assert default_dose_rules(PHP, ADULT).min_hours_per_week == Decimal("20")


def test_it_keeps_outpatient_defaults_under_the_iop_floor() -> None:
    assert default_dose_rules(OP, ADULT).max_hours_per_week == Decimal("8.99")
    assert default_dose_rules(OP, TEEN).max_hours_per_week == Decimal("5.99")


@pytest.mark.parametrize("level", [OP, IOP, PHP])
@pytest.mark.parametrize("population", [ADULT, TEEN])
def test_it_accepts_its_own_defaults(level: str, population: str) -> None:
    assert dose_rule_errors(level, population, default_dose_rules(level, population)) == {}


@pytest.mark.parametrize(
    ("level", "population", "week_min", "week_max", "field"),
    [
        # adult IOP: at least 9 h a week …
        (IOP, ADULT, "9", "19", None),
        (IOP, ADULT, "9.00", None, None),
        (IOP, ADULT, "8.99", "19", "min_hours_per_week"),
        # … and at most 30
        (IOP, ADULT, "9", "30", None),
        (IOP, ADULT, "9", "30.01", "max_hours_per_week"),
        (IOP, ADULT, "30", "30", None),
        (IOP, ADULT, "30.01", None, "min_hours_per_week"),
        # adolescent IOP: at least 6
        (IOP, TEEN, "6", "19", None),
        (IOP, TEEN, "5.99", "19", "min_hours_per_week"),
        # PHP: at least 20, no ceiling
        (PHP, ADULT, "20", "35", None),
        (PHP, ADULT, "19.99", "35", "min_hours_per_week"),
        (PHP, TEEN, "20", "60", None),
        # OP: fewer than 9 (adults) / 6 (adolescents)
        (OP, ADULT, "1", "8.99", None),
        (OP, ADULT, "1", "9", "max_hours_per_week"),
        (OP, ADULT, "9", None, "min_hours_per_week"),
        (OP, TEEN, "1", "5.99", None),
        (OP, TEEN, "1", "6", "max_hours_per_week"),
    ],
)
def test_it_checks_weekly_hours_against_the_level_of_care(
    level: str, population: str, week_min: str, week_max: str | None, field: str | None
) -> None:
    errors = dose_rule_errors(level, population, rules(week_min, week_max))
    if field is None:
        assert errors == {}
    else:
        assert list(errors) == [field]


def test_it_names_asam_and_the_floor_when_adult_iop_asks_too_few_hours() -> None:
    errors = dose_rule_errors(IOP, ADULT, rules("8", "19"))
    assert errors["min_hours_per_week"] == (
        "Level 2.1 for adults needs at least 9 hours a week (ASAM)."
    )


def test_it_explains_that_more_than_the_ceiling_is_a_higher_level() -> None:
    message = dose_rule_errors(IOP, ADULT, rules("9", "31"))["max_hours_per_week"]
    assert "at most 30 hours" in message
    assert "higher level of care" in message


@pytest.mark.parametrize(
    ("day", "days", "field"),
    [
        ("0", 3, "min_hours_per_day"),
        ("0.01", 3, None),
        ("24", 3, None),
        ("24.01", 3, "min_hours_per_day"),
        ("3.0", 0, "min_days_per_week"),
        ("3.0", 1, None),
        ("3.0", 7, None),
        ("3.0", 8, "min_days_per_week"),
    ],
)
def test_it_checks_hours_per_day_and_days_per_week(day: str, days: int, field: str | None) -> None:
    errors = dose_rule_errors(IOP, ADULT, rules("9", "19", day=day, days=days))
    assert list(errors) == ([field] if field else [])


def test_it_refuses_a_maximum_below_the_minimum() -> None:
    errors = dose_rule_errors(IOP, ADULT, rules("12", "10"))
    assert errors == {
        "max_hours_per_week": "The weekly maximum cannot be below the weekly minimum."
    }


def test_it_refuses_zero_weekly_minimum_without_a_second_message() -> None:
    errors = dose_rule_errors(OP, ADULT, rules("0", "5"))
    assert errors == {"min_hours_per_week": "Minimum hours per week must be more than 0."}


def test_it_refuses_a_level_it_does_not_run() -> None:
    errors = dose_rule_errors("3.5", ADULT, default_dose_rules(IOP, ADULT))
    assert "level_of_care" in errors


@given(
    week_min=st.decimals(min_value=Decimal("9"), max_value=Decimal("30"), places=2),
    extra=st.decimals(min_value=Decimal("0"), max_value=Decimal("30"), places=2),
)
def test_it_accepts_every_adult_iop_week_between_9_and_30(
    week_min: Decimal, extra: Decimal
) -> None:
    week_max = min(week_min + extra, Decimal("30"))
    candidate = replace(default_dose_rules(IOP, ADULT), min_hours_per_week=week_min)
    candidate = replace(candidate, max_hours_per_week=week_max)
    assert dose_rule_errors(IOP, ADULT, candidate) == {}


@given(week_min=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("8.99"), places=2))
def test_it_refuses_every_adult_iop_minimum_under_9(week_min: Decimal) -> None:
    candidate = replace(default_dose_rules(IOP, ADULT), min_hours_per_week=week_min)
    assert list(dose_rule_errors(IOP, ADULT, candidate)) == ["min_hours_per_week"]
