"""Scoring at every band boundary of every instrument, and every way an answer set is wrong
(SPEC §6). Pure: no database."""

from __future__ import annotations

from typing import Any

import pytest

from openiop.measures.scoring import INSTRUMENTS, Score, ScoringError, score
from tests.measures import factories as f


def test_it_knows_exactly_the_spec_instruments() -> None:
    assert INSTRUMENTS == ("phq9", "gad7", "audit", "auditc", "dast10", "cssrs_screen", "bam")


# --- PHQ-9 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_it_bands_phq9_at_every_boundary(total: int, band: str) -> None:
    item9 = max(0, total - 24)  # 27 needs item 9 at 3
    result = score("phq9", f.phq9(total, item9=item9))
    assert (result.total, result.band) == (total, band)
    assert result.flags == ({"suicide_risk"} if item9 else set())
    assert result.subscales == {}


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_it_flags_suicide_risk_when_phq9_item_9_is_above_0(item9: int) -> None:
    result = score("phq9", f.phq9(item9, item9=item9))
    assert result.flags == {"suicide_risk"}
    assert result.band == "minimal"  # the flag does not depend on the total


def test_it_does_not_flag_phq9_item_9_at_0_even_when_severe() -> None:
    assert score("phq9", f.phq9(24, item9=0)).flags == set()


# --- GAD-7 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_it_bands_gad7_at_every_boundary(total: int, band: str) -> None:
    result = score("gad7", f.gad7(total))
    assert (result.total, result.band, result.flags) == (total, band, set())


# --- AUDIT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "zone I"),
        (7, "zone I"),
        (8, "zone II"),
        (15, "zone II"),
        (16, "zone III"),
        (19, "zone III"),
        (20, "zone IV"),
        (33, "zone IV"),
        (40, "zone IV"),
    ],
)
def test_it_bands_audit_at_every_boundary(total: int, band: str) -> None:
    result = score("audit", f.audit(total))
    assert (result.total, result.band) == (total, band)


def test_it_scores_audit_items_9_and_10_as_0_2_or_4() -> None:
    answers = f.audit(0) | {"9": 2, "10": 4}
    assert score("audit", answers).total == 6


@pytest.mark.parametrize("item", ["9", "10"])
@pytest.mark.parametrize("value", [1, 3])
def test_it_refuses_audit_items_9_and_10_at_1_or_3(item: str, value: int) -> None:
    with pytest.raises(ScoringError, match=rf"audit item {item}: {value} is outside 0, 2, 4") as e:
        score("audit", f.audit(0) | {item: value})
    assert e.value.item == item


def test_it_refuses_audit_items_1_to_8_above_4() -> None:
    with pytest.raises(ValueError, match="audit item 8: 5 is outside 0–4"):
        score("audit", f.audit(0) | {"8": 5})


# --- AUDIT-C -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "total", "band"),
    [
        ("female", 0, "negative"),
        ("female", 2, "negative"),
        ("female", 3, "positive"),
        ("female", 12, "positive"),
        ("male", 0, "negative"),
        ("male", 3, "negative"),
        ("male", 4, "positive"),
        ("male", 12, "positive"),
    ],
)
def test_it_screens_auditc_at_each_sexs_cutoff(sex: str, total: int, band: str) -> None:
    result = score("auditc", f.auditc(total), sex=sex)
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize("sex", [None, "", "intersex", "unknown", "Male"])
def test_it_refuses_auditc_without_male_or_female(sex: str | None) -> None:
    with pytest.raises(ValueError, match="auditc sex") as e:
        score("auditc", f.auditc(3), sex=sex)
    assert e.value.item == "sex"  # type: ignore[attr-defined]


def test_it_ignores_sex_for_other_instruments() -> None:
    assert score("phq9", f.phq9(5), sex="male") == score("phq9", f.phq9(5))


# --- DAST-10 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "none"),
        (1, "low"),
        (2, "low"),
        (3, "moderate"),
        (5, "moderate"),
        (6, "substantial"),
        (8, "substantial"),
        (9, "severe"),
        (10, "severe"),
    ],
)
def test_it_bands_dast10_at_every_boundary(total: int, band: str) -> None:
    result = score("dast10", f.dast10(total))
    assert (result.total, result.band) == (total, band)


