"""Forms of the appointment pages: booking, rescheduling, cancelling and recording how it
went. They parse and label; the services decide (their messages land on these fields
through ``apply_errors``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.patients.models import SupportContact
from openiop.plans.forms import StaffChoiceField
from openiop.scheduling import rules
from openiop.scheduling.forms_catalog import MoveForm
from openiop.scheduling.models import Appointment, Attendance, Room
from openiop.scheduling.widgets import DateInput, TimeInput

CLOSING = [
    (Attendance.Status.PRESENT, "Present"),
    (Attendance.Status.LATE, "Late"),
    (Attendance.Status.LEFT_EARLY, "Left early"),
    (Attendance.Status.EXCUSED, "Excused absence (cancels it)"),
    (Attendance.Status.UNEXCUSED, "Unexcused absence (no-show)"),
]


class ContactChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        relation = obj.relationship or obj.get_relationship_kind_display()
        return f"{obj.name} ({relation.lower()})"


class BookForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of appointment", choices=Appointment.Kind.choices)
    staff = StaffChoiceField(
        label="With",
        queryset=User.objects.none(),
        error_messages={"required": "Choose who sees the patient."},
    )
    day = forms.DateField(
        label="Day", widget=DateInput(), error_messages={"required": "Choose the day."}
    )
    start = forms.TimeField(
        label="Start time", widget=TimeInput(), error_messages={"required": "Choose the time."}
    )
    minutes = forms.IntegerField(
        label="Length (minutes)",
        required=False,
        min_value=5,
        max_value=480,
        help_text=f"Leave blank for the usual: {rules.USUAL_APPOINTMENT_TEXT}.",
    )
    room = forms.ModelChoiceField(
        label="Room", queryset=Room.objects.none(), required=False, empty_label="No room"
    )
    telehealth = forms.BooleanField(label="By telehealth", required=False)
    participants = ContactChoices(
        label="Who from the support system takes part",
        queryset=SupportContact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Family sessions only. Check the patient's consents before you contact them.",
        error_messages={"invalid_choice": "Choose people from this patient's support system."},
    )

    def __init__(
        self,
        *args: Any,
        staff: QuerySet[User],
        rooms: QuerySet[Room],
        contacts: QuerySet[SupportContact],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff  # type: ignore[attr-defined]
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]
        self.fields["participants"].queryset = contacts  # type: ignore[attr-defined]
        if not contacts.exists():
            del self.fields["participants"]


class RescheduleForm(MoveForm):
    """A new day and time, as for moving a group session, and why it moves."""

    reason = forms.CharField(
        label="Why it moves",
        max_length=300,
        error_messages={"required": "Say why it moves."},
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why it is cancelled",
        max_length=300,
        error_messages={"required": "Say why it is cancelled."},
    )


class CloseForm(forms.Form):
    status = forms.ChoiceField(
        label="How it went",
        choices=CLOSING,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how the appointment went."},
    )
    arrived = forms.TimeField(label="Arrived", required=False, widget=TimeInput())
    left = forms.TimeField(label="Left", required=False, widget=TimeInput())
    minutes = forms.IntegerField(
        label="Minutes attended",
        required=False,
        help_text="Leave blank for the usual: the whole appointment when present, from the "
        "arrival time or to the departure time when you give them, none for an absence.",
    )
    note = forms.CharField(label="Note", max_length=300, required=False)
