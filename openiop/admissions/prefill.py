"""What is already known at admission: the signed assessments and the help request.

The admission form starts from these facts so nobody retypes them; the TEDS substance fields
come from the biopsychosocial assessment's substance-use rows (primary, secondary, tertiary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openiop.assessments.models import AsamAssessment, Biopsychosocial
from openiop.assessments.selectors import latest_signed_asam, latest_signed_biopsychosocial
from openiop.core import teds
from openiop.intake.models import Inquiry
from openiop.intake.selectors import latest_inquiry_for_patient
from openiop.patients.models import Patient


@dataclass
class AdmissionFacts:
    asam: AsamAssessment | None = None
    biopsychosocial: Biopsychosocial | None = None
    inquiry: Inquiry | None = None
    episode_initial: dict[str, Any] = field(default_factory=dict)
    coverage_initial: dict[str, Any] = field(default_factory=dict)

    @property
    def asam_level(self) -> str:
        return self.asam.final_level if self.asam else ""

    @property
    def asam_recommendation(self) -> str:
        return self.asam.get_recommendation_display() if self.asam else ""


def admission_facts(patient: Patient) -> AdmissionFacts:
    facts = AdmissionFacts(asam=latest_signed_asam(patient))
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
        if bps.prior_treatment_episodes is not None:
            facts.episode_initial["teds_noprior"] = min(bps.prior_treatment_episodes, 5)
        if any(d.code.startswith("F") and not d.is_substance_use for d in bps.diagnoses.all()):
            facts.episode_initial["teds_psyprob"] = teds.YesNo.YES
    inquiry = latest_inquiry_for_patient(patient)
    if inquiry is not None:
        facts.inquiry = inquiry
        if inquiry.insurance_payer:
            facts.coverage_initial = {
                "payer": inquiry.insurance_payer,
                "member_id": inquiry.insurance_member_id,
                "subscriber_name": patient.legal_name,
            }
        if inquiry.referral_source:
            facts.episode_initial["referral_source"] = inquiry.referral_source
    return facts
