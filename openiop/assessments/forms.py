"""Forms parse what the clinician typed; the rules and the checks live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from openiop.assessments import rules
from openiop.assessments.models import Biopsychosocial
from openiop.assessments.services import BPS_SECTIONS
from openiop.core import teds

EMPTY_CHOICE = ("", "—")


class DateInput(forms.DateInput):
    input_type = "date"


class AsamForm(forms.Form):
    """Six ratings with their rationale, then the final level. Ratings are checked by the
    rules (a 5 is refused with the dimension named), not clipped by the widget."""

    final_level = forms.ChoiceField(
        label="Final level of care (your decision)",
        required=False,
        choices=[("", "Decide after reading the recommendation"), *rules.FINAL_LEVELS.items()],
        help_text="Needed to sign. When it differs from the recommendation, say why below.",
    )
    override_reason = forms.CharField(
        label="Reason for a different level",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: no recovery residence has a bed; the person's job cannot wait.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        dimension_fields: dict[str, forms.Field] = {}
        for d in rules.DIMENSIONS:
            dimension_fields[f"d{d}_rating"] = forms.IntegerField(
                label=f"Dimension {d}: {rules.DIMENSION_NAMES[d]}",
                required=False,
                widget=forms.RadioSelect(choices=list(rules.RATING_LABELS.items())),
            )
            dimension_fields[f"d{d}_rationale"] = forms.CharField(
                label=f"Why {d}? (rationale)",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        self.fields = {**dimension_fields, **self.fields}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for d in rules.DIMENSIONS:
            name = f"d{d}_rating"
            if name in self.errors:
                continue
            problem = rules.rating_error(d, data.get(name))
            if problem:
                self.add_error(name, problem)
        return data

    def ratings(self) -> dict[int, Any]:
        return {d: self.data.get(self.add_prefix(f"d{d}_rating")) for d in rules.DIMENSIONS}

    def dimension_fields(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [(d, self[f"d{d}_rating"], self[f"d{d}_rationale"]) for d in rules.DIMENSIONS]


class SignForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter your password to sign. Signing locks the assessment.",
    )


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="New information after signing. It is added with your name and the time.",
    )


SECTION_TITLES = {
    "substance_use": "Substance use",
    "prior_treatment": "Prior treatment",
    "mental_health": "Mental-health history and current symptoms",
    "medical": "Medical and physical evaluation",
    "diagnoses": "Co-occurring diagnoses (ICD-10-CM)",
    "trauma": "Trauma history (clinical team only)",
    "legal": "Legal",
    "work_school": "Work and school",
    "housing": "Housing",
    "family_support": "Family and support",
    "strengths": "Strengths",
    "groups": "Preferences for specialized groups",
    "goals": "Goals, in the person's own words",
}
_LIST_CHOICES = {
    "prior_treatment_kinds": rules.PRIOR_TREATMENT_KINDS,
    "current_symptoms": rules.CURRENT_SYMPTOMS,
    "group_preferences": rules.GROUP_PREFERENCES,
}
_HELP = {
    "trauma_history": "Visible to the clinical team only. Write what the person chose to share.",
    "goals_own_words": "Quote the person. Needed to sign.",
    "group_preferences": (
        "Preferences only. Whether the person opts in to LGBTQ+ or survivors' groups is "
        "recorded on the patient record."
    ),
    "pregnancy": "A “yes” means coordinating prenatal care.",
}


def _verbose_name(name: str) -> str:
    return str(getattr(Biopsychosocial._meta.get_field(name), "verbose_name", name))


class SectionForm(forms.Form):
    """One section of the biopsychosocial assessment, built from the model's fields."""

    def __init__(self, *args: Any, section: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section = section
        names = BPS_SECTIONS[section]
        built = forms.fields_for_model(
            Biopsychosocial,
            fields=names,
            widgets={
                name: forms.Textarea(attrs={"rows": 3})
                for name in names
                if isinstance(Biopsychosocial._meta.get_field(name), models.TextField)
            },
        )
        for name in names:
            if name in _LIST_CHOICES:
                field: forms.Field = forms.MultipleChoiceField(
                    label=_verbose_name(name).capitalize(),
                    choices=list(_LIST_CHOICES[name].items()),
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                )
            else:
                field = built[name]
                field.label = str(field.label)[:1].upper() + str(field.label)[1:]
            if name in ("bp_systolic", "bp_diastolic", "pulse", "respirations"):
                # Ranges are the rules' (plain messages, SPEC-like numbers), not the widget's.
                field.widget.attrs.update({"inputmode": "numeric"})
            if name in _HELP:
                field.help_text = _HELP[name]
            self.fields[name] = field
        for field in self.fields.values():
            choices = getattr(field, "choices", None)
            if isinstance(field, forms.TypedChoiceField) and choices:
                field.choices = [("", "Not recorded"), *list(choices)[1:]]

    def data_for_service(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in BPS_SECTIONS[self.section]}


def _coded(choices: Any) -> list[tuple[Any, str]]:
    return [EMPTY_CHOICE, *[(v, f"{v} — {label}") for v, label in choices]]


class SubstanceRowForm(forms.Form):
    """One of three rows: primary, secondary, tertiary (TEDS SUB/ROUTE/FREQ/FRSTUSE)."""

    substance = forms.TypedChoiceField(
        label="Substance",
        choices=_coded([c for c in teds.Substance.choices if c[0] != teds.Substance.NONE]),
        coerce=int,
        empty_value=None,
        required=False,
    )
    route = forms.TypedChoiceField(
        label="Route",
        choices=_coded(teds.Route.choices),
        coerce=int,
        empty_value=None,
        required=False,
    )
    frequency = forms.TypedChoiceField(
        label="Frequency, past month",
        choices=_coded(teds.Frequency.choices),
        coerce=int,
        empty_value=None,
        required=False,
    )
    age_first_use = forms.IntegerField(
        label="Age at first use",
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    last_use = forms.DateField(
        label="Last use", required=False, widget=DateInput(format="%Y-%m-%d")
    )
    notes = forms.CharField(label="Notes", required=False, max_length=300)

    def __init__(self, *args: Any, rank: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rank = rank
        self.rank_label = {1: "Primary", 2: "Secondary", 3: "Tertiary"}[rank]

    def row(self) -> dict[str, Any] | None:
        """The row for the service, or None when the clinician left it empty."""
        data = self.cleaned_data
        if not any(data.get(k) not in (None, "") for k in self.fields):
            return None
        return {"rank": self.rank, **data}


class DiagnosisRowForm(forms.Form):
    code = forms.CharField(
        label="ICD-10-CM code",
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "icd-code"}),
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=300,
        help_text="Filled from the list; type it only for a code that is not in the list.",
    )
    is_primary = forms.BooleanField(label="Primary", required=False)

    def row(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not (data.get("code") or "").strip():
            return None
        return dict(data)


class Icd10SearchForm(forms.Form):
    q = forms.CharField(
        label="Find a code",
        max_length=60,
        required=False,
        help_text="A code (F10.2) or words (alcohol withdrawal).",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class AsamRuleRowForm(forms.Form):
    """One row of the level-of-care table on the clinical director's page."""

    dimensions = forms.TypedMultipleChoiceField(
        label="Dimensions",
        choices=[(d, f"D{d}") for d in rules.DIMENSIONS],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    match = forms.ChoiceField(label="Matches when", choices=list(rules.MATCHES.items()))
    at_least = forms.IntegerField(label="Rating at least", required=False)
    recommendation = forms.ChoiceField(
        label="Recommendation", choices=list(rules.RECOMMENDATIONS.items())
    )
    label = forms.CharField(label="Label (optional)", required=False, max_length=120)


AsamRuleFormSet = forms.formset_factory(
    AsamRuleRowForm, extra=1, max_num=20, can_order=True, can_delete=True
)
