"""E-mail about a notification. The subject and body carry no patient information (SPEC §10)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django_tasks import task

from openiop.accounts.models import User


@task()
def email_notice(*, user_ids: list[int], urgent: bool, link: str) -> int:
    emails = list(
        User.objects.filter(pk__in=user_ids, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not emails:
        return 0
    subject = "OpenIOP: urgent — please sign in" if urgent else "OpenIOP: you have a new message"
    url = f"{settings.OPENIOP_BASE_URL}{link}" if link else settings.OPENIOP_BASE_URL
    body = (
        "There is a new message for you in OpenIOP.\n\n"
        f"Sign in to read it: {url}\n\n"
        "For privacy this e-mail never contains patient information."
    )
    sent = 0
    for email in emails:
        sent += send_mail(subject, body, None, [email], fail_silently=False)
    return sent
