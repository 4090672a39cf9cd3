"""Two-step sign-in: staff without an authenticator app reach no patient information."""

from __future__ import annotations

import types
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal import auth as totp_auth
from django.test import Client
from rest_framework.authtoken.models import Token

from openiop.accounts.models import User
from openiop.patients.models import Patient
from tests.conftest import api_signed_in, as_json, signed_in
from tests.factories import PASSWORD

NOW = 1_780_000_000.0  # a fixed clock, so a code never straddles two 30-second windows
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def mfa_required(settings: Any) -> None:
    settings.OPENIOP_REQUIRE_MFA = True


@pytest.fixture
def frozen_totp_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(totp_auth, "time", types.SimpleNamespace(time=lambda: NOW))


def code_now(secret: str = SECRET) -> str:
    return totp_auth.format_hotp_value(totp_auth.hotp_value(secret, int(NOW) // 30))


def enrol(user: User) -> RecoveryCodes:
    totp_auth.TOTP.activate(user, SECRET)
    return RecoveryCodes.activate(user)


@pytest.mark.usefixtures("mfa_required")
def test_it_sends_staff_without_an_authenticator_to_set_one_up(
    clinician: User, patient: Patient
) -> None:
    client = signed_in(clinician)
    for path in ("/", "/patients/", f"/patients/{patient.pk}/", "/audit/", "/staff/api-token/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/two-step-required/", path
    page = client.get("/accounts/two-step-required/")
    assert page.status_code == 200
    assert "Set up two-step sign-in first" in page.content.decode()
    assert 'href="/accounts/2fa/totp/activate/"' in page.content.decode()


@pytest.mark.usefixtures("mfa_required", "frozen_totp_clock")
def test_it_lets_them_enrol_an_authenticator_and_then_work(
    clinician: User, patient: Patient
) -> None:
    client = signed_in(clinician)
    assert client.get("/accounts/2fa/").status_code == 200
    assert client.get("/healthz").status_code == 200
    ask_again = client.get("/accounts/2fa/totp/activate/")
    assert ask_again["Location"].startswith("/accounts/reauthenticate/")
    client.post(ask_again["Location"], {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session[totp_auth.SECRET_SESSION_KEY]
    done = client.post("/accounts/2fa/totp/activate/", {"code": code_now(secret)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=clinician, type=Authenticator.Type.TOTP).exists()
    assert client.get(f"/patients/{patient.pk}/").status_code == 200


@pytest.mark.usefixtures("mfa_required")
def test_it_answers_403_json_to_api_calls_without_an_authenticator(
    clinician: User, patient: Patient
) -> None:
    response = api_signed_in(clinician).get(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 403
    assert as_json(response) == {"detail": "Set up two-step sign-in (an authenticator app) first."}


@pytest.mark.usefixtures("mfa_required", "frozen_totp_clock")
def test_it_asks_for_the_code_after_the_password_and_lets_a_valid_code_in(
    clinician: User, patient: Patient
) -> None:
    enrol(clinician)
    client = Client()
    step_one = client.post("/accounts/login/", {"login": clinician.email, "password": PASSWORD})
    assert step_one.status_code == 302
    assert step_one["Location"] == "/accounts/2fa/authenticate/"
    # Not signed in yet: the password alone opens nothing.
    assert client.get(f"/patients/{patient.pk}/")["Location"].startswith("/accounts/login/")

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "Incorrect code." in wrong.content.decode()

    right = client.post("/accounts/2fa/authenticate/", {"code": code_now()})
    assert right.status_code == 302
    assert right["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get(f"/patients/{patient.pk}/").status_code == 200
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 200


@pytest.mark.usefixtures("mfa_required", "frozen_totp_clock")
def test_it_refuses_the_same_code_twice(clinician: User) -> None:
    enrol(clinician)
    first, second = Client(), Client()
    for client in (first, second):
        client.post("/accounts/login/", {"login": clinician.email, "password": PASSWORD})
    assert first.post("/accounts/2fa/authenticate/", {"code": code_now()}).status_code == 302
    replay = second.post("/accounts/2fa/authenticate/", {"code": code_now()})
    assert replay.status_code == 200
    assert second.get("/").status_code == 302


@pytest.mark.usefixtures("mfa_required")
def test_it_accepts_a_recovery_code_and_shows_the_recovery_codes_page(clinician: User) -> None:
    codes = enrol(clinician).get_unused_codes()
    assert len(codes) == 10
    client = Client()
    client.post("/accounts/login/", {"login": clinician.email, "password": PASSWORD})
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    ask_again = client.get("/accounts/2fa/recovery-codes/")
    assert ask_again["Location"].startswith("/accounts/reauthenticate/")
    client.post(ask_again["Location"], {"password": PASSWORD})
    page = client.get("/accounts/2fa/recovery-codes/")
    assert page.status_code == 200
    assert codes[1] in page.content.decode()
    assert (
        codes[0]
        not in RecoveryCodes(
            Authenticator.objects.get(user=clinician, type=Authenticator.Type.RECOVERY_CODES)
        ).get_unused_codes()
    )


def test_it_lets_staff_in_with_a_password_only_when_mfa_is_turned_off(
    clinician: User, patient: Patient
) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"login": clinician.email, "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get(f"/patients/{patient.pk}/").status_code == 200


@pytest.mark.usefixtures("mfa_required")
def test_it_does_not_let_the_admin_login_skip_the_second_step(
    administrator: User, patient: Patient
) -> None:
    enrol(administrator)
    client = Client()
    client.post("/admin/login/", {"username": administrator.email, "password": PASSWORD})
    assert client.get(f"/patients/{patient.pk}/").status_code != 200


@pytest.mark.usefixtures("mfa_required")
def test_it_refuses_api_tokens_of_staff_without_an_authenticator(
    clinician: User, patient: Patient
) -> None:
    token = Token.objects.create(user=clinician)
    response = Client().get(
        f"/api/v1/patients/{patient.pk}/", HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 403
