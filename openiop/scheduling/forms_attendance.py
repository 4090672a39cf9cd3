"""The forms of a group's attendance screen: the session's own fields, and one line per
patient (prefixed with the patient's id so a whole group posts as one form).

The forms only read what was typed; the limits (minutes within the session, departure
after arrival, who may drop in) are the service's, so a refusal reads the same from the
screen, the API and a script.
"""

from __future__ import annotations

from typing import Any

from django import forms

from openiop.scheduling.models import Attendance
from openiop.scheduling.rules import ABSENT
from openiop.scheduling.services import Line
from openiop.scheduling.widgets import TimeInput

MINUTES_HELP = (
    "Leave blank for the usual: the whole session when present, from the arrival time or to "
    "the departure time when you give them, none for an absence."
)
# The key of a line's initial values that holds the minutes its saved status and times give.
USUAL_MINUTES = "usual_minutes"


class SessionFieldsForm(forms.Form):
    """The topic of the session and the revision the screen was loaded with."""

    topic = forms.CharField(
        label="Topic of this session",
        max_length=200,
        required=False,
        help_text="What the group worked on today; saved with the attendance.",
    )
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class LineForm(forms.Form):
    """One patient's line. Labels name the patient so a screen reader says whose it is."""

    status = forms.ChoiceField(
        label="Attendance",
        choices=Attendance.Status.choices,
        error_messages={"required": "Choose whether the patient came."},
    )
    arrived_at = forms.TimeField(
        label="Arrived",
        required=False,
        widget=TimeInput(),
        error_messages={"invalid": "Type the time as hours and minutes, e.g. 09:20."},
    )
    left_at = forms.TimeField(
        label="Left",
        required=False,
        widget=TimeInput(),
        error_messages={"invalid": "Type the time as hours and minutes, e.g. 11:45."},
    )
    minutes = forms.IntegerField(
        label="Minutes attended",
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}),
        error_messages={"invalid": "Type the minutes as a whole number, or leave it blank."},
    )
    telehealth = forms.BooleanField(label="Telehealth", required=False)
    note = forms.CharField(label="Note", max_length=300, required=False)

    def __init__(self, *args: Any, who: str, session_minutes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.label = f"{field.label}, {who}"
        minutes = self.fields["minutes"].widget
        minutes.attrs["data-session-minutes"] = str(session_minutes)
        usual = self._usual_minutes(session_minutes)
        if usual is not None:
            minutes.attrs["placeholder"] = str(usual)
        self.fields["status"].widget.attrs["data-status"] = ""

    def _usual_minutes(self, session_minutes: int) -> int | None:
        """What a blank Minutes box records, shown as its placeholder: none for an absence
        or a cancelled session, the saved minutes of a saved line, the whole session for a
        new "present" line. None (no placeholder) when it depends on times being changed:
        the save works it out from them."""
        if self.is_bound:
            status = self.data.get(self.add_prefix("status"))
            timed = self.data.get(self.add_prefix("arrived_at")) or self.data.get(
                self.add_prefix("left_at")
            )
            usual = None
        else:
            status = self.initial.get("status")
            timed = self.initial.get("arrived_at") or self.initial.get("left_at")
            usual = self.initial.get(USUAL_MINUTES)
        if status in ABSENT:
            return 0
        if usual is not None:
            return int(usual)
        if status == Attendance.Status.PRESENT and not timed:
            return session_minutes
        return None

    def line(self, patient_id: int, *, drop_in: bool) -> Line:
        data = self.cleaned_data
        return Line(
            patient_id=patient_id,
            status=data["status"],
            arrived_at=data["arrived_at"],
            left_at=data["left_at"],
            minutes=data["minutes"],
            drop_in=drop_in,
            telehealth=data["telehealth"],
            note=data["note"],
        )

    @staticmethod
    def initial_for(
        saved: Attendance | None, *, default_status: str, default_minutes: int | None
    ) -> dict[str, Any]:
        """What a line starts with: the saved values, or the default status. Saved minutes
        are shown only when they differ from the usual, so changing the status or the
        times of a saved line recomputes them."""
        if saved is None:
            return {"status": default_status}
        return {
            USUAL_MINUTES: saved.minutes if default_minutes is None else default_minutes,
            "status": saved.status,
            "arrived_at": saved.arrived_at,
            "left_at": saved.left_at,
            "minutes": None if saved.minutes == default_minutes else saved.minutes,
            "telehealth": saved.telehealth,
            "note": saved.note,
        }


class DropInSearchForm(forms.Form):
    q = forms.CharField(
        label="Add a drop-in",
        max_length=100,
        required=False,
        help_text="Part of the first or last name, or the MRN, of a patient in treatment here.",
    )
