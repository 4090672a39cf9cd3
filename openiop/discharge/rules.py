"""Pure discharge and continuing-care rules (SPEC §2, §9): no database, no request.

The TEDS ``LOS`` bucket lives in ``openiop.core.teds.los_code`` (the export uses it too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from openiop.admissions.rules import MINIMUM_STAY_DAYS
from openiop.core import teds

DEFAULT_FOLLOWUP_DAYS: tuple[int, ...] = (30, 60, 90, 180, 365)
DEFAULT_NEGATIVE_TEST_WEEKS = 4
DEFAULT_FULL_DOSE_WEEKS = 4
DEFAULT_MEETING_WEEKS = 4
DEFAULT_DUE_WINDOW_DAYS = 7
MAX_FOLLOWUP_DAY = 3650

__all__ = [
    "DEFAULT_FOLLOWUP_DAYS",
    "DISCHARGE_REASONS",
    "MINIMUM_STAY_DAYS",
    "REASON_CHOICES",
    "discharge_date_error",
    "followup_days_error",
    "followup_schedule",
    "is_early",
    "length_of_stay",
    "parse_followup_days",
    "step_down_error",
    "teds_reason",
]


# The reasons a counselor picks, in plain words, and the TEDS ``REASON`` code each maps to
# (SPEC §9). The export reports the code; the summary shows the words.
DISCHARGE_REASONS: dict[str, tuple[str, teds.Reason]] = {
    "completed": ("Completed treatment", teds.Reason.COMPLETED),
    "completed_step_down": ("Completed IOP, stepping down to less care", teds.Reason.COMPLETED),
    "left_against_advice": ("Left against clinical advice", teds.Reason.DROPPED_OUT),
    "stopped_attending": ("Stopped attending (lost contact)", teds.Reason.DROPPED_OUT),
    "rule_violation": ("Discharged by the program (rules or safety)", teds.Reason.TERMINATED),
    "administrative": ("Administrative discharge (e.g. coverage ended)", teds.Reason.TERMINATED),
    "transferred_out": ("Transferred to another program or facility", teds.Reason.TRANSFERRED),
    "higher_level": ("Needs a higher level of care (referred)", teds.Reason.TRANSFERRED),
    "incarcerated": ("Incarcerated", teds.Reason.INCARCERATED),
    "died": ("Died", teds.Reason.DEATH),
    "moved": ("Moved away", teds.Reason.OTHER),
    "medical": ("Medical reasons (unable to continue)", teds.Reason.OTHER),
    "other": ("Other", teds.Reason.OTHER),
}
REASON_CHOICES = [(key, label) for key, (label, _) in DISCHARGE_REASONS.items()]


def teds_reason(reason_key: str) -> teds.Reason:
    """The TEDS ``REASON`` code of a discharge reason; KeyError for an unknown reason."""
    return DISCHARGE_REASONS[reason_key][1]


def length_of_stay(admitted: dt.date, discharged: dt.date) -> int:
    """Days from admission to discharge, as TEDS counts them (same day = 0, LOS code 1)."""
    return (discharged - admitted).days


def is_early(admitted: dt.date, discharged: dt.date, minimum: int = MINIMUM_STAY_DAYS) -> bool:
    """A discharge before the 90th day in treatment (day 1 is the admission day)."""
    return (discharged - admitted).days + 1 < minimum


def discharge_date_error(
    discharged: dt.date | None, *, admitted: dt.date, today: dt.date
) -> str | None:
    if discharged is None:
        return "Enter the discharge date: the person's last day in the program."
    if discharged < admitted:
        return f"The discharge date is before the admission on {admitted:%m/%d/%Y}."
    if discharged > today:
        return "The discharge date is in the future. Discharge on or after the last day."
    return None


# Step-downs that make no sense for a reason: a person who died or was incarcerated gets none.
NO_STEP_DOWN_REASONS = frozenset({"died", "incarcerated"})


def step_down_error(step_down: str, reason_key: str | None) -> str | None:
    if reason_key in NO_STEP_DOWN_REASONS:
        return None if step_down in ("", "none") else "No step-down after this discharge reason."
    if step_down in ("", "none"):
        return "Choose the next step of care decided with the person."
    return None


def followup_schedule(discharged: dt.date, days: Iterable[int]) -> list[tuple[int, dt.date]]:
    """(days after discharge, due date) for each follow-up, earliest first, no repeats."""
    return [(d, discharged + dt.timedelta(days=d)) for d in sorted(set(days))]


def parse_followup_days(text: str) -> list[int]:
    """ "30, 60, 90" → [30, 60, 90]; raises ValueError with a message a person can act on."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("Enter at least one follow-up day, e.g. 30, 60, 90, 180, 365.")
    days: list[int] = []
    for part in parts:
        if not part.isdigit():
            raise ValueError(f"“{part}” is not a number of days.")
        value = int(part)
        if not 1 <= value <= MAX_FOLLOWUP_DAY:
            raise ValueError(f"Follow-up days are 1 to {MAX_FOLLOWUP_DAY} ({value} given).")
        days.append(value)
    if len(set(days)) != len(days):
        raise ValueError("Each follow-up day once, please.")
    return sorted(days)


def followup_days_error(days: Sequence[int]) -> str | None:
    try:
        parse_followup_days(",".join(str(d) for d in days))
    except ValueError as exc:
        return str(exc)
    return None
