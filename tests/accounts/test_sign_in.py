"""Signing in: throttled guessing, failed attempts in the trail, password rules, no sign-up."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from tests.conftest import body
from tests.factories import PASSWORD

TOO_MANY = "Too many failed login attempts. Try again later."


def sign_in(client: Client, email: str, password: str) -> str:
    response = client.post("/accounts/login/", {"login": email, "password": password})
    return response["Location"] if response.status_code == 302 else body(response)


def test_it_signs_in_with_email_and_password(clinician: User) -> None:
    client = Client()
    assert sign_in(client, "Clinician@Example.org", PASSWORD) == "/"
    assert client.get("/").status_code == 200


def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(clinician: User) -> None:
    text = sign_in(Client(), clinician.email, "wrong-password-123")
    assert "The email address and/or password you specified are not correct." in text
    unknown = sign_in(Client(), "nobody@example.org", "wrong-password-123")
    assert "The email address and/or password you specified are not correct." in unknown


def test_it_records_failed_sign_ins_with_the_address_typed_not_the_password(
    clinician: User,
) -> None:
    client = Client(REMOTE_ADDR="192.0.2.44", HTTP_USER_AGENT="curl/8")
    sign_in(client, clinician.email, "hunter2-hunter2")
    sign_in(client, "ghost@example.org", "hunter2-hunter2")
    events = AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_FAILED).order_by("id")
    assert [e.detail for e in events] == [
        {"attempted": clinician.email},
        {"attempted": "ghost@example.org"},
    ]
    targeted, unknown = events
    # Aimed at a real account: attributed to it, so its organization's auditors see it.
    assert (targeted.actor, targeted.actor_label) == (clinician, clinician.email)
    assert (unknown.actor, unknown.actor_label) == (None, "system")
    for event in events:
        assert (event.ip, event.user_agent) == ("192.0.2.44", "curl/8")
        assert "hunter2" not in str(event.__dict__)


def test_it_throttles_guessing_at_one_address_even_with_the_right_password(
    clinician: User,
) -> None:
    client = Client()
    for _ in range(5):
        assert TOO_MANY not in sign_in(client, clinician.email, "not-the-password")
    assert TOO_MANY in sign_in(client, clinician.email, "not-the-password")
    assert TOO_MANY in sign_in(Client(), clinician.email, PASSWORD)
    assert Client().get("/").status_code == 302
    failed = AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_FAILED).count()
    assert failed == 5  # refused attempts never reach the password check
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN).exists()


def test_it_throttles_per_address_not_everyone(clinician: User, director: User) -> None:
    client = Client()
    for _ in range(6):
        sign_in(client, clinician.email, "not-the-password")
    assert sign_in(Client(), director.email, PASSWORD) == "/"


def test_it_throttles_many_addresses_from_one_ip(clinician: User) -> None:
    client = Client(REMOTE_ADDR="198.51.100.23")
    for n in range(10):
        assert TOO_MANY not in sign_in(client, f"guess{n}@example.org", "not-the-password")
    assert TOO_MANY in sign_in(client, "guess10@example.org", "not-the-password")
    elsewhere = Client(REMOTE_ADDR="198.51.100.24")
    assert sign_in(elsewhere, clinician.email, PASSWORD) == "/"


def test_it_keeps_sign_up_closed(db: None) -> None:
    response = Client().post(
        "/accounts/signup/",
        {
            "email": "new@example.org",
            "password1": "a-long-new-pass-phrase",
            "password2": "a-long-new-pass-phrase",
        },
    )
    assert "Sign Up Closed" in body(response)
    assert not User.objects.filter(email="new@example.org").exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw", "at least 12 characters"),
        ("password1234", "too common"),
        ("qwertyuiop123", "too common"),
        ("840219375612", "entirely numeric"),
        ("clinician-example", "too similar"),
    ],
)
def test_it_refuses_weak_passwords(clinician: User, password: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate_password(password, user=clinician)
    assert any(message in m for m in error.value.messages)


def test_it_accepts_a_long_uncommon_password(clinician: User) -> None:
    validate_password("mossy-kettle-orbit-17", user=clinician)
