"""The demo's treatment plans: built through the services, in every state a counselor meets,
and the same on every load."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from openiop.admissions.models import EpisodeOfCare
from openiop.plans import services
from openiop.plans.models import (
    ObjectiveLink,
    PlanReview,
    PlanVersion,
    RelapsePreventionPlan,
    Signature,
    TreatmentPlan,
)
from openiop.synthetic.demo import load_demo


def _picture() -> list[tuple[Any, ...]]:
    """What the demo's plans look like, without database ids."""
    rows = []
    for plan in TreatmentPlan.objects.select_related("patient").order_by(
        "patient__last_name", "patient__first_name"
    ):
        versions = [
            (
                v.number,
                v.status,
                sorted(p.statement for p in v.problems.all()),
                sorted(g.own_words for p in v.problems.all() for g in p.goals.all()),
            )
            for v in plan.versions.order_by("number")
        ]
        rows.append(
            (
                plan.patient.first_name,
                plan.patient.last_name,
                plan.review_due_on,
                versions,
                plan.reviews.count(),
                ObjectiveLink.objects.filter(patient=plan.patient).count(),
            )
        )
    return sorted(rows, key=repr)  # namesakes in any order


def test_the_demo_has_plans_in_every_state(db: None) -> None:
    load_demo()
    open_episodes = EpisodeOfCare.objects.filter(discharge_date__isnull=True)
    plans = TreatmentPlan.objects.all()
    assert plans.count() >= open_episodes.count() * 0.7  # most open episodes
    assert open_episodes.exclude(treatment_plan__isnull=False).exists()  # some still to write
    assert not plans.filter(episode__discharge_date__isnull=False).exists()
    statuses = set(PlanVersion.objects.values_list("status", flat=True))
    assert statuses == {"draft", "signing", "active", "superseded"}
    for version in PlanVersion.objects.filter(status="active"):
        assert services.missing_signatures(version) == []
        assert services.sign_problems(version) == {}  # within the program's dose rules
        roles = set(version.signatures.values_list("role", flat=True))
        assert {"patient", "clinician"} <= roles
        clinician = version.signatures.get(role="clinician").signed_by
        assert clinician == version.plan.episode.primary_clinician
        problems = version.problems.count()
        assert 2 <= problems <= 3
        for problem in version.problems.all():
            goal = problem.goals.get()
            assert goal.own_words
            for objective in goal.objectives.all():
                assert objective.target_date >= version.plan.episode.admission_date
                assert objective.interventions.exists()
    # A co-signature for the clinicians who need one.
    assert Signature.objects.filter(role="supervisor").exists()
    # One plan revised to a second version that replaced the first.
    revised = PlanVersion.objects.filter(number=2)
    assert revised.count() == 1
    v2 = revised.get()
    assert v2.status == "active" and v2.change_reason
    assert v2.plan.versions.get(number=1).status == "superseded"
    assert PlanReview.objects.count() >= 2
    relapse = RelapsePreventionPlan.objects.all()
    assert relapse.exists()
    assert all("988" in r.crisis_resources for r in relapse)
    assert relapse.filter(support_contacts__isnull=False).exists()
    assert ObjectiveLink.objects.count() >= 10
    # Links point at signed versions of the patient's own plan.
    for link in ObjectiveLink.objects.select_related("objective__goal__problem__version__plan"):
        version = link.objective.goal.problem.version
        assert version.status != "draft" and version.plan.patient_id == link.patient_id


def test_the_demo_plans_are_the_same_on_every_load(db: None) -> None:
    pictures = []
    for _ in range(2):
        savepoint = transaction.savepoint()
        load_demo()
        pictures.append(_picture())
        transaction.savepoint_rollback(savepoint)
    assert pictures[0] == pictures[1]
    assert len(pictures[0]) > 15
