"""Appointments: booking, the appointment's page, rescheduling, cancelling and recording
how it went.

Every page checks the role first (403), then opens the patient's chart through
``chart_access`` (404 out of scope, audited) — an appointment's page through its patient.
The services are the real check: a view parses the form, calls the service and shows its
errors on the form (nothing is saved on error). Rescheduling books a new appointment and
keeps the old one, marked rescheduled.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from openiop.accounts.models import User
from openiop.accounts.roles import CLINICAL_ROLES
from openiop.accounts.selectors import staff_with_roles
from openiop.admissions.selectors import open_episode
from openiop.patients.chart import chart_context
from openiop.patients.models import Patient
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.plans.forms import apply_errors
from openiop.scheduling import selectors, services
from openiop.scheduling.forms_appointments import BookForm, CancelForm, CloseForm, RescheduleForm
from openiop.scheduling.models import Appointment

SECTION = "appointments"
BOOK = "scheduling.change_appointment"
RECORD = "scheduling.change_attendance"
READ = "scheduling.view_schedule"
REFUSED_BOOK = "Only the clinical team and the front desk book appointments."
REFUSED_RECORD = "Only the clinical team and the front desk record attendance."


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _need(user: User, permission: str, message: str) -> None:
    if not user.can(permission):
        raise PermissionDenied(message)


# --- helpers -----------------------------------------------------------------------------------


def _chart(
    user: User, patient_id: int, tab: str = "schedule"
) -> tuple[ChartAccess, dict[str, Any]]:
    access = chart_access(user, patient_id, section=SECTION)
    return access, chart_context(user, access, tab=tab)


def _appointment(
    request: HttpRequest, pk: int, permission: str, refused: str
) -> tuple[User, Appointment, dict[str, Any]]:
    """The role (403), then the appointment through its patient's chart (404)."""
    user = _user(request)
    _need(user, permission, refused)
    appointment = selectors.appointment_by_id(pk)
    if appointment is None:
        raise Http404("No such appointment.")
    _, context = _chart(user, appointment.patient_id)
    context["appointment"] = appointment
    context["zone"] = appointment.facility.time_zone
    return user, appointment, context


def _when(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(appointment.facility.zone)
    return f"{local:%A %-m/%-d/%Y} at {local:%-I:%M %p}"


def _detail(appointment: Appointment) -> HttpResponse:
    return redirect("scheduling:appointment", pk=appointment.pk)


# --- booking -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def appointment_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Book an appointment for the patient ``pk``."""
    user = _user(request)
    _need(user, BOOK, REFUSED_BOOK)
    access, context = _chart(user, pk)
    patient: Patient = access.patient
    episode = open_episode(patient)
    if episode is None:
        messages.info(
            request,
            "Appointments are booked for patients in treatment. Admit the patient first "
            "(Admission tab).",
        )
        return redirect("scheduling:patient", pk=patient.pk)
    facility = patient.facility
    today = timezone.localdate(timezone=facility.zone)
    form = BookForm(
        request.POST or None,
        initial={"day": today, "kind": Appointment.Kind.INDIVIDUAL},
        staff=staff_with_roles(facility, CLINICAL_ROLES),
        rooms=selectors.rooms(facility).filter(is_active=True),
        contacts=selectors.contacts_of(patient),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.book_appointment(
                actor=user,
                episode=episode,
                kind=data["kind"],
                staff=data["staff"],
                day=data["day"],
                start=data["start"],
                minutes=form.cleaned_data.get("minutes"),
                room=data["room"],
                telehealth=data["telehealth"],
                participants=data.get("participants") or [],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"Booked: {appointment.get_kind_display().lower()} on {_when(appointment)} "
                f"with {appointment.staff.display_name}.",
            )
            return _detail(appointment)
    context.update({"form": form, "episode": episode})
    return render(request, "scheduling/appointments/form.html", context)


# --- the appointment's page ---------------------------------------------------------------------


@login_required
@require_GET
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user, appointment, context = _appointment(
        request, pk, READ, "The schedule is for the program's staff."
    )
    scheduled = appointment.status == Appointment.Status.SCHEDULED
    attendance = list(appointment.attendance.all())
    context.update(
        {
            "attendance": attendance[0] if attendance else None,
            "participants": list(appointment.participants.all()),
            "scheduled": scheduled,
            "started": timezone.now() >= appointment.starts_at,
            "may_book": scheduled and user.can(BOOK),
            "may_record": scheduled and user.can(RECORD),
            "rescheduled_from": getattr(appointment, "rescheduled_from", None),
        }
    )
    return render(request, "scheduling/appointments/detail.html", context)


def _already(request: HttpRequest, appointment: Appointment) -> HttpResponse | None:
    if appointment.status == Appointment.Status.SCHEDULED:
        return None
    messages.info(
        request, f"This appointment is already {appointment.get_status_display().lower()}."
    )
    return _detail(appointment)


@login_required
@require_http_methods(["GET", "POST"])
def appointment_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    user, appointment, context = _appointment(request, pk, BOOK, REFUSED_BOOK)
    done = _already(request, appointment)
    if done is not None:
        return done
    local = appointment.starts_at.astimezone(appointment.facility.zone)
    form = RescheduleForm(
        request.POST or None, initial={"day": local.date(), "start": local.time()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            new = services.reschedule_appointment(
                actor=user,
                appointment=appointment,
                day=data["day"],
                start=data["start"],
                reason=data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"Moved to {_when(new)}. The old time stays in the record, marked rescheduled.",
            )
            return _detail(new)
    context["form"] = form
    return render(request, "scheduling/appointments/reschedule.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """The confirmation step: say why, then cancel."""
    user, appointment, context = _appointment(request, pk, BOOK, REFUSED_BOOK)
    done = _already(request, appointment)
    if done is not None:
        return done
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_appointment(
                actor=user, appointment=appointment, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "The appointment is cancelled; the reason is on record.")
            return _detail(appointment)
    context["form"] = form
    return render(request, "scheduling/appointments/cancel.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def appointment_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record how it went: attended (completed), excused (cancelled) or a no-show."""
    user, appointment, context = _appointment(request, pk, RECORD, REFUSED_RECORD)
    done = _already(request, appointment)
    if done is not None:
        return done
    form = CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            row = services.close_appointment(
                actor=user,
                appointment=appointment,
                status=data["status"],
                arrived=data["arrived"],
                left=data["left"],
                minutes=data["minutes"],
                note=data["note"],
            )
        except ValidationError as error:
            apply_errors(form, error, aliases={"arrived_at": "arrived", "left_at": "left"})
        else:
            messages.success(
                request, f"Recorded: {row.get_status_display().lower()}, {row.minutes} minutes."
            )
            return _detail(appointment)
    context.update({"form": form, "started": timezone.now() >= appointment.starts_at})
    return render(request, "scheduling/appointments/record.html", context)


urlpatterns: list[URLPattern] = [
    path("patient/<int:pk>/appointments/new/", appointment_new, name="appointment_new"),
    path("appointment/<int:pk>/", appointment_detail, name="appointment"),
    path("appointment/<int:pk>/reschedule/", appointment_reschedule, name="appointment_reschedule"),
    path("appointment/<int:pk>/cancel/", appointment_cancel, name="appointment_cancel"),
    path("appointment/<int:pk>/record/", appointment_record, name="appointment_record"),
]
