"""The chart's Schedule & attendance tab, enrollment, the weekly sheet and the calendar
links, through the pages a counselor uses (and the feed a calendar app reads)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.scheduling import rules, services
from openiop.scheduling.models import CalendarFeed, Enrollment, Schedule
from tests.admissions.factories import program_with_phases
from tests.conftest import body, last_event, signed_in
from tests.scheduling.factories import MONDAY, admitted, group, schedule, session_on

WEEK = MONDAY.isoformat()


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def episode(facility: Facility, program: Program, clinician: User) -> EpisodeOfCare:
    return admitted(facility, program, clinician)  # Test Rivera, on the clinician's caseload


@pytest.fixture
def process(director: User, program: Program, clinician: User) -> Schedule:
    """Process group, Mon/Wed/Fri 9:00–12:00 by telehealth, from MONDAY."""
    return schedule(director, group(director, program), clinician)


def url(name: str, patient: Patient, **kwargs: Any) -> str:
    return reverse(f"scheduling:{name}", kwargs={"pk": patient.pk, **kwargs})


def present(actor: User, sched: Schedule, day: dt.date, episode: EpisodeOfCare) -> None:
    services.save_group_attendance(
        actor=actor,
        session=session_on(sched, day),
        lines=[services.Line(patient_id=episode.patient_id, status="present")],
    )


def this_monday(facility: Facility) -> dt.date:
    return rules.week_start(timezone.localdate(timezone=facility.zone))


# --- the tab -------------------------------------------------------------------------------------


def test_it_shows_the_week_how_they_attended_and_the_dose(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    services.enroll(actor=clinician, episode=episode, schedule=process, start_date=MONDAY)
    present(clinician, process, MONDAY, episode)
    response = signed_in(clinician).get(url("patient", episode.patient) + f"?week={WEEK}")
    assert response.status_code == 200
    page = body(response)
    assert "Week of Mon 03/02/2026 to Sun 03/08/2026" in page
    assert "Process group" in page
    assert "Present, 3 h" in page  # Monday, recorded
    assert "Not recorded" in page  # Wednesday and Friday, not yet
    # One service day of 3 h: below the minimum of 3 days and 9 h.
    assert "Below the minimum" in page
    assert "needs 2 more service days and 6 more hours" in page
    assert "Days in treatment" in page and "Hours attended" in page
    assert "Leave group" in page
    assert response.context["totals"].service_days == 1
    assert response.context["week_row"].minutes == 180


def test_the_dose_heading_says_which_week(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    services.enroll(actor=clinician, episode=episode, schedule=process, start_date=MONDAY)
    client = signed_in(clinician)
    now = body(client.get(url("patient", episode.patient)))
    assert "This week's dose" in now and "Dose, week of" not in now
    this_week = this_monday(episode.facility)
    same = body(client.get(url("patient", episode.patient) + f"?week={this_week.isoformat()}"))
    assert "This week's dose" in same
    before = body(client.get(url("patient", episode.patient) + f"?week={WEEK}"))
    assert "Dose, week of Mar 2" in before and "This week's dose" not in before


def test_a_week_that_meets_the_minimum_says_so(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    services.enroll(actor=clinician, episode=episode, schedule=process, start_date=MONDAY)
    for day in (MONDAY, MONDAY + dt.timedelta(days=2), MONDAY + dt.timedelta(days=4)):
        present(clinician, process, day, episode)
    page = body(signed_in(clinician).get(url("patient", episode.patient) + f"?week={WEEK}"))
    assert "Meets the minimum" in page
    assert "(needs" not in page


def _count(client: Client, patient: Patient) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("patient", patient) + f"?week={WEEK}")
    assert response.status_code == 200
    return len(queries)


def test_the_tab_costs_the_same_queries_for_2_or_8_groups(
    clinician: User,
    director: User,
    program: Program,
    episode: EpisodeOfCare,
    django_assert_max_num_queries: Any,
) -> None:
    slots = [(day, hour) for hour in (8, 10) for day in ("MO", "TU", "WE", "TH")]
    groups = []
    for n, (day, hour) in enumerate(slots):
        kind = group(director, program, f"Group {n}", duration_minutes=60)
        groups.append(
            schedule(
                director,
                kind,
                clinician,
                rrule=f"FREQ=WEEKLY;BYDAY={day}",
                start_time=dt.time(hour),
            )
        )
    offsets = {"MO": 0, "TU": 1, "WE": 2, "TH": 3}
    for s, (day, _hour) in zip(groups[:2], slots[:2], strict=True):
        services.enroll(actor=clinician, episode=episode, schedule=s, start_date=MONDAY)
        present(clinician, s, MONDAY + dt.timedelta(days=offsets[day]), episode)
    client = signed_in(clinician)
    client.get(url("patient", episode.patient))  # warm the session
    small = _count(client, episode.patient)
    for s in groups[2:]:
        services.enroll(actor=clinician, episode=episode, schedule=s, start_date=MONDAY)
    assert Enrollment.objects.filter(episode=episode).count() == 8
    page = body(client.get(url("patient", episode.patient) + f"?week={WEEK}"))
    assert "Group 7" in page
    large = _count(client, episode.patient)
    assert large == small
    with django_assert_max_num_queries(small):
        client.get(url("patient", episode.patient) + f"?week={WEEK}")


def test_the_front_desk_sees_the_schedule_but_not_the_dose(
    front_desk: User, clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    services.enroll(actor=clinician, episode=episode, schedule=process, start_date=MONDAY)
    response = signed_in(front_desk).get(url("patient", episode.patient) + f"?week={WEEK}")
    # The front desk sees every patient of its facility (registration work).
    assert response.status_code == 200
    page = body(response)
    assert "Process group" in page
    assert "This week's dose" not in page and "Hours attended" not in page
    assert "Leave group" not in page and "Add to a group" not in page
    assert "Make a calendar link" in page


def test_an_outsider_gets_404_and_the_refusal_is_audited(
    other_clinician: User, episode: EpisodeOfCare
) -> None:
    response = signed_in(other_clinician).get(url("patient", episode.patient))
    assert response.status_code == 404
    event = last_event(action=AuditEvent.Action.DENIED, section="schedule")
    assert event.detail["patient_id"] == episode.patient_id


def test_the_auditor_is_refused(auditor: User, episode: EpisodeOfCare) -> None:
    assert signed_in(auditor).get(url("patient", episode.patient)).status_code == 403
    assert signed_in(auditor).get(url("sheet", episode.patient)).status_code == 403
    assert signed_in(auditor).get(reverse("scheduling:my_feed")).status_code == 403


def test_opening_the_tab_is_audited(clinician: User, episode: EpisodeOfCare) -> None:
    signed_in(clinician).get(url("patient", episode.patient))
    event = last_event(action=AuditEvent.Action.VIEW, section="schedule")
    assert event.patient_id == episode.patient_id and event.actor_id == clinician.pk


def test_no_open_episode_is_said_plainly(clinician: User, patient: Patient) -> None:
    page = body(signed_in(clinician).get(url("patient", patient)))
    assert "Not in treatment right now" in page
    assert "Add to a group" not in page


def test_a_bad_week_falls_back_to_this_week(clinician: User, episode: EpisodeOfCare) -> None:
    response = signed_in(clinician).get(url("patient", episode.patient) + "?week=99999-1-1")
    assert response.status_code == 200
    assert response.context["monday"] == this_monday(episode.facility)


# --- enrollment ----------------------------------------------------------------------------------


def test_the_enroll_page_lists_groups_and_who_may_join(
    clinician: User, director: User, program: Program, episode: EpisodeOfCare, process: Schedule
) -> None:
    veterans = group(director, program, "Veterans' group", specialty="veterans")
    schedule(director, veterans, director, rrule="FREQ=WEEKLY;BYDAY=TU", start_time=dt.time(18))
    page = body(signed_in(clinician).get(url("enroll", episode.patient) + f"?start_date={WEEK}"))
    assert "Process group" in page and "Monday, Wednesday and Friday" in page
    assert "0 / 12" in page
    assert "needs the patient&#x27;s veteran status recorded" in page


def test_the_enroll_page_costs_the_same_queries_for_2_or_8_groups(
    clinician: User, director: User, program: Program, episode: EpisodeOfCare
) -> None:
    """Every group is checked (eligibility, roster, capacity, clashes) in one pass."""
    slots = [(day, hour) for hour in (8, 10) for day in ("MO", "TU", "WE", "TH")]

    def add(n: int) -> Schedule:
        day, hour = slots[n]
        extra = {"specialty": "veterans"} if n % 2 else {}
        kind = group(director, program, f"Group {n}", duration_minutes=60, **extra)
        return schedule(
            director, kind, clinician, rrule=f"FREQ=WEEKLY;BYDAY={day}", start_time=dt.time(hour)
        )

    made = [add(n) for n in range(2)]
    services.enroll(actor=clinician, episode=episode, schedule=made[0], start_date=MONDAY)
    client = signed_in(clinician)
    page_url = url("enroll", episode.patient) + f"?start_date={WEEK}&schedule={made[0].pk}"
    client.get(page_url)  # warm the session

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_url).status_code == 200
        return len(queries)

    few = count()
    made += [add(n) for n in range(2, 8)]
    page = body(client.get(page_url))
    assert "Group 7" in page and "already on this group" in page
    assert "needs the patient&#x27;s veteran status recorded" in page
    assert count() == few


def test_enrollment_in_a_veterans_group_is_refused_with_the_reason(
    clinician: User, director: User, program: Program, episode: EpisodeOfCare
) -> None:
    veterans = group(director, program, "Veterans' group", specialty="veterans")
    s = schedule(director, veterans, director, rrule="FREQ=WEEKLY;BYDAY=TU", start_time=dt.time(18))
    response = signed_in(clinician).post(
        url("enroll", episode.patient), {"schedule": s.pk, "start_date": WEEK, "enroll": "1"}
    )
    assert response.status_code == 200
    assert "The patient was not enrolled" in body(response)
    assert "veteran status" in body(response)
    assert not Enrollment.objects.exists()


def test_enrollment_in_a_full_group_is_refused(
    clinician: User, director: User, program: Program, facility: Facility, episode: EpisodeOfCare
) -> None:
    small = group(director, program, "Small group", capacity=1)
    s = schedule(director, small, clinician)
    other = admitted(facility, program, clinician, last_name="Okafor")
    services.enroll(actor=clinician, episode=other, schedule=s, start_date=MONDAY)
    response = signed_in(clinician).post(
        url("enroll", episode.patient), {"schedule": s.pk, "start_date": WEEK, "enroll": "1"}
    )
    assert response.status_code == 200
    assert "Small group is full (1 person)" in body(response)
    assert not Enrollment.objects.filter(episode=episode).exists()


def test_enrollment_twice_in_the_same_group_is_refused(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    services.enroll(actor=clinician, episode=episode, schedule=process, start_date=MONDAY)
    response = signed_in(clinician).post(
        url("enroll", episode.patient),
        {"schedule": process.pk, "start_date": WEEK, "enroll": "1"},
    )
    assert response.status_code == 200
    assert "already on this group&#x27;s roster" in body(response)
    assert Enrollment.objects.filter(episode=episode).count() == 1


def test_a_phase_mismatch_needs_a_reason_then_enrolls(
    clinician: User, director: User, program: Program, episode: EpisodeOfCare
) -> None:
    maintenance = program.phases.get(code="maintenance")
    later = group(director, program, "Maintenance group", phases=[maintenance])
    s = schedule(director, later, clinician)
    client = signed_in(clinician)
    data = {"schedule": s.pk, "start_date": WEEK, "enroll": "1"}
    first = client.post(url("enroll", episode.patient), data)
    assert first.status_code == 200
    page = body(first)
    assert "This group is for Maintenance; the patient is in another phase." in page
    assert "Enroll anyway — why?" in page
    assert not Enrollment.objects.exists()
    second = client.post(
        url("enroll", episode.patient),
        {**data, "override_reason": "Stable, ready for the maintenance group early."},
    )
    assert second.status_code == 302
    enrollment = Enrollment.objects.get(episode=episode)
    assert enrollment.schedule == s and enrollment.start_date == MONDAY
    assert enrollment.override_reason == "Stable, ready for the maintenance group early."


def test_the_planned_hours_follow_the_choice(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    client = signed_in(clinician)
    page = body(
        client.get(url("enroll", episode.patient) + f"?start_date={WEEK}&schedule={process.pk}")
    )
    assert "With this group" in page
    assert "<dd><strong>9 h</strong></dd>" in page  # three 3-hour sessions a week
    assert "Program minimum</dt><dd>9 h" in page
    partial = client.get(
        url("enroll", episode.patient) + f"?start_date={WEEK}&schedule={process.pk}&part=planned",
        HTTP_HX_REQUEST="true",
    )
    assert partial.status_code == 200
    assert "<html" not in body(partial) and 'id="planned"' in body(partial)
    assert "<dd><strong>9 h</strong></dd>" in body(partial)


def test_check_shows_the_hours_and_saves_nothing(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    response = signed_in(clinician).post(
        url("enroll", episode.patient), {"schedule": process.pk, "start_date": WEEK, "check": "1"}
    )
    assert response.status_code == 200
    assert "<dd><strong>9 h</strong></dd>" in body(response)
    assert not Enrollment.objects.exists()


def test_enrolling_works_and_shows_on_the_tab(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    client = signed_in(clinician)
    response = client.post(
        url("enroll", episode.patient), {"schedule": process.pk, "start_date": WEEK, "enroll": "1"}
    )
    assert response.status_code == 302
    assert Enrollment.objects.filter(episode=episode, schedule=process).exists()
    page = body(client.get(url("patient", episode.patient)))
    assert "Process group" in page and "Monday, Wednesday and Friday at 9:00 AM" in page


def test_the_front_desk_cannot_enroll(front_desk: User, episode: EpisodeOfCare) -> None:
    assert signed_in(front_desk).get(url("enroll", episode.patient)).status_code == 403


def test_leaving_a_group_asks_first_then_ends_it(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    enrollment = services.enroll(
        actor=clinician, episode=episode, schedule=process, start_date=MONDAY
    )
    client = signed_in(clinician)
    leave = url("leave", episode.patient, enrollment_pk=enrollment.pk)
    confirm = client.get(leave)
    assert confirm.status_code == 200 and "Take Test Rivera off Process group?" in body(confirm)
    enrollment.refresh_from_db()
    assert enrollment.end_date is None  # looking is not leaving
    refused = client.post(leave, {"end_date": "2026-03-20", "reason": ""})
    assert refused.status_code == 200 and "Say why the patient leaves the group." in body(refused)
    done = client.post(leave, {"end_date": "2026-03-20", "reason": "Moved to the evening track."})
    assert done.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.end_date == dt.date(2026, 3, 20)
    assert enrollment.end_reason == "Moved to the evening track."


def test_leaving_someone_elses_enrollment_is_404(
    clinician: User, program: Program, facility: Facility, episode: EpisodeOfCare, process: Schedule
) -> None:
    other = admitted(facility, program, clinician, last_name="Okafor")
    theirs = services.enroll(actor=clinician, episode=other, schedule=process, start_date=MONDAY)
    response = signed_in(clinician).get(url("leave", episode.patient, enrollment_pk=theirs.pk))
    assert response.status_code == 404


# --- the weekly sheet ----------------------------------------------------------------------------


def test_the_weekly_sheet_is_a_pdf_without_phi_in_its_name(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    services.enroll(actor=clinician, episode=episode, schedule=process, start_date=MONDAY)
    response = signed_in(clinician).get(url("sheet", episode.patient) + f"?week={WEEK}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == 'inline; filename="weekly-schedule.pdf"'
    event = last_event(action=AuditEvent.Action.PRINT, section="schedule")
    assert event.patient_id == episode.patient_id and event.detail["week"] == WEEK


def test_the_weekly_sheet_lists_the_week(
    clinician: User, episode: EpisodeOfCare, process: Schedule
) -> None:
    from django.template.loader import render_to_string

    from openiop.scheduling import selectors
    from openiop.scheduling.views_patient import _week

    services.enroll(actor=clinician, episode=episode, schedule=process, start_date=MONDAY)
    zone = episode.facility.zone
    html = render_to_string(
        "scheduling/patient/sheet.html",
        {
            "patient": episode.patient,
            "facility": episode.facility,
            "monday": MONDAY,
            "sunday": MONDAY + dt.timedelta(days=6),
            "week": _week(selectors.patient_week(episode.patient, MONDAY), MONDAY, zone),
            "zone": episode.facility.time_zone,
        },
    )
    assert "Test Rivera" in html and "Harbor Test Facility" in html
    assert html.count("Process group") == 3  # Monday, Wednesday, Friday
    assert "9:00 AM – 12:00 PM" in html and "Telehealth" in html


# --- calendar links ------------------------------------------------------------------------------


@pytest.fixture
def current(director: User, program: Program, clinician: User, facility: Facility) -> Schedule:
    """A group meeting this week and after (inside the feed's window), 6 pm Mon–Fri."""
    kind = group(director, program, "Evening process group", duration_minutes=120)
    return schedule(
        director,
        kind,
        clinician,
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        start_date=this_monday(facility),
        start_time=dt.time(18, 0),
    )


def test_making_a_patient_link_shows_it_once(
    clinician: User, episode: EpisodeOfCare, current: Schedule
) -> None:
    client = signed_in(clinician)
    response = client.post(url("feed_new", episode.patient), {"label": "Phone"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    address = response.context["address"]
    assert address.startswith("http://testserver/schedule/feed/") and address.endswith(".ics")
    page = body(response)
    assert address in page and "This link is shown only now." in page
    assert "initials only" in page
    feed = CalendarFeed.objects.get(patient=episode.patient)
    assert feed.label == "Phone" and feed.created_by == clinician
    # The tab lists it, without the address.
    tab = body(client.get(url("patient", episode.patient)))
    assert "Phone" in tab and "Stop this link" in tab and address not in tab


def test_a_too_long_link_name_is_shown_as_an_error_and_nothing_is_made(
    clinician: User, episode: EpisodeOfCare
) -> None:
    client = signed_in(clinician)
    response = client.post(url("feed_new", episode.patient), {"label": "x" * 101})
    assert response.status_code == 400
    page = body(response)
    assert "Ensure this value has at most 100 characters (it has 101)." in page
    assert "Schedule &amp; attendance" in page and "Make a calendar link" in page
    assert "address" not in response.context
    mine = client.post(reverse("scheduling:my_feed"), {"label": "y" * 101})
    assert mine.status_code == 400
    assert "Ensure this value has at most 100 characters (it has 101)." in body(mine)
    assert "address" not in mine.context
    assert not CalendarFeed.objects.exists()


def test_the_patient_feed_holds_initials_and_no_name(
    clinician: User, director: User, episode: EpisodeOfCare, current: Schedule
) -> None:
    services.enroll(
        actor=clinician, episode=episode, schedule=current, start_date=current.start_date
    )
    cancelled = session_on(current, current.start_date + dt.timedelta(days=14))
    services.cancel_session(actor=director, session=cancelled, reason="Staff training day")
    feed, token = services.create_feed(actor=clinician, patient=episode.patient)
    response = Client().get(reverse("scheduling:feed", args=[token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert text.count("BEGIN:VEVENT") >= 5
    assert "SUMMARY:Group session (T.R.)" in text
    assert "Rivera" not in text and "Test " not in text
    assert "Evening process group" not in text  # a patient feed does not name the group
    assert f"UID:session-{cancelled.pk}@openiop" in text
    block = text.split(f"UID:session-{cancelled.pk}@openiop")[1].split("END:VEVENT")[0]
    assert "STATUS:CANCELLED" in block
    assert "LOCATION:Telehealth" in text
    feed.refresh_from_db()
    assert feed.last_used_at is not None
    event = last_event(section="calendar feed", action=AuditEvent.Action.VIEW)
    assert event.actor_id is None and event.actor_label == "system"
    assert event.patient_id == episode.patient_id and event.object_id == str(feed.pk)


def test_a_stopped_or_unknown_link_answers_404_alike(
    clinician: User, episode: EpisodeOfCare
) -> None:
    feed, token = services.create_feed(actor=clinician, patient=episode.patient)
    client = signed_in(clinician)
    stop = url("feed_stop", episode.patient, feed_pk=feed.pk)
    assert "Stop this calendar link?" in body(client.get(stop))
    assert CalendarFeed.objects.get(pk=feed.pk).is_active  # looking is not stopping
    assert client.post(stop).status_code == 302
    assert not CalendarFeed.objects.get(pk=feed.pk).is_active
    anonymous = Client()
    revoked = anonymous.get(reverse("scheduling:feed", args=[token]))
    unknown = anonymous.get(reverse("scheduling:feed", args=["not-a-real-token"]))
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.content == unknown.content
    assert CalendarFeed.objects.get(pk=feed.pk).last_used_at is None


def test_the_auditor_and_outsiders_cannot_make_patient_links(
    auditor: User, other_clinician: User, episode: EpisodeOfCare
) -> None:
    assert signed_in(auditor).post(url("feed_new", episode.patient)).status_code == 403
    assert signed_in(other_clinician).post(url("feed_new", episode.patient)).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_my_calendar_link_shows_my_groups_and_initials_only(
    clinician: User, episode: EpisodeOfCare, current: Schedule, facility: Facility
) -> None:
    services.book_appointment(
        actor=clinician,
        episode=episode,
        kind="individual",
        staff=clinician,
        day=this_monday(facility) + dt.timedelta(days=7),
        start=dt.time(10, 0),
        minutes=50,
        telehealth=True,
    )
    client = signed_in(clinician)
    assert "You have no calendar link yet." in body(client.get(reverse("scheduling:my_feed")))
    made = client.post(reverse("scheduling:my_feed"), {"label": ""})
    assert made.status_code == 200
    address = made.context["address"]
    feed = CalendarFeed.objects.get(staff=clinician)
    text = Client().get(address.removeprefix("http://testserver")).content.decode()
    assert "SUMMARY:Evening process group" in text
    assert "SUMMARY:Appointment (T.R.)" in text
    assert "Rivera" not in text
    stop = reverse("scheduling:my_feed_stop", args=[feed.pk])
    assert client.post(stop).status_code == 302
    assert Client().get(address.removeprefix("http://testserver")).status_code == 404


def test_nobody_stops_someone_elses_link(
    clinician: User, director: User, episode: EpisodeOfCare
) -> None:
    feed, _token = services.create_feed(actor=director, staff=director)
    response = signed_in(clinician).post(reverse("scheduling:my_feed_stop", args=[feed.pk]))
    assert response.status_code == 404
    assert CalendarFeed.objects.get(pk=feed.pk).is_active


def test_the_places_taken_count_those_joining_later_as_the_capacity_rule_does(
    clinician: User, program: Program, facility: Facility, episode: EpisodeOfCare, process: Schedule
) -> None:
    later = admitted(facility, program, clinician, last_name="Okafor")
    services.enroll(
        actor=clinician, episode=later, schedule=process, start_date=MONDAY + dt.timedelta(days=14)
    )
    page = body(signed_in(clinician).get(url("enroll", episode.patient) + f"?start_date={WEEK}"))
    assert "1 / 12" in page  # the place is taken for every week from now on
