"""What a release of "billing and insurance information" contains: the episode and its payer."""

from __future__ import annotations

from django.template.loader import render_to_string

from openiop.admissions.models import EpisodeOfCare
from openiop.patients.disclosure import register_section
from openiop.patients.models import Patient


def render(patient: Patient) -> str:
    episodes = list(
        EpisodeOfCare.objects.filter(patient=patient)
        .select_related("program")
        .prefetch_related("coverages")
        .order_by("-admission_date")[:3]
    )
    return render_to_string("admissions/section_release.html", {"episodes": episodes})


register_section("billing", "Billing and insurance information", render)
