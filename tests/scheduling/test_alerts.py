"""The attendance alerts (issue 5, point 7): two unexcused absences in a row and a week below
the minimum alert the primary clinician once; 7 days without attendance puts a patient on
the at-risk list. Dates are in the past (the week of 2026-03-02) and passed explicitly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.notifications.models import Notification
from openiop.patients.alerts import acknowledge_alert
from openiop.patients.models import ClinicalAlert
from openiop.scheduling import rules, selectors, services
from openiop.scheduling.models import Attendance, Room, Schedule, Session
from tests.admissions.factories import episode as make_episode
from tests.admissions.factories import program_with_phases
from tests.factories import CareTeamMemberFactory, PatientFactory, UserFactory
from tests.scheduling import factories as f
from tests.scheduling.factories import MONDAY

pytestmark = pytest.mark.django_db

WEDNESDAY = MONDAY + dt.timedelta(days=2)
FRIDAY = MONDAY + dt.timedelta(days=4)
NEXT_MONDAY = MONDAY + dt.timedelta(days=7)


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def room_a(director: User, facility: Facility) -> Room:
    return f.room(director, facility)


@pytest.fixture
def mwf(director: User, program: Program, clinician: User, room_a: Room) -> Schedule:
    """A 3-hour process group, Monday, Wednesday and Friday at 9:00."""
    return f.schedule(director, f.group(director, program), clinician, where=room_a)


@pytest.fixture
def counselor(facility: Facility) -> User:
    """Another clinician on the patient's care team, who is not the primary clinician."""
    return UserFactory.create(
        email="counselor@example.org", role=Role.CLINICIAN, facilities=[facility]
    )


@pytest.fixture
def ep(
    facility: Facility, program: Program, clinician: User, counselor: User, mwf: Schedule
) -> EpisodeOfCare:
    episode = f.admitted(facility, program, clinician, "Rivera")
    CareTeamMemberFactory.create(patient=episode.patient, user=counselor)
    f.enrolled(clinician, episode, mwf)
    return episode


def attendance_alerts(episode: EpisodeOfCare, source: str) -> list[ClinicalAlert]:
    return list(
        ClinicalAlert.objects.filter(
            patient=episode.patient, kind=ClinicalAlert.Kind.ATTENDANCE, source_type=source
        )
    )


# --- two unexcused absences in a row -------------------------------------------------------------


def test_it_alerts_the_primary_clinician_once_after_two_unexcused_absences_in_a_row(
    front_desk: User,
    clinician: User,
    counselor: User,
    director: User,
    mwf: Schedule,
    ep: EpisodeOfCare,
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep, status="unexcused")
    assert attendance_alerts(ep, services.UNEXCUSED_SOURCE) == []
    assert not Notification.objects.exists()

    f.came(front_desk, f.session_on(mwf, WEDNESDAY), ep, status="unexcused")

    [alert] = attendance_alerts(ep, services.UNEXCUSED_SOURCE)
    assert alert.message == "2 unexcused absences in a row."
    [notice] = Notification.objects.all()
    assert notice.recipient == clinician  # the primary clinician, and only them
    assert ep.patient.mrn in notice.message
    assert ep.patient.last_name not in notice.message
    assert not Notification.objects.filter(recipient__in=[counselor, director]).exists()

    # A third in a row is the same streak: no second alert while the first is open.
    f.came(front_desk, f.session_on(mwf, FRIDAY), ep, status="unexcused")
    assert len(attendance_alerts(ep, services.UNEXCUSED_SOURCE)) == 1
    assert Notification.objects.count() == 1


def test_after_the_alert_is_acknowledged_only_a_new_absence_alerts_again(
    front_desk: User, clinician: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep, status="unexcused")
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), ep, status="unexcused")
    [alert] = attendance_alerts(ep, services.UNEXCUSED_SOURCE)
    acknowledge_alert(actor=clinician, alert=alert, action_taken="Called; car broke down.")

    # The same streak looked at again (another save, a correction): nothing new.
    assert services.check_unexcused_streaks([ep], actor=front_desk) == 0
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), ep, status="unexcused", note="No call.")
    assert len(attendance_alerts(ep, services.UNEXCUSED_SOURCE)) == 1

    # Another unexcused absence after the clinician has acted: they hear about it again.
    f.came(front_desk, f.session_on(mwf, FRIDAY), ep, status="unexcused")
    alerts = attendance_alerts(ep, services.UNEXCUSED_SOURCE)
    assert sorted(a.message for a in alerts) == [
        "2 unexcused absences in a row.",
        "3 unexcused absences in a row.",
    ]
    assert Notification.objects.filter(recipient=clinician).count() == 2


