from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from openiop.audit.context import RequestOrigin, reset_origin, set_origin


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is what the socket saw; behind a proxy gunicorn's --forwarded-allow-ips
    # rewrites it, so a client cannot forge its address with a header.
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith("/api/") else "web"
        token = set_origin(
            RequestOrigin(
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
                channel=channel,
            )
        )
        try:
            return self.get_response(request)
        finally:
            reset_origin(token)
