"""Writes about staff accounts that are not plain administration."""

from __future__ import annotations

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
