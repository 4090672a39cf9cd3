"""The calendar feeds' ICS: UTC times across daylight saving, stable UIDs, cancelled
events, and titles with initials at most."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar

from openiop.accounts.models import Facility, Program, User
from openiop.scheduling import ics, selectors, services
from openiop.scheduling.models import Appointment, Session
from openiop.scheduling.selectors import Entry
from tests.admissions.factories import program_with_phases
from tests.factories import PatientFactory
from tests.scheduling.factories import MONDAY, admitted, group, schedule, session_on

UTC = dt.UTC


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


def events_of(content: bytes) -> dict[str, dict[str, object]]:
    calendar = Calendar.from_ical(content)
    return {
        str(e["UID"]): {
            "start": e.decoded("DTSTART"),
            "end": e.decoded("DTEND"),
            "summary": str(e["SUMMARY"]),
            "status": str(e["STATUS"]),
            "location": str(e.get("LOCATION", "")),
        }
        for e in calendar.walk("VEVENT")
    }


def test_an_evening_group_keeps_6_pm_across_the_spring_change(
    facility: Facility, program: Program, director: User, clinician: User
) -> None:
    """Los Angeles moves to daylight time on Sunday 2026-03-08: 6 pm is 02:00Z the next
    day before, and 01:00Z after."""
    assert facility.time_zone == "America/Los_Angeles"
    evening = program.tracks.get(kind="evening")
    kind = group(director, program, "Evening process group")
    s = schedule(director, kind, clinician, start_time=dt.time(18, 0), track=evening)
    episode = admitted(facility, program, clinician)
    services.enroll(actor=clinician, episode=episode, schedule=s, start_date=MONDAY)
    feed, _token = services.create_feed(actor=clinician, patient=episode.patient)
    content, count = ics.feed_calendar(feed, now=dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    text = content.decode()
    before = session_on(s, dt.date(2026, 3, 6))  # Friday, standard time
    after = session_on(s, dt.date(2026, 3, 9))  # Monday, daylight time
    events = events_of(content)
    assert events[f"session-{before.pk}@openiop"]["start"] == dt.datetime(
        2026, 3, 7, 2, 0, tzinfo=UTC
    )
    assert events[f"session-{after.pk}@openiop"]["start"] == dt.datetime(
        2026, 3, 10, 1, 0, tzinfo=UTC
    )
    assert events[f"session-{after.pk}@openiop"]["end"] == dt.datetime(
        2026, 3, 10, 4, 0, tzinfo=UTC
    )
    assert "DTSTART:20260307T020000Z" in text and "DTSTART:20260310T010000Z" in text
    assert count == len(events)


def test_the_window_is_four_weeks_back_to_twelve_ahead(
    facility: Facility, program: Program, director: User, clinician: User
) -> None:
    s = schedule(director, group(director, program), clinician)
    episode = admitted(facility, program, clinician)
    services.enroll(actor=clinician, episode=episode, schedule=s, start_date=MONDAY)
    feed, _token = services.create_feed(actor=clinician, patient=episode.patient)
    now = dt.datetime(2026, 5, 6, 12, 0, tzinfo=UTC)  # a Wednesday
    events = events_of(ics.feed_calendar(feed, now=now)[0])
    starts = sorted(e["start"] for e in events.values())  # type: ignore[type-var]
    assert starts[0] >= now - dt.timedelta(weeks=4)  # type: ignore[operator]
    assert starts[-1] < now + dt.timedelta(weeks=12)  # type: ignore[operator]
    # Mon/Wed/Fri for 16 weeks, give or take the edges of the window.
    assert 46 <= len(events) <= 49


def test_titles_hold_initials_at_most(facility: Facility) -> None:
    patient = PatientFactory.create(
        facility=facility, first_name="Theodora", last_name="Rivera", preferred_name="Teddy"
    )
    assert ics.initials(patient) == "T.R."
    start = dt.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    entries = [
        Entry(
            "session",
            start,
            start + dt.timedelta(hours=3),
            "Veterans' group",
            "Room A",
            "x",
            "day",
            session=Session(pk=7),
        ),
        Entry(
            "appointment",
            start,
            start + dt.timedelta(hours=1),
            "Medication management",
            "Telehealth",
            "x",
            "day",
            appointment=Appointment(pk=9, patient=patient),
        ),
    ]
    events = ics.patient_events(entries, patient)
    assert [e.summary for e in events] == ["Group session (T.R.)", "Appointment (T.R.)"]
    assert [e.uid for e in events] == ["session-7@openiop", "appointment-9@openiop"]
    # A staff feed names the group (no one's health information) but not the patient.
    staff = ics.staff_events(entries)
    assert [e.summary for e in staff] == ["Veterans' group", "Appointment (T.R.)"]


def test_the_ics_marks_cancelled_events_and_writes_utc() -> None:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    events = [
        ics.FeedEvent(
            "session-1@openiop", start, start + dt.timedelta(hours=3), "Group", "Room A", False
        ),
        ics.FeedEvent("session-2@openiop", start, start + dt.timedelta(hours=3), "Group", "", True),
    ]
    content = ics.to_ics(events, name="My schedule", stamp=start)
    text = content.decode()
    assert text.startswith("BEGIN:VCALENDAR") and "X-WR-CALNAME:My schedule" in text
    assert "X-PUBLISHED-TTL:PT1H" in text and "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text
    parsed = events_of(content)
    assert parsed["session-1@openiop"]["status"] == "CONFIRMED"
    assert parsed["session-2@openiop"]["status"] == "CANCELLED"
    assert parsed["session-1@openiop"]["location"] == "Room A"
    assert "DTSTART:20260302T170000Z" in text


@pytest.mark.django_db
def test_a_staff_link_stops_working_when_the_account_is_deactivated(clinician: User) -> None:
    feed, token = services.create_feed(actor=clinician, staff=clinician)
    assert selectors.feed_by_token(token) == feed
    clinician.is_active = False
    clinician.save(update_fields=["is_active"])
    assert selectors.feed_by_token(token) is None
