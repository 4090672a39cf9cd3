"""The daily jobs: the task on the worker and ``manage.py scheduling_daily`` make sessions
ahead and alert on the last full week below the minimum, once however often they run."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.notifications.models import Notification
from openiop.patients.models import ClinicalAlert
from openiop.scheduling import rules, services
from openiop.scheduling.models import Room, Schedule, Session
from openiop.scheduling.tasks import daily_scheduling_checks, job_day, run_daily_checks
from tests.admissions.factories import program_with_phases
from tests.factories import FacilityFactory
from tests.scheduling import factories as f
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db

NEXT_MONDAY = MONDAY + dt.timedelta(days=7)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def room_a(director: User, facility: Facility) -> Room:
    return f.room(director, facility)


@pytest.fixture
def mwf(director: User, program: Program, clinician: User, room_a: Room) -> Schedule:
    return f.schedule(director, f.group(director, program), clinician, where=room_a)


@pytest.fixture
def short_week(
    facility: Facility, program: Program, clinician: User, front_desk: User, mwf: Schedule
) -> EpisodeOfCare:
    """Attended only the Monday of the week of MONDAY: 3 h over 1 day, below the minimum."""
    episode = f.admitted(facility, program, clinician, "Rivera")
    f.came(front_desk, f.session_on(mwf, MONDAY), episode)
    return episode


def week_alerts() -> int:
    return ClinicalAlert.objects.filter(source_type=services.WEEK_SOURCE).count()


def test_the_task_checks_last_week_and_alerts_once(
    clinician: User, short_week: EpisodeOfCare
) -> None:
    first = daily_scheduling_checks.enqueue(day=NEXT_MONDAY.isoformat())
    assert first.return_value == {
        "day": "2026-03-09",
        "sessions_made": 0,  # already made 26 weeks ahead of the real today
        "week_checked": "2026-03-02",
        "week_alerts": 1,
    }
    again = daily_scheduling_checks.enqueue(day=NEXT_MONDAY.isoformat())
    assert again.return_value is not None and again.return_value["week_alerts"] == 0
    assert week_alerts() == 1
    assert Notification.objects.filter(recipient=clinician).count() == 1


def test_a_missed_monday_is_caught_up_later_in_the_week(short_week: EpisodeOfCare) -> None:
    wednesday = NEXT_MONDAY + dt.timedelta(days=2)
    result = run_daily_checks(wednesday)
    assert (result.week_checked, result.week_alerts) == ("2026-03-02", 1)
    assert run_daily_checks(NEXT_MONDAY).week_alerts == 0  # the Monday run, late: nothing new


def test_a_week_still_going_is_not_judged(short_week: EpisodeOfCare) -> None:
    sunday = MONDAY + dt.timedelta(days=6)
    assert run_daily_checks(sunday).week_checked == (MONDAY - dt.timedelta(days=7)).isoformat()
    judged = ClinicalAlert.objects.filter(source_type=services.WEEK_SOURCE).values_list(
        "source_id", flat=True
    )
    # The week before (no attendance at all) is over and alerted; this one is still going.
    assert list(judged) == [f"{short_week.pk}:{(MONDAY - dt.timedelta(days=7)).isoformat()}"]


def test_the_command_runs_the_same_and_prints_counts_only(short_week: EpisodeOfCare) -> None:
    out = io.StringIO()
    call_command("scheduling_daily", "--date", "2026-03-09", stdout=out)
    printed = out.getvalue()
    assert printed == (
        "Scheduling checks for 2026-03-09: 0 sessions made ahead; week of 2026-03-02 "
        "checked, 1 new alert below the minimum.\n"
    )
    patient = short_week.patient
    for private in (patient.last_name, patient.first_name, patient.mrn):
        assert private not in printed

    out = io.StringIO()
    call_command("scheduling_daily", "--date", "2026-03-09", stdout=out)
    assert "0 new alerts" in out.getvalue()
    assert week_alerts() == 1


def test_the_command_refuses_a_date_it_cannot_read() -> None:
    with pytest.raises(CommandError, match="--date needs a date like 2026-03-09"):
        call_command("scheduling_daily", "--date", "09/03/2026", stdout=io.StringIO())


def test_the_job_keeps_sessions_made_26_weeks_ahead(mwf: Schedule) -> None:
    made_through = mwf.materialized_through
    assert made_through is not None
    later = made_through - dt.timedelta(days=rules.HORIZON_DAYS) + dt.timedelta(days=14)
    horizon = later + dt.timedelta(days=rules.HORIZON_DAYS)
    assert not Session.objects.filter(schedule=mwf, service_date__gt=made_through).exists()

    result = run_daily_checks(later)

    assert result.sessions_made == 6  # two more weeks of Monday, Wednesday and Friday
    mwf.refresh_from_db()
    assert mwf.materialized_through == horizon
    newest = Session.objects.filter(schedule=mwf).order_by("-service_date").first()
    assert newest is not None and horizon - newest.service_date < dt.timedelta(days=7)
    count = Session.objects.filter(schedule=mwf).count()
    assert run_daily_checks(later).sessions_made == 0
    assert Session.objects.filter(schedule=mwf).count() == count


def test_without_a_date_the_day_is_the_earliest_among_the_facilities(db: None) -> None:
    FacilityFactory.create(time_zone="Pacific/Kiritimati")  # UTC+14
    FacilityFactory.create(time_zone="Pacific/Pago_Pago")  # UTC-11
    assert job_day() == timezone.localdate(timezone=zoneinfo.ZoneInfo("Pacific/Pago_Pago"))


def test_without_a_date_the_command_checks_the_last_full_week(
    facility: Facility, short_week: EpisodeOfCare
) -> None:
    out = io.StringIO()
    call_command("scheduling_daily", stdout=out)
    today = timezone.localdate(timezone=facility.zone)
    last_week = rules.week_start(today) - dt.timedelta(days=7)
    assert f"week of {last_week.isoformat()} checked" in out.getvalue()


def test_the_job_does_not_read_schedules_that_ended_with_all_their_sessions_made(
    director: User, program: Program, clinician: User, mwf: Schedule
) -> None:
    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            services.extend_sessions()  # the nightly call: each facility's own today
        return len(queries)

    before = cost()
    for n in range(4):
        ended = f.schedule(
            director,
            f.group(director, program, f"Old group {n}", duration_minutes=30),
            clinician,
            rrule="FREQ=WEEKLY;BYDAY=SA",
            start_time=dt.time(8 + n),
        )
        services.end_schedule(
            actor=director, schedule=ended, last_date=MONDAY + dt.timedelta(days=26), reason="Done"
        )
    assert cost() == before
