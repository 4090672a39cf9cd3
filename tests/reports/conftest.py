"""The cast of the report tests: a facility with two programs, readers of every role, a
facility of another organization whose figures must never count, and helpers that write
stays, discharges, attendance and dose days straight to the database (reports only read).

``report_dataset`` is a small hand-built program history relative to a given "today"; the
figures each report must give on it are written down in ``tests/reports/test_operations.py``.
Other report tests (clinical reports, exports, the API) may use these fixtures too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.discharge import rules as discharge_rules
from openiop.discharge.models import Discharge
from openiop.scheduling.models import Appointment, Attendance, DoseDay
from openiop.scheduling.rules import week_start
from tests.admissions.factories import episode as make_episode
from tests.admissions.factories import program_with_phases
from tests.factories import FacilityFactory, OrganizationFactory, PatientFactory, UserFactory

# A fixed "today" for tests that call the reports directly (a Tuesday).
TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def program(facility: Facility) -> Program:
    """Adult IOP: 3 h a day, 3 service days and 9 h a week, at most 19 h."""
    return program_with_phases(facility, name="Adult IOP")


@pytest.fixture
def second_program(facility: Facility) -> Program:
    """Evening IOP at the same facility: 2 h a day, 3 days and 6 h a week."""
    return program_with_phases(
        facility,
        name="Evening IOP",
        min_hours_per_day=2,
        min_days_per_week=3,
        min_hours_per_week=6,
        max_hours_per_week=None,
    )


@pytest.fixture
def foreign_facility(db: None) -> Facility:
    """A facility of another organization: nothing of it may show in our reports."""
    return FacilityFactory.create(
        organization=OrganizationFactory.create(name="Another Recovery Group"),
        name="Elsewhere Facility",
        code="ELS",
    )


@pytest.fixture
def foreign_program(foreign_facility: Facility) -> Program:
    return program_with_phases(foreign_facility, name="Their IOP")


@pytest.fixture
def supervisor(facility: Facility) -> User:
    return UserFactory.create(
        email="supervisor@example.org",
        role=Role.CLINICAL_SUPERVISOR,
        facilities=[facility],
        first_name="Sam",
        last_name="Supervisor",
    )


@pytest.fixture
def alumni_coordinator(facility: Facility) -> User:
    return UserFactory.create(
        email="alumni@example.org", role=Role.ALUMNI_COORDINATOR, facilities=[facility]
    )


@dataclass
class Stays:
    """Writes a program history straight to the database (what the services leave)."""

    actor: User
    made: list[EpisodeOfCare] = field(default_factory=list)

    def stay(
        self,
        program: Program,
        admitted: dt.date,
        discharged: dt.date | None = None,
        *,
        reason: str = "completed",
        clinician: User | None = None,
    ) -> EpisodeOfCare:
        """An episode admitted on ``admitted`` (and discharged, with its Discharge row)."""
        facility = program.facility
        patient = PatientFactory.create(facility=facility, last_name="Reportcase")
        ep = make_episode(
            patient,
            program,
            clinician or self.actor,
            admission_date=admitted,
            discharge_date=discharged,
        )
        if discharged is not None:
            Discharge.objects.create(
                episode=ep,
                patient=patient,
                facility=facility,
                discharge_date=discharged,
                reason_key=reason,
                reason=discharge_rules.teds_reason(reason),
                step_down="none" if reason in ("died", "incarcerated") else "outpatient",
                created_by=self.actor,
            )
        self.made.append(ep)
        return ep

    def attend(
        self, ep: EpisodeOfCare, day: dt.date, status: str = "present", minutes: int = 180
    ) -> Attendance:
        """One appointment on the day and the person's attendance at it."""
        starts = dt.datetime.combine(day, dt.time(9, 0), tzinfo=ep.facility.zone)
        appointment = Appointment.objects.create(
            facility=ep.facility,
            episode=ep,
            patient=ep.patient,
            kind=Appointment.Kind.INDIVIDUAL,
            staff=self.actor,
            starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=max(minutes, 60)),
            service_date=day,
            status=(
                Appointment.Status.CANCELLED
                if status == Attendance.Status.CANCELLED
                else Appointment.Status.COMPLETED
            ),
        )
        return Attendance.objects.create(
            appointment=appointment,
            episode=ep,
            patient=ep.patient,
            facility=ep.facility,
            service_date=day,
            status=status,
            minutes=minutes if status in ("present", "late", "left_early") else 0,
            recorded_by=self.actor,
        )

    def dose(self, ep: EpisodeOfCare, *days: tuple[dt.date, int]) -> None:
        """Minutes attended per day, as the attendance service keeps them."""
        DoseDay.objects.bulk_create(
            DoseDay(
                episode=ep,
                patient=ep.patient,
                facility=ep.facility,
                date=day,
                week_start=week_start(day),
                minutes=minutes,
            )
            for day, minutes in days
        )


@pytest.fixture
def stays(director: User) -> Stays:
    return Stays(director)


@dataclass
class Dataset:
    today: dt.date
    episodes: dict[str, EpisodeOfCare]


def build_dataset(
    stays: Stays,
    program: Program,
    second_program: Program,
    foreign_program: Program,
    today: dt.date,
    clinicians: tuple[User, User],
) -> Dataset:
    """A small program history, dated back from ``today`` (figures in test_operations.py).

    Eight episodes at our facility, one at another organization's facility that must never
    count. ``d(n)`` is ``n`` days before today."""

    def d(n: int) -> dt.date:
        return today - dt.timedelta(days=n)

    first, second = clinicians
    s = stays.stay
    eps = {
        # Open since 200 days: in care, reached day 90, retained.
        "open_long": s(program, d(200), clinician=first),
        # Day 90 exactly: admitted 180 days ago, discharged 89 days later (retained).
        "day90": s(program, d(180), d(91), reason="completed", clinician=first),
        # Day 89: discharged 88 days after admission (not retained).
        "day89": s(program, d(180), d(92), reason="left_against_advice", clinician=second),
        # Same-day discharge (LOS 0, TEDS 1–30 group), dropped out.
        "same_day": s(program, d(40), d(40), reason="stopped_attending", clinician=second),
        # 30 and 31 days: either side of the first LOS boundary.
        "los30": s(program, d(60), d(30), reason="completed_step_down", clinician=first),
        "los31": s(second_program, d(50), d(19), reason="transferred_out", clinician=second),
        # Admitted 20 days ago: not at day 90 yet.
        "recent": s(program, d(20), clinician=first),
        # Admitted today.
        "today": s(second_program, d(0), clinician=second),
        # Another organization: never counted.
        "foreign": s(foreign_program, d(60), d(10), reason="completed", clinician=first),
    }
    return Dataset(today, eps)


@pytest.fixture
def make_dataset(
    stays: Stays,
    program: Program,
    second_program: Program,
    foreign_program: Program,
    director: User,
    clinician: User,
) -> Callable[..., Dataset]:
    def make(today: dt.date = TODAY) -> Dataset:
        return build_dataset(
            stays, program, second_program, foreign_program, today, (clinician, director)
        )

    return make


@pytest.fixture
def report_dataset(make_dataset: Callable[..., Dataset]) -> Dataset:
    """The dataset at the fixed ``TODAY`` (for reports called directly)."""
    return make_dataset(TODAY)


@pytest.fixture
def live_dataset(make_dataset: Callable[..., Dataset], facility: Facility) -> Dataset:
    """The dataset dated back from the facility's real local date (for pages)."""
    return make_dataset(timezone.localdate(timezone=facility.zone))
