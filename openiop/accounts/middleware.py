from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone

from openiop.accounts.selectors import facilities_for

# Paths a signed-in user without an authenticator may still reach: enrolment, sign-out, assets.
_MFA_EXEMPT_PREFIXES = (
    "/accounts/",
    "/static/",
    "/healthz",
)


def user_has_mfa(user: object) -> bool:
    """Whether the user has an authenticator app; asked once per request (kept on the user)."""
    from allauth.mfa.models import Authenticator

    cached = getattr(user, "_openiop_has_mfa", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._openiop_has_mfa = cached  # type: ignore[attr-defined]
    return bool(cached)


class RequireMFAMiddleware:
    """Staff must enrol an authenticator app (TOTP) before they reach any patient information."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            settings.OPENIOP_REQUIRE_MFA
            and user.is_authenticated
            and not request.path.startswith(_MFA_EXEMPT_PREFIXES)
            and not user_has_mfa(user)  # each request: removing the authenticator counts at once
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "Set up two-step sign-in (an authenticator app) first."},
                    status=403,
                )
            else:
                return redirect("mfa_required")
        return self.get_response(request)


class CurrentFacilityMiddleware:
    """Puts the facility the user is working in on the request (the facility switcher)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.facility = None  # type: ignore[attr-defined]
        request.user_facilities = []  # type: ignore[attr-defined]
        if request.user.is_authenticated and not request.path.startswith("/static/"):
            facilities = list(facilities_for(request.user))
            wanted = request.session.get("facility_id")
            chosen = next((f for f in facilities if f.pk == wanted), None)
            if chosen is None and facilities:
                chosen = facilities[0]
            request.facility = chosen  # type: ignore[attr-defined]
            request.user_facilities = facilities  # type: ignore[attr-defined]
        if request.facility is None:  # type: ignore[attr-defined]
            return self.get_response(request)
        # Times on every page are the facility's wall clock, not the server's UTC.
        timezone.activate(request.facility.zone)  # type: ignore[attr-defined]
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
