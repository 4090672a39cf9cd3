"""The chart timeline page: one chronological list of everything about a patient."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from openiop.accounts.models import User
from openiop.patients.chart import chart_context
from openiop.patients.models import Patient
from openiop.patients.selectors import chart_access
from openiop.timeline import selectors

SECTION = "timeline"


def require_reader(user: User) -> None:
    """The timeline gathers clinical information: the clinical team reads it."""
    if not user.is_clinical:
        raise PermissionDenied("Only the clinical team reads the chart timeline.")


def link_for(patient: Patient, event: selectors.Event) -> str:
    """Where an event is read in full (its own chart page)."""
    pid = patient.pk
    links: dict[str, tuple[str, dict[str, Any]]] = {
        "note": ("notes:detail", {"patient_id": pid, "pk": event.ref}),
        "group_note": ("notes:entry", {"patient_id": pid, "entry_id": event.ref}),
        "measure": ("measures:result", {"pk": pid, "administration_pk": event.ref}),
        "drug_test": ("recovery:test", {"patient_id": pid, "test_id": event.ref}),
        "meeting": ("recovery:chart", {"patient_id": pid}),
        "relapse": ("recovery:chart", {"patient_id": pid}),
        "sobriety": ("recovery:sobriety", {"patient_id": pid}),
        "session": ("scheduling:patient", {"pk": pid}),
        "appointment": ("scheduling:patient", {"pk": pid}),
        "plan": ("plans:chart", {"pk": pid}),
        "review": ("plans:chart", {"pk": pid}),
        "phase": ("plans:chart", {"pk": pid}),
        "admission": ("admissions:chart", {"pk": pid}),
        "discharge": ("admissions:chart", {"pk": pid}),
        "document": ("attachments:chart", {"patient_id": pid}),
        "alert": ("patients:chart", {"pk": pid}),
    }
    name, kwargs = links[event.kind]
    return reverse(name, kwargs=kwargs)


@login_required
@require_GET
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    require_reader(request.user)  # type: ignore[arg-type]
    access = chart_access(request.user, patient_id, section=SECTION)  # type: ignore[arg-type]
    start, end, errors = selectors.parse_range(
        request.GET.get("from", ""), request.GET.get("to", "")
    )
    chosen = selectors.parse_categories(request.GET.getlist("show"))
    try:
        page_number = int(request.GET.get("page", "1"))
    except ValueError:
        page_number = 1
    page = selectors.timeline(
        access.patient,
        categories=chosen,
        start=None if errors else start,
        end=None if errors else end,
        page=page_number,
    )
    days: list[dict[str, Any]] = []
    for event in page.events:
        if not days or days[-1]["day"] != event.day:
            days.append({"day": event.day, "events": []})
        days[-1]["events"].append({"event": event, "link": link_for(access.patient, event)})
    query = request.GET.copy()
    query.pop("page", None)
    context = chart_context(request.user, access, tab="timeline")  # type: ignore[arg-type]
    context.update(
        {
            "page": page,
            "days": days,
            "categories": [
                {"name": name, "label": label, "checked": chosen is None or name in chosen}
                for name, (label, _) in selectors.CATEGORIES.items()
            ],
            "start": request.GET.get("from", ""),
            "end": request.GET.get("to", ""),
            "errors": errors,
            "query": query.urlencode(),
        }
    )
    return render(request, "timeline/chart.html", context)
