"""Clinical notes over the REST API: the same selectors, services, scope and audit as the pages.

- Reading needs ``notes.view_note``, writing ``notes.add_note``, co-signing
  ``notes.cosign_note``: other roles get 403, recorded as a refusal.
- Lists are one chart at a time (``?patient=``); a patient out of scope and one that does not
  exist answer 404 alike (the refusal is recorded). Every read leaves one audit record per
  patient shown.
- A draft is its author's alone: to anyone else it does not exist (404).
- A change to a signed note answers 409 Conflict and changes nothing: write an addendum.
  Other bad input answers 400 with the services' field errors; nothing is saved.
- Group-note privacy: a chart (``group-note-entries/?patient=``) holds the patient's own
  entries with their notes' shared part — never another attendee's entry or name. The
  facilitator's view (``group-notes/``) holds only the attendees the user may see; others
  are counted, never named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.core.api import validation_payload
from openiop.core.permissions import IsStaffUser
from openiop.notes import selectors, services
from openiop.notes.models import GroupNote, GroupNoteEntry, Note
from openiop.notes.selectors import GroupNoteScreen
from openiop.notes.serializers import (
    GroupNoteAddendumInputSerializer,
    GroupNoteChangeSerializer,
    GroupNoteChartEntrySerializer,
    GroupNoteInputSerializer,
    GroupNoteRosterSerializer,
    GroupNoteSerializer,
    NoteAddendumInputSerializer,
    NoteAddendumSerializer,
    NoteChangeSerializer,
    NoteCosignInputSerializer,
    NoteIdentitySerializer,
    NoteInputSerializer,
    NoteSerializer,
    NoteWorkItemSerializer,
    work_item,
)
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients
from openiop.scheduling.models import Appointment, Session

READ = "notes.view_note"
WRITE = "notes.add_note"
COSIGN = "notes.cosign_note"
REFUSED = {
    READ: "Only the clinical team reads clinical notes.",
    WRITE: services.REFUSED,
    COSIGN: "Only a clinical supervisor or the clinical director co-signs notes.",
}
NOTE_SECTION = "clinical note (API)"
GROUP_SECTION = "group note (API)"
ALREADY_SIGNED = "This note is already signed."
STALE = "Someone saved this note after you opened it. Read it again and try again."
ENTRY_KEY = re.compile(r"entry-(\d+)-(\w+)")

PATIENT = OpenApiParameter("patient", int, required=True, description="The patient (required).")
SESSION = OpenApiParameter("session", int, required=True, description="The group session.")
LOCKED = OpenApiResponse(description="The note is signed: write an addendum instead.")
SIGN_RESPONSES = {
    400: OpenApiResponse(description="Wrong password or code, or a part still to write."),
    409: OpenApiResponse(description="Already signed."),
}


def _pk(value: Any) -> int:
    text = str(value)
    return int(text) if text.isdigit() else 0


def _conflict(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_409_CONFLICT)


def _visible_documents(user: User, prefix: str = "") -> Q:
    """Signed documents, and drafts of their author only."""
    return Q(**{f"{prefix}signed_at__isnull": False}) | Q(**{f"{prefix}author": user})


class _NotesViewSet(viewsets.GenericViewSet):
    """The role check of every call (403, recorded) and the patient scope (404, recorded)."""

    permission_classes = [IsStaffUser]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    section = NOTE_SECTION
    cosign_actions: frozenset[str] = frozenset({"cosign", "cosign_queue"})

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = self._user()
        if self.action in self.cosign_actions:
            needed = COSIGN
        elif request.method in SAFE_METHODS:
            needed = READ
        else:
            needed = WRITE
        if not user.can(needed):
            record(actor=user, action=AuditEvent.Action.DENIED, section=self.section)
            raise exceptions.PermissionDenied(REFUSED[needed])

    def _refuse(self, **detail: Any) -> exceptions.NotFound:
        record(
            actor=self._user(), action=AuditEvent.Action.DENIED, section=self.section, detail=detail
        )
        return exceptions.NotFound("Not found.")

    def _patient(self, patient_id: int) -> Patient:
        """The patient if in the user's scope; else 404 (recorded), as for no such patient."""
        patient = (
            visible_patients(self._user())
            .select_related("facility__organization")
            .filter(pk=patient_id)
            .first()
        )
        if patient is None:
            raise self._refuse(patient_id=patient_id)
        return patient

    def _chart(self) -> Patient:
        raw = self.request.query_params.get("patient", "")
        if not raw.isdigit():
            raise exceptions.ValidationError(
                {"patient": ["Give ?patient=<id>: notes are listed one chart at a time."]}
            )
        return self._patient(int(raw))

    def _audit_view(self, patient: Patient, obj: Any = None, **detail: Any) -> None:
        record(
            actor=self._user(),
            action=AuditEvent.Action.VIEW,
            patient=patient,
            obj=obj,
            section=self.section,
            detail=detail or None,
        )


