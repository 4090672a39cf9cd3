"""Pure rules around the instruments (no database, no request): which AUDIT-C cut-off applies,
when an administration may be dated, what a PHQ-9 change means and what an alert says.

Scoring itself is in ``scoring`` (SPEC §6); the wording and bands in ``instruments``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openiop.measures import instruments, scoring

# When the sex recorded at birth is neither male nor female the clinician chooses the AUDIT-C
# cut-off; the lower (women's, 3) one is offered first because it misses fewer people.
AUDITC_DEFAULT_SEX = "female"
AUDITC_SEXES = ("female", "male")
# A clock a few minutes fast on a tablet is not a date in the future.
FUTURE_GRACE = dt.timedelta(minutes=5)
# SPEC §6 measurement-based care: response = a drop of 50 % or more from the baseline,
# remission = a total under 5.
PHQ9_RESPONSE_DROP = 0.5
PHQ9_REMISSION_BELOW = 5
SUICIDE_NEXT_STEP = (
    "Complete a full suicide risk assessment and safety plan today; if the danger is imminent "
    "call 911 or 988."
)


def auditc_sex_from_record(sex_at_birth: str) -> str | None:
    """The AUDIT-C cut-off the chart decides ("male"/"female"), None when someone must choose."""
    return sex_at_birth if sex_at_birth in AUDITC_SEXES else None


def administered_at_problem(when: dt.datetime, now: dt.datetime) -> str | None:
    """Why ``when`` cannot be the time the instrument was given, or None."""
    if when > now + FUTURE_GRACE:
        return "The date and time it was given cannot be in the future."
    return None


@dataclass(frozen=True)
class Progress:
    baseline: int
    latest: int
    change: int  # latest − baseline (negative is better for symptom scales)
    percent_drop: int | None  # rounded; None when the baseline is 0
    response: bool
    remission: bool

    @property
    def change_words(self) -> str:
        """ "down 56 %", "up 20 %", "no change", or "" when the baseline was 0."""
        if self.percent_drop is None:
            return ""
        if self.percent_drop == 0:
            return "no change"
        return (
            f"down {self.percent_drop} %" if self.percent_drop > 0 else f"up {-self.percent_drop} %"
        )


def phq9_progress(baseline: int, latest: int) -> Progress:
    return _progress(baseline, latest, PHQ9_RESPONSE_DROP, PHQ9_REMISSION_BELOW)


def _progress(baseline: int, latest: int, drop_needed: float, remission_below: int) -> Progress:
    drop = None if baseline == 0 else round(100 * (baseline - latest) / baseline)
    return Progress(
        baseline=baseline,
        latest=latest,
        change=latest - baseline,
        percent_drop=drop,
        response=baseline > 0 and (baseline - latest) >= drop_needed * baseline,
        remission=latest < remission_below,
    )


def suicide_alert_message(code: str, result: scoring.Score, answers: Mapping[str, Any]) -> str:
    """What the alert says: the instrument, the answer that raised it, never more than needed."""
    if code == "phq9":
        said = instruments.PHQ9.option_label("9", answers["9"])
        return (
            f"PHQ-9 question 9 (thoughts of being better off dead or of self-harm): "
            f"“{said}”. Total {result.total} ({result.band})."
        )
    if code == "cssrs_screen":
        return f"C-SSRS screener: {result.band} risk."
    return f"{code}: suicide risk flagged."


# --- measurement-based care: schedules and trends ------------------------------------------------

# Instruments every episode of care starts with (code, every how many days). The clinical team
# changes them per patient on the chart (a new schedule replaces the old one, which is kept).
DEFAULT_SCHEDULES: tuple[tuple[str, int], ...] = (("phq9", 14), ("gad7", 14), ("bam", 7))
EVERY_DAYS_MIN = 1
EVERY_DAYS_MAX = 365
# A schedule may start this far ahead at most (a mistyped year is caught).
START_AHEAD_MAX = dt.timedelta(days=366)
# SPEC §6 defines response and remission for the PHQ-9 only: (drop from baseline, below).
RESPONSE_RULES: dict[str, tuple[float, int]] = {
    "phq9": (PHQ9_RESPONSE_DROP, PHQ9_REMISSION_BELOW),
}


def next_due(*, start: dt.date, every_days: int, last_given: dt.date | None) -> dt.date:
    """The day an instrument is next due: the start day when it has never been given, else
    ``every_days`` after the last time it was given, but never before the start day.

    ``last_given`` counts whenever it was given (a PHQ-9 at the assessment three days before
    admission makes the first one due 11 days after admission, not on admission day).
    The due list computes the same thing in the database (selectors.with_next_due).
    """
    if last_given is None:
        return start
    return max(start, last_given + dt.timedelta(days=every_days))


def is_due(due_on: dt.date, today: dt.date) -> bool:
    """Due today or overdue."""
    return due_on <= today


def is_overdue(due_on: dt.date, today: dt.date) -> bool:
    return due_on < today


def days_overdue(due_on: dt.date, today: dt.date) -> int:
    """0 when due today or later; 1 the day after it was due, and so on."""
    return max((today - due_on).days, 0)


def due_words(due_on: dt.date, today: dt.date) -> str:
    """ "overdue by 3 days", "due today", "due in 5 days" (as the chart strip says it)."""
    late = (today - due_on).days
    if late > 0:
        return f"overdue by {late} day{'s' if late != 1 else ''}"
    if late == 0:
        return "due today"
    return f"due in {-late} day{'s' if late != -1 else ''}"


def schedule_problems(
    *, every_days: int, starts_on: dt.date, admitted_on: dt.date, today: dt.date
) -> dict[str, str]:
    """Field → what is wrong with a schedule (empty when it may be saved)."""
    problems: dict[str, str] = {}
    if not EVERY_DAYS_MIN <= every_days <= EVERY_DAYS_MAX:
        problems["every_days"] = (
            f"Give how often in days, from {EVERY_DAYS_MIN} (every day) to {EVERY_DAYS_MAX}."
        )
    if starts_on < admitted_on:
        problems["starts_on"] = (
            f"The schedule cannot start before admission ({admitted_on:%m/%d/%Y})."
        )
    elif starts_on > today + START_AHEAD_MAX:
        problems["starts_on"] = "Start it within the next year."
    return problems


def progress(code: str, baseline: int, latest: int) -> Progress | None:
    """Response and remission from the baseline, where SPEC §6 defines them (PHQ-9)."""
    if code not in RESPONSE_RULES:
        return None
    return _progress(baseline, latest, *RESPONSE_RULES[code])
