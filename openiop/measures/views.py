"""Measures pages: the chart tab, giving an instrument, a result, and setting a wrong one right.
Thin: selectors read, services write, the definitions shape the forms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.measures import instruments, selectors, services
from openiop.measures.forms import AdministerForm, EnteredInErrorForm, initial_answers
from openiop.measures.models import Administration
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access

SECTION = "measures"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _permissions(user: User) -> dict[str, bool]:
    return {
        "may_give": user.can("measures.add_administration"),
        "may_correct": user.can("measures.mark_entered_in_error"),
    }


@login_required
def chart(request: HttpRequest, pk: int) -> HttpResponse:
    """The Measures tab: the latest result of each instrument, its history, and what to give."""
    user = _user(request)
    if not user.can("measures.view_administration"):
        # The header is part of the chart the role may open; the results are not.
        access = chart_access(user, pk, section="chart header")
        record(actor=user, action=AuditEvent.Action.DENIED, patient=access.patient, section=SECTION)
        context = chart_context(user, access, tab="measures")
        context["refused"] = selectors.REFUSED
        return render(request, "measures/refused.html", context, status=403)
    access = chart_access(user, pk, section=SECTION)
    context = chart_context(user, access, tab="measures")
    summaries = selectors.chart_summary(access.patient)
    context.update(
        {
            "summaries": summaries,
            "given": [s for s in summaries if s.history],
            "definitions": list(instruments.DEFINITIONS.values()),
            **_permissions(user),
        }
    )
    with timezone.override(access.patient.facility.zone):
        return render(request, "measures/chart.html", context)


def _give_page(
    request: HttpRequest,
    access: ChartAccess,
    definition: instruments.Instrument,
    corrects: Administration | None,
) -> HttpResponse:
    user = _user(request)
    patient = access.patient
    with timezone.override(patient.facility.zone):
        initial: dict[str, Any] = {
            "administered_at": timezone.localtime().replace(second=0, microsecond=0),
            "administered_by": user.pk,
        }
        if corrects is not None:
            initial.update(initial_answers(definition, corrects.answers))
            initial["administered_at"] = timezone.localtime(corrects.administered_at)
            initial["administered_by"] = corrects.administered_by_id
            initial["notes"] = corrects.notes
            if corrects.sex_used:
                initial["sex"] = corrects.sex_used
        form = AdministerForm(
            request.POST if request.method == "POST" else None,
            initial=initial,
            definition=definition,
            patient=patient,
            correcting=corrects is not None,
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                administration = services.administer(
                    actor=user,
                    patient=patient,
                    code=definition.code,
                    answers=data["answers"],
                    administered_at=data["administered_at"],
                    administered_by=data["administered_by"],
                    notes=data.get("notes", ""),
                    sex=data.get("sex") or None,
                    corrects=corrects,
                    correction_reason=data.get("correction_reason", ""),
                )
            except ValidationError as error:
                form.apply(error)
            else:
                messages.success(
                    request, f"{definition.name} saved: {administration.result_label or 'scored'}."
                )
                if administration.suicide_risk:
                    messages.warning(
                        request,
                        "Suicide risk: an alert is now at the top of the chart and the care team "
                        "and clinical directors have been told. Stay with the person and complete "
                        "a full risk assessment and safety plan today.",
                    )
                return redirect(
                    "measures:result", pk=patient.pk, administration_pk=administration.pk
                )
        context = chart_context(user, access, tab="measures")
        context.update({"form": form, "definition": definition, "corrects": corrects})
        return render(request, "measures/give.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def give(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    user = _user(request)
    selectors.require_giver(user)
    definition = instruments.DEFINITIONS.get(code)
    if definition is None:
        raise Http404("No such instrument.")
    access = chart_access(user, pk, section=f"{SECTION}: give {definition.name}")
    return _give_page(request, access, definition, None)


@login_required
@require_http_methods(["GET", "POST"])
def correct(request: HttpRequest, pk: int, administration_pk: int) -> HttpResponse:
    """Give the instrument again from the wrong answers; the old result is struck through."""
    user = _user(request)
    selectors.require_giver(user)
    access = chart_access(user, pk, section=f"{SECTION}: correction")
    old = selectors.administration_of(access.patient, administration_pk)
    if old.entered_in_error:
        messages.error(request, "This result is already marked entered in error.")
        return redirect("measures:result", pk=pk, administration_pk=old.pk)
    return _give_page(request, access, old.definition, old)


def _result_page(
    request: HttpRequest,
    access: ChartAccess,
    administration: Administration,
    error_form: EnteredInErrorForm | None = None,
) -> HttpResponse:
    user = _user(request)
    context = chart_context(user, access, tab="measures")
    context.update(
        {
            "a": administration,
            "definition": administration.definition,
            "corrections": list(
                administration.corrections.select_related("entered_by").order_by("entered_at")
            ),
            "error_form": error_form or EnteredInErrorForm(),
            **_permissions(user),
        }
    )
    with timezone.override(access.patient.facility.zone):
        return render(request, "measures/result.html", context)


@login_required
def result(request: HttpRequest, pk: int, administration_pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_reader(user)
    access = chart_access(user, pk, section=f"{SECTION}: result")
    administration = selectors.administration_of(access.patient, administration_pk)
    return _result_page(request, access, administration)


@login_required
@require_POST
def entered_in_error(request: HttpRequest, pk: int, administration_pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_giver(user)
    access = chart_access(user, pk, section=f"{SECTION}: entered in error", action="update")
    administration = selectors.administration_of(access.patient, administration_pk)
    form = EnteredInErrorForm(request.POST)
    if form.is_valid():
        try:
            services.mark_entered_in_error(
                actor=user, administration=administration, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error("reason", error.messages)
        else:
            messages.success(
                request, "Marked entered in error. It no longer counts as the latest result."
            )
            return redirect("measures:result", pk=pk, administration_pk=administration.pk)
    return _result_page(request, access, administration, form)
