"""Demo history for the journey from first call to admission (all people are fictional).

Written straight to the tables (as a data import would be): the demo shows a program that
has been running for months, not one that opened this morning.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from types import SimpleNamespace
from typing import Any

from django.utils import timezone

from openiop.accounts.models import Facility, Program
from openiop.admissions.models import Coverage, EpisodeOfCare
from openiop.core import teds
from openiop.patients.models import CareTeamMember, Patient

PAYERS = (
    ("Example Medicaid", "Managed care"),
    ("Blue Example Health", "PPO"),
    ("Harbor Example Insurance", "HMO"),
    ("Example County Behavioral Health", ""),
)


def load_episodes(facility: Facility, rng: random.Random) -> list[EpisodeOfCare]:
    """Open episodes for everyone in treatment, closed ones for the discharged."""
    programs = {p.level_of_care: p for p in Program.objects.filter(facility=facility)}
    iop = programs["2.1"]
    tracks = {p.pk: list(p.tracks.all()) for p in programs.values()}
    phases = {p.pk: list(p.phases.order_by("order")) for p in programs.values()}
    today = timezone.localdate(timezone=facility.zone)
    primary = {
        m.patient_id: m.user
        for m in CareTeamMember.objects.filter(
            patient__facility=facility, role=CareTeamMember.Role.PRIMARY_CLINICIAN
        ).select_related("user")
    }
    clinicians = list({u.pk: u for u in primary.values()}.values())
    episodes: list[EpisodeOfCare] = []
    patients = Patient.objects.filter(facility=facility).order_by("pk")
    for patient in patients:
        if patient.status in (Patient.Status.ACTIVE, Patient.Status.ON_HOLD):
            start = today - dt.timedelta(days=rng.randint(0, 160))
            end = None
        elif patient.status == Patient.Status.DISCHARGED:
            start = today - dt.timedelta(days=rng.randint(120, 700))
            end = start + dt.timedelta(days=rng.randint(20, 110))
        else:
            continue
        program = rng.choices([iop, programs["2.5"], programs["1"]], weights=[80, 12, 8])[0]
        clinician = primary.get(patient.pk) or rng.choice(clinicians)
        weeks = ((end or today) - start).days // 7
        phase = phases[program.pk][0 if weeks < 2 else 1 if weeks < 8 else 2]
        sub1 = rng.choice([2, 2, 2, 5, 7, 10, 4, 3])
        episodes.append(
            EpisodeOfCare(
                patient=patient,
                facility=facility,
                program=program,
                level_of_care=program.level_of_care,
                track=rng.choice(tracks[program.pk]),
                phase=phase,
                admission_date=start,
                discharge_date=end,
                primary_clinician=clinician,
                referral_source=rng.choice(teds.ReferralSource.values),
                expected_length_days=rng.choice([90, 90, 120, 180]),
                asam_level=program.level_of_care,
                teds_services=teds.SERVICES_FOR_LEVEL[program.level_of_care],
                teds_noprior=rng.randint(0, 5),
                teds_sub1=sub1,
                teds_route1=4 if sub1 in (5, 7) and rng.random() < 0.5 else rng.choice([1, 2, 3]),
                teds_freq1=rng.choice([2, 3]),
                teds_frstuse1=rng.randint(2, 6),
                teds_sub2=rng.choice([None, 4, 3, 13]),
                teds_employ=rng.choice(teds.Employment.values),
                teds_livarag=rng.choice([2, 3, 3, 3]),
                teds_arrests=rng.choice([0, 0, 0, 1]),
                teds_psyprob=rng.choice([1, 1, 2]),
                teds_primpay=rng.choice([2, 4, 4, 1]),
                teds_hlthins=rng.choice([1, 2, 2, 4]),
            )
        )
    created = EpisodeOfCare.objects.bulk_create(episodes)
    coverages = []
    for episode in created:
        payer, plan = rng.choice(PAYERS)
        if episode.teds_primpay == 1:
            continue
        coverages.append(
            Coverage(
                episode=episode,
                payer=payer,
                plan=plan,
                member_id=f"DEMO{rng.randint(100000, 999999)}",
                subscriber_name=f"{episode.patient.first_name} {episode.patient.last_name}",
            )
        )
    Coverage.objects.bulk_create(coverages)
    return created


# --- assessments and consents -----------------------------------------------------------------

SUBSTANCE_DIAGNOSES = {
    2: ("F10.20", "Alcohol dependence, uncomplicated"),
    3: ("F14.20", "Cocaine dependence, uncomplicated"),
    4: ("F12.20", "Cannabis dependence, uncomplicated"),
    5: ("F11.20", "Opioid dependence, uncomplicated"),
    7: ("F11.20", "Opioid dependence, uncomplicated"),
    10: ("F15.20", "Other stimulant dependence, uncomplicated"),
}
CO_OCCURRING = (
    ("F33.1", "Major depressive disorder, recurrent, moderate"),
    ("F41.1", "Generalized anxiety disorder"),
    ("F43.10", "Post-traumatic stress disorder, unspecified"),
)
GOALS = (
    "I want to be there for my kids and stop hiding bottles.",
    "Keep my job and get my license back.",
    "Stop using and feel like myself again.",
    "Repair things with my wife and stay sober one day at a time.",
    "Finish my degree without pills.",
)
RATIONALES = {
    1: "No withdrawal signs at assessment; last use more than a week ago.",
    2: "No acute medical problems; follows up with primary care.",
    3: "Depressive and anxious symptoms; no psychosis; safe to live at home.",
    4: "Ambivalent at times but attends and names reasons to change.",
    5: "High risk of return to use without structure; strong cravings at night.",
    6: "Lives at home with some support; using friends nearby.",
}


def load_assessments(episodes: list[EpisodeOfCare], rng: random.Random) -> None:
    """A signed ASAM and biopsychosocial assessment for each admission (before admission day)."""
    from openiop.assessments import rules as asam_rules
    from openiop.assessments.models import (
        AsamAssessment,
        Biopsychosocial,
        Diagnosis,
        SubstanceUse,
    )

    table = asam_rules.DEFAULT_TABLE
    version = f"default:{asam_rules.table_fingerprint(table)}"
    asams, bpss = [], []
    for episode in episodes:
        signed = timezone.make_aware(
            dt.datetime.combine(episode.admission_date - dt.timedelta(days=2), dt.time(10, 30)),
            episode.facility.zone,
        )
        ratings = {
            1: 0,
            2: rng.choice([0, 1]),
            3: rng.choice([1, 2]),
            4: rng.choice([1, 2]),
            5: rng.choice([2, 3]) if episode.level_of_care != "1" else 1,
            6: rng.choice([1, 2]),
        }
        if episode.level_of_care == "2.5":
            ratings[3] = 3
        recommendation = asam_rules.recommend_level(ratings, table)
        final = episode.level_of_care
        asams.append(
            AsamAssessment(
                patient=episode.patient,
                status="signed",
                **{f"d{d}_rating": r for d, r in ratings.items()},
                **{f"d{d}_rationale": RATIONALES[d] for d in ratings},
                recommendation=recommendation.code,
                recommendation_reason=recommendation.reason,
                table_version=version,
                final_level=final,
                override_reason=""
                if final in recommendation.agreeing_levels
                else "Works full time; a recovery residence is not needed.",
                created_by=episode.primary_clinician,
                created_at=signed,
                updated_at=signed,
                signed_by=episode.primary_clinician,
                signed_at=signed,
            )
        )
        bpss.append(
            Biopsychosocial(
                patient=episode.patient,
                status="signed",
                prior_treatment_episodes=episode.teds_noprior,
                mental_health_history="Treated for depression in the past; no hospital stays.",
                medical_conditions="None reported.",
                medications="None.",
                allergies="No known allergies.",
                housing="Rents an apartment; stable.",
                family_support="Sister is supportive; partner attends family night.",
                strengths="Motivated by family; steady work history.",
                goals_own_words=rng.choice(GOALS),
                created_by=episode.primary_clinician,
                created_at=signed,
                updated_at=signed,
                signed_by=episode.primary_clinician,
                signed_at=signed,
            )
        )
    AsamAssessment.objects.bulk_create(asams)
    created = Biopsychosocial.objects.bulk_create(bpss)
    substances, diagnoses = [], []
    for episode, bps in zip(episodes, created, strict=True):
        substances.append(
            SubstanceUse(
                assessment=bps,
                rank=1,
                substance=episode.teds_sub1 or 2,
                route=episode.teds_route1,
                frequency=episode.teds_freq1,
                age_first_use=rng.randint(13, 24),
                last_use=episode.admission_date - dt.timedelta(days=rng.randint(3, 20)),
            )
        )
        code, description = SUBSTANCE_DIAGNOSES.get(
            episode.teds_sub1 or 2, ("F19.20", "Other psychoactive substance dependence")
        )
        diagnoses.append(
            Diagnosis(
                assessment=bps,
                code=code,
                description=description,
                is_primary=True,
                is_substance_use=True,
                order=1,
            )
        )
        if episode.teds_psyprob == 1:
            code, description = rng.choice(CO_OCCURRING)
            diagnoses.append(Diagnosis(assessment=bps, code=code, description=description, order=2))
    SubstanceUse.objects.bulk_create(substances)
    Diagnosis.objects.bulk_create(diagnoses)


def load_consents(episodes: list[EpisodeOfCare], rng: random.Random) -> None:
    """A signed TPO consent at admission for most, and a named consent for a family member."""
    from openiop.patients import consent_rules
    from openiop.patients.models import Consent, SupportContact

    contacts = {
        c.patient_id: c
        for c in SupportContact.objects.filter(
            patient__in=[e.patient_id for e in episodes]
        ).order_by("pk")
    }
    consents = []
    for episode in episodes:
        if rng.random() < 0.1:
            continue  # a few have not signed yet: the header says so
        signed = timezone.make_aware(
            dt.datetime.combine(episode.admission_date, dt.time(9, 15)), episode.facility.zone
        )
        common = {
            "patient": episode.patient,
            "disclosing_party": episode.facility.name,
            "revocation_statement": consent_rules.REVOCATION_STATEMENT,
            "signer": Consent.Signer.PATIENT,
            "typed_signature": f"{episode.patient.first_name} {episode.patient.last_name}",
            "signature_attested": True,
            "signed_at": signed,
            "witnessed_by": episode.primary_clinician,
            "created_at": signed,
            "created_by": episode.primary_clinician,
        }
        consents.append(
            Consent(
                kind=Consent.Kind.TPO,
                information_description="All substance-use treatment records.",
                categories=[consent_rules.ALL],
                recipients_description=consent_rules.TPO_RECIPIENTS_TEXT,
                purpose="Treatment, payment and health care operations.",
                expiry_kind=Consent.Expiry.NONE,
                **common,
            )
        )
        contact = contacts.get(episode.patient_id)
        if contact is not None and rng.random() < 0.5:
            consents.append(
                Consent(
                    kind=Consent.Kind.NAMED,
                    information_description="Attendance and treatment plan progress.",
                    categories=["attendance", "plan"],
                    recipients_description=contact.name,
                    recipient_name=contact.name,
                    support_contact=contact,
                    purpose="To involve my family in my recovery.",
                    expiry_kind=Consent.Expiry.END_OF_TREATMENT,
                    **common,
                )
            )
    Consent.objects.bulk_create(consents)


# --- help requests and the admissions pipeline ------------------------------------------------

CLOSED = (
    ("referred", "Oceanview Example Residential (level 3.5)", ""),
    ("not_admitted", "", "Chose a program closer to work."),
    ("unreachable", "", ""),
)


def load_inquiries(
    facility: Facility, episodes: list[EpisodeOfCare], staff: list[Any], rng: random.Random
) -> None:
    """Help requests behind recent admissions, people in the pipeline now, and closed ones."""
    from openiop.intake import rules as intake_rules
    from openiop.intake.models import ContactAttempt, Inquiry, InquiryStageChange, Screening
    from openiop.synthetic import names

    now = timezone.now()
    today = timezone.localdate(timezone=facility.zone)
    rows: list[tuple[Inquiry, list[str]]] = []

    def make(stage: str, created: dt.datetime, patient: Patient | None = None) -> Inquiry:
        first = patient.first_name if patient else rng.choice(names.NEUTRAL_FIRST)
        last = patient.last_name if patient else rng.choice(names.LAST)
        payer, _ = rng.choice(PAYERS)
        inquiry = Inquiry(
            facility=facility,
            first_name=first,
            last_name=last,
            phone=f"951-555-01{rng.randint(0, 99):02d}",
            email=f"{first.lower()}.{last.lower()}@example.org",
            who_needs_help=rng.choice(["self", "self", "loved_one"]),
            concern_substances=True,
            concern_mental_health=rng.random() < 0.5,
            insurance_payer=payer,
            insurance_member_id=f"DEMO{rng.randint(100000, 999999)}",
            consent_to_contact=True,
            message="I have tried to quit on my own and I can't. I work days.",
            source=rng.choice(["web_form", "web_form", "phone", "referral"]),
            referral_source=1,
            stage=stage,
            owner=rng.choice(staff),
            patient=patient,
            created_at=created,
            stage_changed_at=created + dt.timedelta(days=1),
            next_follow_up=today + dt.timedelta(days=rng.randint(-2, 4))
            if stage not in ("admitted", "referred", "not_admitted", "unreachable")
            else None,
        )
        return inquiry

    order = ["new", "contacted", "screened", "assessment_scheduled", "assessed", "admitted"]
    # Admissions of the past 90 days came through the web form or the phone.
    for episode in episodes:
        if episode.discharge_date is not None or (today - episode.admission_date).days > 90:
            continue
        created = timezone.make_aware(
            dt.datetime.combine(
                episode.admission_date - dt.timedelta(days=rng.randint(3, 12)), dt.time(11, 0)
            ),
            episode.facility.zone,
        )
        inquiry = make("admitted", created, episode.patient)
        inquiry.admitted_at = timezone.make_aware(
            dt.datetime.combine(episode.admission_date, dt.time(9, 0)), episode.facility.zone
        )
        inquiry.stage_changed_at = inquiry.admitted_at
        rows.append((inquiry, order))
    # People in the pipeline now, some already registered (not yet admitted).
    prospective = list(
        Patient.objects.filter(facility=facility, status=Patient.Status.PROSPECTIVE)[:6]
    )
    for index, stage in enumerate(
        [
            "new",
            "new",
            "new",
            "contacted",
            "contacted",
            "screened",
            "screened",
            "assessment_scheduled",
            "assessment_scheduled",
            "assessed",
        ]
    ):
        created = now - dt.timedelta(days=rng.randint(0, 9), hours=rng.randint(0, 8))
        registered = stage in ("assessment_scheduled", "assessed") or (
            stage == "screened" and index % 2 == 0
        )
        patient = prospective.pop() if registered and prospective else None
        inquiry = make(stage, created, patient)
        if stage == "assessment_scheduled":
            inquiry.assessment_scheduled_for = now + dt.timedelta(days=rng.randint(1, 5))
        rows.append((inquiry, order[: order.index(stage) + 1]))
    for stage, referred_to, reason in CLOSED:
        created = now - dt.timedelta(days=rng.randint(10, 40))
        inquiry = make(stage, created)
        inquiry.referred_to, inquiry.not_admitted_reason = referred_to, reason
        inquiry.closed_at = created + dt.timedelta(days=5)
        rows.append((inquiry, ["new", "contacted", stage]))
    created_rows = Inquiry.objects.bulk_create([r[0] for r in rows])
    changes, attempts, screenings = [], [], []
    for inquiry, path in zip(created_rows, [r[1] for r in rows], strict=True):
        for step, (before, after) in enumerate(itertools.pairwise(["", *path])):
            changes.append(
                InquiryStageChange(
                    inquiry=inquiry,
                    from_stage=before,
                    to_stage=after,
                    changed_by=inquiry.owner if step else None,
                    changed_at=inquiry.created_at + dt.timedelta(hours=6 * step),
                )
            )
        if "contacted" in path:
            attempts.append(
                ContactAttempt(
                    inquiry=inquiry,
                    made_at=inquiry.created_at + dt.timedelta(hours=3),
                    outcome="reached" if inquiry.stage != "unreachable" else "no_answer",
                    note="Talked through the program and the evening track.",
                    made_by=inquiry.owner,
                )
            )
        if "screened" in path:
            facts = intake_rules.ScreeningFacts(track="evening")
            advice = intake_rules.recommend(facts)
            screenings.append(
                Screening(
                    inquiry=inquiry,
                    patient=inquiry.patient,
                    withdrawal_instrument="ciwa_ar",
                    withdrawal_score=rng.randint(0, 7),
                    cssrs_answers={str(i): False for i in range(1, 7)},
                    cssrs_band="none",
                    living_situation="stable_with_others",
                    has_support_system=True,
                    support_who="Sister and a friend from work",
                    motivation="wants_sobriety",
                    track="evening",
                    needs_24h_supervision=False,
                    unstable=False,
                    recent_stay="none",
                    recommended_outcome=advice.outcome,
                    recommendation_reasons=advice.reasons,
                    outcome=advice.outcome,
                    screened_by=inquiry.owner,
                    screened_at=inquiry.created_at + dt.timedelta(days=1),
                )
            )
    InquiryStageChange.objects.bulk_create(changes)
    ContactAttempt.objects.bulk_create(attempts)
    Screening.objects.bulk_create(screenings)


# --- measurement-based care -------------------------------------------------------------------


def _answers(rng: random.Random, items: int, target: int, top: int) -> dict[str, int]:
    """Answers summing to about ``target`` (each item 0..top), item order shuffled."""
    values = [0] * items
    for _ in range(max(0, min(target, items * top))):
        open_items = [i for i in range(items) if values[i] < top]
        values[rng.choice(open_items)] += 1
    return {str(i + 1): v for i, v in enumerate(values)}


def load_measures(episodes: list[EpisodeOfCare], rng: random.Random) -> None:
    """PHQ-9 and GAD-7 every two weeks since admission, mostly improving (PHQ-9 item 9 is 0:
    the demo raises no suicide-risk alert of its own)."""
    from openiop.measures.models import Administration
    from openiop.measures.scoring import score

    rows = []
    for episode in episodes:
        if episode.discharge_date is not None:
            continue
        today = timezone.localdate(timezone=episode.facility.zone)
        start_phq, start_gad = rng.randint(9, 19), rng.randint(7, 16)
        weeks = max((today - episode.admission_date).days // 14, 0)
        for n in range(weeks + 1):
            day = episode.admission_date + dt.timedelta(days=14 * n)
            when = timezone.make_aware(
                dt.datetime.combine(day, dt.time(17, 45)), episode.facility.zone
            )
            improving = max(0, round(start_phq * (1 - 0.12 * n)) + rng.randint(-1, 1))
            phq = _answers(rng, 8, improving, 3)
            phq["9"] = 0
            gad = _answers(rng, 7, max(0, round(start_gad * (1 - 0.1 * n))), 3)
            for code, answers in (("phq9", phq), ("gad7", gad)):
                result = score(code, answers)
                rows.append(
                    Administration(
                        patient=episode.patient,
                        instrument=code,
                        answers=answers,
                        total=result.total,
                        band=result.band,
                        flags=sorted(result.flags),
                        administered_at=when,
                        administered_by=episode.primary_clinician,
                        entered_at=when,
                        entered_by=episode.primary_clinician,
                    )
                )
    Administration.objects.bulk_create(rows)


# --- treatment plans ---------------------------------------------------------------------------

OWN_WORDS = {
    "substance_use": (
        "I want to stop drinking before it costs me my family.",
        "Stay clean so I can keep my job and my apartment.",
        "I don't want to wake up sick every morning anymore.",
        "Be sober for my daughter's graduation in June.",
        "Stop using and feel like myself again.",
    ),
    "depression": (
        "I want to get out of bed and feel like doing things again.",
        "Stop feeling like a burden to everyone.",
    ),
    "anxiety": (
        "Handle my nerves without a drink.",
        "Go to the store without a panic attack.",
    ),
    "trauma": (
        "Sleep through the night without the nightmares.",
        "Stop letting what happened run my life.",
    ),
    "environment": (
        "Find a place to live where nobody is using.",
        "Get my license back and keep a steady job.",
    ),
}
SERVICE_LABELS = {
    "group": "Relapse prevention group",
    "individual": "Individual session",
    "case_management": "Case management check-in",
}
RELAPSE_PLANS = (
    {
        "triggers_people": "Old friends from the bar; my cousin when he's using.",
        "triggers_places": "The liquor store on my way home; Friday paydays.",
        "triggers_feelings": "Lonely in the evenings, angry after arguments.",
        "warning_signs": "Skipping group, not answering my sister, staying up late.",
        "coping_strategies": "Call my sponsor, go to the 7 pm meeting, walk the dog.",
        "reasons": "My kids, my job, my health.",
        "after_lapse": "Tell my counselor the same day and go to a meeting that night.",
    },
    {
        "triggers_people": "Coworkers who go out after shift.",
        "triggers_situations": "Being alone on weekends with nothing planned.",
        "triggers_feelings": "Stress about money; feeling left out.",
        "warning_signs": "Romanticizing using, isolating, poor sleep.",
        "coping_strategies": "Text the group chat, gym after work, HALT check.",
        "reasons": "Getting my license back; staying out of court.",
        "after_lapse": "Call my sponsor, be honest in group, add a meeting.",
    },
)


class _DemoSigner:
    """Signs demo plans as a staff member through the services.

    The demo users were created moments ago with the demo password; each one's password is
    checked once with the real hasher (PBKDF2 takes a good fraction of a second), after
    which this in-memory copy answers for the same password, so dozens of signatures load
    in seconds. Nothing is stored: the user row and its hash are untouched.
    """

    def __init__(self, password: str) -> None:
        self.password = password
        self.verified: dict[int, Any] = {}

    def __call__(self, user: Any) -> Any:
        if user.pk not in self.verified:
            if not user.check_password(self.password):
                raise ValueError(f"The demo password does not open {user.email}.")
            password = self.password
            user.check_password = lambda raw, _ok=password: raw == _ok
            self.verified[user.pk] = user
        return self.verified[user.pk]


def _demo_plan_content(
    episode: EpisodeOfCare, entries: dict[str, list[Any]], rng: random.Random
) -> list[tuple[Any, dict[str, Any]]]:
    """Two or three library problems, personalized: the goal in the person's words,
    two objectives with target dates and the interventions serving them."""
    categories = ["substance_use"]
    extra = rng.sample(["depression", "anxiety", "trauma", "environment"], k=rng.choice([1, 1, 2]))
    categories += extra
    chosen = []
    for category in categories:
        entry = rng.choice(entries[category]) if entries.get(category) else None
        if entry is None:
            continue
        library_objectives = list(entry.objectives.all())[:2]
        objectives = [
            {
                "text": o.text,
                "target_date": episode.admission_date + dt.timedelta(weeks=o.target_weeks),
            }
            for o in library_objectives
        ]
        # Every objective gets one of the entry's interventions (each needs at least one).
        offered = list(entry.interventions.all()) or [
            SimpleNamespace(modality="group", description="", frequency="3 times a week")
        ]
        interventions = [
            {
                "modality": i.modality,
                "description": i.description,
                "frequency": i.frequency,
                "objective": n,
                "responsible": episode.primary_clinician if i.modality == "individual" else None,
            }
            for n, i in ((n, offered[(n - 1) % len(offered)]) for n in range(1, 3))
            if n <= len(objectives)
        ]
        sub = SUBSTANCE_DIAGNOSES.get(episode.teds_sub1 or 0)
        chosen.append(
            (
                entry,
                {
                    "own_words": rng.choice(OWN_WORDS[category]),
                    "clinical": entry.goals.all()[0].clinical if entry.goals.all() else "",
                    "diagnosis_codes": [sub[0]] if sub and category == "substance_use" else [],
                    "objectives": objectives,
                    "interventions": interventions,
                },
            )
        )
    return chosen


def _backdate(version: Any, day: dt.date, *, review_days: int) -> None:
    """Signed a few days after admission (as the program has been running for months):
    the signatures, the lock and the activation move to that day, and so does the first
    review due date (the services set both to today)."""
    from openiop.plans import rules
    from openiop.plans.models import PlanVersion, Signature, TreatmentPlan

    zone = version.plan.patient.facility.zone
    when = timezone.make_aware(dt.datetime.combine(day, dt.time(15, 30)), zone)
    Signature.objects.filter(version=version).update(signed_at=when)
    PlanVersion.objects.filter(pk=version.pk).update(
        locked_at=when, activated_at=when, created_at=when - dt.timedelta(days=1)
    )
    TreatmentPlan.objects.filter(pk=version.plan_id).update(
        review_due_on=rules.next_review_due(day, review_days), created_at=when
    )


def load_plans(
    episodes: list[EpisodeOfCare],
    rng: random.Random,
    *,
    password: str,
    supervisor: Any,
) -> dict[str, int]:
    """Treatment plans for most open episodes, built through openiop.plans.services from
    the organization's library: most signed by the patient and the primary clinician (and
    the supervisor for clinicians who need a co-signature), a few drafts or still waiting
    for signatures, some reviewed, one revised to a version 2, relapse-prevention plans with
    support contacts, and services linked to objectives (the golden thread)."""
    from openiop.patients.models import SupportContact
    from openiop.plans import selectors, services
    from openiop.plans.models import Objective

    counts = {"plans": 0, "active": 0, "draft": 0, "signing": 0, "reviewed": 0, "revised": 0}
    counts |= {"relapse": 0, "links": 0}
    open_episodes = [e for e in episodes if e.discharge_date is None]
    if not open_episodes:
        return counts
    facility = open_episodes[0].facility
    today = timezone.localdate(timezone=facility.zone)
    entries: dict[str, list[Any]] = {}
    for entry in selectors.library_for(facility.organization):
        entries.setdefault(entry.category, []).append(entry)
    signer = _DemoSigner(password)
    cosigner = signer(supervisor)
    contacts: dict[int, list[SupportContact]] = {}
    for contact in SupportContact.objects.filter(
        patient_id__in=[e.patient_id for e in open_episodes]
    ).order_by("pk"):
        contacts.setdefault(contact.patient_id, []).append(contact)
    revised = False
    for n, episode in enumerate(open_episodes):
        if n % 8 == 7:
            continue  # admitted, plan not written yet: the home panel lists them
        clinician = signer(episode.primary_clinician)
        patient = episode.patient
        version = services.start_plan(actor=clinician, episode=episode)
        services.update_intensity(
            actor=clinician,
            version=version,
            data={
                "hours_per_day": version.hours_per_day,
                "days_per_week": version.days_per_week,
                "track": version.track,
                "meetings_per_week": version.meetings_per_week,
                "strengths": rng.choice(
                    [
                        "Motivated; close to a sister who supports recovery.",
                        "Steady work history; good sense of humor; attends faithfully.",
                        "Previous 2 years sober; knows what worked before.",
                    ]
                ),
                "discharge_criteria": "Meets the objectives below, has a sober-support "
                "network and a relapse-prevention plan, and steps down to outpatient.",
            },
        )
        for entry, data in _demo_plan_content(episode, entries, rng):
            services.add_from_library(actor=clinician, version=version, entry=entry, data=data)
        counts["plans"] += 1
        if n % 8 == 6:
            counts["draft"] += 1
            continue  # still a draft
        name = f"{patient.first_name} {patient.last_name}"
        services.sign(
            actor=clinician, version=version, role="patient", typed_name=name, attested=True
        )
        if n % 8 == 5:
            counts["signing"] += 1
            continue  # the patient signed; the clinician has not yet
        services.sign(actor=clinician, version=version, role="clinician", password=password)
        if services.missing_signatures(version):
            if n % 16 == 4:
                counts["signing"] += 1
                continue  # waiting for the supervisor's co-signature
            services.sign(actor=cosigner, version=version, role="supervisor", password=password)
        counts["active"] += 1
        version.refresh_from_db()
        signed_on = min(episode.admission_date + dt.timedelta(days=rng.randint(2, 6)), today)
        _backdate(version, signed_on, review_days=episode.program.plan_review_days)
        objectives = list(Objective.objects.filter(goal__problem__version=version).order_by("pk"))
        # The golden thread: groups and sessions since the plan was signed.
        days = (today - signed_on).days
        for objective in objectives[:3]:
            for _ in range(min(days // 7, rng.randint(1, 5))):
                kind = rng.choice(list(SERVICE_LABELS))
                services.link_service(
                    actor=clinician,
                    objective=objective,
                    service_kind=kind,
                    service_date=signed_on + dt.timedelta(days=rng.randint(1, max(days, 1))),
                    label=SERVICE_LABELS[kind],
                )
                counts["links"] += 1
        if n % 3 == 0 and contacts.get(patient.pk):
            services.save_relapse_prevention(
                actor=clinician,
                episode=episode,
                data=rng.choice(RELAPSE_PLANS),
                contacts=contacts[patient.pk][:2],
            )
            counts["relapse"] += 1
        plan = version.plan
        if days >= 30 and n % 4 == 1:
            services.record_review(
                actor=clinician,
                plan=plan,
                reviewed_on=signed_on + dt.timedelta(days=min(30, days)),
                decision="continue",
                summary="Attends most groups; cravings down; working the objectives.",
                progress=[
                    {
                        "objective": o.pk,
                        "status": "met" if i == 0 else "in_progress",
                        "note": "Talked it through in session.",
                    }
                    for i, o in enumerate(objectives)
                ],
            )
            counts["reviewed"] += 1
            if not revised and days >= 45:
                revised = True
                counts["revised"] += 1
                v2 = services.new_version(
                    actor=clinician,
                    plan=plan,
                    reason="Review: first objective met; added a family session every other week.",
                )
                objective = Objective.objects.filter(goal__problem__version=v2).order_by("pk")[1]
                services.save_intervention(
                    actor=clinician,
                    objective=objective,
                    data={
                        "modality": "family",
                        "description": "Family session with her sister.",
                        "frequency": "Every other week",
                        "responsible": clinician,
                    },
                )
                services.sign(
                    actor=clinician, version=v2, role="patient", typed_name=name, attested=True
                )
                services.sign(actor=clinician, version=v2, role="clinician", password=password)
                if services.missing_signatures(v2):
                    services.sign(actor=cosigner, version=v2, role="supervisor", password=password)
    return counts
