"""What the clinical-notes API shows and accepts.

Output serializers read rows the selectors already loaded (no query of their own); input
serializers only parse — the services check every rule and answer with plain field errors.
A group note entry never carries another attendee: the chart's shape
(``GroupNoteChartEntrySerializer``) holds the patient's own entry with its note's shared part only.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from openiop.accounts.models import User
from openiop.notes import rules, services
from openiop.notes.models import (
    Addendum,
    Cosignature,
    GroupNote,
    GroupNoteEntry,
    Note,
    NoteObjective,
)
from openiop.plans.models import Objective


def _values(choices: Any) -> str:
    return "One of: " + ", ".join(f"`{value}` ({label})" for value, label in choices) + "."


def _cosignature(document: Note | GroupNote) -> Cosignature | None:
    try:
        return document.cosignature
    except ObjectDoesNotExist:
        return None


# --- pieces ---------------------------------------------------------------------------------------


class NoteAddendumSerializer(serializers.ModelSerializer):
    author_name = serializers.CharField(source="author.display_name", read_only=True)

    class Meta:
        model = Addendum
        fields = ["id", "text", "reason", "author", "author_name", "sign_method", "created_at"]
        read_only_fields = fields


class NoteCosignatureSerializer(serializers.ModelSerializer):
    cosigned_by_name = serializers.CharField(source="cosigned_by.display_name", read_only=True)

    class Meta:
        model = Cosignature
        fields = ["cosigned_by", "cosigned_by_name", "cosigned_at", "sign_method", "comment"]
        read_only_fields = fields


class NoteObjectiveRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class NoteSectionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    text = serializers.CharField()


class NoteParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    relationship = serializers.CharField()


class _SignedSerializer(serializers.ModelSerializer):
    """What every signed document shows: author, signature, co-signature, late entry."""

    author_name = serializers.CharField(source="author.display_name", read_only=True)
    signed = serializers.BooleanField(source="is_signed", read_only=True)
    signed_by_name = serializers.CharField(
        source="signed_by.display_name", read_only=True, default=None
    )
    cosigned = serializers.SerializerMethodField()
    cosignature = serializers.SerializerMethodField()

    common = [
        "facility",
        "service_date",
        "started_at",
        "ended_at",
        "author",
        "author_name",
        "created_at",
        "updated_at",
        "late_entry",
        "late_reason",
        "signed",
        "signed_at",
        "signed_by",
        "signed_by_name",
        "sign_method",
        "needs_cosign",
        "cosigned",
        "cosignature",
    ]

    def get_cosigned(self, document: Note | GroupNote) -> bool:
        return _cosignature(document) is not None

    @extend_schema_field(NoteCosignatureSerializer(allow_null=True))
    def get_cosignature(self, document: Note | GroupNote) -> dict[str, Any] | None:
        found = _cosignature(document)
        return NoteCosignatureSerializer(found).data if found is not None else None


# --- individual, family and case-management notes -------------------------------------------------


class NoteSerializer(_SignedSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    format_label = serializers.CharField(source="get_note_format_display", read_only=True)
    sections = serializers.SerializerMethodField()
    objectives = serializers.SerializerMethodField()
    unlinked = serializers.SerializerMethodField()
    participants = serializers.SerializerMethodField()
    sign_problems = serializers.SerializerMethodField()
    addenda = NoteAddendumSerializer(many=True, read_only=True)

    class Meta:
        model = Note
        fields = [
            "id",
            "patient",
            "episode",
            "kind",
            "kind_label",
            "note_format",
            "format_label",
            "appointment",
            "sections",
            "risk_level",
            "risk_text",
            "objectives",
            "unlinked",
            "participants",
            *_SignedSerializer.common,
            "sign_problems",
            "addenda",
        ]
        read_only_fields = fields

    @extend_schema_field(NoteSectionSerializer(many=True))
    def get_sections(self, note: Note) -> list[dict[str, str]]:
        return [
            {"key": key, "label": label, "text": str(note.sections.get(key, ""))}
            for key, label in rules.SECTIONS[note.note_format]
        ]

    @extend_schema_field(NoteObjectiveRefSerializer(many=True))
    def get_objectives(self, note: Note) -> list[dict[str, Any]]:
        links: list[NoteObjective] = list(note.objective_links.all())
        return [{"id": link.objective_id, "text": link.objective.text} for link in links]

    def get_unlinked(self, note: Note) -> bool:
        """Linked to no treatment-plan objective (the note shows no golden thread)."""
        return not note.objective_links.all()

    @extend_schema_field(NoteParticipantSerializer(many=True))
    def get_participants(self, note: Note) -> list[dict[str, Any]]:
        return [
            {
                "id": link.contact_id,
                "name": link.contact.name,
                "relationship": link.contact.relationship
                or link.contact.get_relationship_kind_display(),
            }
            for link in note.participant_links.all()
        ]

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_sign_problems(self, note: Note) -> dict[str, str]:
        """What still stops a draft from being signed (empty once signed)."""
        return {} if note.is_signed else services.sign_problems(note)


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, default="", **kwargs)


class NoteInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField(help_text="The patient (on create only).")
    kind = serializers.CharField(help_text=_values(Note.Kind.choices))
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    sections = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text="Section key → text, in the organization's format: DAP `data`, "
        "`assessment`, `plan`; BIRP `behavior`, `intervention`, `response`, `plan`; SOAP "
        "`subjective`, `objective`, `assessment`, `plan`. A draft may leave some empty; "
        "signing needs them all. PATCH changes only the sections sent.",
    )
    objectives = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="Objective ids from the patient's active treatment plan.",
    )
    risk_level = serializers.CharField(
        required=False, default=Note.Risk.NONE, help_text=_values(Note.Risk.choices)
    )
    risk_text = _text(help_text="What was assessed and the safety plan (needed above `none`).")
    participants = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="Family sessions: support-contact ids of the patient who took part.",
    )
    appointment = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="The patient's appointment."
    )
    late_reason = _text(
        max_length=300, help_text="Why the note is written late (needed for a late entry)."
    )


class NoteChangeSerializer(NoteInputSerializer):
    """A draft's change: the patient stays; PATCH keeps what is left out."""

    patient = None  # type: ignore[assignment]


class NoteIdentitySerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        trim_whitespace=False,
        help_text="Your own password, to sign.",
    )
    code = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        help_text="Or a current code from your authenticator app.",
    )


class NoteAddendumInputSerializer(NoteIdentitySerializer):
    text = serializers.CharField(allow_blank=True, help_text="The addition.")
    reason = serializers.CharField(
        allow_blank=True,
        max_length=300,
        help_text="Why you add it (for example: information received later).",
    )


class GroupNoteAddendumInputSerializer(NoteAddendumInputSerializer):
    entry = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="An attendee's entry (its id): only that patient's chart shows the addendum. "
        "Left out: the shared part, shown in every attendee's chart.",
    )


class NoteCosignInputSerializer(NoteIdentitySerializer):
    comment = _text(max_length=300)


# --- group notes ----------------------------------------------------------------------------------


class GroupNoteSharedSerializer(_SignedSerializer):
    """A group note's shared part: what every attendee's chart shows."""

    group = serializers.IntegerField(source="session.group_id", read_only=True)
    group_name = serializers.CharField(source="session.group.name", read_only=True)
    addenda = NoteAddendumSerializer(many=True, read_only=True)

    class Meta:
        model = GroupNote
        fields = [
            "id",
            "session",
            "group",
            "group_name",
            "topic",
            "interventions",
            "process",
            *_SignedSerializer.common,
            "addenda",
        ]
        read_only_fields = fields


class _EntrySerializer(serializers.ModelSerializer):
    participation_label = serializers.CharField(source="get_participation_display", read_only=True)
    progress_label = serializers.CharField(source="get_progress_display", read_only=True)
    objective = serializers.SerializerMethodField()
    addenda = NoteAddendumSerializer(many=True, read_only=True)

    own = [
        "id",
        "patient",
        "participation",
        "participation_label",
        "response",
        "objective",
        "progress",
        "progress_label",
        "plan",
        "addenda",
    ]

    @extend_schema_field(NoteObjectiveRefSerializer(allow_null=True))
    def get_objective(self, entry: GroupNoteEntry) -> dict[str, Any] | None:
        objective: Objective | None = entry.objective
        return {"id": objective.pk, "text": objective.text} if objective is not None else None


class GroupNoteFacilitatorEntrySerializer(_EntrySerializer):
    """One attendee's entry on the facilitator's screen (patients the user may see only)."""

    patient_name = serializers.CharField(source="patient.display_name", read_only=True)

    class Meta:
        model = GroupNoteEntry
        fields = [*_EntrySerializer.own[:2], "patient_name", *_EntrySerializer.own[2:]]
        read_only_fields = fields


class GroupNoteChartEntrySerializer(_EntrySerializer):
    """A patient's own part of a group note with the note's shared part — nothing of any
    other attendee."""

    group_note = GroupNoteSharedSerializer(read_only=True)

    class Meta:
        model = GroupNoteEntry
        fields = [*_EntrySerializer.own, "group_note"]
        read_only_fields = fields


class GroupNoteSerializer(GroupNoteSharedSerializer):
    """The facilitator's view: the shared part, the entries of the attendees the user may see,
    how many others there are (never who), and the ``revision`` to send back with a change."""

    revision = serializers.DateTimeField(source="updated_at", read_only=True)
    entries = serializers.SerializerMethodField()
    not_shown = serializers.SerializerMethodField()

    class Meta:
        model = GroupNote
        fields = [*GroupNoteSharedSerializer.Meta.fields, "revision", "entries", "not_shown"]
        read_only_fields = fields

    @extend_schema_field(GroupNoteFacilitatorEntrySerializer(many=True))
    def get_entries(self, note: GroupNote) -> Any:
        return GroupNoteFacilitatorEntrySerializer(self.context.get("entries", []), many=True).data

    def get_not_shown(self, note: GroupNote) -> int:
        """Attendees of patients you may not see: counted, never named."""
        return int(self.context.get("not_shown", 0))


class GroupNoteEntryInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField(help_text="An attendee of the session.")
    participation = serializers.CharField(
        required=False, help_text=_values(GroupNoteEntry.Participation.choices)
    )
    response = serializers.CharField(required=False, allow_blank=True)
    objective = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="An objective of the patient's active treatment plan, or null.",
    )
    progress = serializers.CharField(
        required=False, allow_blank=True, help_text=_values(GroupNoteEntry.Progress.choices)
    )
    plan = serializers.CharField(required=False, allow_blank=True)


class GroupNoteInputSerializer(serializers.Serializer):
    session = serializers.IntegerField(help_text="The session (on create only).")
    topic = serializers.CharField(allow_blank=True, max_length=200)
    interventions = serializers.CharField(allow_blank=True)
    process = serializers.CharField(allow_blank=True, help_text="The group process.")
    entries = serializers.ListField(
        child=GroupNoteEntryInputSerializer(),
        required=False,
        default=list,
        help_text="One per attendee written now. An attendee left out keeps the entry "
        "already written; fields left out of an entry keep their value.",
    )
    late_reason = _text(max_length=300)
    revision = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The `revision` you read: a note saved by someone else since answers 409.",
    )

    def validate_entries(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        named = [e["patient"] for e in value]
        if len(named) != len(set(named)):
            raise serializers.ValidationError("Give each patient once.")
        return value


class GroupNoteChangeSerializer(GroupNoteInputSerializer):
    session = None  # type: ignore[assignment]


class GroupNoteRosterRowSerializer(serializers.Serializer):
    patient = serializers.IntegerField(source="attendance.patient_id")
    patient_name = serializers.CharField(source="patient.display_name")
    attendance = serializers.CharField(source="attendance.status")
    objectives = NoteObjectiveRefSerializer(many=True)
    entry = serializers.SerializerMethodField()

    @extend_schema_field(GroupNoteFacilitatorEntrySerializer(allow_null=True))
    def get_entry(self, row: Any) -> Any:
        if row.entry is None or not self.context.get("show_entries", False):
            return None
        return GroupNoteFacilitatorEntrySerializer(row.entry).data


class GroupNoteRosterSerializer(serializers.Serializer):
    """The session's attendees the user may see, their objectives and their entries."""

    session = serializers.IntegerField(source="session.pk")
    group_name = serializers.CharField(source="session.group.name")
    service_date = serializers.DateField(source="session.service_date")
    starts_at = serializers.DateTimeField(source="session.starts_at")
    ends_at = serializers.DateTimeField(source="session.ends_at")
    group_note = serializers.IntegerField(source="note.pk", default=None, allow_null=True)
    group_note_author_name = serializers.CharField(
        source="note.author.display_name", default=None, allow_null=True
    )
    signed = serializers.SerializerMethodField()
    revision = serializers.DateTimeField(source="note.updated_at", default=None, allow_null=True)
    attendees = serializers.SerializerMethodField()
    not_shown = serializers.IntegerField(help_text="Attendees you may not see: never named.")
    absent = serializers.IntegerField(help_text="Recorded but did not attend: they get no note.")

    def get_signed(self, screen: Any) -> bool:
        return bool(screen.note is not None and screen.note.is_signed)

    @extend_schema_field(GroupNoteRosterRowSerializer(many=True))
    def get_attendees(self, screen: Any) -> Any:
        return GroupNoteRosterRowSerializer(screen.rows, many=True, context=self.context).data


# --- work lists -----------------------------------------------------------------------------------


class NoteWorkItemSerializer(serializers.Serializer):
    """A note on a work list: a clinical note (``type`` ``note``) or a group note."""

    type = serializers.ChoiceField(choices=["note", "group_note"])
    id = serializers.IntegerField()
    title = serializers.CharField(help_text="The kind of note, or the group's name.")
    patient = serializers.IntegerField(allow_null=True, help_text="Clinical notes only.")
    patient_name = serializers.CharField(allow_null=True)
    author_name = serializers.CharField()
    service_date = serializers.DateField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    signed_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField(help_text="Unsigned past the organization's limit.")


def work_item(
    document: Note | GroupNote, *, overdue: bool = False, author: User | None = None
) -> dict[str, Any]:
    """The row of a work list (rows loaded with their patient, group and, unless given,
    author)."""
    note = document if isinstance(document, Note) else None
    return {
        "type": "note" if note is not None else "group_note",
        "id": document.pk,
        "title": note.get_kind_display() if note is not None else document.session.group.name,  # type: ignore[union-attr]
        "patient": note.patient_id if note is not None else None,
        "patient_name": note.patient.display_name if note is not None else None,
        "author_name": (author or document.author).display_name,
        "service_date": document.service_date,
        "started_at": document.started_at,
        "ended_at": document.ended_at,
        "signed_at": document.signed_at,
        "overdue": overdue,
    }
