"""Scoped reads of administrations. The chart itself is opened by ``chart_access`` (404 out of
scope, audited); these read what belongs to a chart already opened."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from openiop.accounts.models import User
from openiop.measures import instruments, rules
from openiop.measures.models import Administration
from openiop.patients.models import Patient

# The tab reads at most this many administrations of one patient (newest first).
CHART_LIMIT = 1000
REFUSED = (
    "Instrument results are for the clinical team and admissions. Your role does not open "
    "them; ask the patient's clinician if you need something from here."
)


def require_reader(user: User) -> None:
    if not user.can("measures.view_administration"):
        raise PermissionDenied(REFUSED)


def require_giver(user: User) -> None:
    if not user.can("measures.add_administration"):
        raise PermissionDenied("Only the clinical team and admissions give instruments.")


def _with_people(qs: QuerySet[Administration]) -> QuerySet[Administration]:
    return qs.select_related("administered_by", "entered_by", "entered_in_error_by")


def administrations_of(patient: Patient) -> QuerySet[Administration]:
    return _with_people(Administration.objects.filter(patient=patient)).order_by(
        "-administered_at", "-id"
    )


def administration_of(patient: Patient, pk: int) -> Administration:
    """One administration of a chart already opened (404 when it belongs to another)."""
    row = (
        _with_people(Administration.objects.filter(patient=patient, pk=pk))
        .select_related("corrects")
        .first()
    )
    if row is None:
        raise Http404("No such result on this chart.")
    row.patient = patient
    return row


@dataclass
class InstrumentSummary:
    definition: instruments.Instrument
    latest: Administration | None = None
    history: list[Administration] = field(default_factory=list)
    progress: rules.Progress | None = None

    @property
    def given(self) -> int:
        return sum(1 for a in self.history if not a.entered_in_error)


def chart_summary(patient: Patient) -> list[InstrumentSummary]:
    """Per instrument (in the instruments' order): the latest valid result, the history (errors
    included, struck through) and, for the PHQ-9, the change from the first one. One query."""
    rows = list(administrations_of(patient)[:CHART_LIMIT])
    summaries = {code: InstrumentSummary(d) for code, d in instruments.DEFINITIONS.items()}
    for row in rows:
        row.patient = patient
        summary = summaries[row.instrument]
        summary.history.append(row)
        if summary.latest is None and not row.entered_in_error:
            summary.latest = row
    phq9 = summaries["phq9"]
    valid = [a for a in phq9.history if not a.entered_in_error and a.total is not None]
    if len(valid) >= 2:
        phq9.progress = rules.phq9_progress(valid[-1].total or 0, valid[0].total or 0)
    return list(summaries.values())
