"""The chart's Recovery tab and its forms: sobriety date, drug tests (hand entry, clinical
response), orders, prescriptions, mutual-help meetings beside the dose, relapse events.

Every page checks the role first (403), then opens the chart through ``chart_access``
(404 out of scope, audited). Writes go through the services; a view parses the form,
calls the service and shows its errors (nothing is saved on error).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.plans.forms import apply_errors
from openiop.recovery import rules, selectors, services
from openiop.recovery.forms import (
    DrugTestForm,
    MeetingForm,
    NotCollectedForm,
    OrderForm,
    PrescriptionForm,
    RelapseForm,
    ResponseForm,
    SobrietyForm,
    StopOrderForm,
)
from openiop.recovery.models import DrugTest

SECTION = "recovery"
NO_EPISODE = "The patient is not in treatment (no open episode): admit them first."


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _open(
    request: HttpRequest, patient_id: int, *, permission: str = "", section: str = SECTION
) -> tuple[User, ChartAccess, dict[str, Any]]:
    """The role check (403), then the chart (404 out of scope, audited), then the page's
    context with the chart header."""
    user = _user(request)
    selectors.require_reader(user)
    if permission and not user.can(permission):
        raise PermissionDenied(services.REFUSED)
    action = "update" if request.method == "POST" else "view"
    access = chart_access(user, patient_id, section=section, action=action)
    context = chart_context(user, access, tab="recovery")
    context.update(
        {
            "may_record": user.can("recovery.add_drugtest"),
            "may_order": user.can("recovery.add_order"),
            "may_respond": user.can("recovery.add_response"),
            "may_meet": user.can("recovery.add_meeting"),
            "may_relapse": user.can("recovery.add_relapse"),
            "may_sobriety": user.can("recovery.change_sobriety"),
            "may_prescribe": user.can("recovery.change_prescription"),
            "sees_dose": user.can("scheduling.view_dose"),
        }
    )
    return user, access, context


def _episode(context: dict[str, Any]) -> EpisodeOfCare | None:
    """The open episode the chart header already read (no second query)."""
    episode: EpisodeOfCare | None = context.get("episode")
    if episode is not None:
        episode.patient = context["patient"]
    return episode


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    with timezone.override(context["patient"].facility.zone):
        return render(request, template, context)


def _chart_url(patient_id: int, anchor: str = "") -> str:
    url = reverse("recovery:chart", args=[patient_id])
    return f"{url}#{anchor}" if anchor else url


def _next_or(request: HttpRequest, default: str) -> str:
    back = request.POST.get("next", "") or request.GET.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return default


# --- the tab -----------------------------------------------------------------------------------


@login_required
@require_safe
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Sobriety date and days sober, drug tests, orders, prescriptions, meetings beside the
    dose, relapse events: a constant number of queries whatever the number of records."""
    _, access, context = _open(request, patient_id)
    episode = _episode(context)
    today = context["today"]
    context["recovery"] = selectors.chart(access.patient, episode, today)
    context["not_collected_form"] = NotCollectedForm()
    return _render(request, "recovery/chart.html", context)


