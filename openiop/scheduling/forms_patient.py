"""Forms of the chart's Schedule & attendance tab: joining and leaving a group, and the
label of a calendar link. They parse input only; the services decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from openiop.scheduling.models import Schedule
from openiop.scheduling.widgets import DateInput


class EnrollForm(forms.Form):
    """Which group and from which day. The groups are listed in a table, one radio button
    per row; ``choices`` holds the schedules shown, so the form accepts only those."""

    schedule = forms.TypedChoiceField(
        label="Group",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the group the patient joins."},
    )
    start_date = forms.DateField(
        label="First day in the group",
        widget=DateInput(),
        error_messages={"required": "Say from which day the patient joins."},
    )
    override_reason = forms.CharField(
        label="Enroll anyway — why?",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the group is for another phase or track. It is kept with "
        "the enrollment.",
    )

    def __init__(self, *args: Any, schedules: Sequence[Schedule], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedules = {s.pk: s for s in schedules}
        self.fields["schedule"].choices = [(s.pk, str(s)) for s in schedules]  # type: ignore[attr-defined]

    def chosen(self) -> Schedule | None:
        return self.schedules.get(self.cleaned_data.get("schedule") or 0)


def parse_id(raw: object) -> int | None:
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


class LeaveForm(forms.Form):
    end_date = forms.DateField(
        label="Last day in the group",
        widget=DateInput(),
        error_messages={"required": "Say the last day the patient is in the group."},
    )
    reason = forms.CharField(
        label="Why the patient leaves the group",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the patient leaves the group."},
    )


class FeedForm(forms.Form):
    label = forms.CharField(
        label="Name for this link (optional)",
        required=False,
        max_length=100,
        help_text="For telling links apart, e.g. “Phone calendar”. Do not write a name or "
        "anything about health here.",
    )
