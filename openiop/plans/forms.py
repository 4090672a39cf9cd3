"""Forms of the treatment-plan editor. They parse and label; the services decide (a form's
own checks only repeat the service's words, so a counselor sees one message either way)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from openiop.accounts.models import Program, Track, User
from openiop.assessments.rules import DIMENSION_NAMES, DIMENSIONS
from openiop.plans.models import Category, LibraryProblem, Modality, ObjectiveStatus

DIMENSION_CHOICES = [(str(d), f"D{d} — {DIMENSION_NAMES[d]}") for d in DIMENSIONS]
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TARGET_DATE_REQUIRED = "Give the objective a target date, so progress can be measured."
OWN_WORDS_REQUIRED = "Write the goal in the patient's own words; it is their plan."


def _number(value: Decimal) -> str:
    """3.00 → "3", 2.50 → "2.5"."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def dose_rules_text(program: Program) -> str:
    """ "Program minimum: 3 h a day, 3 days and 9 h a week; maximum 19 h a week." """
    text = (
        f"Program minimum: {_number(program.min_hours_per_day)} h a day, "
        f"{program.min_days_per_week} days and {_number(program.min_hours_per_week)} h a week"
    )
    if program.max_hours_per_week is not None:
        text += f"; maximum {_number(program.max_hours_per_week)} h a week"
    return text + "."


def apply_errors(
    form: forms.Form, error: ValidationError, aliases: Mapping[str, str] | None = None
) -> None:
    """Put a service's errors on the form's fields (``aliases`` renames service keys)."""
    aliases = aliases or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, errors in error.error_dict.items():
        field = aliases.get(key, key)
        messages = [m for e in errors for m in e.messages]
        form.add_error(field if field in form.fields else None, messages)


