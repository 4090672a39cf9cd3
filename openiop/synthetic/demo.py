"""The demo: one fictional organization with programs, about 20 staff and 60 patients."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import time

from django.db import transaction

from openiop.accounts.models import Credential, Facility, Organization, Phase, Program, Track, User
from openiop.accounts.roles import Role
from openiop.accounts.rules import default_dose_rules
from openiop.patients.models import CareTeamMember, Patient
from openiop.synthetic.clinical import (
    load_assessments,
    load_consents,
    load_episodes,
    load_inquiries,
    load_measures,
    load_plans,
)
from openiop.synthetic.continuing import load_continuing_care
from openiop.synthetic.documentation import load_documentation
from openiop.synthetic.generate import generate_patients
from openiop.synthetic.schedule import load_schedule

ORGANIZATION = "Harborlight Recovery (demo)"
DEMO_PASSWORD = "openiop-demo-2026"  # noqa: S105 - fictional demo accounts, printed on purpose
DEMO_SEED = 2026


@dataclass(frozen=True)
class StaffSeed:
    email: str
    first: str
    last: str
    role: str
    title: str
    credentials: tuple[str, ...] = ()
    needs_cosign: bool = False


STAFF: tuple[StaffSeed, ...] = (
    StaffSeed("admin@example.org", "Avery", "Lindqvist", Role.ADMINISTRATOR, "Operations manager"),
    StaffSeed(
        "director@example.org",
        "Renee",
        "Okafor",
        Role.CLINICAL_DIRECTOR,
        "Clinical director",
        ("LCSW",),
    ),
    StaffSeed(
        "supervisor@example.org",
        "Marcus",
        "Delgado",
        Role.CLINICAL_SUPERVISOR,
        "Clinical supervisor",
        ("LMFT", "CADC"),
    ),
    StaffSeed(
        "clinician@example.org", "Jenna", "Park", Role.CLINICIAN, "Primary therapist", ("LPC",)
    ),
    StaffSeed(
        "clinician2@example.org",
        "Tomas",
        "Reyes",
        Role.CLINICIAN,
        "Addiction counselor",
        ("CADC",),
        True,
    ),
    StaffSeed("clinician3@example.org", "Priya", "Shah", Role.CLINICIAN, "Therapist", ("LCSW",)),
    StaffSeed(
        "clinician4@example.org",
        "Dwayne",
        "Brooks",
        Role.CLINICIAN,
        "Addiction counselor",
        ("CADC",),
        True,
    ),
    StaffSeed(
        "clinician5@example.org", "Mei", "Tanaka", Role.CLINICIAN, "Family therapist", ("LMFT",)
    ),
    StaffSeed(
        "clinician6@example.org",
        "Sam",
        "Whitaker",
        Role.CLINICIAN,
        "Veterans' group counselor",
        ("LADC",),
    ),
    StaffSeed("psychiatrist@example.org", "Helen", "Abara", Role.MEDICAL, "Psychiatrist", ("MD",)),
    StaffSeed(
        "np@example.org", "Luis", "Navarro", Role.MEDICAL, "Psychiatric nurse practitioner", ("NP",)
    ),
    StaffSeed("nurse@example.org", "Grace", "Holland", Role.MEDICAL, "Nurse", ("RN",)),
    StaffSeed("casemanager@example.org", "Omar", "Haddad", Role.CASE_MANAGER, "Case manager"),
    StaffSeed(
        "casemanager2@example.org", "Lena", "Novak", Role.CASE_MANAGER, "Case manager", ("CPRS",)
    ),
    StaffSeed(
        "admissions@example.org", "Carla", "Mendoza", Role.ADMISSIONS, "Admissions coordinator"
    ),
    StaffSeed("admissions2@example.org", "Kevin", "Tran", Role.ADMISSIONS, "Intake specialist"),
    StaffSeed("billing@example.org", "Dana", "Fischer", Role.BILLING, "Billing specialist"),
    StaffSeed("frontdesk@example.org", "Rosa", "Vega", Role.FRONT_DESK, "Front desk"),
    StaffSeed("auditor@example.org", "Irene", "Walsh", Role.AUDITOR, "Compliance officer"),
    StaffSeed(
        "alumni@example.org", "Jordan", "Bell", Role.ALUMNI_COORDINATOR, "Alumni coordinator"
    ),
)

PHASES = (
    ("engagement", "Engagement", 1, 2),
    ("early_recovery", "Early recovery", 3, 8),
    ("maintenance", "Maintenance", 9, None),
    ("community_integration", "Community integration", None, None),
)


def _program(
    facility: Facility,
    name: str,
    level: str,
    tracks: list[tuple[str, str, time, time, str]],
    *,
    population: str = "adult",
) -> Program:
    rules = default_dose_rules(level, population)
    program = Program.objects.create(
        facility=facility,
        name=name,
        level_of_care=level,
        population=population,
        min_hours_per_day=rules.min_hours_per_day,
        min_days_per_week=rules.min_days_per_week,
        min_hours_per_week=rules.min_hours_per_week,
        max_hours_per_week=rules.max_hours_per_week,
    )
    for track_name, kind, start, end, days in tracks:
        Track.objects.create(
            program=program,
            name=track_name,
            kind=kind,
            start_time=start,
            end_time=end,
            weekdays=days,
        )
    for order, (code, phase_name, start_week, end_week) in enumerate(PHASES, start=1):
        Phase.objects.create(
            program=program,
            order=order,
            code=code,
            name=phase_name,
            typical_start_week=start_week or 9,
            typical_end_week=end_week,
        )
    return program


def demo_is_loaded() -> bool:
    return Organization.objects.filter(name=ORGANIZATION).exists()


@transaction.atomic
def load_demo() -> list[tuple[str, str, str]]:
    """Create the demo organization; returns (role, e-mail, name) of each sign-in."""
    org = Organization.objects.create(name=ORGANIZATION)
    facility = Facility.objects.create(
        organization=org,
        name="Harborlight Corona",
        code="HLC",
        time_zone="America/Los_Angeles",
        address_line1="100 Example Way, Suite 200",
        city="Corona",
        state="CA",
        postal_code="92880",
        phone="951-555-0100",
    )
    _program(
        facility,
        "Adult IOP",
        "2.1",
        [
            ("Day", "day", time(9, 0), time(12, 0), "0,1,2,3,4"),
            ("Evening", "evening", time(18, 0), time(21, 0), "0,1,2,3"),
        ],
    )
    _program(
        facility,
        "Partial hospitalization",
        "2.5",
        [("Day", "day", time(8, 30), time(14, 30), "0,1,2,3,4")],
    )
    _program(
        facility, "Outpatient", "1", [("Evening", "evening", time(18, 0), time(19, 30), "1,3")]
    )

    users: dict[str, User] = {}
    for seed in STAFF:
        user = User.objects.create_user(
            email=seed.email,
            password=DEMO_PASSWORD,
            first_name=seed.first,
            last_name=seed.last,
            role=seed.role,
            title=seed.title,
            organization=org,
            needs_cosign=seed.needs_cosign,
            is_staff=seed.role == Role.ADMINISTRATOR,
            is_superuser=seed.role == Role.ADMINISTRATOR,
        )
        user.facilities.add(facility)
        for kind in seed.credentials:
            Credential.objects.create(
                user=user, kind=kind, state="CA", number=f"DEMO-{kind}-{user.pk:04d}"
            )
        users[seed.email] = user
    supervisor = users["supervisor@example.org"]
    User.objects.filter(role=Role.CLINICIAN, organization=org).update(supervisor=supervisor)

    generate_patients(facility, count=60, seed=DEMO_SEED)

    clinicians = [u for u in users.values() if u.role == Role.CLINICIAN]
    case_managers = [u for u in users.values() if u.role == Role.CASE_MANAGER]
    in_care = Patient.objects.filter(
        facility=facility, status__in=[Patient.Status.ACTIVE, Patient.Status.ON_HOLD]
    ).order_by("pk")
    assignments = []
    clinician_cycle = itertools.cycle(clinicians)
    manager_cycle = itertools.cycle(case_managers)
    for index, patient in enumerate(in_care):
        assignments.append(
            CareTeamMember(
                patient=patient,
                user=next(clinician_cycle),
                role=CareTeamMember.Role.PRIMARY_CLINICIAN,
            )
        )
        if index % 2 == 0:
            assignments.append(
                CareTeamMember(
                    patient=patient, user=next(manager_cycle), role=CareTeamMember.Role.CASE_MANAGER
                )
            )
        if index % 5 == 0:
            assignments.append(
                CareTeamMember(
                    patient=patient,
                    user=users["psychiatrist@example.org"],
                    role=CareTeamMember.Role.PRESCRIBER,
                )
            )
    CareTeamMember.objects.bulk_create(assignments)
    rng = random.Random(DEMO_SEED)
    episodes = load_episodes(facility, rng)
    load_assessments(episodes, rng)
    load_consents(episodes, rng)
    load_measures(episodes, rng)
    load_inquiries(
        facility, episodes, [users["admissions@example.org"], users["admissions2@example.org"]], rng
    )
    load_plans(episodes, rng, password=DEMO_PASSWORD, supervisor=supervisor)
    load_schedule(episodes, rng, director=users["director@example.org"])
    load_documentation(episodes, rng, password=DEMO_PASSWORD, supervisor=supervisor)
    load_continuing_care(episodes, rng)
    return [
        (s.role.label if isinstance(s.role, Role) else s.role, s.email, f"{s.first} {s.last}")
        for s in STAFF
    ]


def sign_in_table() -> str:
    width = max(len(s.email) for s in STAFF)
    lines = [f"  {'e-mail'.ljust(width)}  role", f"  {'-' * width}  ----"]
    lines += [f"  {s.email.ljust(width)}  {Role(s.role).label}" for s in STAFF]
    lines.append(f"  Password for every demo account: {DEMO_PASSWORD}")
    return "\n".join(lines)
