"""Pure rules of clinical documentation: note formats, late entries, unsigned flags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

DAP = "dap"
BIRP = "birp"
SOAP = "soap"

#: Each format's sections in order: (key, label a counselor reads).
SECTIONS: dict[str, list[tuple[str, str]]] = {
    DAP: [("data", "Data"), ("assessment", "Assessment"), ("plan", "Plan")],
    BIRP: [
        ("behavior", "Behavior"),
        ("intervention", "Intervention"),
        ("response", "Response"),
        ("plan", "Plan"),
    ],
    SOAP: [
        ("subjective", "Subjective"),
        ("objective", "Objective"),
        ("assessment", "Assessment"),
        ("plan", "Plan"),
    ],
}

#: What each section asks for, shown under its box.
HINTS: dict[str, str] = {
    "data": "What the patient said and did; what you observed.",
    "assessment": "Your clinical view of the data: progress, risk, what it means.",
    "plan": "What happens next: assignments, next session, referrals.",
    "behavior": "What the patient said and did; how they presented.",
    "intervention": "What you did: the techniques and topics.",
    "response": "How the patient responded to the intervention.",
    "subjective": "The patient's own words about how they are.",
    "objective": "What you observed and measured.",
}

DEFAULT_UNSIGNED_HOURS = 24
DEFAULT_LATE_HOURS = 24
MAX_SECTION_CHARS = 20_000


def section_errors(note_format: str, sections: Mapping[str, object]) -> dict[str, str]:
    """Field errors for a note's sections: every section is written, none is too long."""
    if note_format not in SECTIONS:
        return {"note_format": "Choose DAP, BIRP or SOAP."}
    errors: dict[str, str] = {}
    for key, label in SECTIONS[note_format]:
        text = sections.get(key)
        if not isinstance(text, str) or not text.strip():
            errors[key] = f"Write the {label.lower()} section."
        elif len(text) > MAX_SECTION_CHARS:
            errors[key] = f"The {label.lower()} section is too long (at most 20,000 characters)."
    return errors


def clean_sections(note_format: str, sections: Mapping[str, object]) -> dict[str, str]:
    """Only the format's sections, trimmed."""
    return {key: str(sections.get(key) or "").strip() for key, _ in SECTIONS[note_format]}


def is_late(*, service_ended: dt.datetime, written: dt.datetime, late_after_hours: int) -> bool:
    """A note first written more than ``late_after_hours`` after the service ended is a late
    entry (documentation standards: mark it as such, with the reason)."""
    return written - service_ended > dt.timedelta(hours=late_after_hours)


def unsigned_overdue(
    *, service_ended: dt.datetime, now: dt.datetime, unsigned_after_hours: int
) -> bool:
    """An unsigned note is flagged once its service ended more than the limit ago."""
    return now - service_ended > dt.timedelta(hours=unsigned_after_hours)


def unsigned_cutoff(now: dt.datetime, unsigned_after_hours: int) -> dt.datetime:
    """Services that ended before this moment and are still unsigned are overdue."""
    return now - dt.timedelta(hours=unsigned_after_hours)


def times_error(started: dt.datetime, ended: dt.datetime) -> dict[str, str]:
    if ended < started:
        return {"ended_at": "The end time is before the start time."}
    if ended - started > dt.timedelta(hours=12):
        return {"ended_at": "A session of more than 12 hours: check the times."}
    return {}
