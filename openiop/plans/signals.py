"""Every new organization starts with the standard plan library (it edits its own copy)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from openiop.accounts.models import Organization
from openiop.plans.services import install_default_library


@receiver(post_save, sender=Organization, dispatch_uid="plans_default_library")
def _library_for_new_organization(
    sender: type[Organization],
    instance: Organization,
    created: bool,
    raw: bool = False,
    **kwargs: Any,
) -> None:
    if created and not raw:
        install_default_library(instance)
