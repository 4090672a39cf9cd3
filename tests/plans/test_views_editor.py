"""The Treatment plan tab and the draft editor, through the pages a counselor uses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.plans import selectors, services
from openiop.plans.models import (
    Goal,
    Intervention,
    Objective,
    PlanVersion,
    Problem,
    TreatmentPlan,
)
from tests.admissions.factories import episode as make_episode
from tests.admissions.factories import program_with_phases
from tests.conftest import body, last_event, signed_in
from tests.factories import OrganizationFactory
from tests.plans.factories import active_plan, add_problem, draft_plan


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    program = program_with_phases(patient.facility)
    return make_episode(patient, program, clinician)


def url(name: str, patient: Patient, version: PlanVersion | None = None, **kwargs: Any) -> str:
    values: dict[str, Any] = {"pk": patient.pk, **kwargs}
    if version is not None:
        values["vpk"] = version.pk
    return reverse(f"plans:{name}", kwargs=values)


def problem_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "statement": "Drinks daily despite losing a job over it.",
        "category": "substance_use",
        "asam_dimensions": ["3", "5"],
        "diagnosis_codes": "F10.20",
        "own_words": "I want to be there for my kids.",
        "clinical": "Abstinence from alcohol.",
    }
    data.update(overrides)
    return data


# --- the chart tab -----------------------------------------------------------------------------


def test_it_says_there_is_no_open_episode(clinician: User, patient: Patient) -> None:
    response = signed_in(clinician).get(url("chart", patient))
    assert response.status_code == 200
    text = body(response)
    assert "No open episode of care" in text
    assert reverse("admissions:chart", kwargs={"pk": patient.pk}) in text
    assert "Start the treatment plan" not in text


def test_it_offers_to_start_a_plan(clinician: User, patient: Patient, episode: Any) -> None:
    text = body(signed_in(clinician).get(url("chart", patient)))
    assert "No treatment plan yet" in text
    assert "Start the treatment plan" in text
    assert url("start", patient) in text


def test_billing_reads_but_is_not_offered_to_start(
    billing: User, patient: Patient, episode: Any
) -> None:
    response = signed_in(billing).get(url("chart", patient))
    assert response.status_code == 200
    assert "Start the treatment plan" not in body(response)


def test_it_shows_a_draft_with_what_blocks_signing(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    text = body(signed_in(clinician).get(url("chart", patient)))
    assert "is a draft" in text
    assert "Add at least one problem" in text
    assert url("version", patient, version) in text
    assert url("sign", patient, version) in text
    assert url("new_version", patient) not in text


def test_it_shows_the_whole_draft_tree(clinician: User, patient: Patient, episode: Any) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    services.save_problem(
        actor=clinician,
        version=version,
        data={**problem_data(), "asam_dimensions": "3,5"},
    )
    goal = Goal.objects.get(problem__version=version)
    objective = services.save_objective(
        actor=clinician,
        goal=goal,
        data={"text": "Attends 3 groups a week.", "target_date": dt.date(2026, 3, 1)},
    )
    services.save_intervention(
        actor=clinician,
        objective=objective,
        data={"modality": "group", "frequency": "3 times a week", "responsible": clinician.pk},
    )
    text = body(signed_in(clinician).get(url("chart", patient)))
    assert "“I want to be there for my kids.”" in text
    assert "Abstinence from alcohol." in text
    assert "D3, D5" in text
    assert "F10.20" in text and "Alcohol dependence" in text
    assert "Attends 3 groups a week." in text
    assert "03/01/2026" in text
    assert "No services linked yet" in text
    assert "Group therapy" in text and clinician.display_name in text
    assert "3 h a day × 3 days a week = 9 h a week" in text


def test_it_shows_who_still_must_sign(clinician: User, patient: Patient, episode: Any) -> None:
    version = draft_plan(clinician, episode)
    services.sign(
        actor=clinician,
        version=version,
        role="patient",
        typed_name="Dana Quintero",
        attested=True,
    )
    text = body(signed_in(clinician).get(url("chart", patient)))
    assert "Waiting for signatures" in text
    assert "the clinician" in text
    assert url("new_version", patient) not in text


def test_it_shows_an_active_plan_with_its_review_and_golden_thread(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = active_plan(clinician, episode)
    objective = Objective.objects.get(goal__problem__version=version)
    for day in (3, 10):
        services.link_service(
            actor=clinician,
            objective=objective,
            service_kind="group",
            service_date=dt.date(2026, 2, day),
        )
    plan = version.plan
    plan.review_due_on = dt.date(2020, 1, 1)
    plan.save()
    text = body(signed_in(clinician).get(url("chart", patient)))
    assert "Active" in text and "in force since" in text
    assert "2 services · last on 02/10/2026" in text
    assert "Review overdue" in text and "pill danger" in text
    assert url("review", patient) in text
    assert url("new_version", patient) in text
    assert url("relapse", patient) in text
    assert url("pocket_card", patient) in text
    assert url("phase", patient) in text


def test_it_lists_phase_changes_and_reviews(
    clinician: User, patient: Patient, episode: EpisodeOfCare
) -> None:
    version = active_plan(clinician, episode)
    phase = episode.program.phases.get(code="early_recovery")
    services.change_phase(
        actor=clinician,
        episode=episode,
        phase=phase,
        changed_on=dt.date(2026, 1, 20),
        reason="Two weeks of steady attendance.",
    )
    objective = Objective.objects.get(goal__problem__version=version)
    review = services.record_review(
        actor=clinician,
        plan=version.plan,
        reviewed_on=dt.date(2026, 1, 21),
        decision="continue",
        summary="Attends every group and says it helps.",
        progress=[{"objective": objective.pk, "status": "in_progress"}],
    )
    text = body(signed_in(clinician).get(url("chart", patient)))
    assert "Early recovery" in text
    assert "01/20/2026" in text
    assert reverse("plans:review_detail", kwargs={"pk": patient.pk, "rpk": review.pk}) in text


def test_an_outsider_gets_404(clinician: User, outside_patient: Patient) -> None:
    response = signed_in(clinician).get(url("chart", outside_patient))
    assert response.status_code == 404


def test_front_desk_and_auditor_are_refused(
    front_desk: User, auditor: User, patient: Patient, episode: Any
) -> None:
    assert signed_in(front_desk).get(url("chart", patient)).status_code == 403
    assert signed_in(auditor).get(url("chart", patient)).status_code == 403


def test_billing_cannot_edit(
    billing: User, clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    client = signed_in(billing)
    assert client.get(url("version", patient, version)).status_code == 200
    assert client.get(url("problem_add", patient, version)).status_code == 403
    assert client.post(url("problem_add", patient, version), problem_data()).status_code == 403
    assert not Problem.objects.exists()


def _count_chart_queries(client: Any, patient: Patient) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("chart", patient))
    assert response.status_code == 200
    return len(queries)


def test_the_chart_costs_the_same_queries_for_2_or_40_objectives(
    clinician: User, patient: Patient, episode: Any, django_assert_max_num_queries: Any
) -> None:
    version = active_plan(clinician, episode, objectives=2)
    client = signed_in(clinician)
    client.get(url("chart", patient))  # warm the session
    small = _count_chart_queries(client, patient)
    goal = Goal.objects.get(problem__version=version)
    objectives = [
        Objective(goal=goal, order=n, text=f"Objective {n}", target_date=dt.date(2026, 3, 1))
        for n in range(3, 41)
    ]
    Objective.objects.bulk_create(objectives)
    Intervention.objects.bulk_create(
        Intervention(objective=o, modality="group", frequency="weekly", responsible=clinician)
        for o in Objective.objects.filter(goal=goal)
    )
    assert Objective.objects.filter(goal=goal).count() == 40
    large = _count_chart_queries(client, patient)
    assert large == small
    with django_assert_max_num_queries(small):
        client.get(url("chart", patient))


def test_the_version_page_costs_the_same_queries_for_2_or_40_objectives(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = draft_plan(clinician, episode, objectives=2)
    client = signed_in(clinician)
    client.get(url("version", patient, version))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("version", patient, version)).status_code == 200
        return len(queries)

    small = count()
    add_problem(clinician, version, objectives=38)
    assert count() == small


# --- starting and the draft --------------------------------------------------------------------


def test_start_creates_the_draft_and_opens_it(
    clinician: User, patient: Patient, episode: Any
) -> None:
    response = signed_in(clinician).post(url("start", patient))
    version = PlanVersion.objects.get(plan__episode=episode)
    assert response.status_code == 302
    assert response["Location"] == url("version", patient, version)
    assert version.is_draft
    assert last_event(section="treatment plan").action == AuditEvent.Action.CREATE
    page = body(signed_in(clinician).get(response["Location"]))
    assert "Add a problem" in page and "Add from the library" in page


def test_start_without_an_episode_goes_to_the_admission_tab(
    clinician: User, patient: Patient
) -> None:
    response = signed_in(clinician).post(url("start", patient))
    assert response.status_code == 302
    assert response["Location"] == reverse("admissions:chart", kwargs={"pk": patient.pk})
    assert not TreatmentPlan.objects.exists()


def test_start_is_post_only(clinician: User, patient: Patient, episode: Any) -> None:
    assert signed_in(clinician).get(url("start", patient)).status_code == 405


def test_add_a_problem_with_its_goal(clinician: User, patient: Patient, episode: Any) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    client = signed_in(clinician)
    form = body(client.get(url("problem_add", patient, version)))
    assert "Goal in the patient&#x27;s own words" in form
    assert "Emotional, behavioral or cognitive conditions" in form
    response = client.post(url("problem_add", patient, version), problem_data())
    assert response.status_code == 302
    problem = Problem.objects.get(version=version)
    assert problem.asam_dimensions == "3,5"
    assert problem.diagnosis_codes == ["F10.20"]
    assert problem.goals.get().own_words == "I want to be there for my kids."
    event = last_event(section="treatment plan")
    assert event.action == AuditEvent.Action.CREATE
    assert event.patient_id == patient.pk


def test_a_problem_without_the_patients_words_is_refused(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    response = signed_in(clinician).post(
        url("problem_add", patient, version), problem_data(own_words="  ")
    )
    assert response.status_code == 200
    text = body(response)
    assert "Nothing was saved" in text
    assert "Write the goal in the patient&#x27;s own words" in text
    assert not Problem.objects.exists()


def test_an_unknown_diagnosis_code_is_refused_on_its_field(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    response = signed_in(clinician).post(
        url("problem_add", patient, version), problem_data(diagnosis_codes="X99.9")
    )
    assert "X99.9 is not an ICD-10-CM code" in body(response)
    assert not Problem.objects.exists()


def test_an_objective_without_a_target_date_is_refused(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    problem = add_problem(clinician, version, objectives=0)
    goal = problem.goals.get()
    client = signed_in(clinician)
    address = url("item_add", patient, version, kind="objective", parent_pk=goal.pk)
    response = client.post(address, {"text": "Attends 3 groups a week.", "status": "not_started"})
    assert response.status_code == 200
    assert "Give the objective a target date" in body(response)
    assert not Objective.objects.exists()
    response = client.post(
        address,
        {"text": "Attends 3 groups a week.", "target_date": "2026-03-01", "status": "not_started"},
    )
    assert response.status_code == 302
    objective = Objective.objects.get()
    assert objective.target_date == dt.date(2026, 3, 1)
    assert last_event(section="treatment plan").action == AuditEvent.Action.CREATE


def test_add_an_intervention_with_the_responsible_staff(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = draft_plan(clinician, episode)
    objective = Objective.objects.get(goal__problem__version=version)
    client = signed_in(clinician)
    address = url("item_add", patient, version, kind="intervention", parent_pk=objective.pk)
    assert clinician.display_name in body(client.get(address))
    response = client.post(
        address,
        {
            "modality": "individual",
            "description": "Motivational interviewing",
            "frequency": "Weekly",
            "responsible": clinician.pk,
        },
    )
    assert response.status_code == 302
    added = Intervention.objects.get(objective=objective, modality="individual")
    assert added.responsible == clinician


def test_edit_a_goal(clinician: User, patient: Patient, episode: Any) -> None:
    version = draft_plan(clinician, episode)
    goal = Goal.objects.get(problem__version=version)
    client = signed_in(clinician)
    address = url("item_edit", patient, version, kind="goal", item_pk=goal.pk)
    assert "I want to stop drinking." in body(client.get(address))
    response = client.post(address, {"own_words": "I want my life back.", "clinical": ""})
    assert response.status_code == 302
    goal.refresh_from_db()
    assert goal.own_words == "I want my life back."
    assert last_event(section="treatment plan").action == AuditEvent.Action.UPDATE


def test_an_unknown_kind_or_someone_elses_item_is_404(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = draft_plan(clinician, episode)
    goal = Goal.objects.get(problem__version=version)
    client = signed_in(clinician)
    assert (
        client.get(url("item_edit", patient, version, kind="plan", item_pk=goal.pk)).status_code
        == 404
    )
    # A goal id asked for as a problem of this version, or an id of no item.
    problem = goal.problem
    assert (
        client.get(
            url("item_edit", patient, version, kind="goal", item_pk=problem.pk + 999)
        ).status_code
        == 404
    )


def test_another_patients_version_is_404(
    clinician: User, patient: Patient, episode: Any, unassigned_patient: Patient
) -> None:
    version = draft_plan(clinician, episode)
    goal = Goal.objects.get(problem__version=version)
    client = signed_in(clinician)
    other_version = url("version", unassigned_patient, version)
    assert client.get(other_version).status_code == 404
    assert (
        client.get(
            url("item_edit", unassigned_patient, version, kind="goal", item_pk=goal.pk)
        ).status_code
        == 404
    )


def test_remove_asks_first_then_removes(clinician: User, patient: Patient, episode: Any) -> None:
    version = draft_plan(clinician, episode, objectives=2)
    objective = Objective.objects.filter(goal__problem__version=version).first()
    assert objective is not None
    client = signed_in(clinician)
    address = url("item_remove", patient, version, kind="objective", item_pk=objective.pk)
    page = client.get(address)
    assert page.status_code == 200
    assert "Remove this objective?" in body(page)
    assert Objective.objects.filter(pk=objective.pk).exists()
    response = client.post(address)
    assert response.status_code == 302
    assert not Objective.objects.filter(pk=objective.pk).exists()
    assert Objective.objects.filter(goal__problem__version=version).count() == 1
    assert last_event(section="treatment plan").action == AuditEvent.Action.DELETE


def test_the_last_goal_of_a_problem_is_not_removed(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = draft_plan(clinician, episode)
    goal = Goal.objects.get(problem__version=version)
    response = signed_in(clinician).post(
        url("item_remove", patient, version, kind="goal", item_pk=goal.pk), follow=True
    )
    assert "remove the problem instead" in body(response)
    assert Goal.objects.filter(pk=goal.pk).exists()


def test_discard_asks_first_then_discards(clinician: User, patient: Patient, episode: Any) -> None:
    version = draft_plan(clinician, episode)
    client = signed_in(clinician)
    assert "Discard the draft of version 1?" in body(client.get(url("discard", patient, version)))
    assert PlanVersion.objects.filter(pk=version.pk).exists()
    response = client.post(url("discard", patient, version))
    assert response.status_code == 302
    assert response["Location"] == url("chart", patient)
    assert not TreatmentPlan.objects.exists()
    assert last_event(section="treatment plan").action == AuditEvent.Action.DELETE


# --- locked versions ---------------------------------------------------------------------------


def test_a_signed_version_is_read_only(clinician: User, patient: Patient, episode: Any) -> None:
    version = active_plan(clinician, episode)
    text = body(signed_in(clinician).get(url("version", patient, version)))
    assert "Signed versions are locked; start a new version to change it" in text
    assert "Add a problem" not in text
    assert "/edit/" not in text


def test_editing_a_signed_version_is_refused(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = active_plan(clinician, episode)
    goal = Goal.objects.get(problem__version=version)
    objective = Objective.objects.get(goal=goal)
    client = signed_in(clinician)
    attempts = [
        (url("item_edit", patient, version, kind="goal", item_pk=goal.pk), {"own_words": "New"}),
        (url("item_remove", patient, version, kind="objective", item_pk=objective.pk), {}),
        (url("problem_add", patient, version), problem_data()),
        (url("intensity", patient, version), {"hours_per_day": "4", "days_per_week": "4"}),
        (url("discard", patient, version), {}),
    ]
    for address, data in attempts:
        response = client.post(address, data, follow=True)
        assert response.redirect_chain[-1][0] == url("version", patient, version)
        assert "signed and locked" in body(response)
    goal.refresh_from_db()
    assert goal.own_words == "I want to stop drinking."
    assert Objective.objects.filter(pk=objective.pk).exists()
    assert Problem.objects.filter(version=version).count() == 1
    version.refresh_from_db()
    assert version.status == PlanVersion.Status.ACTIVE
    assert version.hours_per_day == 3


# --- planned intensity -------------------------------------------------------------------------


def intensity_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "hours_per_day": "3",
        "days_per_week": "4",
        "track": "",
        "meetings_per_week": "2",
        "strengths": "Supportive sister.",
        "discharge_criteria": "90 days sober, a job.",
    }
    data.update(overrides)
    return data


def test_the_intensity_form_shows_the_program_rules(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    text = body(signed_in(clinician).get(url("intensity", patient, version)))
    assert "Program minimum: 3 h a day, 3 days and 9 h a week; maximum 19 h a week." in text
    assert "Day" in text and "Evening" in text


def test_intensity_saves(clinician: User, patient: Patient, episode: Any) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    track = episode.program.tracks.get(name="Evening")
    response = signed_in(clinician).post(
        url("intensity", patient, version), intensity_data(track=track.pk)
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.days_per_week == 4
    assert version.track == track
    assert version.strengths == "Supportive sister."
    assert last_event(section="treatment plan").action == AuditEvent.Action.UPDATE


@pytest.mark.parametrize(
    ("hours", "days", "rule"),
    [
        ("2.75", "4", "below the program&#x27;s minimum hours per day"),
        ("3", "2", "below the program&#x27;s minimum days per week"),
        ("4", "5", "above the program&#x27;s maximum hours per week"),
    ],
)
def test_intensity_outside_the_program_is_refused_naming_the_rule(
    clinician: User, patient: Patient, episode: Any, hours: str, days: str, rule: str
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    before = (version.hours_per_day, version.days_per_week)
    response = signed_in(clinician).post(
        url("intensity", patient, version), intensity_data(hours_per_day=hours, days_per_week=days)
    )
    assert response.status_code == 200
    text = body(response)
    assert "Nothing was saved" in text
    assert rule in text
    version.refresh_from_db()
    assert (version.hours_per_day, version.days_per_week) == before


def test_the_boundary_of_the_program_is_accepted(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    response = signed_in(clinician).post(
        url("intensity", patient, version), intensity_data(hours_per_day="4.75", days_per_week="4")
    )
    assert response.status_code == 302  # 19 h a week: the maximum itself is allowed


# --- the library -------------------------------------------------------------------------------


def test_the_library_lists_the_organizations_entries_by_category(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    entries = list(selectors.library_for(patient.facility.organization_id))
    assert entries
    text = body(signed_in(clinician).get(url("library_pick", patient, version)))
    assert "Substance use" in text
    assert entries[0].title in text
    assert url("library_add", patient, version, lpk=entries[0].pk) in text


def test_library_add_creates_the_personalized_problem(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    entry = next(
        e
        for e in selectors.library_for(patient.facility.organization_id)
        if e.objectives.count() >= 2 and e.interventions.count() >= 2
    )
    client = signed_in(clinician)
    address = url("library_add", patient, version, lpk=entry.pk)
    page = client.get(address)
    form = page.context["form"]
    example = entry.goals.get().own_words_example
    assert f"For example: {example}" in body(page)
    assert form["own_words"].value() in (None, "")
    data: dict[str, Any] = {
        "statement": entry.statement,
        "asam_dimensions": [str(d) for d in entry.dimension_numbers],
        "diagnosis_codes": "",
        "own_words": "I want to keep my apartment.",
        "clinical": "Sustained abstinence.",
    }
    objectives = list(entry.objectives.all())
    for n, objective in enumerate(objectives, start=1):
        data[f"objective_{n}_text"] = objective.text
        data[f"objective_{n}_target_date"] = "2026-04-01"
        if n != 2:
            data[f"objective_{n}_use"] = "on"
    interventions = list(entry.interventions.all())
    for n, intervention in enumerate(interventions, start=1):
        data[f"intervention_{n}_use"] = "on"
        data[f"intervention_{n}_modality"] = intervention.modality
        data[f"intervention_{n}_description"] = intervention.description
        data[f"intervention_{n}_frequency"] = intervention.frequency
        data[f"intervention_{n}_objective"] = "3" if n == 1 and len(objectives) >= 3 else "1"
        data[f"intervention_{n}_responsible"] = clinician.pk
    response = client.post(address, data)
    assert response.status_code == 302, body(response)
    problem = Problem.objects.get(version=version)
    assert problem.goals.get().own_words == "I want to keep my apartment."
    created = list(Objective.objects.filter(goal__problem=problem).order_by("order"))
    assert len(created) == len(objectives) - 1  # objective 2 was left out
    assert objectives[1].text not in [o.text for o in created]
    assert all(o.target_date == dt.date(2026, 4, 1) for o in created)
    made = Intervention.objects.filter(objective__goal__problem=problem)
    assert made.count() == len(interventions)
    assert all(i.responsible == clinician for i in made)
    if len(objectives) >= 3:
        # Library objective 3 is the second chosen one.
        assert made.filter(objective=created[1]).exists()
    assert last_event(section="treatment plan").action == AuditEvent.Action.CREATE


def test_library_add_needs_the_patients_words_and_saves_nothing(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    entry = selectors.library_for(patient.facility.organization_id).first()
    assert entry is not None
    data: dict[str, Any] = {"statement": entry.statement, "own_words": ""}
    for n, objective in enumerate(entry.objectives.all(), start=1):
        data[f"objective_{n}_use"] = "on"
        data[f"objective_{n}_text"] = objective.text
        data[f"objective_{n}_target_date"] = "2026-04-01"
    response = signed_in(clinician).post(url("library_add", patient, version, lpk=entry.pk), data)
    assert response.status_code == 200
    assert "Write the goal in the patient&#x27;s own words" in body(response)
    assert not Problem.objects.exists()


def test_library_add_refuses_an_objective_without_a_date_and_saves_nothing(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    entry = selectors.library_for(patient.facility.organization_id).first()
    assert entry is not None
    data: dict[str, Any] = {"statement": entry.statement, "own_words": "My words."}
    for n, objective in enumerate(entry.objectives.all(), start=1):
        data[f"objective_{n}_use"] = "on"
        data[f"objective_{n}_text"] = objective.text
        data[f"objective_{n}_target_date"] = "" if n == 1 else "2026-04-01"
    response = signed_in(clinician).post(url("library_add", patient, version, lpk=entry.pk), data)
    assert response.status_code == 200
    assert "Give the objective a target date" in body(response)
    assert not Problem.objects.exists()
    assert not Objective.objects.exists()


def test_another_organizations_library_entry_is_404(
    clinician: User, patient: Patient, episode: Any
) -> None:
    version = services.start_plan(actor=clinician, episode=episode)
    other = OrganizationFactory.create(name="Another Recovery Collective")
    foreign = selectors.library_for(other).first()
    assert foreign is not None
    response = signed_in(clinician).get(url("library_add", patient, version, lpk=foreign.pk))
    assert response.status_code == 404
    response = signed_in(clinician).post(url("library_add", patient, version, lpk=foreign.pk), {})
    assert response.status_code == 404
    assert not Problem.objects.exists()
