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
import hashlib
import hmac
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


# --- drug-test orders and their collection days ------------------------------------------------

# Panels a counselor orders by name; a custom order lists its substances.
PANELS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "standard_5": (
        "5-panel (amphetamines, cocaine, THC, opiates, PCP)",
        ("amphetamines", "cocaine", "opiates", "pcp", "thc"),
    ),
    "standard_12": (
        "12-panel with fentanyl",
        (
            "amphetamines",
            "barbiturates",
            "benzodiazepines",
            "buprenorphine",
            "cocaine",
            "fentanyl",
            "mdma",
            "methadone",
            "methamphetamine",
            "opiates",
            "oxycodone",
            "thc",
        ),
    ),
    "opioids": (
        "Opioids (opiates, oxycodone, fentanyl, buprenorphine, methadone, tramadol)",
        ("buprenorphine", "fentanyl", "methadone", "opiates", "oxycodone", "tramadol"),
    ),
    "alcohol": ("Alcohol only (breath or EtG/EtS)", ("alcohol",)),
}
CUSTOM_PANEL = "custom"


class Frequency(enum.StrEnum):
    FIXED = "fixed"  # the same weekdays every week
    RANDOM = "random"  # N days a week, chosen unpredictably


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# When the days the program runs are not known (no track), collections fall Monday to Friday.
DEFAULT_SERVICE_WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class OrderSpec:
    """What decides an order's collection days: the kind, the weekdays (the fixed days, or
    the days a random collection may fall on), how many a week when random, its dates and
    its secret (random days are unpredictable to anyone without it, and stable)."""

    frequency: str
    weekdays: tuple[int, ...]
    per_week: int | None
    start: dt.date
    end: dt.date | None
    secret: str


def parse_weekdays(text: str) -> tuple[int, ...]:
    """ "0,2,4" → (0, 2, 4); blanks and repeats ignored, sorted."""
    return tuple(sorted({int(d) for d in text.split(",") if d.strip() != ""}))


def weekdays_text(days: Iterable[int]) -> str:
    names = [WEEKDAY_NAMES[d] for d in sorted(days)]
    return ", ".join(names)


def panel_substances(panel: str, substances: Iterable[str]) -> tuple[str, ...]:
    """The substances an order tests for: the panel's, or the ones listed for a custom one."""
    if panel in PANELS:
        return PANELS[panel][1]
    return tuple(sorted(set(substances)))


def order_errors(
    *,
    specimen: str,
    panel: str,
    substances: Iterable[str],
    frequency: str,
    weekdays: Iterable[int],
    per_week: int | None,
    start: dt.date | None,
    end: dt.date | None,
) -> dict[str, str]:
    """Why an order cannot be saved, field by field, in plain words (empty when it can)."""
    errors: dict[str, str] = {}
    days = set(weekdays)
    if specimen not in {s.value for s in Specimen}:
        errors["specimen"] = "Choose urine, oral fluid or breath."
    if panel != CUSTOM_PANEL and panel not in PANELS:
        errors["panel"] = "Choose a panel, or “Choose the substances” and tick them."
    listed = panel_substances(panel, substances) if panel in PANELS or panel == CUSTOM_PANEL else ()
    unknown = sorted(set(listed) - set(SUBSTANCES))
    if "panel" not in errors:
        if not listed:
            errors["substances"] = "Tick at least one substance to test for."
        elif unknown:
            errors["substances"] = f"Not on the panel: {', '.join(unknown)}."
        elif specimen == Specimen.BREATH and set(listed) - BREATH_SUBSTANCES:
            errors["substances"] = "A breath test reads alcohol only: choose the alcohol panel."
    if frequency not in {f.value for f in Frequency}:
        errors["frequency"] = "Choose fixed days or random days."
    if not days or not days <= set(range(7)):
        errors["weekdays"] = (
            "Tick the days of collection."
            if frequency == Frequency.FIXED
            else "Tick the days a random collection may fall on (the days the program runs)."
        )
    if frequency == Frequency.RANDOM:
        if per_week is None or per_week < 1:
            errors["per_week"] = "Say how many collections a week (1 or more)."
        elif days and per_week > len(days):
            errors["per_week"] = (
                f"{per_week} a week is more than the {len(days)} day(s) ticked: tick more "
                "days or ask for fewer collections."
            )
    if start is None:
        errors["start_date"] = "Say from which day the order applies."
    elif end is not None and end < start:
        errors["end_date"] = "The last day cannot be before the first day."
    return errors


