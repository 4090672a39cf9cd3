"""Idle sign-out after OPENIOP_IDLE_TIMEOUT_MINUTES (HIPAA §164.312(a)(2)(iii))."""

from __future__ import annotations

import types
from typing import Any

import pytest
from django.test import Client

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.core import middleware
from openiop.patients.models import Patient
from tests.conftest import as_json, body, signed_in

NOW = 1_800_000_000
LIMIT = 15 * 60


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings: Any) -> types.SimpleNamespace:
    """The middleware's clock, frozen at NOW; tests move it."""
    settings.OPENIOP_IDLE_TIMEOUT_MINUTES = 15
    fake = types.SimpleNamespace(now=float(NOW))
    monkeypatch.setattr(middleware, "time", types.SimpleNamespace(time=lambda: fake.now))
    return fake


@pytest.fixture
def working(clinician: User, clock: types.SimpleNamespace) -> Client:
    """A clinician who made a request at NOW."""
    client = signed_in(clinician)
    assert client.get("/").status_code == 200
    assert client.session[middleware.SESSION_KEY] == NOW
    return client


def timeouts() -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.SESSION_TIMEOUT).count()


def test_it_keeps_a_session_used_within_the_limit(
    working: Client, clock: types.SimpleNamespace, patient: Patient
) -> None:
    clock.now = NOW + LIMIT  # exactly 15 minutes later still counts as active
    assert working.get(f"/patients/{patient.pk}/").status_code == 200
    assert working.session[middleware.SESSION_KEY] == NOW + LIMIT
    clock.now = NOW + 2 * LIMIT  # activity moved the window on
    assert working.get("/").status_code == 200
    assert timeouts() == 0


def test_it_answers_401_json_to_an_api_call_after_the_limit(
    clinician: User, working: Client, clock: types.SimpleNamespace, patient: Patient
) -> None:
    clock.now = NOW + LIMIT + 1
    response = working.get(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 401
    assert as_json(response) == {"detail": "Your session ended after a period of inactivity."}
    event = AuditEvent.objects.get(action=AuditEvent.Action.SESSION_TIMEOUT)
    assert event.actor == clinician
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).exists()
    # The session is over: the next call is simply anonymous.
    assert working.get(f"/api/v1/patients/{patient.pk}/").status_code == 401
    assert timeouts() == 1


def test_it_follows_the_configured_number_of_minutes(
    working: Client, clock: types.SimpleNamespace, settings: Any
) -> None:
    settings.OPENIOP_IDLE_TIMEOUT_MINUTES = 60
    clock.now = NOW + LIMIT + 1
    assert working.get("/").status_code == 200
    clock.now = NOW + LIMIT + 1 + 60 * 60 + 1
    assert working.get("/api/v1/facilities/").status_code == 401


def test_it_tells_the_page_when_the_session_will_end(working: Client) -> None:
    assert 'data-idle-timeout="900"' in body(working.get("/"))


def test_it_does_not_touch_anonymous_visitors(clock: types.SimpleNamespace, db: None) -> None:
    client = Client()
    client.get("/accounts/login/")
    assert middleware.SESSION_KEY not in client.session
    assert timeouts() == 0


def test_it_signs_out_an_idle_page_request_and_says_why(
    clinician: User, working: Client, clock: types.SimpleNamespace, patient: Patient
) -> None:
    clock.now = NOW + LIMIT + 1
    response = working.get(f"/patients/{patient.pk}/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert AuditEvent.objects.get(action=AuditEvent.Action.SESSION_TIMEOUT).actor == clinician
    login = working.get("/accounts/login/")
    assert "You were signed out after 15 minutes without activity." in body(login)
    assert working.get(f"/patients/{patient.pk}/")["Location"].startswith("/accounts/login/")


def test_it_redirects_an_idle_htmx_request_with_hx_redirect(
    working: Client, clock: types.SimpleNamespace
) -> None:
    clock.now = NOW + LIMIT + 1
    response = working.post("/patients/", {"q": "dana"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/accounts/login/"
    assert timeouts() == 1
