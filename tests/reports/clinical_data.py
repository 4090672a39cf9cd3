"""Small hand-built states for the clinical report tests: stays, scores, drug tests, meetings,
plan versions, follow-ups and notes, written through the capabilities' services where they
exist and straight to the database where the test is about reading a stored state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openiop.accounts.models import Facility, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.discharge.models import FollowUp
from openiop.measures.models import Administration
from openiop.notes.models import GroupNote, Note
from openiop.plans import services as plans
from openiop.plans.models import PlanVersion, TreatmentPlan
from openiop.recovery import services as recovery
from openiop.recovery.models import DrugTest, Meeting
from openiop.reports.base import Filters
from openiop.scheduling.models import Session
from tests.admissions.factories import episode
from tests.factories import CareTeamMemberFactory, PatientFactory
from tests.measures.factories import AdministrationFactory, bam, gad7, phq9
from tests.plans.factories import active_plan, sign_all
from tests.scheduling import factories as scheduling


def local(facility: Facility, day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment on ``day`` in the facility's time zone."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=facility.zone)


def filters(
    *facilities: Facility,
    start: dt.date,
    end: dt.date,
    program: Program | None = None,
) -> Filters:
    return Filters(
        facility_ids=tuple(f.pk for f in facilities),
        program_id=program.pk if program else None,
        start=start,
        end=end,
    )


def stay(
    program: Program,
    clinician: User,
    *,
    admitted: dt.date,
    discharged: dt.date | None = None,
    last_name: str = "Example",
) -> EpisodeOfCare:
    """A patient of the program's facility on the clinician's caseload, with one stay."""
    patient = PatientFactory.create(facility=program.facility, last_name=last_name)
    CareTeamMemberFactory.create(patient=patient, user=clinician)
    return episode(patient, program, clinician, admission_date=admitted, discharge_date=discharged)


# --- measures ------------------------------------------------------------------------------------


def score(
    stay_: EpisodeOfCare,
    instrument: str,
    total: int,
    day: dt.date,
    *,
    hour: int = 10,
    minute: int = 0,
    in_error: bool = False,
) -> Administration:
    """A scored administration of the stay's patient at ``hour`` local time on ``day``; for the
    BAM, ``total`` is the use score (question 4)."""
    answers: dict[str, Any] = {
        "phq9": lambda: phq9(total),
        "gad7": lambda: gad7(total),
        "bam": lambda: bam(i4=total),
    }[instrument]()
    by = stay_.primary_clinician
    made = AdministrationFactory.create(
        patient=stay_.patient,
        instrument=instrument,
        answers=answers,
        administered_at=local(stay_.facility, day, hour, minute),
        administered_by=by,
        entered_by=by,
    )
    if in_error:
        Administration.objects.filter(pk=made.pk).update(
            entered_in_error_at=local(stay_.facility, day, 18),
            entered_in_error_by=by,
            entered_in_error_reason="Wrong patient.",
        )
    return made


def phq9_series(stay_: EpisodeOfCare, *scores: tuple[dt.date, int]) -> None:
    for day, total in scores:
        score(stay_, "phq9", total, day)


# --- recovery ------------------------------------------------------------------------------------


def drug_test(stay_: EpisodeOfCare, when: dt.datetime, **results: str) -> DrugTest:
    """A urine test collected ``when`` with ``substance=result`` results (negative cocaine
    when none are named), recorded by the stay's clinician through the service."""
    actor = stay_.primary_clinician
    return recovery.record_drug_test(
        actor=actor,
        episode=stay_,
        specimen="urine",
        observed=True,
        collected_at=when,
        collected_by=actor,
        results=results or {"cocaine": "negative"},
    )


def prescribe(stay_: EpisodeOfCare, medication_class: str, start: dt.date) -> None:
    recovery.add_prescription(
        actor=stay_.primary_clinician,
        patient=stay_.patient,
        medication_class=medication_class,
        name=f"{medication_class} as prescribed",
        start_date=start,
    )