def _rank(secret: str, monday: dt.date, day: dt.date) -> bytes:
    message = f"{monday.isoformat()}|{day.isoformat()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def random_days_of_week(spec: OrderSpec, monday: dt.date) -> list[dt.date]:
    """The random collection days of the ISO week that starts on ``monday``: ``per_week``
    of the order's eligible days inside the order's dates (all of them when fewer remain),
    ranked by an HMAC of the order's secret — the same days every time the page is shown,
    and nobody without the secret can tell them in advance."""
    eligible = [
        day
        for n in range(7)
        if (day := monday + dt.timedelta(days=n)).weekday() in spec.weekdays
        and spec.start <= day
        and (spec.end is None or day <= spec.end)
    ]
    wanted = spec.per_week or 0
    picked = sorted(eligible, key=lambda d: _rank(spec.secret, monday, d))[:wanted]
    return sorted(picked)


def due_days(spec: OrderSpec, start: dt.date, end: dt.date) -> list[dt.date]:
    """The order's collection days between ``start`` and ``end`` (inclusive), in order.

    Random days are chosen per whole ISO week against the order's own dates, never against
    the range asked for, so a day is due (or not) whatever page asks."""
    first = max(start, spec.start)
    last = end if spec.end is None else min(end, spec.end)
    if last < first:
        return []
    if spec.frequency == Frequency.FIXED:
        return [
            day
            for n in range((last - first).days + 1)
            if (day := first + dt.timedelta(days=n)).weekday() in spec.weekdays
        ]
    days: list[dt.date] = []
    monday = first - dt.timedelta(days=first.weekday())
    while monday <= last:
        days.extend(d for d in random_days_of_week(spec, monday) if first <= d <= last)
        monday += dt.timedelta(days=7)
    return days


def is_due(spec: OrderSpec, day: dt.date) -> bool:
    return bool(due_days(spec, day, day))


# --- clinical response to a result -------------------------------------------------------------


class ResponseAction(enum.StrEnum):
    DISCUSSED = "discussed"
    PLAN_REVIEW = "plan_review"
    LEVEL_OF_CARE = "level_of_care"
    MORE_TESTING = "more_testing"
    MEDICAL = "medical"
    NONE_NEEDED = "none_needed"


RESPONSE_LABELS: Mapping[str, str] = {
    ResponseAction.DISCUSSED: "Discussed the result with the patient",
    ResponseAction.PLAN_REVIEW: "Treatment plan review",
    ResponseAction.LEVEL_OF_CARE: "Level-of-care reassessment",
    ResponseAction.MORE_TESTING: "Increased testing",
    ResponseAction.MEDICAL: "Referred to medical staff",
    ResponseAction.NONE_NEEDED: "No action needed (say why)",
}


def response_errors(actions: Iterable[str], note: str) -> dict[str, str]:
    chosen = set(actions)
    errors: dict[str, str] = {}
    if not chosen:
        errors["actions"] = "Tick what was done, or “No action needed” and say why."
    elif chosen - set(RESPONSE_LABELS):
        errors["actions"] = "Choose from the list."
    elif ResponseAction.NONE_NEEDED in chosen and len(chosen) > 1:
        errors["actions"] = "“No action needed” cannot go with other actions: untick one."
    if ResponseAction.NONE_NEEDED in chosen and len(note.strip()) < 5:
        errors["note"] = (
            "Say why no action is needed, for example “the lab confirmed a false positive”."
        )
    return errors


# --- mutual-help meetings ----------------------------------------------------------------------

FELLOWSHIPS: Mapping[str, str] = {
    "aa": "Alcoholics Anonymous (AA)",
    "na": "Narcotics Anonymous (NA)",
    "ca": "Cocaine Anonymous (CA)",
    "cma": "Crystal Meth Anonymous (CMA)",
    "smart": "SMART Recovery",
    "celebrate": "Celebrate Recovery",
    "refuge": "Refuge Recovery",
    "other": "Other (write its name)",
}
MEETING_SETTINGS: Mapping[str, str] = {
    "on_site": "On site (at the program)",
    "church": "Church or place of worship",
    "community_center": "Community center",
    "online": "Online",
    "other": "Other place",
}
VERIFICATIONS: Mapping[str, str] = {
    "staff": "Verified by staff",
    "slip": "Signed slip uploaded",
    "self": "Self-reported",
}
MEETING_MINUTES = (15, 300)  # shortest and longest meeting that can be recorded


