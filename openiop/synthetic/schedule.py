"""The demo's IOP week (all people are fictional): rooms, a group catalog per program,
schedules on the day and night tracks, enrollments, six weeks of attendance and a few
appointments, built through openiop.scheduling.services so every write is checked and
audited, and the same on every load of the same day.

What a counselor finds: most patients attend; some arrive late, leave early or miss a
group; one has two unexcused absences in a row (the one "two unexcused in a row" alert to
the primary clinician: the random misses never fall twice in a row); one has not attended
for more than a week (the at-risk list); one fell below the program's minimum last week and
one went above its maximum (a drop-in to the evening groups). Last week's check raises a
short-week alert for the one below the minimum and for anyone a random miss put below it
too (often a partial-hospitalization patient who missed a day), so there may be a few.
Telehealth-only groups have no room.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from openiop.accounts.models import Facility, Phase, Program, User
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import SupportContact
from openiop.scheduling import family, rules, services
from openiop.scheduling.models import (
    Attendance,
    Enrollment,
    GroupType,
    Room,
    Schedule,
    Session,
)

WEEKS_OF_HISTORY = 6
MWF, TT = "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=WEEKLY;BYDAY=TU,TH"
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
ROOMS = ("Group room A", "Group room B", "Family room")
THERAPISTS = ["CADC", "LADC", "LCSW", "LPC", "LMFT", "PSYD"]
LICENSED = ["LCSW", "LPC", "LMFT", "PSYD"]

# (name, kind, specialty, phase codes, minutes, credentials, billing hint, description)
IOP_GROUPS: tuple[tuple[str, str, str, tuple[str, ...], int, list[str], str, str], ...] = (
    ("Process group", "process", "", (), 90, [], "H0015", "Check-in and group process."),
    ("Psychoeducation", "psychoeducation", "", (), 90, [], "H0015", "How addiction works."),
    (
        "Early-recovery skills",
        "early_recovery",
        "",
        ("engagement", "early_recovery"),
        90,
        THERAPISTS,
        "H0015",
        "Stopping use and staying stopped: the first weeks.",
    ),
    (
        "Relapse prevention",
        "relapse_prevention",
        "",
        ("early_recovery", "maintenance", "community_integration"),
        90,
        THERAPISTS,
        "H0015",
        "Triggers, warning signs and a plan for each.",
    ),
    ("CBT / DBT skills", "cbt_dbt", "", (), 90, LICENSED, "90853", "Thoughts, feelings, urges."),
    ("Family education", "family_education", "", (), 90, ["LMFT", "LCSW"], "H0015", ""),
    (
        "12-step meeting (on site)",
        "mutual_help",
        "",
        (),
        60,
        [],
        "",
        "A peer-led meeting in the building; staff open the room and introduce newcomers.",
    ),
    ("Women's group", "specialized", "women", (), 90, THERAPISTS, "H0015", ""),
    ("Men's group", "specialized", "men", (), 90, THERAPISTS, "H0015", ""),
    ("LGBTQ+ group", "specialized", "lgbtq", (), 90, THERAPISTS, "H0015", ""),
    ("Veterans' group", "specialized", "veterans", (), 90, THERAPISTS, "H0015", ""),
    ("Survivors' group", "specialized", "survivors", (), 90, LICENSED, "90853", ""),
)

CURRICULA = {
    "Early-recovery skills": (
        "Triggers and cravings",
        "Stopping the cycle",
        "Identifying external triggers",
        "Identifying internal triggers",
        "Roadmap for recovery",
        "Thought-stopping techniques",
        "Scheduling the day",
        "Body chemistry in recovery",
    ),
    "Relapse prevention": (
        "Alcohol and other drugs",
        "Boredom",
        "Avoiding relapse drift",
        "Work and recovery",
        "Guilt and shame",
        "Staying busy",
        "Motivation for recovery",
        "Truthfulness",
        "Sex and recovery",
        "Anticipating and preventing relapse",
        "Trust",
        "Be smart, not strong",
    ),
    "Psychoeducation": (
        "Addiction and the brain",
        "Stages of change",
        "Co-occurring depression and anxiety",
        "Sleep, food and exercise",
        "Medication for addiction treatment",
        "Building a sober network",
    ),
}


@dataclass(frozen=True)
class Slot:
    group: str
    rrule: str
    start: dt.time
    room: str | None  # None: telehealth only
    facilitator: str  # e-mail of a demo staff member
    track: str | None = None  # "Day" / "Evening"
    telehealth: bool = False
    minutes: int | None = None


IOP_SLOTS = (
    # The day track: Monday, Wednesday, Friday and Tuesday, Thursday mornings.
    Slot("Process group", MWF, dt.time(9, 0), "Group room A", "clinician@example.org", "Day"),
    Slot(
        "Early-recovery skills",
        MWF,
        dt.time(10, 30),
        "Group room A",
        "clinician2@example.org",
        "Day",
    ),
    Slot(
        "Relapse prevention", MWF, dt.time(10, 30), "Group room B", "clinician4@example.org", "Day"
    ),
    Slot("Psychoeducation", TT, dt.time(9, 0), "Group room A", "clinician3@example.org", "Day"),
    Slot("CBT / DBT skills", TT, dt.time(10, 30), "Group room A", "clinician@example.org", "Day"),
    Slot(
        "Women's group",
        "FREQ=WEEKLY;BYDAY=TU",
        dt.time(10, 30),
        "Group room B",
        "clinician5@example.org",
        "Day",
    ),
    Slot(
        "Men's group",
        "FREQ=WEEKLY;BYDAY=TH",
        dt.time(10, 30),
        "Group room B",
        "clinician4@example.org",
        "Day",
    ),
    Slot(
        "LGBTQ+ group",
        "FREQ=WEEKLY;BYDAY=MO",
        dt.time(12, 15),
        None,
        "clinician@example.org",
    ),
    Slot(
        "Survivors' group",
        "FREQ=WEEKLY;BYDAY=TH",
        dt.time(12, 15),
        None,
        "clinician5@example.org",
    ),
    Slot(
        "12-step meeting (on site)",
        "FREQ=WEEKLY;BYDAY=FR",
        dt.time(12, 15),
        "Group room A",
        "casemanager2@example.org",
    ),
    # The night track: Monday to Thursday evenings.
    Slot(
        "Process group",
        "FREQ=WEEKLY;BYDAY=MO,WE",
        dt.time(18, 0),
        "Group room A",
        "clinician6@example.org",
        "Evening",
    ),
    Slot(
        "Relapse prevention",
        "FREQ=WEEKLY;BYDAY=MO,WE",
        dt.time(19, 30),
        "Group room A",
        "clinician4@example.org",
        "Evening",
    ),
    Slot(
        "Psychoeducation", TT, dt.time(18, 0), "Group room A", "clinician2@example.org", "Evening"
    ),
    Slot(
        "CBT / DBT skills", TT, dt.time(19, 30), "Group room A", "clinician@example.org", "Evening"
    ),
    Slot(
        "Veterans' group",
        "FREQ=WEEKLY;BYDAY=TU",
        dt.time(18, 0),
        "Group room B",
        "clinician6@example.org",
    ),
    Slot(
        "Family education",
        "FREQ=WEEKLY;BYDAY=WE",
        dt.time(18, 0),
        "Family room",
        "clinician5@example.org",
    ),
    Slot(
        "12-step meeting (on site)",
        "FREQ=WEEKLY;BYDAY=TH",
        dt.time(19, 30),
        "Group room B",
        "casemanager2@example.org",
    ),
)

OTHER_GROUPS = {
    "2.5": (
        ("Process group", "process", 180, "Morning check-in and process group."),
        ("Skills lab", "cbt_dbt", 150, "DBT skills practice and homework review."),
    ),
    "1": (("Recovery group", "relapse_prevention", 90, "Staying well after IOP."),),
}
OTHER_SLOTS = {
    "2.5": (
        Slot("Process group", WEEKDAYS, dt.time(8, 30), "Family room", "supervisor@example.org"),
        Slot("Skills lab", WEEKDAYS, dt.time(12, 30), "Family room", "clinician3@example.org"),
    ),
    "1": (
        Slot(
            "Recovery group",
            TT,
            dt.time(18, 0),
            None,
            "supervisor@example.org",
            "Evening",
        ),
    ),
}


@dataclass
class Cast:
    """The patients the demo's story needs, picked the same way on every load."""

    streak: int | None = None  # two unexcused absences in a row, most recently
    at_risk: int | None = None  # nothing attended for more than a week
    below: int | None = None  # last week below the minimum
    above: int | None = None  # last week above the maximum (drop-ins in the evening)
    extras: dict[int, list[Schedule]] = field(default_factory=dict)


