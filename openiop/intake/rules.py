"""Pure rules of the admissions pipeline and of screening for IOP fit (no database, no request).

- the pipeline's stages, their order and what a closed outcome needs;
- when an inquiry is overdue;
- the help-request rate (``OPENIOP_HELP_REQUEST_RATE``, e.g. "5/h");
- the screening recommendation (SPEC §3, §5): withdrawal thresholds CIWA-Ar ≥ 10, COWS ≥ 13.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# --- Stages ------------------------------------------------------------------------------------

NEW = "new"
CONTACTED = "contacted"
SCREENED = "screened"
ASSESSMENT_SCHEDULED = "assessment_scheduled"
ASSESSED = "assessed"
ADMITTED = "admitted"
REFERRED = "referred"
NOT_ADMITTED = "not_admitted"
UNREACHABLE = "unreachable"

# The pipeline in order; the board has one column for each.
PIPELINE = (NEW, CONTACTED, SCREENED, ASSESSMENT_SCHEDULED, ASSESSED, ADMITTED)
# Closed outcomes: the inquiry leaves the pipeline.
CLOSED = (REFERRED, NOT_ADMITTED, UNREACHABLE)
# Where an inquiry can still need something from the team (admitted is done).
WORKING = (NEW, CONTACTED, SCREENED, ASSESSMENT_SCHEDULED, ASSESSED)
# Stages other capabilities may move an inquiry to (services.advance_for_patient).
ADVANCEABLE = (ASSESSMENT_SCHEDULED, ASSESSED, ADMITTED)

STAGE_LABELS = {
    NEW: "New",
    CONTACTED: "Contacted",
    SCREENED: "Screened",
    ASSESSMENT_SCHEDULED: "Assessment scheduled",
    ASSESSED: "Assessed",
    ADMITTED: "Admitted",
    REFERRED: "Referred elsewhere",
    NOT_ADMITTED: "Not admitted",
    UNREACHABLE: "Unreachable",
}


def stage_rank(stage: str) -> int:
    """Position in the pipeline; closed outcomes rank after everything."""
    if stage in PIPELINE:
        return PIPELINE.index(stage)
    if stage in CLOSED:
        return len(PIPELINE)
    raise ValueError(f"Unknown stage {stage!r}.")


def is_behind(current: str, target: str) -> bool:
    """Whether an open inquiry at ``current`` should move forward to ``target``."""
    return current not in CLOSED and stage_rank(current) < stage_rank(target)


def stage_change_errors(
    *,
    current: str,
    target: str,
    referred_to: str = "",
    not_admitted_reason: str = "",
    has_patient: bool = False,
) -> dict[str, str]:
    """Field → message for a stage change that cannot be made as asked (empty when it can)."""
    if target not in STAGE_LABELS:
        return {"stage": "Choose a stage from the list."}
    if target == current:
        return {"stage": f"The inquiry is already at “{STAGE_LABELS[target]}”."}
    errors: dict[str, str] = {}
    if target == REFERRED and not referred_to.strip():
        errors["referred_to"] = "Say where the person was referred (program or provider)."
    if target == NOT_ADMITTED and not not_admitted_reason.strip():
        errors["not_admitted_reason"] = "Say why the person was not admitted."
    if target == ADMITTED and not has_patient:
        errors["stage"] = "Register the person as a patient first, then admit them from the chart."
    return errors


# --- Overdue -----------------------------------------------------------------------------------

# A new inquiry must have a first contact attempt by the end of the next business day.
FIRST_CONTACT_BUSINESS_DAYS = 1


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` business days (Monday–Friday) after ``start``."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def first_contact_due(created_on: dt.date) -> dt.date:
    return add_business_days(created_on, FIRST_CONTACT_BUSINESS_DAYS)


def new_overdue_before(today: dt.date) -> dt.date:
    """New inquiries created (facility date) before this date and never contacted are overdue.

    ``first_contact_due`` never decreases with the date, so the overdue ones are exactly those
    created before the first date whose due date is today or later.
    """
    day = today
    while first_contact_due(day - dt.timedelta(days=1)) >= today:
        day -= dt.timedelta(days=1)
    return day


def is_overdue(
    *,
    stage: str,
    next_follow_up: dt.date | None,
    created_on: dt.date,
    has_contact_attempt: bool,
    today: dt.date,
) -> bool:
    """A follow-up date in the past, or a new inquiry nobody tried to reach in time."""
    if stage not in WORKING:
        return False
    if next_follow_up is not None and next_follow_up < today:
        return True
    return stage == NEW and not has_contact_attempt and today > first_contact_due(created_on)


# --- Help-request rate -------------------------------------------------------------------------

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(text: str) -> tuple[int, int]:
    """ "5/h" → (5, 3600): at most 5 requests per hour. ValueError for anything else."""
    count, _, period = text.strip().partition("/")
    if not count.isdigit() or int(count) < 1 or period not in _PERIODS:
        raise ValueError(
            f"{text!r} is not a rate such as 5/h (a number, a slash and one of s, m, h, d)."
        )
    return int(count), _PERIODS[period]


# --- Screening for IOP fit ---------------------------------------------------------------------

CIWA_AR_MAX = 67
COWS_MAX = 48
# SPEC §5: at or above these totals, withdrawal management comes first.
CIWA_AR_THRESHOLD = 10
COWS_THRESHOLD = 13

IOP = "iop"
WITHDRAWAL_MANAGEMENT = "withdrawal_management"
HIGHER_LEVEL = "higher_level"
LOWER_LEVEL = "lower_level"
REFER_OUT = "refer_out"

OUTCOME_LABELS = {
    IOP: "IOP appropriate",
    WITHDRAWAL_MANAGEMENT: "Withdrawal management first",
    HIGHER_LEVEL: "Higher level of care (PHP or residential)",
    LOWER_LEVEL: "Lower level of care (outpatient)",
    REFER_OUT: "Refer out",
}

IMMINENT_NEXT_STEP = (
    "Do not end the call. If the person is in immediate danger call 911; otherwise connect them "
    "now with the 988 Suicide & Crisis Lifeline and tell the clinical director."
)
ELEVATED_NEXT_STEP = "Arrange a same-day clinical risk assessment."


@dataclass(frozen=True)
class ScreeningFacts:
    withdrawal_instrument: str = "none"  # "none", "ciwa_ar" or "cows"
    withdrawal_score: int | None = None
    cssrs_band: str = "none"  # "none", "low", "moderate", "high" (measures scoring)
    living_situation: str = "stable_with_others"
    has_support_system: bool = True
    motivation: str = "wants_sobriety"  # "wants_sobriety", "ambivalent", "not_ready"
    track: str = "either"  # "day", "evening", "either", "neither"
    needs_24h_supervision: bool = False
    unstable: bool = False  # medical or psychiatric instability needing a higher level
    recent_stay: str = "none"  # "none", "30_days", "90_days"
    recent_stay_level: str = ""


@dataclass(frozen=True)
class Recommendation:
    outcome: str
    reasons: list[str] = field(default_factory=list)
    urgent: bool = False
    next_step: str = ""
    # "imminent" (C-SSRS high), "elevated" (C-SSRS moderate) or "".
    risk: str = ""

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self.outcome]


def withdrawal_score_error(instrument: str, score: int | None) -> str:
    """A message when the total does not fit the instrument (empty when it does)."""
    if instrument == "none":
        return ""
    limit = {"ciwa_ar": CIWA_AR_MAX, "cows": COWS_MAX}.get(instrument)
    if limit is None:
        return "Choose CIWA-Ar, COWS or no withdrawal scale."
    name = "CIWA-Ar" if instrument == "ciwa_ar" else "COWS"
    if score is None:
        return f"Enter the {name} total."
    if not 0 <= score <= limit:
        return f"A {name} total is 0 to {limit}."
    return ""


def needs_withdrawal_management(instrument: str, score: int | None) -> bool:
    if score is None:
        return False
    if instrument == "ciwa_ar":
        return score >= CIWA_AR_THRESHOLD
    if instrument == "cows":
        return score >= COWS_THRESHOLD
    return False


UNSTABLE_HOUSING = frozenset({"unstable", "homeless"})
STAY_LEVEL_WORDS = {
    "inpatient": "inpatient hospital",
    "withdrawal": "withdrawal management (detox)",
    "residential": "residential treatment",
    "php": "partial hospitalization",
}


def recommend(facts: ScreeningFacts) -> Recommendation:
    """The recommended outcome with every reason found; the first matching rule decides.

    Order: imminent suicide risk → withdrawal → 24-hour supervision or instability → housing
    without support → cannot attend a track → not ready → otherwise IOP (noting a step-down).
    """
    reasons: list[str] = []
    outcome: str | None = None
    urgent = False
    next_step = ""
    risk = ""

    def decide(candidate: str, reason: str) -> None:
        nonlocal outcome
        reasons.append(reason)
        if outcome is None:
            outcome = candidate

    if facts.cssrs_band == "high":
        urgent, risk, next_step = True, "imminent", IMMINENT_NEXT_STEP
        decide(
            HIGHER_LEVEL,
            "Imminent suicide risk on the C-SSRS screener: crisis care first, then a higher "
            "level of care.",
        )
    elif facts.cssrs_band == "moderate":
        risk, next_step = "elevated", ELEVATED_NEXT_STEP
        reasons.append("Suicide risk on the C-SSRS screener: same-day clinical risk assessment.")
    if needs_withdrawal_management(facts.withdrawal_instrument, facts.withdrawal_score):
        name, threshold = (
            ("CIWA-Ar", CIWA_AR_THRESHOLD)
            if facts.withdrawal_instrument == "ciwa_ar"
            else ("COWS", COWS_THRESHOLD)
        )
        decide(
            WITHDRAWAL_MANAGEMENT,
            f"{name} total {facts.withdrawal_score} is {threshold} or more: withdrawal "
            "management first.",
        )
    if facts.needs_24h_supervision:
        decide(HIGHER_LEVEL, "Needs 24-hour supervision: PHP or residential.")
    if facts.unstable:
        decide(
            HIGHER_LEVEL,
            "Medical or psychiatric instability needs a higher level of care (PHP or residential).",
        )
    if facts.living_situation in UNSTABLE_HOUSING and not facts.has_support_system:
        decide(
            HIGHER_LEVEL,
            "No stable housing and no support system: residential care, or IOP while living "
            "in a recovery residence.",
        )
    if facts.track == "neither":
        decide(
            LOWER_LEVEL,
            "Cannot attend the day or the evening track: outpatient (OP) or refer out.",
        )
    if facts.motivation == "not_ready":
        decide(
            LOWER_LEVEL,
            "Not ready for treatment (or here only because it is mandated): outpatient with "
            "motivational follow-up.",
        )
    if facts.recent_stay in {"30_days", "90_days"}:
        when = "30" if facts.recent_stay == "30_days" else "90"
        level = STAY_LEVEL_WORDS.get(facts.recent_stay_level, "inpatient or residential care")
        decide(IOP, f"Step-down: {level} in the past {when} days.")
    if outcome is None:
        outcome = IOP
        reasons.append(
            "No withdrawal risk, no need for 24-hour supervision, can attend a track and wants "
            "help: IOP appropriate."
        )
    return Recommendation(
        outcome=outcome, reasons=reasons, urgent=urgent, next_step=next_step, risk=risk
    )