def meeting_errors(
    *,
    date: dt.date | None,
    today: dt.date,
    admitted: dt.date | None,
    discharged: dt.date | None,
    fellowship: str,
    fellowship_other: str,
    setting: str,
    minutes: int | None,
    verification: str,
    has_slip: bool,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if date is None:
        errors["date"] = "Say on which day the meeting was."
    elif date > today:
        errors["date"] = "The meeting cannot be in the future: record it once it has happened."
    elif admitted is not None and date < admitted:
        errors["date"] = (
            f"The meeting was before the admission ({admitted:%m/%d/%Y}): it does not count "
            "towards this stay."
        )
    elif discharged is not None and date > discharged:
        errors["date"] = f"The meeting was after the discharge ({discharged:%m/%d/%Y})."
    if fellowship not in FELLOWSHIPS:
        errors["fellowship"] = "Choose the fellowship, or “Other” and write its name."
    elif fellowship == "other" and not fellowship_other.strip():
        errors["fellowship_other"] = "Write the name of the fellowship."
    if setting not in MEETING_SETTINGS:
        errors["setting"] = "Choose where the meeting was."
    low, high = MEETING_MINUTES
    if minutes is None or not low <= minutes <= high:
        errors["minutes"] = f"Give the length in minutes, from {low} to {high}."
    if verification not in VERIFICATIONS:
        errors["verification"] = "Choose how the attendance is known."
    elif verification == "slip" and not has_slip:
        errors["slip"] = (
            "Choose the slip from the documents or upload it, or say another way it is known."
        )
    return errors


class MeetingWeek(enum.StrEnum):
    MET = "met"
    SHORT = "short"
    NONE_REQUIRED = "none_required"


def meeting_week(attended: int, required: int) -> MeetingWeek:
    """A week meets the plan when meetings attended ≥ meetings required (inclusive)."""
    if required <= 0:
        return MeetingWeek.NONE_REQUIRED
    return MeetingWeek.MET if attended >= required else MeetingWeek.SHORT


# --- relapse events and the sobriety date ------------------------------------------------------

RELAPSE_SUBSTANCES: Mapping[str, str] = {
    **SUBSTANCES,
    "hallucinogens": "Hallucinogens",
    "inhalants": "Inhalants",
    "kratom": "Kratom",
    "prescription_misuse": "Prescribed medication, not as prescribed",
    "other": "Other (say which)",
}
CAME_TO_LIGHT: Mapping[str, str] = {
    "self_report": "The patient told us",
    "drug_test": "A drug test",
    "family_report": "Family or someone else told us",
    "observed": "Staff observed it",
}
RELAPSE_RESPONSES: Mapping[str, str] = {
    "plan_review": "Treatment plan review",
    "level_of_care": "Level-of-care reassessment",
    "other": "Other (describe)",
}


def relapse_errors(
    *,
    date: dt.date | None,
    today: dt.date,
    substances: Iterable[str],
    substances_other: str,
    came_to_light: str,
    has_test: bool,
    responses: Iterable[str],
    response_other: str,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    named = set(substances)
    chosen = set(responses)
    if date is None:
        errors["date"] = "Say on which day the use happened (your best estimate)."
    elif date > today:
        errors["date"] = "A relapse cannot be in the future."
    if not named:
        errors["substances"] = "Tick at least one substance."
    elif named - set(RELAPSE_SUBSTANCES):
        errors["substances"] = "Choose from the list, or “Other” and say which."
    elif "other" in named and not substances_other.strip():
        errors["substances_other"] = "Say which other substance."
    if came_to_light not in CAME_TO_LIGHT:
        errors["came_to_light"] = "Choose how it came to light."
    elif came_to_light == "drug_test" and not has_test:
        errors["drug_test"] = "Choose the drug test it came from."
    if chosen - set(RELAPSE_RESPONSES):
        errors["responses"] = "Choose from the list."
    elif "other" in chosen and not response_other.strip():
        errors["response_other"] = "Describe the other response."
    return errors


def sobriety_date_error(day: dt.date | None, today: dt.date) -> str | None:
    """A sobriety date is the first day without use: at the latest tomorrow (the day after
    a relapse recorded today)."""
    if day is None:
        return "Give the sobriety date (the first day without use)."
    if day > today + dt.timedelta(days=1):
        return "The sobriety date cannot be later than tomorrow."
    return None


def sobriety_after_relapse(relapse_day: dt.date) -> dt.date:
    """After a relapse the new sobriety date is the next day (the first day without use)."""
    return relapse_day + dt.timedelta(days=1)


def days_sober(sobriety_date: dt.date | None, today: dt.date) -> int | None:
    """Whole days from the sobriety date to today; 0 on the day itself or before it."""
    if sobriety_date is None:
        return None
    return max((today - sobriety_date).days, 0)
