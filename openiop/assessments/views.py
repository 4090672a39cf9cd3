"""Assessment pages: the chart tab, ASAM, the biopsychosocial assessment, the ICD-10 search
and the level-of-care table. Thin: selectors read, services write, rules decide."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from openiop.accounts.models import User
from openiop.assessments import icd10, rules, selectors, services
from openiop.assessments.forms import (
    SECTION_TITLES,
    AddendumForm,
    AsamForm,
    AsamRuleFormSet,
    DiagnosisRowForm,
    Icd10SearchForm,
    SectionForm,
    SignForm,
    SubstanceRowForm,
)
from openiop.assessments.models import AsamAssessment, Biopsychosocial
from openiop.audit.models import AuditEvent
from openiop.patients.chart import chart_context
from openiop.patients.models import Patient
from openiop.patients.selectors import ChartAccess, chart_access, visible_patients

MAX_DIAGNOSIS_ROWS = 20


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _apply_errors(form: BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errs in error.error_dict.items():
            target = field if field in form.fields else None
            for e in errs:
                form.add_error(target, e.messages)
    else:
        form.add_error(None, error.messages)


def _permissions(user: User) -> dict[str, bool]:
    return {
        "may_write": user.can("assessments.change_assessment"),
        "may_read_narrative": user.can("assessments.view_narrative"),
    }


@login_required
def chart(request: HttpRequest, pk: int) -> HttpResponse:
    """The chart's Assessments tab: every ASAM and biopsychosocial assessment, newest first."""
    user = _user(request)
    selectors.require_reader(user)
    access = chart_access(user, pk, section="assessments")
    context = chart_context(user, access, tab="assessments")
    context.update(
        {
            "asams": list(selectors.asams_of(access.patient)),
            "biopsychosocials": list(selectors.biopsychosocials_of(access.patient)),
            **_permissions(user),
        }
    )
    return render(request, "assessments/chart.html", context)


# ---------------------------------------------------------------------------------------
# ASAM


def _preview(form: AsamForm, patient: Patient) -> dict[str, Any]:
    """What the recommendation box shows for the ratings typed so far."""
    table = selectors.table_for_patient(patient)
    ratings = form.ratings() if form.is_bound else {}
    errors = rules.rating_errors(ratings)
    final_level = str(form.data.get(form.add_prefix("final_level"), "")) if form.is_bound else ""
    if errors:
        return {
            "recommendation": None,
            "missing": [d for d in rules.DIMENSIONS if d in errors],
            "table": table,
        }
    recommendation = rules.recommend_level(
        {d: int(str(v)) for d, v in ratings.items()}, table.rules
    )
    return {
        "recommendation": recommendation,
        "table": table,
        "final_level": final_level,
        "override": rules.needs_override_reason(recommendation.code, final_level),
    }


