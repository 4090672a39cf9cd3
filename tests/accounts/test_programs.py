"""Programs, tracks and phases as an administrator sets them up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from openiop.accounts.models import Facility, Program, Track
from tests.factories import FacilityFactory, ProgramFactory


def test_it_refuses_an_adult_iop_of_eight_hours_a_week_naming_asam(facility: Facility) -> None:
    program = ProgramFactory.build(facility=facility, min_hours_per_week=Decimal("8"))
    with pytest.raises(ValidationError) as error:
        program.full_clean()
    assert error.value.message_dict["min_hours_per_week"] == [
        "Level 2.1 for adults needs at least 9 hours a week (ASAM)."
    ]


def test_it_accepts_the_default_adult_iop(facility: Facility) -> None:
    ProgramFactory.build(facility=facility).full_clean()


def test_it_refuses_php_hours_in_an_outpatient_program(facility: Facility) -> None:
    program = ProgramFactory.build(
        facility=facility,
        level_of_care=Program.LevelOfCare.OP,
        min_hours_per_week=Decimal("2"),
        max_hours_per_week=Decimal("20"),
    )
    with pytest.raises(ValidationError) as error:
        program.full_clean()
    assert "more is a higher level of care" in error.value.message_dict["max_hours_per_week"][0]


def test_it_refuses_an_unknown_time_zone(db: None) -> None:
    facility = FacilityFactory.build(time_zone="Mars/Olympus_Mons", code="MRS")
    facility.organization.save()
    facility.organization_id = facility.organization.pk
    with pytest.raises(ValidationError) as error:
        facility.full_clean()
    assert "time_zone" in error.value.message_dict


def test_it_refuses_a_facility_code_that_cannot_start_an_mrn(db: None) -> None:
    facility = FacilityFactory.create(code="OK1")
    facility.code = "ab-c"
    with pytest.raises(ValidationError) as error:
        facility.full_clean()
    assert error.value.message_dict["code"] == ["Use 2 to 8 capital letters or digits."]


def test_it_refuses_a_track_that_ends_before_it_starts(facility: Facility) -> None:
    program = ProgramFactory.create(facility=facility)
    track = Track(
        program=program,
        name="Evening",
        kind=Track.Kind.EVENING,
        start_time=dt.time(21, 0),
        end_time=dt.time(18, 0),
    )
    with pytest.raises(ValidationError) as error:
        track.full_clean()
    assert error.value.message_dict["end_time"] == ["The track must end after it starts."]


def test_it_refuses_a_track_that_ends_when_it_starts(facility: Facility) -> None:
    track = Track(
        program=ProgramFactory.create(facility=facility),
        name="Day",
        kind=Track.Kind.DAY,
        start_time=dt.time(9, 0),
        end_time=dt.time(9, 0),
    )
    with pytest.raises(ValidationError):
        track.full_clean()


def test_it_counts_the_hours_and_days_of_a_track(facility: Facility) -> None:
    track = Track(
        program=ProgramFactory.create(facility=facility),
        name="Day",
        kind=Track.Kind.DAY,
        start_time=dt.time(8, 30),
        end_time=dt.time(14, 15),
        weekdays="0,2,4",
    )
    track.full_clean()
    assert track.hours_per_day == Decimal("5.75")
    assert track.weekday_numbers == [0, 2, 4]


@pytest.mark.parametrize("weekdays", ["7", "0,,1", "mon", "0,1,"])
def test_it_refuses_weekdays_that_are_not_0_to_6(facility: Facility, weekdays: str) -> None:
    track = Track(
        program=ProgramFactory.create(facility=facility), name="Day", kind="day", weekdays=weekdays
    )
    with pytest.raises(ValidationError) as error:
        track.full_clean()
    assert "weekdays" in error.value.message_dict
