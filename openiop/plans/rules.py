"""Pure rules of treatment plans: planned intensity against the program's dose rules
(SPEC §2), review due dates, which signatures make a plan active, and version comparison.

No database, no request: these functions are tested at every boundary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from openiop.accounts.rules import DoseRules

DEFAULT_REVIEW_DAYS = 30
CRISIS_LINE = "988"
CRISIS_RESOURCES = (
    "988 Suicide & Crisis Lifeline — call or text 988, any time.\n"
    "In an emergency, call 911 or go to the nearest emergency room."
)


# --- planned intensity ---------------------------------------------------------------------


@dataclass(frozen=True)
class Intensity:
    hours_per_day: Decimal
    days_per_week: int

    @property
    def hours_per_week(self) -> Decimal:
        return self.hours_per_day * self.days_per_week


def hours_text(value: Decimal) -> str:
    """3 → "3", 2.5 → "2.5", 2.75 → "2.75" (never "3.00")."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def intensity_errors(planned: Intensity, program: DoseRules) -> dict[str, str]:
    """Field → message for a planned intensity outside the program's dose rules.

    Every message names the rule it breaks, so the clinician knows which number to change
    (or that the program itself is set up that way). Boundaries are inclusive (SPEC §2).
    """
    errors: dict[str, str] = {}
    if planned.hours_per_day <= 0 or planned.hours_per_day > 24:
        errors["hours_per_day"] = "Planned hours per day must be more than 0 and at most 24."
    elif planned.hours_per_day < program.min_hours_per_day:
        errors["hours_per_day"] = (
            f"{hours_text(planned.hours_per_day)} hours a day is below the program's minimum "
            f"hours per day ({hours_text(program.min_hours_per_day)}): a shorter day does not "
            "count as a service day."
        )
    if not 1 <= planned.days_per_week <= 7:
        errors["days_per_week"] = "Planned days per week must be between 1 and 7."
    elif planned.days_per_week < program.min_days_per_week:
        errors["days_per_week"] = (
            f"{planned.days_per_week} days a week is below the program's minimum days per "
            f"week ({program.min_days_per_week})."
        )
    if errors:
        return errors
    weekly = planned.hours_per_week
    if weekly < program.min_hours_per_week:
        errors["hours_per_day"] = (
            f"{hours_text(weekly)} hours a week is below the program's minimum hours per week "
            f"({hours_text(program.min_hours_per_week)})."
        )
    elif program.max_hours_per_week is not None and weekly > program.max_hours_per_week:
        errors["hours_per_day"] = (
            f"{hours_text(weekly)} hours a week is above the program's maximum hours per week "
            f"({hours_text(program.max_hours_per_week)}); that is a higher level of care."
        )
    return errors


def meetings_error(meetings_per_week: int | None, program_minimum: int) -> str | None:
    if meetings_per_week is None:
        return "Enter the mutual-help meetings required each week (0 if none)."
    if meetings_per_week < 0 or meetings_per_week > 21:
        return "Required meetings per week must be between 0 and 21."
    if meetings_per_week < program_minimum:
        return (
            f"The program requires at least {program_minimum} mutual-help meeting"
            f"{'s' if program_minimum != 1 else ''} a week."
        )
    return None


# --- reviews -------------------------------------------------------------------------------


class DueReason:
    SCHEDULED = "scheduled"
    PHASE_CHANGED = "phase_changed"
    LEVEL_CHANGED = "level_changed"


def next_review_due(last: dt.date, every_days: int) -> dt.date:
    """The review after ``last`` (a review or the first activation): plain calendar days,
    so a 30-day cycle from January 31 falls on March 2 (March 1 in a leap year)."""
    if every_days < 1:
        raise ValueError("A review cycle is at least one day.")
    return last + dt.timedelta(days=every_days)


def due_after_change(current_due: dt.date | None, changed_on: dt.date) -> dt.date:
    """A phase or level-of-care change makes a review due on the day of the change, unless
    one was already due earlier."""
    if current_due is None:
        return changed_on
    return min(current_due, changed_on)


def review_state(due: dt.date | None, today: dt.date, *, soon_days: int = 7) -> str:
    """ "overdue", "due" (today or within ``soon_days``), "scheduled" or "none"."""
    if due is None:
        return "none"
    if due < today:
        return "overdue"
    if due <= today + dt.timedelta(days=soon_days):
        return "due"
    return "scheduled"


# --- signatures ----------------------------------------------------------------------------


class SignerRole:
    PATIENT = "patient"
    CLINICIAN = "clinician"
    SUPERVISOR = "supervisor"


def required_signatures(*, clinician_needs_cosign: bool | None) -> tuple[str, ...]:
    """Patient and clinician always; the supervisor when the signing clinician needs a
    co-signature (``None`` = no clinician has signed yet, so it is not known)."""
    roles: tuple[str, ...] = (SignerRole.PATIENT, SignerRole.CLINICIAN)
    if clinician_needs_cosign:
        roles = (*roles, SignerRole.SUPERVISOR)
    return roles


def missing_signatures(present: Iterable[str], *, clinician_needs_cosign: bool | None) -> list[str]:
    have = set(present)
    return [
        role
        for role in required_signatures(clinician_needs_cosign=clinician_needs_cosign)
        if role not in have
    ]


def normalized_name(name: str) -> str:
    return " ".join(name.casefold().replace(",", " ").split())


def typed_name_matches(typed: str, names: Sequence[str]) -> bool:
    """A typed signature matches one of the patient's names, ignoring case and spaces."""
    wanted = normalized_name(typed)
    return bool(wanted) and any(wanted == normalized_name(n) for n in names if n.strip())


# --- comparing versions --------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One comparable line of a plan version: a stable key across versions, where it sits
    (problem, goal, objective, intervention or the plan's own fields) and its text."""

    key: str
    kind: str
    label: str
    text: str
    depth: int = 0
    parent: str = ""


@dataclass(frozen=True)
class Row:
    left: Item | None
    right: Item | None
    change: str  # "same", "changed", "added", "removed"


@dataclass
class Comparison:
    rows: list[Row] = field(default_factory=list)

    @property
    def counts(self) -> Mapping[str, int]:
        out = {"same": 0, "changed": 0, "added": 0, "removed": 0}
        for row in self.rows:
            out[row.change] += 1
        return out


def compare(left: Sequence[Item], right: Sequence[Item]) -> Comparison:
    """Align two versions by key: right's order, with removed items placed after the item
    that preceded them on the left, so a reader sees each change where it happened."""
    right_keys = {item.key for item in right}
    left_by_key = {item.key: item for item in left}
    # Removed items, grouped under the nearest preceding left item that survived.
    removed_after: dict[str | None, list[Item]] = {}
    anchor: str | None = None
    for item in left:
        if item.key in right_keys:
            anchor = item.key
        else:
            removed_after.setdefault(anchor, []).append(item)
    result = Comparison()
    result.rows.extend(Row(item, None, "removed") for item in removed_after.get(None, []))
    for item in right:
        old = left_by_key.get(item.key)
        if old is None:
            result.rows.append(Row(None, item, "added"))
        else:
            change = "same" if (old.text, old.label) == (item.text, item.label) else "changed"
            result.rows.append(Row(old, item, change))
        result.rows.extend(Row(gone, None, "removed") for gone in removed_after.get(item.key, []))
    return result
