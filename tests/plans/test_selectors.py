"""Plan reads: a version costs the same queries whatever its size, the golden thread counts
by objective key, and the home panel lists the plans that need work, for the right people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.patients.models import Patient
from openiop.plans import selectors, services
from openiop.plans.models import Objective, PlanVersion, TreatmentPlan
from tests.admissions.factories import episode, program_with_phases
from tests.conftest import body, signed_in
from tests.factories import CareTeamMemberFactory, PatientFactory
from tests.plans.factories import active_plan, add_problem, draft_plan, sign_all


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility, plan_review_days=30)


def today(facility: Facility) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def person(facility: Facility, clinician: User, last_name: str) -> Patient:
    p = PatientFactory.create(facility=facility, first_name="Test", last_name=last_name)
    CareTeamMemberFactory.create(patient=p, user=clinician)
    return p


def _walk(version: PlanVersion) -> int:
    """Touch everything a plan page shows; returns the number of objectives."""
    n = 0
    for p in version.problems.all():
        for g in p.goals.all():
            for o in g.objectives.all():
                n += 1
                assert o.service_count >= 0  # type: ignore[attr-defined]
                for i in o.interventions.all():
                    assert i.responsible is None or i.responsible.display_name
    assert [s.signed_by.display_name for s in version.signatures.all()]
    selectors.comparison_items(version)
    return n


def test_a_version_costs_the_same_queries_whatever_its_size(
    facility: Facility,
    program: Program,
    clinician: User,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    small = active_plan(
        clinician, episode(person(facility, clinician, "Small"), program, clinician), objectives=2
    )
    big = services.start_plan(
        actor=clinician, episode=episode(person(facility, clinician, "Big"), program, clinician)
    )
    for n in range(4):
        add_problem(clinician, big, objectives=10, statement=f"Problem {n}")
    sign_all(big, clinician)
    objective = Objective.objects.filter(goal__problem__version=big).first()
    assert objective is not None
    services.link_service(
        actor=clinician, objective=objective, service_kind="group", service_date=today(facility)
    )
    counts = []
    for version, size in ((small, 2), (big, 40)):
        plan = version.plan
        with django_assert_num_queries(6) as captured:
            tree = selectors.version_tree(version.pk, plan)
            assert tree is not None
            assert _walk(tree) == size
        counts.append(len(captured))
    assert counts == [6, 6]


def test_a_version_of_another_plan_is_not_found(
    facility: Facility, program: Program, clinician: User
) -> None:
    one = active_plan(clinician, episode(person(facility, clinician, "One"), program, clinician))
    two = active_plan(clinician, episode(person(facility, clinician, "Two"), program, clinician))
    assert selectors.version_tree(one.pk, two.plan) is None


def test_the_golden_thread_by_key(facility: Facility, program: Program, clinician: User) -> None:
    v1 = active_plan(
        clinician, episode(person(facility, clinician, "Thread"), program, clinician), objectives=2
    )
    first, second = Objective.objects.filter(goal__problem__version=v1).order_by("order")
    for day in (10, 12, 11):
        services.link_service(
            actor=clinician,
            objective=first,
            service_kind="individual",
            service_date=dt.date(2026, 1, day),
        )
    v2 = services.new_version(actor=clinician, plan=v1.plan, reason="Reword objective two.")
    same = Objective.objects.get(goal__problem__version=v2, key=first.key)
    dates = selectors.latest_link_dates([first.key, second.key])
    assert dates == {first.key: (3, dt.date(2026, 1, 12))}
    tree = selectors.version_tree(v2.pk, v2.plan)
    assert tree is not None
    shown = {
        o.pk: o for p in tree.problems.all() for g in p.goals.all() for o in g.objectives.all()
    }
    assert shown[same.pk].service_count == 3  # type: ignore[attr-defined]
    assert shown[same.pk].last_service == dt.date(2026, 1, 12)  # type: ignore[attr-defined]


def test_the_comparison_shows_hours_as_people_write_them(
    facility: Facility, program: Program, clinician: User
) -> None:
    version = active_plan(
        clinician, episode(person(facility, clinician, "Hours"), program, clinician)
    )
    version.refresh_from_db()  # the database hands back Decimal("3.00")
    intensity = next(i for i in selectors.comparison_items(version) if i.key == "intensity")
    assert intensity.text.startswith("3 h a day, 3 days a week (9 h)")


def test_summary_shows_active_and_open_versions(
    facility: Facility, program: Program, clinician: User
) -> None:
    stay = episode(person(facility, clinician, "Summary"), program, clinician)
    assert selectors.summary(stay).plan is None
    v1 = active_plan(clinician, stay)
    v2 = services.new_version(actor=clinician, plan=v1.plan, reason="Add family session.")
    found = selectors.summary(stay)
    assert (found.active, found.open, found.shown) == (v1, v2, v2)
    assert [v.number for v in found.versions] == [2, 1]


# --- reviews due -------------------------------------------------------------------------------


@pytest.fixture
def caseload(facility: Facility, program: Program, clinician: User) -> dict[str, EpisodeOfCare]:
    """One episode in each state, all on the clinician's caseload."""
    day = today(facility)
    stays = {
        name: episode(person(facility, clinician, name), program, clinician)
        for name in ("Noplan", "Unsigned", "Overdue", "Soon", "Level", "Fine", "Edge")
    }
    draft_plan(clinician, stays["Unsigned"])
    due = {
        "Overdue": day - dt.timedelta(days=1),
        "Soon": day + dt.timedelta(days=3),
        "Level": day + dt.timedelta(days=20),
        "Fine": day + dt.timedelta(days=20),
        "Edge": day + dt.timedelta(days=8),
    }
    for name, on in due.items():
        version = active_plan(clinician, stays[name])
        TreatmentPlan.objects.filter(pk=version.plan_id).update(review_due_on=on)
    EpisodeOfCare.objects.filter(pk=stays["Level"].pk).update(level_of_care="2.5")
    closed = episode(
        person(facility, clinician, "Closed"),
        program,
        clinician,
        discharge_date=dt.date(2026, 2, 1),
    )
    assert closed.discharge_date
    return stays


