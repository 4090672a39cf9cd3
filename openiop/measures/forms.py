"""The administer form, generated from the instrument's definition: one fieldset of radio
buttons per question (keyboard reachable, works without JavaScript)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.measures import instruments, rules
from openiop.measures.permissions import MEASURES_ROLES
from openiop.patients.models import Patient

CUTOFF_CHOICES = [
    ("female", "3 or more (the women's cut-off; catches more people)"),
    ("male", "4 or more (the men's cut-off)"),
]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


def _key(value: int | bool | str) -> str:
    """An option's value as the form posts it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _label(item: instruments.Item, option: instruments.Option) -> str:
    # Points next to the words for scored scales (AUDIT 9–10 score 0, 2 or 4; BAM 14 0 or 4).
    return f"{option.label} ({option.value})" if item.kind == "scale" else option.label


def givers(patient: Patient) -> QuerySet[User]:
    """Who may be named as having given the instrument: active measures staff of the facility."""
    return (
        User.objects.filter(
            is_active=True, role__in=list(MEASURES_ROLES), facilities=patient.facility_id
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


def field_name(item_number: str) -> str:
    return f"item_{item_number}"


class AdministerForm(forms.Form):
    administered_at = forms.DateTimeField(
        label="Given on",
        widget=DateTimeInput(format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="Change it when you enter a paper form given earlier. Not in the future.",
    )
    administered_by = forms.ModelChoiceField(
        label="Given by", queryset=User.objects.none(), empty_label=None
    )
    notes = forms.CharField(
        label="Notes (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self,
        *args: Any,
        definition: instruments.Instrument,
        patient: Patient,
        correcting: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.patient = patient
        self.fields["administered_by"].queryset = givers(patient)  # type: ignore[attr-defined]
        self.fields["administered_by"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        items: dict[str, forms.Field] = {}
        for item in definition.items:
            follows = item.asked_when is not None
            items[field_name(item.number)] = forms.ChoiceField(
                label=item.text if item.kind == "choice" else f"{item.number}. {item.text}",
                help_text=item.help,
                choices=[(_key(o.value), _label(item, o)) for o in item.options],
                widget=forms.RadioSelect,
                required=not follows,
                error_messages={"required": "Choose an answer to this question."},
            )
        self.needs_cutoff = (
            definition.code == "auditc"
            and rules.auditc_sex_from_record(patient.sex_at_birth) is None
        )
        if self.needs_cutoff:
            items["sex"] = forms.ChoiceField(
                label="Which cut-off applies?",
                help_text=(
                    "The chart does not record sex at birth as male or female, so choose the "
                    "AUDIT-C cut-off for a positive screen."
                ),
                choices=CUTOFF_CHOICES,
                initial=rules.AUDITC_DEFAULT_SEX,
                widget=forms.RadioSelect,
            )
        if correcting:
            items["correction_reason"] = forms.CharField(
                label="Why is the earlier result wrong?",
                max_length=500,
                help_text="The earlier result is marked entered in error with this reason.",
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        # The questions first, then when/who/notes.
        self.fields = {**items, **self.fields}

    def item_fields(self) -> list[forms.BoundField]:
        return [self[field_name(i.number)] for i in self.definition.items]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        answers: dict[str, Any] = {}
        for item in self.definition.items:
            raw = data.get(field_name(item.number)) or ""
            if raw:
                answers[item.number] = self._value(item, raw)
        for item in self.definition.items:
            if item.asked_when is None:
                continue
            trigger, needed = item.asked_when
            if trigger not in answers:
                continue  # the trigger question has its own error
            asked = answers[trigger] == needed
            name = field_name(item.number)
            if item.kind == "choice":
                if not asked:
                    answers.pop(item.number, None)
                elif item.number not in answers:
                    self.add_error(name, "Question " + trigger + " was yes: say when.")
            elif item.number not in answers:
                if asked:
                    self.add_error(name, f"Question {trigger} was yes: answer this one too.")
                else:
                    answers[item.number] = False  # the screener skips it: it counts as no
        data["answers"] = answers
        return data

    @staticmethod
    def _value(item: instruments.Item, raw: str) -> int | bool | str:
        if item.kind == "yes_no":
            return raw == "yes"
        if item.kind == "scale":
            return int(raw)
        return raw

    def apply(self, error: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names (the item, when scoring)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for name, errors in error.error_dict.items():
            for e in errors:
                target = name if name in self.fields else None
                if name == "answers":
                    item = (e.params or {}).get("item")
                    target = field_name(str(item)) if item else None
                    target = target if target in self.fields else None
                self.add_error(target, e.messages)


def initial_answers(definition: instruments.Instrument, answers: dict[str, Any]) -> dict[str, str]:
    """A stored answer set as the form's initial values (a correction starts from them)."""
    return {
        field_name(item.number): _key(answers[item.number])
        for item in definition.items
        if item.number in answers
    }


class EnteredInErrorForm(forms.Form):
    reason = forms.CharField(
        label="Why should this result not count?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: entered on the wrong patient. The result stays in the chart, "
        "struck through, with this reason.",
    )


class DateInput(forms.DateInput):
    input_type = "date"


class ScheduleForm(forms.Form):
    """Repeat an instrument: which, how often, from when (a running one is replaced)."""

    instrument = forms.ChoiceField(label="Instrument")
    every_days = forms.IntegerField(
        label="Every how many days",
        min_value=rules.EVERY_DAYS_MIN,
        max_value=rules.EVERY_DAYS_MAX,
        help_text="For example 14 for every two weeks, 7 for every week.",
    )
    starts_on = forms.DateField(
        label="First due on",
        widget=DateInput(format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        help_text="Not before admission. Later ones are due this many days after each time "
        "it is given.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = [  # type: ignore[attr-defined]
            (code, d.title) for code, d in instruments.DEFINITIONS.items()
        ]

    def apply(self, error: ValidationError) -> None:
        """Put a service's field errors on this form's fields."""
        for name, messages in getattr(error, "message_dict", {"__all__": error.messages}).items():
            self.add_error(name if name in self.fields else None, messages)


class StopScheduleForm(forms.Form):
    reason = forms.CharField(
        label="Why stop repeating it?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: anxiety scores minimal for two months. Results already given "
        "stay in the chart.",
    )
