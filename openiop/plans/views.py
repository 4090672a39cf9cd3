"""The Treatment plan tab and the draft editor.

Every page checks the role first (403), then opens the chart through ``chart_access`` (404
out of scope, audited). Writes go through the services; a view parses the form, calls the
service and shows its errors on the form (services are atomic: nothing is saved on error).
A signed version is locked: an edit of one answers with a message and the version page.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openiop.accounts.models import User
from openiop.accounts.selectors import staff_with_roles
from openiop.admissions.selectors import open_episode
from openiop.assessments import icd10
from openiop.patients.chart import chart_context
from openiop.patients.models import Patient
from openiop.patients.selectors import ChartAccess, chart_access
from openiop.plans import rules, selectors, services
from openiop.plans.forms import (
    GoalForm,
    IntensityForm,
    InterventionForm,
    LibraryAddForm,
    NewProblemForm,
    ObjectiveForm,
    ProblemForm,
    apply_errors,
    dose_rules_text,
)
from openiop.plans.models import (
    Category,
    Goal,
    Intervention,
    Objective,
    PlanVersion,
    Problem,
    TreatmentPlan,
)
from openiop.plans.permissions import WRITER_ROLES

SECTION = "treatment plan"
KINDS = ("problem", "goal", "objective", "intervention")
LOCKED_NOTE = "Signed versions are locked; start a new version to change it."
SIGNER_LABELS = {
    "patient": "the patient",
    "clinician": "the clinician",
    "supervisor": "a clinical supervisor (co-signature)",
}
KIND_LABELS = {
    "problem": "problem",
    "goal": "goal",
    "objective": "objective",
    "intervention": "intervention",
}
REMOVES_WITH = {
    "problem": "Its goals, objectives and interventions go with it.",
    "goal": "Its objectives and interventions go with it.",
    "objective": "Its interventions go with it.",
    "intervention": "",
}
# What each kind is added under.
PARENT_KIND = {"goal": "problem", "objective": "goal", "intervention": "objective"}

Item = Problem | Goal | Objective | Intervention


# --- helpers -----------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _open(
    request: HttpRequest, pk: int, *, write: bool
) -> tuple[User, ChartAccess, dict[str, Any]]:
    """The role check (403), then the chart (404 out of scope, audited)."""
    user = _user(request)
    if write:
        selectors.require_writer(user)
    else:
        selectors.require_reader(user)
    access = chart_access(user, pk, section=SECTION)
    context = chart_context(user, access, tab="plan")
    context["may_write"] = user.can("plans.change_treatmentplan")
    return user, access, context


def _version(patient: Patient, vpk: int) -> PlanVersion:
    """A version of this patient's plans (404 for anyone else's)."""
    version = (
        PlanVersion.objects.filter(pk=vpk, plan__patient=patient)
        .select_related("plan__episode__program", "plan__patient__facility", "track")
        .first()
    )
    if version is None:
        raise Http404("No such plan version for this patient.")
    return version


def _tree(version_id: int, plan: TreatmentPlan) -> PlanVersion:
    """The whole version in a constant number of queries, with diagnosis descriptions."""
    tree = selectors.version_tree(version_id, plan)
    if tree is None:  # pragma: no cover - the version was just read
        raise Http404("No such plan version.")
    tree.plan = plan
    for problem in tree.problems.all():
        diagnoses = []
        for code in problem.diagnosis_codes:
            found = icd10.lookup(code)
            diagnoses.append((code, found.description if found else ""))
        problem.diagnoses = diagnoses  # type: ignore[attr-defined]
    return tree


def _back(patient: Patient, version: PlanVersion, anchor: str = "") -> str:
    address = reverse("plans:version", kwargs={"pk": patient.pk, "vpk": version.pk})
    return address + (f"#{anchor}" if anchor else "")


def _locked(request: HttpRequest, patient: Patient, version: PlanVersion) -> HttpResponse:
    messages.error(request, services.LOCKED_MESSAGE)
    return redirect(_back(patient, version))


def _staff(patient: Patient) -> Any:
    return staff_with_roles(patient.facility, WRITER_ROLES)


def _item(version: PlanVersion, kind: str, item_pk: int) -> Item:
    """A problem, goal, objective or intervention of this version (404 otherwise)."""
    found: Item | None
    if kind == "problem":
        found = Problem.objects.filter(pk=item_pk, version=version).first()
    elif kind == "goal":
        found = (
            Goal.objects.filter(pk=item_pk, problem__version=version)
            .select_related("problem")
            .first()
        )
    elif kind == "objective":
        found = (
            Objective.objects.filter(pk=item_pk, goal__problem__version=version)
            .select_related("goal__problem")
            .first()
        )
    elif kind == "intervention":
        found = (
            Intervention.objects.filter(pk=item_pk, objective__goal__problem__version=version)
            .select_related("objective__goal__problem", "responsible")
            .first()
        )
    else:
        raise Http404("No such part of a plan.")
    if found is None:
        raise Http404("No such item in this version of the plan.")
    return found


def _anchor(item: Model) -> str:
    if isinstance(item, Problem):
        return f"problem-{item.pk}"
    if isinstance(item, Goal):
        return f"goal-{item.pk}"
    if isinstance(item, Objective):
        return f"objective-{item.pk}"
    if isinstance(item, Intervention):
        return f"objective-{item.objective_id}"
    return ""


def _form_for(kind: str, data: Any, patient: Patient, item: Item | None) -> forms.Form:
    if kind == "problem":
        initial = ProblemForm.initial_for(item) if item else None
        return ProblemForm(data, initial=initial)
    if kind == "goal":
        assert item is None or isinstance(item, Goal)  # noqa: S101
        initial = {"own_words": item.own_words, "clinical": item.clinical} if item else None
        return GoalForm(data, initial=initial)
    if kind == "objective":
        assert item is None or isinstance(item, Objective)  # noqa: S101
        initial = (
            {"text": item.text, "target_date": item.target_date, "status": item.status}
            if item
            else None
        )
        return ObjectiveForm(data, initial=initial)
    assert item is None or isinstance(item, Intervention)  # noqa: S101
    initial = (
        {
            "modality": item.modality,
            "description": item.description,
            "frequency": item.frequency,
            "responsible": item.responsible_id,
        }
        if item
        else None
    )
    return InterventionForm(data, initial=initial, staff=_staff(patient))


def _save(
    actor: User,
    version: PlanVersion,
    kind: str,
    data: dict[str, Any],
    *,
    item: Item | None = None,
    parent: Item | None = None,
) -> Item:
    """Call the service that adds (``parent``) or changes (``item``) one part of a draft."""
    if kind == "problem":
        assert item is None or isinstance(item, Problem)  # noqa: S101
        return services.save_problem(actor=actor, version=version, data=data, problem=item)
    if kind == "goal":
        problem = item.problem if isinstance(item, Goal) else parent
        assert isinstance(problem, Problem)  # noqa: S101
        goal = item if isinstance(item, Goal) else None
        return services.save_goal(actor=actor, problem=problem, data=data, goal=goal)
    if kind == "objective":
        owner = item.goal if isinstance(item, Objective) else parent
        assert isinstance(owner, Goal)  # noqa: S101
        objective = item if isinstance(item, Objective) else None
        return services.save_objective(actor=actor, goal=owner, data=data, objective=objective)
    target = item.objective if isinstance(item, Intervention) else parent
    assert isinstance(target, Objective)  # noqa: S101
    intervention = item if isinstance(item, Intervention) else None
    return services.save_intervention(
        actor=actor, objective=target, data=data, intervention=intervention
    )


def _describe(item: Item) -> str:
    if isinstance(item, Goal):
        return f"“{item.own_words}”"
    if isinstance(item, Intervention):
        text = item.get_modality_display()
        return text + (f": {item.description}" if item.description else "") + f" ({item.frequency})"
    if isinstance(item, Problem):
        return item.statement
    return item.text


# --- the chart tab -----------------------------------------------------------------------------


@login_required
@require_GET
def chart(request: HttpRequest, pk: int) -> HttpResponse:
    """The episode's plan: its status, the version in force or being written, the phase and
    the latest reviews. A constant number of queries whatever the plan's size."""
    _actor, access, context = _open(request, pk, write=False)
    episode = open_episode(access.patient)
    context["episode"] = episode
    if episode is None:
        return render(request, "plans/chart.html", context)
    summary = selectors.summary(episode)
    context["summary"] = summary
    plan = summary.plan
    if plan is not None and summary.shown is not None:
        shown = _tree(summary.shown.pk, plan)
        state = rules.review_state(plan.review_due_on, context["today"])
        context.update(
            {
                "plan": plan,
                "shown": shown,
                "intensity_warnings": services.intensity_problems(shown),
                "missing": [
                    SIGNER_LABELS.get(role, role) for role in services.missing_signatures(shown)
                ]
                if shown.status == PlanVersion.Status.SIGNING
                else [],
                "blocking": services.sign_problems(shown) if shown.is_draft else {},
                "review_state": state,
                "may_new_version": context["may_write"]
                and summary.open is None
                and any(v.is_locked for v in summary.versions),
                "reviews": list(selectors.reviews_of(plan)[:3]),
            }
        )
    elif plan is not None:
        context["plan"] = plan
        context["may_new_version"] = context["may_write"] and bool(summary.versions)
    context["phase_changes"] = list(selectors.phase_changes_of(episode)[:5])
    return render(request, "plans/chart.html", context)