# --- individual, family and case-management notes -------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            PATIENT,
            OpenApiParameter(
                "kind", str, required=False, description="individual, family or case_management"
            ),
        ]
    ),
    create=extend_schema(request=NoteInputSerializer, responses={201: NoteSerializer}),
    update=extend_schema(
        request=NoteChangeSerializer, responses={200: NoteSerializer, 409: LOCKED}
    ),
    partial_update=extend_schema(
        request=NoteChangeSerializer, responses={200: NoteSerializer, 409: LOCKED}
    ),
    destroy=extend_schema(responses={204: None, 409: LOCKED}),
)
class NoteViewSet(_NotesViewSet):
    """Individual, family and case-management notes in the organization's format (DAP, BIRP
    or SOAP). Signed notes, and your own drafts."""

    serializer_class = NoteSerializer
    queryset = Note.objects.none()  # for the schema; every read is scoped below

    def _open(self, *, read: bool) -> tuple[Note, Patient]:
        pk = _pk(self.kwargs["pk"])
        patient_id = (
            Note.objects.filter(_visible_documents(self._user()), pk=pk)
            .values_list("patient_id", flat=True)
            .first()
        )
        if patient_id is None:
            raise exceptions.NotFound("Not found.")
        patient = self._patient(patient_id)
        note = selectors.note_of(patient, pk)
        if note is None:  # pragma: no cover - read just above
            raise exceptions.NotFound("Not found.")
        if read:
            self._audit_view(patient, note)
        return note, patient

    def _show(self, patient: Patient, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(NoteSerializer(selectors.note_of(patient, pk)).data, status=code)

    def _appointment(self, patient: Patient, pk: int | None) -> Appointment | None:
        if pk is None:
            return None
        found = Appointment.objects.filter(pk=pk, patient=patient).first()
        if found is None:
            raise exceptions.ValidationError(
                {"appointment": ["Choose one of this patient's appointments."]}
            )
        return found

    def _save(self, patient: Patient, data: Mapping[str, Any], note: Note | None) -> Note:
        return services.save_note(
            actor=self._user(),
            patient=patient,
            kind=data["kind"],
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            sections=data["sections"],
            objective_ids=data["objectives"],
            risk_level=data["risk_level"],
            risk_text=data["risk_text"],
            participant_ids=data["participants"],
            appointment=self._appointment(patient, data["appointment"]),
            late_reason=data["late_reason"],
            note=note,
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = self._chart()
        qs = selectors.notes_of(patient).filter(_visible_documents(self._user()))
        kind = request.query_params.get("kind")
        if kind:
            qs = qs.filter(kind=kind)
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        self._audit_view(patient, results=len(rows), list="notes")
        data = NoteSerializer(rows, many=True).data
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        note, _ = self._open(read=True)
        return Response(NoteSerializer(note).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Write a draft in the organization's format (a late entry needs `late_reason`)."""
        params = NoteInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        patient = self._patient(params.validated_data["patient"])
        note = self._save(patient, params.validated_data, None)
        return self._show(patient, note.pk, status.HTTP_201_CREATED)

    def _change(self, request: Request, *, partial: bool) -> Response:
        note, patient = self._open(read=False)
        if note.is_signed:
            return _conflict(services.LOCKED)
        params = NoteChangeSerializer(data=request.data, partial=partial)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        if partial:
            current: dict[str, Any] = {
                "kind": note.kind,
                "started_at": note.started_at,
                "ended_at": note.ended_at,
                "sections": dict(note.sections),
                "objectives": [link.objective_id for link in note.objective_links.all()],
                "risk_level": note.risk_level,
                "risk_text": note.risk_text,
                "participants": [link.contact_id for link in note.participant_links.all()],
                "appointment": note.appointment_id,
                "late_reason": "",
            }
            if "sections" in data:
                data["sections"] = {**note.sections, **data["sections"]}
            data = {**current, **data}
        self._save(patient, data, note)
        return self._show(patient, note.pk)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Rewrite your draft (fields left out take their defaults)."""
        return self._change(request, partial=False)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change your draft: fields left out keep their value, sections left out too."""
        return self._change(request, partial=True)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Discard your draft. A signed note is never removed."""
        note, _ = self._open(read=False)
        if note.is_signed:
            return _conflict(services.LOCKED)
        services.discard_draft(actor=self._user(), note=note)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=NoteIdentitySerializer, responses={200: NoteSerializer, **SIGN_RESPONSES}
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        """Sign your draft with your password or an authenticator code: every section
        written, the risk described when there is one. It locks."""
        note, patient = self._open(read=False)
        if note.is_signed:
            return _conflict(ALREADY_SIGNED)
        params = NoteIdentitySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.sign_note(actor=self._user(), note=note, **params.validated_data)
        return self._show(patient, note.pk)

    @extend_schema(
        request=NoteAddendumInputSerializer,
        responses={
            201: NoteAddendumSerializer,
            400: OpenApiResponse(description="Not signed yet, or text, reason or password."),
        },
    )
    @action(detail=True, methods=["post"])
    def addendum(self, request: Request, pk: str | None = None) -> Response:
        """Add to a signed note: the text, why, and your password or code."""
        note, _ = self._open(read=False)
        params = NoteAddendumInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        made = services.add_addendum(actor=self._user(), target=note, **params.validated_data)
        return Response(NoteAddendumSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=NoteCosignInputSerializer,
        responses={
            200: NoteSerializer,
            400: OpenApiResponse(description="Not waiting for a co-signature, or the password."),
            403: OpenApiResponse(description="Not a note of someone you supervise."),
        },
    )
    @action(detail=True, methods=["post"])
    def cosign(self, request: Request, pk: str | None = None) -> Response:
        """Co-sign the signed note of someone you supervise."""
        note, patient = self._open(read=False)
        params = NoteCosignInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.cosign(actor=self._user(), target=note, **params.validated_data)
        return self._show(patient, note.pk)

    @extend_schema(responses=NoteWorkItemSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="to-sign", pagination_class=None)
    def to_sign(self, request: Request) -> Response:
        """Your unsigned notes and group notes, oldest first; ``overdue`` past the limit."""
        user = self._user()
        rows = selectors.to_sign(user)
        notes = [r.document for r in rows if isinstance(r.document, Note)]
        # A draft of a patient no longer in your care is listed without the name.
        mine = set(
            visible_patients(user)
            .filter(pk__in=[n.patient_id for n in notes])
            .values_list("pk", flat=True)
        )
        # the author is you: no query per row
        data = [work_item(r.document, overdue=r.overdue, author=user) for r in rows]
        for row, item in zip(rows, data, strict=True):
            if isinstance(row.document, Note) and row.document.patient_id not in mine:
                item["patient"] = None
                item["patient_name"] = None
        record_list(
            actor=user,
            patients=[n.patient_id for n in notes if n.patient_id in mine],
            section="notes to sign (API)",
        )
        return Response(NoteWorkItemSerializer(data, many=True).data)

    @extend_schema(responses=NoteWorkItemSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="cosign-queue", pagination_class=None)
    def cosign_queue(self, request: Request) -> Response:
        """Signed notes waiting for your co-signature, oldest first (patients in your
        scope; group notes of your facilities)."""
        user = self._user()
        items = selectors.cosign_queue(user)
        patient_ids = [d.patient_id for d in items if isinstance(d, Note)]
        mine = set(visible_patients(user).filter(pk__in=patient_ids).values_list("pk", flat=True))
        places = set(facilities_for(user).values_list("pk", flat=True))
        shown = [
            d
            for d in items
            if (d.patient_id in mine if isinstance(d, Note) else d.facility_id in places)
        ]
        record_list(
            actor=user,
            patients=[d.patient for d in shown if isinstance(d, Note)],
            section="co-sign queue (API)",
        )
        return Response(NoteWorkItemSerializer([work_item(d) for d in shown], many=True).data)


# --- group notes: the facilitator's view ---------------------------------------------------------


def _group_errors(error: DjangoValidationError) -> dict[str, Any]:
    """The service's errors with each attendee's under ``entries`` → patient id → field."""
    out: dict[str, Any] = {}
    entries: dict[str, Any] = {}
    for key, messages in validation_payload(error).items():
        found = ENTRY_KEY.fullmatch(key)
        if found:
            entries.setdefault(found[1], {})[found[2]] = messages
        elif key == "entries":
            entries["non_field_errors"] = messages
        else:
            out[key] = messages
    if entries:
        out["entries"] = entries
    return out


@extend_schema_view(
    create=extend_schema(
        request=GroupNoteInputSerializer,
        responses={
            201: GroupNoteSerializer,
            409: OpenApiResponse(description="The session already has a group note."),
        },
    ),
    update=extend_schema(
        request=GroupNoteChangeSerializer, responses={200: GroupNoteSerializer, 409: LOCKED}
    ),
    partial_update=extend_schema(
        request=GroupNoteChangeSerializer, responses={200: GroupNoteSerializer, 409: LOCKED}
    ),
)
class GroupNoteViewSet(_NotesViewSet):
    """A session's group note as its facilitator writes it: the shared part once and an entry
    per attendee. Only the attendees you may see are shown; others are counted, never named."""

    serializer_class = GroupNoteSerializer
    queryset = GroupNote.objects.none()  # for the schema; every read is scoped below
    section = GROUP_SECTION

    def _session(self, pk: int) -> Session:
        found = (
            Session.objects.filter(pk=pk, facility__in=facilities_for(self._user()))
            .select_related("group", "facility__organization")
            .first()
        )
        if found is None:
            raise exceptions.NotFound("Not found.")
        return found

    def _open(self) -> GroupNoteScreen:
        """The note with the entries the user may see; 404 for another's draft, another
        facility's note, or one of no patient in the user's scope."""
        user = self._user()
        pk = _pk(self.kwargs["pk"])
        found = (
            GroupNote.objects.filter(_visible_documents(user), pk=pk)
            .select_related("session__group", "session__facility__organization")
            .first()
        )
        if found is None:
            raise exceptions.NotFound("Not found.")
        if not facilities_for(user).filter(pk=found.facility_id).exists():
            raise self._refuse(group_note=pk)
        screen = selectors.group_note_screen(user, found.session)
        if screen.note is None:  # pragma: no cover - read just above
            raise exceptions.NotFound("Not found.")
        if found.author_id != user.pk and not screen.rows:
            raise self._refuse(group_note=pk)
        screen.note.session = found.session
        return screen

    def _entries(self, screen: GroupNoteScreen) -> list[GroupNoteEntry]:
        shown = []
        for row in screen.rows:
            if row.entry is not None:
                row.entry.patient = row.patient  # already read: no query per entry
                shown.append(row.entry)
        return shown

    def _show(self, screen: GroupNoteScreen, code: int = status.HTTP_200_OK) -> Response:
        context = {"entries": self._entries(screen), "not_shown": screen.not_shown}
        return Response(GroupNoteSerializer(screen.note, context=context).data, status=code)

    def _reread(self, session: Session) -> GroupNoteScreen:
        screen = selectors.group_note_screen(self._user(), session)
        if screen.note is not None:
            screen.note.session = session
        return screen

    def _save(
        self, session: Session, data: Mapping[str, Any], existing: GroupNote | None
    ) -> GroupNote:
        items: list[dict[str, Any]] = data["entries"]
        wanted = {item["patient"] for item in items}
        seen = set(
            visible_patients(self._user()).filter(pk__in=wanted).values_list("pk", flat=True)
        )
        if seen != wanted:
            raise exceptions.ValidationError(
                {
                    "entries": {
                        "non_field_errors": [
                            "Choose patients in your care who came to this session."
                        ]
                    }
                }
            )
        kept = {e.patient_id: e for e in existing.entries.all()} if existing is not None else {}
        entries: dict[int, services.EntryInput] = {}
        for item in items:
            old = kept.get(item["patient"])
            entries[item["patient"]] = services.EntryInput(
                participation=item.get("participation", old.participation if old else ""),
                response=item.get("response", old.response if old else ""),
                plan=item.get("plan", old.plan if old else ""),
                objective_id=item.get("objective", old.objective_id if old else None),
                progress=item.get("progress", old.progress if old else ""),
            )
        shared = existing
        try:
            return services.save_group_note(
                actor=self._user(),
                session=session,
                topic=data.get("topic", shared.topic if shared else ""),
                interventions=data.get("interventions", shared.interventions if shared else ""),
                process=data.get("process", shared.process if shared else ""),
                entries=entries,
                late_reason=data.get("late_reason", ""),
                revision=data.get("revision"),
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError(_group_errors(error)) from error

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        screen = self._open()
        note = screen.note
        assert note is not None  # noqa: S101 (_open answers 404 otherwise)
        record_list(
            actor=self._user(),
            patients=[row.patient for row in screen.rows if row.entry is not None],
            section=self.section,
            facility_id=note.facility_id,
            obj=note,
        )
        return self._show(screen)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Write a session's group note: the shared part and an entry per attendee (only
        those who came: present, late or left early)."""
        params = GroupNoteInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        session = self._session(params.validated_data["session"])
        existing = GroupNote.objects.filter(session=session).values_list("pk", flat=True).first()
        if existing is not None:
            return _conflict(
                f"This session already has a group note: change it with "
                f"PATCH /api/v1/group-notes/{existing}/."
            )
        self._save(session, params.validated_data, None)
        return self._show(self._reread(session), status.HTTP_201_CREATED)

    def _change(self, request: Request, *, partial: bool) -> Response:
        screen = self._open()
        note = screen.note
        assert note is not None  # noqa: S101 (_open answers 404 otherwise)
        if note.is_signed:
            return _conflict(services.LOCKED)
        params = GroupNoteChangeSerializer(data=request.data, partial=partial)
        params.is_valid(raise_exception=True)
        revision = params.validated_data.get("revision")
        if revision is not None and revision != note.updated_at:
            return _conflict(STALE)
        self._save(note.session, params.validated_data, note)
        return self._show(self._reread(note.session))

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Rewrite the shared part of your draft and the entries sent (others are kept)."""
        return self._change(request, partial=False)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change your draft: what is left out keeps its value."""
        return self._change(request, partial=True)

    @extend_schema(
        request=NoteIdentitySerializer, responses={200: GroupNoteSerializer, **SIGN_RESPONSES}
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        """Sign your group note once every attendee has an entry; it locks."""
        screen = self._open()
        note = screen.note
        assert note is not None  # noqa: S101 (_open answers 404 otherwise)
        if note.is_signed:
            return _conflict(ALREADY_SIGNED)
        params = NoteIdentitySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.sign_group_note(actor=self._user(), group_note=note, **params.validated_data)
        return self._show(self._reread(note.session))

    @extend_schema(
        request=GroupNoteAddendumInputSerializer,
        responses={
            201: NoteAddendumSerializer,
            400: OpenApiResponse(
                description="Not signed yet, the entry, text, reason or password."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def addendum(self, request: Request, pk: str | None = None) -> Response:
        """Add to a signed group note: to the shared part (every attendee's chart shows it)
        or, with ``entry``, to one attendee's entry (only their chart shows it)."""
        screen = self._open()
        note = screen.note
        assert note is not None  # noqa: S101 (_open answers 404 otherwise)
        params = GroupNoteAddendumInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        entry_id = data.pop("entry") or _pk(request.query_params.get("entry", "")) or None
        target: GroupNote | GroupNoteEntry = note
        if entry_id is not None:
            entry = next((e for e in self._entries(screen) if e.pk == entry_id), None)
            if entry is None:
                raise exceptions.ValidationError(
                    {"entry": ["Choose the entry of an attendee in your care."]}
                )
            entry.group_note = note
            target = entry
        made = services.add_addendum(actor=self._user(), target=target, **data)
        return Response(NoteAddendumSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=NoteCosignInputSerializer,
        responses={
            200: GroupNoteSerializer,
            400: OpenApiResponse(description="Not waiting for a co-signature, or the password."),
            403: OpenApiResponse(description="Not a note of someone you supervise."),
        },
    )
    @action(detail=True, methods=["post"])
    def cosign(self, request: Request, pk: str | None = None) -> Response:
        """Co-sign the signed group note of someone you supervise."""
        screen = self._open()
        note = screen.note
        assert note is not None  # noqa: S101 (_open answers 404 otherwise)
        params = NoteCosignInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.cosign(actor=self._user(), target=note, **params.validated_data)
        return self._show(self._reread(note.session))

    @extend_schema(parameters=[SESSION], responses=GroupNoteRosterSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def roster(self, request: Request) -> Response:
        """Before writing: the session's attendees you may see, with their active objectives
        and the entry already written (a draft: yours only), and the note's ``revision``."""
        raw = request.query_params.get("session", "")
        if not raw.isdigit():
            raise exceptions.ValidationError({"session": ["Give ?session=<id>."]})
        user = self._user()
        session = self._session(int(raw))
        screen = selectors.group_note_screen(user, session)
        note = screen.note
        readable = note is not None and (note.is_signed or note.author_id == user.pk)
        self._entries(screen)
        record_list(
            actor=user,
            patients=[row.patient for row in screen.rows],
            section=self.section,
            facility_id=session.facility_id,
            obj=session,
            detail={"roster": True},
        )
        data = GroupNoteRosterSerializer(screen, context={"show_entries": readable}).data
        return Response(data)


# --- group notes in a patient's chart -------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class GroupEntryViewSet(_NotesViewSet):
    """A patient's own parts of group notes, each with its note's shared part and shared
    addenda — never another attendee's entry or name."""

    serializer_class = GroupNoteChartEntrySerializer
    queryset = GroupNoteEntry.objects.none()  # for the schema; every read is scoped below
    http_method_names = ["get", "head", "options"]
    section = GROUP_SECTION

    def _rows(self, patient: Patient) -> QuerySet[GroupNoteEntry]:
        return selectors.group_entries_of(patient).filter(
            _visible_documents(self._user(), "group_note__")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = self._chart()
        qs = self._rows(patient)
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        self._audit_view(patient, results=len(rows), list="group entries")
        data = GroupNoteChartEntrySerializer(rows, many=True).data
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pk = _pk(self.kwargs["pk"])
        patient_id = (
            GroupNoteEntry.objects.filter(_visible_documents(self._user(), "group_note__"), pk=pk)
            .values_list("patient_id", flat=True)
            .first()
        )
        if patient_id is None:
            raise exceptions.NotFound("Not found.")
        patient = self._patient(patient_id)
        entry = self._rows(patient).filter(pk=pk).first()
        if entry is None:  # pragma: no cover - read just above
            raise exceptions.NotFound("Not found.")
        self._audit_view(patient, entry)
        return Response(GroupNoteChartEntrySerializer(entry).data)
