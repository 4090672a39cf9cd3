from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.intake import services as intake_services


@pytest.fixture
def medical(make_user: Callable[..., User]) -> User:
    return make_user(Role.MEDICAL, email="nurse@example.org")


@pytest.fixture
def advanced(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls to openiop.intake.services.advance_for_patient, recorded instead of made."""
    calls: list[dict[str, Any]] = []

    def spy(**kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(intake_services, "advance_for_patient", spy)
    return calls
