"""Hand-built episodes, discharges and changes of service for the TEDS and export tests
(written straight to the database: these tests read, the discharge services are tested
with the discharge capability)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.discharge import rules
from openiop.discharge.models import Discharge, LevelOfCareChange
from openiop.patients.models import Patient
from tests.admissions.factories import episode as make_episode
from tests.factories import PatientFactory

# Every TEDS admission field filled in (SPEC §9 codes).
FULL_ADMISSION: dict[str, Any] = {
    "referral_source": 7,
    "teds_services": 6,
    "teds_noprior": 2,
    "teds_sub1": 2,
    "teds_route1": 1,
    "teds_freq1": 3,
    "teds_frstuse1": 3,
    "teds_sub2": 4,
    "teds_route2": 2,
    "teds_freq2": 2,
    "teds_frstuse2": 2,
    "teds_employ": 1,
    "teds_livarag": 3,
    "teds_arrests": 0,
    "teds_educ": 3,
    "teds_marstat": 1,
    "teds_self_help": 2,
    "teds_psyprob": 1,
    "teds_methuse": 2,
    "teds_hlthins": 2,
    "teds_primpay": 4,
}
FULL_DISCHARGE: dict[str, Any] = {
    "teds_freq1_d": 1,
    "teds_freq2_d": 1,
    "teds_employ_d": 1,
    "teds_livarag_d": 3,
    "teds_arrests_d": 0,
    "teds_self_help_d": 4,
}


def person(facility: Facility, **kwargs: Any) -> Patient:
    values: dict[str, Any] = {
        "facility": facility,
        "first_name": "Marisol",
        "last_name": "Okafor",
        "date_of_birth": dt.date(1990, 4, 12),
        "sex_at_birth": "female",
        "veteran_status": "no",
    }
    values.update(kwargs)
    return PatientFactory.create(**values)


def admitted(
    patient: Patient,
    program: Program,
    clinician: User,
    on: dt.date,
    *,
    full: bool = True,
    **kwargs: Any,
) -> EpisodeOfCare:
    values = {**(FULL_ADMISSION if full else {}), "admission_date": on, **kwargs}
    return make_episode(patient, program, clinician, **values)


def discharged(
    episode: EpisodeOfCare,
    on: dt.date,
    by: User,
    *,
    reason_key: str = "completed",
    full: bool = True,
    **kwargs: Any,
) -> Discharge:
    EpisodeOfCare.objects.filter(pk=episode.pk).update(discharge_date=on)
    values: dict[str, Any] = {
        "episode": episode,
        "patient": episode.patient,
        "facility": episode.facility,
        "discharge_date": on,
        "reason_key": reason_key,
        "reason": int(rules.teds_reason(reason_key)),
        "step_down": "aftercare",
        "created_by": by,
        **(FULL_DISCHARGE if full else {}),
    }
    values.update(kwargs)
    return Discharge.objects.create(**values)


def changed(
    episode: EpisodeOfCare,
    on: dt.date,
    by: User,
    *,
    to_program: Program,
    from_services: int,
    to_services: int,
) -> LevelOfCareChange:
    return LevelOfCareChange.objects.create(
        episode=episode,
        changed_on=on,
        from_program=episode.program,
        to_program=to_program,
        from_level=episode.level_of_care,
        to_level=to_program.level_of_care,
        from_services=from_services,
        to_services=to_services,
        reason="Stepping down as planned.",
        changed_by=by,
    )
