"""The chart's family-program page: the support system with each member's consent, family
sessions and family-education attendance (SPEC §1, §10).

Every page checks the role first (403), then opens the chart through ``chart_access`` (404
out of scope, audited). Writes go through openiop.scheduling.family, which refuses anyone no
active consent names; a refusal re-renders the page with the reason and saves nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from openiop.accounts.models import User
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.plans.forms import apply_errors
from openiop.scheduling import family
from openiop.scheduling.forms_family import FamilyEducationForm, FamilyStatusForm, ParticipantForm
from openiop.scheduling.models import Appointment, FamilyAttendance

TAB = "family"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _open(
    request: HttpRequest, patient_id: int, *, write: bool = False
) -> tuple[User, ChartAccess, dict[str, Any], family.FamilyProgram]:
    """The role check (403), then the chart (404 out of scope, audited), then the page's data."""
    user = _user(request)
    if not family.may_see_family_program(user):
        raise PermissionDenied(family.READ_REFUSED)
    if write and not family.may_run_family_program(user):
        raise PermissionDenied(family.WRITE_REFUSED)
    access = chart_access(user, patient_id, section=family.SECTION)
    context = chart_context(user, access, tab=TAB)
    program = family.family_program(access.patient, today=context["today"])
    return user, access, context, program


def page_url(patient_id: int, anchor: str = "") -> str:
    address = reverse("scheduling:family", kwargs={"patient_id": patient_id})
    return f"{address}#{anchor}" if anchor else address


def _education_form(
    program: family.FamilyProgram, access: ChartAccess, data: Any = None
) -> FamilyEducationForm:
    return FamilyEducationForm(
        data,
        sessions=program.education_sessions,
        members=program.active_members,
        zone=access.patient.facility.zone,
        prefix="education",
    )


def _participant_form(
    program: family.FamilyProgram, access: ChartAccess, data: Any = None
) -> ParticipantForm:
    return ParticipantForm(
        data,
        appointments=program.upcoming_family_sessions,
        members=program.active_members,
        zone=access.patient.facility.zone,
        prefix="participant",
    )


def _page(
    request: HttpRequest,
    user: User,
    access: ChartAccess,
    context: dict[str, Any],
    program: family.FamilyProgram,
    *,
    education_form: FamilyEducationForm | None = None,
    participant_form: ParticipantForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context.update(
        {
            "program": program,
            "may_run": family.may_run_family_program(user),
            "education_form": education_form or _education_form(program, access),
            "participant_form": participant_form or _participant_form(program, access),
            "statuses": FamilyAttendance.Status.choices,
            "now": timezone.now(),
        }
    )
    with timezone.override(access.patient.facility.zone):
        return render(request, "scheduling/family_program.html", context, status=status)


@login_required
@require_safe
def family_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Support-system members and whether a consent names them, family sessions and
    family-education attendance: a constant number of queries."""
    user, access, context, program = _open(request, patient_id)
    return _page(request, user, access, context, program)


@login_required
@require_POST
def education_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    user, access, context, program = _open(request, patient_id, write=True)
    form = _education_form(program, access, request.POST)
    if form.is_valid():
        session, member = form.chosen_session(), form.chosen_member()
        try:
            row = family.record_family_attendance(
                actor=user,
                session=session,
                contact=member.contact,
                status=form.cleaned_data["status"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            day = timezone.localtime(session.starts_at, access.patient.facility.zone)
            messages.success(
                request,
                f"{member.contact.name}: {row.get_status_display().lower()} at "
                f"{session.group.name} on {day:%m/%d/%Y}.",
            )
            return redirect(page_url(access.patient.pk, "education"))
    return _page(request, user, access, context, program, education_form=form, status=400)


@login_required
@require_POST
def education_row(request: HttpRequest, patient_id: int, row_id: int) -> HttpResponse:
    """Record whether a listed member came, or take them off the list (nothing recorded yet)."""
    user, access, _context, program = _open(request, patient_id, write=True)
    row = next((r for r in program.attendance if r.pk == row_id), None)
    if row is None:
        raise Http404("No such family-education entry for this patient.")
    try:
        if "remove" in request.POST:
            family.remove_from_family_education(actor=user, row=row)
            messages.success(request, f"{row.support_contact.name} is off the list.")
        else:
            form = FamilyStatusForm(request.POST)
            if not form.is_valid():
                raise ValidationError({"status": "Choose expected, present, absent or excused."})
            family.record_family_attendance(
                actor=user,
                session=row.session,
                contact=row.support_contact,
                status=form.cleaned_data["status"],
            )
            messages.success(request, f"Saved for {row.support_contact.name}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages) + " Nothing was changed.")
    return redirect(page_url(access.patient.pk, "education"))


@login_required
@require_POST
def participant_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    user, access, context, program = _open(request, patient_id, write=True)
    form = _participant_form(program, access, request.POST)
    if form.is_valid():
        appointment, member = form.chosen_appointment(), form.chosen_member()
        try:
            family.add_family_participant(
                actor=user, appointment=appointment, contact=member.contact
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{member.contact.name} takes part in the family session.")
            return redirect(page_url(access.patient.pk, "sessions"))
    return _page(request, user, access, context, program, participant_form=form, status=400)


@login_required
@require_POST
def participant_remove(
    request: HttpRequest, patient_id: int, appointment_id: int, contact_id: int
) -> HttpResponse:
    user, access, _context, program = _open(request, patient_id, write=True)
    found = next((s for s in program.sessions if s.appointment.pk == appointment_id), None)
    person = next(
        (p.contact for p in (found.participants if found else []) if p.contact.pk == contact_id),
        None,
    )
    if found is None or person is None:
        raise Http404("No such participant in this patient's family sessions.")
    appointment: Appointment = found.appointment
    try:
        family.remove_family_participant(actor=user, appointment=appointment, contact=person)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages) + " Nothing was changed.")
    else:
        messages.success(request, f"{person.name} no longer takes part in that family session.")
    return redirect(page_url(access.patient.pk, "sessions"))


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/family/", family_page, name="family"),
    path(
        "patients/<int:patient_id>/family/education/",
        education_add,
        name="family_education_add",
    ),
    path(
        "patients/<int:patient_id>/family/education/<int:row_id>/",
        education_row,
        name="family_education_row",
    ),
    path(
        "patients/<int:patient_id>/family/sessions/",
        participant_add,
        name="family_participant_add",
    ),
    path(
        "patients/<int:patient_id>/family/sessions/<int:appointment_id>/participants/"
        "<int:contact_id>/remove/",
        participant_remove,
        name="family_participant_remove",
    ),
]
