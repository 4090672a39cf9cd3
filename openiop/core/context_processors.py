from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def openiop(request: HttpRequest) -> dict[str, Any]:
    return {
        "current_facility": getattr(request, "facility", None),
        "user_facilities": getattr(request, "user_facilities", []),
        "idle_timeout_seconds": settings.OPENIOP_IDLE_TIMEOUT_MINUTES * 60,
        "demo_mode": settings.OPENIOP_DEMO,
        "mfa_required": settings.OPENIOP_REQUIRE_MFA,
    }