class StaffChoiceField(forms.ModelChoiceField):
    """Staff by name and role (who answers for an intervention)."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.role_label})"


class ProblemForm(forms.Form):
    statement = forms.CharField(
        label="Problem",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="In plain words, what gets in the way. For example: “Drinks daily despite "
        "losing a job over it.”",
        error_messages={"required": "Describe the problem in a sentence."},
    )
    category = forms.ChoiceField(label="Category", choices=Category.choices, initial="other")
    asam_dimensions = forms.MultipleChoiceField(
        label="ASAM dimensions this problem belongs to",
        choices=DIMENSION_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    diagnosis_codes = forms.CharField(
        label="Diagnoses (ICD-10-CM codes)",
        required=False,
        help_text="Separate codes with commas, e.g. F10.20, F32.1.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    @staticmethod
    def initial_for(problem: Any) -> dict[str, Any]:
        return {
            "statement": problem.statement,
            "category": problem.category,
            "asam_dimensions": [str(d) for d in problem.dimension_numbers],
            "diagnosis_codes": ", ".join(problem.diagnosis_codes),
        }


class GoalForm(forms.Form):
    own_words = forms.CharField(
        label="Goal in the patient's own words",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Write down what the person says they want, as they say it.",
        error_messages={"required": OWN_WORDS_REQUIRED},
    )
    clinical = forms.CharField(
        label="Clinical restatement",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: the same goal in clinical terms.",
    )


class NewProblemForm(ProblemForm, GoalForm):
    """A new problem comes with its first goal."""

    field_order = [
        "statement",
        "category",
        "asam_dimensions",
        "diagnosis_codes",
        "own_words",
        "clinical",
    ]


class ObjectiveForm(forms.Form):
    text = forms.CharField(
        label="Measurable objective",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Something anyone can check. For example: “Attends 3 groups a week for 4 weeks.”",
        error_messages={"required": "Write the objective as something that can be measured."},
    )
    target_date = forms.DateField(
        label="Target date",
        widget=DATE_WIDGET,
        error_messages={"required": TARGET_DATE_REQUIRED, "invalid": "Enter a date."},
    )
    status = forms.ChoiceField(
        label="Status", choices=ObjectiveStatus.choices, initial=ObjectiveStatus.NOT_STARTED
    )


class InterventionForm(forms.Form):
    modality = forms.ChoiceField(
        label="Kind of service",
        choices=[("", "Choose…"), *Modality.choices],
        error_messages={"required": "Choose the kind of service from the list."},
    )
    description = forms.CharField(
        label="What it is",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: “Relapse-prevention skills group (Matrix Model).”",
    )
    frequency = forms.CharField(
        label="How often",
        max_length=100,
        help_text="For example: 3 times a week.",
        error_messages={"required": "Say how often, e.g. 3 times a week."},
    )
    responsible = StaffChoiceField(
        label="Responsible staff",
        queryset=User.objects.none(),
        required=False,
        empty_label="Not named yet",
    )

    def __init__(self, *args: Any, staff: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["responsible"]
        assert isinstance(field, StaffChoiceField)  # noqa: S101
        field.queryset = staff


class IntensityForm(forms.Form):
    hours_per_day = forms.DecimalField(
        label="Planned hours per day",
        max_digits=4,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.25", "inputmode": "decimal"}),
        error_messages={"required": "Enter the planned hours per day, e.g. 3."},
    )
    days_per_week = forms.IntegerField(
        label="Planned days per week",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"required": "Enter the planned days per week, e.g. 3."},
    )
    track = forms.ModelChoiceField(
        label="Track", queryset=Track.objects.none(), required=False, empty_label="No track"
    )
    meetings_per_week = forms.IntegerField(
        label="Required mutual-help meetings per week",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="0 if none.",
        error_messages={
            "required": "Enter the mutual-help meetings required each week (0 if none)."
        },
    )
    strengths = forms.CharField(
        label="Strengths and resources",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the person brings: people, skills, faith, work, past recovery.",
    )
    discharge_criteria = forms.CharField(
        label="What completing this program looks like",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, program: Program, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        track = self.fields["track"]
        assert isinstance(track, forms.ModelChoiceField)  # noqa: S101
        track.queryset = program.tracks.order_by("start_time")
        rules = dose_rules_text(program)
        self.fields["hours_per_day"].help_text = rules
        self.fields["days_per_week"].help_text = rules
        minimum = program.required_meetings_per_week
        if minimum:
            self.fields["meetings_per_week"].help_text = f"The program requires at least {minimum}."


# --- adding a problem from the library ---------------------------------------------------------


class LibraryAddForm(forms.Form):
    """A library entry personalized: the goal is always in the patient's own words (the
    example is only a hint); each objective and intervention can be left out or edited."""

    statement = ProblemForm.base_fields["statement"]
    asam_dimensions = ProblemForm.base_fields["asam_dimensions"]
    diagnosis_codes = ProblemForm.base_fields["diagnosis_codes"]
    own_words = GoalForm.base_fields["own_words"]
    clinical = GoalForm.base_fields["clinical"]

    def __init__(
        self,
        *args: Any,
        entry: LibraryProblem,
        today: dt.date,
        staff: QuerySet[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.entry = entry
        goal = next(iter(entry.goals.all()), None)
        self.objective_rows = list(entry.objectives.all())
        self.intervention_rows = list(entry.interventions.all())
        self.initial.setdefault("statement", entry.statement)
        self.initial.setdefault("asam_dimensions", [str(d) for d in entry.dimension_numbers])
        if goal is not None:
            self.initial.setdefault("clinical", goal.clinical)
            own = self.fields["own_words"] = forms.CharField(
                label="Goal in the patient's own words",
                widget=forms.Textarea(
                    attrs={"rows": 2, "placeholder": f"For example: {goal.own_words_example}"}
                ),
                help_text=f"Ask the person. For example: “{goal.own_words_example}”",
                error_messages={"required": OWN_WORDS_REQUIRED},
            )
            own.initial = ""
        serves = [(str(n), f"Objective {n}") for n in range(1, len(self.objective_rows) + 1)]
        for n, objective in enumerate(self.objective_rows, start=1):
            self.fields[f"objective_{n}_use"] = forms.BooleanField(
                label=f"Use objective {n}", required=False, initial=True
            )
            self.fields[f"objective_{n}_text"] = forms.CharField(
                label=f"Objective {n}",
                required=False,
                initial=objective.text,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"objective_{n}_target_date"] = forms.DateField(
                label=f"Target date of objective {n}",
                required=False,
                initial=today + dt.timedelta(weeks=objective.target_weeks),
                widget=DATE_WIDGET,
                error_messages={"invalid": "Enter a date."},
            )
        for n, intervention in enumerate(self.intervention_rows, start=1):
            self.fields[f"intervention_{n}_use"] = forms.BooleanField(
                label=f"Use intervention {n}", required=False, initial=True
            )
            self.fields[f"intervention_{n}_modality"] = forms.ChoiceField(
                label=f"Kind of service ({n})",
                choices=Modality.choices,
                initial=intervention.modality,
                required=False,
            )
            self.fields[f"intervention_{n}_description"] = forms.CharField(
                label=f"What it is ({n})",
                required=False,
                initial=intervention.description,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"intervention_{n}_frequency"] = forms.CharField(
                label=f"How often ({n})",
                required=False,
                max_length=100,
                initial=intervention.frequency,
            )
            self.fields[f"intervention_{n}_objective"] = forms.ChoiceField(
                label=f"Serves ({n})", choices=serves, initial="1", required=False
            )
            self.fields[f"intervention_{n}_responsible"] = StaffChoiceField(
                label=f"Responsible staff ({n})",
                queryset=staff,
                required=False,
                empty_label="Not named yet",
            )

    def objectives(self) -> Iterator[dict[str, Any]]:
        """Bound fields per library objective, for the template."""
        for n, objective in enumerate(self.objective_rows, start=1):
            yield {
                "n": n,
                "weeks": objective.target_weeks,
                "use": self[f"objective_{n}_use"],
                "text": self[f"objective_{n}_text"],
                "target_date": self[f"objective_{n}_target_date"],
            }

    def interventions(self) -> Iterator[dict[str, Any]]:
        for n, _intervention in enumerate(self.intervention_rows, start=1):
            yield {
                "n": n,
                "use": self[f"intervention_{n}_use"],
                "modality": self[f"intervention_{n}_modality"],
                "description": self[f"intervention_{n}_description"],
                "frequency": self[f"intervention_{n}_frequency"],
                "objective": self[f"intervention_{n}_objective"],
                "responsible": self[f"intervention_{n}_responsible"],
            }

    def service_data(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The data for ``services.add_from_library`` and the aliases that put its errors
        (``objectives.2.target_date``) back on this form's fields."""
        data = self.cleaned_data
        aliases: dict[str, str] = {}
        chosen: list[int] = []
        objectives: list[dict[str, Any]] = []
        for n in range(1, len(self.objective_rows) + 1):
            if not data.get(f"objective_{n}_use"):
                continue
            chosen.append(n)
            position = len(chosen)
            objectives.append(
                {
                    "text": data.get(f"objective_{n}_text", ""),
                    "target_date": data.get(f"objective_{n}_target_date"),
                }
            )
            for name in ("text", "target_date", "status"):
                aliases[f"objectives.{position}.{name}"] = f"objective_{n}_{name}"
        interventions: list[dict[str, Any]] = []
        for n in range(1, len(self.intervention_rows) + 1):
            if not data.get(f"intervention_{n}_use"):
                continue
            serves = int(data.get(f"intervention_{n}_objective") or 1)
            position = len(interventions) + 1
            responsible = data.get(f"intervention_{n}_responsible")
            interventions.append(
                {
                    "modality": data.get(f"intervention_{n}_modality", ""),
                    "description": data.get(f"intervention_{n}_description", ""),
                    "frequency": data.get(f"intervention_{n}_frequency", ""),
                    "responsible": responsible.pk if responsible else "",
                    # 0 when it serves an objective that was left out: the service refuses.
                    "objective": chosen.index(serves) + 1 if serves in chosen else 0,
                }
            )
            for name in ("modality", "description", "frequency", "responsible", "objective"):
                aliases[f"interventions.{position}.{name}"] = f"intervention_{n}_{name}"
        return (
            {
                "statement": data.get("statement", ""),
                "asam_dimensions": data.get("asam_dimensions") or [],
                "diagnosis_codes": data.get("diagnosis_codes", ""),
                "own_words": data.get("own_words", ""),
                "clinical": data.get("clinical", ""),
                "objectives": objectives,
                "interventions": interventions,
            },
            aliases,
        )

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        chosen = {
            n for n in range(1, len(self.objective_rows) + 1) if data.get(f"objective_{n}_use")
        }
        for n in range(1, len(self.intervention_rows) + 1):
            if not data.get(f"intervention_{n}_use"):
                continue
            serves = data.get(f"intervention_{n}_objective")
            if serves and int(serves) not in chosen:
                self.add_error(
                    f"intervention_{n}_objective",
                    f"Objective {serves} is left out: choose an objective you kept, "
                    "or leave this intervention out too.",
                )
        return data
