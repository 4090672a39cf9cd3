from __future__ import annotations

import datetime as dt
from typing import Any

from openiop.accounts.models import Facility, Phase, Program, Track
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient
from tests.factories import ProgramFactory

PHASES = [
    ("engagement", "Engagement", 1, 2),
    ("early_recovery", "Early recovery", 3, 8),
    ("maintenance", "Maintenance", 9, None),
    ("community_integration", "Community integration", None, None),
]


def program_with_phases(facility: Facility, **kwargs: Any) -> Program:
    program = ProgramFactory.create(facility=facility, **kwargs)
    for order, (code, name, start, end) in enumerate(PHASES, start=1):
        Phase.objects.create(
            program=program,
            order=order,
            code=code,
            name=name,
            typical_start_week=start or 1,
            typical_end_week=end,
        )
    Track.objects.create(program=program, name="Day", kind="day")
    Track.objects.create(
        program=program,
        name="Evening",
        kind="evening",
        start_time=dt.time(18, 0),
        end_time=dt.time(21, 0),
    )
    return program


def episode(patient: Patient, program: Program, clinician: Any, **kwargs: Any) -> EpisodeOfCare:
    """An episode written straight to the database (for reading tests and closed episodes)."""
    values: dict[str, Any] = {
        "patient": patient,
        "facility": patient.facility,
        "program": program,
        "level_of_care": program.level_of_care,
        "admission_date": dt.date(2026, 1, 5),
        "primary_clinician": clinician,
        "referral_source": 1,
        "teds_services": 6,
        "phase": program.phases.order_by("order").first(),
    }
    values.update(kwargs)
    return EpisodeOfCare.objects.create(**values)
