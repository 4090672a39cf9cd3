"""Scoped reads of episodes of care, and the episode facts in every chart header."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients.chart import register_header_provider
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients


def _episodes() -> QuerySet[EpisodeOfCare]:
    return EpisodeOfCare.objects.select_related(
        "program", "track", "phase", "primary_clinician", "facility"
    )


def open_episode(patient: Patient) -> EpisodeOfCare | None:
    """The patient's open episode at their facility (there is at most one)."""
    return _episodes().filter(patient=patient, discharge_date__isnull=True).first()


def episode_on(patient: Patient, day: dt.date) -> EpisodeOfCare | None:
    """The patient's episode in care on ``day`` (admitted by then, not discharged before)."""
    return (
        EpisodeOfCare.objects.filter(patient=patient, admission_date__lte=day)
        .filter(Q(discharge_date__isnull=True) | Q(discharge_date__gte=day))
        .order_by("-admission_date")
        .first()
    )


def episodes_of(patient: Patient) -> QuerySet[EpisodeOfCare]:
    """Every episode of a patient whose chart the caller already opened (newest first)."""
    return _episodes().filter(patient=patient).prefetch_related("coverages")


def visible_episodes(user: User) -> QuerySet[EpisodeOfCare]:
    return _episodes().filter(patient__in=visible_patients(user).values("pk"))


def current_census(user: User, facility: Facility) -> list[EpisodeOfCare]:
    """Open episodes of a facility that the user may see, audited as one list view."""
    rows = list(
        visible_episodes(user)
        .filter(facility=facility, discharge_date__isnull=True)
        .select_related("patient")
        .order_by("admission_date", "patient__last_name", "pk")
    )
    record(
        actor=user,
        action=AuditEvent.Action.VIEW,
        facility_id=facility.pk,
        section="current episodes",
        detail={"count": len(rows)},
    )
    return rows


@register_header_provider
def _header(user: User, patient: Patient) -> dict[str, Any]:
    episode = open_episode(patient)
    if episode is None:
        return {"episode": None}
    today = timezone.localdate(timezone=patient.facility.zone)
    return {"episode": episode, "episode_days": episode.days_in_treatment(today)}
