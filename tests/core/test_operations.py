"""Running OpenIOP: health check, settings from the environment, headers, error pages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings

from config.env import env_bool, env_int, env_list, env_str
from openiop.core import views
from openiop.patients import selectors
from tests.conftest import as_json, body

ROOT = Path(__file__).resolve().parents[2]

# --- health --------------------------------------------------------------------------------


def test_it_answers_healthz_when_the_database_answers(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert as_json(response)["status"] == "ok"
    assert as_json(response)["database"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_database_does_not(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def cursor(self) -> Any:
            raise OSError("connection refused")

    monkeypatch.setattr(views, "connection", Broken())
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert as_json(response) == {"status": "unavailable", "database": "unreachable"}


def test_it_answers_healthz_to_get_only(db: None) -> None:
    assert Client().post("/healthz").status_code == 405


# --- settings from the environment ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        (" YES ", True),
        ("on", True),
        ("0", False),
        ("off", False),
        ("", False),
    ],
)
def test_it_reads_booleans(monkeypatch: pytest.MonkeyPatch, raw: str, value: bool) -> None:
    monkeypatch.setenv("OPENIOP_FLAG", raw)
    assert env_bool("OPENIOP_FLAG", not value) is value


def test_it_uses_the_default_for_a_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENIOP_FLAG", raising=False)
    assert env_bool("OPENIOP_FLAG", True) is True
    assert env_int("OPENIOP_FLAG", 15) == 15
    assert env_str("OPENIOP_FLAG", "x") == "x"
    assert env_list("OPENIOP_FLAG", ["a"]) == ["a"]


@pytest.mark.parametrize("raw", ["ture", "2", "y", "enabled"])
def test_it_refuses_a_boolean_it_cannot_read_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("OPENIOP_FLAG", raw)
    with pytest.raises(
        ImproperlyConfigured, match=f"OPENIOP_FLAG must be true or false \\(got '{raw}'\\)"
    ):
        env_bool("OPENIOP_FLAG", False)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("15m", "OPENIOP_IDLE must be a whole number (got '15m')."),
        ("1.5", "OPENIOP_IDLE must be a whole number (got '1.5')."),
        ("0", "OPENIOP_IDLE must be at least 1 (got 0)."),
        ("721", "OPENIOP_IDLE must be at most 720 (got 721)."),
    ],
)
def test_it_refuses_a_number_out_of_range_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    monkeypatch.setenv("OPENIOP_IDLE", raw)
    with pytest.raises(ImproperlyConfigured) as error:
        env_int("OPENIOP_IDLE", 15, minimum=1, maximum=720)
    assert str(error.value) == message


@pytest.mark.parametrize(("raw", "value"), [("1", 1), ("720", 720), (" 30 ", 30), ("", 15)])
def test_it_reads_numbers_at_the_edges_of_the_range(
    monkeypatch: pytest.MonkeyPatch, raw: str, value: int
) -> None:
    monkeypatch.setenv("OPENIOP_IDLE", raw)
    assert env_int("OPENIOP_IDLE", 15, minimum=1, maximum=720) == value


def test_it_splits_lists_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED", " iop.example.org, ,localhost ")
    assert env_list("ALLOWED", []) == ["iop.example.org", "localhost"]


def import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    """Import config.settings in a fresh interpreter, outside pytest's environment."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_VERSION", "OPENIOP_TESTING", "SECRET_KEY", "DEBUG", "DATABASE_URL"}
        and not key.startswith(("PYTEST_", "OPENIOP_", "DJANGO_"))
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_refuses_to_start_without_a_secret_key_in_production() -> None:
    result = import_settings(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_it_refuses_to_start_with_a_misspelled_setting() -> None:
    result = import_settings(SECRET_KEY="s" * 50, DEBUG="ture")
    assert result.returncode != 0
    assert "DEBUG must be true or false (got 'ture')." in result.stderr
    result = import_settings(SECRET_KEY="s" * 50, OPENIOP_IDLE_TIMEOUT_MINUTES="15m")
    assert "OPENIOP_IDLE_TIMEOUT_MINUTES must be a whole number (got '15m')." in result.stderr


def test_it_starts_with_a_secret_key_and_no_debug() -> None:
    result = import_settings(SECRET_KEY="s" * 50, DEBUG="false")
    assert result.returncode == 0, result.stderr


# --- security headers -----------------------------------------------------------------------


def test_it_sends_a_strict_content_security_policy(clinician_client: Client) -> None:
    response = clinician_client.get("/")
    policy = response["Content-Security-Policy"]
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip()
    )
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_it_sends_the_other_protective_headers(clinician_client: Client) -> None:
    response = clinician_client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_it_serves_pages_without_inline_scripts_or_third_party_assets(
    clinician_client: Client, patient: Any
) -> None:
    for path in ("/", "/patients/", f"/patients/{patient.pk}/", f"/patients/{patient.pk}/print/"):
        text = body(clinician_client.get(path))
        assert "<script>" not in text, path
        assert "onclick=" not in text, path
        assert "https://" not in text.replace("https://www.w3.org", ""), path


def test_it_marks_the_session_cookie_http_only(clinician: Any) -> None:
    response = Client().post(
        "/accounts/login/",
        {"login": "clinician@example.org", "password": "correct-horse-battery-staple"},
    )
    assert response.cookies["sessionid"]["httponly"] is True
    assert response.cookies["sessionid"]["samesite"] == "Lax"


# --- error pages -------------------------------------------------------------------------------


def test_it_shows_our_page_for_an_unknown_address(clinician_client: Client) -> None:
    response = clinician_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find that page" in body(response)
    assert "Find a patient" in body(response)


def test_it_answers_json_404_under_the_api(clinician_client: Client) -> None:
    response = clinician_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert as_json(response) == {"detail": "Not found."}


def test_it_shows_our_page_when_permission_is_refused(auditor_client: Client) -> None:
    response = auditor_client.get("/patients/")
    assert response.status_code == 403
    assert "This page is not part of your role" in body(response)


def test_it_renders_the_500_page_without_details(rf: RequestFactory) -> None:
    response = views.error_500(rf.get("/patients/1/"))
    assert response.status_code == 500
    text = body(response)
    assert "Something went wrong on our side" in text
    assert "Traceback" not in text
    assert "/patients/1/" not in text


def test_it_answers_json_500_under_the_api(rf: RequestFactory) -> None:
    response = views.error_500(rf.get("/api/v1/patients/"))
    assert response.status_code == 500
    assert as_json(response) == {"detail": "Something went wrong on our side."}


@override_settings(DEBUG=False)
def test_it_shows_no_traceback_when_a_view_fails(
    clinician: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: Dana Quintero")

    monkeypatch.setattr(selectors, "search_patients", explode)
    client = Client(raise_request_exception=False)
    assert client.login(username=clinician.email, password="correct-horse-battery-staple")
    response = client.get("/patients/")
    assert response.status_code == 500
    text = body(response)
    assert "Something went wrong on our side" in text
    assert "Traceback" not in text
    assert "secret internals" not in text
    assert "Dana Quintero" not in text
