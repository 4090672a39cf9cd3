"""Plan reviews, phase changes and the relapse-prevention plan with its pocket card.

Every page checks the role first (403), then opens the chart through ``chart_access``
(404 out of scope, audited). The services are the real check for writes: a view parses
the form, calls the service and shows its errors on the form (nothing is saved on error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from openiop.accounts.models import Phase, User
from openiop.admissions import selectors as admissions_selectors
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients.chart import chart_context
from openiop.patients.models import Patient, SupportContact
from openiop.patients.selectors import chart_access
from openiop.plans import pocket_card as card
from openiop.plans import rules, selectors, services
from openiop.plans.models import (
    Goal,
    Objective,
    ObjectiveStatus,
    PlanReview,
    PlanVersion,
    Problem,
    TreatmentPlan,
)

WRITE = "plans.change_treatmentplan"
RELAPSE_SECTION = "relapse-prevention plan"
BACK_A_PHASE = "Moving back a phase — say what happened"
NEXT_STEP: dict[str, str] = {
    PlanReview.Decision.STEP_DOWN: (
        "The decision is to step down to a less intensive level of care. "
        "Record the transfer on the Admission tab when it happens; the plan then needs a "
        "review for the new level."
    ),
    PlanReview.Decision.STEP_UP: (
        "The decision is to step up to a more intensive level of care. "
        "Record the transfer on the Admission tab when it happens; the plan then needs a "
        "review for the new level."
    ),
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _apply(form: forms.BaseForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errs in error.error_dict.items():
            target = field if field in form.fields else None
            for e in errs:
                form.add_error(target, e.messages)
    else:
        form.add_error(None, error.messages)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


# --- reviews -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRow:
    number: int
    problem: Problem
    goal: Goal
    objective: Objective
    status: forms.BoundField
    note: forms.BoundField


class ReviewForm(forms.Form):
    reviewed_on = forms.DateField(label="Date of the review", widget=DateInput())
    reason = forms.ChoiceField(label="Why the plan is reviewed now", choices=PlanReview.Reason)
    summary = forms.CharField(
        label="Progress summary",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="A few sentences: what changed since the plan was signed or last reviewed, "
        "in the person's own words where you can.",
        error_messages={"required": "Summarize the progress in a sentence or two."},
    )
    decision = forms.ChoiceField(
        label="Decision",
        choices=PlanReview.Decision,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the decision: continue, revise, step down or step up."},
    )

    def __init__(self, *args: Any, objectives: list[Objective], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.objectives = objectives
        for n, o in enumerate(objectives, start=1):
            self.fields[f"status-{o.pk}"] = forms.ChoiceField(
                label=f"Objective {n}: status now", choices=ObjectiveStatus, initial=o.status
            )
            self.fields[f"note-{o.pk}"] = forms.CharField(
                label=f"Objective {n}: progress note",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def progress(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        return [
            {"objective": o.pk, "status": data[f"status-{o.pk}"], "note": data[f"note-{o.pk}"]}
            for o in self.objectives
        ]


def _objectives(version: PlanVersion) -> list[tuple[Problem, Goal, Objective]]:
    return [
        (p, g, o) for p in version.problems.all() for g in p.goals.all() for o in g.objectives.all()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """Review the active plan: progress per objective and the decision."""
    user = _user(request)
    selectors.require_writer(user)
    access = chart_access(user, pk, section="treatment plan review")
    patient = access.patient
    episode = admissions_selectors.open_episode(patient)
    found = selectors.summary(episode) if episode is not None else None
    if found is None or found.plan is None or found.active is None:
        messages.info(
            request,
            "Only a signed, active plan is reviewed. Finish the plan and collect the "
            "signatures first.",
        )
        return redirect("plans:chart", pk=patient.pk)
    plan, active = found.plan, found.active
    tree = selectors.version_tree(active.pk, plan)
    assert tree is not None  # noqa: S101  (the active version of this plan)
    items = _objectives(tree)
    context = chart_context(user, access, tab="plan")
    reason = plan.review_due_reason
    if reason not in PlanReview.Reason.values:
        reason = PlanReview.Reason.SCHEDULED
    form = ReviewForm(
        request.POST or None,
        objectives=[o for _, _, o in items],
        initial={"reviewed_on": context["today"], "reason": reason},
    )
    form.fields["reviewed_on"].widget.attrs["max"] = context["today"].isoformat()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = services.record_review(
                actor=user,
                plan=plan,
                reviewed_on=data["reviewed_on"],
                decision=data["decision"],
                summary=data["summary"],
                progress=form.progress(),
                reason=data["reason"],
            )
        except ValidationError as error:
            _apply(form, error)
        else:
            due = done.plan.review_due_on
            messages.success(
                request,
                "Review saved." + (f" The next review is due {due:%m/%d/%Y}." if due else ""),
            )
            return redirect("plans:review_detail", pk=patient.pk, rpk=done.pk)
    rows = [
        ReviewRow(n, p, g, o, form[f"status-{o.pk}"], form[f"note-{o.pk}"])
        for n, (p, g, o) in enumerate(items, start=1)
    ]
    context.update(
        {
            "plan": plan,
            "version": tree,
            "form": form,
            "rows": rows,
            "due_state": rules.review_state(plan.review_due_on, context["today"]),
            "due_reason": ""
            if reason == PlanReview.Reason.SCHEDULED
            else PlanReview.Reason(reason).label,
            "last_review": next(iter(selectors.reviews_of(plan)[:1]), None),
        }
    )
    return render(request, "plans/review_form.html", context)


@login_required
@require_GET
def review_detail(request: HttpRequest, pk: int, rpk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_reader(user)
    access = chart_access(user, pk, section="treatment plan review")
    plan = (
        TreatmentPlan.objects.filter(patient=access.patient, reviews__pk=rpk)
        .select_related("episode__program")
        .first()
    )
    found = selectors.reviews_of(plan).filter(pk=rpk).first() if plan else None
    if plan is None or found is None:
        raise Http404("No review here.")
    open_version = plan.versions.filter(
        status__in=[PlanVersion.Status.DRAFT, PlanVersion.Status.SIGNING]
    ).first()
    context = chart_context(user, access, tab="plan")
    context.update(
        {
            "plan": plan,
            "review": found,
            "progress": list(found.progress.all()),
            "may_write": user.can(WRITE) and plan.episode.is_open,
            "open_version": open_version,
            "is_latest": plan.reviews.order_by("-reviewed_on", "-id")
            .values_list("pk", flat=True)
            .first()
            == found.pk,
            "next_step": NEXT_STEP.get(found.decision, ""),
            "due_state": rules.review_state(plan.review_due_on, context["today"]),
        }
    )
    return render(request, "plans/review_detail.html", context)


# --- phase -------------------------------------------------------------------------------------


class PhaseForm(forms.Form):
    phase = forms.TypedChoiceField(
        label="Move to",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the phase the person moves to."},
    )
    changed_on = forms.DateField(label="Date of the change", widget=DateInput())
    reason = forms.CharField(
        label="Why",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Moving forward: what the person has achieved. "
        f"{BACK_A_PHASE}: a lapse, a crisis, a change at home.",
        error_messages={"required": "Write why the phase changes (a few words at least)."},
    )

    def __init__(self, *args: Any, phases: list[Phase], current: Phase | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = []
        for ph in phases:
            if current is not None and ph.pk == current.pk:
                continue
            back = current is not None and ph.order < current.order
            label = f"{ph.order}. {ph.name}" + (f" — {BACK_A_PHASE.lower()}" if back else "")
            choices.append((ph.pk, label))
        self.fields["phase"].choices = choices  # type: ignore[attr-defined]


@login_required
@require_http_methods(["GET", "POST"])
def phase(request: HttpRequest, pk: int) -> HttpResponse:
    """The person's phase with its history; the clinical team moves it forward or back."""
    user = _user(request)
    selectors.require_reader(user)
    may_change = user.can(WRITE)
    if request.method == "POST" and not may_change:
        raise PermissionDenied("Only the clinical team changes a person's phase.")
    access = chart_access(user, pk, section="phase")
    patient = access.patient
    episode = admissions_selectors.open_episode(patient)
    if episode is None:
        messages.info(request, "The person has no open episode of care, so no phase to change.")
        return redirect("plans:chart", pk=patient.pk)
    phases = list(episode.program.phases.order_by("order"))
    context = chart_context(user, access, tab="plan")
    form = PhaseForm(
        request.POST or None,
        phases=phases,
        current=episode.phase,
        initial={"changed_on": context["today"]},
    )
    form.fields["changed_on"].widget.attrs["max"] = context["today"].isoformat()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = next((ph for ph in phases if ph.pk == data["phase"]), None)
        try:
            change = services.change_phase(
                actor=user,
                episode=episode,
                phase=chosen,
                changed_on=data["changed_on"],
                reason=data["reason"],
            )
        except ValidationError as error:
            _apply(form, error)
        else:
            text = f"Moved to {change.to_phase.name} on {change.changed_on:%m/%d/%Y}."
            plan = selectors.plan_of(episode)
            if plan is not None and plan.review_due_on is not None:
                text += f" The treatment plan is due for review on {plan.review_due_on:%m/%d/%Y}."
            messages.success(request, text)
            return redirect("plans:phase", pk=patient.pk)
    context.update(
        {
            "episode": episode,
            "current": episode.phase,
            "phases": phases,
            "history": list(selectors.phase_changes_of(episode)),
            "form": form if may_change else None,
            "plan": selectors.plan_of(episode),
            "back_a_phase": BACK_A_PHASE,
        }
    )
    return render(request, "plans/phase_form.html", context)