def meetings(stay_: EpisodeOfCare, *attended: tuple[dt.date, str]) -> list[Meeting]:
    """Meetings attended on each (day, fellowship), recorded through the service."""
    return [
        recovery.add_meeting(
            actor=stay_.primary_clinician,
            episode=stay_,
            date=day,
            fellowship=fellowship,
            setting="church",
            minutes=60,
            verification="self",
        )
        for day, fellowship in attended
    ]


def plan_in_force(stay_: EpisodeOfCare, *, meetings_per_week: int, since: dt.datetime) -> None:
    """A signed plan whose version asks ``meetings_per_week``, active since ``since``."""
    target = stay_.admission_date + dt.timedelta(days=60)
    version = active_plan(stay_.primary_clinician, stay_, target=target)
    PlanVersion.objects.filter(pk=version.pk).update(
        meetings_per_week=meetings_per_week, activated_at=since
    )


def plan_changed(
    stay_: EpisodeOfCare, *, first: tuple[int, dt.datetime], then: tuple[int, dt.datetime]
) -> None:
    """A signed plan asking ``first[0]`` meetings a week from ``first[1]``, replaced by a second
    signed version asking ``then[0]`` from ``then[1]`` (the first one superseded then)."""
    plan_in_force(stay_, meetings_per_week=first[0], since=first[1])
    actor = stay_.primary_clinician
    plan = TreatmentPlan.objects.get(episode=stay_)
    draft = plans.new_version(actor=actor, plan=plan, reason="Fewer meetings: works nights now.")
    sign_all(draft, actor)
    PlanVersion.objects.filter(pk=draft.pk).update(meetings_per_week=then[0], activated_at=then[1])
    PlanVersion.objects.filter(plan=plan, number=1).update(superseded_at=then[1])


# --- plans ---------------------------------------------------------------------------------------


def plan_review_due(stay_: EpisodeOfCare, due: dt.date | None) -> TreatmentPlan:
    """A treatment plan whose next review is due on ``due`` (as the plans services keep it)."""
    return TreatmentPlan.objects.create(
        episode=stay_, patient=stay_.patient, review_due_on=due, review_due_reason="scheduled"
    )


# --- discharge -----------------------------------------------------------------------------------


def follow_up(stay_: EpisodeOfCare, days_after: int, due: dt.date, **outcome: Any) -> FollowUp:
    values: dict[str, Any] = {
        "episode": stay_,
        "patient": stay_.patient,
        "facility": stay_.facility,
        "days_after": days_after,
        "due_on": due,
    }
    values.update(outcome)
    if values.get("status") == FollowUp.Status.COMPLETED:
        values.setdefault("completed_on", due)
    return FollowUp.objects.create(**values)


# --- notes ---------------------------------------------------------------------------------------


def note(
    stay_: EpisodeOfCare,
    author: User,
    ended: dt.datetime,
    *,
    signed: bool = False,
) -> Note:
    """An individual note of a 50-minute session that ended at ``ended``."""
    started = ended - dt.timedelta(minutes=50)
    return Note.objects.create(
        patient=stay_.patient,
        episode=stay_,
        facility=stay_.facility,
        kind=Note.Kind.INDIVIDUAL,
        note_format="dap",
        sections={"data": "Said cravings eased.", "assessment": "Improving.", "plan": "Next."},
        service_date=started.astimezone(stay_.facility.zone).date(),
        started_at=started,
        ended_at=ended,
        author=author,
        signed_at=ended + dt.timedelta(hours=1) if signed else None,
        signed_by=author if signed else None,
        sign_method="password" if signed else "",
    )


def group_session(director: User, program: Program, facilitator: User, day: dt.date) -> Session:
    """A materialized session of a Monday-Wednesday-Friday group of the program."""
    group = scheduling.group(director, program, name=f"Process group {program.pk}")
    schedule = scheduling.schedule(
        director, group, facilitator, start_date=day - dt.timedelta(days=day.weekday())
    )
    return scheduling.session_on(schedule, day)


def group_note(session: Session, author: User) -> GroupNote:
    return GroupNote.objects.create(
        session=session,
        facility=session.facility,
        service_date=session.service_date,
        started_at=session.starts_at,
        ended_at=session.ends_at,
        author=author,
        topic="Coping with cravings",
        interventions="Urge surfing.",
        process="Engaged.",
    )
