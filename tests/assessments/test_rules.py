"""The level-of-care table of SPEC §5, row by row at every first-match boundary, and the
other pure rules (ICD-10-CM format, vital signs)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.assessments import icd10, rules
from openiop.assessments.rules import DEFAULT_TABLE, Rule


def level(*values: int, table: tuple[Rule, ...] = DEFAULT_TABLE) -> str:
    return rules.recommend_level(dict(zip(rules.DIMENSIONS, values, strict=True)), table).code


def row(*values: int) -> int:
    return rules.recommend_level(dict(zip(rules.DIMENSIONS, values, strict=True))).row


# Row 1: any dimension = 4 → refer to inpatient / residential now (3.7 or 4).
@pytest.mark.parametrize("dimension", rules.DIMENSIONS)
def test_it_refers_out_when_any_dimension_is_4(dimension: int) -> None:
    values = [0] * 6
    values[dimension - 1] = 4
    assert level(*values) == "3.7_4"
    assert row(*values) == 1


def test_it_refers_out_on_a_4_even_when_d1_is_also_3() -> None:
    assert level(3, 0, 0, 0, 4, 0) == "3.7_4"  # row 1 comes before row 2


# Row 2: D1 ≥ 3 → withdrawal management first.
def test_it_sends_d1_of_3_to_withdrawal_management_first() -> None:
    assert level(3, 0, 0, 0, 0, 0) == "wm"
    assert row(3, 0, 0, 0, 0, 0) == 2


def test_it_does_not_send_d1_of_2_to_withdrawal_management() -> None:
    assert level(2, 0, 0, 0, 0, 0) == "1"  # D1 is not among D3–D6: outpatient


def test_it_puts_withdrawal_before_php_when_d1_and_d3_are_3() -> None:
    assert level(3, 3, 3, 3, 3, 3) == "wm"


# Row 3: D2 ≥ 3 or D3 ≥ 3 → PHP (2.5).
@pytest.mark.parametrize("values", [(0, 3, 0, 0, 0, 0), (0, 0, 3, 0, 0, 0), (2, 3, 3, 3, 3, 3)])
def test_it_recommends_php_for_d2_or_d3_of_3(values: tuple[int, ...]) -> None:
    assert level(*values) == "2.5"
    assert row(*values) == 3


def test_it_does_not_recommend_php_for_d2_of_2() -> None:
    assert level(0, 2, 0, 0, 0, 0) == "1"  # D2 is not among D3–D6 either


# Row 4: D6 ≥ 3 → residential (3.5) or IOP with a recovery residence.
def test_it_offers_residential_or_iop_with_recovery_residence_for_d6_of_3() -> None:
    assert level(0, 0, 0, 0, 0, 3) == "3.5_or_2.1"
    assert row(2, 2, 2, 3, 3, 3) == 4


def test_it_recommends_iop_for_d6_of_2() -> None:
    assert level(0, 0, 0, 0, 0, 2) == "2.1"


# Row 5: any of D3–D6 ≥ 2 → IOP (2.1).
@pytest.mark.parametrize("dimension", [3, 4, 5, 6])
def test_it_recommends_iop_when_one_of_d3_to_d6_is_2(dimension: int) -> None:
    values = [0] * 6
    values[dimension - 1] = 2
    assert level(*values) == "2.1"
    assert row(*values) == 5


def test_it_recommends_iop_with_d4_and_d5_at_3() -> None:
    assert level(0, 0, 0, 3, 3, 0) == "2.1"  # D4/D5 have no row of their own at 3


# Row 6: otherwise → outpatient (1).
def test_it_recommends_outpatient_when_every_rating_is_1_or_less() -> None:
    assert level(1, 1, 1, 1, 1, 1) == "1"
    assert row(1, 1, 1, 1, 1, 1) == 6


def test_it_recommends_outpatient_when_every_rating_is_zero() -> None:
    assert level(0, 0, 0, 0, 0, 0) == "1"


def test_it_recommends_outpatient_with_d1_and_d2_at_2() -> None:
    assert level(2, 2, 1, 1, 1, 1) == "1"


@given(st.lists(st.integers(min_value=0, max_value=4), min_size=6, max_size=6))
def test_it_always_finds_a_row_for_ratings_0_to_4(values: list[int]) -> None:
    recommendation = rules.recommend_level(dict(zip(rules.DIMENSIONS, values, strict=True)))
    assert recommendation.code in rules.RECOMMENDATIONS
    if 4 in values:
        assert recommendation.code == "3.7_4"
    elif max(values) <= 1:
        assert recommendation.code == "1"


@given(
    st.integers(min_value=1, max_value=6),
    st.one_of(st.integers(min_value=5, max_value=1000), st.integers(max_value=-1)),
)
def test_it_refuses_ratings_off_the_scale(dimension: int, bad: int) -> None:
    ratings = dict.fromkeys(rules.DIMENSIONS, 0)
    ratings[dimension] = bad
    with pytest.raises(rules.RatingError) as caught:
        rules.recommend_level(ratings)
    assert list(caught.value.errors) == [dimension]
    assert f"Dimension {dimension}" in caught.value.errors[dimension]


def test_it_names_the_dimension_and_the_scale_when_a_rating_is_5() -> None:
    message = rules.rating_error(3, 5)
    assert message is not None
    assert "Dimension 3" in message and "5 is not on the scale" in message and "0" in message


def test_it_refuses_a_missing_rating() -> None:
    assert rules.rating_errors({1: 0, 2: 0, 3: 0, 4: 0, 5: 0}) == {
        6: "Dimension 6 (recovery / living environment): choose a rating from 0 to 4."
    }


def test_a_custom_table_changes_the_result() -> None:
    stricter = (
        Rule((1, 2, 3, 4, 5, 6), "any", 4, "3.7_4"),
        Rule((5,), "any", 3, "2.5", "Relapse potential D5 ≥ 3 → PHP here"),
        Rule((), "otherwise", 0, "2.1"),
    )
    assert level(0, 0, 0, 0, 3, 0) == "2.1"
    assert level(0, 0, 0, 0, 3, 0, table=stricter) == "2.5"
    assert level(0, 0, 0, 0, 0, 0, table=stricter) == "2.1"


def test_an_all_row_needs_every_listed_dimension() -> None:
    table = (Rule((4, 5), "all", 3, "2.5"), Rule((), "otherwise", 0, "1"))
    assert level(0, 0, 0, 3, 3, 0, table=table) == "2.5"
    assert level(0, 0, 0, 3, 2, 0, table=table) == "1"


def test_the_default_table_is_valid_and_describes_itself() -> None:
    assert rules.table_errors(DEFAULT_TABLE) == []
    assert DEFAULT_TABLE[0].describe() == "any dimension ≥ 4"
    assert DEFAULT_TABLE[2].describe() == "D2 or D3 ≥ 3"
    assert DEFAULT_TABLE[-1].describe() == "otherwise"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ((), "at least one row"),
        ((Rule((1,), "any", 3, "wm"),), "last row must be “otherwise”"),
        ((Rule((), "otherwise", 0, "1"), Rule((1,), "any", 3, "wm")), "must be last"),
        ((Rule((1,), "any", 5, "wm"), Rule((), "otherwise", 0, "1")), "0 to 4"),
        ((Rule((7,), "any", 3, "wm"), Rule((), "otherwise", 0, "1")), "numbered 1 to 6"),
        ((Rule((), "any", 3, "wm"), Rule((), "otherwise", 0, "1")), "at least one dimension"),
        ((Rule((1,), "any", 3, "detox"), Rule((), "otherwise", 0, "1")), "recommendation"),
    ],
)
def test_it_refuses_a_broken_table(table: tuple[Rule, ...], expected: str) -> None:
    assert any(expected in problem for problem in rules.table_errors(table))


def test_the_fingerprint_changes_with_the_table() -> None:
    other = (*DEFAULT_TABLE[:-1], Rule((), "otherwise", 0, "2.1"))
    assert rules.table_fingerprint(DEFAULT_TABLE) == rules.table_fingerprint(DEFAULT_TABLE)
    assert rules.table_fingerprint(DEFAULT_TABLE) != rules.table_fingerprint(other)


@pytest.mark.parametrize(
    ("recommendation", "final", "needed"),
    [
        ("2.1", "2.1", False),
        ("2.1", "1", True),
        ("3.5_or_2.1", "3.5", False),
        ("3.5_or_2.1", "2.1", False),
        ("3.5_or_2.1", "2.5", True),
        ("3.7_4", "3.7", False),
        ("3.7_4", "4", False),
        ("3.7_4", "2.1", True),
        ("wm", "wm", False),
        ("wm", "2.1", True),
        ("2.5", "", False),
    ],
)
def test_it_needs_an_override_reason_only_when_the_level_differs(
    recommendation: str, final: str, needed: bool
) -> None:
    assert rules.needs_override_reason(recommendation, final) is needed


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("F10.20", "F10.20"),
        ("f10.20", "F10.20"),
        ("F1020", "F10.20"),
        (" z59.00 ", "Z59.00"),
        ("F32.A", "F32.A"),
        ("F20", "F20"),
        ("Z79.891", "Z79.891"),
    ],
)
def test_it_normalizes_icd10_codes(raw: str, code: str) -> None:
    assert rules.normalize_icd10(raw) == code


@pytest.mark.parametrize("raw", ["", "U07.1", "10.20", "F1", "FF0.1", "F10.12345", "F10-20"])
def test_it_refuses_what_is_not_an_icd10_code(raw: str) -> None:
    with pytest.raises(rules.CodeFormatError):
        rules.normalize_icd10(raw)


@pytest.mark.parametrize(
    ("code", "substance"),
    [("F10.20", True), ("F19.99", True), ("F09", False), ("F20.9", False), ("Z72.0", False)],
)
def test_it_marks_f10_to_f19_as_substance_use(code: str, substance: bool) -> None:
    assert rules.is_substance_use_code(code) is substance


def test_the_shipped_list_has_the_f_codes_and_common_z_codes() -> None:
    alcohol = icd10.lookup("F10.20")
    assert alcohol is not None and alcohol.description == "Alcohol dependence, uncomplicated"
    for code in ("Z72.0", "Z79.891", "Z87.891", "Z59.00", "Z63.0", "Z65.3", "Z71.41"):
        assert icd10.lookup(code) is not None, code
    assert icd10.lookup("A00.0") is None  # cholera is not behavioral health
    assert icd10.lookup("F10.2") is None  # a category, not a billable code
    assert 900 < icd10.count() < 2000


def test_it_searches_by_code_prefix_and_by_words() -> None:
    assert [c.code for c in icd10.search("f10.2", limit=3)] == ["F10.20", "F10.21", "F10.220"]
    assert icd10.search("F1020")[0].code == "F10.20"
    words = icd10.search("opioid dependence withdrawal")
    assert words and all(c.code.startswith("F11.2") for c in words)
    assert icd10.search("homelessness")[0].code.startswith("Z59.0")
    assert icd10.search("   ") == []


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("bp_systolic", 60, 260),
        ("bp_diastolic", 30, 160),
        ("pulse", 30, 220),
    ],
)
def test_it_checks_vital_signs_at_their_boundaries(name: str, low: int, high: int) -> None:
    # Blood pressure is checked as a pair: the other number stays plausible.
    other = {"bp_systolic": {"bp_diastolic": 35}, "bp_diastolic": {"bp_systolic": 250}}.get(
        name, {}
    )
    assert name not in rules.vital_sign_errors({**other, name: low})
    assert name not in rules.vital_sign_errors({**other, name: high})
    assert name in rules.vital_sign_errors({**other, name: low - 1})
    assert name in rules.vital_sign_errors({**other, name: high + 1})


def test_it_wants_both_blood_pressure_numbers_and_diastolic_below_systolic() -> None:
    assert "bp_diastolic" in rules.vital_sign_errors({"bp_systolic": 120})
    assert "bp_diastolic" in rules.vital_sign_errors({"bp_systolic": 90, "bp_diastolic": 95})
    assert rules.vital_sign_errors({"bp_systolic": 120, "bp_diastolic": 80}) == {}
    assert "temperature_f" in rules.vital_sign_errors({"temperature_f": Decimal("120.0")})
