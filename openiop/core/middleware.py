from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.audit.services import record

SESSION_KEY = "last_activity"


class IdleTimeoutMiddleware:
    """Ends a staff session after OPENIOP_IDLE_TIMEOUT_MINUTES without a request.

    Shared workstations are common in clinics; an unattended chart must not stay open.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not request.path.startswith("/static/"):
            now = time.time()
            last = request.session.get(SESSION_KEY)
            limit = settings.OPENIOP_IDLE_TIMEOUT_MINUTES * 60
            if isinstance(last, int | float) and now - last > limit:
                user = request.user
                logout(request)
                record(actor=user, action=AuditEvent.Action.SESSION_TIMEOUT)
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "Your session ended after a period of inactivity."}, status=401
                    )
                messages.info(
                    request,
                    "You were signed out after "
                    f"{settings.OPENIOP_IDLE_TIMEOUT_MINUTES} minutes without activity. "
                    "Sign in again to continue.",
                )
                login_url = reverse("account_login")
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = login_url
                    return response
                return redirect(login_url)
            # Saving the session costs a write; a 30-second resolution is plenty for 15 minutes.
            if not isinstance(last, int | float) or now - last >= 30:
                request.session[SESSION_KEY] = int(now)
        return self.get_response(request)