def load_schedule(
    episodes: Sequence[EpisodeOfCare], rng: random.Random, *, director: User
) -> dict[str, int]:
    """Rooms, groups, schedules, enrollments, six weeks of attendance and appointments for
    the demo facility; returns what was made, by kind."""
    open_episodes = [e for e in episodes if e.discharge_date is None]
    counts = dict.fromkeys(["groups", "schedules", "enrollments", "sessions", "appointments"], 0)
    if not open_episodes:
        return counts
    facility = open_episodes[0].facility
    today = timezone.localdate(timezone=facility.zone)
    first_day = rules.week_start(today) - dt.timedelta(weeks=WEEKS_OF_HISTORY)
    staff = {u.email: u for u in User.objects.filter(facilities=facility, is_active=True)}
    rooms = {
        name: services.save_room(
            actor=director,
            facility=facility,
            data={"name": name, "seats": 14},
        )
        for name in ROOMS
    }
    schedules: dict[int, list[Schedule]] = {}
    for program in Program.objects.filter(facility=facility).order_by("pk"):
        made = _catalog(program, director, rooms, staff, first_day)
        counts["groups"] += len({s.group_id for s in made})
        counts["schedules"] += len(made)
        schedules[program.pk] = made
    cast = _cast(open_episodes, today)
    counts["enrollments"] = _enroll(open_episodes, schedules, cast)
    counts["sessions"] = _attendance(facility, schedules, cast, staff, today, rng)
    counts["appointments"] = _appointments(open_episodes, rooms, staff, cast, today)
    services.check_week(week=rules.week_start(today) - dt.timedelta(days=7))
    return counts


