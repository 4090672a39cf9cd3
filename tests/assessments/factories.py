"""Assessments written straight to the database, for reading tests (synthetic only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from openiop.accounts.models import User
from openiop.assessments import rules
from openiop.assessments.models import (
    AsamAssessment,
    Biopsychosocial,
    Diagnosis,
    Status,
    SubstanceUse,
)
from openiop.patients.models import Patient


def ratings_data(*values: int, **extra: Any) -> dict[str, Any]:
    """Form/service data for six ratings, each with a rationale."""
    data: dict[str, Any] = {}
    for d, value in zip(rules.DIMENSIONS, values or (0, 0, 0, 0, 0, 0), strict=True):
        data[f"d{d}_rating"] = value
        data[f"d{d}_rationale"] = f"Dimension {d}: synthetic rationale."
    data.update(extra)
    return data


def asam(
    patient: Patient, author: User, ratings: tuple[int, ...] = (1, 1, 2, 2, 2, 1), **kwargs: Any
) -> AsamAssessment:
    table = rules.DEFAULT_TABLE
    recommendation = rules.recommend_level(dict(zip(rules.DIMENSIONS, ratings, strict=True)), table)
    values: dict[str, Any] = {
        "patient": patient,
        "created_by": author,
        "recommendation": recommendation.code,
        "recommendation_reason": recommendation.reason,
        "table_version": f"default:{rules.table_fingerprint(table)}",
        **ratings_data(*ratings),
    }
    if kwargs.pop("signed", False):
        values.update(
            status=Status.SIGNED,
            signed_by=author,
            signed_at=timezone.now(),
            final_level=kwargs.pop("final_level", "2.1"),
        )
    values.update(kwargs)
    return AsamAssessment.objects.create(**values)


def biopsychosocial(
    patient: Patient, author: User, *, signed: bool = False, **kwargs: Any
) -> Biopsychosocial:
    values: dict[str, Any] = {
        "patient": patient,
        "created_by": author,
        "goals_own_words": "“I want to be there for my kids and keep my job.”",
        "trauma_history": "Synthetic: car accident at 19; nightmares since.",
        "mental_health_history": "Synthetic: depression treated in 2019.",
        "prior_treatment_episodes": 1,
    }
    if signed:
        values.update(status=Status.SIGNED, signed_by=author, signed_at=timezone.now())
    values.update(kwargs)
    assessment = Biopsychosocial.objects.create(**values)
    SubstanceUse.objects.create(
        assessment=assessment,
        rank=1,
        substance=2,
        route=1,
        frequency=3,
        age_first_use=15,
        last_use=dt.date(2026, 1, 2),
    )
    SubstanceUse.objects.create(assessment=assessment, rank=2, substance=4, route=2, frequency=2)
    Diagnosis.objects.create(
        assessment=assessment,
        code="F10.20",
        description="Alcohol dependence, uncomplicated",
        is_primary=True,
        is_substance_use=True,
    )
    Diagnosis.objects.create(
        assessment=assessment, code="F33.1", description="Major depressive disorder, recurrent"
    )
    return assessment