# --- relapse-prevention plan -------------------------------------------------------------------


def _text(label: str, help_text: str = "", rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class RelapseForm(forms.Form):
    triggers_people = _text("People", "People who make using more likely.", 2)
    triggers_places = _text("Places", "Places where using happened or is easy.", 2)
    triggers_feelings = _text("Feelings", "For example: lonely, angry, bored, tired.", 2)
    triggers_situations = _text("Situations", "For example: payday, a fight, a party.", 2)
    warning_signs = _text(
        "Signs I am heading toward a relapse", "Thoughts, moods and habits that come first."
    )
    coping_strategies = _text(
        "Things I will do instead", "Who to call, where to go, what helps — one per line.", 4
    )
    reasons = _text("Why I want to stay in recovery", "In the person's own words.")
    after_lapse = _text(
        "What I will do after a slip",
        "A slip is not the end of recovery: who I tell, how I get back on track.",
    )
    support_contacts = forms.TypedMultipleChoiceField(
        label="People on my card",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only the people the person chooses go on the card, with their phone number.",
        error_messages={"invalid_choice": "Choose people from this patient's support system."},
    )
    crisis_resources = forms.CharField(
        label="Crisis lines and emergency help",
        required=False,
        initial=rules.CRISIS_RESOURCES,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The 988 Suicide & Crisis Lifeline stays on every card.",
    )

    def __init__(self, *args: Any, contacts: list[SupportContact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["support_contacts"].choices = [  # type: ignore[attr-defined]
            (c.pk, _contact_label(c)) for c in contacts
        ]


def _contact_label(contact: SupportContact) -> str:
    phone = contact.phone or "no phone number on file"
    gone = "" if contact.active else " (no longer active support: not printed)"
    return f"{contact.name} ({contact.relationship_label}) — {phone}{gone}"


def _relapse_episode(patient: Patient) -> EpisodeOfCare | None:
    """The open episode, else the latest one (a discharged person's plan is still shown)."""
    return admissions_selectors.open_episode(patient) or (
        admissions_selectors.episodes_of(patient).order_by("-admission_date", "-pk").first()
    )


@login_required
@require_http_methods(["GET", "POST"])
def relapse_prevention(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    selectors.require_reader(user)
    may_write = user.can(WRITE)
    if request.method == "POST" and not may_write:
        raise PermissionDenied("Only the clinical team writes the relapse-prevention plan.")
    access = chart_access(user, pk, section=RELAPSE_SECTION)
    patient = access.patient
    episode = _relapse_episode(patient)
    if episode is None:
        messages.info(request, "Admit the person first: the plan belongs to an episode of care.")
        return redirect("plans:chart", pk=patient.pk)
    plan = selectors.relapse_prevention_of(episode)
    chosen_ids = {c.pk for c in plan.support_contacts.all()} if plan is not None else set()
    contacts = [c for c in patient.support_contacts.all() if c.active or c.pk in chosen_ids]
    editable = may_write and episode.is_open
    initial: dict[str, Any] = {}
    if plan is not None:
        initial = {name: getattr(plan, name) for name in services.RELAPSE_FIELDS}
        initial["support_contacts"] = sorted(chosen_ids)
    form = RelapseForm(request.POST or None, contacts=contacts, initial=initial)
    if request.method == "POST":
        if not editable:
            messages.error(request, "The episode is discharged; its plan can no longer change.")
            return redirect("plans:relapse", pk=patient.pk)
        if form.is_valid():
            data = dict(form.cleaned_data)
            chosen = data.pop("support_contacts")
            try:
                services.save_relapse_prevention(
                    actor=user, episode=episode, data=data, contacts=chosen
                )
            except ValidationError as error:
                _apply(form, error)
            else:
                messages.success(
                    request, "Relapse-prevention plan saved. Print the pocket card for the person."
                )
                return redirect("plans:relapse", pk=patient.pk)
    context = chart_context(user, access, tab="plan")
    context.update(
        {
            "episode": episode,
            "relapse_plan": plan,
            "form": form if editable else None,
            "contacts": contacts,
            "card_contacts": [c for c in contacts if c.pk in chosen_ids and c.active],
            "may_print": plan is not None and may_write,
        }
    )
    return render(request, "plans/relapse_form.html", context)


@login_required
@require_GET
def pocket_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The one-page pocket card (PDF), recorded in the audit trail as a print."""
    user = _user(request)
    selectors.require_writer(user)
    access = chart_access(user, pk, section=RELAPSE_SECTION)
    patient = access.patient
    episode = _relapse_episode(patient)
    plan = selectors.relapse_prevention_of(episode) if episode is not None else None
    if plan is None:
        messages.info(request, "Write the relapse-prevention plan first, then print its card.")
        return redirect("plans:relapse", pk=patient.pk)
    # Only the people the person chose, and only while they are active support.
    contacts = sorted(
        (c for c in plan.support_contacts.all() if c.active), key=lambda c: (c.order, c.pk)
    )
    content = card.card_pdf(plan, patient, contacts)
    record(
        actor=user,
        action=AuditEvent.Action.PRINT,
        patient=patient,
        obj=plan,
        section=RELAPSE_SECTION,
        detail={"document": "pocket card", "contacts": [c.pk for c in contacts]},
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{card.FILENAME}"'
    response["Cache-Control"] = "no-store"
    return response