def _states(rows: list[selectors.DueRow]) -> dict[str, str]:
    return {r.episode.patient.last_name: r.state for r in rows}


def test_reviews_due_lists_plans_that_need_work(
    caseload: dict[str, EpisodeOfCare],
    facility: Facility,
    clinician: User,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    # One query for the list (and one for the clinician's break-glass grants).
    with django_assert_num_queries(2):
        rows = selectors.reviews_due(clinician, facility, today(facility))
    assert _states(rows) == {
        "Noplan": "no plan",
        "Unsigned": "unsigned",
        "Overdue": "overdue",
        "Soon": "due",
        "Level": "level changed",
    }
    by_name = {r.episode.patient.last_name: r for r in rows}
    assert by_name["Overdue"].due_on == today(facility) - dt.timedelta(days=1)
    assert by_name["Noplan"].due_on is None


def test_a_clinician_sees_their_caseload_and_the_director_the_facility(
    caseload: dict[str, EpisodeOfCare],
    facility: Facility,
    program: Program,
    clinician: User,
    director: User,
    make_user: Callable[..., User],
) -> None:
    colleague = make_user(Role.CLINICIAN)
    episode(person(facility, colleague, "Colleagues"), program, colleague)
    mine = _states(selectors.reviews_due(clinician, facility, today(facility)))
    assert "Colleagues" not in mine and "Noplan" in mine
    theirs = _states(selectors.reviews_due(colleague, facility, today(facility)))
    assert theirs == {"Colleagues": "no plan"}
    everyone = _states(selectors.reviews_due(director, facility, today(facility)))
    assert set(everyone) == set(mine) | {"Colleagues"}


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.AUDITOR])
def test_roles_that_do_not_read_plans_get_no_list(
    caseload: dict[str, EpisodeOfCare],
    facility: Facility,
    make_user: Callable[..., User],
    role: str,
) -> None:
    assert selectors.reviews_due(make_user(role), facility, today(facility)) == []


def test_the_home_panel_lists_the_work(
    caseload: dict[str, EpisodeOfCare], clinician_client: Client, front_desk: User
) -> None:
    page = body(clinician_client.get("/"))
    assert "Treatment plans to write, sign or review" in page
    html = page.split('id="home-plans-title"')[1].split("</section>")[0]
    for words in ("No plan yet", "Not signed yet", "Review overdue", "Review due soon"):
        assert words in html
    assert "Level of care changed" in html
    assert "Test Fine" not in html and "Test Closed" not in html
    assert "Treatment plans to write" not in body(signed_in(front_desk).get("/"))


def test_the_panel_says_when_nothing_is_needed(
    facility: Facility, program: Program, clinician: User, clinician_client: Client
) -> None:
    version = active_plan(
        clinician, episode(person(facility, clinician, "Fine"), program, clinician)
    )
    TreatmentPlan.objects.filter(pk=version.plan_id).update(
        review_due_on=today(facility) + dt.timedelta(days=30)
    )
    assert "no review is due in the next 7 days" in body(clinician_client.get("/"))
