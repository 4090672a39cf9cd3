"""Reads of recovery tracking, scoped to the patients the user may see."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet

from openiop.accounts.models import User
from openiop.patients.selectors import visible_patients
from openiop.recovery.models import DrugTest, DrugTestResult, Prescription

REFUSED = "Drug tests and prescriptions are for the clinical team."


def require(user: User, permission: str = "recovery.view_drugtest") -> None:
    if not user.can(permission):
        raise PermissionDenied(REFUSED)


def drug_tests(user: User) -> QuerySet[DrugTest]:
    """Drug tests of the patients the user may see, newest first, results included
    (a constant number of queries for any number of tests)."""
    require(user)
    return (
        DrugTest.objects.filter(patient__in=visible_patients(user).values("pk"))
        .select_related("collected_by", "recorded_by")
        .prefetch_related(
            Prefetch("results", queryset=DrugTestResult.objects.order_by("substance"))
        )
        .order_by("-collected_at", "-id")
    )


def prescriptions(user: User) -> QuerySet[Prescription]:
    require(user)
    return (
        Prescription.objects.filter(patient__in=visible_patients(user).values("pk"))
        .select_related("recorded_by")
        .order_by("-start_date", "-id")
    )
