"""What is already known at admission: the signed assessments and the help request.

The admission form starts from these facts so nobody retypes them; the TEDS substance fields
come from the biopsychosocial assessment's substance-use rows (primary, secondary, tertiary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openiop.core import teds
from openiop.patients.models import Patient


@dataclass
class AdmissionFacts:
    asam_level: str = ""
    asam_recommendation: str = ""
    asam: Any = None
    biopsychosocial: Any = None
    inquiry: Any = None
    episode_initial: dict[str, Any] = field(default_factory=dict)
    coverage_initial: dict[str, Any] = field(default_factory=dict)


def admission_facts(patient: Patient) -> AdmissionFacts:
    from openiop.assessments.selectors import (
        latest_signed_asam,
        latest_signed_biopsychosocial,
    )
    from openiop.intake.selectors import latest_inquiry_for_patient

    facts = AdmissionFacts()
    asam = latest_signed_asam(patient)
    if asam is not None:
        facts.asam = asam
        facts.asam_level = asam.final_level
        facts.asam_recommendation = asam.get_recommendation_display()
    bps = latest_signed_biopsychosocial(patient)
    if bps is not None:
        facts.biopsychosocial = bps
        for row in bps.substance_uses.all():
            if 1 <= row.rank <= 3:
                facts.episode_initial[f"teds_sub{row.rank}"] = row.substance
                facts.episode_initial[f"teds_route{row.rank}"] = row.route
                facts.episode_initial[f"teds_freq{row.rank}"] = row.frequency
                facts.episode_initial[f"teds_frstuse{row.rank}"] = teds.first_use_code(
                    row.age_first_use
                )
        prior = getattr(bps, "prior_treatment_episodes", None)
        if prior is not None:
            facts.episode_initial["teds_noprior"] = min(int(prior), 5)
        if any(d.code.startswith("F") and not d.is_substance_use for d in bps.diagnoses.all()):
            facts.episode_initial["teds_psyprob"] = teds.YesNo.YES
    inquiry = latest_inquiry_for_patient(patient)
    if inquiry is not None:
        facts.inquiry = inquiry
        payer = getattr(inquiry, "insurance_payer", "")
        if payer:
            facts.coverage_initial = {
                "payer": payer,
                "member_id": getattr(inquiry, "insurance_member_id", ""),
                "subscriber_name": patient.legal_name,
            }
        if getattr(inquiry, "referral_source", None):
            facts.episode_initial["referral_source"] = inquiry.referral_source
    return facts
