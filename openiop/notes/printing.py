"""Printouts and exports of a patient's notes: a PDF of one note (or of the patient's part of
a group note) and a CSV of every signed note.

Both carry the 42 CFR §2.32 notice. A group note is printed and exported **as the patient's
chart shows it**: the shared part and that patient's own entry — never another attendee's
name or words. The HTML a PDF is made from is built here (``note_html``, ``entry_html``) so
tests read exactly what goes on paper.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from openiop.accounts.models import User
from openiop.notes.models import GroupNoteEntry, Note
from openiop.notes.selectors import ChartItem
from openiop.notes.views_common import Card, card_for, entry_card, note_card
from openiop.patients.consent_rules import PART2_NOTICE
from openiop.patients.disclosure import to_pdf
from openiop.patients.models import Patient

CSV_COLUMNS = [
    "date",
    "started",
    "ended",
    "kind",
    "author",
    "signed",
    "late entry",
    "co-signed",
    "objectives",
    "note",
    "addenda",
]

__all__ = ["CSV_COLUMNS", "csv_rows", "entry_html", "filename", "note_html", "to_pdf"]


def _context(card: Card, patient: Patient, user: User) -> dict[str, Any]:
    return {
        "card": card,
        "doc": card.document,
        "patient": patient,
        "user": user,
        "notice": PART2_NOTICE,
        "printed_at": timezone.now(),
        "zone": patient.facility.time_zone,
        "pdf": True,
    }


def note_html(note: Note, patient: Patient, user: User) -> str:
    """The HTML of one note's PDF (the note as loaded by ``selectors.note_of``)."""
    return render_to_string("notes/print.html", _context(note_card(note), patient, user))


def entry_html(entry: GroupNoteEntry, patient: Patient, user: User) -> str:
    """The HTML of the patient's part of a group note (loaded by ``selectors.group_entry_of``)."""
    return render_to_string("notes/print.html", _context(entry_card(entry), patient, user))


def filename(card: Card) -> str:
    kind = "group-note" if card.is_group else "note"
    return f"{kind}-{card.document.service_date:%Y-%m-%d}.pdf"


# --- CSV -----------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    """A spreadsheet must not run a text that starts like a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _when(value: dt.datetime | None, zone: zoneinfo.ZoneInfo, fmt: str = "%m/%d/%Y %H:%M") -> str:
    return timezone.localtime(value, zone).strftime(fmt) if value else ""


def _content(card: Card) -> str:
    if card.note is not None:
        note = card.note
        lines = [f"{label}: {text}" for label, text in note.section_items()]
        lines.append(f"Risk: {note.get_risk_level_display()}")
        if note.risk_text:
            lines.append(f"Risk assessment and safety plan: {note.risk_text}")
        if card.participants:
            lines.append("Support system present: " + ", ".join(c.name for c in card.participants))
        return "\n".join(lines)
    group = card.group_note
    entry = card.entry
    assert entry is not None  # noqa: S101
    lines = [
        f"Group: {group.session.group.name}",
        f"Topic: {group.topic}",
        f"Interventions used: {group.interventions}",
        f"Group process: {group.process}",
        f"Participation: {entry.get_participation_display()}",
        f"Response to the group: {entry.response}",
    ]
    if entry.progress:
        lines.append(f"Progress on the objective: {entry.get_progress_display()}")
    lines.append(f"Plan: {entry.plan}")
    return "\n".join(lines)


def _addenda(card: Card, zone: zoneinfo.ZoneInfo) -> str:
    rows = []
    for shown in card.addenda:
        a = shown.addendum
        about = f" (about {shown.about})" if shown.about else ""
        rows.append(
            f"{_when(a.created_at, zone)} by {a.author.display_name}{about}; "
            f"why: {a.reason}; {a.text}"
        )
    return "\n".join(rows)


def _row(card: Card, zone: zoneinfo.ZoneInfo) -> list[str]:
    doc = card.document
    cosigned = card.cosignature
    signer = doc.signed_by.display_name if doc.signed_by else ""
    return [
        _cell(v)
        for v in (
            f"{doc.service_date:%m/%d/%Y}",
            _when(doc.started_at, zone, "%H:%M"),
            _when(doc.ended_at, zone, "%H:%M"),
            "Group" if card.is_group else card.title,
            doc.author.display_name,
            f"{_when(doc.signed_at, zone)} by {signer}",
            f"yes: {doc.late_reason}" if doc.late_entry else "no",
            (
                f"{_when(cosigned.cosigned_at, zone)} by {cosigned.cosigned_by.display_name}"
                if cosigned
                else ("waiting" if card.waiting_cosign else "")
            ),
            "; ".join(str(o.text) for o in card.objectives),
            _content(card),
            _addenda(card, zone),
        )
    ]


def csv_rows(items: Iterable[ChartItem], zone: zoneinfo.ZoneInfo) -> Iterator[list[str]]:
    """The header, one row per signed note or group-note entry, then the §2.32 notice."""
    yield CSV_COLUMNS
    for item in items:
        yield _row(card_for(item), zone)
    yield [PART2_NOTICE]
