"""The demo's clinical documentation and recovery tracking (issue 6): group notes in every
state, individual, family and case-management notes, drug tests with an expected and two
unexpected results, orders due today, mutual-help meetings with signed slips, a relapse
that starts the sobriety date again, family members at family education.

The demo is loaded once for the module (it takes seconds) and rolled back at the end; each
test runs in its own savepoint inside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django import DjangoDbBlocker

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.attachments import storage
from openiop.attachments.models import Attachment
from openiop.measures.models import InstrumentSchedule
from openiop.notes import selectors as note_selectors
from openiop.notes.models import Addendum, Cosignature, GroupNote, GroupNoteEntry, Note
from openiop.notes.services import ATTENDED
from openiop.patients.models import ClinicalAlert
from openiop.recovery import rules as recovery_rules
from openiop.recovery import selectors as recovery_selectors
from openiop.recovery.models import (
    ClinicalResponse,
    DrugTest,
    DrugTestOrder,
    DrugTestResult,
    Meeting,
    Prescription,
    RelapseEvent,
    SobrietyDate,
)
from openiop.recovery.services import ALERT_SOURCE, current_sobriety
from openiop.scheduling import family
from openiop.scheduling.models import Attendance, FamilyAttendance
from openiop.synthetic.demo import DEMO_PASSWORD, load_demo


@pytest.fixture(scope="module")
def demo(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """The demo, loaded once for this module; returns the attachments folder it used."""
    folder = tmp_path_factory.mktemp("attachments")
    with (
        django_db_blocker.unblock(),
        override_settings(OPENIOP_ATTACHMENTS_DIR=folder),
        transaction.atomic(),
    ):
        load_demo()
        yield folder
        transaction.set_rollback(True)


@pytest.fixture
def facility(demo: Path, db: None) -> Facility:
    return Facility.objects.get(code="HLC")


def _today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def test_most_groups_of_the_past_two_weeks_have_a_note(facility: Facility) -> None:
    now = timezone.now()
    notes = GroupNote.objects.select_related("session__group")
    assert notes.count() >= 20
    assert all(n.service_date >= _today(facility) - dt.timedelta(days=14) for n in notes)
    assert not notes.filter(session__group__kind="mutual_help").exists()  # peer-led
    signed = notes.filter(signed_at__isnull=False)
    unsigned = notes.filter(signed_at__isnull=True)
    assert signed.count() > unsigned.count() >= 2
    # Signed by the facilitator, the day of the group (the late entry aside).
    for note in signed.filter(late_entry=False):
        assert note.author_id == note.session.facilitator_id == note.signed_by_id
        assert note.signed_at is not None
        written, signed_at = note.created_at, note.signed_at
        assert note.ended_at < written <= signed_at < note.ended_at + dt.timedelta(hours=5)
    # A draft past the 24-hour limit: flagged on the author's list and the supervisor's.
    overdue = unsigned.filter(ended_at__lt=now - dt.timedelta(hours=24)).first()
    assert overdue is not None
    assert any(row.overdue for row in note_selectors.to_sign(overdue.author))
    supervisor = User.objects.get(email="supervisor@example.org")
    assert overdue in [row.document for row in note_selectors.supervisees_overdue(supervisor)]
    # One late entry, with its reason; one addendum to an attendee's part.
    late = notes.get(late_entry=True)
    assert late.late_reason and late.is_signed
    assert late.created_at - late.ended_at > dt.timedelta(hours=24)
    assert Addendum.objects.filter(entry__isnull=False).count() == 1


def test_only_attendees_have_a_part_in_a_group_note(facility: Facility) -> None:
    entries = GroupNoteEntry.objects.select_related("attendance", "group_note")
    assert entries.count() >= 100
    assert all(e.attendance.status in ATTENDED for e in entries)
    assert all(e.attendance.session_id == e.group_note.session_id for e in entries)
    absent = Attendance.objects.filter(
        session__group_note__isnull=False, status__in=["excused", "unexcused"]
    )
    assert absent.exists()
    assert not GroupNoteEntry.objects.filter(attendance__in=absent).exists()
    # The golden thread: parts linked to an objective of the attendee's active plan.
    linked = entries.filter(objective__isnull=False).select_related(
        "objective__goal__problem__version__plan"
    )
    assert linked.count() >= 20
    for entry in linked:
        version = entry.objective.goal.problem.version  # type: ignore[union-attr]
        assert version.status == "active" and version.plan.patient_id == entry.patient_id


def test_the_supervisor_has_notes_to_co_sign(facility: Facility) -> None:
    supervisor = User.objects.get(email="supervisor@example.org")
    waiting = note_selectors.cosign_queue(supervisor)
    assert waiting
    assert all(d.author.needs_cosign and d.author.supervisor_id == supervisor.pk for d in waiting)
    assert Cosignature.objects.filter(cosigned_by=supervisor).exists()  # the older ones


def test_individual_family_and_case_management_notes(facility: Facility) -> None:
    notes = Note.objects.filter(signed_at__isnull=False)
    assert set(notes.values_list("kind", flat=True)) == {"individual", "family", "case_management"}
    assert set(notes.values_list("note_format", flat=True)) == {"dap"}
    individual = notes.filter(kind="individual", appointment__isnull=False)
    assert individual.count() >= 3
    for note in individual:
        assert note.appointment is not None
        assert note.started_at == note.appointment.starts_at
        assert note.author_id == note.appointment.staff_id
    risky = notes.get(risk_level="moderate")
    assert "safety plan" in risky.risk_text.lower()
    family_note = notes.get(kind="family")
    member = family_note.participants.get()
    assert family.consent_naming(family_note.patient, member, family_note.service_date)
    assert notes.get(kind="case_management").author.role == "case_manager"


def test_drug_tests_read_expected_and_unexpected(facility: Facility) -> None:
    assert DrugTest.objects.count() >= 40
    assert DrugTest.objects.values("patient").distinct().count() >= 10
    readings = DrugTestResult.objects.values_list("reading", flat=True)
    assert list(readings).count("negative") > 20 * list(readings).count("unexpected")
    expected = DrugTestResult.objects.filter(reading="expected")
    assert expected.exists()
    assert set(expected.values_list("substance", flat=True)) == {"buprenorphine"}
    assert Prescription.objects.filter(medication_class="buprenorphine").count() == 2
    unexpected = DrugTest.objects.filter(results__reading="unexpected").distinct()
    assert unexpected.count() == 2
    answered = unexpected.get(response__isnull=False)
    waiting = unexpected.get(response__isnull=True)
    # The one answered: its alert acknowledged, a relapse, the sobriety date started again.
    assert not ClinicalAlert.objects.filter(
        source_type=ALERT_SOURCE, source_id=str(answered.pk), acknowledged_at__isnull=True
    ).exists()
    assert ClinicalResponse.objects.get(test=answered).actions
    relapse = RelapseEvent.objects.get(drug_test=answered)
    assert relapse.came_to_light == "drug_test" and relapse.date < answered.collected_at.date()
    reset = current_sobriety(answered.patient)
    assert reset is not None and reset.reason == SobrietyDate.Reason.RELAPSE
    assert reset.relapse == relapse
    assert reset.sobriety_date == recovery_rules.sobriety_after_relapse(relapse.date)
    assert reset.previous_date is not None and reset.previous_date < relapse.date
    # The one not answered yet: its alert is open for the primary clinician.
    alert = ClinicalAlert.objects.get(source_type=ALERT_SOURCE, source_id=str(waiting.pk))
    assert alert.acknowledged_at is None
    assert waiting.collected_at > timezone.now() - dt.timedelta(days=7)


def test_collections_are_due_today(facility: Facility) -> None:
    assert set(DrugTestOrder.objects.values_list("frequency", flat=True)) == {"fixed", "random"}
    director = User.objects.get(email="director@example.org")
    due = recovery_selectors.due_on(director, facility, _today(facility))
    assert due and any(row.collection is None for row in due)
    statuses = set(DrugTestOrder.objects.values_list("collections__status", flat=True))
    assert {"collected", "not_collected"} <= statuses


def test_most_patients_go_to_meetings_some_weeks_short(facility: Facility, demo: Path) -> None:
    meetings = Meeting.objects.all()
    assert meetings.values("patient").distinct().count() >= 5
    assert len(set(meetings.values_list("fellowship", flat=True))) >= 4
    assert len(set(meetings.values_list("setting", flat=True))) >= 3
    assert set(meetings.values_list("verification", flat=True)) == {"staff", "slip", "self"}
    statuses = set()
    for episode in EpisodeOfCare.objects.filter(meetings__isnull=False).distinct():
        rows = recovery_selectors.meeting_weeks(episode, _today(facility), weeks=4)
        statuses |= {row.status for row in rows}
    assert {recovery_rules.MeetingWeek.MET, recovery_rules.MeetingWeek.SHORT} <= statuses
    # Signed slips: PDF documents in the chart, about the meeting, stored where settings say.
    slips = meetings.filter(verification="slip").select_related("slip")
    assert slips.count() == 2
    for meeting in slips:
        slip = meeting.slip
        assert isinstance(slip, Attachment)
        assert slip.content_type == "application/pdf" and slip.patient_id == meeting.patient_id
        assert slip.about_id == str(meeting.pk)
        with override_settings(OPENIOP_ATTACHMENTS_DIR=demo):
            assert storage.path_of(slip.storage_name).read_bytes().startswith(b"%PDF-")


def test_sobriety_family_education_and_measure_schedules(facility: Facility) -> None:
    open_episodes = EpisodeOfCare.objects.filter(discharge_date__isnull=True)
    dated = SobrietyDate.objects.filter(patient__in=open_episodes.values("patient"))
    assert dated.values("patient").distinct().count() >= open_episodes.count() * 0.7
    rows = FamilyAttendance.objects.select_related("session", "support_contact", "patient")
    assert {"present", "expected"} <= set(rows.values_list("status", flat=True))
    for row in rows:
        assert row.consent_id is not None
        assert family.consent_naming(row.patient, row.support_contact, row.session.service_date)
    scheduled = set(InstrumentSchedule.objects.values_list("episode_id", flat=True))
    assert scheduled == set(open_episodes.values_list("pk", flat=True))


def test_the_pages_show_the_demo_documentation(facility: Facility) -> None:
    client = Client()
    assert client.login(username="supervisor@example.org", password=DEMO_PASSWORD)
    assert client.get("/notes/cosign/").status_code == 200
    assert client.get("/recovery/due/").status_code == 200
    relapse = RelapseEvent.objects.get()
    for url in (
        f"/recovery/patients/{relapse.patient_id}/",
        f"/notes/patients/{relapse.patient_id}/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    clinician = GroupNote.objects.filter(signed_at__isnull=True).first()
    assert clinician is not None
    assert client.login(username=clinician.author.email, password=DEMO_PASSWORD)
    assert client.get("/notes/to-sign/").status_code == 200
    assert client.get(f"/notes/sessions/{clinician.session_id}/").status_code == 200


# --- continuing care (issue 7), loaded by the same demo --------------------------------------


def test_every_discharged_episode_has_a_signed_discharge_and_follow_ups(
    facility: Facility,
) -> None:
    from openiop.discharge import rules as discharge_rules
    from openiop.discharge.models import Discharge, FollowUp

    closed = EpisodeOfCare.objects.filter(facility=facility, discharge_date__isnull=False)
    discharges = Discharge.objects.select_related("episode")
    assert discharges.count() == closed.count() >= 10
    for d in discharges:
        assert d.is_signed and d.discharge_date == d.episode.discharge_date
        assert d.reason == discharge_rules.teds_reason(d.reason_key)
        assert d.facts["length_of_stay"] == d.length_of_stay
        if discharge_rules.is_early(d.episode.admission_date, d.discharge_date):
            assert d.early_reason and d.continuing_care
    completed = discharges.filter(reason=1).count()
    assert completed > discharges.count() / 2
    followups = FollowUp.objects.filter(facility=facility)
    assert set(followups.values_list("days_after", flat=True)) == {30, 60, 90, 180, 365}
    assert followups.filter(status="completed", any_use__isnull=False).exists()
    assert followups.filter(status="unreachable").exists()
    today = _today(facility)
    # The alumni coordinator's list is not empty, and nothing old is left open.
    assert followups.filter(status="due", due_on__lte=today + dt.timedelta(days=7)).exists()
    assert not followups.filter(status="due", due_on__lt=today - dt.timedelta(days=10)).exists()


def test_readiness_a_transfer_and_the_alumni_program(facility: Facility) -> None:
    from openiop.discharge.models import (
        AlumniAttendance,
        AlumniEvent,
        DischargePlan,
        LevelOfCareChange,
    )

    plans = DischargePlan.objects.select_related("episode")
    assert plans.count() == 6 and all(p.episode.discharge_date is None for p in plans)
    change = LevelOfCareChange.objects.get()
    assert (change.from_level, change.to_level) == ("2.5", "2.1")
    assert change.changed_on > change.episode.admission_date
    today = _today(facility)
    events = AlumniEvent.objects.filter(facility=facility)
    assert events.filter(starts_at__date__gt=today).count() == 1
    attended = AlumniAttendance.objects.select_related("patient")
    assert attended.exists()
    assert all(
        a.patient.episodes.filter(discharge_date__isnull=True).count() == 0 for a in attended
    )
