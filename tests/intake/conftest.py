from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from openiop.accounts.models import Facility, User
from openiop.intake.models import Inquiry
from tests.conftest import signed_in
from tests.intake.factories import InquiryFactory


@pytest.fixture
def inquiry(facility: Facility) -> Inquiry:
    return InquiryFactory.create(facility=facility, first_name="Jordan", last_name="Vasquez")


@pytest.fixture
def outside_inquiry(other_facility: Facility) -> Inquiry:
    return InquiryFactory.create(facility=other_facility, first_name="Morgan", last_name="Lee")


@pytest.fixture
def admissions_client(admissions: User) -> Client:
    return signed_in(admissions)


@pytest.fixture
def help_request() -> dict[str, Any]:
    """A valid public help request (synthetic)."""
    return {
        "first_name": "Avery",
        "last_name": "Solano",
        "phone": "951-555-0142",
        "email": "avery.solano@example.org",
        "who_needs_help": "self",
        "person_name": "",
        "concerns": ["substances"],
        "insurance_payer": "Example Health Plan",
        "insurance_member_id": "EX123456",
        "best_time_to_call": "evening",
        "consent_to_contact": "on",
        "message": "I keep drinking more than I want to.",
        "website": "",
    }


def cssrs(**changes: object) -> dict[str, object]:
    """C-SSRS screener answers as measures scoring takes them: all no (False) unless named,
    e.g. cssrs(**{"4": True}) or cssrs(**{"6": True, "6_when": "past_3_months"})."""
    answers: dict[str, object] = {str(i): False for i in range(1, 7)}
    answers.update(changes)
    return answers


@pytest.fixture
def screening_post() -> dict[str, Any]:
    """A valid screening form post that recommends IOP."""
    return {
        "withdrawal_instrument": "ciwa_ar",
        "withdrawal_score": "4",
        **{f"cssrs_{i}": "no" for i in range(1, 7)},
        "living_situation": "family",
        "has_support_system": "yes",
        "support_who": "sister",
        "motivation": "wants_sobriety",
        "track": "evening",
        "needs_24h_supervision": "no",
        "unstable": "no",
        "recent_stay": "none",
        "recent_stay_level": "",
        "outcome": "",
        "override_reason": "",
        "notes": "",
        "save": "1",
    }


@pytest.fixture
def screening_data() -> dict[str, Any]:
    """The same screening as the service takes it."""
    return {
        "withdrawal_instrument": "ciwa_ar",
        "withdrawal_score": 4,
        "cssrs_answers": cssrs(),
        "living_situation": "family",
        "has_support_system": True,
        "support_who": "sister",
        "motivation": "wants_sobriety",
        "track": "evening",
        "needs_24h_supervision": False,
        "unstable": False,
        "recent_stay": "none",
        "recent_stay_level": "",
        "outcome": "",
        "override_reason": "",
        "notes": "",
    }
