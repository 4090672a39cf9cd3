"""Reading the audit trail: for auditors and administrators, filtered, never edited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    patient_id: int | None = None
    action: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


def audit_events(user: User, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Events at the user's facilities (and sign-ins of their colleagues), newest first."""
    if not user.reads_audit_trail:
        return AuditEvent.objects.none()
    facility_ids = list(facilities_for(user).values_list("pk", flat=True))
    colleagues = User.objects.filter(facilities__in=facility_ids).values("pk")
    qs = AuditEvent.objects.filter(
        Q(facility_id__in=facility_ids) | Q(facility_id__isnull=True, actor_id__in=colleagues)
    )
    if filters.actor_id:
        qs = qs.filter(actor_id=filters.actor_id)
    if filters.patient_id:
        qs = qs.filter(patient_id=filters.patient_id)
    if filters.action:
        qs = qs.filter(action=filters.action)
    zone = timezone.get_current_timezone()
    if filters.start:
        qs = qs.filter(at__gte=dt.datetime.combine(filters.start, dt.time.min, tzinfo=zone))
    if filters.end:
        qs = qs.filter(
            at__lt=dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        )
    return qs.order_by("-at", "-id")
