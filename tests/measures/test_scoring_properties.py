"""Properties of scoring over every valid answer set (hypothesis): the total is the sum of the
points within the instrument's range, bands never go down as the total goes up, and anything
outside the range is refused."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from openiop.measures import instruments
from openiop.measures.scoring import ScoringError, score

BAND_ORDER = {
    "phq9": ["minimal", "mild", "moderate", "moderately severe", "severe"],
    "gad7": ["minimal", "mild", "moderate", "severe"],
    "audit": ["zone I", "zone II", "zone III", "zone IV"],
    "dast10": ["none", "low", "moderate", "substantial", "severe"],
    "auditc": ["negative", "positive"],
    "cssrs_screen": ["none", "low", "moderate", "high"],
}


def answers_for(code: str) -> st.SearchStrategy[dict[str, Any]]:
    """Any valid answer set of the instrument, drawn from its definition's options."""
    definition = instruments.definition(code)
    scored = {
        item.number: st.sampled_from([o.value for o in item.options])
        for item in definition.scored_items
    }
    base = st.fixed_dictionaries(scored)
    if code != "cssrs_screen":
        return base

    def with_when(a: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        if not a["6"]:
            return st.just(a)
        return st.sampled_from(["past_3_months", "more_than_3_months_ago"]).map(
            lambda w: a | {"6_when": w}
        )

    return base.flatmap(with_when)


def _points(code: str, answers: dict[str, Any]) -> int:
    d = instruments.definition(code)
    return sum(d.points(item, answers[item.number]) or 0 for item in d.scored_items)


@given(answers_for("phq9"))
def test_it_totals_phq9_as_the_sum_within_0_to_27(answers: dict[str, Any]) -> None:
    result = score("phq9", answers)
    assert result.total == sum(answers.values())
    assert 0 <= result.total <= 27
    assert ("suicide_risk" in result.flags) == (answers["9"] > 0)


@given(answers_for("gad7"))
def test_it_totals_gad7_as_the_sum_within_0_to_21(answers: dict[str, Any]) -> None:
    result = score("gad7", answers)
    assert result.total == sum(answers.values())
    assert result.total is not None and 0 <= result.total <= 21


@given(answers_for("audit"))
def test_it_totals_audit_as_the_sum_within_0_to_40(answers: dict[str, Any]) -> None:
    result = score("audit", answers)
    assert result.total == sum(answers.values())
    assert result.total is not None and 0 <= result.total <= 40


@given(answers_for("auditc"), st.sampled_from(["male", "female"]))
def test_it_screens_auditc_positive_exactly_at_the_cutoff(
    answers: dict[str, Any], sex: str
) -> None:
    result = score("auditc", answers, sex=sex)
    assert result.total == sum(answers.values())
    cutoff = 4 if sex == "male" else 3
    assert (result.band == "positive") == (sum(answers.values()) >= cutoff)


@given(answers_for("dast10"))
def test_it_totals_dast10_as_the_points_within_0_to_10(answers: dict[str, Any]) -> None:
    result = score("dast10", answers)
    yes = sum(1 for k, v in answers.items() if v and k != "3")
    assert result.total == yes + (0 if answers["3"] else 1) == _points("dast10", answers)
    assert 0 <= result.total <= 10


@given(answers_for("bam"))
def test_it_sums_each_bam_subscale_from_its_items(answers: dict[str, Any]) -> None:
    result = score("bam", answers)
    for name, items in instruments.BAM.subscales.items():
        assert result.subscales[name] == sum(answers[str(i)] for i in items)
        assert 0 <= result.subscales[name] <= 4 * len(items)


@given(answers_for("cssrs_screen"))
def test_it_flags_the_cssrs_exactly_at_moderate_and_high(answers: dict[str, Any]) -> None:
    result = score("cssrs_screen", answers)
    assert result.band in BAND_ORDER["cssrs_screen"]
    assert ("suicide_risk" in result.flags) == (result.band in ("moderate", "high"))
    if not any(answers[str(i)] for i in range(1, 7)):
        assert result.band == "none"


def _rank(code: str, band: str) -> int:
    return BAND_ORDER[code].index(band)


@given(st.sampled_from(["phq9", "gad7", "audit", "dast10"]), st.data())
def test_it_never_lowers_the_band_when_one_answer_goes_up(code: str, data: st.DataObject) -> None:
    answers = data.draw(answers_for(code))
    d = instruments.definition(code)
    item = data.draw(st.sampled_from(d.scored_items))
    higher = [
        o.value
        for o in item.options
        if (d.points(item, o.value) or 0) > (d.points(item, answers[item.number]) or 0)
    ]
    if not higher:
        return
    before = score(code, answers)
    after = score(code, answers | {item.number: data.draw(st.sampled_from(higher))})
    assert after.total is not None and before.total is not None
    assert after.total > before.total
    assert _rank(code, after.band) >= _rank(code, before.band)


@given(st.sampled_from(["male", "female"]), st.data())
def test_it_never_turns_auditc_negative_when_an_answer_goes_up(
    sex: str, data: st.DataObject
) -> None:
    answers = data.draw(answers_for("auditc"))
    item = data.draw(st.sampled_from(["1", "2", "3"]))
    if answers[item] == 4:
        return
    before = score("auditc", answers, sex=sex)
    after = score("auditc", answers | {item: answers[item] + 1}, sex=sex)
    assert _rank("auditc", after.band) >= _rank("auditc", before.band)


@given(answers_for("cssrs_screen"), st.sampled_from(["1", "2", "3", "4", "5"]))
def test_it_never_lowers_cssrs_risk_when_a_no_turns_yes(answers: dict[str, Any], item: str) -> None:
    before = score("cssrs_screen", answers)
    after = score("cssrs_screen", answers | {item: True})
    assert _rank("cssrs_screen", after.band) >= _rank("cssrs_screen", before.band)


@given(
    st.sampled_from(["phq9", "gad7", "audit", "auditc", "bam"]),
    st.data(),
    st.one_of(st.integers(max_value=-1), st.integers(min_value=5)),
)
def test_it_refuses_any_value_outside_the_scale(code: str, data: st.DataObject, bad: int) -> None:
    answers = data.draw(answers_for(code))
    item = data.draw(st.sampled_from(sorted(answers)))
    try:
        score(code, answers | {item: bad}, sex="male")
    except ScoringError as e:
        assert e.item == item
        assert f"{code} item {item}:" in str(e)
    else:
        raise AssertionError(f"{code} item {item} = {bad} was scored")
