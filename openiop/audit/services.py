"""Writing the audit trail. Every service that touches patient information calls these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import models

from openiop.audit.context import current_origin
from openiop.audit.models import AuditEvent


def plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited values of a model instance (foreign keys by id)."""
    names = (
        list(fields)
        if fields is not None
        else [f.attname for f in instance._meta.concrete_fields if f.name != "id"]
    )
    return {name: plain(getattr(instance, name)) for name in names}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Field → [before, after] for the values that changed."""
    keys = sorted(set(before) | set(after))
    return {
        key: [before.get(key), after.get(key)] for key in keys if before.get(key) != after.get(key)
    }


def _label(actor: Any) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system"
    return str(getattr(actor, "email", "") or actor)


def _event(
    *,
    actor: Any,
    action: str,
    patient: Any = None,
    facility_id: int | None = None,
    obj: models.Model | None = None,
    section: str = "",
    changes: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
    reason: str = "",
    target_account: Any = None,
) -> AuditEvent:
    """One audit row. ``target_account`` names the account a failed sign-in was aimed at."""
    origin = current_origin()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    if facility_id is None and patient is not None:
        facility_id = getattr(patient, "facility_id", None)
    if target_account is not None:
        actor, authenticated = target_account, True
    return AuditEvent(
        actor=actor if authenticated else None,
        actor_label=_label(actor) if not target_account else target_account.email,
        action=action,
        patient_id=getattr(patient, "pk", patient) if patient is not None else None,
        facility_id=facility_id,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        section=section,
        changes=dict(changes or {}),
        detail=dict(detail or {}),
        reason=reason,
        ip=origin.ip,
        user_agent=origin.user_agent,
        channel=origin.channel,
    )


def record(**kwargs: Any) -> AuditEvent:
    event = _event(**kwargs)
    event.save()
    return event


def record_many(events: Iterable[Mapping[str, Any]]) -> int:
    rows = [_event(**e) for e in events]
    AuditEvent.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def record_list(
    *,
    actor: Any,
    patients: Iterable[Any],
    section: str,
    action: str = AuditEvent.Action.VIEW,
    facility_id: int | None = None,
    obj: models.Model | None = None,
    detail: Mapping[str, Any] | None = None,
    per_patient: Mapping[int, Mapping[str, Any]] | None = None,
) -> int:
    """A list of patients was shown: one record per patient (one insert for them all), or
    one record saying nobody was. ``patients`` are Patient rows or ids; without
    ``facility_id`` each patient's own facility is recorded (looked up in one query for
    ids). ``per_patient`` adds detail to one patient's record."""
    extra = dict(detail or {})
    where: dict[int, int | None] = {}
    for p in patients:
        where.setdefault(getattr(p, "pk", p), getattr(p, "facility_id", facility_id))
    if not where:
        record(
            actor=actor,
            action=action,
            facility_id=facility_id,
            obj=obj,
            section=section,
            detail={**extra, "results": 0},
        )
        return 1
    if facility_id is None and None in where.values():
        from openiop.patients.models import Patient  # audit sits below patients

        where.update(Patient.objects.filter(pk__in=list(where)).values_list("pk", "facility_id"))
    return record_many(
        {
            "actor": actor,
            "action": action,
            "patient": pk,
            "facility_id": facility_id or where[pk],
            "obj": obj,
            "section": section,
            "detail": {**extra, **(per_patient or {}).get(pk, {})},
        }
        for pk in sorted(where)
    )
