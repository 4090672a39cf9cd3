"""Forms of the TEDS page and of starting a background export. They parse and label; the
export service repeats the same checks (a counselor sees one message either way)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from openiop.accounts.models import Program, User
from openiop.accounts.selectors import facilities_for

ALL = ""


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def end_before_start(start: dt.date) -> str:
    return (
        f"The end date is before the start ({start:%m/%d/%Y}). Choose an end on or after the start."
    )


def _programs(user: User) -> list[Program]:
    return list(
        Program.objects.filter(facility__in=facilities_for(user))
        .select_related("facility")
        .order_by("facility__name", "name")
    )


class RangeForm(forms.Form):
    """A facility (or all of the user's) and the first and last day, both included."""

    facility = forms.ChoiceField(label="Facility", required=False)
    start = forms.DateField(
        label="From", widget=DateInput(), error_messages={"required": "Enter the first day."}
    )
    end = forms.DateField(
        label="To (included)",
        widget=DateInput(),
        error_messages={"required": "Enter the last day."},
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        facilities = list(facilities_for(user).order_by("name"))
        field = self.fields["facility"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrowing for mypy
        field.choices = [
            *([(ALL, "All my facilities")] if len(facilities) > 1 else []),
            *((str(f.pk), f.name) for f in facilities),
        ]
        if len(facilities) == 1:
            field.initial = str(facilities[0].pk)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", end_before_start(start))
        return cleaned

    def params(self) -> dict[str, Any]:
        """What ``exports.start_export`` and the TEDS validation take."""
        data = self.cleaned_data
        return {
            "facility": data.get("facility") or None,
            "start": data["start"],
            "end": data["end"],
        }


class TedsForm(RangeForm):
    KIND_CHOICES = [
        ("teds-a", "Admissions (TEDS-A)"),
        ("teds-d", "Discharges (TEDS-D)"),
    ]

    kind = forms.ChoiceField(
        label="Records",
        choices=KIND_CHOICES,
        initial="teds-a",
        widget=forms.RadioSelect,
        help_text="Admissions count by admission date, discharges by discharge date; a change "
        "of service inside an episode appears in both.",
    )
    field_order = ["kind", "facility", "start", "end"]


class ExportStartForm(RangeForm):
    """Starting a report's export: the report page's filters (a program is optional)."""

    program = forms.ChoiceField(label="Program", required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        field = self.fields["program"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrowing for mypy
        field.choices = [
            (ALL, "All programs"),
            *((str(p.pk), f"{p.name} ({p.facility.name})") for p in _programs(user)),
        ]

    def params(self) -> dict[str, Any]:
        return {**super().params(), "program": self.cleaned_data.get("program") or None}
