"""Continuing care pages: the follow-ups due (the alumni coordinator's list), one follow-up
with its contact attempts and outcome, alumni events with who came, and the organization's
continuing-care settings.

Thin: ``alumni.py`` reads (scoped) and writes (validated, audited); a page checks the role
first (403, the refusal audited), then opens what it shows (404 out of scope, audited). Bad
input re-renders the form with its messages and saves nothing.
"""

from __future__ import annotations

from typing import Any, NoReturn
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from openiop.accounts.models import Facility, User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.discharge import alumni
from openiop.discharge.forms_alumni import (
    AttemptForm,
    AttendanceForm,
    CancelEventForm,
    CloseForm,
    EventForm,
    OutcomeForm,
    SettingsForm,
)
from openiop.discharge.models import AlumniEvent, FollowUp
from openiop.plans.forms import apply_errors

DUE_PAGE_SIZE = 100  # rows a page shows (and audits); the counts cover the whole list
PAST_EVENTS_PAGE_SIZE = 20
ROSTER_PAGE_SIZE = 50
SHOW_LABELS = {
    alumni.SHOW_DUE: "Overdue and due soon",
    alumni.SHOW_OVERDUE: "Overdue only",
    alumni.SHOW_SOON: "Due soon (not yet overdue)",
    alumni.SHOW_OPEN: "Every open follow-up",
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _refuse(user: User, section: str, message: str = alumni.REFUSED) -> NoReturn:
    record(actor=user, action=AuditEvent.Action.DENIED, section=section)
    raise PermissionDenied(message)


def _require(user: User, permission: str, section: str, message: str = alumni.REFUSED) -> None:
    if not user.can(permission):
        _refuse(user, section, message)


def _facility(request: HttpRequest) -> Facility:
    facility: Facility | None = getattr(request, "facility", None)
    if facility is None:
        raise PermissionDenied("You are not assigned to a facility yet.")
    return facility


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


# --- the due list ------------------------------------------------------------------------------


@login_required
@require_safe
def due(request: HttpRequest) -> HttpResponse:
    """Follow-ups overdue and due within the organization's window at the user's facility,
    the longest overdue first. A constant number of queries whatever the number of people;
    one audit record per person shown."""
    user = _user(request)
    _require(user, "discharge.view_followup", alumni.DUE_SECTION)
    facility = _facility(request)
    today = alumni.local_today(facility)
    window = alumni.settings_of(facility.organization).due_window_days
    show = request.GET.get("show", "")
    if show not in alumni.SHOW_CHOICES:
        show = alumni.SHOW_DUE
    paginator = Paginator(
        alumni.open_followups(user, facility, today=today, window_days=window, show=show),
        DUE_PAGE_SIZE,
    )
    page = paginator.get_page(request.GET.get("page"))
    rows = alumni.due_rows(page.object_list, today)
    record_list(
        actor=user,
        patients=[r.patient for r in rows],
        facility_id=facility.pk,
        section=alumni.DUE_SECTION,
        detail={"on": today.isoformat(), "show": show},
    )
    shown_show = "" if show == alumni.SHOW_DUE else show
    context = {
        "facility": facility,
        "today": today,
        "window": window,
        "rows": rows,
        "page": page,
        "show": show,
        "show_labels": SHOW_LABELS,
        "counts": alumni.due_counts(user, facility, today=today, window_days=window),
        "caseload_only": not user.sees_whole_facility,
        "may_set": user.can("discharge.change_dischargesettings"),
        "pages": {
            "previous": (
                _query(show=shown_show, page=page.previous_page_number())
                if page.has_previous()
                else ""
            ),
            "next": (
                _query(show=shown_show, page=page.next_page_number()) if page.has_next() else ""
            ),
        },
    }
    return render(request, "discharge/followups.html", context)


# --- one follow-up -----------------------------------------------------------------------------


def _attempt_initial() -> dict[str, Any]:
    return {"attempted_at": timezone.localtime().replace(second=0, microsecond=0)}


@login_required
@require_http_methods(["GET", "POST"])
def followup(request: HttpRequest, pk: int) -> HttpResponse:
    """One follow-up: who, the discharge's step-down and how to reach them, the episode's
    follow-ups so far, the attempts, and the three ways to go on: record an attempt, record
    the outcome, close it without an answer."""
    user = _user(request)
    posting = request.method == "POST"
    _require(
        user,
        "discharge.change_followup" if posting else "discharge.view_followup",
        alumni.FOLLOWUP_SECTION,
    )
    item = alumni.followup_for(
        user, pk, action=AuditEvent.Action.UPDATE if posting else AuditEvent.Action.VIEW
    )
    zone = item.facility.zone
    with timezone.override(zone):
        today = timezone.localdate()
        which = request.POST.get("form", "") if posting else ""
        attempt_form = AttemptForm(
            request.POST if which == "attempt" else None, initial=_attempt_initial()
        )
        outcome_form = OutcomeForm(
            request.POST if which == "outcome" else None,
            initial={"completed_on": today, "method": "phone"},
        )
        close_form = CloseForm(request.POST if which == "close" else None)
        if which == "attempt" and attempt_form.is_valid():
            data = attempt_form.cleaned_data
            try:
                alumni.record_attempt(
                    actor=user,
                    followup=item,
                    attempted_at=data["attempted_at"],
                    method=data["method"],
                    result=data["result"],
                    note=data.get("note", ""),
                )
            except ValidationError as error:
                apply_errors(attempt_form, error)
            else:
                messages.success(request, "Contact attempt saved.")
                return redirect("discharge:followup", pk=item.pk)
        elif which == "outcome" and outcome_form.is_valid():
            try:
                alumni.complete_followup(actor=user, followup=item, **outcome_form.outcome())
            except ValidationError as error:
                apply_errors(outcome_form, error)
            else:
                messages.success(request, "Outcome saved. The follow-up is complete.")
                return redirect("discharge:followup", pk=item.pk)
        elif which == "close" and close_form.is_valid():
            data = close_form.cleaned_data
            try:
                alumni.close_followup(
                    actor=user, followup=item, status=data["status"], note=data["note"]
                )
            except ValidationError as error:
                apply_errors(close_form, error)
            else:
                messages.success(request, "Follow-up closed.")
                return redirect("discharge:followup", pk=item.pk)
        page = alumni.followup_page(item)
        context = {
            "item": item,
            "patient": item.patient,
            "page": page,
            "discharge": page.discharge,
            "today": today,
            "is_due": item.status == FollowUp.Status.DUE,
            "overdue_days": max((today - item.due_on).days, 0),
            "attempt_form": attempt_form,
            "outcome_form": outcome_form,
            "close_form": close_form,
            "open_form": which,
            "may_change": user.can("discharge.change_followup"),
            "sees_discharge": user.can("discharge.view_discharge"),
            "may_set": user.can("discharge.change_dischargesettings"),
        }
        return render(request, "discharge/followup.html", context)


# --- alumni events -----------------------------------------------------------------------------


@login_required
@require_safe
def events(request: HttpRequest) -> HttpResponse:
    """Upcoming and past alumni events at the user's facility, and its alumni: people after
    discharge whose step-down was the alumni program or who came to an event, with their
    latest follow-up outcome (one audit record per person shown)."""
    user = _user(request)
    _require(user, "discharge.view_followup", alumni.ALUMNI_SECTION)
    facility = _facility(request)
    past = Paginator(alumni.events_of(user, facility, when="past"), PAST_EVENTS_PAGE_SIZE)
    past_page = past.get_page(request.GET.get("page"))
    roster = Paginator(alumni.alumni_roster_queryset(user, facility), ROSTER_PAGE_SIZE)
    roster_page = roster.get_page(request.GET.get("alumni_page"))
    roster_rows = [alumni.RosterRow(p) for p in roster_page.object_list]
    record_list(
        actor=user,
        patients=[r.patient for r in roster_rows],
        facility_id=facility.pk,
        section=alumni.ALUMNI_SECTION,
        detail={"page": roster_page.number},
    )
    context = {
        "facility": facility,
        "upcoming": list(alumni.events_of(user, facility, when="upcoming")),
        "past_page": past_page,
        "roster_page": roster_page,
        "roster": roster_rows,
        "may_change": user.can("discharge.change_alumnievent"),
        "may_set": user.can("discharge.change_dischargesettings"),
    }
    return render(request, "discharge/alumni_events.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require(user, "discharge.change_alumnievent", alumni.EVENT_SECTION)
    facility = _facility(request)
    with timezone.override(facility.zone):
        form = EventForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                created = alumni.create_event(
                    actor=user,
                    facility=facility,
                    kind=data["kind"],
                    title=data["title"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    location=data.get("location", ""),
                    description=data.get("description", ""),
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"“{created.title}” is on the alumni calendar.")
                return redirect("discharge:alumni_event", pk=created.pk)
        context = {
            "facility": facility,
            "form": form,
            "may_set": user.can("discharge.change_dischargesettings"),
        }
        return render(request, "discharge/alumni_event_form.html", context)


def _attendance_form(
    user: User, item: AlumniEvent, data: Any = None, came: list[int] | None = None
) -> AttendanceForm:
    return AttendanceForm(
        data,
        choices=alumni.attendance_choices(user, item),
        alumni=alumni.eligible_alumni(user, item.facility),
        initial={"patients": came or []},
    )


@login_required
@require_http_methods(["GET", "POST"])
def event(request: HttpRequest, pk: int) -> HttpResponse:
    """One alumni event: its details, who came (a checklist of the facility's alumni, with an
    MRN for anyone else), a change of its details and its cancellation (confirmed)."""
    user = _user(request)
    posting = request.method == "POST"
    _require(
        user,
        "discharge.change_alumnievent" if posting else "discharge.view_followup",
        alumni.EVENT_SECTION,
    )
    item = alumni.event_for(user, pk)
    with timezone.override(item.facility.zone):
        which = request.POST.get("form", "") if posting else ""
        came = alumni.attendance_of(user, item)
        attendance_form = _attendance_form(
            user,
            item,
            request.POST if which == "attendance" else None,
            [a.patient_id for a in came],
        )
        edit_form = EventForm(
            request.POST if which == "edit" else None, initial=EventForm.initial_of(item)
        )
        cancel_form = CancelEventForm(request.POST if which == "cancel" else None)
        if which == "attendance" and attendance_form.is_valid():
            try:
                alumni.record_alumni_attendance(
                    actor=user, event=item, patients=attendance_form.chosen()
                )
            except ValidationError as error:
                apply_errors(attendance_form, error)
            else:
                messages.success(request, "Attendance saved.")
                return redirect("discharge:alumni_event", pk=item.pk)
        elif which == "edit" and edit_form.is_valid():
            data = edit_form.cleaned_data
            try:
                alumni.update_event(
                    actor=user,
                    event=item,
                    kind=data["kind"],
                    title=data["title"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    location=data.get("location", ""),
                    description=data.get("description", ""),
                )
            except ValidationError as error:
                apply_errors(edit_form, error)
            else:
                messages.success(request, "Event changed.")
                return redirect("discharge:alumni_event", pk=item.pk)
        elif which == "cancel" and cancel_form.is_valid():
            try:
                alumni.cancel_event(
                    actor=user, event=item, reason=cancel_form.cleaned_data.get("reason", "")
                )
            except ValidationError as error:
                apply_errors(cancel_form, error)
            else:
                messages.success(request, "Event cancelled. It stays on the list, marked.")
                return redirect("discharge:alumni_events")
        record_list(
            actor=user,
            patients=[a.patient for a in came],
            facility_id=item.facility_id,
            obj=item,
            section=alumni.EVENT_SECTION,
        )
        context = {
            "event": item,
            "came": came,
            "started": item.starts_at <= timezone.now(),
            "attendance_form": attendance_form,
            "edit_form": edit_form,
            "cancel_form": cancel_form,
            "open_form": which,
            "may_change": user.can("discharge.change_alumnievent"),
            "may_set": user.can("discharge.change_dischargesettings"),
        }
        return render(request, "discharge/alumni_event.html", context)


# --- settings ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The organization's continuing-care rules: follow-up days, the due list's window and the
    discharge-readiness weeks."""
    user = _user(request)
    _require(
        user,
        "discharge.change_dischargesettings",
        alumni.SETTINGS_SECTION,
        alumni.SETTINGS_REFUSED,
    )
    facility = _facility(request)
    organization = facility.organization
    current = alumni.settings_of(organization)
    form = SettingsForm(
        request.POST if request.method == "POST" else None,
        initial=SettingsForm.initial_of(current),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            alumni.save_settings(
                actor=user,
                organization=organization,
                followup_days=data["followup_days"],
                negative_test_weeks=data["negative_test_weeks"],
                full_dose_weeks=data["full_dose_weeks"],
                meeting_weeks=data["meeting_weeks"],
                due_window_days=data["due_window_days"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                "Settings saved. New follow-up days apply to people discharged from now on; "
                "follow-ups already scheduled keep their dates.",
            )
            return redirect("discharge:settings")
    context = {
        "organization": organization,
        "facility": facility,
        "form": form,
        "current": current,
        "saved": current.pk is not None,
    }
    return render(request, "discharge/settings.html", context)