def _catalog(
    program: Program,
    director: User,
    rooms: dict[str, Room],
    staff: dict[str, User],
    first_day: dt.date,
) -> list[Schedule]:
    phases = {p.code: p for p in Phase.objects.filter(program=program)}
    tracks = {t.name: t for t in program.tracks.all()}
    if program.level_of_care == "2.1":
        specs = [
            (name, kind, specialty, [phases[c] for c in codes if c in phases], m, creds, hint, d)
            for name, kind, specialty, codes, m, creds, hint, d in IOP_GROUPS
        ]
        slots: Sequence[Slot] = IOP_SLOTS
    else:
        specs = [
            (name, kind, "", [], m, [], "H0035" if program.level_of_care == "2.5" else "", d)
            for name, kind, m, d in OTHER_GROUPS.get(program.level_of_care, ())
        ]
        slots = OTHER_SLOTS.get(program.level_of_care, ())
    groups: dict[str, GroupType] = {}
    for name, kind, specialty, accepted, minutes, creds, hint, description in specs:
        groups[name] = services.save_group_type(
            actor=director,
            program=program,
            data={
                "name": name,
                "kind": kind,
                "specialty": specialty,
                "phases": accepted,
                "duration_minutes": minutes,
                "capacity": 12 if specialty else 14,
                "facilitator_credentials": creds,
                "billing_code_hint": hint,
                "description": description,
            },
        )
        if name in CURRICULA:
            services.set_curriculum(
                actor=director, group=groups[name], topics=[(t, "") for t in CURRICULA[name]]
            )
    made = []
    for slot in slots:
        made.append(
            services.create_schedule(
                actor=director,
                group=groups[slot.group],
                data={
                    "rrule": slot.rrule,
                    "start_date": first_day,
                    "start_time": slot.start,
                    "duration_minutes": slot.minutes or groups[slot.group].duration_minutes,
                    "room": rooms[slot.room] if slot.room else None,
                    "telehealth": slot.telehealth or slot.room is None,
                    "facilitator": staff[slot.facilitator],
                    "track": tracks.get(slot.track) if slot.track else None,
                },
            )
        )
    return made


