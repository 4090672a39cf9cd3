"""The Recovery tab and its forms through the test client: the role check (403), the
chart scope (404), field errors with nothing saved, and a constant number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.recovery import services
from openiop.recovery.models import DrugTest, DrugTestOrder, Meeting, Prescription, SobrietyDate
from tests.conftest import body, signed_in
from tests.recovery.factories import (
    a_meeting,
    a_relapse,
    a_test,
    an_hour_ago,
    an_order,
    in_care,
    today_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return in_care(facility, clinician)


def url(ep: EpisodeOfCare, rest: str = "") -> str:
    return f"/recovery/patients/{ep.patient_id}/{rest}"


PAGES = [
    "",
    "tests/new/",
    "prescriptions/new/",
    "orders/new/",
    "meetings/new/",
    "relapses/new/",
    "sobriety/",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_for_the_clinician_and_is_audited(
    clinician: User, ep: EpisodeOfCare, page: str
) -> None:
    response = signed_in(clinician).get(url(ep, page))
    assert response.status_code == 200
    event = AuditEvent.objects.filter(patient=ep.patient, action="view").latest("id")
    assert event.section.startswith("recovery")


@pytest.mark.parametrize("page", PAGES)
def test_an_outsider_gets_404(
    other_clinician: User,
    clinician: User,
    unassigned_patient: Patient,
    page: str,
    facility: Facility,
) -> None:
    ep = in_care(facility, clinician)
    assert signed_in(other_clinician).get(url(ep, page)).status_code == 404
    assert AuditEvent.objects.filter(actor=other_clinician, action="denied").exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.ADMISSIONS, Role.AUDITOR])
def test_roles_outside_the_clinical_team_get_403(
    make_user: Callable[..., User], ep: EpisodeOfCare, role: str
) -> None:
    client = signed_in(make_user(role))
    assert client.get(url(ep)).status_code == 403
    assert client.post(url(ep, "meetings/new/"), {}).status_code == 403
    assert not Meeting.objects.exists()


def _records(clinician: User, ep: EpisodeOfCare, n: int) -> None:
    today = today_of(ep)
    for i in range(n):
        a_test(
            clinician,
            ep,
            collected_at=an_hour_ago() - dt.timedelta(days=i),
            results={"cocaine": "positive" if i % 2 else "negative", "thc": "negative"},
        )
        a_meeting(clinician, ep, date=today - dt.timedelta(days=i))
        a_relapse(clinician, ep, date=today - dt.timedelta(days=i + 1), reset_sobriety=True)
        services.add_prescription(
            actor=clinician,
            patient=ep.patient,
            medication_class="buprenorphine",
            name=f"buprenorphine {i} mg",
            start_date=dt.date(2026, 2, 1),
        )
        an_order(clinician, ep, weekdays=[i % 7])


def test_the_chart_costs_the_same_for_2_and_10_of_everything(
    clinician: User, ep: EpisodeOfCare, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(clinician)
    _records(clinician, ep, 2)
    client.get(url(ep))
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(ep)).status_code == 200
    _records(clinician, ep, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = body(client.get(url(ep)))
    assert page.count("buprenorphine ") >= 10
    assert "Response needed" in page


def test_the_chart_shows_every_section(clinician: User, ep: EpisodeOfCare) -> None:
    a_test(clinician, ep, results={"cocaine": "positive", "thc": "negative"})
    services.set_sobriety_date(
        actor=clinician, patient=ep.patient, sobriety_date=today_of(ep) - dt.timedelta(days=10)
    )
    an_order(clinician, ep)
    a_meeting(clinician, ep, fellowship="smart", name="Tuesday SMART")
    page = body(signed_in(clinician).get(url(ep)))
    assert "<strong>10</strong> days sober" in page
    # The reading is in words, not colour only.
    assert "Cocaine: positive — Unexpected" in page
    assert "Cannabis (THC): negative — Negative" in page
    assert "Clinical response needed" in page
    assert "Every Monday, Tuesday" in page and "Due today" in page
    assert "SMART Recovery — Tuesday SMART" in page
    assert "Meetings each week beside the dose" in page
    assert "No relapse events recorded." in page


def test_hand_entry_saves_a_test_and_shows_its_readings(clinician: User, ep: EpisodeOfCare) -> None:
    client = signed_in(clinician)
    local = an_hour_ago().astimezone(ep.facility.zone)
    response = client.post(
        url(ep, "tests/new/"),
        {
            "specimen": "urine",
            "observed": "on",
            "collected_at": local.strftime("%Y-%m-%dT%H:%M"),
            "collected_by": clinician.pk,
            "result_cocaine": "positive",
            "result_thc": "negative",
        },
    )
    test = DrugTest.objects.get()
    assert response["Location"] == url(ep, f"tests/{test.pk}/")
    assert dict(test.results.values_list("substance", "reading")) == {
        "cocaine": "unexpected",
        "thc": "negative",
    }
    page = body(signed_in(clinician).get(response["Location"]))
    assert "Unexpected positive: Cocaine" in page


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"result_cocaine": "", "result_thc": ""}, "Record at least one substance"),
        ({"specimen": "breath"}, "A breath test reads alcohol only"),
        ({"collected_at": "2030-01-01T09:00"}, "cannot be in the future"),
        ({"collected_at": "2025-12-01T09:00"}, "before the admission"),
        ({"collected_at": "yesterday"}, "Enter a valid date/time"),
    ],
)
def test_hand_entry_errors_save_nothing(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, str], words: str
) -> None:
    data = {
        "specimen": "urine",
        "collected_at": "2026-03-04T09:30",
        "collected_by": str(clinician.pk),
        "result_cocaine": "negative",
        "result_thc": "negative",
    }
    data.update(changes)
    response = signed_in(clinician).post(url(ep, "tests/new/"), data)
    assert response.status_code == 200
    page = body(response)
    assert "Nothing was saved" in page and words in page
    assert not DrugTest.objects.exists()


def test_a_test_from_an_order_lists_the_ordered_substances_first(
    clinician: User, ep: EpisodeOfCare
) -> None:
    order = an_order(clinician, ep, panel="custom", substances=["fentanyl", "xylazine"])
    form = signed_in(clinician).get(url(ep, f"tests/new/?order={order.pk}")).context["form"]
    names = [f.name for f in form.result_fields()]
    assert names[:2] == ["result_fentanyl", "result_xylazine"]
    assert form.fields["result_fentanyl"].label == "Fentanyl (ordered)"


def test_prescription_page(clinician: User, ep: EpisodeOfCare) -> None:
    client = signed_in(clinician)
    bad = client.post(
        url(ep, "prescriptions/new/"),
        {
            "medication_class": "methadone",
            "name": "methadone 60 mg",
            "start_date": "2026-03-04",
            "end_date": "2026-03-01",
        },
    )
    assert "The last day cannot be before the first day" in body(bad)
    assert not Prescription.objects.exists()
    good = client.post(
        url(ep, "prescriptions/new/"),
        {"medication_class": "methadone", "name": "methadone 60 mg", "start_date": "2026-03-04"},
    )
    assert good.status_code == 302
    assert Prescription.objects.get().name == "methadone 60 mg"


def test_order_page(clinician: User, ep: EpisodeOfCare) -> None:
    client = signed_in(clinician)
    form = client.get(url(ep, "orders/new/")).context["form"]
    assert form.initial["weekdays"] == ["0", "1", "2", "3", "4"]  # the Day track's days
    bad = client.post(
        url(ep, "orders/new/"),
        {
            "specimen": "urine",
            "panel": "standard_12",
            "frequency": "random",
            "per_week": "4",
            "weekdays": ["0", "2"],
            "start_date": "2026-03-02",
        },
    )
    assert "4 a week is more than the 2 day(s) ticked" in body(bad)
    assert not DrugTestOrder.objects.exists()
    good = client.post(
        url(ep, "orders/new/"),
        {
            "specimen": "urine",
            "observed": "on",
            "panel": "standard_12",
            "frequency": "random",
            "per_week": "2",
            "weekdays": ["0", "2", "4"],
            "start_date": "2026-03-02",
            "reason": "Early recovery",
        },
    )
    assert good.status_code == 302
    order = DrugTestOrder.objects.get()
    assert (order.per_week, order.weekdays, order.observed) == (2, "0,2,4", True)
    stop = client.post(
        url(ep, f"orders/{order.pk}/stop/"), {"last_day": "2026-03-01", "reason": "x"}
    )
    assert "cannot be before the order starts" in body(stop)


def test_meeting_page_refuses_a_future_meeting(clinician: User, ep: EpisodeOfCare) -> None:
    client = signed_in(clinician)
    data = {
        "date": (today_of(ep) + dt.timedelta(days=1)).isoformat(),
        "fellowship": "na",
        "setting": "online",
        "minutes": "60",
        "verification": "self",
    }
    response = client.post(url(ep, "meetings/new/"), data)
    assert "cannot be in the future" in body(response)
    assert not Meeting.objects.exists()
    data["date"] = today_of(ep).isoformat()
    assert client.post(url(ep, "meetings/new/"), data).status_code == 302
    assert Meeting.objects.get().fellowship == "na"


def test_sobriety_page_keeps_the_history(clinician: User, ep: EpisodeOfCare) -> None:
    client = signed_in(clinician)
    assert client.post(url(ep, "sobriety/"), {"sobriety_date": "2025-10-01"}).status_code == 302
    refused = client.post(url(ep, "sobriety/"), {"sobriety_date": "2025-10-05"})
    assert "Say why the sobriety date changes" in body(refused)
    client.post(url(ep, "sobriety/"), {"sobriety_date": "2025-10-05", "reason_text": "Recalled"})
    assert list(
        SobrietyDate.objects.order_by("id").values_list("sobriety_date", "previous_date")
    ) == [(dt.date(2025, 10, 1), None), (dt.date(2025, 10, 5), dt.date(2025, 10, 1))]
    assert "History (2 changes)" in body(client.get(url(ep)))


def test_a_patient_without_an_open_episode_cannot_get_a_test(
    clinician: User, ep: EpisodeOfCare
) -> None:
    EpisodeOfCare.objects.filter(pk=ep.pk).update(discharge_date=dt.date(2026, 3, 1))
    client = signed_in(clinician)
    assert "no open episode" in body(client.get(url(ep)))
    response = client.post(
        url(ep, "tests/new/"),
        {
            "specimen": "urine",
            "collected_at": "2026-02-04T09:30",
            "collected_by": str(clinician.pk),
            "result_thc": "negative",
        },
    )
    assert "not in treatment" in body(response)
    assert not DrugTest.objects.exists()
