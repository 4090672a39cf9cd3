"""The public help request's flood guard: at most N posts per client address per period.

``settings.OPENIOP_HELP_REQUEST_RATE`` (default "5/h") guards both the web form and the API's
public create. Counters live in Django's cache (Redis in production, shared by every worker);
each window is fixed, e.g. one hour, so an address gets its allowance back when the hour turns.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from openiop.intake import rules

DEFAULT_RATE = "5/h"


def help_request_rate() -> tuple[int, int]:
    return rules.parse_rate(getattr(settings, "OPENIOP_HELP_REQUEST_RATE", DEFAULT_RATE))


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the left-most X-Forwarded-For address behind a trusted proxy."""
    if getattr(settings, "OPENIOP_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _key(address: str, window: int) -> str:
    # Hashed so the cache never holds the address itself.
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return f"intake:help-request:{digest}:{window}"


def allow_help_request(request: HttpRequest) -> bool:
    """Count this post for its address; False when the address is over the limit."""
    limit, period = help_request_rate()
    window = int(time.time() // period)
    key = _key(client_address(request), window)
    cache.add(key, 0, timeout=period + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period + 5)
        count = 1
    return count <= limit


def retry_after_seconds() -> int:
    _, period = help_request_rate()
    return max(1, int(period - time.time() % period))
