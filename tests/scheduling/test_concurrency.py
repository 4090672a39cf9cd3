"""Two people saving the same group's attendance at once, on PostgreSQL: real threads,
each with its own connection. Nothing is lost and nothing is duplicated.

SQLite runs writers one at a time (BEGIN IMMEDIATE), so the race is PostgreSQL's; the
PostgreSQL run (make pytest-postgres, mandatory with OPENIOP_REQUIRE_POSTGRES=1) runs it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.scheduling import services
from openiop.scheduling.models import Attendance, DoseDay, Session
from openiop.scheduling.services import AttendanceRefused, Line
from tests.admissions.factories import program_with_phases
from tests.scheduling import factories as f
from tests.scheduling.factories import MONDAY

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Concurrent saves need PostgreSQL's row locks (run with DATABASE_URL=postgres://…)",
    ),
    pytest.mark.django_db(transaction=True),
]


def race(*jobs: Callable[[], Any]) -> list[Any]:
    """Run the jobs in threads released together; each result or the exception raised."""
    start = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(n: int, job: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=10)
            results[n] = job()
        except Exception as error:  # handed back to the test
            results[n] = error
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a save never finished"
    return results


@pytest.fixture
def group_session(
    facility: Facility, director: User, clinician: User
) -> tuple[Session, list[EpisodeOfCare]]:
    program = program_with_phases(facility)
    schedule = f.schedule(director, f.group(director, program), clinician)
    episodes = [f.admitted(facility, program, clinician, name) for name in ("Adams", "Baker")]
    for e in episodes:
        f.enrolled(clinician, e, schedule)
    return f.session_on(schedule, MONDAY), episodes


def test_two_saves_of_the_same_screen_one_wins_the_other_is_told(
    group_session: tuple[Session, list[EpisodeOfCare]], clinician: User, front_desk: User
) -> None:
    session, (adams, baker) = group_session

    def save(actor: User, status: str) -> list[Attendance]:
        return services.save_group_attendance(
            actor=actor,
            session=session,
            revision=0,  # both screens were opened before anyone saved
            lines=[
                Line(patient_id=adams.patient_id, status=status),
                Line(patient_id=baker.patient_id, status="present"),
            ],
        )

    results = race(lambda: save(clinician, "present"), lambda: save(front_desk, "unexcused"))
    won = [r for r in results if isinstance(r, list)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], AttendanceRefused) and lost[0].code == "stale"
    assert Attendance.objects.filter(session=session).count() == 2
    winner_status = {r.patient_id: r.status for r in won[0]}[adams.patient_id]
    assert Attendance.objects.get(session=session, patient_id=adams.patient_id).status == (
        winner_status
    )
    expected = 180 if winner_status == "present" else 0
    assert DoseDay.objects.get(episode=adams).minutes == expected
    assert DoseDay.objects.get(episode=baker).minutes == 180
    assert DoseDay.objects.count() == 2
    assert Session.objects.get(pk=session.pk).attendance_revision == 1


def test_two_saves_without_a_revision_both_land_one_row_each(
    group_session: tuple[Session, list[EpisodeOfCare]], clinician: User, front_desk: User
) -> None:
    session, (adams, baker) = group_session

    def save(actor: User, minutes: int) -> list[Attendance]:
        return services.save_group_attendance(
            actor=actor,
            session=session,
            lines=[
                Line(patient_id=adams.patient_id, status="left_early", minutes=minutes),
                Line(patient_id=baker.patient_id, status="present"),
            ],
        )

    results = race(lambda: save(clinician, 120), lambda: save(front_desk, 150))
    assert all(isinstance(r, list) for r in results), results
    rows = Attendance.objects.filter(session=session)
    assert rows.count() == 2
    adams_row = rows.get(patient_id=adams.patient_id)
    assert adams_row.minutes in (120, 150)  # the later save
    assert DoseDay.objects.get(episode=adams).minutes == adams_row.minutes
    assert DoseDay.objects.get(episode=baker).minutes == 180
    assert DoseDay.objects.count() == 2
    assert Session.objects.get(pk=session.pk).attendance_revision == 2
