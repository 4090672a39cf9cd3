"""The discharge summary on paper: a PDF (WeasyPrint) with the 42 CFR §2.32 notice on every
page; a summary not yet signed is printed with a DRAFT watermark.

The HTML is built here (``summary_html``) so tests read exactly what goes on paper. The file
name carries no health information: ``discharge-summary-<id>.pdf``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.template.loader import render_to_string
from django.utils import timezone

from openiop.accounts.models import User
from openiop.discharge import rules
from openiop.discharge.facts import fact_rows, instrument_rows
from openiop.discharge.models import Discharge, FollowUp, Referral
from openiop.patients.consent_rules import PART2_NOTICE
from openiop.patients.disclosure import to_pdf
from openiop.patients.models import Patient

__all__ = ["filename", "summary_html", "to_pdf"]


def summary_html(
    discharge: Discharge,
    patient: Patient,
    user: User,
    *,
    referrals: Sequence[Referral] = (),
    followups: Sequence[FollowUp] = (),
) -> str:
    context = {
        "discharge": discharge,
        "patient": patient,
        "user": user,
        "facts": fact_rows(discharge.facts),
        "instruments": instrument_rows(discharge.facts),
        "reason_label": rules.DISCHARGE_REASONS.get(discharge.reason_key, ("", 0))[0],
        "referrals": referrals,
        "followups": followups,
        "notice": PART2_NOTICE,
        "printed_at": timezone.now(),
        "zone": patient.facility.time_zone,
        "draft": not discharge.is_signed,
    }
    return render_to_string("discharge/summary_pdf.html", context)


def filename(discharge: Discharge) -> str:
    return f"discharge-summary-{discharge.pk}.pdf"
