"""Drug-test orders: the due-day rule (fixed weekdays; N random days per ISO week chosen by
an HMAC, stable and unpredictable), the services (order, stop, not collected, fulfilled
by a test) and the facility's "collections due" list."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.recovery import rules, services
from openiop.recovery.models import Collection, DrugTestOrder
from tests.conftest import body, signed_in
from tests.recovery.factories import EVERY_DAY, a_test, an_hour_ago, an_order, in_care, today_of

MONDAY = dt.date(2026, 3, 2)


def spec(**changes: Any) -> rules.OrderSpec:
    values: dict[str, Any] = {
        "frequency": "random",
        "weekdays": (0, 1, 2, 3, 4),
        "per_week": 2,
        "start": MONDAY,
        "end": None,
        "secret": "a-test-secret",
    }
    values.update(changes)
    return rules.OrderSpec(**values)


# --- the rule ----------------------------------------------------------------------------------


def test_fixed_days_are_the_weekdays_inside_the_dates_inclusive() -> None:
    fixed = spec(frequency="fixed", weekdays=(0, 2, 4), start=MONDAY, end=MONDAY + dt.timedelta(11))
    assert rules.due_days(fixed, MONDAY - dt.timedelta(30), MONDAY + dt.timedelta(30)) == [
        MONDAY,
        MONDAY + dt.timedelta(2),
        MONDAY + dt.timedelta(4),
        MONDAY + dt.timedelta(7),
        MONDAY + dt.timedelta(9),
        MONDAY + dt.timedelta(11),  # the last day counts
    ]
    assert rules.due_days(fixed, MONDAY + dt.timedelta(12), MONDAY + dt.timedelta(40)) == []
    assert not rules.is_due(fixed, MONDAY - dt.timedelta(7))  # before the start


def test_random_days_are_stable_and_depend_on_the_secret() -> None:
    window = (MONDAY, MONDAY + dt.timedelta(weeks=52) - dt.timedelta(1))
    first = rules.due_days(spec(), *window)
    assert first == rules.due_days(spec(), *window)  # the same page shows the same days
    assert first != rules.due_days(spec(secret="another order's secret"), *window)
    # Over a year every weekday comes up: nobody can count on a free day.
    assert set(Counter(d.weekday() for d in first)) == {0, 1, 2, 3, 4}


@settings(max_examples=60, deadline=None)
@given(
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    data=st.data(),
    start_offset=st.integers(0, 6),
    length=st.integers(0, 60),
    secret=st.text(min_size=1, max_size=20),
)
def test_random_orders_give_exactly_n_days_a_week_on_allowed_days(
    weekdays: set[int], data: st.DataObject, start_offset: int, length: int, secret: str
) -> None:
    per_week = data.draw(st.integers(1, len(weekdays)))
    start = MONDAY + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=length)
    order = spec(
        weekdays=tuple(sorted(weekdays)), per_week=per_week, start=start, end=end, secret=secret
    )
    days = rules.due_days(order, start - dt.timedelta(days=14), end + dt.timedelta(days=14))
    assert days == sorted(set(days))
    assert all(start <= d <= end and d.weekday() in weekdays for d in days)
    by_week = Counter(d - dt.timedelta(days=d.weekday()) for d in days)
    monday = start - dt.timedelta(days=start.weekday())
    while monday <= end:
        eligible = [
            monday + dt.timedelta(n)
            for n in range(7)
            if (monday + dt.timedelta(n)).weekday() in weekdays
            and start <= monday + dt.timedelta(n) <= end
        ]
        # A whole week has exactly per_week days; a part week has what fits.
        assert by_week[monday] == min(per_week, len(eligible))
        monday += dt.timedelta(days=7)
    # Asking for any part of the range gives the same days there (pages are stable).
    middle = start + dt.timedelta(days=length // 2)
    assert rules.due_days(order, middle, end) == [d for d in days if d >= middle]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"per_week": 3, "weekdays": [0, 2]}, "per_week"),
        ({"per_week": None}, "per_week"),
        ({"weekdays": []}, "weekdays"),
        ({"specimen": "breath"}, "substances"),
        ({"panel": "custom", "substances": []}, "substances"),
        ({"panel": "custom", "substances": ["bath salts"]}, "substances"),
        ({"panel": "everything"}, "panel"),
        ({"frequency": "sometimes"}, "frequency"),
        ({"end": MONDAY - dt.timedelta(1)}, "end_date"),
        ({"start": None}, "start_date"),
    ],
)
def test_order_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {
        "specimen": "urine",
        "panel": "standard_12",
        "substances": [],
        "frequency": "random",
        "weekdays": [0, 1, 2, 3, 4],
        "per_week": 2,
        "start": MONDAY,
        "end": None,
    }
    values.update(changes)
    assert field in rules.order_errors(**values)


def test_a_breath_order_for_alcohol_is_fine() -> None:
    assert not rules.order_errors(
        specimen="breath",
        panel="alcohol",
        substances=[],
        frequency="fixed",
        weekdays=[0],
        per_week=None,
        start=MONDAY,
        end=None,
    )


# --- the services ------------------------------------------------------------------------------


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return in_care(facility, clinician)


@pytest.mark.django_db
def test_an_order_is_saved_with_its_panel_and_audited(clinician: User, ep: EpisodeOfCare) -> None:
    order = an_order(clinician, ep, frequency="random", per_week=2, weekdays=[0, 2, 4])
    assert order.substances == list(rules.PANELS["standard_5"][1])
    assert (order.weekdays, order.per_week, len(order.secret)) == ("0,2,4", 2, 64)
    event = AuditEvent.objects.get(section="drug-test order")
    assert (event.patient_id, event.action) == (ep.patient_id, AuditEvent.Action.CREATE)


@pytest.mark.django_db
def test_an_order_before_the_admission_is_refused_and_nothing_saved(
    clinician: User, ep: EpisodeOfCare
) -> None:
    with pytest.raises(ValidationError) as caught:
        an_order(clinician, ep, start_date=ep.admission_date - dt.timedelta(days=1))
    assert "before the admission" in str(caught.value.message_dict["start_date"])
    assert not DrugTestOrder.objects.exists()


@pytest.mark.django_db
def test_a_test_on_a_due_day_fulfils_it_once(clinician: User, ep: EpisodeOfCare) -> None:
    order = an_order(clinician, ep, weekdays=[2])  # Wednesdays; 03/04/2026 is one
    test = a_test(clinician, ep)
    [done] = Collection.objects.all()
    assert (done.order, done.due_date, done.status, done.test) == (
        order,
        dt.date(2026, 3, 4),
        "collected",
        test,
    )
    a_test(clinician, ep, collected_at=dt.datetime(2026, 3, 4, 19, 0, tzinfo=dt.UTC))
    assert Collection.objects.count() == 1  # a second test the same day fulfils nothing more
    a_test(clinician, ep, collected_at=dt.datetime(2026, 3, 5, 19, 0, tzinfo=dt.UTC))
    assert Collection.objects.count() == 1  # a Thursday is not due


@pytest.mark.django_db
def test_not_collected_or_refused_needs_a_past_due_day_and_a_reason(
    clinician: User, ep: EpisodeOfCare
) -> None:
    order = an_order(clinician, ep, weekdays=[2])
    wednesday = dt.date(2026, 3, 4)

    def mark(**kwargs: Any) -> Collection:
        values: dict[str, Any] = {"due_date": wednesday, "status": "refused", "reason": "Declined"}
        values.update(kwargs)
        return services.mark_not_collected(actor=clinician, order=order, **values)

    cases: list[tuple[dict[str, Any], str]] = [
        ({"due_date": wednesday + dt.timedelta(1)}, "due_date"),  # not due
        ({"due_date": today_of(ep) + dt.timedelta(7)}, "due_date"),  # not yet
        ({"reason": " "}, "reason"),
        ({"status": "collected"}, "status"),
    ]
    for changes, field in cases:
        with pytest.raises(ValidationError) as caught:
            mark(**changes)
        assert field in caught.value.message_dict
    assert not Collection.objects.exists()
    made = mark()
    assert (made.status, made.reason, made.test) == ("refused", "Declined", None)
    with pytest.raises(ValidationError, match="already recorded"):
        mark(status="not_collected")


@pytest.mark.django_db
def test_stopping_an_order_ends_its_due_days(clinician: User, ep: EpisodeOfCare) -> None:
    order = an_order(clinician, ep)
    with pytest.raises(ValidationError):
        services.stop_order(actor=clinician, order=order, last_day=dt.date(2026, 3, 4), reason="")
    stopped = services.stop_order(
        actor=clinician, order=order, last_day=dt.date(2026, 3, 4), reason="Stable, 8 weeks clean"
    )
    assert stopped.end_date == dt.date(2026, 3, 4)
    assert not rules.is_due(stopped.spec(), dt.date(2026, 3, 5))


@pytest.mark.django_db
def test_orders_are_for_the_clinical_team(
    make_user: Callable[..., User], ep: EpisodeOfCare
) -> None:
    with pytest.raises(PermissionDenied):
        an_order(make_user(Role.FRONT_DESK), ep)


# --- the facility's due list -------------------------------------------------------------------


def _clinician_with(facility: Facility, count: int, clinician: User) -> list[EpisodeOfCare]:
    episodes = [in_care(facility, clinician, last_name=f"Due{n}") for n in range(count)]
    for e in episodes:
        an_order(clinician, e, frequency="random", per_week=7, weekdays=EVERY_DAY)
    return episodes


@pytest.mark.django_db
def test_the_due_list_shows_todays_collections_and_audits_each_patient(
    clinician: User, facility: Facility, other_clinician: User, other_facility: Facility
) -> None:
    [mine] = _clinician_with(facility, 1, clinician)
    [theirs] = _clinician_with(other_facility, 1, other_clinician)
    done = in_care(facility, clinician, last_name="Collected")
    an_order(clinician, done)
    a_test(clinician, done, collected_at=an_hour_ago())
    response = signed_in(clinician).get("/recovery/due/")
    assert response.status_code == 200
    text = body(response)
    assert mine.patient.mrn in text and done.patient.mrn in text
    assert theirs.patient.mrn not in text
    assert "Record the test" in text and "Collected" in text
    shown = set(
        AuditEvent.objects.filter(section="drug-test collections due").values_list(
            "patient_id", flat=True
        )
    )
    assert shown == {mine.patient_id, done.patient_id}


@pytest.mark.django_db
def test_the_due_list_costs_the_same_for_2_and_10_patients(
    clinician: User, facility: Facility, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(clinician)
    _clinician_with(facility, 2, clinician)
    client.get("/recovery/due/")  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get("/recovery/due/").status_code == 200
    _clinician_with(facility, 8, clinician)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/recovery/due/")
    assert body(response).count("Record the test") == 10


@pytest.mark.django_db
def test_future_days_are_never_shown(clinician: User, facility: Facility) -> None:
    [e] = _clinician_with(facility, 1, clinician)
    tomorrow = today_of(e) + dt.timedelta(days=2)
    text = body(signed_in(clinician).get(f"/recovery/due/?day={tomorrow.isoformat()}"))
    assert "Future days are not shown" in text


@pytest.mark.django_db
def test_marking_refused_from_the_due_list_comes_back_to_it(
    clinician: User, facility: Facility
) -> None:
    [e] = _clinician_with(facility, 1, clinician)
    order = DrugTestOrder.objects.get(patient=e.patient)
    client = signed_in(clinician)
    response = client.post(
        f"/recovery/patients/{e.patient_id}/orders/{order.pk}/not-collected/",
        {
            "due_date": today_of(e).isoformat(),
            "status": "refused",
            "reason": "Said no",
            "next": "/recovery/due/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/recovery/due/"
    assert "Refused by the patient" in body(client.get("/recovery/due/"))


@pytest.mark.django_db
def test_the_due_list_is_refused_to_roles_outside_the_clinical_team(
    make_user: Callable[..., User],
) -> None:
    for role in (Role.FRONT_DESK, Role.BILLING, Role.AUDITOR):
        client: Client = signed_in(make_user(role))
        assert client.get("/recovery/due/").status_code == 403
