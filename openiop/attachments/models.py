"""Scanned and uploaded documents in a patient's chart: PDF, JPEG and PNG up to 10 MB.

The file lives in private storage outside the web root (``OPENIOP_ATTACHMENTS_DIR``) under a
random name; the original file name is kept only here. Nothing serves it but the
permission-checked, audited download view. What the file is *about* (a meeting slip, a
note, a drug-test report…) is an optional link to another record.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from openiop.patients.models import Patient


class Attachment(models.Model):
    class Kind(models.TextChoices):
        PDF = "application/pdf", "PDF"
        JPEG = "image/jpeg", "JPEG image"
        PNG = "image/png", "PNG image"

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="attachments")
    content_type = models.CharField(max_length=20, choices=Kind.choices)
    size = models.PositiveIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255)
    description = models.CharField(max_length=200, blank=True)
    storage_name = models.CharField(max_length=100, unique=True, editable=False)
    about_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    about_id = models.CharField(max_length=40, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "uploaded_at"], name="attachment_patient"),
            models.Index(fields=["about_type", "about_id"], name="attachment_about"),
        ]

    def __str__(self) -> str:
        return self.description or self.get_content_type_display()
