"""Forms of the follow-up, alumni and settings pages. They parse and label; the services in
``alumni.py`` decide (a form repeats a service's words at most, so a counselor sees one
message either way)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from openiop.discharge import rules
from openiop.discharge.models import AlumniEvent, ContactAttempt, DischargeSettings, FollowUp
from openiop.patients.models import Patient

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
YES_NO = [("yes", "Yes"), ("no", "No")]
YES_NO_UNKNOWN = [("", "Not asked / did not say"), ("yes", "Yes"), ("no", "No")]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class AttemptForm(forms.Form):
    prefix = "attempt"

    attempted_at = forms.DateTimeField(
        label="When",
        widget=DateTimeInput(),
        input_formats=DATETIME_FORMATS,
        help_text="Facility time. Not in the future.",
        error_messages={"required": "Say when you tried to reach them."},
    )
    method = forms.ChoiceField(
        label="How",
        choices=ContactAttempt.Method.choices,
        error_messages={"required": "Choose how you tried to reach them."},
    )
    result = forms.ChoiceField(
        label="What happened",
        choices=ContactAttempt.Result.choices,
        error_messages={"required": "Choose what happened."},
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: “Voicemail full, try evenings.”",
    )


class OutcomeForm(forms.Form):
    prefix = "outcome"

    completed_on = forms.DateField(
        label="Day you spoke with them",
        widget=DateInput(),
        error_messages={"required": "Enter the day you spoke with them."},
    )
    method = forms.ChoiceField(
        label="How you reached them",
        choices=ContactAttempt.Method.choices,
        help_text="A “reached” attempt is recorded for that day if there is none yet.",
        error_messages={"required": "Choose how you reached them."},
    )
    any_use = forms.ChoiceField(
        label="Any alcohol or drug use since discharge",
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether they used any alcohol or drugs since discharge."},
    )
    days_used_30 = forms.IntegerField(
        label="Days of use in the past 30",
        required=False,
        min_value=0,
        max_value=30,
        help_text="0 to 30. Leave empty only when there was no use at all (it counts as 0).",
        error_messages={
            "min_value": "Days of use in the past 30 are 0 to 30.",
            "max_value": "Days of use in the past 30 are 0 to 30.",
            "invalid": "Enter a whole number of days, 0 to 30.",
        },
    )
    meetings_30 = forms.IntegerField(
        label="Mutual-help meetings in the past 30 days",
        required=False,
        min_value=0,
        max_value=200,
        error_messages={
            "min_value": "Meetings in the past 30 days are 0 to 200.",
            "max_value": "Meetings in the past 30 days are 0 to 200.",
            "invalid": "Enter a whole number of meetings.",
        },
    )
    working_or_school = forms.ChoiceField(
        label="Working or in school", choices=YES_NO_UNKNOWN, required=False
    )
    housing = forms.ChoiceField(
        label="Housing",
        choices=[("", "Not asked / did not say"), *FollowUp.Housing.choices],
        required=False,
    )
    readmitted = forms.ChoiceField(
        label="Readmitted to treatment anywhere since discharge",
        choices=YES_NO_UNKNOWN,
        required=False,
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What they asked for, what you offered (a meeting list, a call back…).",
    )

    def outcome(self) -> dict[str, Any]:
        """The cleaned answers as ``complete_followup`` takes them."""
        data = self.cleaned_data
        return {
            "completed_on": data["completed_on"],
            "method": data["method"],
            "any_use": yes_no(data["any_use"]),
            "days_used_30": data.get("days_used_30"),
            "meetings_30": data.get("meetings_30"),
            "working_or_school": yes_no(data.get("working_or_school", "")),
            "housing": data.get("housing", ""),
            "readmitted": yes_no(data.get("readmitted", "")),
            "note": data.get("note", ""),
        }


class CloseForm(forms.Form):
    prefix = "close"

    status = forms.ChoiceField(
        label="Why there is no answer",
        choices=[
            (FollowUp.Status.UNREACHABLE.value, "Could not reach them"),
            (FollowUp.Status.DECLINED.value, "They declined to answer"),
            (FollowUp.Status.CANCELLED.value, "Not needed (readmitted or died)"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose why: could not reach, declined, or not needed."},
    )
    note = forms.CharField(
        label="Reason",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: three calls over two weeks, number disconnected.",
        error_messages={"required": "Say why in a few words."},
    )


class EventForm(forms.Form):
    kind = forms.ChoiceField(
        label="What it is",
        choices=AlumniEvent.Kind.choices,
        error_messages={"required": "Choose what it is: a group meeting, an event or a service."},
    )
    title = forms.CharField(
        label="Name",
        max_length=200,
        help_text="For example: “Thursday alumni group” or “Summer picnic”.",
        error_messages={"required": "Give it a name people will recognize."},
    )
    starts_at = forms.DateTimeField(
        label="Starts",
        widget=DateTimeInput(),
        input_formats=DATETIME_FORMATS,
        help_text="Facility time.",
        error_messages={"required": "Say when it starts."},
    )
    ends_at = forms.DateTimeField(
        label="Ends",
        widget=DateTimeInput(),
        input_formats=DATETIME_FORMATS,
        error_messages={"required": "Say when it ends."},
    )
    location = forms.CharField(
        label="Where (optional)",
        required=False,
        max_length=200,
        help_text="A room, a park, or “video call”.",
    )
    description = forms.CharField(
        label="Description (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    @classmethod
    def initial_of(cls, event: AlumniEvent) -> dict[str, Any]:
        return {
            "kind": event.kind,
            "title": event.title,
            "starts_at": event.starts_at,
            "ends_at": event.ends_at,
            "location": event.location,
            "description": event.description,
        }


class AttendanceForm(forms.Form):
    patients = forms.ModelMultipleChoiceField(
        label="Who came",
        queryset=Patient.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "Someone ticked is no longer on the list. Reload the page and "
            "tick again.",
        },
    )
    add_mrn = forms.CharField(
        label="Someone else (MRN, optional)",
        required=False,
        max_length=20,
        help_text="An alumnus not on the list above: their medical record number.",
    )

    def __init__(
        self,
        *args: Any,
        choices: QuerySet[Patient],
        alumni: QuerySet[Patient],
        **kwargs: Any,
    ) -> None:
        """``choices`` are the ticks shown; ``alumni`` where an MRN is looked up."""
        super().__init__(*args, **kwargs)
        self.fields["patients"].queryset = choices  # type: ignore[attr-defined]
        self.fields["patients"].label_from_instance = (  # type: ignore[attr-defined]
            lambda p: f"{p.display_name} ({p.mrn})"
        )
        self.alumni = alumni

    def clean_add_mrn(self) -> Patient | None:
        mrn = self.cleaned_data.get("add_mrn", "").strip()
        if not mrn:
            return None
        found = self.alumni.filter(mrn__iexact=mrn).first()
        if found is None:
            raise ValidationError(
                "No alumnus with this MRN here: check the number. People still in treatment "
                "cannot be added."
            )
        return found

    def chosen(self) -> list[Patient]:
        people = list(self.cleaned_data.get("patients") or [])
        extra = self.cleaned_data.get("add_mrn")
        if isinstance(extra, Patient) and extra.pk not in {p.pk for p in people}:
            people.append(extra)
        return people


class CancelEventForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, cancel this event",
        error_messages={"required": "Tick the box to confirm the cancellation."},
    )
    reason = forms.CharField(
        label="Why (optional)",
        required=False,
        max_length=500,
        help_text="For example: weather, the room is not free.",
    )


class SettingsForm(forms.Form):
    followup_days = forms.CharField(
        label="Follow-ups, days after discharge",
        max_length=200,
        help_text="Numbers separated by commas, e.g. 30, 60, 90, 180, 365.",
        error_messages={"required": "Enter at least one follow-up day, e.g. 30, 60, 90, 180, 365."},
    )
    due_window_days = forms.IntegerField(
        label="Show follow-ups this many days before they are due",
        min_value=0,
        max_value=60,
        error_messages={
            "required": "Enter 0 to 60 days.",
            "min_value": "Show follow-ups 0 to 60 days before they are due.",
            "max_value": "Show follow-ups 0 to 60 days before they are due.",
        },
    )
    negative_test_weeks = forms.IntegerField(
        label="Weeks of negative drug tests before discharge",
        min_value=1,
        max_value=52,
        error_messages={
            "required": "Enter 1 to 52 weeks.",
            "min_value": "Weeks of negative drug tests are 1 to 52.",
            "max_value": "Weeks of negative drug tests are 1 to 52.",
        },
    )
    full_dose_weeks = forms.IntegerField(
        label="Weeks at full dose before discharge",
        min_value=1,
        max_value=52,
        error_messages={
            "required": "Enter 1 to 52 weeks.",
            "min_value": "Weeks at full dose are 1 to 52.",
            "max_value": "Weeks at full dose are 1 to 52.",
        },
    )
    meeting_weeks = forms.IntegerField(
        label="Weeks of required mutual-help meetings before discharge",
        min_value=1,
        max_value=52,
        error_messages={
            "required": "Enter 1 to 52 weeks.",
            "min_value": "Weeks of meetings are 1 to 52.",
            "max_value": "Weeks of meetings are 1 to 52.",
        },
    )

    @classmethod
    def initial_of(cls, row: DischargeSettings) -> dict[str, Any]:
        return {
            "followup_days": ", ".join(str(d) for d in row.followup_days),
            "due_window_days": row.due_window_days,
            "negative_test_weeks": row.negative_test_weeks,
            "full_dose_weeks": row.full_dose_weeks,
            "meeting_weeks": row.meeting_weeks,
        }

    def clean_followup_days(self) -> list[int]:
        try:
            return rules.parse_followup_days(self.cleaned_data.get("followup_days", ""))
        except ValueError as error:
            raise ValidationError(str(error)) from error
