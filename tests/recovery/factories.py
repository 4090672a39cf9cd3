"""Recovery states built through the services, so tests start where the product goes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.recovery import services
from openiop.recovery.models import DrugTest, DrugTestOrder, Meeting, RelapseEvent
from tests.admissions.factories import program_with_phases
from tests.scheduling.factories import admitted

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


def in_care(facility: Facility, clinician: User, last_name: str = "Rivera") -> EpisodeOfCare:
    """An open episode admitted on 01/05/2026, on the clinician's caseload."""
    return admitted(facility, program_with_phases(facility), clinician, last_name=last_name)


def today_of(episode: EpisodeOfCare) -> dt.date:
    return timezone.localdate(timezone=episode.facility.zone)


def an_hour_ago() -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=1)


def a_test(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> DrugTest:
    values: dict[str, Any] = {
        "specimen": "urine",
        "observed": True,
        "collected_at": dt.datetime(2026, 3, 4, 17, 30, tzinfo=dt.UTC),
        "collected_by": actor,
        "results": {"cocaine": "negative", "fentanyl": "negative"},
    }
    values.update(kwargs)
    return services.record_drug_test(actor=actor, episode=episode, **values)


def an_order(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> DrugTestOrder:
    """Every day from admission: today is always due (whatever day the tests run)."""
    values: dict[str, Any] = {
        "specimen": "urine",
        "observed": True,
        "panel": "standard_5",
        "frequency": "fixed",
        "weekdays": EVERY_DAY,
        "start_date": episode.admission_date,
    }
    values.update(kwargs)
    return services.order_drug_tests(actor=actor, episode=episode, **values)


def a_meeting(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> Meeting:
    values: dict[str, Any] = {
        "date": today_of(episode),
        "fellowship": "aa",
        "setting": "church",
        "minutes": 60,
        "verification": "self",
    }
    values.update(kwargs)
    return services.add_meeting(actor=actor, episode=episode, **values)


def a_relapse(actor: User, episode: EpisodeOfCare, **kwargs: Any) -> RelapseEvent:
    values: dict[str, Any] = {
        "date": today_of(episode) - dt.timedelta(days=3),
        "substances": ["alcohol"],
        "came_to_light": "self_report",
    }
    values.update(kwargs)
    return services.record_relapse(actor=actor, patient=episode.patient, **values)