def test_it_scores_dast10_item_3_no_as_1_and_yes_as_0() -> None:
    all_no = {str(i): False for i in range(1, 11)}
    assert score("dast10", all_no).total == 1  # "not always able to stop"
    assert score("dast10", all_no | {"3": True}).total == 0
    all_yes = {str(i): True for i in range(1, 11)}
    assert score("dast10", all_yes).total == 9
    assert score("dast10", all_yes | {"3": False}).total == 10


def test_it_takes_dast10_answers_as_1_and_0() -> None:
    ones = {str(i): 1 for i in range(1, 11)}
    assert score("dast10", ones) == score("dast10", {str(i): True for i in range(1, 11)})


@pytest.mark.parametrize("value", [2, -1, "yes", None, 1.0])
def test_it_refuses_dast10_answers_that_are_not_yes_or_no(value: Any) -> None:
    with pytest.raises(ValueError, match=r"dast10 item 4: .* is not yes/no"):
        score("dast10", f.dast10(0) | {"4": value})


# --- C-SSRS screener -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "band"),
    [
        (f.cssrs(), "none"),
        (f.cssrs("1"), "low"),
        (f.cssrs("2"), "low"),
        (f.cssrs("1", "2"), "low"),
        (f.cssrs("3"), "moderate"),
        (f.cssrs("1", "2", "3"), "moderate"),
        (f.cssrs("6", when="more_than_3_months_ago"), "moderate"),
        (f.cssrs("1", "6", when="more_than_3_months_ago"), "moderate"),
        (f.cssrs("4"), "high"),
        (f.cssrs("5"), "high"),
        (f.cssrs("2", "3", "4"), "high"),
        (f.cssrs("6", when="past_3_months"), "high"),
        (f.cssrs("3", "6", when="past_3_months"), "high"),
        (f.cssrs("1", "2", "3", "4", "5", "6", when="past_3_months"), "high"),
    ],
)
def test_it_triages_the_cssrs_screener_by_every_rule(answers: dict[str, Any], band: str) -> None:
    result = score("cssrs_screen", answers)
    assert result.band == band
    assert result.total is None
    assert result.flags == ({"suicide_risk"} if band in ("moderate", "high") else set())


def test_it_requires_when_for_cssrs_item_6_yes() -> None:
    with pytest.raises(ValueError, match="cssrs_screen item 6_when") as e:
        score("cssrs_screen", f.cssrs("6"))
    assert e.value.item == "6_when"  # type: ignore[attr-defined]


@pytest.mark.parametrize("when", ["yesterday", "", "PAST_3_MONTHS", 3])
def test_it_refuses_an_unknown_when_for_cssrs_item_6(when: Any) -> None:
    with pytest.raises(ValueError, match="cssrs_screen item 6_when"):
        score("cssrs_screen", f.cssrs("6", when=when))


@pytest.mark.parametrize("when", ["past_3_months", "more_than_3_months_ago"])
def test_it_refuses_when_for_cssrs_item_6_no(when: str) -> None:
    with pytest.raises(ValueError, match="cssrs_screen item 6_when: only asked when item 6 is yes"):
        score("cssrs_screen", f.cssrs("1", when=when))


def test_it_refuses_a_seventh_cssrs_item() -> None:
    with pytest.raises(ValueError, match="cssrs_screen item 7: no such item"):
        score("cssrs_screen", f.cssrs() | {"7": False})


def test_it_requires_every_cssrs_item() -> None:
    answers = f.cssrs()
    del answers["4"]
    with pytest.raises(ValueError, match="cssrs_screen item 4: missing answer"):
        score("cssrs_screen", answers)


# --- BAM -----------------------------------------------------------------------------------------


def test_it_sums_the_bam_subscales_from_their_items() -> None:
    result = score(
        "bam",
        f.bam(i4=1, i5=2, i6=3, i1=4, i2=1, i3=1, i8=1, i11=1, i15=1, i9=4, i10=4, i12=4, i13=4)
        | {"14": 4, "16": 4, "7": 4, "17": 4},
    )
    assert result.subscales == {"use": 6, "risk": 9, "protective": 24}
    assert (result.total, result.band, result.flags) == (None, "", set())


