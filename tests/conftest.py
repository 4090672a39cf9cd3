"""The fixed cast (STYLE.md): a clinician, a clinician of another facility, an auditor,
a patient in scope and one out of scope — plus the roles most tests need."""

from __future__ import annotations

import pytest
from django.test import Client

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.patients.models import Patient
from tests.factories import (
    PASSWORD,
    CareTeamMemberFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _mfa_off_by_default(settings: pytest.FixtureRequest) -> None:
    """Most tests are about something else; MFA enforcement has its own tests."""
    settings.OPENIOP_REQUIRE_MFA = False  # type: ignore[attr-defined]


@pytest.fixture
def facility(db: None) -> Facility:
    return FacilityFactory(name="Harbor Test Facility", code="HTF")


@pytest.fixture
def other_facility(db: None) -> Facility:
    return FacilityFactory(name="Other Test Facility", code="OTF")


@pytest.fixture
def clinician(facility: Facility) -> User:
    return UserFactory(email="clinician@example.org", role=Role.CLINICIAN, facilities=[facility])


@pytest.fixture
def other_clinician(other_facility: Facility) -> User:
    """A clinician of another facility."""
    return UserFactory(
        email="other.clinician@example.org", role=Role.CLINICIAN, facilities=[other_facility]
    )


@pytest.fixture
def auditor(facility: Facility) -> User:
    return UserFactory(email="auditor@example.org", role=Role.AUDITOR, facilities=[facility])


@pytest.fixture
def director(facility: Facility) -> User:
    return UserFactory(
        email="director@example.org", role=Role.CLINICAL_DIRECTOR, facilities=[facility]
    )


@pytest.fixture
def admissions(facility: Facility) -> User:
    return UserFactory(email="admissions@example.org", role=Role.ADMISSIONS, facilities=[facility])


@pytest.fixture
def administrator(facility: Facility) -> User:
    return UserFactory(
        email="admin@example.org", role=Role.ADMINISTRATOR, facilities=[facility], is_staff=True
    )


@pytest.fixture
def patient(facility: Facility, clinician: User) -> Patient:
    """In the clinician's scope: same facility, on their caseload."""
    p = PatientFactory(facility=facility, first_name="Dana", last_name="Quintero")
    CareTeamMemberFactory(patient=p, user=clinician)
    return p


@pytest.fixture
def outside_patient(other_facility: Facility) -> Patient:
    """Out of the clinician's scope: another facility."""
    return PatientFactory(facility=other_facility, first_name="Rowan", last_name="Ibarra")


@pytest.fixture
def unassigned_patient(facility: Facility) -> Patient:
    """Same facility as the clinician, but not on their caseload."""
    return PatientFactory(facility=facility, first_name="Kai", last_name="Nakamura")


def signed_in(user: User) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


@pytest.fixture
def clinician_client(clinician: User) -> Client:
    return signed_in(clinician)