def _asam_form_page(
    request: HttpRequest,
    access: ChartAccess,
    form: AsamForm,
    assessment: AsamAssessment | None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    context = chart_context(user, access, tab="assessments")
    context.update(
        {
            "form": form,
            "assessment": assessment,
            "preview": _preview(form, access.patient)
            if form.is_bound
            else _initial_preview(assessment, access.patient),
            "dimension_names": rules.DIMENSION_NAMES,
        }
    )
    return render(request, "assessments/asam_form.html", context, status=status)


def _initial_preview(assessment: AsamAssessment | None, patient: Patient) -> dict[str, Any]:
    table = selectors.table_for_patient(patient)
    if assessment is None:
        return {"recommendation": None, "missing": list(rules.DIMENSIONS), "table": table}
    recommendation = rules.recommend_level(assessment.ratings, table.rules)
    return {
        "recommendation": recommendation,
        "table": table,
        "final_level": assessment.final_level,
        "override": rules.needs_override_reason(recommendation.code, assessment.final_level),
    }


@login_required
@require_http_methods(["GET", "POST"])
def asam_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_writer(user)
    access = chart_access(user, pk, section="ASAM assessment (new)")
    form = AsamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.create_asam(
                actor=user, patient=access.patient, data=form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, "ASAM assessment saved as a draft. Review it and sign when ready."
            )
            return redirect("assessments:asam_detail", pk=assessment.pk)
    return _asam_form_page(request, access, form, None)


@login_required
@require_POST
def asam_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The recommendation box, re-rendered as the clinician rates (htmx)."""
    user = _user(request)
    selectors.require_writer(user)
    # Only the organization's table is read here, no patient information: scoped, not audited.
    patient = visible_patients(user).select_related("facility").filter(pk=pk).first()
    if patient is None:
        raise Http404("No patient here.")
    form = AsamForm(request.POST)
    return render(request, "assessments/_recommendation.html", {"preview": _preview(form, patient)})


@login_required
@require_http_methods(["GET", "POST"])
def asam_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_writer(user)
    access, assessment = selectors.open_asam(user, pk, section="ASAM assessment (edit)")
    if assessment.is_signed:
        messages.error(request, services.LOCKED_MESSAGE)
        return redirect("assessments:asam_detail", pk=assessment.pk)
    initial = {name: getattr(assessment, name) for name in services.ASAM_FIELDS}
    form = AsamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_asam(actor=user, assessment=assessment, data=form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Draft saved.")
            return redirect("assessments:asam_detail", pk=assessment.pk)
    return _asam_form_page(request, access, form, assessment)


def _asam_detail_page(
    request: HttpRequest,
    access: ChartAccess,
    assessment: AsamAssessment,
    *,
    sign_form: SignForm | None = None,
    addendum_form: AddendumForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    context = chart_context(user, access, tab="assessments")
    context.update(
        {
            "assessment": assessment,
            "sign_form": sign_form or SignForm(),
            "addendum_form": addendum_form or AddendumForm(),
            "recommendation_label": rules.RECOMMENDATIONS.get(assessment.recommendation, ""),
            **_permissions(user),
        }
    )
    return render(request, "assessments/asam_detail.html", context, status=status)


@login_required
def asam_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access, assessment = selectors.open_asam(_user(request), pk)
    return _asam_detail_page(request, access, assessment)


@login_required
@require_POST
def asam_sign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_writer(user)
    access, assessment = selectors.open_asam(user, pk, section="ASAM assessment (sign)")
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            services.sign_asam(
                actor=user, assessment=assessment, password=form.cleaned_data["password"]
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Signed. The ASAM assessment is locked; add addenda below.")
            return redirect("assessments:asam_detail", pk=assessment.pk)
    return _asam_detail_page(request, access, assessment, sign_form=form)


@login_required
@require_POST
def asam_addendum(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_writer(user)
    access, assessment = selectors.open_asam(user, pk, section="ASAM assessment (addendum)")
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.add_addendum(actor=user, assessment=assessment, text=form.cleaned_data["text"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Addendum added.")
            return redirect("assessments:asam_detail", pk=assessment.pk)
    return _asam_detail_page(request, access, assessment, addendum_form=form)


@login_required
def asam_print(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable copy of a signed ASAM assessment, recorded as a print."""
    user = _user(request)
    selectors.require_reader(user)
    if not AsamAssessment.objects.filter(pk=pk, status="signed").exists():
        raise Http404("Only signed assessments are printed.")
    access, assessment = selectors.open_asam(
        user, pk, section="ASAM assessment", action=AuditEvent.Action.PRINT
    )
    context = chart_context(user, access, tab="assessments")
    context.update(
        {
            "assessment": assessment,
            "recommendation_label": rules.RECOMMENDATIONS.get(assessment.recommendation, ""),
            "printed_at": timezone.now(),
            **_permissions(user),
        }
    )
    return render(request, "assessments/asam_print.html", context)


# ---------------------------------------------------------------------------------------
# Biopsychosocial


@login_required
@require_POST
def bps_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_writer(user)
    access = chart_access(user, pk, section="biopsychosocial assessment (new)")
    assessment = services.create_biopsychosocial(actor=user, patient=access.patient)
    messages.success(request, "Biopsychosocial assessment started. Each section saves as you go.")
    return redirect("assessments:bps_edit", pk=assessment.pk)


def _section_initial(assessment: Biopsychosocial, section: str) -> dict[str, Any]:
    return {name: getattr(assessment, name) for name in services.BPS_SECTIONS[section]}


def _substance_forms(assessment: Biopsychosocial, data: Any = None) -> list[SubstanceRowForm]:
    existing = {row.rank: row for row in assessment.substance_uses.all()}
    forms = []
    for rank in (1, 2, 3):
        row = existing.get(rank)
        initial = (
            {
                name: getattr(row, name)
                for name in (
                    "substance",
                    "route",
                    "frequency",
                    "age_first_use",
                    "last_use",
                    "notes",
                )
            }
            if row
            else {}
        )
        forms.append(SubstanceRowForm(data, rank=rank, prefix=f"sub{rank}", initial=initial))
    return forms


def _diagnosis_forms(assessment: Biopsychosocial, data: Any = None) -> list[DiagnosisRowForm]:
    existing = list(assessment.diagnoses.all())
    if data is not None:
        try:
            count = int(data.get("dx_rows", 0))
        except (TypeError, ValueError):
            count = 0
    else:
        count = len(existing) + 2
    count = max(3, min(count, MAX_DIAGNOSIS_ROWS))
    forms = []
    for index in range(count):
        row = existing[index] if index < len(existing) else None
        initial = (
            {"code": row.code, "description": row.description, "is_primary": row.is_primary}
            if row
            else {}
        )
        forms.append(DiagnosisRowForm(data, prefix=f"dx{index + 1}", initial=initial))
    return forms


def _sections(
    assessment: Biopsychosocial,
    *,
    bound: str | None = None,
    data: Any = None,
    show_trauma: bool = True,
) -> list[dict[str, Any]]:
    sections = []
    for name in services.BPS_SECTIONS:
        if name == "trauma" and not show_trauma:
            continue
        is_bound = name == bound
        section: dict[str, Any] = {
            "name": name,
            "title": SECTION_TITLES[name],
            "form": SectionForm(
                data if is_bound else None,
                section=name,
                prefix=name,
                initial=_section_initial(assessment, name),
            ),
        }
        if name == "substance_use":
            section["rows"] = _substance_forms(assessment, data if is_bound else None)
        if name == "diagnoses":
            section["rows"] = _diagnosis_forms(assessment, data if is_bound else None)
        sections.append(section)
    return sections


def _bps_edit_page(
    request: HttpRequest,
    access: ChartAccess,
    assessment: Biopsychosocial,
    *,
    sections: list[dict[str, Any]] | None = None,
    sign_form: SignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    context = chart_context(user, access, tab="assessments")
    context.update(
        {
            "assessment": assessment,
            "sections": sections if sections is not None else _sections(assessment),
            "sign_form": sign_form or SignForm(),
            "sign_problems": services.biopsychosocial_sign_problems(assessment),
            "icd_form": Icd10SearchForm(),
            "group_preferences": rules.GROUP_PREFERENCES,
            **_permissions(user),
        }
    )
    return render(request, "assessments/bps_edit.html", context, status=status)


@login_required
def bps_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_writer(user)
    access, assessment = selectors.open_biopsychosocial(
        user, pk, section="biopsychosocial assessment (edit)"
    )
    if assessment.is_signed:
        messages.error(request, services.LOCKED_MESSAGE)
        return redirect("assessments:bps_detail", pk=assessment.pk)
    return _bps_edit_page(request, access, assessment)


def _save_status(
    request: HttpRequest, *, saved: Biopsychosocial | None, errors: list[str], section: str
) -> HttpResponse:
    context: dict[str, Any] = {"saved": saved, "errors": errors, "section": section}
    if saved is not None:
        context["saved_at"] = timezone.localtime(saved.updated_at, saved.patient.facility.zone)
        if section == "diagnoses":
            context["diagnoses"] = list(saved.diagnoses.all())
    return render(request, "assessments/_save_status.html", context)


@login_required
@require_POST
def bps_section(request: HttpRequest, pk: int, section: str) -> HttpResponse:
    """Save one section of a draft (the section's button, or htmx autosave on change)."""
    if section not in services.BPS_SECTIONS:
        raise Http404("No such section.")
    user = _user(request)
    selectors.require_writer(user)
    access, assessment = selectors.open_biopsychosocial(
        user, pk, section="biopsychosocial assessment (edit)"
    )
    if assessment.is_signed:
        if _is_htmx(request):
            return _save_status(
                request, saved=None, errors=[services.LOCKED_MESSAGE], section=section
            )
        messages.error(request, services.LOCKED_MESSAGE)
        return redirect("assessments:bps_detail", pk=assessment.pk)
    sections = _sections(assessment, bound=section, data=request.POST)
    current = next(s for s in sections if s["name"] == section)
    form: SectionForm = current["form"]
    rows = current.get("rows", [])
    saved: Biopsychosocial | None = None
    if form.is_valid() and all(r.is_valid() for r in rows):
        row_values = [v for v in (r.row() for r in rows) if v is not None]
        try:
            saved = services.save_biopsychosocial(
                actor=user,
                assessment=assessment,
                data=form.data_for_service(),
                substance_uses=row_values if section == "substance_use" else None,
                diagnoses=row_values if section == "diagnoses" else None,
                section=section,
            )
        except ValidationError as error:
            _apply_errors(form, error)
    if _is_htmx(request):
        errors = [str(message) for messages_ in form.errors.values() for message in messages_]
        for index, row_form in enumerate(rows, start=1):
            for field, messages_ in row_form.errors.items():
                label = getattr(row_form, "rank_label", f"Diagnosis {index}")
                errors.extend(f"{label}, {field.replace('_', ' ')}: {m}" for m in messages_)
        return _save_status(request, saved=saved, errors=errors, section=section)
    if saved is not None:
        messages.success(request, f"Saved: {SECTION_TITLES[section]}.")
        return redirect(reverse("assessments:bps_edit", args=[assessment.pk]) + f"#{section}")
    return _bps_edit_page(request, access, assessment, sections=sections)


@login_required
def bps_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    access, assessment = selectors.open_biopsychosocial(user, pk)
    return _bps_detail_page(request, access, assessment)


def _bps_detail_page(
    request: HttpRequest,
    access: ChartAccess,
    assessment: Biopsychosocial,
    *,
    sign_form: SignForm | None = None,
    addendum_form: AddendumForm | None = None,
    template: str = "assessments/bps_detail.html",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    user = _user(request)
    context = chart_context(user, access, tab="assessments")
    context.update(
        {
            "assessment": assessment,
            "substances": list(assessment.substance_uses.all()),
            "diagnoses": list(assessment.diagnoses.all()),
            "sign_form": sign_form or SignForm(),
            "addendum_form": addendum_form or AddendumForm(),
            "sign_problems": services.biopsychosocial_sign_problems(assessment)
            if not assessment.is_signed
            else {},
            "labels": {
                "kinds": [rules.PRIOR_TREATMENT_KINDS[k] for k in assessment.prior_treatment_kinds],
                "symptoms": [rules.CURRENT_SYMPTOMS[k] for k in assessment.current_symptoms],
                "groups": [rules.GROUP_PREFERENCES[k] for k in assessment.group_preferences],
            },
            **_permissions(user),
            **(extra or {}),
        }
    )
    return render(request, template, context)


@login_required
@require_POST
def bps_sign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_writer(user)
    access, assessment = selectors.open_biopsychosocial(
        user, pk, section="biopsychosocial assessment (sign)"
    )
    if assessment.is_signed:
        messages.info(request, "Already signed.")
        return redirect("assessments:bps_detail", pk=assessment.pk)
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            services.sign_biopsychosocial(
                actor=user, assessment=assessment, password=form.cleaned_data["password"]
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, "Signed. The biopsychosocial assessment is locked; add addenda below."
            )
            return redirect("assessments:bps_detail", pk=assessment.pk)
    return _bps_edit_page(request, access, assessment, sign_form=form)


@login_required
@require_POST
def bps_addendum(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_writer(user)
    access, assessment = selectors.open_biopsychosocial(
        user, pk, section="biopsychosocial assessment (addendum)"
    )
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.add_addendum(actor=user, assessment=assessment, text=form.cleaned_data["text"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Addendum added.")
            return redirect("assessments:bps_detail", pk=assessment.pk)
    return _bps_detail_page(request, access, assessment, addendum_form=form)


@login_required
def bps_print(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if not Biopsychosocial.objects.filter(pk=pk, status="signed").exists():
        selectors.require_reader(user)
        raise Http404("Only signed assessments are printed.")
    access, assessment = selectors.open_biopsychosocial(
        user, pk, section="biopsychosocial assessment", action=AuditEvent.Action.PRINT
    )
    return _bps_detail_page(
        request,
        access,
        assessment,
        template="assessments/bps_print.html",
        extra={"printed_at": timezone.now()},
    )


# ---------------------------------------------------------------------------------------
# ICD-10-CM search and the level-of-care table


@login_required
@require_http_methods(["GET", "POST"])
def icd10_search(request: HttpRequest) -> HttpResponse:
    """Codes by prefix or by words (codes are not PHI, so a GET with ``q`` is fine)."""
    selectors.require_reader(_user(request))
    form = Icd10SearchForm(request.POST if request.method == "POST" else request.GET)
    query = form.cleaned_data.get("q", "") if form.is_valid() else ""
    context = {"form": form, "query": query, "results": icd10.search(query), "count": icd10.count()}
    if _is_htmx(request):
        return render(request, "assessments/_icd10_results.html", context)
    return render(request, "assessments/icd10.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def asam_rules(request: HttpRequest) -> HttpResponse:
    """The organization's level-of-care table (clinical director and administrator)."""
    user = _user(request)
    if not user.can("assessments.change_asamrule"):
        raise PermissionDenied("Only the clinical director or an administrator changes the table.")
    organization = user.organization
    if organization is None:
        raise PermissionDenied("Your account belongs to no organization.")
    table = selectors.table_for(organization)
    if request.method == "POST" and "reset" in request.POST:
        services.reset_asam_table(actor=user, organization=organization)
        messages.success(request, "The table is back to the default of SPEC §5.")
        return redirect("assessments:asam_rules")
    initial = [
        {
            "dimensions": list(rule.dimensions),
            "match": rule.match,
            "at_least": rule.at_least,
            "recommendation": rule.recommendation,
            "label": rule.label,
            "ORDER": position,
        }
        for position, rule in enumerate(table.rules, start=1)
    ]
    formset = AsamRuleFormSet(request.POST or None, initial=initial, prefix="rules")
    problems: list[str] = []
    if request.method == "POST" and formset.is_valid():
        rows = [f.cleaned_data for f in formset.ordered_forms]
        try:
            services.save_asam_table(actor=user, organization=organization, rows=rows)
        except ValidationError as error:
            problems = error.messages
        else:
            messages.success(request, "Level-of-care table saved. New recommendations use it.")
            return redirect("assessments:asam_rules")
    return render(
        request,
        "assessments/asam_rules.html",
        {
            "formset": formset,
            "table": table,
            "problems": problems,
            "default_table": rules.DEFAULT_TABLE,
            "recommendations": rules.RECOMMENDATIONS,
        },
    )
