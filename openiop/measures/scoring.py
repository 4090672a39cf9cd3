"""Pure scoring of the standardized instruments (SPEC §6). No database, no Django models.

``score(code, answers, *, sex=None)`` takes answers keyed by item number as a string ("1",
"2", …; ``"6_when"`` for the C-SSRS screener) and returns the total, the band in the exact
words of SPEC §6, the flags and (for the BAM) the subscales. Missing items, unknown items and
values out of range or of the wrong type raise ``ValueError`` naming the item: an instrument
is never scored from a partial or malformed answer set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SUICIDE_RISK = "suicide_risk"


class ScoringError(ValueError):
    """A wrong answer set; ``item`` names the item ("9", "6_when") or "sex", None for the whole."""

    def __init__(self, message: str, *, item: str | None = None) -> None:
        super().__init__(message)
        self.item = item


@dataclass(frozen=True)
class Score:
    total: int | None
    band: str
    flags: set[str] = field(default_factory=set)
    subscales: dict[str, int] = field(default_factory=dict)


def _items(n: int) -> list[str]:
    return [str(i) for i in range(1, n + 1)]


def _check_keys(code: str, answers: Mapping[str, Any], expected: list[str]) -> None:
    if not isinstance(answers, Mapping):
        raise ScoringError(f"{code}: answers must map item numbers to values.")
    unknown = [k for k in answers if k not in expected]
    if unknown:
        raise ScoringError(
            f"{code} item {unknown[0]}: no such item in this instrument.", item=str(unknown[0])
        )
    missing = [k for k in expected if k not in answers]
    if missing:
        raise ScoringError(f"{code} item {missing[0]}: missing answer.", item=missing[0])


def _int_item(code: str, item: str, value: Any, allowed: range | tuple[int, ...]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScoringError(f"{code} item {item}: {value!r} is not a whole number.", item=item)
    if value not in allowed:
        shown = (
            f"{allowed.start}–{allowed.stop - 1}"
            if isinstance(allowed, range)
            else ", ".join(str(a) for a in allowed)
        )
        raise ScoringError(f"{code} item {item}: {value} is outside {shown}.", item=item)
    return value


def _yes_no(code: str, item: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ScoringError(f"{code} item {item}: {value!r} is not yes/no (true or false).", item=item)


def _band(total: int, bands: tuple[tuple[int, str], ...]) -> str:
    """``bands`` holds (lowest total, name) in ascending order."""
    name = bands[0][1]
    for lowest, label in bands:
        if total >= lowest:
            name = label
    return name


def _sum_scale(
    code: str, answers: Mapping[str, Any], n: int, allowed: range | tuple[int, ...]
) -> int:
    _check_keys(code, answers, _items(n))
    return sum(_int_item(code, k, answers[k], allowed) for k in _items(n))


PHQ9_BANDS = (
    (0, "minimal"),
    (5, "mild"),
    (10, "moderate"),
    (15, "moderately severe"),
    (20, "severe"),
)
GAD7_BANDS = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"))
AUDIT_BANDS = ((0, "zone I"), (8, "zone II"), (16, "zone III"), (20, "zone IV"))
DAST10_BANDS = ((0, "none"), (1, "low"), (3, "moderate"), (6, "substantial"), (9, "severe"))
CSSRS_WHEN = ("past_3_months", "more_than_3_months_ago")
BAM_SUBSCALES = {
    "use": (4, 5, 6),
    "risk": (1, 2, 3, 8, 11, 15),
    "protective": (9, 10, 12, 13, 14, 16),
}


def _phq9(answers: Mapping[str, Any], sex: str | None) -> Score:
    total = _sum_scale("phq9", answers, 9, range(0, 4))
    flags = {SUICIDE_RISK} if answers["9"] > 0 else set()
    return Score(total, _band(total, PHQ9_BANDS), flags)


def _gad7(answers: Mapping[str, Any], sex: str | None) -> Score:
    total = _sum_scale("gad7", answers, 7, range(0, 4))
    return Score(total, _band(total, GAD7_BANDS))


def _audit(answers: Mapping[str, Any], sex: str | None) -> Score:
    _check_keys("audit", answers, _items(10))
    total = sum(_int_item("audit", str(i), answers[str(i)], range(0, 5)) for i in range(1, 9))
    total += sum(_int_item("audit", k, answers[k], (0, 2, 4)) for k in ("9", "10"))
    return Score(total, _band(total, AUDIT_BANDS))


def _auditc(answers: Mapping[str, Any], sex: str | None) -> Score:
    total = _sum_scale("auditc", answers, 3, range(0, 5))
    if sex not in ("male", "female"):
        raise ScoringError(
            f"auditc sex: {sex!r} — give 'male' or 'female' (the cut-off depends on it).",
            item="sex",
        )
    positive = total >= (4 if sex == "male" else 3)
    return Score(total, "positive" if positive else "negative")


def _dast10(answers: Mapping[str, Any], sex: str | None) -> Score:
    _check_keys("dast10", answers, _items(10))
    total = 0
    for item in _items(10):
        yes = _yes_no("dast10", item, answers[item])
        # Item 3 ("able to stop when you want to?") is reverse-scored: "no" scores 1.
        total += int(not yes) if item == "3" else int(yes)
    return Score(total, _band(total, DAST10_BANDS))


def _cssrs(answers: Mapping[str, Any], sex: str | None) -> Score:
    expected = _items(6)
    extra = [k for k in answers if k not in (*expected, "6_when")]
    if extra:
        raise ScoringError(
            f"cssrs_screen item {extra[0]}: no such item in this instrument.", item=str(extra[0])
        )
    base = {k: v for k, v in answers.items() if k != "6_when"}
    _check_keys("cssrs_screen", base, expected)
    yes = {k: _yes_no("cssrs_screen", k, answers[k]) for k in expected}
    when = answers.get("6_when")
    if yes["6"]:
        if when not in CSSRS_WHEN:
            raise ScoringError(
                "cssrs_screen item 6_when: say when — 'past_3_months' or 'more_than_3_months_ago'.",
                item="6_when",
            )
    elif when is not None:
        raise ScoringError(
            "cssrs_screen item 6_when: only asked when item 6 is yes.", item="6_when"
        )
    if yes["4"] or yes["5"] or (yes["6"] and when == "past_3_months"):
        band = "high"
    elif yes["3"] or (yes["6"] and when == "more_than_3_months_ago"):
        band = "moderate"
    elif yes["1"] or yes["2"]:
        band = "low"
    else:
        band = "none"
    flags = {SUICIDE_RISK} if band in ("moderate", "high") else set()
    return Score(None, band, flags)


def _bam(answers: Mapping[str, Any], sex: str | None) -> Score:
    _check_keys("bam", answers, _items(17))
    values = {k: _int_item("bam", k, answers[k], range(0, 5)) for k in _items(17)}
    subscales = {name: sum(values[str(i)] for i in items) for name, items in BAM_SUBSCALES.items()}
    return Score(None, "", set(), subscales)


SCORERS: dict[str, Callable[[Mapping[str, Any], str | None], Score]] = {
    "phq9": _phq9,
    "gad7": _gad7,
    "audit": _audit,
    "auditc": _auditc,
    "dast10": _dast10,
    "cssrs_screen": _cssrs,
    "bam": _bam,
}
INSTRUMENTS = tuple(SCORERS)


def score(code: str, answers: Mapping[str, Any], *, sex: str | None = None) -> Score:
    """Score one administration; ``ValueError`` names the item when an answer is wrong."""
    scorer = SCORERS.get(code)
    if scorer is None:
        raise ScoringError(f"{code!r} is not an instrument here (known: {', '.join(INSTRUMENTS)}).")
    return scorer(answers, sex)
