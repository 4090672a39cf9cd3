"""The IOP week built through the services, so tests start from states the product reaches."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openiop.accounts.models import Credential, Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient
from openiop.scheduling import services
from openiop.scheduling.models import Attendance, Enrollment, GroupType, Room, Schedule, Session
from tests.admissions.factories import episode
from tests.factories import CareTeamMemberFactory, PatientFactory

MONDAY = dt.date(2026, 3, 2)  # the week before daylight saving starts in Los Angeles


def room(director: User, facility: Facility, name: str = "Room A") -> Room:
    return services.save_room(actor=director, facility=facility, data={"name": name})


def group(director: User, program: Program, name: str = "Process group", **data: Any) -> GroupType:
    values: dict[str, Any] = {"name": name, "kind": "process", "duration_minutes": 180}
    values.update(data)
    return services.save_group_type(actor=director, program=program, data=values)


def schedule(
    director: User,
    group_type: GroupType,
    facilitator: User,
    *,
    where: Room | None = None,
    rrule: str = "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    start_date: dt.date = MONDAY,
    start_time: dt.time = dt.time(9, 0),
    **data: Any,
) -> Schedule:
    values: dict[str, Any] = {
        "rrule": rrule,
        "start_date": start_date,
        "start_time": start_time,
        "room": where,
        "telehealth": where is None,
        "facilitator": facilitator,
    }
    values.update(data)
    return services.create_schedule(actor=director, group=group_type, data=values)


def admitted(
    facility: Facility, program: Program, clinician: User, last_name: str = "Rivera", **patient: Any
) -> EpisodeOfCare:
    p: Patient = PatientFactory.create(
        facility=facility, first_name="Test", last_name=last_name, status="active", **patient
    )
    CareTeamMemberFactory.create(patient=p, user=clinician)
    return episode(p, program, clinician, admission_date=dt.date(2026, 1, 5))


def session_on(schedule_: Schedule, day: dt.date) -> Session:
    return Session.objects.get(schedule=schedule_, occurrence_date=day)


# --- added for the domain tests (test_services, test_selectors, test_concurrency) ---------------


def credential(user: User, kind: str = "CADC") -> Credential:
    return Credential.objects.create(user=user, kind=kind)


def enrolled(
    actor: User, episode_: EpisodeOfCare, schedule_: Schedule, start: dt.date = MONDAY
) -> Enrollment:
    return services.enroll(actor=actor, episode=episode_, schedule=schedule_, start_date=start)


def came(
    actor: User, session: Session, *episodes: EpisodeOfCare, status: str = "present", **line: Any
) -> list[Attendance]:
    """Everyone given attended the session with the same status."""
    return services.save_group_attendance(
        actor=actor,
        session=session,
        lines=[services.Line(patient_id=e.patient_id, status=status, **line) for e in episodes],
    )
