"""The Discharge & continuing care chart tab: days in treatment against the 90-day minimum,
discharge readiness, the planned step-down, the level-of-care history and transfers, the
discharge, its referrals and follow-ups.

Every page checks the role first (403, the refusal audited), then opens the chart through
``chart_access`` (404 out of scope, audited). Writes go through the services; a view parses
the form, calls the service and shows its messages on the fields (nothing saved on error).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.admissions.rules import stay_progress
from openiop.core import teds
from openiop.discharge import selectors
from openiop.discharge.forms_readiness import DischargePlanForm, TransferForm
from openiop.discharge.models import DischargePlan
from openiop.discharge.readiness import save_discharge_plan
from openiop.discharge.transfer import transfer as transfer_service
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.plans.forms import apply_errors

SECTION = "discharge and continuing care"
NO_EPISODE = (
    "The person has no open episode of care: a discharge plan and a transfer belong to a stay."
)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _open(
    request: HttpRequest, patient_id: int, *, permission: str = "", section: str = SECTION
) -> tuple[User, ChartAccess, dict[str, Any]]:
    """The role check (403, audited), then the chart (404 out of scope, audited), then the
    page's context with the chart header."""
    user = _user(request)
    selectors.require_team(user, section=section, patient_id=patient_id, permission=permission)
    action = "update" if request.method == "POST" else "view"
    access = chart_access(user, patient_id, section=section, action=action)
    context = chart_context(user, access, tab="discharge")
    context.update(
        {
            "may_plan": user.can("discharge.change_dischargeplan"),
            "may_transfer": user.can("discharge.transfer"),
            "may_discharge": user.can("discharge.add_discharge"),
            "may_refer": user.can("discharge.add_referral"),
        }
    )
    return user, access, context


def _open_episode(context: dict[str, Any]) -> EpisodeOfCare | None:
    """The open episode the chart header already read (no second query)."""
    episode: EpisodeOfCare | None = context.get("episode")
    if episode is not None:
        episode.patient = context["patient"]
    return episode


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    with timezone.override(context["patient"].facility.zone):
        return render(request, template, context, status=status)


def _chart_url(patient_id: int, anchor: str = "") -> str:
    url = reverse("discharge:chart", args=[patient_id])
    return f"{url}#{anchor}" if anchor else url


# --- the tab -----------------------------------------------------------------------------------


@login_required
@require_safe
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Days in treatment, readiness, the planned step-down, the level-of-care history, the
    discharge with its referrals and follow-ups: a constant number of queries."""
    _, access, context = _open(request, patient_id)
    tab = selectors.chart(access.patient, today=context["today"])
    context.update(
        {
            "d": tab,
            "followups": [(f, selectors.followup_summary(f)) for f in tab.followups],
        }
    )
    return _render(request, "discharge/chart.html", context)


# --- the discharge plan ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The planned step-down and date, and the clinician's confirmations (housing, work or
    school) that complete the readiness checklist."""
    user, _, context = _open(
        request,
        patient_id,
        permission="discharge.change_dischargeplan",
        section=f"{SECTION}: discharge plan",
    )
    episode = _open_episode(context)
    if episode is None:
        context["no_episode"] = NO_EPISODE
        return _render(request, "discharge/plan.html", context)
    current = DischargePlan.objects.filter(episode=episode).first()
    initial: dict[str, Any] = {}
    if current is not None:
        initial = {name: getattr(current, name) for name in DischargePlanForm.base_fields}
    form = DischargePlanForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            save_discharge_plan(
                actor=user,
                episode=episode,
                planned_step_down=data["planned_step_down"],
                planned_date=data["planned_date"],
                step_down_provider=data["step_down_provider"],
                housing_ready=data["housing_ready"],
                housing_note=data["housing_note"],
                work_school_ready=data["work_school_ready"],
                work_school_note=data["work_school_note"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Discharge plan saved.")
            return redirect(_chart_url(patient_id, "readiness"))
    context.update(
        {
            "form": form,
            "stay": stay_progress(episode.days_in_treatment(context["today"])),
            "current": current,
        }
    )
    return _render(request, "discharge/plan.html", context)


# --- a transfer --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def transfer(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Move the person to another program of the facility (PHP → IOP → OP) in the same
    episode: one continuous record, the change kept in the level-of-care history."""
    user, _, context = _open(
        request, patient_id, permission="discharge.transfer", section=f"{SECTION}: transfer"
    )
    episode = _open_episode(context)
    if episode is None:
        context["no_episode"] = NO_EPISODE
        return _render(request, "discharge/transfer.html", context)
    form = TransferForm(
        request.POST if request.method == "POST" else None,
        initial={"changed_on": context["today"]},
        episode=episode,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            change = transfer_service(
                actor=user,
                episode=episode,
                to_program=data["to_program"],
                to_track=data.get("to_track"),
                changed_on=data["changed_on"],
                reason=data["reason"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            services_note = (
                f" TEDS type of service changes from {change.from_services} to "
                f"{change.to_services}."
                if change.services_changed
                else ""
            )
            messages.success(
                request,
                f"Transferred to {change.to_program.name} from {change.changed_on:%m/%d/%Y}; "
                f"days in treatment go on counting from the admission.{services_note}",
            )
            return redirect(_chart_url(patient_id, "levels"))
    context.update(
        {
            "form": form,
            "levels": selectors.level_history(episode, today=context["today"]),
            "services_now": teds.Services(episode.teds_services).label,
            "services_for_level": {
                level: f"{int(code)} ({teds.Services(code).label})"
                for level, code in teds.SERVICES_FOR_LEVEL.items()
            },
        }
    )
    return _render(request, "discharge/transfer.html", context)
