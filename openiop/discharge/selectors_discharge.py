"""Reads of the discharge pages (the summary, its PDF, referrals) for a patient whose chart the
caller already opened through ``chart_access`` (which scopes and audits); each is one query
whatever the number of rows."""

from __future__ import annotations

from django.db.models import F, QuerySet

from openiop.admissions.models import EpisodeOfCare
from openiop.discharge.models import Discharge, FollowUp, Referral
from openiop.patients.models import Patient

__all__ = [
    "discharge_of",
    "discharge_of_episode",
    "episode_for_referrals",
    "followups_of",
    "last_discharge",
    "patient_of_discharge",
    "patient_of_referral",
    "referral_of",
    "referrals_of",
]


def patient_of_discharge(pk: int) -> int | None:
    """Whose discharge this is, so the chart can be opened (and scoped) before reading it."""
    return Discharge.objects.filter(pk=pk).values_list("patient_id", flat=True).first()


def patient_of_referral(pk: int) -> int | None:
    return Referral.objects.filter(pk=pk).values_list("patient_id", flat=True).first()


def _discharges() -> QuerySet[Discharge]:
    return Discharge.objects.select_related(
        "episode__program", "episode__facility", "created_by", "signed_by", "facility"
    )


def discharge_of(patient: Patient, pk: int) -> Discharge | None:
    found = _discharges().filter(pk=pk, patient=patient).first()
    if found is not None:
        found.patient = patient
        found.episode.patient = patient
    return found


def discharge_of_episode(episode: EpisodeOfCare) -> Discharge | None:
    return Discharge.objects.filter(episode=episode).first()


def last_discharge(patient: Patient) -> Discharge | None:
    """The patient's most recent discharge (to send a second discharge to its summary)."""
    return _discharges().filter(patient=patient).order_by("-discharge_date", "-id").first()


def followups_of(discharge: Discharge) -> list[FollowUp]:
    return list(FollowUp.objects.filter(episode_id=discharge.episode_id).order_by("due_on", "id"))


def referrals_of(episode: EpisodeOfCare) -> list[Referral]:
    return list(
        Referral.objects.filter(episode=episode)
        .select_related("created_by")
        .order_by("created_at", "id")
    )


def referral_of(patient: Patient, pk: int) -> Referral | None:
    found = (
        Referral.objects.filter(pk=pk, patient=patient)
        .select_related("episode__facility", "created_by")
        .first()
    )
    if found is not None:
        found.patient = patient
    return found


def episode_for_referrals(patient: Patient) -> EpisodeOfCare | None:
    """The open episode, else the latest one (referrals go on after discharge)."""
    return (
        EpisodeOfCare.objects.filter(patient=patient)
        .select_related("program", "facility")
        .order_by(F("discharge_date").desc(nulls_first=True), "-admission_date", "-pk")
        .first()
    )
