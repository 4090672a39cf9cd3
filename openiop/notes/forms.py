"""Forms of the note pages. They parse and label; the services decide (their messages land
on these fields through ``apply_errors`` and ``apply_group_errors``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from openiop.notes import rules
from openiop.notes.models import GroupNoteEntry, Note, NoteFormat
from openiop.notes.services import EntryInput
from openiop.patients.models import SupportContact
from openiop.plans.forms import apply_errors
from openiop.plans.models import Objective
from openiop.scheduling.widgets import DateInput, TimeInput

__all__ = [
    "AddendumForm",
    "ChartFilterForm",
    "CosignForm",
    "EntryForm",
    "NoteForm",
    "SettingsForm",
    "SharedForm",
    "SignForm",
    "apply_errors",
    "apply_group_errors",
]

IDENTITY_NEEDED = "Enter your password or a code from your authenticator app."
KIND_TITLES = {
    Note.Kind.INDIVIDUAL: "Individual session note",
    Note.Kind.FAMILY: "Family session note",
    Note.Kind.CASE_MANAGEMENT: "Case-management note",
}
# The service's keys → the form's fields.
NOTE_ALIASES = {"started_at": "start", "ended_at": "end"}


def _text(rows: int = 4, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


# --- signing: the password or an authenticator code ---------------------------------------------


class IdentityForm(forms.Form):
    """Signing asks once more who signs: the password, or a code from the authenticator app."""

    password = forms.CharField(
        label="Your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Or a code from your authenticator app",
        required=False,
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "size": 8}
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("password") and not (data.get("code") or "").strip():
            self.add_error("password", IDENTITY_NEEDED)
        return data

    @property
    def identity(self) -> dict[str, str]:
        return {
            "password": self.cleaned_data.get("password") or "",
            "code": self.cleaned_data.get("code") or "",
        }


class SignForm(IdentityForm):
    pass


class AddendumForm(IdentityForm):
    text = forms.CharField(
        label="The addendum",
        widget=_text(4),
        max_length=rules.MAX_SECTION_CHARS,
        error_messages={"required": "Write the addendum."},
    )
    reason = forms.CharField(
        label="Why you add this",
        max_length=300,
        help_text="For example: “information received later” or “correction of the date”.",
        error_messages={"required": "Say why you add this."},
    )
    field_order = ["text", "reason", "password", "code"]


class CosignForm(IdentityForm):
    comment = forms.CharField(
        label="Comment (optional)",
        max_length=300,
        required=False,
        help_text="For example what you discussed in supervision.",
    )
    field_order = ["comment", "password", "code"]


# --- individual, family and case-management notes -------------------------------------------------


class ObjectiveChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.text)


class ContactChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        relation = obj.relationship or obj.get_relationship_kind_display()
        return f"{obj.name} ({relation.lower()})"


class NoteForm(forms.Form):
    """The note in the organization's format: one box per section, each with its hint."""

    day = forms.DateField(label="Day of the service", required=False, widget=DateInput())
    start = forms.TimeField(label="Started", required=False, widget=TimeInput())
    end = forms.TimeField(label="Ended", required=False, widget=TimeInput())
    appointment = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        kind: str,
        note_format: str,
        objectives: QuerySet[Objective],
        contacts: QuerySet[SupportContact],
        late_after_hours: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.note_format = note_format
        self.section_keys = [key for key, _ in rules.SECTIONS[note_format]]
        for key, label in rules.SECTIONS[note_format]:
            self.fields[key] = forms.CharField(
                label=label,
                required=False,
                max_length=rules.MAX_SECTION_CHARS,
                help_text=rules.HINTS.get(key, ""),
                widget=_text(5),
            )
        self.fields["objectives"] = ObjectiveChoices(
            label="Treatment-plan objectives this session worked on",
            queryset=objectives,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="From the patient's active plan. A note linked to no objective is flagged.",
            error_messages={
                "invalid_choice": "Choose objectives from the patient's active treatment plan.",
                "invalid_pk_value": "Choose objectives from the patient's active treatment plan.",
            },
        )
        self.fields["risk_level"] = forms.ChoiceField(
            label="Risk", choices=Note.Risk.choices, initial=Note.Risk.NONE
        )
        self.fields["risk_text"] = forms.CharField(
            label="What you assessed and the safety plan",
            required=False,
            max_length=rules.MAX_SECTION_CHARS,
            widget=_text(3),
            help_text="Needed to sign when the risk is low, moderate or high.",
        )
        if kind == Note.Kind.FAMILY:
            self.fields["participants"] = ContactChoices(
                label="Who from the support system took part",
                queryset=contacts,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text="Only people the patient's consents allow you to involve.",
                error_messages={
                    "invalid_choice": "Choose people from the patient's support system.",
                    "invalid_pk_value": "Choose people from the patient's support system.",
                },
            )
        self.fields["late_reason"] = forms.CharField(
            label="Why this note is written late",
            required=False,
            max_length=300,
            help_text=(
                f"Needed only when you write it more than {late_after_hours} hours after the "
                "session ended: it is then marked as a late entry."
            ),
        )

    def section_fields(self) -> list[forms.BoundField]:
        return [self[key] for key in self.section_keys]

    def moments(self, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The start and end as aware datetimes in the facility's zone (None when missing)."""
        day = self.cleaned_data.get("day")
        start = self.cleaned_data.get("start")
        end = self.cleaned_data.get("end")
        started = dt.datetime.combine(day, start, tzinfo=zone) if day and start else None
        ended = dt.datetime.combine(day, end, tzinfo=zone) if day and end else None
        return started, ended

    def sections(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key) or "" for key in self.section_keys}

    def objective_ids(self) -> list[int]:
        return [o.pk for o in self.cleaned_data.get("objectives") or []]

    def participant_ids(self) -> list[int]:
        return [c.pk for c in self.cleaned_data.get("participants") or []]

    @staticmethod
    def initial_for(note: Note, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
        start = note.started_at.astimezone(zone)
        end = note.ended_at.astimezone(zone)
        return {
            "day": start.date(),
            "start": start.time().replace(second=0, microsecond=0),
            "end": end.time().replace(second=0, microsecond=0),
            "appointment": note.appointment_id,
            **note.sections,
            "objectives": [link.objective_id for link in note.objective_links.all()],
            "participants": [link.contact_id for link in note.participant_links.all()],
            "risk_level": note.risk_level,
            "risk_text": note.risk_text,
            "late_reason": note.late_reason,
        }


# --- the group note ------------------------------------------------------------------------------


class SharedForm(forms.Form):
    """The shared part of a group note, written once for everyone."""

    topic = forms.CharField(label="Topic", max_length=200, required=False)
    interventions = forms.CharField(
        label="Interventions used",
        required=False,
        max_length=rules.MAX_SECTION_CHARS,
        widget=_text(3),
        help_text="What you did with the group: the techniques, exercises and materials.",
    )
    process = forms.CharField(
        label="Group process",
        required=False,
        max_length=rules.MAX_SECTION_CHARS,
        widget=_text(3),
        help_text="How the group worked together. No attendee's name here: everyone's chart "
        "shows this part.",
    )
    late_reason = forms.CharField(
        label="Why this note is written late", max_length=300, required=False
    )
    revision = forms.CharField(required=False, widget=forms.HiddenInput)

    def revision_value(self, *, note_exists: bool) -> dt.datetime | None:
        """The note's last save as the page saw it. A note created by someone else since the
        page was opened blank counts as stale too."""
        text = (self.cleaned_data.get("revision") or "").strip()
        try:
            return dt.datetime.fromisoformat(text) if text else _STALE if note_exists else None
        except ValueError:
            return _STALE


_STALE = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

ENTRY_FIELDS = ("participation", "response", "objective", "progress", "plan")


class EntryForm(forms.Form):
    """One attendee's part of a group note."""

    participation = forms.ChoiceField(
        label="Participation",
        required=False,
        choices=[("", "Choose…"), *GroupNoteEntry.Participation.choices],
    )
    response = forms.CharField(
        label="Response to the group",
        required=False,
        max_length=rules.MAX_SECTION_CHARS,
        widget=_text(2),
    )
    objective = forms.TypedChoiceField(
        label="Objective worked on",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "Choose an objective from their active treatment plan."},
    )
    progress = forms.ChoiceField(
        label="Progress",
        required=False,
        choices=[("", "—"), *GroupNoteEntry.Progress.choices],
    )
    plan = forms.CharField(
        label="Plan", required=False, max_length=rules.MAX_SECTION_CHARS, widget=_text(2)
    )

    def __init__(self, *args: Any, objectives: Sequence[Objective], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["objective"].choices = [  # type: ignore[attr-defined]
            ("", "No objective" if objectives else "No active plan objective"),
            *[(str(o.pk), _short(o.text)) for o in objectives],
        ]
        self.fields["plan"].widget.attrs["data-plan"] = ""

    def card_html(self) -> SafeString:
        """The five fields of an attendee's card, written out in one pass.

        The group-note screen draws up to 15 cards; rendering each field through Django's
        widget and field templates cost ~5 ms a card on PostgreSQL, so the card is written
        here with the same markup (label, error list, ``aria-invalid``, the widget's attributes).
        """
        cells = {name: self._card_cell(name) for name in ENTRY_FIELDS}
        return format_html(
            '{}{}<div class="row">{}{}</div>{}',
            cells["participation"],
            cells["response"],
            cells["objective"],
            cells["progress"],
            cells["plan"],
        )

    def _card_cell(self, name: str) -> SafeString:
        bound = self[name]
        field = bound.field
        errors = bound.errors
        widget_id = bound.auto_id
        attrs = {k: v for k, v in field.widget.attrs.items() if v is not False}
        if errors:
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{widget_id}_error"
        attr_html = format_html_join(
            "",
            ' {}="{}"',
            ((k, v) for k, v in sorted(attrs.items()) if v not in (None, True)),
        ) + format_html_join("", " {}", ((k,) for k, v in sorted(attrs.items()) if v is True))
        value = bound.value()
        if isinstance(field.widget, forms.Select):
            chosen = "" if value is None else str(value)
            options = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (str(v), " selected" if str(v) == chosen else "", label)
                    for v, label in field.choices  # type: ignore[attr-defined]
                ),
            )
            widget = format_html(
                '<select name="{}" id="{}"{}>{}</select>',
                bound.html_name,
                widget_id,
                attr_html,
                options,
            )
        else:
            widget = format_html(
                '<textarea name="{}" id="{}"{}>\n{}</textarea>',
                bound.html_name,
                widget_id,
                attr_html,
                "" if value is None else value,
            )
        error_html = (
            format_html(
                '<ul class="errorlist" id="{}_error">{}</ul>',
                widget_id,
                format_html_join("", "<li>{}</li>", ((e,) for e in errors)),
            )
            if errors
            else ""
        )
        return format_html(
            '<div class="field field-{}{}"><label for="{}">{}</label>{}{}</div>',
            bound.widget_type,
            " has-error" if errors else "",
            widget_id,
            field.label,
            error_html,
            widget,
        )

    @property
    def filled(self) -> bool:
        """Something was typed or chosen in this part."""
        return any(self.cleaned_data.get(name) not in (None, "") for name in ENTRY_FIELDS)

    def entry_input(self) -> EntryInput:
        data = self.cleaned_data
        return EntryInput(
            participation=data.get("participation") or "",
            response=data.get("response") or "",
            plan=data.get("plan") or "",
            objective_id=data.get("objective"),
            progress=data.get("progress") or "",
        )

    @staticmethod
    def initial_for(entry: GroupNoteEntry | None) -> dict[str, Any]:
        if entry is None:
            return {}
        return {
            "participation": entry.participation,
            "response": entry.response,
            "objective": entry.objective_id,
            "progress": entry.progress,
            "plan": entry.plan,
        }


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def apply_group_errors(
    error: ValidationError, shared: forms.Form, rows: Mapping[int, forms.Form]
) -> list[str]:
    """Put the service's errors on the shared form and each attendee's part; what belongs to
    no field (stale page, an absent person, the session not yet held) is returned."""
    loose: list[str] = []
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    for key, errors in error.error_dict.items():
        messages = [m for e in errors for m in e.messages]
        if key.startswith("entry-"):
            _, pid, name = key.split("-", 2)
            form = rows.get(int(pid)) if pid.isdigit() else None
            if form is not None and name in form.fields:
                form.add_error(name, messages)
                continue
        elif key in shared.fields and key != "revision":
            shared.add_error(key, messages)
            continue
        loose += messages
    return loose