def test_a_cancelled_session_in_between_does_not_break_the_streak(
    front_desk: User, director: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep, status="unexcused")
    wednesday = services.cancel_session(
        actor=director, session=f.session_on(mwf, WEDNESDAY), reason="Snow day"
    )
    f.came(front_desk, wednesday, ep, status="cancelled")
    assert attendance_alerts(ep, services.UNEXCUSED_SOURCE) == []

    f.came(front_desk, f.session_on(mwf, FRIDAY), ep, status="unexcused")

    [alert] = attendance_alerts(ep, services.UNEXCUSED_SOURCE)
    assert alert.message == "2 unexcused absences in a row."


def test_an_excused_absence_in_between_breaks_the_streak(
    front_desk: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep, status="unexcused")
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), ep, status="excused")
    f.came(front_desk, f.session_on(mwf, FRIDAY), ep, status="unexcused")

    assert attendance_alerts(ep, services.UNEXCUSED_SOURCE) == []
    assert not Notification.objects.exists()


def test_attending_in_between_breaks_the_streak(
    front_desk: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep, status="unexcused")
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), ep, status="late")
    f.came(front_desk, f.session_on(mwf, FRIDAY), ep, status="unexcused")

    assert attendance_alerts(ep, services.UNEXCUSED_SOURCE) == []


def test_each_patient_of_a_group_has_their_own_streak(
    front_desk: User,
    clinician: User,
    facility: Facility,
    program: Program,
    mwf: Schedule,
    ep: EpisodeOfCare,
) -> None:
    other = f.admitted(facility, program, clinician, "Okafor")
    f.enrolled(clinician, other, mwf)
    monday, wednesday = f.session_on(mwf, MONDAY), f.session_on(mwf, WEDNESDAY)
    services.save_group_attendance(
        actor=front_desk,
        session=monday,
        lines=[
            services.Line(patient_id=ep.patient_id, status="unexcused"),
            services.Line(patient_id=other.patient_id, status="present"),
        ],
    )
    services.save_group_attendance(
        actor=front_desk,
        session=wednesday,
        lines=[
            services.Line(patient_id=ep.patient_id, status="unexcused"),
            services.Line(patient_id=other.patient_id, status="unexcused"),
        ],
    )

    assert len(attendance_alerts(ep, services.UNEXCUSED_SOURCE)) == 1
    assert attendance_alerts(other, services.UNEXCUSED_SOURCE) == []


# --- a week below the minimum --------------------------------------------------------------------


def test_a_week_below_the_minimum_alerts_the_primary_clinician_once(
    front_desk: User, clinician: User, counselor: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    # Two service days of three hours: 6 h over 2 days, the program asks 9 h over 3.
    f.came(front_desk, f.session_on(mwf, MONDAY), ep)
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), ep)

    assert services.check_week(week=MONDAY) == 1
    assert services.check_week(week=MONDAY) == 0  # the nightly job may run twice

    [alert] = attendance_alerts(ep, services.WEEK_SOURCE)
    assert alert.message.startswith("Week of Mar 2 below the program minimum: 6 h over 2")
    assert "1 more service day" in alert.message
    [notice] = Notification.objects.all()
    assert notice.recipient == clinician
    assert not Notification.objects.filter(recipient=counselor).exists()


def test_any_day_of_the_week_names_the_same_week(
    front_desk: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep)

    assert services.check_week(week=FRIDAY) == 1
    assert services.check_week(week=MONDAY) == 0
    assert len(attendance_alerts(ep, services.WEEK_SOURCE)) == 1


