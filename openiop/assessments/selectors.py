"""Scoped reads of assessments. Opening one goes through chart_access (404 out of scope,
audited); the signed ones are what admission builds on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from openiop.accounts.models import Organization, User
from openiop.assessments import rules
from openiop.assessments.models import (
    Addendum,
    AsamAssessment,
    AsamRule,
    Biopsychosocial,
    Status,
    SubstanceUse,
)
from openiop.patients.models import Patient
from openiop.patients.selectors import ChartAccess, chart_access


def require_reader(user: User) -> None:
    if not user.can("assessments.view_assessment"):
        raise PermissionDenied("Your role does not open assessments.")


def require_writer(user: User) -> None:
    if not user.can("assessments.change_assessment"):
        raise PermissionDenied("Only the clinical team writes and signs assessments.")


@dataclass(frozen=True)
class TableInUse:
    rules: tuple[rules.Rule, ...]
    version: str
    custom: bool


def table_for(organization: Organization | int | None) -> TableInUse:
    """The organization's level-of-care table, or SPEC §5's when it keeps none."""
    rows: list[AsamRule] = []
    if organization is not None:
        org_id = organization if isinstance(organization, int) else organization.pk
        rows = list(AsamRule.objects.filter(organization_id=org_id).order_by("order", "id"))
    table = tuple(r.as_rule() for r in rows)
    # Every editing path validates the whole table; a broken one never reaches a patient.
    if table and not rules.table_errors(table):
        return TableInUse(table, f"org:{rules.table_fingerprint(table)}", custom=True)
    default = rules.DEFAULT_TABLE
    return TableInUse(default, f"default:{rules.table_fingerprint(default)}", custom=False)


def table_for_patient(patient: Patient) -> TableInUse:
    return table_for(patient.facility.organization_id)


def asam_rules_of(organization: Organization) -> QuerySet[AsamRule]:
    return AsamRule.objects.filter(organization=organization).order_by("order", "id")


def _asam_qs() -> QuerySet[AsamAssessment]:
    return AsamAssessment.objects.select_related("created_by", "signed_by")


def _bps_qs() -> QuerySet[Biopsychosocial]:
    return Biopsychosocial.objects.select_related("created_by", "signed_by")


def asams_of(patient: Patient) -> QuerySet[AsamAssessment]:
    """A chart's ASAM assessments (the caller opened the chart through chart_access)."""
    return _asam_qs().filter(patient=patient).order_by("-created_at", "-id")


def biopsychosocials_of(patient: Patient) -> QuerySet[Biopsychosocial]:
    return _bps_qs().filter(patient=patient).order_by("-created_at", "-id")


def _addenda() -> Prefetch[Any]:
    return Prefetch("addenda", queryset=Addendum.objects.select_related("author"))


def _full_bps(qs: QuerySet[Biopsychosocial]) -> QuerySet[Biopsychosocial]:
    substance_uses: Prefetch[Any] = Prefetch(
        "substance_uses", queryset=SubstanceUse.objects.order_by("rank")
    )
    return qs.prefetch_related(substance_uses, "diagnoses", _addenda())


def open_asam(
    user: User, pk: int, *, section: str = "ASAM assessment", action: str = "view"
) -> tuple[ChartAccess, AsamAssessment]:
    """An ASAM assessment of a patient the user may see (404 otherwise), audited."""
    require_reader(user)
    patient_id = AsamAssessment.objects.filter(pk=pk).values_list("patient_id", flat=True).first()
    if patient_id is None:
        raise Http404("No assessment here.")
    access = chart_access(user, patient_id, section=section, action=action)
    assessment = _asam_qs().prefetch_related(_addenda()).get(pk=pk)
    assessment.patient = access.patient
    return access, assessment


def open_biopsychosocial(
    user: User, pk: int, *, section: str = "biopsychosocial assessment", action: str = "view"
) -> tuple[ChartAccess, Biopsychosocial]:
    """A biopsychosocial assessment with its rows; the narrative is the clinical team's."""
    if not user.can("assessments.view_narrative"):
        require_reader(user)
        raise PermissionDenied(
            "The biopsychosocial narrative is for the clinical team. The chart's Assessments "
            "tab shows whether it is signed."
        )
    patient_id = Biopsychosocial.objects.filter(pk=pk).values_list("patient_id", flat=True).first()
    if patient_id is None:
        raise Http404("No assessment here.")
    access = chart_access(user, patient_id, section=section, action=action)
    assessment = _full_bps(_bps_qs()).get(pk=pk)
    assessment.patient = access.patient
    return access, assessment


def latest_signed_asam(patient: Patient) -> AsamAssessment | None:
    """The most recently signed ASAM assessment (admission starts from its final level)."""
    return (
        _asam_qs()
        .filter(patient=patient, status=Status.SIGNED)
        .order_by("-signed_at", "-id")
        .first()
    )


def latest_signed_biopsychosocial(patient: Patient) -> Biopsychosocial | None:
    """The most recently signed biopsychosocial assessment, substance rows by rank."""
    return (
        _full_bps(_bps_qs())
        .filter(patient=patient, status=Status.SIGNED)
        .order_by("-signed_at", "-id")
        .first()
    )


def both_signed(patient: Patient) -> bool:
    return (
        AsamAssessment.objects.filter(patient=patient, status=Status.SIGNED).exists()
        and Biopsychosocial.objects.filter(patient=patient, status=Status.SIGNED).exists()
    )
