"""The cast of the discharge tests: a program with phases and a patient admitted in it.

Each test module adds what it needs (a plan, attendance, drug tests…) through the services
or the factories of the capabilities below."""

from __future__ import annotations

import pytest

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from tests.admissions.factories import program_with_phases
from tests.scheduling import factories


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def episode(facility: Facility, program: Program, clinician: User) -> EpisodeOfCare:
    """An open episode, admitted 2026-01-05, on the clinician's caseload."""
    return factories.admitted(facility, program, clinician, last_name="Rivera")
