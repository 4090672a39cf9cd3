"""A release of "treatment plan and progress" carries the signed, active plan only."""

from __future__ import annotations

import pytest

from openiop.accounts.models import Facility, User
from openiop.patients.disclosure import render_sections
from openiop.patients.models import Patient
from tests.admissions.factories import episode, program_with_phases
from tests.plans.factories import active_plan, draft_plan

pytestmark = pytest.mark.django_db


def plan_section(patient: Patient) -> str:
    (section,) = render_sections(patient, ["plan"])
    assert section.label == "Treatment plan and progress"
    assert section.html is not None
    return section.html


def test_it_releases_the_active_plan_with_the_goal_in_the_patients_words(
    facility: Facility, clinician: User, patient: Patient
) -> None:
    ep = episode(patient, program_with_phases(facility), clinician)
    active_plan(clinician, ep, objectives=2)
    html = plan_section(patient)
    assert "version 1, active since" in html
    assert "“I want to stop drinking.”" in html
    assert "Objective 2: attend 3 groups a week." in html


def test_a_draft_is_not_the_plan_and_is_never_released(
    facility: Facility, clinician: User, patient: Patient
) -> None:
    ep = episode(patient, program_with_phases(facility), clinician)
    draft_plan(clinician, ep)
    html = plan_section(patient)
    assert "No signed treatment plan." in html
    assert "stop drinking" not in html
