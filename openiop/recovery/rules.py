"""Pure rules of recovery tracking (SPEC §8): drug-test results and what explains them.

No database, no request: the recovery services (drug tests, mutual-help meetings, relapse
events) decide with these, and the tests check them at every boundary.

A positive result for a substance that a current prescription explains (buprenorphine,
methadone, prescribed benzodiazepines or stimulants) is **expected**; any other positive is
**unexpected** and raises a clinical alert. A negative result for a medication the patient
is prescribed is worth a look too (not taking it, or giving it away), so it is reported as
``missing`` — information for the clinician, not an alert.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class Specimen(enum.StrEnum):
    URINE = "urine"
    ORAL_FLUID = "oral_fluid"
    BREATH = "breath"


class Result(enum.StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    INVALID = "invalid"
    DILUTE = "dilute"


class Reading(enum.StrEnum):
    """What a result means for the patient's care."""

    EXPECTED = "expected"  # positive, and a current prescription explains it
    UNEXPECTED = "unexpected"  # positive, and nothing explains it: alert
    MISSING = "missing"  # negative for a medication they are prescribed
    NEGATIVE = "negative"
    NOT_READABLE = "not_readable"  # invalid or dilute: collect again


# The substances a result may name (panel codes), in the words a counselor uses.
SUBSTANCES: Mapping[str, str] = {
    "alcohol": "Alcohol (breath or EtG/EtS)",
    "amphetamines": "Amphetamines",
    "methamphetamine": "Methamphetamine",
    "mdma": "MDMA (ecstasy)",
    "barbiturates": "Barbiturates",
    "benzodiazepines": "Benzodiazepines",
    "buprenorphine": "Buprenorphine",
    "cocaine": "Cocaine",
    "fentanyl": "Fentanyl",
    "methadone": "Methadone",
    "opiates": "Opiates (morphine, codeine, heroin)",
    "oxycodone": "Oxycodone",
    "pcp": "PCP",
    "thc": "Cannabis (THC)",
    "tramadol": "Tramadol",
    "xylazine": "Xylazine",
}

# Which results a prescribed medication class explains.
EXPLAINS: Mapping[str, frozenset[str]] = {
    "buprenorphine": frozenset({"buprenorphine"}),
    "methadone": frozenset({"methadone"}),
    "benzodiazepine": frozenset({"benzodiazepines"}),
    "stimulant": frozenset({"amphetamines"}),
}

# A breath test reads alcohol only.
BREATH_SUBSTANCES = frozenset({"alcohol"})


@dataclass(frozen=True)
class Prescription:
    """A prescription on the patient's record: its class and the days it covers."""

    medication_class: str
    start: dt.date
    end: dt.date | None = None  # still current

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def result_error(substance: str, result: str, specimen: str) -> str | None:
    """Why a result cannot be recorded, in plain words (None when it can)."""
    if substance not in SUBSTANCES:
        return f"“{substance}” is not a substance on the panel. Choose one from the list."
    if result not in {r.value for r in Result}:
        return "Choose positive, negative, invalid or dilute."
    if specimen not in {s.value for s in Specimen}:
        return "Choose urine, oral fluid or breath."
    if specimen == Specimen.BREATH and substance not in BREATH_SUBSTANCES:
        return "A breath test reads alcohol only."
    return None


def explained_by(prescriptions: Iterable[Prescription], collected_on: dt.date) -> frozenset[str]:
    """The substances whose positive the prescriptions current on that day explain."""
    explained: set[str] = set()
    for p in prescriptions:
        if p.covers(collected_on):
            explained |= EXPLAINS.get(p.medication_class, frozenset())
    return frozenset(explained)


def reading(
    substance: str, result: str, prescriptions: Iterable[Prescription], collected_on: dt.date
) -> Reading:
    """Expected or unexpected for a positive, missing for a negative medication the
    patient is prescribed, not readable for an invalid or dilute specimen."""
    if result in (Result.INVALID, Result.DILUTE):
        return Reading.NOT_READABLE
    explained = explained_by(prescriptions, collected_on)
    if result == Result.POSITIVE:
        return Reading.EXPECTED if substance in explained else Reading.UNEXPECTED
    return Reading.MISSING if substance in explained else Reading.NEGATIVE


def needs_alert(readings: Iterable[Reading]) -> bool:
    """An unexpected positive raises a clinical alert (SPEC §8)."""
    return any(r == Reading.UNEXPECTED for r in readings)
