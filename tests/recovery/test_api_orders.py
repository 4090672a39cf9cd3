"""Drug-test orders over the API: create, stop, not collected; 400 with field errors,
404 out of scope, 403 outside the clinical team, one audit record per read."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.recovery.models import Collection, DrugTestOrder
from tests.conftest import api_signed_in
from tests.recovery.factories import an_order, in_care, today_of

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


def an_order_body(patient_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "patient": patient_id,
        "specimen": "urine",
        "observed": True,
        "panel": "standard_12",
        "frequency": "random",
        "weekdays": [0, 2, 4],
        "per_week": 2,
        "start_date": "2026-03-02",
        **changes,
    }


def test_an_order_is_created_listed_stopped_and_a_day_refused(
    clinician: User, ep: EpisodeOfCare
) -> None:
    client = api_signed_in(clinician)
    made = client.post(API + "drug-test-orders/", an_order_body(ep.patient_id), format="json")
    assert made.status_code == 201, made.content
    data = as_json(made)
    assert (data["weekdays"], data["per_week"], data["frequency"]) == ([0, 2, 4], 2, "random")
    assert "secret" not in data
    listed = client.get(API + "drug-test-orders/", {"patient": ep.patient_id})
    assert [o["id"] for o in rows(listed)] == [data["id"]]
    event = AuditEvent.objects.filter(section="recovery (API)", action="view").latest("pk")
    assert event.patient_id == ep.patient_id
    assert AuditEvent.objects.filter(section="recovery (API)", action="view").count() == 1

    stopped = client.post(
        API + f"drug-test-orders/{data['id']}/stop/",
        {"last_day": "2026-03-20", "reason": "Stable"},
        format="json",
    )
    assert stopped.status_code == 200 and as_json(stopped)["end_date"] == "2026-03-20"


def test_a_due_day_can_be_marked_refused(clinician: User, ep: EpisodeOfCare) -> None:
    order = an_order(clinician, ep)
    client = api_signed_in(clinician)
    day = today_of(ep).isoformat()
    done = client.post(
        API + f"drug-test-orders/{order.pk}/not-collected/",
        {"due_date": day, "status": "refused", "reason": "Declined"},
        format="json",
    )
    assert done.status_code == 201, done.content
    assert as_json(done)["status"] == "refused"
    again = client.post(
        API + f"drug-test-orders/{order.pk}/not-collected/",
        {"due_date": day, "status": "not_collected", "reason": "Again"},
        format="json",
    )
    assert again.status_code == 400 and "due_date" in as_json(again)
    assert Collection.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"per_week": 5}, "per_week"),
        ({"weekdays": [9]}, "weekdays"),
        ({"panel": "custom", "substances": ["glue"]}, "substances"),
        ({"start_date": "2025-12-01"}, "start_date"),
        ({"start_date": "March"}, "start_date"),
        ({"end_date": "2026-03-01"}, "end_date"),
    ],
)
def test_bad_orders_answer_400_with_the_field(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, Any], field: str
) -> None:
    response = api_signed_in(clinician).post(
        API + "drug-test-orders/", an_order_body(ep.patient_id, **changes), format="json"
    )
    assert response.status_code == 400
    assert field in as_json(response)
    assert not DrugTestOrder.objects.exists()


def test_out_of_scope_is_404_and_other_roles_403(
    clinician: User,
    other_clinician: User,
    front_desk: User,
    ep: EpisodeOfCare,
    outside_patient: Patient,
) -> None:
    order = an_order(clinician, ep)
    outsider = api_signed_in(other_clinician)
    assert outsider.get(API + f"drug-test-orders/{order.pk}/").status_code == 404
    assert outsider.get(API + "drug-test-orders/", {"patient": ep.patient_id}).status_code == 404
    made = outsider.post(API + "drug-test-orders/", an_order_body(ep.patient_id), format="json")
    assert made.status_code == 404
    stop = outsider.post(
        API + f"drug-test-orders/{order.pk}/stop/", {"last_day": "2026-03-20", "reason": "x"}
    )
    assert stop.status_code == 404
    desk = api_signed_in(front_desk)
    assert desk.get(API + "drug-test-orders/", {"patient": ep.patient_id}).status_code == 403
    assert (
        desk.post(API + "drug-test-orders/", an_order_body(ep.patient_id), format="json")
    ).status_code == 403
    assert DrugTestOrder.objects.count() == 1


def _schema_warnings(patterns: list[Any]) -> set[str]:
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    return set(GENERATOR_STATS._warn_cache) | set(GENERATOR_STATS._error_cache)


def test_the_recovery_endpoints_add_no_schema_warnings(db: None) -> None:
    from config.urls import api_v1 as urls

    api_v1: list[Any] = list(urls)
    without = [
        p for p in api_v1 if "openiop.recovery.api_urls" not in str(getattr(p, "urlconf_name", ""))
    ]
    assert len(without) == len(api_v1) - 1
    before = _schema_warnings([path("api/v1/", include((without, "api")))])
    after = _schema_warnings([path("api/v1/", include((api_v1, "api")))])
    assert after == before


def test_the_order_is_due_every_day_ticked(clinician: User, ep: EpisodeOfCare) -> None:
    order = an_order(clinician, ep, weekdays=[0, 1, 2, 3, 4, 5, 6])
    assert order.spec().start == dt.date(2026, 1, 5)
