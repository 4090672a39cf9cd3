"""Writing an individual, family or case-management note, its page (sign, discard the draft,
addenda, co-signature) and the page of a patient's part of a group note.

The role is checked first (403), then the chart through ``chart_access`` (404 out of scope,
audited). Every change is one service call; its errors land on the form and nothing is
saved. A signed note is never edited: the edit page sends the author back to the note, where
an addendum is the way to add to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from openiop.accounts.models import User
from openiop.notes import selectors, selectors_views, services
from openiop.notes.forms import (
    KIND_TITLES,
    NOTE_ALIASES,
    AddendumForm,
    CosignForm,
    NoteForm,
    SignForm,
    apply_errors,
)
from openiop.notes.models import GroupNoteEntry, Note
from openiop.notes.views_common import (
    SECTION,
    entry_card,
    note_card,
    submit_addendum,
    submit_cosign,
    user_of,
)
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.scheduling.models import Appointment

SIGNED_MESSAGE = "Signed. The note is now locked: anything to add later is an addendum."


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# --- writing -------------------------------------------------------------------------------------


def _initial_from(appointment: Appointment | None, day: dt.date) -> dict[str, Any]:
    if appointment is None:
        return {"day": day}
    zone = appointment.facility.zone
    start = appointment.starts_at.astimezone(zone)
    end = appointment.ends_at.astimezone(zone)
    return {
        "day": start.date(),
        "start": start.time().replace(second=0, microsecond=0),
        "end": end.time().replace(second=0, microsecond=0),
        "appointment": appointment.pk,
    }


def _form_page(
    request: HttpRequest,
    access: ChartAccess,
    *,
    kind: str,
    note: Note | None,
    initial: dict[str, Any],
) -> HttpResponse:
    user = user_of(request)
    patient = access.patient
    zone = patient.facility.zone
    settings = selectors.settings_for(patient.facility.organization_id)
    form = NoteForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        kind=kind,
        note_format=note.note_format if note else settings.note_format,
        objectives=selectors.active_objectives([patient.pk]),
        contacts=selectors_views.support_contacts(patient),
        late_after_hours=settings.late_after_hours,
    )
    appointment_id = _int(str(initial.get("appointment") or ""))
    if request.method == "POST" and form.is_valid():
        appointment_id = form.cleaned_data.get("appointment")
        appointment = selectors_views.appointment_of(patient, appointment_id)
        started, ended = form.moments(zone)
        try:
            if appointment_id is not None and appointment is None:
                raise ValidationError({"__all__": "That appointment is not this patient's."})
            saved = services.save_note(
                actor=user,
                patient=patient,
                kind=kind,
                started_at=started,
                ended_at=ended,
                sections=form.sections(),
                objective_ids=form.objective_ids(),
                risk_level=form.cleaned_data["risk_level"],
                risk_text=form.cleaned_data.get("risk_text") or "",
                participant_ids=form.participant_ids(),
                appointment=appointment,
                late_reason=form.cleaned_data.get("late_reason") or "",
                note=note,
            )
        except ValidationError as error:
            apply_errors(form, error, NOTE_ALIASES)
        else:
            messages.success(
                request,
                "Draft saved. Sign it when it is complete: an unsigned note is flagged to you "
                f"and your supervisor after {settings.unsigned_after_hours} hours.",
            )
            return redirect("notes:detail", patient_id=patient.pk, pk=saved.pk)
    offset = timezone.localtime(timezone=zone).utcoffset() or dt.timedelta()
    context = chart_context(user, access, tab="notes")
    context.update(
        {
            "form": form,
            "note": note,
            "kind": kind,
            "title": KIND_TITLES[Note.Kind(kind)],
            "note_format": form.note_format,
            "late_after_hours": settings.late_after_hours,
            "zone_offset_minutes": int(offset.total_seconds() // 60),
            "keep_late": bool(
                (note and note.late_entry)
                or form["late_reason"].errors
                or form["late_reason"].value()
            ),
            "from_appointment": appointment_id is not None,
        }
    )
    with timezone.override(zone):
        return render(request, "notes/form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest, patient_id: int, kind: str) -> HttpResponse:
    """Write a note; ``?appointment=<id>`` fills in the day and times of that appointment."""
    user = user_of(request)
    selectors.require_writer(user)
    if kind not in Note.Kind.values:
        raise Http404("No such kind of note.")
    access = chart_access(user, patient_id, section=f"{SECTION}: write")
    patient = access.patient
    appointment = selectors_views.appointment_of(patient, _int(request.GET.get("appointment")))
    today = timezone.localdate(timezone=patient.facility.zone)
    return _form_page(
        request, access, kind=kind, note=None, initial=_initial_from(appointment, today)
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, patient_id: int, pk: int) -> HttpResponse:
    """Change a draft (its author only). A signed note sends you back to it."""
    user = user_of(request)
    selectors.require_writer(user)
    access = chart_access(user, patient_id, section=f"{SECTION}: write")
    note = selectors.note_of(access.patient, pk)
    if note is None:
        raise Http404("No such note in this chart.")
    if note.is_signed:
        messages.error(request, services.LOCKED)
        return redirect("notes:detail", patient_id=access.patient.pk, pk=note.pk)
    if note.author_id != user.pk:
        raise PermissionDenied("Only the note's author changes a draft.")
    initial = NoteForm.initial_for(note, access.patient.facility.zone)
    return _form_page(request, access, kind=note.kind, note=note, initial=initial)


# --- the note's page -----------------------------------------------------------------------------


def _may_cosign(user: User, card_waiting: bool, author: User) -> bool:
    return card_waiting and services.may_cosign(user, author)


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, patient_id: int, pk: int) -> HttpResponse:
    """The note; its author signs or discards a draft; a signed note takes addenda and,
    when it waits for one, a supervisor's co-signature."""
    user = user_of(request)
    selectors.require_reader(user)
    access = chart_access(user, patient_id, section=SECTION)
    patient = access.patient
    note = selectors.note_of(patient, pk)
    if note is None:
        raise Http404("No such note in this chart.")
    card = note_card(note)
    mine = note.author_id == user.pk
    may_write = user.can("notes.add_note")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action:
        selectors.require_writer(user)
    sign_form = SignForm(request.POST if action == "sign" else None, prefix="sign")
    addendum_form = AddendumForm(request.POST if action == "addendum" else None, prefix="add")
    cosign_form = CosignForm(request.POST if action == "cosign" else None, prefix="cosign")
    here = redirect("notes:detail", patient_id=patient.pk, pk=note.pk)
    if action == "sign" and sign_form.is_valid():
        try:
            services.sign_note(actor=user, note=note, **sign_form.identity)
        except ValidationError as error:
            apply_errors(sign_form, error)
        else:
            messages.success(request, SIGNED_MESSAGE)
            return here
    elif action == "discard":
        try:
            services.discard_draft(actor=user, note=note)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return here
        messages.success(request, "The draft is discarded.")
        return redirect("notes:chart", patient_id=patient.pk)
    elif (
        action == "addendum"
        and addendum_form.is_valid()
        and submit_addendum(request, addendum_form, target=note)
    ) or (
        action == "cosign"
        and cosign_form.is_valid()
        and submit_cosign(request, cosign_form, target=note)
    ):
        return here
    context = chart_context(user, access, tab="notes")
    context.update(
        {
            "card": card,
            "note": note,
            "doc": note,
            "mine": mine,
            "may_write": may_write,
            "may_sign": mine and not note.is_signed and may_write,
            "sign_problems": services.sign_problems(note) if not note.is_signed else {},
            "may_cosign": _may_cosign(user, card.waiting_cosign, note.author),
            "sign_form": sign_form,
            "addendum_form": addendum_form,
            "cosign_form": cosign_form,
            "open_form": action,
        }
    )
    with timezone.override(patient.facility.zone):
        return render(request, "notes/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def entry(request: HttpRequest, patient_id: int, entry_id: int) -> HttpResponse:
    """The patient's part of a group note: the shared part and their own entry only."""
    user = user_of(request)
    selectors.require_reader(user)
    access = chart_access(user, patient_id, section=SECTION)
    patient = access.patient
    found: GroupNoteEntry | None = selectors.group_entry_of(patient, entry_id)
    if found is None:
        raise Http404("No such group note in this chart.")
    card = entry_card(found)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action:
        selectors.require_writer(user)
    addendum_form = AddendumForm(request.POST if action == "addendum" else None, prefix="add")
    if action == "addendum" and addendum_form.is_valid():
        try:
            services.add_addendum(
                actor=user,
                target=found,
                text=addendum_form.cleaned_data["text"],
                reason=addendum_form.cleaned_data["reason"],
                **addendum_form.identity,
            )
        except ValidationError as error:
            apply_errors(addendum_form, error)
        else:
            messages.success(
                request, "Addendum added and signed. Only this patient's chart shows it."
            )
            return redirect("notes:entry", patient_id=patient.pk, entry_id=found.pk)
    context = chart_context(user, access, tab="notes")
    context.update(
        {
            "card": card,
            "entry": found,
            "doc": found.group_note,
            "may_write": user.can("notes.add_note"),
            "addendum_form": addendum_form,
            "open_form": action,
        }
    )
    with timezone.override(patient.facility.zone):
        return render(request, "notes/entry.html", context)


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/new/<str:kind>/", new, name="new"),
    path("patients/<int:patient_id>/<int:pk>/", detail, name="detail"),
    path("patients/<int:patient_id>/<int:pk>/edit/", edit, name="edit"),
    path("patients/<int:patient_id>/group/<int:entry_id>/", entry, name="entry"),
]
