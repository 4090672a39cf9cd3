"""Private calendar feeds (RFC 5545 ICS) of a patient's or a staff member's schedule.

A feed is read by a calendar app on a phone, far from the chart, through a link anyone
could forward, so an event carries the least that still helps: a patient's initials and
never a name, a diagnosis or the program's name; a patient feed does not even name the
group (a veterans' or survivors' group says too much). Times are written in UTC, so every
calendar app places them right on both sides of a daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from icalendar import Calendar, Event

from openiop.patients.models import Patient
from openiop.scheduling import selectors
from openiop.scheduling.models import CalendarFeed
from openiop.scheduling.selectors import Entry

WEEKS_BACK = 4
WEEKS_AHEAD = 12
PRODID = "-//OpenIOP//Schedule feed//EN"
PATIENT_CALENDAR = "My schedule"
STAFF_CALENDAR = "My groups and appointments"
GROUP_TITLE = "Group session"
APPOINTMENT_TITLE = "Appointment"


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str
    location: str
    cancelled: bool


def initials(patient: Patient) -> str:
    """ "T.R." for Test Rivera: the name people go by, first letters only."""
    first = (patient.preferred_name or patient.first_name).strip()
    last = patient.last_name.strip()
    return "".join(f"{part[0].upper()}." for part in (first, last) if part)


def window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """What a feed holds: four weeks back (to look up a past session) to twelve ahead."""
    return now - dt.timedelta(weeks=WEEKS_BACK), now + dt.timedelta(weeks=WEEKS_AHEAD)


def _uid(entry: Entry) -> str:
    # Stable per session or appointment, so a moved or cancelled one updates in place.
    if entry.session is not None:
        return f"session-{entry.session.pk}@openiop"
    assert entry.appointment is not None  # noqa: S101 - an entry is one or the other
    return f"appointment-{entry.appointment.pk}@openiop"


def _event(entry: Entry, summary: str) -> FeedEvent:
    return FeedEvent(
        uid=_uid(entry),
        starts_at=entry.starts_at,
        ends_at=entry.ends_at,
        summary=summary,
        location=entry.where,
        cancelled=entry.cancelled,
    )


def patient_events(entries: Iterable[Entry], patient: Patient) -> list[FeedEvent]:
    """The patient's own feed: "Group session (T.R.)", "Appointment (T.R.)"."""
    mark = initials(patient)
    return [
        _event(e, f"{GROUP_TITLE if e.kind == 'session' else APPOINTMENT_TITLE} ({mark})")
        for e in entries
    ]


def staff_events(entries: Iterable[Entry]) -> list[FeedEvent]:
    """A staff member's feed: the groups they run by name (a group's name is no one's
    health information) and their appointments by the patient's initials only."""
    out = []
    for e in entries:
        if e.appointment is not None:
            out.append(_event(e, f"{APPOINTMENT_TITLE} ({initials(e.appointment.patient)})"))
        else:
            out.append(_event(e, e.title))
    return out


def to_ics(events: Iterable[FeedEvent], *, name: str, stamp: dt.datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    utc_stamp = stamp.astimezone(dt.UTC)
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", utc_stamp)
        event.add("dtstart", item.starts_at.astimezone(dt.UTC))
        event.add("dtend", item.ends_at.astimezone(dt.UTC))
        event.add("summary", item.summary)
        if item.location:
            event.add("location", item.location)
        event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if item.cancelled else "OPAQUE")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def feed_calendar(feed: CalendarFeed, *, now: dt.datetime) -> tuple[bytes, int]:
    """The feed's calendar around ``now`` and how many events it holds."""
    start, end = window(now)
    if feed.patient is not None:
        events = patient_events(
            selectors.upcoming_for_patient(feed.patient, start=start, end=end), feed.patient
        )
        name = PATIENT_CALENDAR
    else:
        assert feed.staff is not None  # noqa: S101 - a check constraint keeps one of them
        events = staff_events(selectors.upcoming_for_staff(feed.staff, start=start, end=end))
        name = STAFF_CALENDAR
    return to_ics(events, name=name, stamp=now), len(events)
