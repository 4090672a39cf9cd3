"""Discharging a patient, the discharge summary (complete, refresh the facts, sign), its PDF,
and referrals.

Every page checks the role first (403, and the refusal is audited), then opens the chart
through ``chart_access`` (404 out of scope, audited). Writes go through the services; a view
parses the form, calls the service and shows its errors (nothing is saved on error).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.discharge import printing, rules, services
from openiop.discharge import selectors_discharge as selectors
from openiop.discharge.facts import fact_rows, instrument_rows
from openiop.discharge.forms_discharge import (
    DischargeForm,
    ReferralForm,
    ReferralStatusForm,
    SignForm,
    SummaryForm,
    apply_errors,
)
from openiop.discharge.models import Discharge
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access

SECTION = "discharge"
SECTION_SUMMARY = "discharge summary"
SECTION_REFERRALS = "referrals"
VIEW = "discharge.view_discharge"
WRITE = "discharge.add_discharge"
REFER = "discharge.add_referral"
CHECK_THE_LIST = (
    "The list of what is still booked is now shown for the discharge date you entered. "
    "Check it, then discharge again."
)
SIGNED_MESSAGE = "Signed. The discharge summary is now locked; referrals can still be updated."


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _refuse(user: User, section: str, detail: dict[str, Any]) -> NoReturn:
    record(actor=user, action=AuditEvent.Action.DENIED, section=section, detail=detail)
    raise PermissionDenied(services.REFUSED)


def _open(
    request: HttpRequest, patient_id: int, *, permission: str, section: str
) -> tuple[User, ChartAccess, dict[str, Any]]:
    """The role check (403, audited), then the chart (404 out of scope, audited), then the
    page's context with the chart header."""
    user = _user(request)
    if not user.can(permission):
        _refuse(user, section, {"patient_id": patient_id})
    action = AuditEvent.Action.UPDATE if request.method == "POST" else AuditEvent.Action.VIEW
    access = chart_access(user, patient_id, section=section, action=action)
    return user, access, chart_context(user, access, tab="discharge")


