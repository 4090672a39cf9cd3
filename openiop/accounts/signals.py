"""Sign-in, sign-out and failed sign-in attempts go into the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from openiop.audit.models import AuditEvent
from openiop.audit.services import record


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record(actor=user, action=AuditEvent.Action.SIGN_IN)


@receiver(user_logged_out)
def _signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(actor=user, action=AuditEvent.Action.SIGN_OUT)


@receiver(user_login_failed)
def _sign_in_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    # The typed address is kept (not the password) so an auditor can see guessing.
    attempted = str(credentials.get("email") or credentials.get("username") or "")[:254]
    # Attributed to the account when one has that address, so the auditors of that account's
    # organization see it; attempts on unknown addresses are visible in the admin only.
    from openiop.accounts.models import User

    account = User.objects.filter(email__iexact=attempted).first() if attempted else None
    record(
        actor=None,
        action=AuditEvent.Action.SIGN_IN_FAILED,
        detail={"attempted": attempted},
        target_account=account,
    )
