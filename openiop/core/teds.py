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


class YesNo(models.IntegerChoices):
    YES = 1, "Yes"
    NO = 2, "No"


class PriorTreatment(models.IntegerChoices):
    """TEDS ``NOPRIOR``: previous substance-use treatment episodes."""

    NONE = 0, "No prior treatment episodes"
    ONE = 1, "1 prior episode"
    TWO = 2, "2 prior episodes"
    THREE = 3, "3 prior episodes"
    FOUR = 4, "4 prior episodes"
    FIVE_OR_MORE = 5, "5 or more prior episodes"


class FirstUseAge(models.IntegerChoices):
    """TEDS ``FRSTUSE1``–``FRSTUSE3``: age at first use."""

    UNDER_12 = 1, "11 years and under"
    AGE_12_14 = 2, "12–14 years"
    AGE_15_17 = 3, "15–17 years"
    AGE_18_20 = 4, "18–20 years"
    AGE_21_24 = 5, "21–24 years"
    AGE_25_29 = 6, "25–29 years"
    AGE_30_PLUS = 7, "30 years and older"


def first_use_code(age: int | None) -> int | None:
    """TEDS ``FRSTUSE`` from an age in years."""
    if age is None:
        return None
    for upper, code in ((11, 1), (14, 2), (17, 3), (20, 4), (24, 5), (29, 6)):
        if age <= upper:
            return code
    return 7


class Employment(models.IntegerChoices):
    """TEDS ``EMPLOY``."""

    FULL_TIME = 1, "Full-time"
    PART_TIME = 2, "Part-time"
    UNEMPLOYED = 3, "Unemployed (looking for work)"
    NOT_IN_LABOR_FORCE = 4, "Not in the labor force"


class LivingArrangement(models.IntegerChoices):
    """TEDS ``LIVARAG``."""

    HOMELESS = 1, "Homeless"
    DEPENDENT = 2, "Dependent living (supervised, recovery residence, with parents as a minor)"
    INDEPENDENT = 3, "Independent living"


class Arrests(models.IntegerChoices):
    """TEDS ``ARRESTS``: arrests in the 30 days before admission."""

    NONE = 0, "None"
    ONCE = 1, "Once"
    TWO_OR_MORE = 2, "Two or more times"


class Education(models.IntegerChoices):
    """TEDS ``EDUC``."""

    GRADE_8_OR_LESS = 1, "Less than one school grade, no schooling, or grades 1–8"
    GRADES_9_11 = 2, "Grades 9–11"
    GRADE_12_GED = 3, "Grade 12 or GED"
    SOME_COLLEGE = 4, "1–3 years of college, university or vocational school"
    BACHELORS_PLUS = 5, "4 years of college or more (BA/BS or higher)"


class MaritalStatus(models.IntegerChoices):
    """TEDS ``MARSTAT``."""

    NEVER_MARRIED = 1, "Never married"
    MARRIED = 2, "Now married"
    SEPARATED = 3, "Separated"
    DIVORCED_WIDOWED = 4, "Divorced or widowed"


class SelfHelpAttendance(models.IntegerChoices):
    """TEDS ``FREQ_ATND_SELF_HELP``: mutual-help meetings in the 30 days before admission."""

    NONE = 1, "No attendance"
    ONE_TO_THREE = 2, "1–3 times"
    FOUR_TO_SEVEN = 3, "4–7 times"
    EIGHT_TO_THIRTY = 4, "8–30 times"
    UNKNOWN_FREQUENCY = 5, "Some attendance, frequency unknown"


class HealthInsurance(models.IntegerChoices):
    """TEDS ``HLTHINS``."""

    PRIVATE = 1, "Private insurance, Blue Cross/Blue Shield, HMO"
    MEDICAID = 2, "Medicaid"
    MEDICARE_OTHER = 3, "Medicare, other (e.g. TRICARE, CHAMPUS)"
    NONE = 4, "None"


class PrimaryPayer(models.IntegerChoices):
    """TEDS ``PRIMPAY``: expected source of payment."""

    SELF = 1, "Self-pay"
    PRIVATE = 2, "Private health insurance"
    MEDICARE = 3, "Medicare"
    MEDICAID = 4, "Medicaid"
    OTHER_GOVERNMENT = 5, "Other government payments"
    NO_CHARGE = 6, "No charge (free, charity, special research, teaching)"
    OTHER = 7, "Other"
