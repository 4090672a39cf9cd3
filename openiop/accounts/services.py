"""Writes about staff accounts that are not plain administration."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from openiop.accounts.models import User
from openiop.audit.services import record


@transaction.atomic
def issue_api_token(*, actor: User) -> Token:
    """A new personal API token; the old one stops working at once."""
    Token.objects.filter(user=actor).delete()
    token = Token.objects.create(user=actor)
    # Not obj=token: a token's primary key is the secret itself.
    record(actor=actor, action="create", section="API token")
    return token


@transaction.atomic
def revoke_api_token(*, actor: User) -> bool:
    deleted, _ = Token.objects.filter(user=actor).delete()
    if deleted:
        record(actor=actor, action="delete", section="API token")
    return bool(deleted)


IDENTITY_NEEDED = "Enter your password or a code from your authenticator app to sign."
WRONG_IDENTITY = (
    "That is not your password or a current code from your authenticator app. Try again."
)


def confirm_identity(actor: User, *, password: str = "", code: str = "") -> str:
    """Signing asks who is signing once more: the password, or a current authenticator code.

    Returns how the signer confirmed (``"password"`` or ``"mfa"``); a wrong or missing answer
    is a field error on ``password``. A code is checked against the signer's own TOTP
    authenticator and cannot be used twice (allauth marks it used).
    """
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    password = password or ""
    code = "".join((code or "").split())
    if not password and not code:
        raise ValidationError({"password": IDENTITY_NEEDED})
    if password and actor.check_password(password):
        return "password"
    if code:
        authenticator = Authenticator.objects.filter(
            user=actor, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is not None and TOTP(authenticator).validate_code(code):
            return "mfa"
    raise ValidationError({"password": WRONG_IDENTITY})
