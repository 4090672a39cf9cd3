"""What a release of records contains for "assessments and diagnoses" (42 CFR Part 2).

Only signed assessments leave the program, and only their conclusions: the ASAM ratings and
level, and the diagnoses. Narrative sections (trauma, legal, family) are never released here;
minimum necessary.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from openiop.assessments.selectors import latest_signed_asam, latest_signed_biopsychosocial
from openiop.patients.disclosure import register_section
from openiop.patients.models import Patient


def render(patient: Patient) -> str:
    return render_to_string(
        "assessments/section_release.html",
        {
            "asam": latest_signed_asam(patient),
            "bps": latest_signed_biopsychosocial(patient),
        },
    )


register_section("assessments", "Assessments and diagnoses", render)
