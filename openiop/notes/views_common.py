"""What the note pages and printouts share: a note or a patient's part of a group note as one
"card" (its status, late entry, co-signature, objective link and addenda), read only from
what the selectors already loaded, so a list costs the same queries for 2 or 200 notes.

A group card carries the shared part and **this patient's entry only** (with the shared
addenda and this entry's addenda) — never another attendee's entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpRequest
from django.urls import reverse

from openiop.accounts.models import User
from openiop.notes import services
from openiop.notes.forms import AddendumForm, CosignForm, apply_errors
from openiop.notes.models import Addendum, Cosignature, GroupNote, GroupNoteEntry, Note
from openiop.notes.selectors import ChartItem

UNLINKED = "Linked to no plan objective"
UNLINKED_HELP = "This note is linked to no treatment-plan objective."
SECTION = "clinical notes"


def user_of(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- what the note and group-note pages submit alike ------------------------------------------


def submit_addendum(
    request: HttpRequest, form: AddendumForm, *, target: Note | GroupNote | GroupNoteEntry
) -> bool:
    """Sign and add the valid form's addendum to ``target``; the service's refusals land on
    the form's fields. True when it was added (the page then redirects)."""
    try:
        services.add_addendum(
            actor=user_of(request),
            target=target,
            text=form.cleaned_data["text"],
            reason=form.cleaned_data["reason"],
            **form.identity,
        )
    except ValidationError as error:
        apply_errors(form, error)
        return False
    messages.success(request, "Addendum added and signed.")
    return True


def submit_cosign(request: HttpRequest, form: CosignForm, *, target: Note | GroupNote) -> bool:
    """Co-sign ``target`` with the valid form; True when done."""
    try:
        services.cosign(
            actor=user_of(request),
            target=target,
            comment=form.cleaned_data.get("comment") or "",
            **form.identity,
        )
    except ValidationError as error:
        apply_errors(form, error)
        return False
    messages.success(request, "Co-signed.")
    return True


def cosignature_of(document: Note | GroupNote) -> Cosignature | None:
    """The co-signature loaded with the document (``select_related``), or None."""
    try:
        return document.cosignature
    except ObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class ShownAddendum:
    addendum: Addendum
    about: str  # "" for a note; "the group session" or "this patient" for a group card


@dataclass
class Card:
    """One note as the chart, the note's page and the printout show it."""

    kind: str  # "note" or "group"
    document: Note | GroupNote
    note: Note | None = None
    entry: GroupNoteEntry | None = None
    addenda: list[ShownAddendum] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.kind == "group"

    @property
    def title(self) -> str:
        if self.note is not None:
            return self.note.get_kind_display()
        group = self.group_note.session.group.name
        return f"Group: {group}"

    @property
    def group_note(self) -> GroupNote:
        assert isinstance(self.document, GroupNote)  # noqa: S101 (only for group cards)
        return self.document

    @property
    def started_at(self) -> dt.datetime:
        return self.document.started_at

    @property
    def cosignature(self) -> Cosignature | None:
        return cosignature_of(self.document)

    @property
    def waiting_cosign(self) -> bool:
        doc = self.document
        return doc.is_signed and doc.needs_cosign and self.cosignature is None

    @property
    def unlinked(self) -> bool:
        if self.note is not None:
            return not self.note.objective_links.all()  # prefetched: no query
        return self.entry is not None and self.entry.objective_id is None

    @property
    def objectives(self) -> list[Any]:
        if self.note is not None:
            return [link.objective for link in self.note.objective_links.all()]
        if self.entry is not None and self.entry.objective is not None:
            return [self.entry.objective]
        return []

    @property
    def participants(self) -> list[Any]:
        if self.note is None:
            return []
        return [link.contact for link in self.note.participant_links.all()]

    @property
    def patient_id(self) -> int:
        if self.note is not None:
            return self.note.patient_id
        assert self.entry is not None  # noqa: S101
        return self.entry.patient_id

    @property
    def url(self) -> str:
        if self.note is not None:
            return reverse("notes:detail", args=[self.note.patient_id, self.note.pk])
        assert self.entry is not None  # noqa: S101
        return reverse("notes:entry", args=[self.entry.patient_id, self.entry.pk])

    @property
    def print_url(self) -> str:
        if self.note is not None:
            return reverse("notes:print", args=[self.note.patient_id, self.note.pk])
        assert self.entry is not None  # noqa: S101
        return reverse("notes:entry_print", args=[self.entry.patient_id, self.entry.pk])


def note_card(note: Note) -> Card:
    return Card(
        kind="note",
        document=note,
        note=note,
        addenda=[ShownAddendum(a, "") for a in note.addenda.all()],
    )


def entry_card(entry: GroupNoteEntry) -> Card:
    """The patient's part of a group note: the shared part, their entry, and only the
    addenda about the whole session or about them."""
    shared = [ShownAddendum(a, "the group session") for a in entry.group_note.addenda.all()]
    own = [ShownAddendum(a, "this patient") for a in entry.addenda.all()]
    addenda = sorted([*shared, *own], key=lambda s: (s.addendum.created_at, s.addendum.pk))
    return Card(kind="group", document=entry.group_note, entry=entry, addenda=addenda)


def card_for(item: ChartItem) -> Card:
    if item.note is not None:
        return note_card(item.note)
    assert item.entry is not None  # noqa: S101
    return entry_card(item.entry)
