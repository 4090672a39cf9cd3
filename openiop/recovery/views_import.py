"""Importing laboratory results from a CSV file: upload → preview → confirm.

The preview shows every row with its problem and imports nothing if any row is bad. The
file's text travels back in the confirm form and is checked again from scratch (nothing
from the first look is trusted), then every test goes in through record_drug_test with
source "csv" — all of them or none.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from openiop.accounts.models import Facility, User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.recovery import csv_import, services
from openiop.recovery.forms import MAX_UPLOAD_BYTES, ConfirmImportForm, ImportForm

SECTION = "lab results import"


def _facility(request: HttpRequest) -> tuple[User, Facility]:
    user: User = request.user  # type: ignore[assignment]
    if not user.can("recovery.import_results"):
        raise PermissionDenied("Only the clinical team imports laboratory results.")
    facility: Facility | None = getattr(request, "facility", None)
    if facility is None:
        raise PermissionDenied("You are not assigned to a facility yet.")
    return user, facility


def _show(
    request: HttpRequest,
    user: User,
    facility: Facility,
    text: str,
    name: str,
    *,
    problem: str = "",
) -> HttpResponse:
    preview = csv_import.preview(user, facility, text)
    record_list(
        actor=user,
        patients=preview.patients,
        section=f"{SECTION} preview",
        facility_id=facility.pk,
        detail={"rows": len(preview.rows), "problems": len(preview.bad_rows)},
    )
    context: dict[str, Any] = {
        "preview": preview,
        "name": name,
        "problem": problem,
        "confirm": ConfirmImportForm(initial={"content": text, "name": name})
        if preview.ok
        else None,
        "upload": ImportForm(),
        "results_count": sum(len(t.results) for t in preview.tests),
    }
    with timezone.override(facility.zone):
        return render(request, "recovery/import_preview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def import_results(request: HttpRequest) -> HttpResponse:
    user, facility = _facility(request)
    if request.method == "POST" and "confirm" in request.POST:
        return _confirm(request, user, facility)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = csv_import.decode(upload.read(MAX_UPLOAD_BYTES + 1))
        except ValueError as error:
            form.add_error("file", str(error))
        else:
            return _show(request, user, facility, text, upload.name or "")
    return render(request, "recovery/import.html", {"form": form, "facility": facility})


def _confirm(request: HttpRequest, user: User, facility: Facility) -> HttpResponse:
    form = ConfirmImportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The file did not come back whole: upload it again.")
        return redirect("recovery:import")
    text = form.cleaned_data["content"].replace("\r\n", "\n")
    name = form.cleaned_data.get("name", "")
    preview = csv_import.preview(user, facility, text)
    if not preview.ok:
        return _show(
            request,
            user,
            facility,
            text,
            name,
            problem="Something changed since the preview. Nothing was imported.",
        )
    try:
        made = services.import_lab_results(actor=user, tests=preview.tests)
    except ValidationError as error:
        return _show(
            request,
            user,
            facility,
            text,
            name,
            problem=f"Nothing was imported: {' '.join(error.messages)}",
        )
    record(
        actor=user,
        action=AuditEvent.Action.CREATE,
        facility_id=facility.pk,
        section=SECTION,
        detail={"tests": len(made), "rows": len(preview.rows), "patients": len(preview.patients)},
    )
    unexpected = sum(1 for t in made if t.results.filter(reading="unexpected").exists())
    text_unexpected = (
        f" {unexpected} with an unexpected positive: each raised an alert on the chart."
        if unexpected
        else ""
    )
    messages.success(
        request,
        f"Imported {len(made)} test(s) for {len(preview.patients)} patient(s).{text_unexpected}",
    )
    return redirect("recovery:import")
