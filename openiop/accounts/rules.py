"""Pure rules about programs: level-of-care dose defaults and their validation (SPEC §2).

No database, no request: these functions are tested at every boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


class LevelOfCare:
    OP = "1"
    IOP = "2.1"
    PHP = "2.5"


class Population:
    ADULT = "adult"
    ADOLESCENT = "adolescent"


@dataclass(frozen=True)
class DoseRules:
    min_hours_per_day: Decimal
    min_days_per_week: int
    min_hours_per_week: Decimal
    max_hours_per_week: Decimal | None


# ASAM weekly hours by level and population (SPEC §2): (minimum, maximum or None).
# OP is "fewer than 9 / fewer than 6", so its maximum is just under the IOP floor.
_WEEKLY_BOUNDS: dict[tuple[str, str], tuple[Decimal, Decimal | None]] = {
    (LevelOfCare.OP, Population.ADULT): (Decimal("0"), Decimal("8.99")),
    (LevelOfCare.OP, Population.ADOLESCENT): (Decimal("0"), Decimal("5.99")),
    (LevelOfCare.IOP, Population.ADULT): (Decimal("9"), Decimal("30")),
    (LevelOfCare.IOP, Population.ADOLESCENT): (Decimal("6"), Decimal("30")),
    (LevelOfCare.PHP, Population.ADULT): (Decimal("20"), None),
    (LevelOfCare.PHP, Population.ADOLESCENT): (Decimal("20"), None),
}


def default_dose_rules(level: str, population: str) -> DoseRules:
    """The SPEC §2 defaults a new program starts from."""
    if level == LevelOfCare.IOP and population == Population.ADULT:
        return DoseRules(Decimal("3.0"), 3, Decimal("9"), Decimal("19"))
    if level == LevelOfCare.IOP:
        return DoseRules(Decimal("2.0"), 3, Decimal("6"), Decimal("19"))
    if level == LevelOfCare.PHP:
        return DoseRules(Decimal("4.0"), 5, Decimal("20"), Decimal("35"))
    if population == Population.ADOLESCENT:
        return DoseRules(Decimal("1.0"), 1, Decimal("1"), Decimal("5.99"))
    return DoseRules(Decimal("1.0"), 1, Decimal("1"), Decimal("8.99"))


def dose_rule_errors(level: str, population: str, rules: DoseRules) -> dict[str, str]:
    """Field → message for dose rules that do not fit together or with the level of care."""
    errors: dict[str, str] = {}
    if rules.min_hours_per_day <= 0 or rules.min_hours_per_day > 24:
        errors["min_hours_per_day"] = "Hours per day must be more than 0 and at most 24."
    if not 1 <= rules.min_days_per_week <= 7:
        errors["min_days_per_week"] = "Days per week must be between 1 and 7."
    if rules.min_hours_per_week <= 0:
        errors["min_hours_per_week"] = "Minimum hours per week must be more than 0."
    if rules.max_hours_per_week is not None and rules.max_hours_per_week < rules.min_hours_per_week:
        errors["max_hours_per_week"] = "The weekly maximum cannot be below the weekly minimum."
    bounds = _WEEKLY_BOUNDS.get((level, population))
    if bounds is None:
        errors["level_of_care"] = "Choose a level of care this program offers (1, 2.1 or 2.5)."
        return errors
    floor, ceiling = bounds
    if "min_hours_per_week" not in errors and rules.min_hours_per_week < floor:
        errors["min_hours_per_week"] = (
            f"Level {level} for {population}s needs at least {floor:g} hours a week (ASAM)."
        )
    if (
        ceiling is not None
        and rules.max_hours_per_week is not None
        and "max_hours_per_week" not in errors
        and rules.max_hours_per_week > ceiling
    ):
        errors["max_hours_per_week"] = (
            f"Level {level} for {population}s allows at most {ceiling:g} hours a week; "
            "more is a higher level of care."
        )
    if (
        "min_hours_per_week" not in errors
        and ceiling is not None
        and rules.min_hours_per_week > ceiling
    ):
        errors["min_hours_per_week"] = (
            f"Level {level} for {population}s is fewer than {ceiling:g} hours a week."
        )
    return errors
