"""Measures fixtures on top of the shared cast (tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from tests.conftest import api_signed_in, signed_in  # noqa: F401  (re-exported for the tests)
from tests.factories import UserFactory


@pytest.fixture
def case_manager(facility: object) -> User:
    return UserFactory.create(
        email="case.manager@example.org", role=Role.CASE_MANAGER, facilities=[facility]
    )


@pytest.fixture
def billing_client(billing: User) -> Client:
    return signed_in(billing)