# --- lists and settings --------------------------------------------------------------------------


KIND_FILTERS = [
    ("", "All kinds"),
    (Note.Kind.INDIVIDUAL, "Individual"),
    (Note.Kind.FAMILY, "Family"),
    (Note.Kind.CASE_MANAGEMENT, "Case management"),
    ("group", "Group"),
]
STATUS_FILTERS = [("", "Signed and unsigned"), ("signed", "Signed"), ("unsigned", "Unsigned")]


class ChartFilterForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=KIND_FILTERS, required=False)
    status = forms.ChoiceField(label="Signature", choices=STATUS_FILTERS, required=False)

    def chosen(self) -> tuple[set[str] | None, str]:
        if not self.is_valid():
            return None, ""
        kind = self.cleaned_data.get("kind") or ""
        return ({kind} if kind else None), self.cleaned_data.get("status") or ""


class SettingsForm(forms.Form):
    note_format = forms.ChoiceField(
        label="Note format",
        choices=NoteFormat.choices,
        widget=forms.RadioSelect,
        help_text="The sections of individual, family and case-management notes. Notes already "
        "written keep their format.",
    )
    unsigned_after_hours = forms.IntegerField(
        label="Flag a note still unsigned after (hours)",
        min_value=1,
        max_value=24 * 14,
        help_text="Counted from the end of the service. The author and their supervisor are told.",
        error_messages={
            "min_value": "Enter a number of hours from 1 to 336 (two weeks).",
            "max_value": "Enter a number of hours from 1 to 336 (two weeks).",
        },
    )
    late_after_hours = forms.IntegerField(
        label="A note first written more than this many hours after the service is a late entry",
        min_value=1,
        max_value=24 * 14,
        help_text="Late entries are marked as such and need the reason.",
        error_messages={
            "min_value": "Enter a number of hours from 1 to 336 (two weeks).",
            "max_value": "Enter a number of hours from 1 to 336 (two weeks).",
        },
    )
