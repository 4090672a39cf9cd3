"""The demo's clinical documentation and recovery tracking (all people are fictional),
written through openiop.notes, openiop.recovery, openiop.attachments, the family program
and openiop.measures services, so every write is checked and audited, and the same on
every load of the same day (the demo's random generator decides everything but the
random drug-test days, whose secret is the order's own).

What a counselor finds:
- Group notes for most groups of the past two weeks: the shared part from the session's
  topic and a part for each attendee (none for anyone absent), linked to an objective of
  the attendee's signed plan when there is one; most signed by the facilitator the day of
  the group, a few drafts (the oldest past the 24-hour limit, so it is flagged), one late
  entry with its reason, one addendum. The counselors who need a co-signature have signed
  notes waiting in the clinical supervisor's queue (the older ones co-signed).
- Notes for last week's individual sessions (DAP, one with a moderate risk section), a
  family-session note with a support-system member, a case-management note.
- Prescriptions (buprenorphine) for two patients, weekly drug tests for a dozen, mostly
  negative: an expected positive (the prescription explains it), an unexpected positive
  the primary clinician responded to and recorded as a relapse (the sobriety date starts
  again), and a recent unexpected positive still waiting for the response (its alert is
  open). Two drug-test orders, one on fixed weekdays that include today (so today's
  collection list is never empty) and one on random days.
- Mutual-help meetings for most IOP patients (fellowships, places and verification vary;
  two signed slips are PDF documents in the chart), some weeks below the plan's number.
- A sobriety date for most patients in treatment, family members at family education
  (only those a consent names) and the default measurement schedules.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.core.files.base import ContentFile
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.notes import services as notes
from openiop.notes.models import GroupNote, GroupNoteEntry, Note
from openiop.patients.models import CareTeamMember, Consent, SupportContact
from openiop.patients.selectors import visible_patients
from openiop.plans.models import Objective, PlanVersion
from openiop.recovery import rules as recovery_rules
from openiop.recovery import services as recovery
from openiop.recovery.models import ClinicalResponse, DrugTest, RelapseEvent, SobrietyDate
from openiop.scheduling import family
from openiop.scheduling import rules as scheduling_rules
from openiop.scheduling.models import (
    Appointment,
    Attendance,
    FamilyAttendance,
    GroupKind,
    Session,
)
from openiop.synthetic.clinical import _DemoSigner

NOTE_DAYS = 14  # group notes for the groups of the past two weeks
TEST_WEEKS = 4  # weekly drug tests and mutual-help meetings over the past four weeks
TESTED_PATIENTS = 12


@contextmanager
def _written_at(moment: dt.datetime) -> Iterator[None]:
    """Write as the author did back then.

    The notes services read the clock for the late-entry rule and stamp it as the time a
    note is written and signed; a signed note is locked by database triggers (notes
    migration 0002), so it cannot be backdated afterwards the way the demo's plans are.
    Each note is therefore written with the clock set to the moment its author wrote it.
    Model defaults and the audit trail keep the real time (they hold their own reference
    to the clock): the audit says truthfully when the demo was loaded.
    """
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def load_documentation(
    episodes: Sequence[EpisodeOfCare],
    rng: random.Random,
    *,
    password: str,
    supervisor: User,
) -> dict[str, int]:
    """Notes, drug tests, meetings, sobriety dates, family-education attendance and the
    default measurement schedules for the demo facility; returns what was made, by kind."""
    from openiop.measures.services import ensure_default_schedules_for

    open_episodes = [e for e in episodes if e.discharge_date is None]
    if not open_episodes:
        return {}
    facility = open_episodes[0].facility
    signer = _signer(password, [supervisor, *(e.primary_clinician for e in open_episodes)])
    counts: dict[str, int] = {}
    counts |= _group_notes(facility, signer, signer(supervisor), rng)
    counts |= _notes(open_episodes, signer, rng)
    counts |= _recovery(open_episodes, rng)
    counts["family_education"] = _family_education(facility, open_episodes, rng)
    counts["measure_schedules"] = len(
        ensure_default_schedules_for(
            episodes=EpisodeOfCare.objects.filter(pk__in=[e.pk for e in open_episodes]),
            actor=None,  # as the nightly job starts them
        )
    )
    return counts


def _signer(password: str, users: Sequence[User | None]) -> _DemoSigner:
    """The demo signer (clinical.py), given the staff whose password load_plans' signer
    already checked: those instances answer for the demo password in memory (an attribute
    of the instance), so each password is checked with the slow hasher once per load, not
    once per loader."""
    signer = _DemoSigner(password)
    for user in users:
        if user is not None and "check_password" in vars(user):
            signer.verified.setdefault(user.pk, user)
    return signer


def _objectives(patient_ids: Sequence[int]) -> dict[int, list[tuple[int, dt.date]]]:
    """patient id → (objective id, first local day in force) of their active plan."""
    found: dict[int, list[tuple[int, dt.date]]] = {}
    rows = (
        Objective.objects.filter(
            goal__problem__version__status=PlanVersion.Status.ACTIVE,
            goal__problem__version__plan__patient_id__in=list(patient_ids),
        )
        .select_related("goal__problem__version__plan__patient__facility")
        .order_by("pk")
    )
    for objective in rows:
        version = objective.goal.problem.version
        patient = version.plan.patient
        since = version.activated_at or version.created_at
        day = timezone.localtime(since, patient.facility.zone).date()
        found.setdefault(patient.pk, []).append((objective.pk, day))
    return found


def _in_force(
    objectives: dict[int, list[tuple[int, dt.date]]], patient_id: int, day: dt.date
) -> list[int]:
    return [pk for pk, since in objectives.get(patient_id, []) if since <= day]


# --- group notes -------------------------------------------------------------------------------

INTERVENTIONS = {
    GroupKind.PROCESS: "Check-in round, reflective listening and peer feedback; the facilitator "
    "linked what members shared to their recovery goals.",
    GroupKind.PSYCHOEDUCATION: "Short lecture with a handout, teach-back and discussion questions.",
    GroupKind.EARLY_RECOVERY: "Matrix Model early-recovery lesson: trigger chart, scheduling the "
    "next three days hour by hour, thought-stopping practice.",
    GroupKind.RELAPSE_PREVENTION: "Relapse-prevention lesson from the curriculum; warning-signs "
    "worksheet; role-play of refusal skills.",
    GroupKind.CBT_DBT: "CBT thought record worked through in pairs; DBT distress-tolerance "
    "skill (paced breathing, TIPP) practiced in group.",
    GroupKind.FAMILY_EDUCATION: "Education on addiction as a chronic illness and on "
    "communication at home; questions from members.",
    GroupKind.SPECIALIZED: "Trauma-informed discussion in a closed group; grounding skill "
    "practiced; peer support.",
}
PROCESS_TEXTS = (
    "Members engaged well. Several talked about cravings over the weekend and the group "
    "offered coping ideas; good cohesion.",
    "A quieter group at the start; energy rose after the check-in. Members gave each other "
    "honest, supportive feedback.",
    "Two members disagreed about whether to go to a family party; the facilitator used it to "
    "practice planning for high-risk situations. The group stayed respectful.",
    "Members connected the topic to their own week. Newer members were welcomed and shared "
    "their reasons for coming.",
)
RESPONSES = {
    GroupNoteEntry.Participation.ACTIVE: (
        "Shared openly about the topic and named two personal triggers; gave peers thoughtful "
        "feedback.",
        "Spoke about a craving at work this week and how they used the skills from group.",
    ),
    GroupNoteEntry.Participation.ENGAGED: (
        "Took part when invited; related the topic to a recent argument at home.",
        "Listened closely and answered the discussion questions; said the worksheet helped.",
    ),
    GroupNoteEntry.Participation.MINIMAL: (
        "Quiet for most of the group; brief answers at check-in. Looked tired; said they "
        "worked a double shift.",
    ),
    GroupNoteEntry.Participation.WITHDRAWN: (
        "Withdrawn; declined to share beyond the check-in. The facilitator checked in with "
        "them after group; they said they are fine and will talk in individual session.",
    ),
    GroupNoteEntry.Participation.DISRUPTIVE: (
        "Side conversations early on; redirected once, then took part appropriately.",
    ),
}
PARTICIPATION_WEIGHTS = (
    (GroupNoteEntry.Participation.ACTIVE, 40),
    (GroupNoteEntry.Participation.ENGAGED, 38),
    (GroupNoteEntry.Participation.MINIMAL, 14),
    (GroupNoteEntry.Participation.WITHDRAWN, 6),
    (GroupNoteEntry.Participation.DISRUPTIVE, 2),
)
ENTRY_PLANS = (
    "Continue the group as scheduled; practice today's skill before the next session.",
    "Bring the completed worksheet to the next group.",
    "Follow up in individual session on the trigger named today.",
    "Keep to two mutual-help meetings this week as the plan says.",
)
LATE_REASON = "Written on return from two days of sick leave."


def _entry(rng: random.Random, objective_ids: list[int]) -> notes.EntryInput:
    participation = rng.choices(
        [kind for kind, _ in PARTICIPATION_WEIGHTS],
        weights=[weight for _, weight in PARTICIPATION_WEIGHTS],
    )[0]
    objective = rng.choice(objective_ids) if objective_ids and rng.random() < 0.8 else None
    progress = ""
    if objective is not None:
        progress = rng.choices(
            [
                GroupNoteEntry.Progress.PROGRESSING,
                GroupNoteEntry.Progress.NO_CHANGE,
                GroupNoteEntry.Progress.REGRESSING,
            ],
            weights=[70, 25, 5],
        )[0]
    return notes.EntryInput(
        participation=participation,
        response=rng.choice(RESPONSES[participation]),
        plan=rng.choice(ENTRY_PLANS),
        objective_id=objective,
        progress=progress,
    )


def _group_notes(
    facility: Facility, signer: _DemoSigner, cosigner: User, rng: random.Random
) -> dict[str, int]:
    """A note for most groups of the past two weeks with people present, as the facilitator
    wrote it an hour or two after the group."""
    now = timezone.now()
    today = timezone.localdate(timezone=facility.zone)
    sessions = [
        s
        for s in Session.objects.filter(
            facility=facility,
            ends_at__lte=now,
            service_date__gte=today - dt.timedelta(days=NOTE_DAYS),
            attendance_saved_at__isnull=False,
        )
        .exclude(status=Session.Status.CANCELLED)
        .exclude(group__kind=GroupKind.MUTUAL_HELP)  # peer-led: no clinical note
        .select_related("group", "facilitator")
        .order_by("ends_at", "pk")
        if s.facilitator.can("notes.add_note")
    ]
    came: dict[int, list[int]] = {}
    for session_id, patient_id in (
        Attendance.objects.filter(session__in=sessions, status__in=notes.ATTENDED)
        .order_by("pk")
        .values_list("session_id", "patient_id")
    ):
        came.setdefault(session_id, []).append(patient_id)
    sessions = [s for s in sessions if came.get(s.pk)]
    # A few groups of the first week are not written up at all (yet).
    sessions = [
        s
        for s in sessions
        if not (s.service_date < today - dt.timedelta(days=7) and rng.random() < 0.08)
    ]
    if not sessions:
        return {"group_notes": 0}
    objectives = _objectives(sorted({p for s in sessions for p in came[s.pk]}))
    # Drafts: the two latest groups and one from a few days back (flagged after 24 hours).
    drafts = {sessions[-1].pk}
    if len(sessions) > 2:
        drafts.add(sessions[-2].pk)
    older = [s for s in sessions[:-2] if s.ends_at < now - dt.timedelta(days=3)]
    if older:
        drafts.add(older[-1].pk)
    plain = [s for s in sessions if s.pk not in drafts and not s.facilitator.needs_cosign]
    late = plain[0].pk if plain else None
    addendum_to = plain[len(plain) // 2].pk if len(plain) > 2 else None
    made: list[GroupNote] = []
    for session in sessions:
        author = signer(session.facilitator)
        written = session.ends_at + dt.timedelta(minutes=rng.randint(20, 150))
        if session.pk == late:
            written = session.ends_at + dt.timedelta(hours=58)
        written = min(written, now - dt.timedelta(minutes=1))
        topic = session.topic or session.group.name
        entries = {
            patient_id: _entry(rng, _in_force(objectives, patient_id, session.service_date))
            for patient_id in came[session.pk]
        }
        with _written_at(written):
            note = notes.save_group_note(
                actor=author,
                session=session,
                topic=topic,
                interventions=INTERVENTIONS.get(
                    GroupKind(session.group.kind), INTERVENTIONS[GroupKind.PROCESS]
                ),
                process=rng.choice(PROCESS_TEXTS),
                entries=entries,
                late_reason=LATE_REASON if session.pk == late else "",
            )
        if session.pk in drafts:
            continue
        signed = min(written + dt.timedelta(minutes=rng.randint(2, 40)), now)
        with _written_at(signed):
            note = notes.sign_group_note(actor=author, group_note=note, password=signer.password)
        made.append(note)
        if session.pk == addendum_to:
            entry = note.entries.order_by("pk").first()
            if entry is not None:
                notes.add_addendum(
                    actor=author,
                    target=entry,
                    text="Called the program the next morning to add what they had not said "
                    "in group: an old using friend had phoned the night before. They blocked "
                    "the number and told their sponsor.",
                    reason="Information received after the note was signed.",
                    password=signer.password,
                )
    # The supervisor has co-signed the week before last; last week's notes wait in the queue.
    cosigned = 0
    for note in made:
        if note.needs_cosign and note.service_date < today - dt.timedelta(days=7):
            notes.cosign(actor=cosigner, target=note, password=signer.password)
            cosigned += 1
    return {
        "group_notes": len(sessions),
        "group_notes_signed": len(made),
        "group_notes_cosigned": cosigned,
    }


# --- individual, family and case-management notes ---------------------------------------------

DAP_DATA = (
    "Met for the scheduled session. Reports {days} days without use; attended most groups "
    "this week. Talked about pressure at work and sleeping about six hours a night.",
    "Patient came on time and was open. Described a strong craving on Friday evening after "
    "being paid and used the plan: called the sponsor and went to a meeting.",
    "Reviewed the week: two mutual-help meetings, all groups attended. Reports arguments at "
    "home have eased since the family session.",
)
DAP_ASSESSMENT = (
    "Engaged and motivated; uses coping skills with growing confidence. Early-recovery "
    "progress is on track with the plan.",
    "Insight improving; still minimizes the role of evenings alone as a trigger. Stage of "
    "change: action.",
    "Mood brighter than at admission; PHQ-9 trending down. Continues to need structure on "
    "weekends.",
)
DAP_PLAN = (
    "Continue IOP as scheduled; write down three evening activities for the weekend; next "
    "individual session in one week.",
    "Practice the urge-surfing skill daily; bring the log next week; keep two meetings.",
    "Review the relapse-prevention plan next session; consider a family session.",
)
RISK_TEXT = (
    "Strong cravings after a payday weekend and an argument at home; asked directly: no "
    "thoughts of harming self or others. Risk of return to use judged moderate. Safety plan "
    "reviewed: leave the paycheck with the sister, call the sponsor before going out, the "
    "evening meeting on Friday. Will check in by phone tomorrow."
)


def _local(day: dt.date, at: dt.time, facility: Facility) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, at), facility.zone)


def _write_note(
    signer: _DemoSigner,
    author: User,
    *,
    sign: bool = True,
    **data: Any,
) -> Note:
    """Save and sign a note an hour after the session ended, as its author."""
    written = min(data["ended_at"] + dt.timedelta(minutes=60), timezone.now())
    writer = signer(author)
    with _written_at(written):
        note = notes.save_note(actor=writer, **data)
        if sign:
            note = notes.sign_note(actor=writer, note=note, password=signer.password)
    return note


def _notes(
    open_episodes: Sequence[EpisodeOfCare], signer: _DemoSigner, rng: random.Random
) -> dict[str, int]:
    facility = open_episodes[0].facility
    now = timezone.now()
    today = timezone.localdate(timezone=facility.zone)
    last_monday = scheduling_rules.week_start(today) - dt.timedelta(days=7)
    appointments = list(
        Appointment.objects.filter(
            facility=facility,
            kind=Appointment.Kind.INDIVIDUAL,
            status=Appointment.Status.COMPLETED,
            ends_at__lte=now,
        )
        .select_related("staff", "patient__facility", "episode")
        .order_by("starts_at", "pk")
    )
    # (The demo books some before the admission day: no note can be written for those.)
    appointments = [a for a in appointments if a.episode.admission_date <= a.service_date]
    by_patient = {e.patient_id: e for e in open_episodes}
    objectives = _objectives(list(by_patient))
    made = 0
    for n, appointment in enumerate(appointments):
        day = appointment.service_date
        moderate = n == 0
        _write_note(
            signer,
            appointment.staff,
            patient=appointment.patient,
            kind=Note.Kind.INDIVIDUAL,
            started_at=appointment.starts_at,
            ended_at=appointment.ends_at,
            sections={
                "data": rng.choice(DAP_DATA).format(days=rng.randint(20, 90)),
                "assessment": rng.choice(DAP_ASSESSMENT),
                "plan": rng.choice(DAP_PLAN),
            },
            objective_ids=_in_force(objectives, appointment.patient_id, day)[:2],
            risk_level=Note.Risk.MODERATE if moderate else Note.Risk.NONE,
            risk_text=RISK_TEXT if moderate else "",
            appointment=appointment,
        )
        made += 1
    # A family session with a member the patient's consent names.
    named = {
        c.patient_id: c.support_contact
        for c in Consent.objects.filter(
            kind=Consent.Kind.NAMED,
            patient_id__in=list(by_patient),
            support_contact__isnull=False,
            signed_at__isnull=False,
        )
        .select_related("support_contact")
        .order_by("pk")
    }
    family_day = last_monday + dt.timedelta(days=1)
    for patient_id, contact in named.items():
        episode = by_patient[patient_id]
        if contact is None or episode.admission_date >= family_day:
            continue
        started = _local(family_day, dt.time(17, 0), facility)
        _write_note(
            signer,
            episode.primary_clinician,
            patient=episode.patient,
            kind=Note.Kind.FAMILY,
            started_at=started,
            ended_at=started + dt.timedelta(minutes=50),
            sections={
                "data": f"Family session with {contact.name} "
                f"({contact.get_relationship_kind_display().lower()}). Both described the "
                "evenings as the hardest time; the patient asked for less checking up and "
                "more company.",
                "assessment": "Caring, supportive relationship strained by the past year; both "
                "want the same thing and are learning to say it without blame.",
                "plan": "One shared sober activity each weekend; the family member will come "
                "to the Wednesday family-education group; next family session in two weeks.",
            },
            objective_ids=_in_force(objectives, patient_id, family_day)[:1],
            participant_ids=[contact.pk],
        )
        made += 1
        break
    # A case-management note: the case manager helped with housing and transport.
    managed = (
        CareTeamMember.objects.filter(
            role=CareTeamMember.Role.CASE_MANAGER,
            patient_id__in=list(by_patient),
            ended_on__isnull=True,
        )
        .select_related("user")
        .order_by("pk")
    )
    cm_day = last_monday + dt.timedelta(days=3)
    for member in managed:
        episode = by_patient[member.patient_id]
        if episode.admission_date >= cm_day:
            continue
        started = _local(cm_day, dt.time(14, 0), facility)
        _write_note(
            signer,
            member.user,
            patient=episode.patient,
            kind=Note.Kind.CASE_MANAGEMENT,
            started_at=started,
            ended_at=started + dt.timedelta(minutes=30),
            sections={
                "data": "Met to review housing and transport. The lease ends next month; "
                "the patient has a bus pass but the evening bus stops at 9 pm.",
                "assessment": "Stable for now; housing becomes a risk to recovery next month "
                "without a plan.",
                "plan": "Referred to two recovery residences (applications given); asked the "
                "county transit office about the evening paratransit pass; follow up Friday.",
            },
        )
        made += 1
        break
    return {"notes": made}


# --- recovery: sobriety dates, prescriptions, drug tests, meetings ----------------------------

# The substance a result names for the episode's primary substance (TEDS SUB1).
USE_RESULT = {
    2: "alcohol",
    3: "cocaine",
    4: "thc",
    5: "fentanyl",
    7: "oxycodone",
    10: "amphetamines",
}
URINE_PANEL = ("amphetamines", "buprenorphine", "cocaine", "fentanyl", "opiates", "thc")
FELLOWSHIPS = {
    2: ("aa", "aa", "smart", "celebrate"),
    3: ("ca", "na", "smart"),
    4: ("na", "smart", "refuge"),
    5: ("na", "na", "smart"),
    7: ("na", "na", "refuge"),
    10: ("cma", "na", "smart"),
}
MEETING_NAMES = {
    "aa": ("Tuesday Night Big Book", "Sunrise Serenity", "Keep It Simple"),
    "na": ("Just for Today", "Clean and Serene", "Miracles Happen"),
    "ca": ("Hope Dealers",),
    "cma": ("Crystal Clear",),
    "smart": ("SMART Recovery Corona", "SMART Recovery online"),
    "celebrate": ("Celebrate Recovery Friday",),
    "refuge": ("Refuge Recovery sitting group",),
}
PLACES = {
    "church": ("First Example Methodist Church", "St. Example Parish hall"),
    "community_center": ("Corona Example Community Center", "Oak Street Example Center"),
    "online": ("Online (video)",),
    "on_site": ("Harborlight, group room A",),
}


def _slip_pdf(lines: Sequence[str]) -> bytes:
    """A one-page PDF (Helvetica, plain ASCII lines) built by hand: a signed attendance slip
    as the demo's scanner would have made it, without loading a PDF engine for two files."""

    def escaped(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    shown = " T* ".join(f"({escaped(line)}) Tj" for line in lines)
    stream = f"BT /F1 13 Tf 18 TL 54 330 Td {shown} ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 396] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _collected(day: dt.date, episode: EpisodeOfCare) -> dt.datetime:
    """During the patient's track hours, soon after the start (no draw from the generator:
    the random order's days, unknown in advance, must not change what comes after)."""
    start = episode.track.start_time if episode.track else dt.time(9, 0)
    at = dt.datetime.combine(day, start) + dt.timedelta(minutes=15 + 5 * (day.toordinal() % 7))
    return timezone.make_aware(at, episode.facility.zone)


def _program_day(monday: dt.date, episode: EpisodeOfCare, rng: random.Random) -> dt.date:
    days = (
        recovery_rules.parse_weekdays(episode.track.weekdays)
        if episode.track and episode.track.weekdays
        else (0, 1, 2, 3, 4)
    )
    return monday + dt.timedelta(days=rng.choice(list(days) or [0]))


def _weekday_before(day: dt.date) -> dt.date:
    """The last weekday (Monday to Friday) before ``day``."""
    day -= dt.timedelta(days=1)
    while day.weekday() > 4:
        day -= dt.timedelta(days=1)
    return day


def _recovery(open_episodes: Sequence[EpisodeOfCare], rng: random.Random) -> dict[str, int]:
    from openiop.assessments.models import SubstanceUse

    facility = open_episodes[0].facility
    staff = {u.email: u for u in User.objects.filter(facilities=facility, is_active=True)}
    nurse = staff["nurse@example.org"]
    psychiatrist = staff["psychiatrist@example.org"]
    now = timezone.now()
    today = timezone.localdate(timezone=facility.zone)
    this_monday = scheduling_rules.week_start(today)
    counts = dict.fromkeys(["sobriety_dates", "prescriptions", "drug_tests", "meetings"], 0)

    # Sobriety dates: the day after the last use the assessment recorded, set on admission.
    last_use = dict(
        SubstanceUse.objects.filter(
            rank=1, assessment__patient_id__in=[e.patient_id for e in open_episodes]
        )
        .order_by("assessment__patient_id", "-assessment_id")
        .values_list("assessment__patient_id", "last_use")
    )
    sober: set[int] = set()
    for n, episode in enumerate(open_episodes):
        if n % 7 == 6:
            continue  # not asked yet
        used = last_use.get(episode.patient_id) or episode.admission_date - dt.timedelta(
            days=rng.randint(3, 14)
        )
        row = recovery.set_sobriety_date(
            actor=episode.primary_clinician,
            patient=episode.patient,
            sobriety_date=min(used + dt.timedelta(days=1), episode.admission_date),
        )
        SobrietyDate.objects.filter(pk=row.pk).update(
            set_at=_local(episode.admission_date, dt.time(10, 0), facility)
        )
        sober.add(episode.pk)
        counts["sobriety_dates"] += 1

    # IOP patients here for the four weeks of tests and meetings.
    settled = [
        e
        for e in open_episodes
        if e.program.level_of_care == "2.1"
        and e.admission_date <= this_monday - dt.timedelta(weeks=TEST_WEEKS)
    ]
    opioid = [e for e in settled if e.teds_sub1 in (5, 7)]
    on_bup = (opioid or settled)[:2]
    others = [e for e in settled if e not in on_bup and e.pk in sober]
    if len(others) < 6:
        return counts
    # Who plays which part, picked the same way on every load.
    relapsed, unanswered, fixed_on, random_on = others[:4]
    slip_for = {others[4].pk, others[5].pk}
    tested = [*on_bup, *others[: TESTED_PATIENTS - len(on_bup)]]
    for episode in on_bup:
        recovery.add_prescription(
            actor=psychiatrist,
            patient=episode.patient,
            medication_class="buprenorphine",
            name="Buprenorphine/naloxone 8 mg/2 mg sublingual film, once a day",
            start_date=episode.admission_date - dt.timedelta(days=3),
            prescriber="Helen Abara, MD",
        )
        counts["prescriptions"] += 1
    # Two orders: fixed weekdays that include today (so today's list is never empty) and
    # two random days a week among the program's days.
    start = this_monday - dt.timedelta(weeks=2)
    fixed = recovery.order_drug_tests(
        actor=psychiatrist,
        episode=fixed_on,
        specimen="urine",
        observed=True,
        panel="standard_12",
        frequency="fixed",
        weekdays=sorted({0, 3, today.weekday()}),
        start_date=start,
        reason="Observed testing twice a week after a missed week.",
    )
    randomly = recovery.order_drug_tests(
        actor=psychiatrist,
        episode=random_on,
        specimen="urine",
        observed=False,
        panel="standard_5",
        frequency="random",
        weekdays=[0, 1, 2, 3, 4],
        per_week=2,
        start_date=start,
        reason="Random testing as agreed in the treatment plan.",
    )
    yesterday = today - dt.timedelta(days=1)
    observed = {fixed_on.pk: fixed.observed, random_on.pk: randomly.observed}
    ordered = {
        fixed_on.pk: recovery_rules.due_days(fixed.spec(), start, yesterday),
        random_on.pk: recovery_rules.due_days(randomly.spec(), start, yesterday),
    }
    # One random day the patient did not come: recorded as not collected.
    missed = ordered[random_on.pk].pop() if ordered[random_on.pk] else None
    if missed is not None:
        recovery.mark_not_collected(
            actor=nurse,
            order=randomly,
            due_date=missed,
            status="not_collected",
            reason="Did not come to the program that day; called in with a sick child.",
        )
    for episode in tested:
        weekly = [
            _program_day(this_monday - dt.timedelta(weeks=w), episode, rng)
            for w in range(TEST_WEEKS, 0, -1)
        ]
        days = weekly[:2] + ordered[episode.pk] if episode.pk in ordered else weekly
        if episode == unanswered:
            days = [*weekly[:-1], _weekday_before(today)]
        tests = [(day, _collected(day, episode)) for day in days]
        tests = [(day, at) for day, at in tests if at <= now]
        for n, (day, collected) in enumerate(tests):
            results = dict.fromkeys(URINE_PANEL, "negative")
            if episode.teds_sub1 == 2:
                results["alcohol"] = "negative"  # EtG in the urine
            if episode in on_bup:
                results["buprenorphine"] = "positive"  # expected: the prescription
            newest = n == len(tests) - 1
            if episode == relapsed and newest:
                results[USE_RESULT.get(episode.teds_sub1 or 0, "cocaine")] = "positive"
            if episode == unanswered and newest:
                results["thc"] = "positive"
            test = recovery.record_drug_test(
                actor=nurse,
                episode=episode,
                specimen="urine",
                observed=observed[episode.pk] if episode.pk in observed else rng.random() < 0.5,
                collected_at=collected,
                collected_by=nurse,
                results=results,
            )
            DrugTest.objects.filter(pk=test.pk).update(
                recorded_at=min(collected + dt.timedelta(hours=2), now)
            )
            counts["drug_tests"] += 1
            if episode == relapsed and newest:
                _relapse(episode, test, day)
    counts["meetings"] = _meetings(settled, this_monday, today, slip_for, relapsed, rng)
    return counts


def _relapse(episode: EpisodeOfCare, test: DrugTest, day: dt.date) -> None:
    """The primary clinician talks with the patient the next day: the response to the
    result, a relapse the evening before the test, the sobriety date starts again."""
    clinician = episode.primary_clinician
    recovery.record_response(
        actor=clinician,
        test=test,
        actions=["discussed", "plan_review", "more_testing"],
        note="Talked the same afternoon: used at a friend's birthday party the night before. "
        "Honest about it; asked for more structure on weekends.",
    )
    used = day - dt.timedelta(days=1)
    substance = next(
        r.substance for r in test.results.all() if r.reading == recovery_rules.Reading.UNEXPECTED
    )
    event = recovery.record_relapse(
        actor=clinician,
        patient=episode.patient,
        date=used,
        substances=[substance],
        came_to_light="drug_test",
        drug_test=test,
        circumstances="A friend's birthday party; people were using and offered.",
        triggers="Celebration, old friends, Saturday night with nothing planned after.",
        responses=["plan_review"],
    )
    # Recorded that afternoon, not while the demo loaded.
    talked = test.collected_at + dt.timedelta(hours=4)
    ClinicalResponse.objects.filter(test=test).update(responded_at=talked)
    RelapseEvent.objects.filter(pk=event.pk).update(recorded_at=talked)
    SobrietyDate.objects.filter(relapse=event).update(set_at=talked)


def _meetings(
    settled: Sequence[EpisodeOfCare],
    this_monday: dt.date,
    today: dt.date,
    slip_for: set[int],
    relapsed: EpisodeOfCare,
    rng: random.Random,
) -> int:
    """Mutual-help meetings over the past four weeks, around what each plan asks for."""
    required = dict(
        PlanVersion.objects.filter(
            plan__episode__in=list(settled), status=PlanVersion.Status.ACTIVE
        ).values_list("plan__episode_id", "meetings_per_week")
    )
    sponsors = {
        c.patient_id: c
        for c in SupportContact.objects.filter(
            patient_id__in=[e.patient_id for e in settled], is_sponsor=True, active=True
        ).order_by("pk")
    }
    made = 0
    for n, episode in enumerate(settled):
        if n % 6 == 5:
            continue  # nothing recorded yet: every week shows short
        wanted = required.get(episode.pk, episode.program.required_meetings_per_week)
        choices = FELLOWSHIPS.get(episode.teds_sub1 or 2, FELLOWSHIPS[2])
        slips = 1 if episode.pk in slip_for else 0
        for w in range(TEST_WEEKS - 1, -1, -1):
            monday = this_monday - dt.timedelta(weeks=w)
            last = min(monday + dt.timedelta(days=6), today)
            roll = rng.random()
            count = wanted + 1 if roll < 0.2 else wanted - 1 if roll < 0.35 else wanted
            if episode == relapsed and w == 1:
                count = 0  # the week of the relapse
            for _ in range(max(count, 0)):
                day = monday + dt.timedelta(days=rng.randint(0, (last - monday).days))
                fellowship = rng.choice(choices)
                setting = rng.choices(
                    ["church", "community_center", "online", "on_site"], weights=[40, 30, 20, 10]
                )[0]
                verification = (
                    "staff"
                    if setting == "on_site"
                    else "self"
                    if setting == "online"
                    else rng.choice(["self", "staff"])
                )
                upload = None
                if slips and setting != "on_site":
                    slips -= 1
                    verification = "slip"
                    patient = episode.patient
                    upload = ContentFile(
                        _slip_pdf(
                            [
                                "Signed attendance slip - demo (fictional)",
                                f"Meeting: {MEETING_NAMES[fellowship][0]}",
                                f"Date: {day:%m/%d/%Y}",
                                f"Attendee: {patient.first_name} {patient.last_name[:1]}.",
                                "Chairperson signature: J. Example",
                            ]
                        ),
                        name=f"meeting-slip-{day:%Y%m%d}.pdf",
                    )
                sponsor = sponsors.get(episode.patient_id) if rng.random() < 0.3 else None
                recovery.add_meeting(
                    actor=episode.primary_clinician,
                    episode=episode,
                    date=day,
                    fellowship=fellowship,
                    setting=setting,
                    minutes=60 if fellowship in ("aa", "smart", "refuge") else 90,
                    verification=verification,
                    name=rng.choice(MEETING_NAMES[fellowship]),
                    place=rng.choice(PLACES.get(setting, ("",))),
                    sponsor_contact=sponsor,
                    slip_upload=upload,
                )
                made += 1
    return made


# --- family education --------------------------------------------------------------------------


def _family_education(
    facility: Facility, open_episodes: Sequence[EpisodeOfCare], rng: random.Random
) -> int:
    """Family members at the family-education group of the past two weeks and on the list
    for the next one: only the members a signed consent names on the session's day."""
    now = timezone.now()
    today = timezone.localdate(timezone=facility.zone)
    sessions = list(
        Session.objects.filter(
            facility=facility,
            group__kind=GroupKind.FAMILY_EDUCATION,
            status=Session.Status.SCHEDULED,
            service_date__range=(
                today - family.SESSIONS_BACK,
                today + dt.timedelta(days=7),
            ),
        )
        .select_related("group", "facilitator", "facility")
        .order_by("starts_at", "pk")
    )
    if not sessions:
        return 0
    episodes = {e.patient_id: e for e in open_episodes}
    contacts = [
        c.support_contact
        for c in Consent.objects.filter(
            kind=Consent.Kind.NAMED,
            patient_id__in=list(episodes),
            support_contact__isnull=False,
            support_contact__active=True,
            signed_at__isnull=False,
        )
        .select_related("support_contact__patient__facility")
        .order_by("pk")
    ][:6]
    made = 0
    for session in sessions:
        seen = set(
            visible_patients(session.facilitator)
            .filter(pk__in=[c.patient_id for c in contacts if c is not None])
            .values_list("pk", flat=True)
        )
        for contact in contacts:
            if contact is None or episodes[contact.patient_id].admission_date > (
                session.service_date
            ):
                continue
            if family.consent_naming(contact.patient, contact, session.service_date) is None:
                continue
            actor = (
                session.facilitator
                if contact.patient_id in seen
                else episodes[contact.patient_id].primary_clinician
            )
            if session.starts_at > now:
                status = FamilyAttendance.Status.EXPECTED
            else:
                status = rng.choices(
                    [
                        FamilyAttendance.Status.PRESENT,
                        FamilyAttendance.Status.ABSENT,
                        FamilyAttendance.Status.EXCUSED,
                    ],
                    weights=[70, 15, 15],
                )[0]
            family.record_family_attendance(
                actor=actor, session=session, contact=contact, status=status
            )
            made += 1
    return made
