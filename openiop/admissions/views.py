"""Admission pages: the chart's Admission tab, admitting, correcting, the current census."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from openiop.accounts.models import User
from openiop.admissions import prefill, rules, selectors, services
from openiop.admissions.forms import CoverageForm, EpisodeForm
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.chart import chart_context
from openiop.patients.selectors import chart_access


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _apply(form: Any, coverage_form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errs in error.error_dict.items():
            target = coverage_form if field in coverage_form.fields else form
            for e in errs:
                target.add_error(field if field in target.fields else None, e.messages)
    else:
        form.add_error(None, error.messages)


@login_required
def chart(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access = chart_access(user, pk, section="admission")
    context = chart_context(user, access, tab="admission")
    episodes = list(selectors.episodes_of(access.patient))
    current = next((e for e in episodes if e.is_open), None)
    today = context["today"]
    context.update(
        {
            "episodes": episodes,
            "current": current,
            "progress": rules.stay_progress(current.days_in_treatment(today)) if current else None,
            "may_admit": user.can("admissions.admit"),
        }
    )
    return render(request, "admissions/chart.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def admit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if not user.can("admissions.admit"):
        raise PermissionDenied("Your role does not admit patients.")
    access = chart_access(user, pk, section="admission")
    patient = access.patient
    if selectors.open_episode(patient) is not None:
        messages.info(request, "This person is already admitted. Correct the episode instead.")
        return redirect("admissions:chart", pk=patient.pk)
    facts = prefill.admission_facts(patient)
    form = EpisodeForm(request.POST or None, patient=patient, initial=facts.episode_initial)
    coverage_form = CoverageForm(
        request.POST or None, prefix="coverage", initial=facts.coverage_initial
    )
    if request.method == "POST" and form.is_valid() and coverage_form.is_valid():
        data = form.cleaned_data
        try:
            episode = services.admit(
                actor=user,
                patient=patient,
                program=data["program"],
                admission_date=data["admission_date"],
                primary_clinician=data["primary_clinician"],
                referral_source=data["referral_source"],
                track=data.get("track"),
                referral_detail=data.get("referral_detail", ""),
                expected_length_days=data.get("expected_length_days") or 90,
                asam_level=facts.asam_level,
                coverage=coverage_form.cleaned_data,
                teds_values={k: v for k, v in data.items() if k.startswith("teds_")},
            )
        except ValidationError as error:
            _apply(form, coverage_form, error)
        else:
            messages.success(
                request,
                f"Admitted to {episode.program.name} on {episode.admission_date:%m/%d/%Y}. "
                "Next: write the treatment plan with the person.",
            )
            return redirect("admissions:chart", pk=patient.pk)
    context = chart_context(user, access, tab="admission")
    # After a refused POST, warn about the program that was chosen.
    program = getattr(form, "cleaned_data", {}).get("program")
    context.update(
        {
            "form": form,
            "coverage_form": coverage_form,
            "facts": facts,
            "asam_warning": rules.asam_mismatch(facts.asam_level, program.level_of_care)
            if program
            else None,
            "creating": True,
        }
    )
    return render(request, "admissions/form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int, episode_pk: int) -> HttpResponse:
    user = _user(request)
    if not user.can("admissions.change_episode"):
        raise PermissionDenied("Your role does not change admissions.")
    access = chart_access(user, pk, section="admission")
    episode = selectors.episodes_of(access.patient).filter(pk=episode_pk).first()
    if episode is None:
        raise Http404("No episode here.")
    if not episode.is_open:
        messages.error(request, "A discharged episode cannot be changed.")
        return redirect("admissions:chart", pk=access.patient.pk)
    primary = next((c for c in episode.coverages.all() if c.priority == "primary"), None)
    form = EpisodeForm(request.POST or None, instance=episode, patient=access.patient, editing=True)
    coverage_form = CoverageForm(request.POST or None, prefix="coverage", instance=primary)
    if request.method == "POST" and form.is_valid() and coverage_form.is_valid():
        try:
            services.update_episode(
                actor=user,
                episode=episode,
                data=form.cleaned_data,
                coverage={**coverage_form.cleaned_data, "priority": "primary"},
            )
        except ValidationError as error:
            _apply(form, coverage_form, error)
        else:
            messages.success(request, "Admission details saved.")
            return redirect("admissions:chart", pk=access.patient.pk)
    context = chart_context(user, access, tab="admission")
    context.update(
        {"form": form, "coverage_form": coverage_form, "episode": episode, "creating": False}
    )
    return render(request, "admissions/form.html", context)


@login_required
def census(request: HttpRequest) -> HttpResponse:
    """Everyone currently admitted at this facility that the user may see."""
    user = _user(request)
    facility = getattr(request, "facility", None)
    if facility is None or not user.may_open_charts:
        raise PermissionDenied
    today = timezone.localdate(timezone=facility.zone)
    rows: list[tuple[EpisodeOfCare, int]] = [
        (e, e.days_in_treatment(today)) for e in selectors.current_census(user, facility)
    ]
    return render(
        request,
        "admissions/census.html",
        {"rows": rows, "today": today, "minimum": rules.MINIMUM_STAY_DAYS},
    )
