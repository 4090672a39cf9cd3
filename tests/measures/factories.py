"""Administrations and answer sets: synthetic people only (SPEC §13)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.measures.models import Administration, InstrumentSchedule
from openiop.measures.scoring import score
from openiop.patients.models import Patient
from tests.admissions.factories import episode as admissions_episode
from tests.factories import PatientFactory, ProgramFactory, UserFactory


def scale_answers(n: int, total: int, top: int) -> dict[str, int]:
    """``n`` items of 0..top adding up to ``total``, filled from item 1."""
    assert 0 <= total <= n * top
    answers = {}
    left = total
    for i in range(1, n + 1):
        answers[str(i)] = min(top, left)
        left -= answers[str(i)]
    return answers


def phq9(total: int, *, item9: int = 0) -> dict[str, int]:
    """PHQ-9 answers adding up to ``total`` with item 9 as given."""
    answers = scale_answers(8, total - item9, 3)
    answers["9"] = item9
    return answers


def gad7(total: int) -> dict[str, int]:
    return scale_answers(7, total, 3)


def audit(total: int) -> dict[str, int]:
    """AUDIT answers adding up to ``total``: items 1–8 first, items 9–10 (0, 2, 4) past 32."""
    extra = max(0, total - 32)
    extra += extra % 2
    answers = scale_answers(8, total - extra, 4)
    answers["9"] = min(4, extra)
    answers["10"] = extra - answers["9"]
    return answers


def auditc(total: int) -> dict[str, int]:
    return scale_answers(3, total, 4)


def dast10(total: int) -> dict[str, bool]:
    """DAST-10 answers worth ``total``: item 3 "yes" (0 points) until the last point needs it."""
    answers = {str(i): False for i in range(1, 11)}
    answers["3"] = True  # "always able to stop": yes scores 0
    order = ["1", "2", "4", "5", "6", "7", "8", "9", "10", "3"]
    for item in order[:total]:
        answers[item] = item != "3"
    return answers


def cssrs(*yes: str, when: str | None = None) -> dict[str, Any]:
    answers: dict[str, Any] = {str(i): str(i) in yes for i in range(1, 7)}
    if when is not None:
        answers["6_when"] = when
    return answers


def bam(**values: int) -> dict[str, int]:
    """All 17 BAM items 0 unless named, e.g. ``bam(i4=2)``."""
    answers = {str(i): 0 for i in range(1, 18)}
    for key, value in values.items():
        answers[key.removeprefix("i")] = value
    return answers


class AdministrationFactory(factory.django.DjangoModelFactory[Administration]):
    """A stored administration whose score agrees with its answers (as the service leaves it)."""

    class Meta:
        model = Administration

    class Params:
        result = factory.LazyAttribute(
            lambda o: score(o.instrument, o.answers, sex=o.sex_used or None)
        )

    patient = factory.SubFactory(PatientFactory)
    instrument = "phq9"
    answers = factory.LazyFunction(lambda: phq9(6))
    sex_used = ""
    total = factory.LazyAttribute(lambda o: o.result.total)
    band = factory.LazyAttribute(lambda o: o.result.band)
    flags = factory.LazyAttribute(lambda o: sorted(o.result.flags))
    subscales = factory.LazyAttribute(lambda o: dict(o.result.subscales))
    administered_at = factory.LazyFunction(timezone.now)
    administered_by = factory.SubFactory(UserFactory)
    entered_at = factory.LazyFunction(timezone.now)
    entered_by = factory.SelfAttribute("administered_by")


# --- episodes and schedules ----------------------------------------------------------------------


def today_at(facility: Any) -> dt.date:
    return timezone.localdate(timezone=facility.zone)


def given_on(facility: Any, day: dt.date, hour: int = 10) -> dt.datetime:
    """A time on ``day`` in the facility's zone (as a clinician would enter it)."""
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=facility.zone)


def open_episode(
    patient: Patient, clinician: User, *, admitted: dt.date | None = None, **kwargs: Any
) -> EpisodeOfCare:
    """An open episode of care at the patient's facility, admitted 30 days ago by default."""
    program = ProgramFactory.create(facility=patient.facility)
    return admissions_episode(
        patient,
        program,
        clinician,
        admission_date=admitted or today_at(patient.facility) - dt.timedelta(days=30),
        **kwargs,
    )


def schedule(
    episode: EpisodeOfCare, instrument: str = "phq9", *, every_days: int = 14, **kwargs: Any
) -> InstrumentSchedule:
    """A running schedule written straight to the database."""
    values: dict[str, Any] = {
        "episode": episode,
        "instrument": instrument,
        "every_days": every_days,
        "starts_on": episode.admission_date,
    }
    values.update(kwargs)
    return InstrumentSchedule.objects.create(**values)
