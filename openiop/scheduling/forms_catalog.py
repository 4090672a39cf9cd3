"""Forms of the group catalog, the schedules and the session page. They parse and label;
the services decide (their messages land on these fields through ``apply_errors``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from openiop.accounts.models import Credential, Phase, Program, Track, User
from openiop.scheduling.models import GroupKind, GroupType, Room, Specialty
from openiop.scheduling.widgets import DateInput, TimeInput

WEEKDAYS = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
]
EVERY = [
    ("1", "Every week"),
    ("2", "Every other week"),
    ("3", "Every 3 weeks"),
    ("4", "Every 4 weeks"),
]
TOPIC_SEPARATOR = " -- "
REASON_HELP = "A few words, so the change makes sense later."


class StaffChoiceField(forms.ModelChoiceField):
    """Staff by name and role."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.role_label})"


class PhaseChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


def _reason(label: str = "Why") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=300,
        help_text=REASON_HELP,
        error_messages={"required": "Say why, so the change makes sense later."},
    )


# --- the catalog ---------------------------------------------------------------------------------


class GroupForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=120,
        help_text="As people call it, e.g. “Early recovery — mornings”.",
        error_messages={"required": "Give the group a name people recognize."},
    )
    kind = forms.ChoiceField(label="Kind of group", choices=GroupKind.choices)
    specialty = forms.ChoiceField(
        label="Who may join",
        choices=Specialty.choices,
        required=False,
        help_text="A specialized group checks the patient's self-identified or opt-in answers.",
    )
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    phases = PhaseChoiceField(
        label="Phases it accepts",
        queryset=Phase.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to accept every phase.",
    )
    capacity = forms.IntegerField(
        label="Capacity (people)",
        min_value=1,
        max_value=60,
        initial=12,
        error_messages={"required": "Say how many people the group takes (1 to 60)."},
    )
    duration_minutes = forms.IntegerField(
        label="Length (minutes)",
        min_value=15,
        max_value=480,
        initial=90,
        error_messages={"required": "Say how long a session lasts, in minutes (15 to 480)."},
    )
    facilitator_credentials = forms.MultipleChoiceField(
        label="Facilitator credentials",
        choices=Credential.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The facilitator needs one of these. Leave all unticked if anyone may run it.",
    )
    billing_code_hint = forms.CharField(
        label="Billing code (hint)",
        max_length=20,
        required=False,
        help_text="For billing later, e.g. H0015 or 90853.",
    )
    is_active = forms.BooleanField(
        label="Active (may be put on the calendar)", required=False, initial=True
    )

    def __init__(self, *args: Any, program: Program, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        phases = self.fields["phases"]
        assert isinstance(phases, forms.ModelMultipleChoiceField)  # noqa: S101
        phases.queryset = Phase.objects.filter(program=program).order_by("order")

    @staticmethod
    def initial_for(group: GroupType) -> dict[str, Any]:
        return {
            "name": group.name,
            "kind": group.kind,
            "specialty": group.specialty,
            "description": group.description,
            "phases": list(group.phases.all()),
            "capacity": group.capacity,
            "duration_minutes": group.duration_minutes,
            "facilitator_credentials": list(group.facilitator_credentials or []),
            "billing_code_hint": group.billing_code_hint,
            "is_active": group.is_active,
        }


class CurriculumForm(forms.Form):
    topics = forms.CharField(
        label="Topics, in order",
        required=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=(
            "One topic per line, in the order the group goes through them. To add a short "
            "description, write it after two hyphens with a space on each side: "
            "“Triggers -- people, places and things”. Empty lines are skipped."
        ),
    )

    @staticmethod
    def text_of(topics: Any) -> str:
        return "\n".join(
            f"{t.title}{TOPIC_SEPARATOR}{t.description}" if t.description else t.title
            for t in topics
        )

    def clean_topics(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for number, line in enumerate(str(self.cleaned_data["topics"]).splitlines(), start=1):
            # Padded, so a line that starts or ends with the separator still splits on it;
            # hyphens inside a word ("Self--care") are not the separator.
            title, _, description = f" {line.strip()} ".partition(TOPIC_SEPARATOR)
            title, description = title.strip(), description.strip()
            if not title and description:
                raise forms.ValidationError(f"Line {number} has a description but no topic.")
            if len(title) > 200:
                raise forms.ValidationError(
                    f"The topic on line {number} is too long; keep it under 200 characters."
                )
            if title:
                rows.append((title, description))
        return rows


class RoomForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        error_messages={"required": "Give the room a name."},
    )
    seats = forms.IntegerField(label="Seats", min_value=1, max_value=500, required=False)
    is_active = forms.BooleanField(label="In use", required=False, initial=True)


# --- schedules -----------------------------------------------------------------------------------


class ScheduleForm(forms.Form):
    track = forms.ModelChoiceField(
        label="Track",
        queryset=Track.objects.none(),
        required=False,
        empty_label="No track",
        help_text="Day or evening: where the group shows on the calendar.",
    )
    weekdays = forms.MultipleChoiceField(
        label="Days it meets",
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    every = forms.ChoiceField(label="How often", choices=EVERY, initial="1")
    advanced_rule = forms.CharField(
        label="Advanced: RFC 5545 rule",
        max_length=200,
        required=False,
        help_text=(
            "Only if the days above cannot say it, e.g. FREQ=MONTHLY;BYDAY=1TU. "
            "When filled in, it replaces the days above."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    start_date = forms.DateField(
        label="First day",
        widget=DateInput(),
        error_messages={"required": "Say from which day the group meets."},
    )
    end_date = forms.DateField(
        label="Last day", widget=DateInput(), required=False, help_text="Leave empty if it goes on."
    )
    start_time = forms.TimeField(
        label="Start time",
        widget=TimeInput(),
        error_messages={"required": "Say what time the group starts."},
    )
    duration_minutes = forms.IntegerField(
        label="Length (minutes)",
        min_value=15,
        max_value=480,
        error_messages={"required": "Say how long a session lasts, in minutes."},
    )
    room = forms.ModelChoiceField(
        label="Room", queryset=Room.objects.none(), required=False, empty_label="No room"
    )
    telehealth = forms.BooleanField(label="By telehealth", required=False)
    facilitator = StaffChoiceField(
        label="Facilitator",
        queryset=User.objects.none(),
        error_messages={"required": "Choose who runs the group."},
    )
    co_facilitator = StaffChoiceField(
        label="Co-facilitator",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody",
    )

    def __init__(
        self,
        *args: Any,
        group: GroupType,
        rooms: QuerySet[Room],
        staff: QuerySet[User],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {"duration_minutes": group.duration_minutes, "every": "1"})
        super().__init__(*args, **kwargs)
        self._set("track", Track.objects.filter(program_id=group.program_id).order_by("name"))
        self._set("room", rooms)
        self._set("facilitator", staff)
        self._set("co_facilitator", staff)

    def _set(self, name: str, queryset: QuerySet[Any]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
        field.queryset = queryset

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("advanced_rule") and not data.get("weekdays"):
            self.add_error(
                "weekdays", "Tick the days the group meets (or write a rule under “Advanced”)."
            )
        return data

    def rrule(self) -> str:
        data = self.cleaned_data
        if data.get("advanced_rule"):
            return str(data["advanced_rule"])
        rule = "FREQ=WEEKLY;BYDAY=" + ",".join(d for d, _ in WEEKDAYS if d in data["weekdays"])
        if data.get("every", "1") != "1":
            rule += f";INTERVAL={data['every']}"
        return rule

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "track": data.get("track"),
            "rrule": self.rrule(),
            "start_date": data.get("start_date"),
            "end_date": data.get("end_date"),
            "start_time": data.get("start_time"),
            "duration_minutes": data.get("duration_minutes"),
            "room": data.get("room"),
            "telehealth": bool(data.get("telehealth")),
            "facilitator": data.get("facilitator"),
            "co_facilitator": data.get("co_facilitator"),
        }

    def aliases(self) -> dict[str, str]:
        """Where the service's rule message goes: the field the rule came from."""
        return {"rrule": "advanced_rule" if self.cleaned_data.get("advanced_rule") else "weekdays"}


class EndScheduleForm(forms.Form):
    last_date = forms.DateField(
        label="Last day the group meets",
        widget=DateInput(),
        error_messages={"required": "Say the last day the group meets."},
    )
    reason = _reason("Why the group stops")


# --- one session ---------------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = _reason()


class MoveForm(forms.Form):
    day = forms.DateField(
        label="New day", widget=DateInput(), error_messages={"required": "Choose the new day."}
    )
    start = forms.TimeField(
        label="New start time",
        widget=TimeInput(),
        error_messages={"required": "Choose the new start time."},
    )
    reason = _reason()


class SubstituteForm(forms.Form):
    facilitator = StaffChoiceField(
        label="Who covers",
        queryset=User.objects.none(),
        error_messages={"required": "Choose who runs the session instead."},
    )
    reason = _reason()

    def __init__(self, *args: Any, staff: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["facilitator"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
        field.queryset = staff


class RoomChangeForm(forms.Form):
    room = forms.ModelChoiceField(
        label="Room", queryset=Room.objects.none(), required=False, empty_label="No room"
    )
    telehealth = forms.BooleanField(label="By telehealth", required=False)
    reason = _reason()

    def __init__(self, *args: Any, rooms: QuerySet[Room], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["room"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
        field.queryset = rooms


class TopicForm(forms.Form):
    topic = forms.CharField(
        label="Topic",
        max_length=200,
        required=False,
        help_text="Pick one from the curriculum or type your own; leave empty to clear it.",
        widget=forms.TextInput(attrs={"list": "curriculum-topics", "autocomplete": "off"}),
    )
