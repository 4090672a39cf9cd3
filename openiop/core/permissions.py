"""API permission; kept apart from views so DRF can import it while it starts up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from rest_framework import permissions

if TYPE_CHECKING:
    from rest_framework.request import Request


class IsStaffUser(permissions.BasePermission):
    """Signed-in, active staff; what they may see is narrowed further by the selectors."""

    message = "Sign in first: send your API token or a session cookie."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        # Tokens are checked here, not in RequireMFAMiddleware: DRF authenticates them later.
        from openiop.accounts.middleware import user_has_mfa

        if settings.OPENIOP_REQUIRE_MFA and not user_has_mfa(user):
            self.message = "Set up two-step sign-in (an authenticator app) first."
            return False
        return True
