"""The chart's Documents tab, the download and the removal of a document.

Every page checks the role first (403), then opens the chart through ``chart_access`` (404
out of scope, audited). A file is served by ``download`` only: permission-checked, audited,
never cached, never sniffed into another type.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from openiop.accounts.models import User
from openiop.attachments import rules, selectors, services, storage
from openiop.attachments.forms import AttachmentForm, RemoveForm
from openiop.attachments.models import Attachment
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.plans.forms import apply_errors

logger = logging.getLogger(__name__)

SECTION = "documents"
TAB = "documents"
# A document opened in the browser may run nothing and load nothing from elsewhere.
INLINE_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _open(request: HttpRequest, patient_id: int) -> tuple[User, ChartAccess, dict[str, Any]]:
    """The role check (403), then the chart (404 out of scope, audited)."""
    user = _user(request)
    selectors.require(user)
    access = chart_access(user, patient_id, section=SECTION)
    return user, access, chart_context(user, access, tab=TAB)


def chart_url(patient_id: int) -> str:
    return reverse("attachments:chart", kwargs={"patient_id": patient_id})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The chart's documents (a constant number of queries) and the upload form."""
    user, access, context = _open(request, patient_id)
    patient = access.patient
    limit = services.max_bytes()
    may_upload = user.can("attachments.add_attachment")
    form = AttachmentForm(limit=limit)
    status = 200
    if request.method == "POST":
        if not may_upload:
            raise PermissionDenied(services.REFUSED)
        form = AttachmentForm(request.POST, request.FILES, limit=limit)
        if form.is_valid():
            try:
                attachment = services.attach(
                    actor=user,
                    patient=patient,
                    upload=form.cleaned_data["file"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request,
                    f"Added to the chart: {attachment.description or attachment.original_name} "
                    f"({attachment.get_content_type_display()}, "
                    f"{rules.megabytes(attachment.size)}).",
                )
                return redirect(chart_url(patient.pk))
        status = 400
    documents = list(selectors.attachments_of(user, patient))
    removed = list(selectors.attachments_of(user, patient, removed=True))
    context.update(
        {
            "documents": [(d, services.may_remove(user, d)) for d in documents],
            "removed": removed,
            "form": form,
            "may_upload": may_upload,
            "limit": rules.limit_text(limit),
            "accepted": rules.ACCEPTED_TEXT,
            "sees_everything": user.can("attachments.view_all_attachments"),
        }
    )
    with timezone.override(patient.facility.zone):
        return render(request, "attachments/chart.html", context, status=status)


@login_required
@require_safe
def download(request: HttpRequest, key: uuid.UUID) -> FileResponse:
    """The file itself, after the same checks as the chart; every copy is in the audit trail.

    ``?view=1`` opens it in the browser (a PDF or an image), otherwise it is saved under a
    generic name that holds neither the patient's nor the original file name.
    """
    user = _user(request)
    attachment = selectors.attachment_for(user, key)
    if attachment.removed_at is not None:
        record(
            actor=user,
            action=AuditEvent.Action.DENIED,
            patient=attachment.patient,
            obj=attachment,
            section=SECTION,
            detail={"removed": True},
        )
        raise Http404("This document was removed from the chart.")
    inline = request.GET.get("view") == "1"
    try:
        handle = storage.open_stored(attachment.storage_name)
    except (FileNotFoundError, ValueError):
        logger.error("Document %s is missing from the attachments folder.", attachment.key)
        raise Http404("The file is missing from storage.") from None
    record(
        actor=user,
        action=AuditEvent.Action.VIEW if inline else AuditEvent.Action.EXPORT,
        patient=attachment.patient,
        obj=attachment,
        section=SECTION,
        detail={
            "opened": "in the browser" if inline else "downloaded",
            "sha256": attachment.sha256,
        },
    )
    return file_response(attachment, handle, inline=inline)


def file_response(attachment: Attachment, handle: Any, *, inline: bool) -> FileResponse:
    day = timezone.localdate(attachment.uploaded_at, timezone=attachment.patient.facility.zone)
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=rules.download_name(attachment.content_type, day),
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    if inline:
        response["Content-Security-Policy"] = INLINE_POLICY
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def remove(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    """Confirm, with the reason, then take the document out of the chart (kept in storage)."""
    user = _user(request)
    attachment = selectors.attachment_for(user, key)
    if not services.may_remove(user, attachment):
        raise PermissionDenied(services.REMOVE_REFUSED)
    user, access, context = _open(request, attachment.patient_id)
    back = chart_url(access.patient.pk)
    if attachment.removed_at is not None:
        messages.info(request, rules.ALREADY_REMOVED)
        return redirect(back)
    form = RemoveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.remove(actor=user, attachment=attachment, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                "The document is no longer in the chart. It is kept in storage for the legal "
                "record, with who removed it and why.",
            )
            return redirect(back)
    context.update({"attachment": attachment, "form": form, "back": back})
    status = 400 if form.errors else 200
    with timezone.override(access.patient.facility.zone):
        return render(request, "attachments/remove.html", context, status=status)
