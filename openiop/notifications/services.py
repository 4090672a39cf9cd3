"""Sending and reading in-app notifications (every write goes through here)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import User
from openiop.notifications.models import Notification
from openiop.notifications.tasks import email_notice


@transaction.atomic
def notify(
    *,
    recipients: Iterable[User],
    message: str,
    link: str = "",
    urgent: bool = False,
    email: bool = True,
) -> list[Notification]:
    """In-app notice to each recipient, plus an e-mail without PHI after the commit."""
    users = {u.pk: u for u in recipients if u is not None and u.is_active}
    rows = Notification.objects.bulk_create(
        [
            Notification(recipient_id=pk, message=message[:300], link=link, urgent=urgent)
            for pk in users
        ]
    )
    if email and users:
        ids = list(users)
        transaction.on_commit(lambda: email_notice.enqueue(user_ids=ids, urgent=urgent, link=link))
    return rows


def mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark some (or all) of the user's unread notifications as read."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())
