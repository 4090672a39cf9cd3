"""Pure admission rules: dates, the 90-day principle, the ASAM match (no database)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from openiop.core import teds

MINIMUM_STAY_DAYS = 90


def admission_date_error(admission_date: dt.date, *, today: dt.date, born: dt.date) -> str | None:
    """Why an admission date cannot be used, or None."""
    if admission_date > today:
        return "The admission date is in the future. Admit on the person's first day."
    if admission_date < born:
        return "The admission date is before the person's date of birth."
    if admission_date < today - dt.timedelta(days=365):
        return "The admission date is more than a year ago. Check the year."
    return None


def expected_stay_error(days: int | None) -> str | None:
    if days is None or not 1 <= int(days) <= 3650:
        return "Expected length of stay is 1 to 3650 days."
    return None


def referral_source_error(code: int | None) -> str | None:
    """TEDS ``PSOURCE`` must be one of its codes (SPEC §9)."""
    if code is None:
        return "Choose how the person was referred (TEDS PSOURCE)."
    if int(code) not in teds.ReferralSource.values:
        return "Choose a referral source from the list."
    return None


@dataclass(frozen=True)
class StayProgress:
    day: int
    minimum: int
    remaining: int
    percent: int

    @property
    def reached_minimum(self) -> bool:
        return self.day >= self.minimum


def stay_progress(day: int, minimum: int = MINIMUM_STAY_DAYS) -> StayProgress:
    """Where the person stands against the 90-day minimum of SPEC §2."""
    day = max(day, 0)
    return StayProgress(
        day=day,
        minimum=minimum,
        remaining=max(minimum - day, 0),
        percent=min(100, round(100 * day / minimum)) if minimum else 100,
    )


# The ASAM final levels that a program's level of care satisfies.
_MATCHES = {"1": {"1"}, "2.1": {"2.1"}, "2.5": {"2.5"}}


def asam_mismatch(asam_level: str, program_level: str) -> str | None:
    """A warning when the program's level differs from the ASAM final level, else None."""
    if not asam_level or asam_level in _MATCHES.get(program_level, set()):
        return None
    return (
        f"The signed ASAM assessment recommends level {asam_level}; this program is level "
        f"{program_level}. Record why in the referral details or choose another program."
    )


def phase_reason_error(reason: str | None) -> str | None:
    if not reason or len(reason.strip()) < 5:
        return "Write why the phase changes (a few words at least)."
    return None


def phase_date_error(
    changed_on: dt.date | None, *, admitted: dt.date, today: dt.date
) -> str | None:
    if changed_on is None:
        return "Enter the date of the change."
    if changed_on < admitted:
        return f"The change cannot be before the admission on {admitted:%m/%d/%Y}."
    if changed_on > today:
        return "The change cannot be in the future; record it on the day it happens."
    return None
