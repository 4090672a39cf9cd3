"""Forms of the chart's family-program page. They parse input only; the consent rule and
everything else is decided by openiop.scheduling.family."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from openiop.scheduling.family import Member
from openiop.scheduling.models import Appointment, FamilyAttendance, Session


def _when(moment: Any, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a %m/%d/%Y} at {local:%-I:%M %p}"


def _member_label(member: Member) -> str:
    contact = member.contact
    words = f"{contact.name} ({contact.relationship_label})"
    return words if member.named else f"{words} — no consent naming them"


class _MemberForm(forms.Form):
    support_contact = forms.TypedChoiceField(
        label="Support-system member",
        coerce=int,
        error_messages={"required": "Choose who takes part."},
        help_text="Only someone an active consent names may take part.",
    )

    def __init__(self, *args: Any, members: Sequence[Member], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members = {m.contact.pk: m for m in members}
        self.fields["support_contact"].choices = [  # type: ignore[attr-defined]
            ("", "Choose…"),
            *((m.contact.pk, _member_label(m)) for m in members),
        ]

    def chosen_member(self) -> Member:
        return self.members[self.cleaned_data["support_contact"]]


class FamilyEducationForm(_MemberForm):
    """Put a member on a family-education session's list, or record that they came."""

    session = forms.TypedChoiceField(
        label="Family-education session",
        coerce=int,
        error_messages={"required": "Choose the session."},
    )
    status = forms.ChoiceField(
        label="Attendance",
        choices=FamilyAttendance.Status.choices,
        initial=FamilyAttendance.Status.EXPECTED,
        help_text="“Expected” puts them on the list; record whether they came after the session.",
    )

    field_order = ["session", "support_contact", "status"]

    def __init__(
        self, *args: Any, sessions: Sequence[Session], zone: ZoneInfo, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sessions = {s.pk: s for s in sessions}
        self.fields["session"].choices = [  # type: ignore[attr-defined]
            ("", "Choose…"),
            *((s.pk, f"{_when(s.starts_at, zone)} — {s.group.name}") for s in sessions),
        ]

    def chosen_session(self) -> Session:
        return self.sessions[self.cleaned_data["session"]]


class ParticipantForm(_MemberForm):
    """Add a member to a scheduled family session."""

    appointment = forms.TypedChoiceField(
        label="Family session",
        coerce=int,
        error_messages={"required": "Choose the family session."},
    )

    field_order = ["appointment", "support_contact"]

    def __init__(
        self, *args: Any, appointments: Sequence[Appointment], zone: ZoneInfo, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.appointments = {a.pk: a for a in appointments}
        self.fields["appointment"].choices = [  # type: ignore[attr-defined]
            ("", "Choose…"),
            *(
                (a.pk, f"{_when(a.starts_at, zone)} with {a.staff.display_name}")
                for a in appointments
            ),
        ]

    def chosen_appointment(self) -> Appointment:
        return self.appointments[self.cleaned_data["appointment"]]


class FamilyStatusForm(forms.Form):
    status = forms.ChoiceField(label="Attendance", choices=FamilyAttendance.Status.choices)
