"""Every write of a chart's documents: attaching a file and removing it from the chart.

The file is checked before anything is written: its size against the limit, its type from
its first bytes (PDF, JPEG or PNG; the name is not trusted) and, for an image, that Pillow can
read it as that format. A refused file leaves nothing behind: no row, no file. A removed
document stays in storage for the legal record; it only leaves the chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from openiop.accounts.models import User
from openiop.attachments import rules, storage
from openiop.attachments.models import Attachment
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients

SECTION = "documents"
REFUSED = "Your role does not add documents to charts."
REMOVE_REFUSED = (
    "Only the clinical team, administrators or whoever added the document remove it from a chart."
)
NOT_IN_CARE = "This patient is not in your care."
CHUNK = 64 * 1024


def max_bytes() -> int:
    """The size limit: ``OPENIOP_ATTACHMENTS_MAX_MB`` (default 10) megabytes, inclusive."""
    megabytes = int(getattr(settings, "OPENIOP_ATTACHMENTS_MAX_MB", rules.DEFAULT_MAX_MB))
    return megabytes * rules.MB


def _in_care(actor: User, patient_id: int) -> None:
    if not visible_patients(actor).filter(pk=patient_id).exists():
        raise PermissionDenied(NOT_IN_CARE)


def _size(upload: Any) -> int:
    size = getattr(upload, "size", None)
    if isinstance(size, int):
        return size
    upload.seek(0, 2)
    end = int(upload.tell())
    upload.seek(0)
    return end


def _head(upload: Any) -> bytes:
    upload.seek(0)
    head = upload.read(rules.HEAD_BYTES)
    upload.seek(0)
    return bytes(head or b"")


def _chunks(upload: Any) -> Iterator[bytes]:
    upload.seek(0)
    while chunk := upload.read(CHUNK):
        yield bytes(chunk)


def image_error(upload: Any, content_type: str) -> str | None:
    """Whether Pillow reads the image as the format its first bytes claim (when Pillow is
    installed; WeasyPrint brings it). Only the declared format's decoder is tried."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with WeasyPrint
        return None
    expected = rules.PILLOW_FORMATS[content_type]
    upload.seek(0)
    try:
        with Image.open(upload, formats=[expected]) as image:
            found = image.format
            image.verify()
    except Exception:  # any decoder error means the same to the counselor
        return rules.UNREADABLE_IMAGE
    finally:
        upload.seek(0)
    return None if found == expected else rules.UNREADABLE_IMAGE


def file_error(upload: Any, *, limit: int) -> tuple[str | None, str | None]:
    """(content type, None) for a file that may be attached, else (None, the reason)."""
    if upload is None:
        return None, "Choose the file to attach."
    problem = rules.size_error(_size(upload), limit)
    if problem:
        return None, problem
    content_type = rules.sniff(_head(upload))
    if content_type is None:
        return None, rules.WRONG_TYPE
    if content_type in rules.IMAGES:
        problem = image_error(upload, content_type)
        if problem:
            return None, problem
    return content_type, None


def _about_error(about: models.Model | None, patient: Patient) -> str | None:
    if about is None:
        return None
    if about.pk is None:
        return "Save the record this document is about first."
    owner = about.pk if isinstance(about, Patient) else getattr(about, "patient_id", None)
    if owner is not None and owner != patient.pk:
        return "The record this document is about belongs to another patient."
    return None


@transaction.atomic
def attach(
    *,
    actor: User,
    patient: Patient,
    upload: Any,
    description: str = "",
    about: models.Model | None = None,
) -> Attachment:
    """Store a PDF, JPEG or PNG of up to 10 MB in the patient's chart. ``upload`` is an
    uploaded file (anything with ``read``/``seek`` and a ``name``); ``about`` optionally links
    the document to another record of this patient (a meeting slip, a drug-test report…)."""
    if not actor.can("attachments.add_attachment"):
        raise PermissionDenied(REFUSED)
    _in_care(actor, patient.pk)
    errors: dict[str, str] = {}
    content_type, problem = file_error(upload, limit=max_bytes())
    if problem:
        errors["file"] = problem
    text = rules.clean_description(description)
    if len(text) > 200:
        errors["description"] = "Keep the description under 200 characters."
    problem = _about_error(about, patient)
    if problem:
        errors["about"] = problem
    if errors:
        raise ValidationError(errors)
    assert content_type is not None  # noqa: S101 - checked above
    stored = storage.save(_chunks(upload))
    try:
        attachment = Attachment.objects.create(
            patient=patient,
            content_type=content_type,
            size=stored.size,
            sha256=stored.sha256,
            original_name=rules.clean_name(getattr(upload, "name", "") or ""),
            description=text,
            storage_name=stored.name,
            about_type=ContentType.objects.get_for_model(about) if about is not None else None,
            about_id=str(about.pk) if about is not None else "",
            uploaded_by=actor,
        )
        record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            patient=patient,
            obj=attachment,
            section=SECTION,
            changes={
                "content_type": [None, content_type],
                "size": [None, stored.size],
                "sha256": [None, stored.sha256],
                "description": [None, text],
            },
            detail={"about": f"{attachment.about_type_id}:{attachment.about_id}"}
            if about is not None
            else None,
        )
    except BaseException:
        storage.discard(stored.name)  # the row was refused: leave no file behind
        raise
    return attachment


def may_remove(user: User, attachment: Attachment) -> bool:
    return user.can("attachments.remove_attachment") or (
        attachment.uploaded_by_id == user.pk and user.can("attachments.add_attachment")
    )


@transaction.atomic
def remove(*, actor: User, attachment: Attachment, reason: str) -> Attachment:
    """Take a document out of the chart, with the reason. The file and its checksum stay in
    storage (the legal record); the chart and the download no longer offer it."""
    locked = (
        Attachment.objects.select_for_update(of=("self",))
        .select_related("patient")
        .get(pk=attachment.pk)
    )
    if not may_remove(actor, locked):
        raise PermissionDenied(REMOVE_REFUSED)
    _in_care(actor, locked.patient_id)
    why = rules.clean_description(reason)
    if locked.removed_at is not None:
        raise ValidationError(rules.ALREADY_REMOVED)
    if len(why) < 3:
        raise ValidationError({"reason": rules.REASON_NEEDED})
    if len(why) > 200:
        raise ValidationError({"reason": "Keep the reason under 200 characters."})
    now: dt.datetime = timezone.now()
    locked.removed_at = now
    locked.removed_by = actor
    locked.removed_reason = why
    locked.save(update_fields=["removed_at", "removed_by", "removed_reason"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=locked.patient,
        obj=locked,
        section=SECTION,
        changes={"removed_at": [None, now.isoformat()], "removed_by": [None, actor.pk]},
        reason=why,
    )
    return locked