def _cast(open_episodes: Sequence[EpisodeOfCare], today: dt.date) -> Cast:
    """Who plays which part: IOP patients admitted before the six weeks began."""
    settled = [
        e
        for e in open_episodes
        if e.program.level_of_care == "2.1"
        and e.admission_date <= rules.week_start(today) - dt.timedelta(weeks=3)
    ]
    day = [e for e in settled if e.track and e.track.kind == "day"]
    evening = [e for e in settled if e.track and e.track.kind == "evening"]
    on_hold = [e for e in settled if e.patient.status == "on_hold"]
    cast = Cast()
    taken: set[int] = set()

    def pick(pool: list[EpisodeOfCare]) -> int | None:
        for e in pool:
            if e.pk not in taken:
                taken.add(e.pk)
                return e.pk
        return None

    cast.above = pick(day)
    cast.at_risk = pick(on_hold + evening + day)
    cast.streak = pick(evening + day)
    cast.below = pick(day[::-1] + evening)
    return cast


def _enroll(
    open_episodes: Sequence[EpisodeOfCare],
    schedules: dict[int, list[Schedule]],
    cast: Cast,
) -> int:
    """Each patient on their track's groups: core groups, a phase-fitting skills group,
    and the specialized groups they are eligible for and chose."""
    made = 0
    for n, episode in enumerate(open_episodes):
        offered = schedules.get(episode.program_id, [])
        track = episode.track.name if episode.track else None
        wanted: list[Schedule] = []
        for s in offered:
            name = s.group.name
            on_track = s.track is None or track is None or s.track.name == track
            if s.group.specialty:
                wanted.append(s)  # refused with the reason if not eligible; skipped then
            elif name in ("Early-recovery skills", "Relapse prevention"):
                if on_track:
                    wanted.append(s)  # the phase decides (a warning otherwise)
            elif name == "Family education":
                if n % 3 == 0 or episode.pk == cast.above:
                    wanted.append(s)
            elif name.startswith("12-step"):
                if n % 2 == 0 or episode.pk == cast.above:
                    wanted.append(s)
            elif name in ("Psychoeducation", "CBT / DBT skills") and track == "Day":
                if (n % 4 != 3 or episode.pk == cast.above) and on_track:
                    wanted.append(s)  # a few day patients come three days a week only
            elif on_track:
                wanted.append(s)
        actor = episode.primary_clinician
        for s in wanted:
            start = max(episode.admission_date, s.start_date)
            try:
                services.enroll(actor=actor, episode=episode, schedule=s, start_date=start)
            except ValidationError as error:
                if getattr(error, "code", None) != "warning" or s.group.specialty:
                    continue  # not eligible, a clash or full: the screen would say why
                if s.group.name == "Early-recovery skills":
                    continue  # the phase-fitting relapse prevention group instead
                try:
                    services.enroll(
                        actor=actor,
                        episode=episode,
                        schedule=s,
                        start_date=start,
                        override_reason="Only evening group at this hour; reviewed in supervision.",
                    )
                except ValidationError:
                    continue
            made += 1
    return made


def _status(rng: random.Random, previous: str | None) -> str:
    roll = rng.random()
    if roll < 0.04:
        return "late"
    if roll < 0.07:
        return "left_early"
    if roll < 0.10:
        return "excused"
    if roll < 0.12 and previous != "unexcused":
        return "unexcused"
    return "present"


