"""Demo history for the journey from first call to admission (all people are fictional).

Written straight to the tables (as a data import would be): the demo shows a program that
has been running for months, not one that opened this morning.
"""

from __future__ import annotations

import datetime as dt
import random

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
        phases = list(program.phases.order_by("order"))
        weeks = ((end or today) - start).days // 7
        phase = phases[0 if weeks < 2 else 1 if weeks < 8 else 2]
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