def test_it_leaves_bam_items_7_and_17_out_of_the_subscales() -> None:
    assert score("bam", f.bam(i7=4, i17=4)).subscales == {"use": 0, "risk": 0, "protective": 0}


def test_it_reaches_every_bam_subscale_maximum() -> None:
    result = score("bam", {str(i): 4 for i in range(1, 18)})
    assert result.subscales == {"use": 12, "risk": 24, "protective": 24}


# --- errors common to every instrument -----------------------------------------------------------

VALID: dict[str, dict[str, Any]] = {
    "phq9": f.phq9(0),
    "gad7": f.gad7(0),
    "audit": f.audit(0),
    "auditc": f.auditc(0),
    "dast10": f.dast10(0),
    "cssrs_screen": f.cssrs(),
    "bam": f.bam(),
}
SEX = {"auditc": "female"}


@pytest.mark.parametrize("code", INSTRUMENTS)
def test_it_scores_a_valid_set_of_every_instrument(code: str) -> None:
    assert isinstance(score(code, VALID[code], sex=SEX.get(code)), Score)


@pytest.mark.parametrize("code", INSTRUMENTS)
def test_it_names_a_missing_item(code: str) -> None:
    answers = dict(VALID[code])
    del answers["2"]
    with pytest.raises(ValueError, match=rf"^{code} item 2: missing answer") as e:
        score(code, answers, sex=SEX.get(code))
    assert e.value.item == "2"  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", INSTRUMENTS)
def test_it_names_an_unknown_item(code: str) -> None:
    extra = str(len([k for k in VALID[code] if k.isdigit()]) + 1)
    with pytest.raises(ValueError, match=rf"^{code} item {extra}: no such item"):
        score(code, VALID[code] | {extra: 0}, sex=SEX.get(code))


def test_it_refuses_item_0_and_integer_keys() -> None:
    with pytest.raises(ValueError, match="phq9 item 0: no such item"):
        score("phq9", VALID["phq9"] | {"0": 0})
    with pytest.raises(ValueError, match="phq9 item 1: no such item"):
        score("phq9", {1: 0, **{str(i): 0 for i in range(2, 10)}})  # type: ignore[dict-item]


def test_it_says_phq9_item_9_at_4_is_out_of_range() -> None:
    with pytest.raises(ValueError) as e:
        score("phq9", f.phq9(0) | {"9": 4})
    assert str(e.value) == "phq9 item 9: 4 is outside 0–3."


@pytest.mark.parametrize(
    ("code", "item", "value"),
    [
        ("phq9", "1", -1),
        ("phq9", "5", 4),
        ("gad7", "7", 4),
        ("gad7", "1", -1),
        ("audit", "1", 5),
        ("auditc", "3", 5),
        ("bam", "17", 5),
        ("bam", "1", -1),
    ],
)
def test_it_refuses_values_out_of_range(code: str, item: str, value: int) -> None:
    with pytest.raises(ValueError, match=rf"^{code} item {item}: {value} is outside"):
        score(code, VALID[code] | {item: value}, sex=SEX.get(code))


@pytest.mark.parametrize("value", [True, False, "2", 2.0, None, [2]])
@pytest.mark.parametrize("code", ["phq9", "gad7", "audit", "auditc", "bam"])
def test_it_refuses_numeric_items_of_the_wrong_type(code: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"^{code} item 1: .* is not a whole number"):
        score(code, VALID[code] | {"1": value}, sex=SEX.get(code))


def test_it_refuses_an_unknown_instrument() -> None:
    with pytest.raises(ValueError, match="'phq2' is not an instrument here"):
        score("phq2", {"1": 0, "2": 0})


def test_it_refuses_answers_that_are_not_a_mapping() -> None:
    with pytest.raises(ValueError, match="answers must map item numbers"):
        score("gad7", [0] * 7)  # type: ignore[arg-type]