def _attendance(
    facility: Facility,
    schedules: dict[int, list[Schedule]],
    cast: Cast,
    staff: dict[str, User],
    today: dt.date,
    rng: random.Random,
) -> int:
    """Every past session's attendance, one group at a time as the facilitator records it."""
    now = timezone.now()
    last_monday = rules.week_start(today) - dt.timedelta(days=7)
    last_sunday = last_monday + dt.timedelta(days=6)
    quiet_from = today - dt.timedelta(days=rules.AT_RISK_DAYS + 2)
    by_id = {s.pk: s for made in schedules.values() for s in made}
    sessions = list(
        Session.objects.filter(schedule_id__in=list(by_id), ends_at__lte=now)
        .select_related("group", "facilitator")
        .order_by("starts_at", "pk")
    )
    enrollments = list(Enrollment.objects.filter(schedule_id__in=list(by_id)).order_by("pk"))

    def roster(session: Session) -> dict[int, int]:
        """episode id → patient id of the people on the roster that day."""
        return {
            e.episode_id: e.patient_id
            for e in enrollments
            if e.schedule_id == session.schedule_id and e.active_on(session.service_date)
        }

    def track_of(session: Session) -> str | None:
        track = by_id[session.schedule_id].track
        return track.name if track is not None else None

    def iop(session: Session) -> bool:
        return by_id[session.schedule_id].group.program.level_of_care == "2.1"

    rosters = {s.pk: roster(s) for s in sessions}
    # The streak: the patient's last two groups before now, unexcused.
    streak_ids: set[int] = set()
    if cast.streak is not None:
        theirs = [s for s in sessions if cast.streak in rosters[s.pk]]
        streak_ids = {s.pk for s in theirs[-2:]}
    # A staff training morning three weeks ago: the day process group did not meet.
    cancelled = next(
        (
            s
            for s in sessions
            if iop(s)
            and s.group.name == "Process group"
            and track_of(s) == "Day"
            and s.service_date >= last_monday - dt.timedelta(weeks=2)
        ),
        None,
    )
    if cancelled is not None:
        cancelled = services.cancel_session(
            actor=staff["director@example.org"], session=cancelled, reason="Staff training morning"
        )
    # Drop-ins on the evening psychoeducation last week: above the weekly maximum.
    drop_ins = {
        s.pk
        for s in sessions
        if iop(s)
        and s.group.name == "Psychoeducation"
        and track_of(s) == "Evening"
        and last_monday <= s.service_date <= last_sunday
    }
    above_patient = next((e.patient_id for e in enrollments if e.episode_id == cast.above), None)
    story = {cast.above, cast.streak, cast.at_risk, cast.below}
    previous: dict[int, str] = {}
    saved = 0
    for session in sessions:
        people = rosters[session.pk]
        if not people and session.pk not in drop_ins:
            continue
        lines = []
        start = session.starts_at.astimezone(facility.zone)
        for episode_id, patient_id in people.items():
            note = ""
            arrived = left = None
            in_last_week = last_monday <= session.service_date <= last_sunday
            if cancelled is not None and session.pk == cancelled.pk:
                status = "cancelled"
            elif episode_id == cast.at_risk and session.service_date >= quiet_from:
                status, note = "excused", "Called in sick; said they would be back next week."
            elif episode_id == cast.streak and session.pk in streak_ids:
                status = "unexcused"
            elif episode_id == cast.below and in_last_week:
                status = "present" if session.service_date == last_monday else "excused"
                note = "" if status == "present" else "Family emergency."
            elif episode_id in story:
                status = "present"
            else:
                status = _status(rng, previous.get(episode_id))
            if status == "late":
                arrived = (start + dt.timedelta(minutes=rng.choice([10, 15, 20, 25]))).time()
            elif status == "left_early":
                left = (start + dt.timedelta(minutes=session.minutes - 30)).time()
            if status != "cancelled":
                previous[episode_id] = status
            lines.append(
                services.Line(
                    patient_id=patient_id,
                    status=status,
                    arrived_at=arrived,
                    left_at=left,
                    note=note,
                )
            )
        if session.pk in drop_ins and above_patient is not None:
            lines.append(services.Line(patient_id=above_patient, status="present", drop_in=True))
        if not lines:
            continue
        services.save_group_attendance(
            actor=session.facilitator, session=session, lines=lines, topic=_topic(session)
        )
        saved += 1
    # Recorded when each group ended, not while the demo loaded.
    Attendance.objects.filter(facility=facility, session__isnull=False).update(
        recorded_at=Subquery(Session.objects.filter(pk=OuterRef("session_id")).values("ends_at"))
    )
    Session.objects.filter(facility=facility, attendance_saved_at__isnull=False).update(
        attendance_saved_at=F("ends_at")
    )
    return saved