def test_a_week_that_meets_the_minimum_does_not_alert(
    front_desk: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    for day in (MONDAY, WEDNESDAY, FRIDAY):  # 3 service days, 9 h: exactly the minimum
        f.came(front_desk, f.session_on(mwf, day), ep)

    assert services.check_week(week=MONDAY) == 0
    assert attendance_alerts(ep, services.WEEK_SOURCE) == []
    assert not Notification.objects.exists()


def test_a_week_the_patient_was_admitted_in_is_not_judged(
    front_desk: User, clinician: User, facility: Facility, program: Program
) -> None:
    patient = PatientFactory.create(facility=facility, status="active")
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    make_episode(patient, program, clinician, admission_date=WEDNESDAY)

    assert services.check_week(week=MONDAY) == 0
    assert not ClinicalAlert.objects.exists()


def test_the_next_week_below_the_minimum_alerts_again(
    front_desk: User, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep)
    f.came(front_desk, f.session_on(mwf, NEXT_MONDAY), ep)

    assert services.check_week(week=MONDAY) == 1
    assert services.check_week(week=NEXT_MONDAY) == 1
    assert len(attendance_alerts(ep, services.WEEK_SOURCE)) == 2


# --- at risk: no attendance for 7 days -----------------------------------------------------------


def at_risk_patients(user: User, facility: Facility, today: dt.date) -> list[int]:
    return [r.episode.patient_id for r in selectors.at_risk(user, facility, today)]


def test_7_days_without_attendance_puts_a_patient_at_risk_and_6_does_not(
    front_desk: User, clinician: User, facility: Facility, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep)

    assert at_risk_patients(clinician, facility, MONDAY + dt.timedelta(days=6)) == []
    [row] = selectors.at_risk(clinician, facility, MONDAY + dt.timedelta(days=7))
    assert row.episode.patient_id == ep.patient_id
    assert (row.last_attended, row.days_since) == (MONDAY, 7)


def test_an_absence_is_not_attendance(
    front_desk: User, clinician: User, facility: Facility, mwf: Schedule, ep: EpisodeOfCare
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep)
    f.came(front_desk, f.session_on(mwf, WEDNESDAY), ep, status="excused")

    [row] = selectors.at_risk(clinician, facility, MONDAY + dt.timedelta(days=7))
    assert row.last_attended == MONDAY


def test_never_attending_puts_a_patient_at_risk_after_7_days_in_care(
    clinician: User, facility: Facility, program: Program
) -> None:
    patient = PatientFactory.create(facility=facility, status="active")
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    make_episode(patient, program, clinician, admission_date=MONDAY)

    assert at_risk_patients(clinician, facility, MONDAY + dt.timedelta(days=6)) == []
    [row] = selectors.at_risk(clinician, facility, MONDAY + dt.timedelta(days=7))
    assert row.episode.patient_id == patient.pk
    assert row.last_attended is None and row.days_since is None
    assert rules.is_at_risk(None, row.episode.days_in_treatment(MONDAY + dt.timedelta(days=7)))


def test_the_at_risk_list_is_only_the_patients_the_user_may_see(
    front_desk: User,
    clinician: User,
    facility: Facility,
    program: Program,
    mwf: Schedule,
    ep: EpisodeOfCare,
    other_clinician: User,
) -> None:
    someone_else = UserFactory.create(role=Role.CLINICIAN, facilities=[facility])
    theirs = f.admitted(facility, program, someone_else, "Okafor")
    f.came(front_desk, f.session_on(mwf, MONDAY), ep)
    later = MONDAY + dt.timedelta(days=10)

    assert at_risk_patients(clinician, facility, later) == [ep.patient_id]
    assert at_risk_patients(someone_else, facility, later) == [theirs.patient_id]
    assert at_risk_patients(other_clinician, facility, later) == []


def test_a_long_attendance_history_does_not_hide_another_patients_streak(
    front_desk: User,
    clinician: User,
    facility: Facility,
    program: Program,
    mwf: Schedule,
    ep: EpisodeOfCare,
) -> None:
    """Two patients of one group reach two unexcused absences in the same save; the first
    has months of attendance behind them, which must not crowd out the second's record."""
    other = f.admitted(facility, program, clinician, "Okafor")
    f.enrolled(clinician, other, mwf)
    assert ep.pk < other.pk
    past = list(
        Session.objects.filter(schedule=mwf, ends_at__lt=timezone.now()).order_by("starts_at")
    )
    assert len(past) >= 102
    history, (first, second) = past[:100], past[-2:]
    Attendance.objects.bulk_create(
        Attendance(
            session=s,
            episode=ep,
            patient_id=ep.patient_id,
            facility=facility,
            service_date=s.service_date,
            status="present",
            minutes=s.minutes,
            recorded_by=front_desk,
        )
        for s in history
    )
    for session in (first, second):
        f.came(front_desk, session, ep, other, status="unexcused")

    assert len(attendance_alerts(ep, services.UNEXCUSED_SOURCE)) == 1
    assert len(attendance_alerts(other, services.UNEXCUSED_SOURCE)) == 1


@pytest.mark.parametrize(("discharged", "judged"), [(6, True), (5, False)])
def test_a_patient_discharged_on_the_sunday_was_in_care_all_week(
    front_desk: User, mwf: Schedule, ep: EpisodeOfCare, discharged: int, judged: bool
) -> None:
    f.came(front_desk, f.session_on(mwf, MONDAY), ep)
    EpisodeOfCare.objects.filter(pk=ep.pk).update(
        discharge_date=MONDAY + dt.timedelta(days=discharged)
    )
    assert services.check_week(week=MONDAY) == (1 if judged else 0)
