"""Forms of the discharge pages. They parse and label; the services decide (their messages land
on these fields through ``apply_errors``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.html import format_html

from openiop.discharge import rules
from openiop.discharge.models import Discharge, Referral, StepDown
from openiop.discharge.services import TEDS_D_FIELDS
from openiop.notes.forms import SignForm
from openiop.plans.forms import apply_errors
from openiop.scheduling.widgets import DateInput

__all__ = [
    "DischargeForm",
    "ReferralForm",
    "ReferralStatusForm",
    "SignForm",
    "SummaryForm",
    "apply_errors",
]

_DETAILS = (
    "discharge_date",
    "reason_key",
    "reason_detail",
    "early_reason",
    "continuing_care",
    "step_down",
    "step_down_provider",
    "step_down_date",
    "followup_agreed",
    "followup_contact",
)


def _reason_choices() -> list[tuple[str, Any]]:
    """The reasons in plain words, each with its TEDS code in small print."""
    return [
        (
            key,
            format_html('{} <small class="muted">TEDS REASON {}</small>', label, int(code)),
        )
        for key, (label, code) in rules.DISCHARGE_REASONS.items()
    ]


def _text(rows: int = 3, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


class DischargeForm(forms.Form):
    """The discharge: date, reason, the 90-day question, step-down, follow-up consent, the
    TEDS status at discharge and whether to cancel what is still booked."""

    discharge_date = forms.DateField(
        label="Discharge date",
        required=False,
        widget=DateInput(),
        help_text="The person's last day in the program.",
    )
    reason_key = forms.ChoiceField(
        label="Why the stay ends",
        choices=_reason_choices,
        required=False,
        widget=forms.RadioSelect,
    )
    reason_detail = forms.CharField(
        label="What happened (optional)",
        required=False,
        max_length=500,
        help_text="A line for the record, e.g. “moved to Sacramento for work”.",
    )
    early_reason = forms.CharField(
        label="Why the stay ends before day 90",
        required=False,
        widget=_text(3),
        help_text="Most people need at least 90 days in treatment (NIDA). Say what led to this.",
    )
    continuing_care = forms.CharField(
        label="Continuing care you recommend",
        required=False,
        widget=_text(3),
        help_text="For example: outpatient counseling weekly, an aftercare group, meetings daily.",
    )
    step_down = forms.ChoiceField(
        label="Next step of care, decided with the person",
        choices=StepDown.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    step_down_provider = forms.CharField(
        label="Program or provider (optional)", required=False, max_length=200
    )
    step_down_date = forms.DateField(
        label="First appointment there (optional)", required=False, widget=DateInput()
    )
    followup_agreed = forms.BooleanField(
        label="Agrees to follow-up calls after discharge",
        required=False,
        help_text="Calls at 30, 60, 90, 180 and 365 days unless your organization set others.",
    )
    followup_contact = forms.CharField(
        label="How to reach them",
        required=False,
        max_length=200,
        help_text="Best number and time, e.g. “(555) 010-0142, evenings”.",
    )
    cancel_future = forms.BooleanField(
        label="Cancel these and end group enrollments",
        required=False,
    )

    def __init__(self, *args: Any, with_cancel: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_cancel:
            del self.fields["cancel_future"]
        for name, choices in TEDS_D_FIELDS.items():
            label = str(getattr(Discharge._meta.get_field(name), "verbose_name", name))
            self.fields[name] = forms.TypedChoiceField(
                label=label[:1].upper() + label[1:],
                choices=[("", "Not recorded (reported as −9)"), *choices.choices],
                coerce=int,
                empty_value=None,
                required=False,
            )

    @property
    def teds_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in TEDS_D_FIELDS]

    def detail_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {name: data.get(name) or "" for name in _DETAILS}
        values["discharge_date"] = data.get("discharge_date")
        values["step_down_date"] = data.get("step_down_date")
        values["followup_agreed"] = bool(data.get("followup_agreed"))
        return values

    def teds_values(self) -> dict[str, int | None]:
        return {name: self.cleaned_data.get(name) for name in TEDS_D_FIELDS}

    @classmethod
    def initial_for(cls, discharge: Discharge) -> dict[str, Any]:
        values: dict[str, Any] = {name: getattr(discharge, name) for name in _DETAILS}
        values.update({name: getattr(discharge, name) for name in TEDS_D_FIELDS})
        return values

    def chosen_date(self) -> dt.date | None:
        """The discharge date as typed, when it parses (for the page's previews)."""
        if hasattr(self, "cleaned_data"):
            value = self.cleaned_data.get("discharge_date")
            return value if isinstance(value, dt.date) else None
        return None


class SummaryForm(forms.Form):
    course = forms.CharField(
        label="Course of treatment",
        required=False,
        widget=_text(6),
        help_text="What the person worked on, how they engaged, what changed.",
    )
    condition = forms.CharField(
        label="Condition at discharge",
        required=False,
        widget=_text(4),
        help_text="Use, mood, risk, supports and stability as they leave.",
    )
    recommendations = forms.CharField(
        label="Recommendations",
        required=False,
        widget=_text(4),
        help_text="Continuing care, meetings, medication, referrals, what to do if use returns.",
    )


class ReferralStatusForm(forms.Form):
    status = forms.ChoiceField(label="Where it stands", choices=Referral.Status.choices)
    status_on = forms.DateField(
        label="Since",
        widget=DateInput(),
        error_messages={"required": "Enter the date of this status."},
    )
    note = forms.CharField(label="Note (optional)", required=False, max_length=500)


class ReferralForm(ReferralStatusForm):
    kind = forms.ChoiceField(label="Kind of referral", choices=Referral.Kind.choices)
    provider = forms.CharField(
        label="Referred to",
        max_length=200,
        help_text="The program, clinic or agency.",
        error_messages={"required": "Say who the person is referred to."},
    )
    contact = forms.CharField(
        label="Their contact (optional)",
        required=False,
        max_length=200,
        help_text="Phone or address of the place, not the patient's.",
    )
    field_order = ["kind", "provider", "contact", "status", "status_on", "note"]
