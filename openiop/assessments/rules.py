"""Pure assessment rules: ASAM ratings, the level-of-care table, ICD-10-CM codes, vital signs.

No database and no request here: the table an organization keeps in the database is turned
into ``Rule`` rows by the selectors and handed to ``recommend_level``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

DIMENSIONS = (1, 2, 3, 4, 5, 6)
RATING_MIN = 0
RATING_MAX = 4

# SPEC §5: the six ASAM dimensions.
DIMENSION_NAMES = {
    1: "Acute intoxication and/or withdrawal potential",
    2: "Biomedical conditions and complications",
    3: "Emotional, behavioral or cognitive conditions",
    4: "Readiness to change",
    5: "Relapse, continued use or continued problem potential",
    6: "Recovery / living environment",
}
RATING_LABELS = {
    0: "0 — none",
    1: "1 — mild",
    2: "2 — moderate",
    3: "3 — significant",
    4: "4 — severe / imminent",
}

# Recommendation codes of the table, with the words the clinician sees.
REFER_INPATIENT = "3.7_4"
WITHDRAWAL_FIRST = "wm"
PHP = "2.5"
RESIDENTIAL_OR_IOP = "3.5_or_2.1"
IOP = "2.1"
OUTPATIENT = "1"
RECOMMENDATIONS = {
    REFER_INPATIENT: "Refer to inpatient / residential now (3.7 or 4)",
    WITHDRAWAL_FIRST: "Withdrawal management first (not IOP now)",
    PHP: "Partial hospitalization (2.5)",
    RESIDENTIAL_OR_IOP: "Residential (3.5) or IOP with a recovery residence — clinician chooses",
    IOP: "Intensive outpatient (2.1)",
    OUTPATIENT: "Outpatient (1)",
}
# The clinician's final level of care.
FINAL_LEVELS = {
    "1": "1 — Outpatient",
    "2.1": "2.1 — Intensive outpatient (IOP)",
    "2.5": "2.5 — Partial hospitalization (PHP)",
    "3.1": "3.1 — Clinically managed low-intensity residential",
    "3.5": "3.5 — Clinically managed high-intensity residential",
    "3.7": "3.7 — Medically monitored inpatient",
    "4": "4 — Medically managed intensive inpatient",
    "wm": "Withdrawal management first",
}
# Final levels that agree with each recommendation (no override reason needed).
AGREEING_LEVELS: dict[str, frozenset[str]] = {
    REFER_INPATIENT: frozenset({"3.7", "4"}),
    WITHDRAWAL_FIRST: frozenset({"wm"}),
    PHP: frozenset({"2.5"}),
    RESIDENTIAL_OR_IOP: frozenset({"3.5", "2.1"}),
    IOP: frozenset({"2.1"}),
    OUTPATIENT: frozenset({"1"}),
}

ANY = "any"
ALL = "all"
OTHERWISE = "otherwise"
MATCHES = {
    ANY: "any of these dimensions is at least",
    ALL: "all of these dimensions are at least",
    OTHERWISE: "otherwise (every rating that no row above caught)",
}


@dataclass(frozen=True)
class Rule:
    """One row of the level-of-care table: when it matches, its recommendation wins."""

    dimensions: tuple[int, ...]
    match: str
    at_least: int
    recommendation: str
    label: str = ""

    def matches(self, ratings: Mapping[int, int]) -> bool:
        if self.match == OTHERWISE:
            return True
        hits = [ratings[d] >= self.at_least for d in self.dimensions]
        return all(hits) if self.match == ALL else any(hits)

    @property
    def recommendation_label(self) -> str:
        return RECOMMENDATIONS.get(self.recommendation, self.recommendation)

    def describe(self) -> str:
        """The condition in plain words, e.g. "D2 or D3 ≥ 3"."""
        if self.match == OTHERWISE:
            return "otherwise"
        names = [f"D{d}" for d in self.dimensions]
        if len(names) == len(DIMENSIONS):
            who = "any dimension" if self.match == ANY else "every dimension"
        elif len(names) == 1:
            who = names[0]
        else:
            joiner = " or " if self.match == ANY else " and "
            who = ", ".join(names[:-1]) + joiner + names[-1]
        return f"{who} ≥ {self.at_least}"


# SPEC §5, first matching row wins. An organization can keep its own table (AsamRule rows).
DEFAULT_TABLE: tuple[Rule, ...] = (
    Rule(DIMENSIONS, ANY, 4, REFER_INPATIENT, "Any dimension = 4"),
    Rule((1,), ANY, 3, WITHDRAWAL_FIRST, "Withdrawal potential D1 ≥ 3"),
    Rule((2, 3), ANY, 3, PHP, "Biomedical D2 ≥ 3 or emotional/behavioral D3 ≥ 3"),
    Rule((6,), ANY, 3, RESIDENTIAL_OR_IOP, "Recovery environment D6 ≥ 3"),
    Rule((3, 4, 5, 6), ANY, 2, IOP, "Any of D3–D6 ≥ 2"),
    Rule((), OTHERWISE, 0, OUTPATIENT, "Otherwise"),
)


@dataclass(frozen=True)
class Recommendation:
    code: str
    label: str
    rule: Rule
    row: int  # 1-based position of the matching row in the table

    @property
    def reason(self) -> str:
        return self.rule.label or self.rule.describe()

    @property
    def agreeing_levels(self) -> frozenset[str]:
        return AGREEING_LEVELS.get(self.code, frozenset())


class RatingError(ValueError):
    """Ratings that cannot be scored; ``errors`` maps a dimension to its message."""

    def __init__(self, errors: Mapping[int, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


def rating_error(dimension: int, value: Any) -> str | None:
    """Why a rating cannot be used, or None. A 5 is refused, never clipped to 4."""
    name = f"Dimension {dimension} ({DIMENSION_NAMES[dimension].lower()})"
    if value is None or value == "":
        return f"{name}: choose a rating from 0 to 4."
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            return f"{name}: the rating must be a whole number from 0 to 4."
    if not RATING_MIN <= value <= RATING_MAX:
        return f"{name}: {value} is not on the scale. Rate 0 (none) to 4 (severe / imminent)."
    return None


def rating_errors(ratings: Mapping[int, Any]) -> dict[int, str]:
    errors: dict[int, str] = {}
    for dimension in DIMENSIONS:
        problem = rating_error(dimension, ratings.get(dimension))
        if problem:
            errors[dimension] = problem
    return errors


def recommend_level(
    ratings: Mapping[int, int], table: Sequence[Rule] = DEFAULT_TABLE
) -> Recommendation:
    """The first row of ``table`` that the six ratings match (SPEC §5)."""
    errors = rating_errors(ratings)
    if errors:
        raise RatingError(errors)
    values = {d: int(ratings[d]) for d in DIMENSIONS}
    for position, rule in enumerate(table, start=1):
        if rule.matches(values):
            return Recommendation(
                code=rule.recommendation,
                label=RECOMMENDATIONS.get(rule.recommendation, rule.recommendation),
                rule=rule,
                row=position,
            )
    raise ValueError("The level-of-care table has no row for these ratings (no “otherwise”).")


def table_errors(table: Sequence[Rule]) -> list[str]:
    """What makes a table unusable; an empty list means it can be saved."""
    errors: list[str] = []
    if not table:
        return ["The table needs at least one row: the final “otherwise” row."]
    for position, rule in enumerate(table, start=1):
        where = f"Row {position}"
        if rule.recommendation not in RECOMMENDATIONS:
            errors.append(f"{where}: choose a recommendation from the list.")
        if rule.match not in MATCHES:
            errors.append(f"{where}: choose how the row matches (any, all or otherwise).")
            continue
        if rule.match == OTHERWISE:
            if position != len(table):
                errors.append(f"{where}: “otherwise” catches everything, so it must be last.")
            continue
        if not rule.dimensions:
            errors.append(f"{where}: tick at least one dimension.")
        if any(d not in DIMENSIONS for d in rule.dimensions):
            errors.append(f"{where}: dimensions are numbered 1 to 6.")
        if len(set(rule.dimensions)) != len(rule.dimensions):
            errors.append(f"{where}: a dimension is listed twice.")
        if not RATING_MIN <= rule.at_least <= RATING_MAX:
            errors.append(f"{where}: ratings run from 0 to 4, so 'at least' must be 0 to 4.")
    if table[-1].match != OTHERWISE:
        errors.append("The last row must be “otherwise”, so every set of ratings has an answer.")
    return errors


def table_fingerprint(table: Sequence[Rule]) -> str:
    """A short, stable name for a table's content, stored with each recommendation."""
    canonical = json.dumps(
        [
            {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(rule).items()}
            for rule in table
        ],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def needs_override_reason(recommendation: str, final_level: str) -> bool:
    """True when the clinician's final level differs from what the table recommends."""
    if not final_level or not recommendation:
        return False
    return final_level not in AGREEING_LEVELS.get(recommendation, frozenset({recommendation}))


# ICD-10-CM: letter (not U), digit, digit or letter, then an optional dot and 1–4 characters.
ICD10_PATTERN = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


class CodeFormatError(ValueError):
    pass


def normalize_icd10(raw: str) -> str:
    """Upper case with the dot after the category: "f1020" → "F10.20"."""
    code = re.sub(r"\s+", "", raw or "").upper()
    if not code:
        raise CodeFormatError("Enter an ICD-10-CM code, for example F10.20.")
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    if not ICD10_PATTERN.match(code):
        raise CodeFormatError(
            f"“{raw.strip()}” is not an ICD-10-CM code. Codes look like F10.20 or Z59.00: "
            "a letter, two characters, then a dot and up to four more."
        )
    return code


def is_substance_use_code(code: str) -> bool:
    """F10–F19: mental and behavioral disorders due to psychoactive substance use."""
    return len(code) >= 3 and code[0] == "F" and code[1:3].isdigit() and 10 <= int(code[1:3]) <= 19


# Vital signs: plausible adult ranges (inclusive). A value outside is a typing slip.
VITAL_RANGES: dict[str, tuple[Decimal, Decimal, str, str]] = {
    "bp_systolic": (Decimal(60), Decimal(260), "Systolic blood pressure", "mmHg"),
    "bp_diastolic": (Decimal(30), Decimal(160), "Diastolic blood pressure", "mmHg"),
    "pulse": (Decimal(30), Decimal(220), "Pulse", "beats a minute"),
    "respirations": (Decimal(6), Decimal(60), "Respirations", "breaths a minute"),
    "temperature_f": (Decimal("90.0"), Decimal("110.0"), "Temperature", "°F"),
    "weight_lb": (Decimal(50), Decimal(800), "Weight", "lb"),
    "height_in": (Decimal(36), Decimal(96), "Height", "inches"),
}


def vital_sign_errors(values: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, (low, high, label, unit) in VITAL_RANGES.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            errors[name] = f"{label}: enter a number."
            continue
        if not low <= number <= high:
            errors[name] = f"{label} must be between {low} and {high} {unit}. Check the reading."
    systolic, diastolic = values.get("bp_systolic"), values.get("bp_diastolic")
    if (
        systolic not in (None, "")
        and diastolic not in (None, "")
        and "bp_systolic" not in errors
        and "bp_diastolic" not in errors
        and Decimal(str(diastolic)) >= Decimal(str(systolic))
    ):
        errors["bp_diastolic"] = "The diastolic pressure must be lower than the systolic."
    if (systolic in (None, "")) != (diastolic in (None, "")):
        errors.setdefault("bp_diastolic", "Record both blood-pressure numbers, or neither.")
    return errors


AGE_FIRST_USE_MAX = 100

# Checkbox lists of the biopsychosocial assessment (stored as lists of these keys).
PRIOR_TREATMENT_KINDS = {
    "detox": "Withdrawal management (detox)",
    "residential": "Residential",
    "php": "Partial hospitalization (PHP)",
    "iop": "Intensive outpatient (IOP)",
    "outpatient": "Outpatient counseling",
    "moud": "Medication for opioid or alcohol use disorder",
    "mutual_help": "Mutual-help groups (AA, NA, SMART…)",
    "other": "Other",
}
CURRENT_SYMPTOMS = {
    "depressed_mood": "Depressed mood",
    "anxiety": "Anxiety or worry",
    "panic": "Panic attacks",
    "sleep": "Sleep problems",
    "appetite": "Appetite or weight change",
    "concentration": "Trouble concentrating",
    "irritability": "Irritability or anger",
    "mania": "Elevated mood or racing thoughts",
    "psychosis": "Hearing or seeing things others do not",
    "trauma_symptoms": "Flashbacks or nightmares",
    "suicidal_thoughts": "Thoughts of suicide",
    "self_harm": "Self-harm",
}
GROUP_PREFERENCES = {
    "women": "Women's group",
    "men": "Men's group",
    "lgbtq": "LGBTQ+ group",
    "veterans": "Veterans' group",
    "survivors": "Survivors' group (sexual abuse or trauma)",
}


def unknown_keys(values: Sequence[str], allowed: Mapping[str, str]) -> list[str]:
    return [v for v in values if v not in allowed]
