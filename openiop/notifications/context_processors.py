from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from openiop.notifications.selectors import unread_count


def inbox(request: HttpRequest) -> dict[str, Any]:
    """Unread messages for the nav badge, counted only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_messages": 0}
    return {"unread_messages": SimpleLazyObject(lambda: unread_count(user))}
