"""Patient pages: thin views over the scoped selectors and the audited services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.patients import alerts, selectors, services
from openiop.patients.chart import chart_context
from openiop.patients.forms import (
    BreakGlassForm,
    CareTeamForm,
    DeletePatientForm,
    EmergencyContactFormSet,
    PatientForm,
    ReviewForm,
    SearchForm,
    contacts_from,
)
from openiop.patients.models import CareTeamMember, Patient


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _apply_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errs in error.error_dict.items():
            target = field if field in form.fields else None
            for e in errs:
                form.add_error(target, e.messages)
    else:
        form.add_error(None, error.messages)


def _chart_context(
    request: HttpRequest, patient: Patient, access: selectors.ChartAccess, tab: str = "summary"
) -> dict[str, Any]:
    return chart_context(_user(request), access, tab=tab)


@login_required
@require_http_methods(["GET", "POST"])
def patient_list(request: HttpRequest) -> HttpResponse:
    """The patient list: the newest registrations, or what a search found.

    Searches are POSTed so that names, birth dates and phone numbers never end up in a URL,
    a browser history or a server log.
    """
    user = _user(request)
    if not user.may_open_charts:
        raise PermissionDenied
    form = SearchForm(request.POST or None)
    query = form.cleaned_data.get("q", "") if form.is_valid() else ""
    result = selectors.search_patients(user, query=query, facility=request.facility)  # type: ignore[attr-defined]
    context = {"form": form, "result": result, "query": query}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "patients/_results.html", context)
    return render(request, "patients/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    facility = request.facility  # type: ignore[attr-defined]
    if not user.may_register_patients or facility is None:
        raise PermissionDenied
    form = PatientForm(request.POST or None, show_sensitive=user.is_clinical)
    contacts = EmergencyContactFormSet(
        request.POST or None, prefix="contacts", initial=None if request.POST else [{}, {}]
    )
    duplicates: list[Patient] = []
    if request.method == "POST" and form.is_valid() and contacts.is_valid():
        try:
            patient = services.create_patient(
                actor=user,
                facility=facility,
                data=form.patient_data(),
                emergency_contacts=contacts_from(contacts),
                confirm_not_duplicate=form.cleaned_data.get("confirm_not_duplicate", False),
            )
        except services.PossibleDuplicate as dup:
            duplicates = dup.matches
            form.add_error("confirm_not_duplicate", dup.messages)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, f"{patient.display_name} is registered with MRN {patient.mrn}."
            )
            return redirect("patients:chart", pk=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "contacts": contacts, "duplicates": duplicates, "creating": True},
    )


@login_required
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if not user.may_register_patients:
        raise PermissionDenied
    access = selectors.chart_access(user, pk, section="demographics (edit)")
    patient = access.patient
    form = PatientForm(
        request.POST or None, instance=patient, show_sensitive=user.is_clinical, creating=False
    )
    initial = [
        {"id": c.pk, "name": c.name, "relationship": c.relationship, "phone": c.phone}
        for c in patient.emergency_contacts.all()
    ]
    contacts = EmergencyContactFormSet(
        request.POST or None, prefix="contacts", initial=None if request.POST else [*initial, {}]
    )
    if request.method == "POST" and form.is_valid() and contacts.is_valid():
        fresh = Patient.objects.select_related("facility").get(pk=patient.pk)
        try:
            with transaction.atomic():  # demographics and contacts save together or not at all
                services.update_patient(actor=user, patient=fresh, data=form.patient_data())
                services.set_emergency_contacts(
                    actor=user, patient=fresh, contacts=contacts_from(contacts)
                )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect("patients:chart", pk=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "contacts": contacts, "patient": patient, "creating": False},
    )


@login_required
def patient_chart(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access = selectors.chart_access(user, pk, section="chart summary")
    patient = access.patient
    context = _chart_context(request, patient, access)
    context["contacts"] = list(patient.emergency_contacts.all())
    context["care_team"] = list(selectors.care_team(patient))
    context["care_team_form"] = CareTeamForm(patient=patient) if user.may_assign_care_team else None
    return render(request, "patients/chart.html", context)


@login_required
def patient_print(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable face sheet; recorded as a print of the chart."""
    user = _user(request)
    access = selectors.chart_access(user, pk, section="face sheet", action=AuditEvent.Action.PRINT)
    context = _chart_context(request, access.patient, access)
    context["contacts"] = list(access.patient.emergency_contacts.all())
    context["printed_at"] = timezone.now()
    return render(request, "patients/print.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def patient_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if not user.may_delete_patients:
        raise PermissionDenied
    access = selectors.chart_access(user, pk, section="delete confirmation")
    form = DeletePatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.delete_patient(
                actor=user, patient=access.patient, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "The record was deleted. The audit trail keeps what it held.")
            return redirect("patients:list")
    return render(request, "patients/delete.html", {"patient": access.patient, "form": form})


@login_required
@require_POST
def care_team_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access = selectors.chart_access(user, pk, section="care team")
    form = CareTeamForm(request.POST, patient=access.patient)
    if form.is_valid():
        try:
            services.assign_care_team_member(
                actor=user,
                patient=access.patient,
                member=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
            )
            messages.success(request, "Care team updated.")
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.error(request, "Choose a staff member and a role.")
    return redirect("patients:chart", pk=pk)


@login_required
@require_POST
def care_team_end(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    user = _user(request)
    access = selectors.chart_access(user, pk, section="care team")
    assignment = get_object_or_404(
        CareTeamMember, pk=assignment_pk, patient=access.patient, ended_on__isnull=True
    )
    services.end_care_team_member(actor=user, assignment=assignment)
    messages.success(request, f"{assignment.user.display_name} is no longer on the care team.")
    return redirect("patients:chart", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.may_break_glass:
        raise PermissionDenied
    form = BreakGlassForm(request.POST or None, user=user, initial={"facility": request.facility})  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            grant = services.break_the_glass(
                actor=user,
                facility=form.cleaned_data["facility"],
                mrn=form.cleaned_data["mrn"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.warning(
                request,
                f"Emergency access is open until {timezone.localtime(grant.expires_at):%H:%M}. "
                "Everything you view is recorded.",
            )
            return redirect("patients:chart", pk=grant.patient_id)
    return render(request, "patients/break_glass.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def break_glass_review(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.reviews_break_glass:
        raise PermissionDenied
    grants = selectors.break_glass_for_review(user)
    if request.method == "POST":
        grant_id = request.POST.get("grant", "")
        grant = grants.filter(pk=int(grant_id)).first() if grant_id.isdigit() else None
        if grant is None:
            raise Http404
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                services.review_break_glass(actor=user, grant=grant, note=form.cleaned_data["note"])
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, "Review recorded.")
        else:
            messages.error(request, "Write a review note before marking it reviewed.")
        return redirect("patients:break_glass_review")
    return render(
        request,
        "patients/break_glass_review.html",
        {"grants": grants[:200], "form": ReviewForm(), "now": timezone.now()},
    )


@login_required
@require_POST
def acknowledge_alert(request: HttpRequest, pk: int, alert_pk: int) -> HttpResponse:
    user = _user(request)
    access = selectors.chart_access(user, pk, section="clinical alert", action="update")
    alert = get_object_or_404(alerts.open_alerts(access.patient), pk=alert_pk)
    try:
        alerts.acknowledge_alert(
            actor=user, alert=alert, action_taken=request.POST.get("action_taken", "")
        )
    except PermissionDenied:
        raise
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Alert acknowledged. The action taken is in the chart.")
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("patients:chart", pk=access.patient.pk)


def chart_tab_placeholder(request: HttpRequest, pk: int, *, tab: str, title: str) -> HttpResponse:
    """Temporary page for a chart tab whose capability is being built."""
    access = selectors.chart_access(_user(request), pk, section=title.lower())
    context = chart_context(_user(request), access, tab=tab)
    context["tab_title"] = title
    return render(request, "patients/tab_placeholder.html", context)


@login_required
def support_placeholder(request: HttpRequest, pk: int) -> HttpResponse:
    return chart_tab_placeholder(request, pk, tab="support", title="Support system")
