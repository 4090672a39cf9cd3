"""What a release of records contains for "treatment plan and progress" (42 CFR Part 2).

Only signed, active plans leave the program (a draft is not the plan), with the latest
reviews' progress. The relapse-prevention plan stays with the person: minimum necessary.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from openiop.patients.disclosure import register_section
from openiop.patients.models import Patient
from openiop.plans.models import PlanReview, PlanVersion
from openiop.plans.selectors import version_tree


def render(patient: Patient) -> str:
    active = (
        PlanVersion.objects.filter(plan__patient=patient, status=PlanVersion.Status.ACTIVE)
        .select_related("plan__episode__program")
        .order_by("-activated_at")
        .first()
    )
    tree = version_tree(active.pk, active.plan) if active else None
    reviews = (
        list(
            PlanReview.objects.filter(plan=active.plan)
            .select_related("reviewed_by")
            .order_by("-reviewed_on", "-id")[:3]
        )
        if active
        else []
    )
    return render_to_string("plans/section_release.html", {"version": tree, "reviews": reviews})


register_section("plan", "Treatment plan and progress", render)
