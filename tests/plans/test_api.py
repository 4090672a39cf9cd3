"""Treatment plans over the REST API: the same services, scope and audit as the pages.

Bad input answers 400 with field errors, an edit of a signed version 409 (and changes
nothing), a patient out of scope 404, a role without plans 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient, SupportContact
from openiop.plans.models import (
    Intervention,
    Objective,
    PlanReview,
    PlanVersion,
    Problem,
    TreatmentPlan,
)
from tests.admissions.factories import episode as make_episode
from tests.admissions.factories import program_with_phases
from tests.conftest import api_signed_in, as_json, last_event
from tests.factories import PASSWORD
from tests.plans.factories import active_plan, draft_plan

API = "/api/v1/"


@pytest.fixture
def episode(patient: Patient, clinician: User) -> EpisodeOfCare:
    return make_episode(patient, program_with_phases(patient.facility), clinician)


@pytest.fixture
def client(clinician: User) -> APIClient:
    return api_signed_in(clinician)


def today(patient: Patient) -> dt.date:
    return timezone.localdate(timezone=patient.facility.zone)


def post(client: APIClient, url: str, data: dict[str, Any]) -> Any:
    return client.post(API + url, data, format="json")


def patch(client: APIClient, url: str, data: dict[str, Any]) -> Any:
    return client.patch(API + url, data, format="json")


def sign_patient(client: APIClient, version: PlanVersion) -> Any:
    return post(
        client,
        f"plan-versions/{version.pk}/sign/",
        {"role": "patient", "typed_name": "dana quintero", "attested": True},
    )


def test_it_starts_a_plan_and_fills_the_draft(
    client: APIClient, episode: EpisodeOfCare, patient: Patient
) -> None:
    started = post(client, "plans/", {"episode": episode.pk})
    assert started.status_code == 201, started.content
    version = as_json(started)
    assert (version["number"], version["status"], version["patient"]) == (1, "draft", patient.pk)
    assert version["hours_per_day"] == "3.00" and version["problems"] == []
    assert last_event(action=AuditEvent.Action.CREATE, section="treatment plan").patient_id == (
        patient.pk
    )

    problem = post(
        client,
        "plan-problems/",
        {
            "version": version["id"],
            "statement": "Drinking daily despite harm.",
            "category": "substance_use",
            "asam_dimensions": [5, 3],
            "diagnosis_codes": ["f10.20"],
            "own_words": "I want to be there for my kids.",
        },
    )
    assert problem.status_code == 201, problem.content
    problem_data = as_json(problem)
    assert problem_data["asam_dimensions"] == [3, 5]
    assert problem_data["diagnosis_codes"] == ["F10.20"]
    [goal_id] = problem_data["goals"]
    objective = post(
        client,
        "plan-objectives/",
        {"goal": goal_id, "text": "Attend 3 groups a week.", "target_date": "2026-03-01"},
    )
    assert objective.status_code == 201, objective.content
    intervention = post(
        client,
        "plan-interventions/",
        {
            "objective": as_json(objective)["id"],
            "modality": "group",
            "frequency": "3 times a week",
        },
    )
    assert intervention.status_code == 201, intervention.content

    tree = as_json(client.get(f"{API}plan-versions/{version['id']}/"))
    [p] = tree["problems"]
    [g] = p["goals"]
    [o] = g["objectives"]
    assert g["own_words"] == "I want to be there for my kids."
    assert (o["target_date"], o["service_count"], o["last_service"]) == ("2026-03-01", 0, None)
    assert o["interventions"][0]["modality"] == "group"
    assert tree["missing_signatures"] == ["patient", "clinician"]

    plan = as_json(client.get(f"{API}plans/", {"episode": episode.pk}))["results"]
    assert [(x["open_version"], x["active_version"]) for x in plan] == [(1, None)]


def test_the_tree_costs_the_same_queries_whatever_its_size(
    client: APIClient,
    clinician: User,
    episode: EpisodeOfCare,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    version = draft_plan(clinician, episode, objectives=4)
    with django_assert_max_num_queries(16):
        response = client.get(f"{API}plan-versions/{version.pk}/")
    assert len(as_json(response)["problems"][0]["goals"][0]["objectives"]) == 4


def test_an_objective_without_a_target_date_is_a_field_error(
    client: APIClient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    goal = version.problems.get().goals.get()
    before = Objective.objects.count()
    response = post(client, "plan-objectives/", {"goal": goal.pk, "text": "Call my sponsor."})
    assert response.status_code == 400
    assert list(as_json(response)) == ["target_date"]
    assert "target date" in as_json(response)["target_date"][0]
    assert Objective.objects.count() == before
    no_goal = post(client, "plan-problems/", {"version": version.pk, "statement": "Sleep."})
    assert no_goal.status_code == 400 and "own_words" in as_json(no_goal)


def test_an_intensity_outside_the_dose_rules_names_the_rule(
    client: APIClient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    low = patch(client, f"plan-versions/{version.pk}/", {"hours_per_day": "2"})
    assert low.status_code == 400
    assert "below the program's minimum hours per day (3)" in as_json(low)["hours_per_day"][0]
    high = patch(client, f"plan-versions/{version.pk}/", {"hours_per_day": "5", "days_per_week": 5})
    assert "above the program's maximum hours per week (19)" in as_json(high)["hours_per_day"][0]
    version.refresh_from_db()
    assert (version.hours_per_day, version.days_per_week) == (3, 3)
    ok = patch(client, f"plan-versions/{version.pk}/", {"days_per_week": 4, "strengths": "Job."})
    assert ok.status_code == 200, ok.content
    assert (as_json(ok)["hours_per_week"], as_json(ok)["strengths"]) == ("12.00", "Job.")


def test_signing_makes_the_plan_active_and_locks_it(
    client: APIClient, clinician: User, episode: EpisodeOfCare, patient: Patient
) -> None:
    version = draft_plan(clinician, episode)
    first = sign_patient(client, version)
    assert first.status_code == 200, first.content
    assert as_json(first)["status"] == "signing"
    assert as_json(first)["missing_signatures"] == ["clinician"]
    wrong = post(
        client, f"plan-versions/{version.pk}/sign/", {"role": "clinician", "password": "guess"}
    )
    assert wrong.status_code == 400 and "password" in as_json(wrong)
    signed = post(
        client, f"plan-versions/{version.pk}/sign/", {"role": "clinician", "password": PASSWORD}
    )
    assert signed.status_code == 200
    data = as_json(signed)
    assert data["status"] == "active" and data["missing_signatures"] == []
    assert [s["role"] for s in data["signatures"]] == ["patient", "clinician"]
    assert "image" not in data["signatures"][0]
    assert last_event(action=AuditEvent.Action.SIGN).patient_id == patient.pk
    plan = as_json(client.get(f"{API}plans/{version.plan_id}/"))
    assert plan["active_version"] == 1 and plan["review_due_on"] is not None

    problem = version.problems.get()
    objective = Objective.objects.get(goal__problem=problem)
    intervention = Intervention.objects.get(objective=objective)
    for response in (
        patch(client, f"plan-versions/{version.pk}/", {"days_per_week": 5}),
        patch(client, f"plan-problems/{problem.pk}/", {"statement": "Changed."}),
        patch(client, f"plan-objectives/{objective.pk}/", {"text": "Changed."}),
        post(client, "plan-objectives/", {"goal": objective.goal_id, "text": "x"}),
        client.delete(f"{API}plan-interventions/{intervention.pk}/"),
        client.delete(f"{API}plan-versions/{version.pk}/"),
    ):
        assert response.status_code == 409, response.content
        assert "signed and locked" in as_json(response)["detail"]
    again = post(
        client, f"plan-versions/{version.pk}/sign/", {"role": "clinician", "password": PASSWORD}
    )
    assert again.status_code == 409 and "active" in as_json(again)["detail"]
    version.refresh_from_db()
    problem.refresh_from_db()
    assert version.days_per_week == 3 and problem.statement == "Drinking daily despite harm."
    assert Intervention.objects.filter(pk=intervention.pk).exists()


def test_signing_in_a_role_you_do_not_hold_is_refused(
    client: APIClient, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    response = post(
        client, f"plan-versions/{version.pk}/sign/", {"role": "supervisor", "password": PASSWORD}
    )
    assert response.status_code == 403
    unknown = post(client, f"plan-versions/{version.pk}/sign/", {"role": "friend"})
    assert unknown.status_code == 400 and "role" in as_json(unknown)
    assert not version.signatures.exists()


def test_a_new_version_needs_a_reason_and_compares_with_the_last(
    client: APIClient, clinician: User, episode: EpisodeOfCare
) -> None:
    first = active_plan(clinician, episode)
    plan_url = f"plans/{first.plan_id}/new-version/"
    refused = post(client, plan_url, {})
    assert refused.status_code == 400 and "reason" in as_json(refused)
    created = post(client, plan_url, {"reason": "Moved to evenings after starting a job."})
    assert created.status_code == 201, created.content
    second = as_json(created)
    assert (second["number"], second["status"]) == (2, "draft")
    assert second["change_reason"] == "Moved to evenings after starting a job."
    problem_id = second["problems"][0]["id"]
    edited = patch(client, f"plan-problems/{problem_id}/", {"statement": "Drinking on weekends."})
    assert edited.status_code == 200 and as_json(edited)["category"] == "substance_use"
    assert Problem.objects.get(pk=problem_id).asam_dimensions == "5"

    compared = client.get(f"{API}plan-versions/compare/", {"a": first.pk, "b": second["id"]})
    assert compared.status_code == 200, compared.content
    data = as_json(compared)
    assert (data["a"], data["b"]) == (1, 2)
    assert data["counts"]["changed"] == 1 and data["counts"]["added"] == 0
    [row] = [r for r in data["rows"] if r["change"] == "changed"]
    assert row["left"]["text"].startswith("Drinking daily")
    assert row["right"]["text"].startswith("Drinking on weekends")
    same = client.get(f"{API}plan-versions/compare/", {"a": first.pk, "b": 0})
    assert same.status_code == 400 and "b" in as_json(same)


def test_an_outsider_gets_404_and_lists_leave_the_plan_out(
    clinician: User,
    other_clinician: User,
    episode: EpisodeOfCare,
    outside_patient: Patient,
) -> None:
    version = draft_plan(clinician, episode)
    problem = version.problems.get()
    outside_episode = make_episode(
        outside_patient, program_with_phases(outside_patient.facility), other_clinician
    )
    draft_plan(other_clinician, outside_episode)
    client = api_signed_in(other_clinician)
    assert client.get(f"{API}plans/{version.plan_id}/").status_code == 404
    assert client.get(f"{API}plan-versions/{version.pk}/").status_code == 404
    assert client.get(f"{API}plan-problems/{problem.pk}/").status_code == 404
    assert patch(client, f"plan-problems/{problem.pk}/", {"statement": "x"}).status_code == 404
    assert patch(client, f"plan-versions/{version.pk}/", {"days_per_week": 4}).status_code == 404
    assert sign_patient(client, version).status_code == 404
    assert last_event(action=AuditEvent.Action.DENIED).detail == {"patient_id": episode.patient_id}
    refused = post(client, "plan-problems/", {"version": version.pk, "statement": "x"})
    assert refused.status_code == 400 and "version" in as_json(refused)
    assert post(client, "plans/", {"episode": episode.pk}).status_code == 400
    assert as_json(client.get(f"{API}plans/", {"patient": episode.patient_id}))["count"] == 0
    mine = as_json(api_signed_in(clinician).get(f"{API}plan-versions/"))
    assert [v["id"] for v in mine["results"]] == [version.pk]
    problem.refresh_from_db()
    assert problem.statement == "Drinking daily despite harm."


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.AUDITOR])
def test_roles_without_plans_are_refused(
    role: str, make_user: Callable[..., User], clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    client = api_signed_in(make_user(role))
    for url in (
        "plans/",
        f"plans/{version.plan_id}/",
        f"plan-versions/{version.pk}/",
        "plan-reviews/",
        "phase-changes/",
        "relapse-prevention-plans/",
    ):
        assert client.get(API + url).status_code == 403, url
    assert post(client, "plans/", {"episode": episode.pk}).status_code == 403
    assert last_event(action=AuditEvent.Action.DENIED).section == "treatment plan (API)"


def test_billing_reads_plans_but_does_not_write_them(
    billing: User, clinician: User, episode: EpisodeOfCare
) -> None:
    version = draft_plan(clinician, episode)
    client = api_signed_in(billing)
    assert client.get(f"{API}plan-versions/{version.pk}/").status_code == 200
    assert patch(client, f"plan-versions/{version.pk}/", {"days_per_week": 4}).status_code == 403
    assert sign_patient(client, version).status_code == 403


def test_reads_are_audited_per_patient(
    client: APIClient, clinician: User, episode: EpisodeOfCare, patient: Patient
) -> None:
    version = draft_plan(clinician, episode)
    client.get(f"{API}plan-versions/", {"plan": version.plan_id})
    event = last_event(action=AuditEvent.Action.VIEW, section="treatment plan list (API)")
    assert (event.patient_id, event.detail) == (patient.pk, {"results": 1})
    assert event.facility_id == patient.facility_id
    client.get(f"{API}plan-versions/{version.pk}/")
    assert last_event(action=AuditEvent.Action.VIEW).section == "treatment plan (API)"
    assert last_event(action=AuditEvent.Action.VIEW).patient_id == patient.pk


def test_it_records_a_review_with_progress(
    client: APIClient, clinician: User, episode: EpisodeOfCare, patient: Patient
) -> None:
    version = active_plan(clinician, episode)
    objective = Objective.objects.get(goal__problem__version=version)
    bad = post(client, "plan-reviews/", {"plan": version.plan_id, "summary": "ok"})
    assert bad.status_code == 400 and {"decision", "summary", "reviewed_on"} <= set(as_json(bad))
    response = post(
        client,
        "plan-reviews/",
        {
            "plan": version.plan_id,
            "reviewed_on": today(patient).isoformat(),
            "decision": "continue",
            "summary": "Three groups a week, two meetings.",
            "progress": [{"objective": objective.pk, "status": "in_progress", "note": "Good."}],
        },
    )
    assert response.status_code == 201, response.content
    data = as_json(response)
    assert (data["version"], data["decision"]) == (1, "continue")
    assert data["progress"][0]["status"] == "in_progress"
    objective.refresh_from_db()
    assert objective.status == "in_progress"
    plan = TreatmentPlan.objects.get(pk=version.plan_id)
    assert plan.last_reviewed_on == today(patient)
    listed = as_json(client.get(f"{API}plan-reviews/", {"plan": version.plan_id}))
    assert [r["id"] for r in listed["results"]] == [PlanReview.objects.get().pk]


def test_a_phase_change_is_recorded_listed_and_makes_the_review_due(
    client: APIClient, clinician: User, episode: EpisodeOfCare, patient: Patient
) -> None:
    version = active_plan(clinician, episode)
    early = episode.program.phases.get(code="early_recovery")
    bad = post(
        client,
        "phase-changes/",
        {"episode": episode.pk, "phase": episode.phase_id, "reason": "Stable for 3 weeks."},
    )
    assert bad.status_code == 400 and {"phase", "changed_on"} <= set(as_json(bad))
    response = post(
        client,
        "phase-changes/",
        {
            "episode": episode.pk,
            "phase": early.pk,
            "changed_on": today(patient).isoformat(),
            "reason": "Stable for 3 weeks.",
        },
    )
    assert response.status_code == 201, response.content
    assert as_json(response)["to_phase_name"] == "Early recovery"
    listed = as_json(client.get(f"{API}phase-changes/", {"episode": episode.pk}))
    assert [c["to_phase"] for c in listed["results"]] == [early.pk]
    plan = TreatmentPlan.objects.get(pk=version.plan_id)
    assert plan.review_due_on == today(patient) and plan.review_due_reason == "phase_changed"


def test_it_writes_the_relapse_prevention_plan_with_contacts(
    client: APIClient,
    episode: EpisodeOfCare,
    patient: Patient,
    outside_patient: Patient,
) -> None:
    rosa = SupportContact.objects.create(patient=patient, name="Rosa Quintero", phone="5550101")
    stranger = SupportContact.objects.create(patient=outside_patient, name="Someone Else")
    url = "relapse-prevention-plans/"
    empty = post(client, url, {"episode": episode.pk})
    assert empty.status_code == 400 and "non_field_errors" in as_json(empty)
    created = post(
        client,
        url,
        {"episode": episode.pk, "warning_signs": "Skipping meals.", "support_contacts": [rosa.pk]},
    )
    assert created.status_code == 201, created.content
    data = as_json(created)
    assert data["support_contacts"][0]["name"] == "Rosa Quintero"
    assert "988" in data["crisis_resources"]
    updated = post(client, url, {"episode": episode.pk, "coping_strategies": "Call Rosa."})
    assert updated.status_code == 200
    assert as_json(updated)["warning_signs"] == "Skipping meals."
    assert len(as_json(updated)["support_contacts"]) == 1
    wrong = patch(client, f"{url}{data['id']}/", {"support_contacts": [stranger.pk]})
    assert wrong.status_code == 400 and "support_contacts" in as_json(wrong)
    cleared = patch(client, f"{url}{data['id']}/", {"support_contacts": []})
    assert cleared.status_code == 200 and as_json(cleared)["support_contacts"] == []
    listed = as_json(client.get(API + url, {"episode": episode.pk}))
    assert [r["coping_strategies"] for r in listed["results"]] == ["Call Rosa."]


def test_the_schema_documents_the_plan_endpoints(client: APIClient) -> None:
    paths = as_json(client.get(f"{API}schema/", {"format": "json"}))["paths"]
    for url in (
        "/api/v1/plans/{id}/new-version/",
        "/api/v1/plan-versions/{id}/sign/",
        "/api/v1/plan-versions/compare/",
        "/api/v1/plan-problems/{id}/",
        "/api/v1/plan-interventions/",
        "/api/v1/plan-reviews/",
        "/api/v1/phase-changes/",
        "/api/v1/relapse-prevention-plans/{id}/",
    ):
        assert url in paths, url
    assert set(paths["/api/v1/plan-versions/{id}/"]) == {"get", "patch", "delete"}
    assert "put" not in paths["/api/v1/plan-problems/{id}/"]


def _schema_warnings(patterns: list[Any]) -> set[str]:
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    return set(GENERATOR_STATS._warn_cache) | set(GENERATOR_STATS._error_cache)


def test_the_plan_endpoints_add_no_schema_warnings(db: None) -> None:
    from config.urls import api_v1 as urls

    api_v1: list[Any] = list(urls)
    without: list[Any] = [
        p for p in api_v1 if "openiop.plans.api_urls" not in str(getattr(p, "urlconf_name", ""))
    ]
    assert len(without) == len(api_v1) - 1
    before = _schema_warnings([path("api/v1/", include((without, "api")))])
    after = _schema_warnings([path("api/v1/", include((api_v1, "api")))])
    assert after == before


def test_each_record_opens_only_in_scope(
    client: APIClient,
    clinician: User,
    other_clinician: User,
    episode: EpisodeOfCare,
    patient: Patient,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    version = active_plan(clinician, episode)
    post(client, f"plans/{version.plan_id}/new-version/", {"reason": "Add a family goal."})
    review = post(
        client,
        "plan-reviews/",
        {
            "plan": version.plan_id,
            "reviewed_on": today(patient).isoformat(),
            "decision": "revise",
            "summary": "Ready for a family goal.",
        },
    )
    relapse = post(
        client,
        "relapse-prevention-plans/",
        {"episode": episode.pk, "warning_signs": "Isolating."},
    )
    change = post(
        client,
        "phase-changes/",
        {
            "episode": episode.pk,
            "phase": episode.program.phases.get(code="early_recovery").pk,
            "changed_on": today(patient).isoformat(),
            "reason": "Stable for 3 weeks.",
        },
    )
    urls = [
        f"plan-reviews/{as_json(review)['id']}/",
        f"relapse-prevention-plans/{as_json(relapse)['id']}/",
        f"phase-changes/{as_json(change)['id']}/",
    ]
    outsider = api_signed_in(other_clinician)
    for url in urls:
        assert client.get(API + url).status_code == 200, url
        assert outsider.get(API + url).status_code == 404, url
    with django_assert_max_num_queries(10):
        versions = as_json(client.get(f"{API}plan-versions/", {"plan": version.plan_id}))
    assert [(v["number"], v["status"]) for v in versions["results"]] == [
        (2, "draft"),
        (1, "active"),
    ]
