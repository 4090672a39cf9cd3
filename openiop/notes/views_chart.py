"""The chart's Notes tab, its printouts (PDF) and the export of signed notes (CSV).

The role is checked first (403), then the chart is opened through ``chart_access`` (404 out
of scope, audited). A group note appears as the patient's part only: the shared part and
their own entry. Prints are audited as PRINT, the CSV as EXPORT.
"""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET

from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.notes import printing, selectors
from openiop.notes.forms import ChartFilterForm
from openiop.notes.models import Note
from openiop.notes.views_common import SECTION, card_for, entry_card, note_card, user_of
from openiop.patients.chart import chart_context
from openiop.patients.selectors import chart_access

WRITE_KINDS = [
    (Note.Kind.INDIVIDUAL, "Write an individual note"),
    (Note.Kind.FAMILY, "Write a family-session note"),
    (Note.Kind.CASE_MANAGEMENT, "Write a case-management note"),
]


@login_required
@require_GET
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Every note of the chart, newest first, with its status, late entry and addenda."""
    user = user_of(request)
    selectors.require_reader(user)
    access = chart_access(user, patient_id, section=SECTION)
    patient = access.patient
    filters = ChartFilterForm(request.GET or None)
    kinds, status = filters.chosen()
    items = selectors.chart_items(patient, kinds=kinds, signed_only=status == "signed")
    if status == "unsigned":
        items = [i for i in items if not i.document.is_signed]
    context = chart_context(user, access, tab="notes")
    context.update(
        {
            "cards": [card_for(i) for i in items],
            "filters": filters,
            "filtered": bool(kinds or status),
            "write_kinds": WRITE_KINDS,
            "may_write": user.can("notes.add_note"),
        }
    )
    with timezone.override(patient.facility.zone):
        return render(request, "notes/chart.html", context)


@login_required
@require_GET
def export(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's signed notes as CSV: one row per note or per group-note entry."""
    user = user_of(request)
    selectors.require_reader(user)
    access = chart_access(
        user, patient_id, section=f"{SECTION} (export)", action=AuditEvent.Action.EXPORT
    )
    patient = access.patient
    items = selectors.chart_items(patient, signed_only=True)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="clinical-notes-{patient.mrn or patient.pk}.csv"'
    )
    writer = csv.writer(response)
    for row in printing.csv_rows(items, patient.facility.zone):
        writer.writerow(row)
    return response


def _pdf(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def print_note(request: HttpRequest, patient_id: int, pk: int) -> HttpResponse:
    user = user_of(request)
    selectors.require_reader(user)
    access = chart_access(user, patient_id, section=f"{SECTION} (print)")
    note = selectors.note_of(access.patient, pk)
    if note is None:
        raise Http404("No such note in this chart.")
    record(
        actor=user,
        action=AuditEvent.Action.PRINT,
        patient=access.patient,
        obj=note,
        section=f"{SECTION} (print)",
        detail={"format": "pdf"},
    )
    html = printing.note_html(note, access.patient, user)
    return _pdf(printing.to_pdf(html), printing.filename(note_card(note)))


@login_required
@require_GET
def print_entry(request: HttpRequest, patient_id: int, entry_id: int) -> HttpResponse:
    user = user_of(request)
    selectors.require_reader(user)
    access = chart_access(user, patient_id, section=f"{SECTION} (print)")
    entry = selectors.group_entry_of(access.patient, entry_id)
    if entry is None:
        raise Http404("No such group note in this chart.")
    record(
        actor=user,
        action=AuditEvent.Action.PRINT,
        patient=access.patient,
        obj=entry,
        section=f"{SECTION} (print)",
        detail={"format": "pdf", "group_note": entry.group_note_id},
    )
    html = printing.entry_html(entry, access.patient, user)
    return _pdf(printing.to_pdf(html), printing.filename(entry_card(entry)))


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/", chart, name="chart"),
    path("patients/<int:patient_id>/export/", export, name="export"),
    path("patients/<int:patient_id>/<int:pk>/print/", print_note, name="print"),
    path("patients/<int:patient_id>/group/<int:entry_id>/print/", print_entry, name="entry_print"),
]
