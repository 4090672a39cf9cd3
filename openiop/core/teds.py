"""TEDS coded values (SPEC §9): shared by assessments, admission and the discharge export.

Missing values are −9 in TEDS; a ``None`` in our records exports as ``MISSING``.
"""

from __future__ import annotations

from django.db import models

MISSING = -9


class Services(models.IntegerChoices):
    """TEDS ``SERVICES``: type of treatment service/setting."""

    DETOX_HOSPITAL = 1, "Detox, 24-hour, hospital inpatient"
    DETOX_RESIDENTIAL = 2, "Detox, 24-hour, free-standing residential"
    REHAB_HOSPITAL = 3, "Rehab/residential, hospital (non-detox)"
    REHAB_SHORT = 4, "Rehab/residential, short term (30 days or fewer)"
    REHAB_LONG = 5, "Rehab/residential, long term (more than 30 days)"
    INTENSIVE_OUTPATIENT = 6, "Ambulatory, intensive outpatient"
    OUTPATIENT = 7, "Ambulatory, non-intensive outpatient"
    AMBULATORY_DETOX = 8, "Ambulatory detoxification"


class Reason(models.IntegerChoices):
    """TEDS ``REASON``: reason for discharge."""

    COMPLETED = 1, "Treatment completed"
    DROPPED_OUT = 2, "Dropped out (left before completion)"
    TERMINATED = 3, "Terminated by facility"
    TRANSFERRED = 4, "Transferred to another program or facility"
    INCARCERATED = 5, "Incarcerated"
    DEATH = 6, "Death"
    OTHER = 7, "Other"


class Substance(models.IntegerChoices):
    """TEDS ``SUB1``–``SUB3``."""

    NONE = 1, "None"
    ALCOHOL = 2, "Alcohol"
    COCAINE = 3, "Cocaine/crack"
    MARIJUANA = 4, "Marijuana/hashish"
    HEROIN = 5, "Heroin"
    METHADONE = 6, "Non-prescription methadone"
    OTHER_OPIATES = 7, "Other opiates and synthetics"
    PCP = 8, "PCP"
    HALLUCINOGENS = 9, "Hallucinogens"
    METHAMPHETAMINE = 10, "Methamphetamine"
    OTHER_AMPHETAMINES = 11, "Other amphetamines"
    OTHER_STIMULANTS = 12, "Other stimulants"
    BENZODIAZEPINES = 13, "Benzodiazepines"
    OTHER_TRANQUILIZERS = 14, "Other tranquilizers"
    BARBITURATES = 15, "Barbiturates"
    OTHER_SEDATIVES = 16, "Other sedatives/hypnotics"
    INHALANTS = 17, "Inhalants"
    OVER_THE_COUNTER = 18, "Over-the-counter"
    OTHER = 19, "Other"


class Route(models.IntegerChoices):
    """TEDS ``ROUTE1``–``ROUTE3``."""

    ORAL = 1, "Oral"
    SMOKING = 2, "Smoking"
    INHALATION = 3, "Inhalation"
    INJECTION = 4, "Injection"
    OTHER = 5, "Other"


class Frequency(models.IntegerChoices):
    """TEDS ``FREQ1``–``FREQ3``: frequency of use in the past month."""

    NO_USE = 1, "No use in the past month"
    SOME_USE = 2, "Some use"
    DAILY = 3, "Daily use"


class ReferralSource(models.IntegerChoices):
    """TEDS ``PSOURCE``: principal source of referral."""

    INDIVIDUAL = 1, "Individual (includes self-referral)"
    SUD_PROVIDER = 2, "Alcohol/drug use care provider"
    HEALTH_CARE = 3, "Other health care provider"
    SCHOOL = 4, "School (educational)"
    EMPLOYER = 5, "Employer/EAP"
    COMMUNITY = 6, "Other community referral"
    COURT = 7, "Court/criminal justice referral"


# TEDS SERVICES for our levels of care: PHP (2.5) is reported with intensive outpatient.
SERVICES_FOR_LEVEL = {
    "1": Services.OUTPATIENT,
    "2.1": Services.INTENSIVE_OUTPATIENT,
    "2.5": Services.INTENSIVE_OUTPATIENT,
}


def coded(value: int | None) -> int:
    """A stored code, or −9 when it was never recorded."""
    return MISSING if value is None else int(value)


def los_code(days: int) -> int:
    """TEDS ``LOS`` from days between admission and discharge (SPEC §9)."""
    if days < 0:
        raise ValueError("Length of stay cannot be negative.")
    if days <= 30:
        return max(days, 1)
    for upper, code in ((45, 31), (60, 32), (90, 33), (120, 34), (180, 35), (365, 36)):
        if days <= upper:
            return code
    return 37