def _topic(session: Session) -> str | None:
    topics = CURRICULA.get(session.group.name)
    if not topics:
        return None
    return topics[session.service_date.toordinal() // 7 % len(topics)]


def _book(actor: User, episode: EpisodeOfCare, **data: Any) -> Any:
    """Book through the service; a clash the demo did not foresee skips the appointment."""
    try:
        return services.book_appointment(actor=actor, episode=episode, **data)
    except ValidationError:
        return None


def _appointments(
    open_episodes: Sequence[EpisodeOfCare],
    rooms: dict[str, Room],
    staff: dict[str, User],
    cast: Cast,
    today: dt.date,
) -> int:
    """Individual therapy, a family session with a support contact, drug tests and a
    rescheduled case-management meeting, in the afternoon gap between the day and the night
    groups: some done last week, some coming up next week."""
    iop = [
        e
        for e in open_episodes
        if e.program.level_of_care == "2.1" and e.pk not in (cast.at_risk, cast.below, cast.streak)
    ]
    nurse = staff["nurse@example.org"]
    family_therapist = staff["clinician5@example.org"]
    last_monday = rules.week_start(today) - dt.timedelta(days=7)
    next_monday = rules.week_start(today) + dt.timedelta(days=7)
    now = timezone.now()
    made = []
    for n, episode in enumerate(iop[:6]):
        clinician = episode.primary_clinician
        where: dict[str, Any] = (
            {"room": rooms["Group room B"]} if n % 2 == 0 else {"telehealth": True}
        )
        at = dt.time(16 + n // 5, 0)
        for day in (last_monday + dt.timedelta(days=n % 5), next_monday + dt.timedelta(days=n % 5)):
            made.append(
                _book(
                    clinician,
                    episode,
                    kind="individual",
                    staff=clinician,
                    day=day,
                    start=at,
                    minutes=50,
                    **where,
                )
            )
        test_day = (last_monday if n % 2 == 0 else next_monday) + dt.timedelta(days=n % 5)
        made.append(
            _book(
                nurse,
                episode,
                kind="drug_test",
                staff=nurse,
                day=test_day,
                start=dt.time(15, 10 * n),
                minutes=10,
                room=rooms["Family room"],
            )
        )
    # A family session discloses the patient's treatment to the family member: only members
    # an active consent names take part (scheduling.family).
    contacts = {
        c.patient_id: c
        for c in SupportContact.objects.filter(patient_id__in=[e.patient_id for e in iop])
        .select_related("patient")
        .order_by("-pk")
        if family.consent_naming(c.patient, c, last_monday) is not None
    }
    for n, episode in enumerate([e for e in iop if e.patient_id in contacts][:2]):
        made.append(
            _book(
                family_therapist,
                episode,
                kind="family",
                staff=family_therapist,
                day=(last_monday if n == 0 else next_monday) + dt.timedelta(days=1 + n),
                start=dt.time(17, 0),
                minutes=50,
                room=rooms["Family room"],
                participants=[contacts[episode.patient_id]],
            )
        )
    booked = [a for a in made if a is not None]
    for appointment in booked:
        if appointment.ends_at <= now:
            services.close_appointment(
                actor=appointment.staff, appointment=appointment, status="present"
            )
    if len(iop) > 6:
        episode = iop[6]
        moved = _book(
            episode.primary_clinician,
            episode,
            kind="case_management",
            staff=staff["casemanager@example.org"],
            day=next_monday + dt.timedelta(days=2),
            start=dt.time(14, 0),
            minutes=30,
            room=rooms["Group room B"],
        )
        if moved is not None:
            services.reschedule_appointment(
                actor=episode.primary_clinician,
                appointment=moved,
                day=next_monday + dt.timedelta(days=3),
                start=dt.time(14, 0),
                reason="The patient asked for Thursday (work shift).",
            )
            booked += [moved, moved]
    return len(booked)
