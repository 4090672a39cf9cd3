"""Pure rules: stages, overdue, the rate, and the screening recommendation at every boundary."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.intake import rules
from openiop.intake.rules import Recommendation, ScreeningFacts, recommend

BASE = ScreeningFacts()


def facts(**changes: object) -> ScreeningFacts:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


# --- withdrawal thresholds (SPEC §5): CIWA-Ar ≥ 10, COWS ≥ 13, inclusive ---------------------


@pytest.mark.parametrize(
    ("instrument", "score", "expected"),
    [
        ("ciwa_ar", 0, rules.IOP),
        ("ciwa_ar", 9, rules.IOP),
        ("ciwa_ar", 10, rules.WITHDRAWAL_MANAGEMENT),
        ("ciwa_ar", 67, rules.WITHDRAWAL_MANAGEMENT),
        ("cows", 0, rules.IOP),
        ("cows", 12, rules.IOP),
        ("cows", 13, rules.WITHDRAWAL_MANAGEMENT),
        ("cows", 48, rules.WITHDRAWAL_MANAGEMENT),
        ("none", None, rules.IOP),
    ],
)
def test_it_sends_withdrawal_risk_to_withdrawal_management_first(
    instrument: str, score: int | None, expected: str
) -> None:
    result = recommend(facts(withdrawal_instrument=instrument, withdrawal_score=score))
    assert result.outcome == expected
    assert not result.urgent


def test_it_names_the_total_and_the_threshold_in_the_reason() -> None:
    result = recommend(facts(withdrawal_instrument="cows", withdrawal_score=13))
    assert result.reasons == ["COWS total 13 is 13 or more: withdrawal management first."]


@pytest.mark.parametrize(
    ("instrument", "score", "problem"),
    [
        ("ciwa_ar", 68, "A CIWA-Ar total is 0 to 67."),
        ("ciwa_ar", -1, "A CIWA-Ar total is 0 to 67."),
        ("cows", 49, "A COWS total is 0 to 48."),
        ("cows", None, "Enter the COWS total."),
        ("ciwa_ar", 67, ""),
        ("cows", 48, ""),
        ("cows", 0, ""),
        ("none", None, ""),
        ("audit", 3, "Choose CIWA-Ar, COWS or no withdrawal scale."),
    ],
)
def test_it_checks_the_withdrawal_total_against_the_scale(
    instrument: str, score: int | None, problem: str
) -> None:
    assert rules.withdrawal_score_error(instrument, score) == problem


@given(st.integers(min_value=0, max_value=rules.CIWA_AR_MAX))
def test_it_agrees_with_the_ciwa_threshold_for_every_total(score: int) -> None:
    result = recommend(facts(withdrawal_instrument="ciwa_ar", withdrawal_score=score))
    assert (result.outcome == rules.WITHDRAWAL_MANAGEMENT) == (score >= 10)


@given(st.integers(min_value=0, max_value=rules.COWS_MAX))
def test_it_agrees_with_the_cows_threshold_for_every_total(score: int) -> None:
    result = recommend(facts(withdrawal_instrument="cows", withdrawal_score=score))
    assert (result.outcome == rules.WITHDRAWAL_MANAGEMENT) == (score >= 13)


# --- the other rules, one at a time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "outcome", "reason_start"),
    [
        ({}, rules.IOP, "No withdrawal risk"),
        ({"needs_24h_supervision": True}, rules.HIGHER_LEVEL, "Needs 24-hour supervision"),
        ({"unstable": True}, rules.HIGHER_LEVEL, "Medical or psychiatric instability"),
        (
            {"living_situation": "homeless", "has_support_system": False},
            rules.HIGHER_LEVEL,
            "No stable housing and no support system",
        ),
        (
            {"living_situation": "unstable", "has_support_system": False},
            rules.HIGHER_LEVEL,
            "No stable housing",
        ),
        ({"living_situation": "homeless", "has_support_system": True}, rules.IOP, "No withdrawal"),
        ({"living_situation": "alone", "has_support_system": False}, rules.IOP, "No withdrawal"),
        ({"track": "neither"}, rules.LOWER_LEVEL, "Cannot attend the day or the evening track"),
        ({"track": "day"}, rules.IOP, "No withdrawal"),
        ({"motivation": "not_ready"}, rules.LOWER_LEVEL, "Not ready for treatment"),
        ({"motivation": "ambivalent"}, rules.IOP, "No withdrawal"),
        (
            {"recent_stay": "30_days", "recent_stay_level": "residential"},
            rules.IOP,
            "Step-down: residential treatment in the past 30 days.",
        ),
        (
            {"recent_stay": "90_days", "recent_stay_level": "inpatient"},
            rules.IOP,
            "Step-down: inpatient hospital in the past 90 days.",
        ),
        ({"cssrs_band": "low"}, rules.IOP, "No withdrawal"),
    ],
)
def test_it_recommends_by_each_rule(
    changes: dict[str, object], outcome: str, reason_start: str
) -> None:
    result = recommend(facts(**changes))
    assert result.outcome == outcome
    assert result.reasons[0].startswith(reason_start)
    assert not result.urgent
    assert result.risk == ""


def test_it_makes_a_high_cssrs_an_urgent_imminent_risk_with_the_next_step() -> None:
    result = recommend(facts(cssrs_band="high"))
    assert result == Recommendation(
        outcome=rules.HIGHER_LEVEL,
        reasons=[result.reasons[0]],
        urgent=True,
        next_step=(
            "Do not end the call. If the person is in immediate danger call 911; otherwise "
            "connect them now with the 988 Suicide & Crisis Lifeline and tell the clinical "
            "director."
        ),
        risk="imminent",
    )
    assert "Imminent suicide risk" in result.reasons[0]


def test_it_asks_for_a_same_day_assessment_on_a_moderate_cssrs() -> None:
    result = recommend(facts(cssrs_band="moderate"))
    assert result.outcome == rules.IOP
    assert not result.urgent
    assert result.risk == "elevated"
    assert "same-day clinical risk assessment" in result.next_step
    assert any("C-SSRS" in r for r in result.reasons)


def test_the_first_matching_rule_decides_and_every_reason_is_kept() -> None:
    result = recommend(
        facts(
            cssrs_band="high",
            withdrawal_instrument="ciwa_ar",
            withdrawal_score=15,
            track="neither",
            recent_stay="30_days",
            recent_stay_level="withdrawal",
        )
    )
    assert result.outcome == rules.HIGHER_LEVEL
    assert result.urgent
    assert len(result.reasons) == 4
    result = recommend(facts(withdrawal_instrument="cows", withdrawal_score=20, unstable=True))
    assert result.outcome == rules.WITHDRAWAL_MANAGEMENT
    result = recommend(facts(track="neither", motivation="not_ready", recent_stay="30_days"))
    assert result.outcome == rules.LOWER_LEVEL
    assert len(result.reasons) == 3


@given(
    st.builds(
        ScreeningFacts,
        withdrawal_instrument=st.sampled_from(["none", "ciwa_ar", "cows"]),
        withdrawal_score=st.integers(min_value=0, max_value=48),
        cssrs_band=st.sampled_from(["none", "low", "moderate", "high"]),
        living_situation=st.sampled_from(
            ["stable_with_others", "alone", "family", "recovery_residence", "unstable", "homeless"]
        ),
        has_support_system=st.booleans(),
        motivation=st.sampled_from(["wants_sobriety", "ambivalent", "not_ready"]),
        track=st.sampled_from(["day", "evening", "either", "neither"]),
        needs_24h_supervision=st.booleans(),
        unstable=st.booleans(),
        recent_stay=st.sampled_from(["none", "30_days", "90_days"]),
        recent_stay_level=st.sampled_from(["", "inpatient", "residential"]),
    )
)
def test_it_always_gives_an_outcome_with_reasons_and_urgency_only_for_high_risk(
    case: ScreeningFacts,
) -> None:
    result = recommend(case)
    assert result.outcome in rules.OUTCOME_LABELS
    assert result.reasons
    assert result.urgent == (case.cssrs_band == "high")
    if result.urgent:
        assert result.next_step == rules.IMMINENT_NEXT_STEP
    iop_possible = not (
        case.cssrs_band == "high"
        or rules.needs_withdrawal_management(case.withdrawal_instrument, case.withdrawal_score)
        or case.needs_24h_supervision
        or case.unstable
        or (case.living_situation in {"unstable", "homeless"} and not case.has_support_system)
        or case.track == "neither"
        or case.motivation == "not_ready"
    )
    assert (result.outcome == rules.IOP) == iop_possible


# --- stages --------------------------------------------------------------------------------


def test_it_needs_to_whom_and_why_for_the_closed_outcomes() -> None:
    assert rules.stage_change_errors(current="screened", target="referred") == {
        "referred_to": "Say where the person was referred (program or provider)."
    }
    assert (
        rules.stage_change_errors(
            current="screened", target="referred", referred_to="Harbor Detox Center"
        )
        == {}
    )
    assert "not_admitted_reason" in rules.stage_change_errors(
        current="assessed", target="not_admitted", not_admitted_reason="   "
    )
    assert rules.stage_change_errors(current="new", target="unreachable") == {}
    assert "stage" in rules.stage_change_errors(current="new", target="new")
    assert "stage" in rules.stage_change_errors(current="new", target="lost")
    assert "stage" in rules.stage_change_errors(current="assessed", target="admitted")
    assert rules.stage_change_errors(current="assessed", target="admitted", has_patient=True) == {}


@pytest.mark.parametrize(
    ("current", "target", "behind"),
    [
        ("new", "assessment_scheduled", True),
        ("screened", "assessed", True),
        ("assessed", "assessed", False),
        ("admitted", "assessed", False),
        ("assessed", "assessment_scheduled", False),
        ("referred", "admitted", False),
        ("unreachable", "assessed", False),
    ],
)
def test_it_only_ever_moves_forward(current: str, target: str, behind: bool) -> None:
    assert rules.is_behind(current, target) is behind


# --- overdue -------------------------------------------------------------------------------

MON, TUE, WED, FRI, SAT, SUN = (dt.date(2026, 3, d) for d in (2, 3, 4, 6, 7, 8))
NEXT_MON, NEXT_TUE = dt.date(2026, 3, 9), dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    ("created", "today", "overdue"),
    [
        (MON, MON, False),
        (MON, TUE, False),
        (MON, WED, True),
        (FRI, SAT, False),
        (FRI, NEXT_MON, False),
        (FRI, NEXT_TUE, True),
        (SAT, NEXT_MON, False),
        (SAT, NEXT_TUE, True),
        (SUN, NEXT_TUE, True),
    ],
)
def test_a_new_inquiry_is_overdue_after_one_business_day_without_contact(
    created: dt.date, today: dt.date, overdue: bool
) -> None:
    assert (
        rules.is_overdue(
            stage="new",
            next_follow_up=None,
            created_on=created,
            has_contact_attempt=False,
            today=today,
        )
        is overdue
    )
    # The database filter agrees with the rule.
    assert (created < rules.new_overdue_before(today)) is overdue


def test_a_contact_attempt_or_a_later_stage_stops_the_new_inquiry_clock() -> None:
    common = {"next_follow_up": None, "created_on": MON, "today": NEXT_TUE}
    assert not rules.is_overdue(stage="new", has_contact_attempt=True, **common)  # type: ignore[arg-type]
    assert not rules.is_overdue(stage="contacted", has_contact_attempt=False, **common)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stage", "follow_up", "overdue"),
    [
        ("contacted", WED, True),
        ("contacted", FRI, False),  # today
        ("screened", SAT, False),
        ("admitted", MON, False),
        ("referred", MON, False),
    ],
)
def test_a_follow_up_date_in_the_past_is_overdue(
    stage: str, follow_up: dt.date, overdue: bool
) -> None:
    assert (
        rules.is_overdue(
            stage=stage,
            next_follow_up=follow_up,
            created_on=FRI,
            has_contact_attempt=True,
            today=FRI,
        )
        is overdue
    )


def test_it_reads_the_rate() -> None:
    assert rules.parse_rate("5/h") == (5, 3600)
    assert rules.parse_rate("20/m") == (20, 60)
    assert rules.parse_rate("100/d") == (100, 86400)
    for bad in ("5", "five/h", "0/h", "5/w", "/h"):
        with pytest.raises(ValueError, match="not a rate"):
            rules.parse_rate(bad)
