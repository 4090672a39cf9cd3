"""The fixed cast (STYLE.md): a clinician, a clinician of another facility, an auditor,
a patient in scope and one out of scope — plus the roles most tests need."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse, HttpResponseBase
from django.test import Client
from rest_framework.test import APIClient

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.audit.purge import allow_audit_purge
from openiop.patients.models import Patient
from tests.factories import (
    PASSWORD,
    CareTeamMemberFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)


@pytest.fixture(autouse=True, scope="session")
def _flush_may_empty_the_audit_trail() -> Iterator[None]:
    """Tests with ``transaction=True`` (and live_server) end with Django's ``flush``.

    The audit trail's triggers refuse DELETE and TRUNCATE outside a retention purge, so
    the flush runs as one; nothing else in the suite is affected.
    """
    original = flush.Command.handle

    def handle(self: flush.Command, *args: Any, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with allow_audit_purge(connection):
            original(self, *args, **options)

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _mfa_off_by_default(settings: Any) -> None:
    """Most tests are about something else; MFA enforcement has its own tests."""
    settings.OPENIOP_REQUIRE_MFA = False


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Sign-in throttling counters and used TOTP codes live in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def facility(db: None) -> Facility:
    return FacilityFactory.create(name="Harbor Test Facility", code="HTF")


@pytest.fixture
def other_facility(db: None) -> Facility:
    return FacilityFactory.create(name="Other Test Facility", code="OTF")


@pytest.fixture
def clinician(facility: Facility) -> User:
    return UserFactory.create(
        email="clinician@example.org", role=Role.CLINICIAN, facilities=[facility]
    )


@pytest.fixture
def other_clinician(other_facility: Facility) -> User:
    """A clinician of another facility."""
    return UserFactory.create(
        email="other.clinician@example.org", role=Role.CLINICIAN, facilities=[other_facility]
    )


@pytest.fixture
def auditor(facility: Facility) -> User:
    return UserFactory.create(email="auditor@example.org", role=Role.AUDITOR, facilities=[facility])


@pytest.fixture
def director(facility: Facility) -> User:
    return UserFactory.create(
        email="director@example.org", role=Role.CLINICAL_DIRECTOR, facilities=[facility]
    )


@pytest.fixture
def admissions(facility: Facility) -> User:
    return UserFactory.create(
        email="admissions@example.org", role=Role.ADMISSIONS, facilities=[facility]
    )


@pytest.fixture
def front_desk(facility: Facility) -> User:
    return UserFactory.create(
        email="frontdesk@example.org", role=Role.FRONT_DESK, facilities=[facility]
    )


@pytest.fixture
def billing(facility: Facility) -> User:
    return UserFactory.create(email="billing@example.org", role=Role.BILLING, facilities=[facility])


@pytest.fixture
def administrator(facility: Facility) -> User:
    return UserFactory.create(
        email="admin@example.org", role=Role.ADMINISTRATOR, facilities=[facility], is_staff=True
    )


@pytest.fixture
def make_user(facility: Facility) -> Callable[..., User]:
    """Any role, at the test facility unless ``facilities`` says otherwise."""

    def make(role: str, *, facilities: list[Facility] | None = None, **kwargs: Any) -> User:
        return UserFactory.create(
            role=role, facilities=[facility] if facilities is None else facilities, **kwargs
        )

    return make


@pytest.fixture
def patient(facility: Facility, clinician: User) -> Patient:
    """In the clinician's scope: same facility, on their caseload."""
    p = PatientFactory.create(facility=facility, first_name="Dana", last_name="Quintero")
    CareTeamMemberFactory.create(patient=p, user=clinician)
    return p


@pytest.fixture
def outside_patient(other_facility: Facility) -> Patient:
    """Out of the clinician's scope: another facility."""
    return PatientFactory.create(facility=other_facility, first_name="Rowan", last_name="Ibarra")


@pytest.fixture
def unassigned_patient(facility: Facility) -> Patient:
    """Same facility as the clinician, but not on their caseload."""
    return PatientFactory.create(facility=facility, first_name="Kai", last_name="Nakamura")


def signed_in(user: User, **defaults: Any) -> Client:
    client = Client(**defaults)
    assert client.login(username=user.email, password=PASSWORD)
    return client


def api_signed_in(user: User) -> APIClient:
    """A DRF client on a session (as the browsable docs and htmx pages use it)."""
    client = APIClient()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def body(response: HttpResponseBase) -> str:
    """The text of an ordinary (not streaming) response."""
    assert isinstance(response, HttpResponse)
    return response.content.decode()


def as_json(response: HttpResponseBase) -> Any:
    assert isinstance(response, HttpResponse)
    return json.loads(response.content)


def last_event(**filters: Any) -> AuditEvent:
    event = AuditEvent.objects.filter(**filters).order_by("-id").first()
    assert event is not None, f"no audit event matching {filters}"
    return event


@pytest.fixture
def clinician_client(clinician: User) -> Client:
    return signed_in(clinician)


@pytest.fixture
def director_client(director: User) -> Client:
    return signed_in(director)


@pytest.fixture
def auditor_client(auditor: User) -> Client:
    return signed_in(auditor)


@pytest.fixture
def admin_client_(administrator: User) -> Client:
    """The administrator signed in (``admin_client`` is pytest-django's superuser)."""
    return signed_in(administrator)
