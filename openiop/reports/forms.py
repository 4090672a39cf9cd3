"""The report filters: facility (one of the person's, or all of them), program, and dates.

The same form reads the page's query string, the CSV download's and the background export's
(so every one of them refuses the same bad input with the same words).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from openiop.accounts.models import Facility, Program, User
from openiop.reports import selectors
from openiop.reports.base import Filters, Report

# Five years (with their leap days) and a day, counting both ends.
MAX_DAYS = 5 * 365 + 2
END_BEFORE_START = "The end date is before the start date."
TOO_LONG = (
    "Choose at most 5 years at a time: move the start date later (or run two reports and "
    "put them side by side)."
)
IN_FUTURE = "The end date is in the future: choose today or an earlier day."
PROGRAM_ELSEWHERE = (
    "That program is not at the facility chosen: choose one of its programs, or all facilities."
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class FacilityField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class ProgramField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} — {obj.facility.name}"


class ReportFilterForm(forms.Form):
    facility = FacilityField(
        queryset=Facility.objects.none(),
        required=False,
        empty_label="All my facilities",
        label="Facility",
    )
    program = ProgramField(
        queryset=Program.objects.none(),
        required=False,
        empty_label="All programs",
        label="Program",
    )
    start = forms.DateField(label="From", widget=DateInput())
    end = forms.DateField(label="To", widget=DateInput(), help_text="Both days are included.")

    def __init__(self, *args: Any, user: User, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.today = today
        self.facilities = selectors.report_facilities(user)
        self.fields["facility"].queryset = self.facilities  # type: ignore[attr-defined]
        self.fields["program"].queryset = selectors.report_programs(user)  # type: ignore[attr-defined]
        for name in ("start", "end"):
            self.fields[name].widget.attrs["max"] = today.isoformat()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: dt.date | None = data.get("start")
        end: dt.date | None = data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", END_BEFORE_START)
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("start", TOO_LONG)
        if end and end > self.today:
            self.add_error("end", IN_FUTURE)
        facility: Facility | None = data.get("facility")
        program: Program | None = data.get("program")
        if facility is not None and program is not None and program.facility_id != facility.pk:
            self.add_error("program", PROGRAM_ELSEWHERE)
        return data

    def filters(self) -> Filters:
        """The valid form's filters; "all my facilities" is every facility of the person."""
        if not self.is_valid():
            raise ValidationError("The report filters are not valid.")
        data = self.cleaned_data
        facility: Facility | None = data["facility"]
        if facility is not None:
            ids: tuple[int, ...] = (facility.pk,)
        else:
            ids = tuple(self.facilities.values_list("pk", flat=True))
        program: Program | None = data["program"]
        return Filters(
            facility_ids=ids,
            program_id=program.pk if program is not None else None,
            start=data["start"],
            end=data["end"],
            today=self.today,
        )

    def params(self) -> dict[str, str]:
        """The valid form's filters as query parameters (the CSV link, the export form)."""
        data = self.cleaned_data
        return {
            "facility": str(data["facility"].pk) if data.get("facility") else "",
            "program": str(data["program"].pk) if data.get("program") else "",
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
        }


def default_data(
    report: Report | None, today: dt.date, facility: Facility | None
) -> dict[str, str]:
    """What a report opens with: the person's current facility and the report's usual range
    up to today."""
    days = report.default_days if report is not None else 90
    return {
        "facility": str(facility.pk) if facility is not None else "",
        "program": "",
        "start": (today - dt.timedelta(days=days - 1)).isoformat(),
        "end": today.isoformat(),
    }


def bound_form(
    query: Any, *, user: User, today: dt.date, report: Report | None, facility: Facility | None
) -> ReportFilterForm:
    """The form bound to the query string, the report's defaults filling what it leaves out
    (so a bare link opens on the usual range)."""
    data = default_data(report, today, facility)
    for name in ReportFilterForm.base_fields:
        if name in query:
            data[name] = query.get(name) or ""
    return ReportFilterForm(data, user=user, today=today)
