"""The demo organization and the deterministic synthetic-patient generator (SPEC §13)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from openiop.accounts.models import Facility, Organization, Phase, Program, Track, User
from openiop.accounts.roles import Role
from openiop.patients.models import CareTeamMember, Patient, PatientSearchToken
from openiop.patients.selectors import search_patients
from openiop.synthetic.demo import DEMO_PASSWORD
from openiop.synthetic.generate import generate_patients
from tests.factories import FacilityFactory


def test_it_loads_the_demo_organization_once(db: None) -> None:
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo data loaded: fictional people only." in out.getvalue()
    assert DEMO_PASSWORD in out.getvalue()

    assert Organization.objects.count() == 1
    facility = Facility.objects.get()
    programs = Program.objects.filter(facility=facility)
    assert sorted(programs.values_list("level_of_care", flat=True)) == ["1", "2.1", "2.5"]
    for program in programs:
        program.full_clean()  # the demo obeys its own dose rules
        assert list(program.phases.order_by("order").values_list("code", flat=True)) == [
            "engagement",
            "early_recovery",
            "maintenance",
            "community_integration",
        ]
    iop = programs.get(level_of_care="2.1")
    assert sorted(iop.tracks.values_list("kind", flat=True)) == ["day", "evening"]
    assert all(t.hours_per_day == 3 for t in iop.tracks.all())

    staff = User.objects.filter(organization__name__contains="demo")
    assert staff.count() == 20
    assert set(staff.values_list("role", flat=True)) == set(Role.values)
    assert len(Role.values) == 11
    assert all(u.facilities.filter(pk=facility.pk).exists() for u in staff)

    assert Patient.objects.filter(facility=facility).count() == 60
    assert CareTeamMember.objects.exists()
    assert PatientSearchToken.objects.exists()
    assert all(p.phone[4:10] == "555-01" for p in Patient.objects.all())
    assert all(p.email.endswith("@example.org") for p in Patient.objects.exclude(email=""))

    counts = (User.objects.count(), Patient.objects.count(), Program.objects.count())
    again = StringIO()
    call_command("load_demo", stdout=again)
    assert "already loaded" in again.getvalue()
    assert (User.objects.count(), Patient.objects.count(), Program.objects.count()) == counts
    assert (Track.objects.count(), Phase.objects.count()) == (4, 12)


def test_it_lets_the_demo_director_sign_in_and_find_patients(db: None) -> None:
    call_command("load_demo", stdout=StringIO())
    client = Client()
    assert client.login(username="director@example.org", password=DEMO_PASSWORD)
    assert client.get("/").status_code == 200
    director = User.objects.get(email="director@example.org")
    assert len(search_patients(director, query="").patients) == 50  # the first page


def sequence(facility: Facility) -> list[tuple[str, str, str]]:
    return [
        (p.first_name, p.last_name, p.date_of_birth.isoformat())
        for p in Patient.objects.filter(facility=facility).order_by("pk")
    ]


def test_it_generates_the_same_people_from_the_same_seed(db: None) -> None:
    out = StringIO()
    call_command(
        "generate_synthetic", "--patients", "50", "--seed", "7", "--facility", "SYA", stdout=out
    )
    call_command(
        "generate_synthetic", "--patients", "50", "--seed", "7", "--facility", "syb", stdout=out
    )
    first, second = (Facility.objects.get(code=code) for code in ("SYA", "SYB"))
    assert "Created 50 synthetic patients" in out.getvalue()
    assert len(sequence(first)) == 50
    assert sequence(first) == sequence(second)
    assert [p.mrn for p in Patient.objects.filter(facility=first).order_by("pk")][:2] == [
        "SYA-100001",
        "SYA-100002",
    ]


def test_it_generates_other_people_from_another_seed(db: None) -> None:
    one, two = FacilityFactory.create(code="SD1"), FacilityFactory.create(code="SD2")
    generate_patients(one, count=20, seed=7)
    generate_patients(two, count=20, seed=8)
    assert sequence(one) != sequence(two)


def test_it_continues_the_mrns_after_a_second_batch(db: None) -> None:
    facility = FacilityFactory.create(code="SYN")
    assert generate_patients(facility, count=3, seed=1, batch_size=2) == 3
    assert generate_patients(facility, count=2, seed=2) == 2
    assert sorted(Patient.objects.values_list("mrn", flat=True)) == [
        f"SYN-10000{n}" for n in range(1, 6)
    ]
    assert PatientSearchToken.objects.filter(patient__facility=facility).exists()


def test_it_makes_generated_patients_findable(db: None) -> None:
    facility = FacilityFactory.create(code="SYF")
    generate_patients(facility, count=10, seed=3)
    someone = Patient.objects.filter(facility=facility).first()
    assert someone is not None
    viewer = User.objects.create_user(
        email="viewer@example.org", password="x" * 12, role=Role.CLINICAL_DIRECTOR
    )
    viewer.facilities.add(facility)
    found = search_patients(viewer, query=f"{someone.first_name[:3]} {someone.last_name[:3]}")
    assert someone in found.patients
    assert search_patients(viewer, query=someone.phone[-4:]).patients
    assert someone in search_patients(viewer, query=someone.mrn).patients


def test_it_refuses_to_generate_nobody(db: None) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("generate_synthetic", "--patients", "0", stdout=StringIO())


def test_it_generates_the_same_people_whatever_the_batch_size(db: None) -> None:
    one, two = FacilityFactory.create(code="SB1"), FacilityFactory.create(code="SB2")
    generate_patients(one, count=30, seed=7)
    generate_patients(two, count=30, seed=7, batch_size=10)
    assert sequence(one) == sequence(two)
