"""The organization's plan library: list, edit, restore the standard entries.

The clinical team reads it (clinicians pick entries into a plan and personalize them);
the clinical director and administrators edit it (plans.change_libraryproblem). Entries
of another organization answer 404.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from openiop.accounts.models import Organization, User
from openiop.plans import selectors, services
from openiop.plans.models import Category, LibraryProblem, Modality

VIEW = "plans.view_libraryproblem"
EDIT = "plans.change_libraryproblem"
EXTRA_ROWS = 3
MAX_ROWS = 40


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require(user: User, permission: str) -> None:
    if not user.can(permission):
        if permission == EDIT:
            raise PermissionDenied(
                "Only the clinical director or an administrator edits the library."
            )
        raise PermissionDenied("Your role does not use the plan library.")
    if user.organization_id is None:
        raise PermissionDenied("Your account belongs to no organization, so no plan library.")


def _organization(user: User) -> Organization:
    assert user.organization is not None  # noqa: S101  (checked by _require)
    return user.organization


class LibraryForm(forms.Form):
    title = forms.CharField(
        label="Title", max_length=120, help_text="Short, as clinicians will look for it."
    )
    category = forms.ChoiceField(label="Category", choices=Category)
    statement = forms.CharField(
        label="Problem", widget=forms.Textarea(attrs={"rows": 3}), help_text="As it is assessed."
    )
    asam_dimensions = forms.CharField(
        label="ASAM dimensions",
        max_length=20,
        required=False,
        help_text="Numbers 1 to 6 separated by commas, for example 3,5.",
    )
    own_words_example = forms.CharField(
        label="Goal — example in a patient's words",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Clinicians replace it with the person's own words.",
    )
    clinical = forms.CharField(
        label="Clinical goal", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_active = forms.BooleanField(
        label="Offer this entry to clinicians (active)", required=False, initial=True
    )

    def __init__(self, *args: Any, objective_rows: int, intervention_rows: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.objective_rows = objective_rows
        self.intervention_rows = intervention_rows
        for i in range(objective_rows):
            self.fields[f"objective-{i}-text"] = forms.CharField(
                label=f"Objective {i + 1}",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"objective-{i}-target_weeks"] = forms.IntegerField(
                label=f"Objective {i + 1}: target (weeks)",
                required=False,
                min_value=1,
                max_value=104,
            )
        kinds = [("", "—"), *Modality.choices]
        for i in range(intervention_rows):
            self.fields[f"intervention-{i}-modality"] = forms.ChoiceField(
                label=f"Intervention {i + 1}: kind", required=False, choices=kinds
            )
            self.fields[f"intervention-{i}-description"] = forms.CharField(
                label=f"Intervention {i + 1}: description", required=False
            )
            self.fields[f"intervention-{i}-frequency"] = forms.CharField(
                label=f"Intervention {i + 1}: how often", required=False, max_length=100
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i in range(self.objective_rows):
            text = data.get(f"objective-{i}-text")
            if text and data.get(f"objective-{i}-target_weeks") is None:
                self.add_error(f"objective-{i}-target_weeks", "Give the target in weeks (1–104).")
        for i in range(self.intervention_rows):
            named = data.get(f"intervention-{i}-description") or data.get(
                f"intervention-{i}-frequency"
            )
            if named and not data.get(f"intervention-{i}-modality"):
                self.add_error(f"intervention-{i}-modality", "Choose the kind of intervention.")
        return data

    def objectives(self) -> list[tuple[int, dict[str, Any]]]:
        """(row index, row) for every objective row with text."""
        data = self.cleaned_data
        return [
            (
                i,
                {
                    "text": data[f"objective-{i}-text"],
                    "target_weeks": data[f"objective-{i}-target_weeks"],
                },
            )
            for i in range(self.objective_rows)
            if data.get(f"objective-{i}-text")
        ]

    def interventions(self) -> list[tuple[int, dict[str, Any]]]:
        data = self.cleaned_data
        return [
            (
                i,
                {
                    "modality": data[f"intervention-{i}-modality"],
                    "description": data[f"intervention-{i}-description"],
                    "frequency": data[f"intervention-{i}-frequency"],
                },
            )
            for i in range(self.intervention_rows)
            if data.get(f"intervention-{i}-modality")
        ]

    def objective_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[f"objective-{i}-text"], self[f"objective-{i}-target_weeks"])
            for i in range(self.objective_rows)
        ]

    def intervention_fields(
        self,
    ) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (
                self[f"intervention-{i}-modality"],
                self[f"intervention-{i}-description"],
                self[f"intervention-{i}-frequency"],
            )
            for i in range(self.intervention_rows)
        ]


def _apply(
    form: LibraryForm,
    error: ValidationError,
    objective_rows: list[int],
    intervention_rows: list[int],
) -> None:
    """Service errors onto the form; row errors ("objectives.2.target_weeks", counted over
    the rows that were kept) onto the row the user typed them in."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, errs in error.error_dict.items():
        target: str | None = key if key in form.fields else None
        parts = key.split(".")
        if len(parts) == 3 and parts[1].isdigit():
            rows = objective_rows if parts[0] == "objectives" else intervention_rows
            n = int(parts[1]) - 1
            prefix = "objective" if parts[0] == "objectives" else "intervention"
            if 0 <= n < len(rows):
                name = f"{prefix}-{rows[n]}-{parts[2]}"
                target = name if name in form.fields else None
        elif key == "objectives" and "objective-0-text" in form.fields:
            target = "objective-0-text"
        for e in errs:
            form.add_error(target, e.messages)


