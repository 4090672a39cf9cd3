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
    drop = None if baseline == 0 else round(100 * (baseline - latest) / baseline)
    return Progress(
        baseline=baseline,
        latest=latest,
        change=latest - baseline,
        percent_drop=drop,
        response=baseline > 0 and (baseline - latest) >= PHQ9_RESPONSE_DROP * baseline,
        remission=latest < PHQ9_REMISSION_BELOW,
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
