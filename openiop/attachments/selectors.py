"""Reads of a chart's documents, scoped to what the user may see.

A document of a patient outside the user's scope answers exactly as one that does not exist
(404), and the attempt is in the audit trail. The front desk sees only the documents it added.
"""

from __future__ import annotations

import uuid

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from openiop.accounts.models import User
from openiop.attachments.models import Attachment
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients

SECTION = "documents"
REFUSED = "Documents in the chart are for the clinical team, admissions and the front desk."


def require(user: User) -> None:
    if not user.can("attachments.view_attachment"):
        raise PermissionDenied(REFUSED)


#: Documents about clinical records (a meeting slip, a note…) follow those records' rules:
#: only the clinical team sees them, whoever else may see the chart's other documents.
CLINICAL_APPS = ("recovery", "notes", "measures")


def _scoped(user: User) -> QuerySet[Attachment]:
    qs = Attachment.objects.filter(patient__in=visible_patients(user).values("pk"))
    if not user.can("attachments.view_all_attachments"):
        qs = qs.filter(uploaded_by=user)
    if not user.is_clinical:
        qs = qs.exclude(about_type__app_label__in=CLINICAL_APPS)
    return qs


def attachments_of(
    user: User, patient: Patient | int, *, removed: bool = False
) -> QuerySet[Attachment]:
    """The documents of one chart the user may see, newest first: those in the chart, or
    with ``removed=True`` those taken out of it (one query either way)."""
    require(user)
    return (
        _scoped(user)
        .filter(patient=patient, removed_at__isnull=not removed)
        .select_related("uploaded_by", "removed_by")
        .order_by("-uploaded_at", "-id")
    )


def attachments_about(user: User, about: models.Model) -> QuerySet[Attachment]:
    """The documents in the chart linked to one record (a meeting slip, a drug test…)."""
    require(user)
    return (
        _scoped(user)
        .filter(
            about_type=ContentType.objects.get_for_model(about),
            about_id=str(about.pk),
            removed_at__isnull=True,
        )
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "-id")
    )


def attachment_for(user: User, key: uuid.UUID | str) -> Attachment:
    """One document by its key, or 404 — alike for an unknown key and one out of scope."""
    require(user)
    try:
        parsed = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
    except ValueError:
        parsed = None
    found = (
        _scoped(user)
        .select_related("patient", "patient__facility", "uploaded_by", "removed_by")
        .filter(key=parsed)
        .first()
        if parsed is not None
        else None
    )
    if found is None:
        record(
            actor=user,
            action=AuditEvent.Action.DENIED,
            section=SECTION,
            detail={"attachment": str(key)[:64]},
        )
        raise Http404("No document here.")
    return found