def _rows(request: HttpRequest, name: str, existing: int) -> int:
    try:
        posted = int(request.POST.get(name, ""))
    except ValueError:
        posted = 0
    return max(min(max(posted, existing + EXTRA_ROWS), MAX_ROWS), EXTRA_ROWS)


def _initial(entry: LibraryProblem) -> dict[str, Any]:
    goal = next(iter(entry.goals.all()), None)
    initial: dict[str, Any] = {
        "title": entry.title,
        "category": entry.category,
        "statement": entry.statement,
        "asam_dimensions": entry.asam_dimensions,
        "own_words_example": goal.own_words_example if goal else "",
        "clinical": goal.clinical if goal else "",
        "is_active": entry.is_active,
    }
    for i, o in enumerate(entry.objectives.all()):
        initial[f"objective-{i}-text"] = o.text
        initial[f"objective-{i}-target_weeks"] = o.target_weeks
    for i, iv in enumerate(entry.interventions.all()):
        initial[f"intervention-{i}-modality"] = iv.modality
        initial[f"intervention-{i}-description"] = iv.description
        initial[f"intervention-{i}-frequency"] = iv.frequency
    return initial


# --- views -------------------------------------------------------------------------------------


def _list_page(request: HttpRequest, user: User, *, confirming: bool) -> HttpResponse:
    entries = list(selectors.library_for(_organization(user), active_only=False))
    groups = [
        (label, [e for e in entries if e.category == value]) for value, label in Category.choices
    ]
    return render(
        request,
        "plans/library_list.html",
        {
            "groups": [(label, rows) for label, rows in groups if rows],
            "count": len(entries),
            "inactive": sum(1 for e in entries if not e.is_active),
            "may_edit": user.can(EDIT),
            "confirming": confirming,
        },
    )


@login_required
@require_GET
def library_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require(user, VIEW)
    return _list_page(request, user, confirming=False)


@login_required
@require_http_methods(["GET", "POST"])
def library_edit(request: HttpRequest, lpk: int | None = None) -> HttpResponse:
    user = _user(request)
    _require(user, EDIT)
    entry = None
    if lpk is not None:
        entry = selectors.library_for(_organization(user), active_only=False).filter(pk=lpk).first()
        if entry is None:
            raise Http404("No library entry here.")
    existing_objectives = len(entry.objectives.all()) if entry else 0
    existing_interventions = len(entry.interventions.all()) if entry else 0
    form = LibraryForm(
        request.POST or None,
        initial=_initial(entry) if entry else {"is_active": True},
        objective_rows=_rows(request, "objective_rows", existing_objectives),
        intervention_rows=_rows(request, "intervention_rows", existing_interventions),
    )
    if request.method == "POST" and form.is_valid():
        objectives, interventions = form.objectives(), form.interventions()
        data = {
            k: v
            for k, v in form.cleaned_data.items()
            if not k.startswith(("objective-", "intervention-"))
        }
        try:
            saved = services.save_library_problem(
                actor=user,
                organization=_organization(user),
                data=data,
                objectives=[row for _, row in objectives],
                interventions=[row for _, row in interventions],
                entry=entry,
            )
        except ValidationError as error:
            _apply(form, error, [i for i, _ in objectives], [i for i, _ in interventions])
        else:
            state = "" if saved.is_active else " It is not offered to clinicians (inactive)."
            messages.success(request, f"“{saved.title}” saved in the plan library.{state}")
            return redirect("plans:library")
    return render(
        request,
        "plans/library_form.html",
        {"form": form, "entry": entry, "modalities": Modality.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def library_restore(request: HttpRequest) -> HttpResponse:
    """Put the standard entries back, after a confirmation page."""
    user = _user(request)
    _require(user, EDIT)
    if request.method == "POST":
        added = services.restore_default_library(actor=user, organization=_organization(user))
        if added:
            messages.success(
                request,
                f"{added} standard entr{'y' if added == 1 else 'ies'} put back. "
                "Your own entries and your changes to standard entries are as they were.",
            )
        else:
            messages.info(request, "Every standard entry is already in the library.")
        return redirect("plans:library")
    return _list_page(request, user, confirming=True)