@login_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    user, access, _context = _open(request, pk, write=True)
    patient = access.patient
    episode = open_episode(patient)
    if episode is None:
        messages.error(request, "There is no open episode of care: admit the person first.")
        return redirect("admissions:chart", pk=patient.pk)
    try:
        version = services.start_plan(actor=user, episode=episode)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("plans:chart", pk=patient.pk)
    messages.success(
        request,
        "The treatment plan is started. Write it with the person: problems, the goals in "
        "their own words, measurable objectives and the services that help.",
    )
    return redirect(_back(patient, version))


# --- a version and the draft editor ------------------------------------------------------------


@login_required
@require_GET
def version_detail(request: HttpRequest, pk: int, vpk: int) -> HttpResponse:
    """Any version; a draft is the editor."""
    _actor, access, context = _open(request, pk, write=False)
    version = _version(access.patient, vpk)
    tree = _tree(version.pk, version.plan)
    waiting = tree.status in (PlanVersion.Status.DRAFT, PlanVersion.Status.SIGNING)
    context.update(
        {
            "version": tree,
            "plan": version.plan,
            "editable": tree.is_draft and context["may_write"],
            "locked_note": LOCKED_NOTE,
            "intensity_warnings": services.intensity_problems(tree),
            "blocking": services.sign_problems(tree) if waiting else {},
            "missing": [SIGNER_LABELS.get(r, r) for r in services.missing_signatures(tree)]
            if tree.status == PlanVersion.Status.SIGNING
            else [],
        }
    )
    return render(request, "plans/version.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def intensity(request: HttpRequest, pk: int, vpk: int) -> HttpResponse:
    user, access, context = _open(request, pk, write=True)
    patient = access.patient
    version = _version(patient, vpk)
    if version.is_locked:
        return _locked(request, patient, version)
    program = version.plan.episode.program
    form = IntensityForm(
        request.POST or None,
        program=program,
        initial={
            "hours_per_day": version.hours_per_day,
            "days_per_week": version.days_per_week,
            "track": version.track_id,
            "meetings_per_week": version.meetings_per_week,
            "strengths": version.strengths,
            "discharge_criteria": version.discharge_criteria,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_intensity(actor=user, version=version, data=form.cleaned_data)
        except services.PlanLocked:
            return _locked(request, patient, version)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Planned intensity saved.")
            return redirect(_back(patient, version, "intensity"))
    context.update(
        {
            "version": version,
            "form": form,
            "program": program,
            "dose_rules": dose_rules_text(program),
        }
    )
    return render(request, "plans/intensity_form.html", context)


def _item_page(
    request: HttpRequest,
    context: dict[str, Any],
    *,
    version: PlanVersion,
    form: forms.Form,
    kind: str,
    title: str,
    under: str = "",
    item: Item | None = None,
) -> HttpResponse:
    context.update(
        {
            "version": version,
            "form": form,
            "kind": kind,
            "title": title,
            "under": under,
            "item": item,
            "cancel": _back(context["patient"], version, _anchor(item) if item else ""),
        }
    )
    return render(request, "plans/item_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def problem_add(request: HttpRequest, pk: int, vpk: int) -> HttpResponse:
    user, access, context = _open(request, pk, write=True)
    patient = access.patient
    version = _version(patient, vpk)
    if version.is_locked:
        return _locked(request, patient, version)
    form = NewProblemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            problem = services.save_problem(actor=user, version=version, data=form.cleaned_data)
        except services.PlanLocked:
            return _locked(request, patient, version)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Problem added. Next: its measurable objectives.")
            return redirect(_back(patient, version, f"problem-{problem.pk}"))
    return _item_page(
        request, context, version=version, form=form, kind="problem", title="Add a problem"
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, pk: int, vpk: int, kind: str, item_pk: int) -> HttpResponse:
    if kind not in KINDS:
        raise Http404("No such part of a plan.")
    user, access, context = _open(request, pk, write=True)
    patient = access.patient
    version = _version(patient, vpk)
    item = _item(version, kind, item_pk)
    if version.is_locked:
        return _locked(request, patient, version)
    return _item_flow(
        request,
        context,
        user,
        version,
        kind,
        item=item,
        title=f"Change the {KIND_LABELS[kind]}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_add(request: HttpRequest, pk: int, vpk: int, kind: str, parent_pk: int) -> HttpResponse:
    if kind == "problem":
        return redirect("plans:problem_add", pk=pk, vpk=vpk)
    if kind not in PARENT_KIND:
        raise Http404("No such part of a plan.")
    user, access, context = _open(request, pk, write=True)
    patient = access.patient
    version = _version(patient, vpk)
    parent = _item(version, PARENT_KIND[kind], parent_pk)
    if version.is_locked:
        return _locked(request, patient, version)
    return _item_flow(
        request,
        context,
        user,
        version,
        kind,
        parent=parent,
        title=f"Add {'an' if kind[0] in 'aeiou' else 'a'} {KIND_LABELS[kind]}",
        under=f"Under the {PARENT_KIND[kind]}: {_describe(parent)}",
    )


def _item_flow(
    request: HttpRequest,
    context: dict[str, Any],
    user: User,
    version: PlanVersion,
    kind: str,
    *,
    title: str,
    item: Item | None = None,
    parent: Item | None = None,
    under: str = "",
) -> HttpResponse:
    """The form for one part of a draft: shown, checked and saved (a change when ``item``
    is given, an addition under ``parent`` otherwise)."""
    patient = version.plan.patient
    form = _form_for(kind, request.POST or None, patient, item)
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save(user, version, kind, form.cleaned_data, item=item, parent=parent)
        except services.PlanLocked:
            return _locked(request, patient, version)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            done = "saved" if item is not None else "added"
            messages.success(request, f"The {KIND_LABELS[kind]} is {done}.")
            return redirect(_back(patient, version, _anchor(saved)))
    return _item_page(
        request, context, version=version, form=form, kind=kind, title=title, under=under, item=item
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_remove(request: HttpRequest, pk: int, vpk: int, kind: str, item_pk: int) -> HttpResponse:
    if kind not in KINDS:
        raise Http404("No such part of a plan.")
    user, access, context = _open(request, pk, write=True)
    patient = access.patient
    version = _version(patient, vpk)
    item = _item(version, kind, item_pk)
    if version.is_locked:
        return _locked(request, patient, version)
    if request.method == "POST":
        try:
            services.remove_item(actor=user, version=version, item=item)
        except services.PlanLocked:
            return _locked(request, patient, version)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(_back(patient, version, _anchor(item)))
        messages.success(request, f"The {KIND_LABELS[kind]} is removed from the draft.")
        return redirect(_back(patient, version))
    context.update(
        {
            "version": version,
            "title": f"Remove this {KIND_LABELS[kind]}?",
            "what": _describe(item),
            "also": REMOVES_WITH[kind],
            "button": f"Remove the {KIND_LABELS[kind]}",
            "cancel": _back(patient, version, _anchor(item)),
        }
    )
    return render(request, "plans/confirm_remove.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def discard(request: HttpRequest, pk: int, vpk: int) -> HttpResponse:
    user, access, context = _open(request, pk, write=True)
    patient = access.patient
    version = _version(patient, vpk)
    if version.is_locked:
        return _locked(request, patient, version)
    if request.method == "POST":
        try:
            services.discard_draft(actor=user, version=version)
        except services.PlanLocked:
            return _locked(request, patient, version)
        messages.success(request, f"The draft of version {version.number} is discarded.")
        return redirect("plans:chart", pk=patient.pk)
    first = version.number == 1
    context.update(
        {
            "version": version,
            "title": f"Discard the draft of version {version.number}?",
            "what": f"Everything written in version {version.number} since it was started.",
            "also": "The plan goes back to having no version at all: start again when ready."
            if first
            else "The signed version before it stays as it is.",
            "button": "Discard the draft",
            "cancel": _back(patient, version),
        }
    )
    return render(request, "plans/confirm_remove.html", context)


# --- the library -------------------------------------------------------------------------------


@login_required
@require_GET
def library_pick(request: HttpRequest, pk: int, vpk: int) -> HttpResponse:
    _actor, access, context = _open(request, pk, write=True)
    patient = access.patient
    version = _version(patient, vpk)
    if version.is_locked:
        return _locked(request, patient, version)
    entries = list(selectors.library_for(patient.facility.organization_id))
    groups = [
        (Category(category).label, list(rows))
        for category, rows in groupby(entries, key=lambda e: e.category)
    ]
    context.update({"version": version, "groups": groups})
    return render(request, "plans/library_pick.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def library_add(request: HttpRequest, pk: int, vpk: int, lpk: int) -> HttpResponse:
    user, access, context = _open(request, pk, write=True)
    patient = access.patient
    version = _version(patient, vpk)
    entry = selectors.library_for(patient.facility.organization_id).filter(pk=lpk).first()
    if entry is None:
        raise Http404("No such library entry.")
    if version.is_locked:
        return _locked(request, patient, version)
    form = LibraryAddForm(
        request.POST or None, entry=entry, today=context["today"], staff=_staff(patient)
    )
    if request.method == "POST" and form.is_valid():
        data, aliases = form.service_data()
        try:
            problem = services.add_from_library(actor=user, version=version, entry=entry, data=data)
        except services.PlanLocked:
            return _locked(request, patient, version)
        except ValidationError as error:
            apply_errors(form, error, aliases)
        else:
            messages.success(
                request, f"“{entry.title}” is added to the plan, in the person's words."
            )
            return redirect(_back(patient, version, f"problem-{problem.pk}"))
    context.update({"version": version, "entry": entry, "form": form})
    return render(request, "plans/library_add.html", context)
