"""Small reads the note pages need beyond ``selectors.py`` (scoped by the caller's chart
access or the user's scope, constant queries)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.patients.models import Patient, SupportContact
from openiop.patients.selectors import visible_patients
from openiop.scheduling.models import Appointment


def appointment_of(patient: Patient, pk: int | None) -> Appointment | None:
    """One of the patient's own appointments (a note written for it), or None."""
    if pk is None:
        return None
    return Appointment.objects.filter(patient=patient, pk=pk).first()


def support_contacts(patient: Patient) -> QuerySet[SupportContact]:
    """The patient's active support-system members: who may take part in a family session."""
    return SupportContact.objects.filter(patient=patient, active=True).order_by(
        "order", "name", "pk"
    )


def visible_ids(user: User, patient_ids: Iterable[int]) -> set[int]:
    """Which of these patients the user may see (one query)."""
    wanted = set(patient_ids)
    if not wanted:
        return set()
    return set(visible_patients(user).filter(pk__in=wanted).values_list("pk", flat=True))