def _patient_or_404(user: User, found: int | None, section: str, pk: int) -> int:
    if found is None:
        record(actor=user, action=AuditEvent.Action.DENIED, section=section, detail={"id": pk})
        raise Http404("Nothing here.")
    return found


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _moment(text: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    with timezone.override(context["patient"].facility.zone):
        return render(request, template, context, status=status)


# --- discharging -------------------------------------------------------------------------------


def _discharged_message(discharge: Discharge, cancelled: int, ended: int, followups: int) -> str:
    parts = [f"Discharged on {discharge.discharge_date:%m/%d/%Y}."]
    if cancelled or ended:
        parts.append(
            f"{cancelled} appointment{'s' if cancelled != 1 else ''} cancelled and "
            f"{ended} group enrollment{'s' if ended != 1 else ''} ended."
        )
    if followups:
        parts.append(f"{followups} follow-up call{'s' if followups != 1 else ''} scheduled.")
    parts.append("Now complete the summary below and sign it.")
    return " ".join(parts)


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Discharge the patient from their open episode: date, reason, the 90-day question,
    step-down, follow-up consent, TEDS status at discharge, and the offer to cancel what is
    still booked after the discharge date."""
    user, access, context = _open(request, patient_id, permission=WRITE, section=SECTION)
    patient = access.patient
    episode: EpisodeOfCare | None = context.get("episode")
    if episode is None:
        done = selectors.last_discharge(patient)
        if done is not None:
            messages.info(
                request,
                f"{patient.display_name} was already discharged on "
                f"{done.discharge_date:%m/%d/%Y}. This is that discharge.",
            )
            return redirect("discharge:summary", pk=done.pk)
        return _render(request, "discharge/new.html", context)
    episode.patient = patient
    today = context["today"]
    form = DischargeForm(
        request.POST if request.method == "POST" else None,
        initial={"discharge_date": today, "followup_agreed": True, "cancel_future": True},
    )
    if request.method == "GET" and request.GET.get("commitments"):
        # htmx: the list of what is still booked, for the date just typed.
        on = _iso_date(request.GET.get("discharge_date", "")) or today
        context.update(
            {"form": form, "on": on, "commitments": services.future_commitments(episode, on)}
        )
        return _render(request, "discharge/_d_commitments.html", context)
    if request.method == "POST" and form.is_valid():
        on = form.cleaned_data.get("discharge_date") or today
        offered = services.future_commitments(episode, on)
        cancel = bool(form.cleaned_data.get("cancel_future"))
        listed_for = _iso_date(request.POST.get("listed_for", ""))
        if cancel and listed_for != on and (offered["appointments"] or offered["enrollments"]):
            # The page listed what was booked after another date: show the right list first.
            form.add_error(None, CHECK_THE_LIST)
        else:
            try:
                discharge = services.discharge_patient(
                    actor=user,
                    episode=episode,
                    cancel_future=cancel,
                    teds_d=form.teds_values(),
                    today=today,
                    **form.detail_values(),
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _discharged_message(
                        discharge,
                        len(offered["appointments"]) if cancel else 0,
                        len(offered["enrollments"]) if cancel else 0,
                        discharge.episode.followups.count(),
                    ),
                )
                return redirect("discharge:summary", pk=discharge.pk)
    on = form.chosen_date() or today
    day = episode.days_in_treatment(on)
    context.update(
        {
            "form": form,
            "on": on,
            "day": day,
            "early": rules.is_early(episode.admission_date, on),
            "minimum": rules.MINIMUM_STAY_DAYS,
            "commitments": services.future_commitments(episode, on),
            "today_day": episode.days_in_treatment(today),
        }
    )
    return _render(request, "discharge/new.html", context)


# --- the summary -------------------------------------------------------------------------------


def _summary_context(user: User, discharge: Discharge, context: dict[str, Any]) -> dict[str, Any]:
    context.update(
        {
            "discharge": discharge,
            "gathered_at": _moment(discharge.facts.get("gathered_at")),
            "facts": fact_rows(discharge.facts),
            "instruments": instrument_rows(discharge.facts),
            "reason_label": rules.DISCHARGE_REASONS.get(discharge.reason_key, ("", 0))[0],
            "referrals": selectors.referrals_of(discharge.episode),
            "followups": selectors.followups_of(discharge),
            "may_write": user.can(WRITE),
            "sign_problems": services.sign_problems(discharge) if not discharge.is_signed else {},
        }
    )
    return context


@login_required
@require_http_methods(["GET", "POST"])
def summary(request: HttpRequest, pk: int) -> HttpResponse:
    """The pre-filled facts, the three texts to complete while unsigned, the signature, the
    referrals and the follow-ups of one discharge."""
    user = _user(request)
    permission = WRITE if request.method == "POST" else VIEW
    if not user.can(permission):
        _refuse(user, SECTION_SUMMARY, {"id": pk})
    patient_id = _patient_or_404(user, selectors.patient_of_discharge(pk), SECTION_SUMMARY, pk)
    user, access, context = _open(
        request, patient_id, permission=permission, section=SECTION_SUMMARY
    )
    discharge = selectors.discharge_of(access.patient, pk)
    if discharge is None:
        raise Http404("No such discharge on this chart.")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    here = redirect("discharge:summary", pk=discharge.pk)
    if action and discharge.is_signed:
        messages.error(request, services.SIGNED)
        return here
    summary_form = SummaryForm(
        request.POST if action in ("save", "refresh") else None,
        initial={
            "course": discharge.course,
            "condition": discharge.condition,
            "recommendations": discharge.recommendations,
        },
        prefix="summary",
    )
    sign_form = SignForm(request.POST if action == "sign" else None, prefix="sign")
    details_form = DischargeForm(
        request.POST if action == "details" else None,
        initial=DischargeForm.initial_for(discharge),
        with_cancel=False,
        prefix="details",
    )
    if action in ("save", "refresh") and summary_form.is_valid():
        data = summary_form.cleaned_data
        try:
            services.save_summary(
                actor=user,
                discharge=discharge,
                course=data["course"],
                condition=data["condition"],
                recommendations=data["recommendations"],
                refresh_facts=action == "refresh",
            )
        except ValidationError as error:
            apply_errors(summary_form, error)
        else:
            messages.success(
                request,
                "Saved, and the facts gathered again."
                if action == "refresh"
                else "Saved. Sign the summary when it is complete.",
            )
            return here
    elif action == "sign" and sign_form.is_valid():
        try:
            services.sign_discharge(actor=user, discharge=discharge, **sign_form.identity)
        except ValidationError as error:
            apply_errors(sign_form, error)
        else:
            messages.success(request, SIGNED_MESSAGE)
            return here
    elif action == "details" and details_form.is_valid():
        try:
            services.update_discharge(
                actor=user,
                discharge=discharge,
                teds_d=details_form.teds_values(),
                today=context["today"],
                **details_form.detail_values(),
            )
        except ValidationError as error:
            apply_errors(details_form, error)
        else:
            messages.success(request, "The discharge details are changed.")
            return here
    _summary_context(user, discharge, context)
    context.update(
        {
            "summary_form": summary_form,
            "sign_form": sign_form,
            "details_form": details_form,
            "open_form": action,
        }
    )
    return _render(request, "discharge/summary.html", context)


@login_required
@require_GET
def pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The summary as a PDF with the §2.32 notice; a draft is watermarked. Audited as a print."""
    user = _user(request)
    section = f"{SECTION_SUMMARY} (print)"
    if not user.can(VIEW):
        _refuse(user, section, {"id": pk})
    patient_id = _patient_or_404(user, selectors.patient_of_discharge(pk), section, pk)
    user, access, _ = _open(request, patient_id, permission=VIEW, section=section)
    discharge = selectors.discharge_of(access.patient, pk)
    if discharge is None:
        raise Http404("No such discharge on this chart.")
    record(
        actor=user,
        action=AuditEvent.Action.PRINT,
        patient=access.patient,
        obj=discharge,
        section=section,
        detail={"format": "pdf", "signed": discharge.is_signed},
    )
    html = printing.summary_html(
        discharge,
        access.patient,
        user,
        referrals=selectors.referrals_of(discharge.episode),
        followups=selectors.followups_of(discharge),
    )
    response = HttpResponse(printing.to_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{printing.filename(discharge)}"'
    return response


# --- referrals ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def referrals(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The referrals of the current (or last) episode, and a form to add one."""
    permission = REFER if request.method == "POST" else VIEW
    user, access, context = _open(
        request, patient_id, permission=permission, section=SECTION_REFERRALS
    )
    patient = access.patient
    episode = context.get("episode") or selectors.episode_for_referrals(patient)
    form = ReferralForm(
        request.POST if request.method == "POST" else None,
        initial={"status": "planned", "status_on": context["today"]},
    )
    if request.method == "POST" and episode is None:
        form.is_valid()
        form.add_error(None, "The patient has no episode of care: admit them first.")
    elif request.method == "POST" and episode is not None and form.is_valid():
        data = form.cleaned_data
        try:
            services.add_referral(
                actor=user,
                episode=episode,
                kind=data["kind"],
                provider=data["provider"],
                contact=data.get("contact") or "",
                status=data["status"],
                status_on=data["status_on"],
                note=data.get("note") or "",
                today=context["today"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Referral added.")
            return redirect("discharge:referrals", patient_id=patient.pk)
    context.update(
        {
            "form": form,
            "stay": episode,
            "referrals": selectors.referrals_of(episode) if episode is not None else [],
            "may_refer": user.can(REFER),
            "discharge": selectors.discharge_of_episode(episode) if episode is not None else None,
        }
    )
    return _render(request, "discharge/referrals.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def referral(request: HttpRequest, pk: int) -> HttpResponse:
    """One referral: its status history and the form to record where it stands now."""
    user = _user(request)
    permission = REFER if request.method == "POST" else VIEW
    if not user.can(permission):
        _refuse(user, SECTION_REFERRALS, {"id": pk})
    patient_id = _patient_or_404(user, selectors.patient_of_referral(pk), SECTION_REFERRALS, pk)
    user, access, context = _open(
        request, patient_id, permission=permission, section=SECTION_REFERRALS
    )
    found = selectors.referral_of(access.patient, pk)
    if found is None:
        raise Http404("No such referral on this chart.")
    form = ReferralStatusForm(
        request.POST if request.method == "POST" else None,
        initial={"status": found.status, "status_on": context["today"], "note": found.note},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_referral(
                actor=user,
                referral=found,
                status=data["status"],
                status_on=data["status_on"],
                note=data.get("note") or "",
                today=context["today"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Referral status saved.")
            return redirect("discharge:referrals", patient_id=access.patient.pk)
    context.update(
        {
            "referral": found,
            "form": form,
            "history": list(found.history.select_related("history_user").order_by("-history_id")),
            "may_refer": user.can(REFER),
        }
    )
    return _render(request, "discharge/referral.html", context)
