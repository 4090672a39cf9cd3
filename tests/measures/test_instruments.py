"""The definitions agree with the scoring and with SPEC §6 (names, items, bands, LOINC)."""

from __future__ import annotations

import pytest

from openiop.measures import instruments, scoring
from openiop.measures.scoring import INSTRUMENTS, score

ITEM_COUNTS = {
    "phq9": 9,
    "gad7": 7,
    "audit": 10,
    "auditc": 3,
    "dast10": 10,
    "cssrs_screen": 6,
    "bam": 17,
}
LOINC = {
    "phq9": ("44249-1", "44261-6"),
    "gad7": ("69737-5", "70274-6"),
    "audit": ("", "75624-7"),
    "auditc": ("", "75626-2"),
    "dast10": ("", "82667-7"),
    "cssrs_screen": ("", ""),
    "bam": ("", ""),
}


def test_it_defines_every_scored_instrument_in_the_same_order() -> None:
    assert tuple(instruments.DEFINITIONS) == INSTRUMENTS


@pytest.mark.parametrize("code", INSTRUMENTS)
def test_it_numbers_the_items_1_to_n(code: str) -> None:
    d = instruments.definition(code)
    assert [i.number for i in d.scored_items] == [str(n) for n in range(1, ITEM_COUNTS[code] + 1)]
    assert all(i.text and i.options for i in d.items)


@pytest.mark.parametrize("code", INSTRUMENTS)
def test_it_carries_the_spec_loinc_codes(code: str) -> None:
    d = instruments.definition(code)
    assert (d.loinc_panel, d.loinc_total) == LOINC[code]


@pytest.mark.parametrize("code", INSTRUMENTS)
def test_it_offers_only_answers_the_scoring_accepts(code: str) -> None:
    """Every option of every item, put in a valid set, scores (the form can never offer junk)."""
    d = instruments.definition(code)
    base = {i.number: i.options[0].value for i in d.scored_items}
    for item in d.scored_items:
        for option in item.options:
            answers = base | {item.number: option.value}
            if code == "cssrs_screen" and answers["6"]:
                answers["6_when"] = "past_3_months"
            score(code, answers, sex="female")


def test_it_offers_the_published_answer_scales() -> None:
    assert [o.value for o in instruments.AUDIT.item("9").options] == [0, 2, 4]
    assert [o.value for o in instruments.AUDIT.item("1").options] == [0, 1, 2, 3, 4]
    assert [o.label for o in instruments.PHQ9.item("1").options] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert [o.label for o in instruments.BAM.item("4").options] == [
        "0 days",
        "1–3 days",
        "4–8 days",
        "9–15 days",
        "16–30 days",
    ]
    assert [o.value for o in instruments.BAM.item("14").options] == [0, 4]
    assert [o.value for o in instruments.CSSRS_SCREEN.item("6_when").options] == list(
        scoring.CSSRS_WHEN
    )


@pytest.mark.parametrize("code", ["phq9", "gad7", "audit", "dast10"])
def test_it_covers_the_whole_total_range_with_contiguous_bands(code: str) -> None:
    d = instruments.definition(code)
    assert d.total_range is not None
    assert d.bands[0].low == d.total_range[0]
    assert d.bands[-1].high == d.total_range[1]
    for lower, upper in zip(d.bands, d.bands[1:], strict=False):
        assert lower.high is not None and upper.low == lower.high + 1
    for band in d.bands:
        assert band.low is not None and band.high is not None
        for total in (band.low, band.high):
            assert scoring._band(total, getattr(scoring, f"{code.upper()}_BANDS")) == band.name


def test_it_names_every_band_the_scoring_can_give() -> None:
    assert [b.name for b in instruments.CSSRS_SCREEN.bands] == ["none", "low", "moderate", "high"]
    assert [b.name for b in instruments.AUDITC.bands] == ["negative", "positive"]
    assert instruments.BAM.bands == ()
    assert instruments.BAM.subscales == {
        "use": (4, 5, 6),
        "risk": (1, 2, 3, 8, 11, 15),
        "protective": (9, 10, 12, 13, 14, 16),
    }


def test_it_reverses_dast10_item_3_in_the_points_it_shows() -> None:
    d = instruments.DAST10
    assert d.points(d.item("3"), False) == 1
    assert d.points(d.item("3"), True) == 0
    assert d.points(d.item("1"), True) == 1
    assert instruments.CSSRS_SCREEN.points(instruments.CSSRS_SCREEN.item("1"), True) is None


def test_it_reads_answers_back_in_words() -> None:
    assert instruments.PHQ9.option_label("9", 1) == "Several days"
    assert instruments.DAST10.option_label("3", False) == "No"
    assert instruments.DAST10.option_label("3", 0) == "No"
    assert instruments.CSSRS_SCREEN.option_label("6_when", "past_3_months").startswith("Yes")


def test_it_serves_a_definition_as_plain_data() -> None:
    data = instruments.as_dict(instruments.CSSRS_SCREEN)
    when = data["items"][-1]
    assert when["number"] == "6_when"
    assert when["asked_when"] == {"item": "6", "answer": True}
    assert data["loinc"] == {"panel": "", "total": ""}
