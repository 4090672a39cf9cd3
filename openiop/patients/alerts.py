"""Clinical alerts on the chart: raised by any capability, acknowledged with the action taken."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.accounts.selectors import staff_with_roles
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, snapshot
from openiop.notifications.services import notify
from openiop.patients.models import CareTeamMember, ClinicalAlert, Patient
from openiop.patients.selectors import visible_patients

ALERT_FIELDS = ("kind", "severity", "message", "next_step", "source_type", "source_id")


def default_recipients(patient: Patient) -> list[User]:
    """The patient's active care team (primary clinician first) and the clinical directors."""
    team = [
        m.user
        for m in CareTeamMember.objects.filter(patient=patient, ended_on__isnull=True)
        .select_related("user")
        .order_by("role")
    ]
    directors = list(staff_with_roles(patient.facility, [Role.CLINICAL_DIRECTOR]))
    seen: dict[int, User] = {}
    for u in [*team, *directors]:
        seen.setdefault(u.pk, u)
    return list(seen.values())


@transaction.atomic
def raise_alert(
    *,
    patient: Patient,
    kind: str,
    message: str,
    next_step: str = "",
    severity: str = ClinicalAlert.Severity.URGENT,
    source_type: str = "",
    source_id: str = "",
    raised_by: User | None = None,
    recipients: Iterable[User] | None = None,
) -> ClinicalAlert:
    """Put an alert on the chart and tell the people who must act on it."""
    alert = ClinicalAlert.objects.create(
        patient=patient,
        kind=kind,
        severity=severity,
        message=message,
        next_step=next_step,
        source_type=source_type,
        source_id=str(source_id),
        raised_by=raised_by,
    )
    record(
        actor=raised_by,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=alert,
        section="clinical alert",
        changes={k: [None, v] for k, v in snapshot(alert, ALERT_FIELDS).items()},
    )
    people = list(recipients) if recipients is not None else default_recipients(patient)
    notify(
        recipients=people,
        message=f"{alert.get_kind_display()} for MRN {patient.mrn}: {message}",
        link=reverse("patients:chart", args=[patient.pk]),
        urgent=severity == ClinicalAlert.Severity.URGENT,
    )
    return alert


@transaction.atomic
def acknowledge_alert(*, actor: User, alert: ClinicalAlert, action_taken: str) -> ClinicalAlert:
    if not actor.is_clinical:
        raise PermissionDenied("Only the clinical team can acknowledge a clinical alert.")
    action_taken = action_taken.strip()
    if len(action_taken) < 5:
        raise ValidationError(
            {"action_taken": "Say what was done, for example 'Safety plan reviewed with patient'."}
        )
    alert = ClinicalAlert.objects.select_for_update().select_related("patient").get(pk=alert.pk)
    if alert.acknowledged_at is not None:
        raise ValidationError("Someone has already acknowledged this alert.")
    alert.acknowledged_by = actor
    alert.acknowledged_at = timezone.now()
    alert.action_taken = action_taken
    alert.save(update_fields=["acknowledged_by", "acknowledged_at", "action_taken"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=alert.patient,
        obj=alert,
        section="clinical alert",
        changes={"acknowledged": [False, True], "action_taken": ["", action_taken]},
    )
    return alert


def open_alerts(patient: Patient) -> QuerySet[ClinicalAlert]:
    return ClinicalAlert.objects.filter(patient=patient, acknowledged_at__isnull=True)


def open_alerts_for(user: User, *, limit: int = 20) -> list[ClinicalAlert]:
    """Unacknowledged alerts on patients the user may see (clinical team only)."""
    if not user.is_clinical:
        return []
    return list(
        ClinicalAlert.objects.filter(
            acknowledged_at__isnull=True,
            patient__in=visible_patients(user, include_break_glass=False).values("pk"),
        )
        .select_related("patient")
        .order_by("severity", "-raised_at")[:limit]
    )
