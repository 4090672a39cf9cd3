"""The demo's IOP week: a catalog of every kind of group, schedules on the day and night
tracks, eligible enrollments, six weeks of attendance that give a dose report with every
status, an at-risk patient, an attendance alert and appointments past and upcoming."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.patients.models import ClinicalAlert
from openiop.scheduling import rules, selectors
from openiop.scheduling.models import (
    Appointment,
    Attendance,
    DoseDay,
    Enrollment,
    GroupKind,
    GroupType,
    Room,
    Schedule,
    Session,
    Specialty,
)
from openiop.scheduling.services import person_of
from openiop.synthetic.demo import load_demo


def test_the_demo_has_a_living_iop_week(db: None) -> None:
    load_demo()
    facility = Facility.objects.get(code="HLC")
    director = User.objects.get(email="director@example.org")
    today = timezone.localdate(timezone=facility.zone)
    last_monday = rules.week_start(today) - dt.timedelta(days=7)

    assert set(Room.objects.values_list("name", flat=True)) == {
        "Group room A",
        "Group room B",
        "Family room",
    }
    iop = GroupType.objects.filter(program__level_of_care="2.1")
    assert set(iop.values_list("kind", flat=True)) == set(GroupKind.values)
    assert set(iop.values_list("specialty", flat=True)) == set(Specialty.values)
    early = iop.get(name="Early-recovery skills")
    assert {p.code for p in early.phases.all()} == {"engagement", "early_recovery"}
    assert early.topics.count() >= 5  # a curriculum
    # Every program has groups on the calendar; the IOP on both tracks.
    for program in Program.objects.filter(facility=facility):
        assert Schedule.objects.filter(group__program=program).exists(), program.name
    iop_schedules = Schedule.objects.filter(group__program__level_of_care="2.1")
    assert set(iop_schedules.values_list("track__kind", flat=True)) >= {"day", "evening"}
    assert iop_schedules.filter(telehealth=True).exists()
    # A telehealth-only group has no room (the calendar says "Telehealth" once).
    assert iop_schedules.filter(telehealth=True, room__isnull=True).exists()
    assert Session.objects.filter(service_date__gt=today).exists()  # sessions ahead
    assert Session.objects.filter(status="cancelled").exists()  # a staff training morning

    # Enrollments respect eligibility: nobody is on a group they may not join.
    enrollments = Enrollment.objects.select_related("schedule__group", "patient")
    assert enrollments.count() >= 40
    specialized = [e for e in enrollments if e.schedule.group.specialty]
    assert specialized
    for e in specialized:
        assert rules.eligibility_error(e.schedule.group.specialty, person_of(e.patient)) is None

    # Attendance of every kind, and the dose kept in step with it.
    statuses = set(Attendance.objects.values_list("status", flat=True))
    assert statuses == set(Attendance.Status.values)
    assert Attendance.objects.filter(drop_in=True).exists()
    assert not Attendance.objects.filter(service_date__gt=today).exists()
    assert DoseDay.objects.exists()
    first = Attendance.objects.filter(session__isnull=False).select_related("session").first()
    assert first is not None and first.recorded_at == first.session.ends_at  # type: ignore[union-attr]

    # Last week's dose report: every status on the page.
    rows = selectors.facility_week_dose(director, facility, last_monday)
    assert {row.status for row in rows} == set(rules.WeekStatus)
    # Someone has not come for more than a week; someone missed twice in a row.
    risky = selectors.at_risk(director, facility, today)
    assert any(r.days_since is not None and r.days_since >= 8 for r in risky)
    # Only the story's patient missed twice in a row: the others on those groups did not.
    assert ClinicalAlert.objects.filter(source_type="scheduling.unexcused").count() == 1
    assert ClinicalAlert.objects.filter(source_type="scheduling.week").exists()

    # Appointments: done and coming up, a family session with a support contact.
    appointments = Appointment.objects.all()
    kinds = set(appointments.values_list("kind", flat=True))
    assert {"individual", "family", "drug_test"} <= kinds
    assert appointments.filter(status="completed", attendance__isnull=False).exists()
    assert appointments.filter(status="scheduled", starts_at__gt=timezone.now()).exists()
    family = appointments.filter(kind="family", participants__isnull=False)
    assert family.exists()
    for appointment in family:
        assert {c.patient_id for c in appointment.participants.all()} == {appointment.patient_id}
    assert appointments.filter(status="rescheduled", rescheduled_to__isnull=False).exists()