# --- drug tests --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def test_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Hand entry of a drug test: specimen, observed, when, who, each substance's result."""
    user, access, context = _open(
        request, patient_id, permission="recovery.add_drugtest", section=f"{SECTION}: drug test"
    )
    episode = _episode(context)
    patient = access.patient
    order = None
    raw_order = request.GET.get("order", "")
    if raw_order.isdigit():
        order = selectors.order_of(patient, int(raw_order))
    ordered = tuple(order.substances) if order else ()
    with timezone.override(patient.facility.zone):
        initial: dict[str, Any] = {
            "collected_at": timezone.localtime().replace(second=0, microsecond=0),
            "collected_by": user.pk,
            "specimen": order.specimen if order else "urine",
            "observed": order.observed if order else False,
        }
        form = DrugTestForm(
            request.POST if request.method == "POST" else None,
            initial=initial,
            patient=patient,
            ordered=ordered,
        )
        if request.method == "POST" and episode is None:
            form.is_valid()
            form.add_error(None, NO_EPISODE)
        elif request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                test = services.record_drug_test(
                    actor=user,
                    episode=episode,  # type: ignore[arg-type]
                    specimen=data["specimen"],
                    observed=data["observed"],
                    collected_at=data["collected_at"],
                    collected_by=data["collected_by"],
                    results=form.chosen_results(),
                    note=data.get("note", ""),
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                return _after_test(request, patient.pk, test)
        context.update({"form": form, "order": order})
        return render(request, "recovery/test_form.html", context)


def _after_test(request: HttpRequest, patient_id: int, test: DrugTest) -> HttpResponse:
    unexpected = test.results.filter(reading=rules.Reading.UNEXPECTED).exists()
    if unexpected:
        messages.warning(
            request,
            "Unexpected positive: an alert is now on the chart and the primary clinician has "
            "been told. Record the clinical response below.",
        )
    else:
        messages.success(request, "Drug test saved.")
    return redirect("recovery:test", patient_id=patient_id, test_id=test.pk)


@login_required
@require_http_methods(["GET", "POST"])
def test_detail(request: HttpRequest, patient_id: int, test_id: int) -> HttpResponse:
    """One test with its readings, and the clinical response (asked for when a result is
    unexpected), with the offer to record a relapse prefilled from the test."""
    permission = "recovery.add_response" if request.method == "POST" else ""
    user, access, context = _open(
        request, patient_id, permission=permission, section=f"{SECTION}: drug test"
    )
    test = selectors.test_of(access.patient, test_id)
    if test is None:
        raise Http404("No such test on this chart.")
    form = ResponseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_response(
                actor=user,
                test=test,
                actions=form.cleaned_data["actions"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Clinical response recorded; the alert is acknowledged.")
            return redirect("recovery:test", patient_id=patient_id, test_id=test.pk)
    context.update(
        {
            "test": test,
            "response": test.clinical_response,
            "form": form,
            "relapses": list(test.relapses.all()),
        }
    )
    return _render(request, "recovery/test.html", context)


# --- prescriptions -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def prescription_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    user, access, context = _open(
        request,
        patient_id,
        permission="recovery.change_prescription",
        section=f"{SECTION}: prescription",
    )
    form = PrescriptionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.add_prescription(
                actor=user,
                patient=access.patient,
                medication_class=data["medication_class"],
                name=data["name"],
                prescriber=data.get("prescriber", ""),
                start_date=data["start_date"],
                end_date=data.get("end_date"),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Prescription added.")
            return redirect(_chart_url(patient_id, "prescriptions"))
    context["form"] = form
    return _render(request, "recovery/prescription_form.html", context)


# --- orders ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    user, _, context = _open(
        request, patient_id, permission="recovery.add_order", section=f"{SECTION}: order"
    )
    episode = _episode(context)
    track_days = (
        episode.track.weekday_numbers if episode is not None and episode.track else None
    ) or list(rules.DEFAULT_SERVICE_WEEKDAYS)
    initial = {
        "specimen": "urine",
        "observed": True,
        "panel": "standard_12",
        "frequency": rules.Frequency.RANDOM.value,
        "per_week": 2,
        "weekdays": [str(d) for d in track_days],
        "start_date": context["today"],
    }
    form = OrderForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and episode is None:
        form.is_valid()
        form.add_error(None, NO_EPISODE)
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.order_drug_tests(
                actor=user,
                episode=episode,  # type: ignore[arg-type]
                specimen=data["specimen"],
                observed=data["observed"],
                panel=data["panel"],
                substances=data.get("substances") or [],
                frequency=data["frequency"],
                weekdays=form.weekday_numbers(),
                per_week=data.get("per_week"),
                start_date=data["start_date"],
                end_date=data.get("end_date"),
                reason=data.get("reason", ""),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Drug-test order saved.")
            return redirect(_chart_url(patient_id, "orders"))
    context.update({"form": form, "track_days": rules.weekdays_text(track_days)})
    return _render(request, "recovery/order_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def order_stop(request: HttpRequest, patient_id: int, order_id: int) -> HttpResponse:
    user, access, context = _open(
        request, patient_id, permission="recovery.add_order", section=f"{SECTION}: order"
    )
    order = selectors.order_of(access.patient, order_id)
    if order is None:
        raise Http404("No such order on this chart.")
    form = StopOrderForm(
        request.POST if request.method == "POST" else None,
        initial={"last_day": context["today"]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.stop_order(
                actor=user,
                order=order,
                last_day=form.cleaned_data["last_day"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "The order is stopped.")
            return redirect(_chart_url(patient_id, "orders"))
    context.update({"form": form, "order": order})
    return _render(request, "recovery/order_stop.html", context)


@login_required
@require_POST
def not_collected(request: HttpRequest, patient_id: int, order_id: int) -> HttpResponse:
    """A due day marked not collected or refused, with the reason (from the chart or the
    facility's due list)."""
    user, access, context = _open(
        request, patient_id, permission="recovery.add_order", section=f"{SECTION}: collection"
    )
    order = selectors.order_of(access.patient, order_id)
    if order is None:
        raise Http404("No such order on this chart.")
    form = NotCollectedForm(request.POST)
    if form.is_valid():
        try:
            services.mark_not_collected(
                actor=user,
                order=order,
                due_date=form.cleaned_data["due_date"],
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Recorded for MRN {access.patient.mrn}.")
            return redirect(_next_or(request, _chart_url(patient_id, "orders")))
    context.update({"form": form, "order": order})
    return _render(request, "recovery/not_collected.html", context)


# --- meetings ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def meeting_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    user, access, context = _open(
        request, patient_id, permission="recovery.add_meeting", section=f"{SECTION}: meeting"
    )
    patient = access.patient
    episode = _episode(context)
    sponsors = selectors.sponsors_of(patient)
    form = MeetingForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial={"date": context["today"], "minutes": 60, "verification": "self"},
        sponsors=sponsors,
        slips=selectors.slips_of(patient),
    )
    if request.method == "POST" and episode is None:
        form.is_valid()
        form.add_error(None, NO_EPISODE)
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.add_meeting(
                actor=user,
                episode=episode,  # type: ignore[arg-type]
                date=data["date"],
                fellowship=data["fellowship"],
                fellowship_other=data.get("fellowship_other", ""),
                name=data.get("name", ""),
                setting=data["setting"],
                place=data.get("place", ""),
                minutes=data["minutes"],
                verification=data["verification"],
                sponsor_contact=data.get("sponsor_contact"),
                sponsor_name=data.get("sponsor_name", ""),
                slip=data.get("slip"),
                slip_upload=data.get("slip_upload"),
                note=data.get("note", ""),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Meeting recorded.")
            return redirect(_chart_url(patient_id, "meetings"))
    context.update({"form": form, "has_sponsors": sponsors.exists()})
    return _render(request, "recovery/meeting_form.html", context)


# --- relapse events and the sobriety date ------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def relapse_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Record a relapse; from a drug test (?test=) it comes prefilled: the day, the
    unexpected substances, "a drug test" and the link to it."""
    user, access, context = _open(
        request, patient_id, permission="recovery.add_relapse", section=f"{SECTION}: relapse"
    )
    patient = access.patient
    initial: dict[str, Any] = {"reset_sobriety": True}
    raw = request.GET.get("test", "")
    from_test = selectors.test_of(patient, int(raw)) if raw.isdigit() else None
    if from_test is not None:
        initial.update(
            {
                "date": timezone.localtime(from_test.collected_at, patient.facility.zone).date(),
                "substances": [r.substance for r in from_test.unexpected],
                "came_to_light": "drug_test",
                "drug_test": from_test.pk,
            }
        )
    form = RelapseForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        tests=selectors.tests_for_relapse(patient),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_relapse(
                actor=user,
                patient=patient,
                date=data["date"],
                substances=data.get("substances") or [],
                substances_other=data.get("substances_other", ""),
                circumstances=data.get("circumstances", ""),
                triggers=data.get("triggers", ""),
                came_to_light=data["came_to_light"],
                drug_test=data.get("drug_test"),
                responses=data.get("responses") or [],
                response_other=data.get("response_other", ""),
                reset_sobriety=bool(data.get("reset_sobriety")),
                new_sobriety_date=data.get("new_sobriety_date"),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            note = " The sobriety date is reset." if data.get("reset_sobriety") else ""
            messages.success(request, f"Relapse recorded.{note}")
            return redirect(_chart_url(patient_id, "relapses"))
    context.update({"form": form, "from_test": from_test})
    return _render(request, "recovery/relapse_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def sobriety(request: HttpRequest, patient_id: int) -> HttpResponse:
    user, access, context = _open(
        request, patient_id, permission="recovery.change_sobriety", section=f"{SECTION}: sobriety"
    )
    patient = access.patient
    current = services.current_sobriety(patient)
    form = SobrietyForm(
        request.POST if request.method == "POST" else None,
        initial={"sobriety_date": current.sobriety_date if current else None},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.set_sobriety_date(
                actor=user,
                patient=patient,
                sobriety_date=form.cleaned_data["sobriety_date"],
                reason_text=form.cleaned_data.get("reason_text", ""),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Sobriety date saved; the earlier one stays in the history.")
            return redirect(_chart_url(patient_id, "sobriety"))
    context.update({"form": form, "current": current})
    return _render(request, "recovery/sobriety_form.html", context)
