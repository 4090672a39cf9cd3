"""Measures pages: the chart tab (latest results, what is due, the trend charts), giving an
instrument, a result, setting a wrong one right, the schedules of repeated instruments and the
facility's list of instruments due. Thin: selectors read, services write, the definitions
shape the forms."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.measures import instruments, rules, selectors, services
from openiop.measures.forms import (
    AdministerForm,
    EnteredInErrorForm,
    ScheduleForm,
    StopScheduleForm,
    initial_answers,
)
from openiop.measures.models import Administration
from openiop.patients.chart import chart_context
from openiop.patients.selectors import ChartAccess, chart_access

SECTION = "measures"
SCHEDULES_SECTION = "measures: schedules"
DUE_SECTION = "instruments due"
DUE_PAGE_SIZE = 100  # rows a page shows (and audits); the count covers the whole list


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _permissions(user: User) -> dict[str, bool]:
    return {
        "may_give": user.can("measures.add_administration"),
        "may_correct": user.can("measures.mark_entered_in_error"),
        "may_schedule": user.can("measures.change_schedule"),
    }


@login_required
def chart(request: HttpRequest, pk: int) -> HttpResponse:
    """The Measures tab: the latest result of each instrument, what is due, the trend of each
    instrument over the stay, its history, and what to give."""
    user = _user(request)
    if not user.can("measures.view_administration"):
        # The header is part of the chart the role may open; the results are not.
        access = chart_access(user, pk, section="chart header")
        record(actor=user, action=AuditEvent.Action.DENIED, patient=access.patient, section=SECTION)
        context = chart_context(user, access, tab="measures")
        context["refused"] = selectors.REFUSED
        return render(request, "measures/refused.html", context, status=403)
    access = chart_access(user, pk, section=SECTION)
    patient = access.patient
    context = chart_context(user, access, tab="measures")
    episode: EpisodeOfCare | None = context.get("episode")
    today: dt.date = context["today"]
    due: list[selectors.DueRow] = []
    if episode is not None:
        # Episodes admitted before schedules existed (or by another route) get the defaults
        # the first time their chart is opened; the nightly command does the rest.
        services.ensure_default_schedules(episode=episode, actor=None)  # the system's defaults
        due = selectors.schedules_of(episode, today)
    stay = episode or selectors.stay_of(patient)
    trends = selectors.trends(patient, stay)
    since = selectors.stay_start(stay, patient.facility.zone) if stay else None
    summaries = selectors.chart_summary(patient, since=since)
    context.update(
        {
            "summaries": summaries,
            "given": [s for s in summaries if s.history],
            "definitions": list(instruments.DEFINITIONS.values()),
            "stay": stay,
            "due": due,
            "trends": trends,
            "trend_data": [t.as_data() for t in trends],
            **_permissions(user),
        }
    )
    with timezone.override(patient.facility.zone):
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


# --- schedules -----------------------------------------------------------------------------------


def _open_episode(context: dict[str, Any]) -> EpisodeOfCare:
    episode: EpisodeOfCare | None = context.get("episode")
    if episode is None:
        raise Http404("This person has no open episode of care.")
    return episode


def _schedules_page(
    request: HttpRequest,
    access: ChartAccess,
    context: dict[str, Any],
    episode: EpisodeOfCare,
    form: ScheduleForm | None = None,
) -> HttpResponse:
    user = _user(request)
    context.update(
        {
            "episode": episode,
            "due": selectors.schedules_of(episode, context["today"]),
            "stopped": list(selectors.stopped_schedules_of(episode)),
            "form": form or ScheduleForm(initial={"starts_on": context["today"], "every_days": 14}),
            **_permissions(user),
        }
    )
    with timezone.override(access.patient.facility.zone):
        return render(request, "measures/schedules.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def schedules(request: HttpRequest, pk: int) -> HttpResponse:
    """Which instruments this stay repeats and how often; the clinical team starts or changes
    one (a running one is replaced and kept as stopped)."""
    user = _user(request)
    if request.method == "POST":
        selectors.require_scheduler(user)
    elif not user.can("measures.view_schedule"):
        raise PermissionDenied(selectors.REFUSED)
    access = chart_access(
        user,
        pk,
        section=SCHEDULES_SECTION,
        action="update" if request.method == "POST" else "view",
    )
    context = chart_context(user, access, tab="measures")
    episode = _open_episode(context)
    services.ensure_default_schedules(episode=episode, actor=None)  # the system's defaults
    if request.method != "POST":
        return _schedules_page(request, access, context, episode)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            schedule = services.schedule_instrument(
                actor=user,
                episode=episode,
                instrument=data["instrument"],
                every_days=data["every_days"],
                starts_on=data["starts_on"],
            )
        except ValidationError as error:
            form.apply(error)
        else:
            messages.success(
                request,
                f"{schedule.definition.name} is now repeated {schedule.every_words}, "
                f"first due {schedule.starts_on:%m/%d/%Y}.",
            )
            return redirect("measures:schedules", pk=pk)
    return _schedules_page(request, access, context, episode, form)


@login_required
@require_http_methods(["GET", "POST"])
def stop_schedule(request: HttpRequest, pk: int, schedule_pk: int) -> HttpResponse:
    """Ask why, then stop repeating an instrument (the schedule stays in the chart)."""
    user = _user(request)
    selectors.require_scheduler(user)
    access = chart_access(
        user,
        pk,
        section=SCHEDULES_SECTION,
        action="update" if request.method == "POST" else "view",
    )
    context = chart_context(user, access, tab="measures")
    episode = _open_episode(context)
    schedule = selectors.schedule_of(episode, schedule_pk)
    if not schedule.is_active:
        messages.info(request, f"{schedule.definition.name} was already stopped.")
        return redirect("measures:schedules", pk=pk)
    form = StopScheduleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.stop_schedule(
                actor=user, schedule=schedule, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error("reason", error.messages)
        else:
            messages.success(
                request,
                f"{schedule.definition.name} is no longer repeated. Its results stay in the "
                "chart; start it again here at any time.",
            )
            return redirect("measures:schedules", pk=pk)
    context.update({"schedule": schedule, "form": form})
    return render(request, "measures/stop_schedule.html", context)


# --- the facility's list of instruments due ------------------------------------------------------


def _due_facility(request: HttpRequest) -> tuple[User, Facility]:
    """The role check (403), then the facility the user is working in."""
    user = _user(request)
    if not user.can("measures.view_due"):
        record(actor=user, action=AuditEvent.Action.DENIED, section=DUE_SECTION)
        raise PermissionDenied(selectors.DUE_REFUSED)
    facility: Facility | None = getattr(request, "facility", None)
    if facility is None:
        raise PermissionDenied("You are not assigned to a facility yet.")
    return user, facility


@login_required
@require_GET
def due(request: HttpRequest) -> HttpResponse:
    """People in treatment whose instruments are due today or overdue (the user's caseload,
    or the whole facility for the clinical leads), longest overdue first. A constant number of
    queries whatever the number of patients; one audit record per patient shown."""
    user, facility = _due_facility(request)
    today = timezone.localdate(timezone=facility.zone)
    services.ensure_default_schedules_for(
        episodes=selectors.open_episodes_in_scope(user, facility), actor=None
    )
    show = "overdue" if request.GET.get("show") == "overdue" else ""
    paginator = Paginator(
        selectors.due_list(user, facility, today, overdue_only=show == "overdue"),
        DUE_PAGE_SIZE,
    )
    page = paginator.get_page(request.GET.get("page"))
    rows = selectors.due_rows(page.object_list, today)
    record_list(
        actor=user,
        patients=[r.episode.patient for r in rows],
        facility_id=facility.pk,
        section=DUE_SECTION,
        detail={"on": today.isoformat(), "show": show or "due"},
    )
    context = {
        "facility": facility,
        "today": today,
        "rows": rows,
        "page": page,
        "show": show,
        "caseload_only": not user.sees_whole_facility,
        "pages": {
            "previous": (
                urlencode({**({"show": show} if show else {}), "page": page.previous_page_number()})
                if page.has_previous()
                else ""
            ),
            "next": (
                urlencode({**({"show": show} if show else {}), "page": page.next_page_number()})
                if page.has_next()
                else ""
            ),
        },
        "defaults": [
            (instruments.definition(code).name, every) for code, every in rules.DEFAULT_SCHEDULES
        ],
    }
    return render(request, "measures/due.html", context)
