"""Drug-test results and what explains them (SPEC §8), at every boundary."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.recovery import rules
from openiop.recovery.rules import Prescription, Reading

DAY = dt.date(2026, 3, 4)
BUPRENORPHINE = Prescription("buprenorphine", start=dt.date(2026, 2, 1))
ENDED_BENZO = Prescription("benzodiazepine", start=dt.date(2026, 1, 1), end=DAY)
STIMULANT = Prescription("stimulant", start=DAY)


@pytest.mark.parametrize(
    ("substance", "result", "prescriptions", "expected"),
    [
        # A positive a current prescription explains is expected…
        ("buprenorphine", "positive", [BUPRENORPHINE], Reading.EXPECTED),
        ("amphetamines", "positive", [STIMULANT], Reading.EXPECTED),  # from its first day
        ("benzodiazepines", "positive", [ENDED_BENZO], Reading.EXPECTED),  # to its last day
        # …any other positive is unexpected.
        ("buprenorphine", "positive", [], Reading.UNEXPECTED),
        ("fentanyl", "positive", [BUPRENORPHINE], Reading.UNEXPECTED),
        ("methamphetamine", "positive", [STIMULANT], Reading.UNEXPECTED),  # not prescribed
        ("opiates", "positive", [BUPRENORPHINE], Reading.UNEXPECTED),
        ("alcohol", "positive", [BUPRENORPHINE, STIMULANT], Reading.UNEXPECTED),
        # A negative for a prescribed medication is worth a look; others are just negative.
        ("buprenorphine", "negative", [BUPRENORPHINE], Reading.MISSING),
        ("cocaine", "negative", [BUPRENORPHINE], Reading.NEGATIVE),
        # Invalid or dilute specimens say nothing either way.
        ("cocaine", "invalid", [], Reading.NOT_READABLE),
        ("buprenorphine", "dilute", [BUPRENORPHINE], Reading.NOT_READABLE),
    ],
)
def test_reading(
    substance: str, result: str, prescriptions: list[Prescription], expected: Reading
) -> None:
    assert rules.reading(substance, result, prescriptions, DAY) == expected


@pytest.mark.parametrize(
    ("collected_on", "expected"),
    [
        (dt.date(2026, 1, 31), Reading.UNEXPECTED),  # the day before it started
        (dt.date(2026, 2, 1), Reading.EXPECTED),
        (DAY, Reading.EXPECTED),
    ],
)
def test_a_prescription_explains_only_the_days_it_covers(
    collected_on: dt.date, expected: Reading
) -> None:
    assert rules.reading("buprenorphine", "positive", [BUPRENORPHINE], collected_on) == expected
    after_benzo = DAY + dt.timedelta(days=1)
    assert rules.reading("benzodiazepines", "positive", [ENDED_BENZO], after_benzo) == (
        Reading.UNEXPECTED
    )


@given(
    substance=st.sampled_from(sorted(rules.SUBSTANCES)),
    classes=st.sets(st.sampled_from(sorted(rules.EXPLAINS))),
)
def test_a_positive_is_expected_exactly_when_a_current_prescription_explains_it(
    substance: str, classes: set[str]
) -> None:
    current = [Prescription(c, start=DAY) for c in classes]
    explained = any(substance in rules.EXPLAINS[c] for c in classes)
    reading = rules.reading(substance, "positive", current, DAY)
    assert reading == (Reading.EXPECTED if explained else Reading.UNEXPECTED)
    assert rules.needs_alert([reading]) is not explained


@pytest.mark.parametrize(
    ("substance", "result", "specimen", "error"),
    [
        ("cocaine", "positive", "urine", None),
        ("alcohol", "negative", "breath", None),
        ("thc", "dilute", "oral_fluid", None),
        ("bath salts", "positive", "urine", "is not a substance on the panel"),
        ("cocaine", "maybe", "urine", "Choose positive, negative, invalid or dilute."),
        ("cocaine", "positive", "hair", "Choose urine, oral fluid or breath."),
        ("cocaine", "positive", "breath", "A breath test reads alcohol only."),
    ],
)
def test_result_error(substance: str, result: str, specimen: str, error: str | None) -> None:
    found = rules.result_error(substance, result, specimen)
    if error is None:
        assert found is None
    else:
        assert found is not None and error in found


def test_only_an_unexpected_positive_needs_an_alert() -> None:
    assert not rules.needs_alert([Reading.EXPECTED, Reading.MISSING, Reading.NOT_READABLE])
    assert rules.needs_alert([Reading.NEGATIVE, Reading.UNEXPECTED])
    assert not rules.needs_alert([])
