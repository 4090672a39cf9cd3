"""Mutual-help meetings over the API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.recovery.models import Meeting
from tests.conftest import api_signed_in
from tests.factories import PatientFactory, SupportContactFactory
from tests.recovery.factories import a_meeting, in_care, today_of

pytestmark = pytest.mark.django_db

API = "/api/v1/"


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return in_care(facility, clinician)


def as_json(response: Any) -> Any:
    return json.loads(response.content)


def rows(response: Any) -> list[Any]:
    data = as_json(response)
    return data["results"] if isinstance(data, dict) else data


def a_meeting_body(ep: EpisodeOfCare, **changes: Any) -> dict[str, Any]:
    return {
        "patient": ep.patient_id,
        "date": today_of(ep).isoformat(),
        "fellowship": "ca",
        "setting": "community_center",
        "minutes": 90,
        "verification": "staff",
        **changes,
    }


def test_a_meeting_is_recorded_read_and_listed(clinician: User, ep: EpisodeOfCare) -> None:
    client = api_signed_in(clinician)
    sponsor = SupportContactFactory.create(patient=ep.patient, is_sponsor=True, name="Jo Park")
    made = client.post(
        API + "meetings/", a_meeting_body(ep, sponsor_contact=sponsor.pk), format="json"
    )
    assert made.status_code == 201, made.content
    data = as_json(made)
    assert (data["verified_by"], data["sponsor_name"], data["minutes"]) == (
        clinician.pk,
        "Jo Park",
        90,
    )
    one = client.get(API + f"meetings/{data['id']}/")
    assert one.status_code == 200
    listed = client.get(API + "meetings/", {"patient": ep.patient_id})
    assert [m["id"] for m in rows(listed)] == [data["id"]]
    assert AuditEvent.objects.filter(section="recovery (API)", action="view").count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date": "tomorrow"}, "date"),
        ({"date": "2026-01-04"}, "date"),
        ({"minutes": 5}, "minutes"),
        ({"fellowship": "other"}, "fellowship_other"),
        ({"verification": "slip"}, "slip"),
        ({"sponsor_contact": 999999}, "sponsor_contact"),
        ({"slip": 999999}, "slip"),
    ],
)
def test_bad_meetings_answer_400_with_the_field(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, Any], field: str
) -> None:
    if changes.get("date") == "tomorrow":
        changes["date"] = (today_of(ep) + dt.timedelta(days=1)).isoformat()
    response = api_signed_in(clinician).post(
        API + "meetings/", a_meeting_body(ep, **changes), format="json"
    )
    assert response.status_code == 400
    assert field in as_json(response)
    assert not Meeting.objects.exists()


def test_another_patients_sponsor_is_refused(
    clinician: User, ep: EpisodeOfCare, facility: Facility
) -> None:
    theirs = SupportContactFactory.create(patient=PatientFactory.create(facility=facility))
    response = api_signed_in(clinician).post(
        API + "meetings/", a_meeting_body(ep, sponsor_contact=theirs.pk), format="json"
    )
    assert response.status_code == 400 and "sponsor_contact" in as_json(response)


def test_out_of_scope_is_404_and_other_roles_403(
    clinician: User, other_clinician: User, billing: User, ep: EpisodeOfCare
) -> None:
    made = a_meeting(clinician, ep)
    outsider = api_signed_in(other_clinician)
    assert outsider.get(API + f"meetings/{made.pk}/").status_code == 404
    assert outsider.post(API + "meetings/", a_meeting_body(ep), format="json").status_code == 404
    assert api_signed_in(billing).get(API + f"meetings/{made.pk}/").status_code == 403
    assert Meeting.objects.count() == 1
