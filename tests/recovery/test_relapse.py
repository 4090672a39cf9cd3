"""Relapse events, the sobriety date and its history, and the clinical response to an
unexpected positive (which acknowledges the alert and offers a prefilled relapse)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import ClinicalAlert
from openiop.recovery import rules, services
from openiop.recovery.models import ClinicalResponse, RelapseEvent, SobrietyDate
from tests.conftest import body, signed_in
from tests.recovery.factories import a_relapse, a_test, in_care, today_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return in_care(facility, clinician)


@pytest.mark.parametrize(
    ("since", "today", "days"),
    [
        (dt.date(2026, 3, 1), dt.date(2026, 3, 1), 0),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 2), 1),
        (dt.date(2026, 3, 2), dt.date(2026, 3, 1), 0),  # the day after a relapse today
        (dt.date(2025, 3, 1), dt.date(2026, 3, 1), 365),
    ],
)
def test_days_sober(since: dt.date, today: dt.date, days: int) -> None:
    assert rules.days_sober(since, today) == days


def test_a_sobriety_date_is_at_the_latest_tomorrow() -> None:
    today = dt.date(2026, 3, 1)
    assert rules.sobriety_date_error(today + dt.timedelta(days=1), today) is None
    assert rules.sobriety_date_error(today + dt.timedelta(days=2), today)


def test_a_relapse_resets_the_sobriety_date_and_keeps_the_history(
    clinician: User, ep: EpisodeOfCare
) -> None:
    patient = ep.patient
    first = services.set_sobriety_date(
        actor=clinician, patient=patient, sobriety_date=dt.date(2025, 12, 20)
    )
    assert (first.reason, first.previous_date) == ("first", None)
    event = a_relapse(
        clinician,
        ep,
        date=dt.date(2026, 3, 4),
        substances=["alcohol", "other"],
        substances_other="kava",
        responses=["plan_review", "other"],
        response_other="Added a Saturday meeting",
        triggers="Argument with partner",
    )
    assert event.episode == ep
    assert event.substances_text == "Alcohol (breath or EtG/EtS), kava"
    assert event.responses_text == "Treatment plan review; Added a Saturday meeting"
    current = services.current_sobriety(patient)
    assert current is not None
    assert (current.sobriety_date, current.previous_date, current.reason, current.relapse) == (
        dt.date(2026, 3, 5),
        dt.date(2025, 12, 20),
        "relapse",
        event,
    )
    assert current.reason_text == "Relapse on 03/04/2026."
    assert SobrietyDate.objects.filter(patient=patient).count() == 2  # the first one is kept
    assert AuditEvent.objects.filter(section="sobriety date", action="update").exists()


def test_a_relapse_without_reset_leaves_the_sobriety_date(
    clinician: User, ep: EpisodeOfCare
) -> None:
    services.set_sobriety_date(
        actor=clinician, patient=ep.patient, sobriety_date=dt.date(2025, 12, 20)
    )
    a_relapse(clinician, ep, reset_sobriety=False)
    current = services.current_sobriety(ep.patient)
    assert current is not None and current.sobriety_date == dt.date(2025, 12, 20)


def test_changing_a_recorded_sobriety_date_needs_a_reason(
    clinician: User, ep: EpisodeOfCare
) -> None:
    services.set_sobriety_date(
        actor=clinician, patient=ep.patient, sobriety_date=dt.date(2025, 12, 20)
    )
    with pytest.raises(ValidationError) as caught:
        services.set_sobriety_date(
            actor=clinician, patient=ep.patient, sobriety_date=dt.date(2025, 12, 28)
        )
    assert "reason_text" in caught.value.message_dict
    fixed = services.set_sobriety_date(
        actor=clinician,
        patient=ep.patient,
        sobriety_date=dt.date(2025, 12, 28),
        reason_text="Patient recalled a later drink",
    )
    assert (fixed.reason, fixed.previous_date) == ("correction", dt.date(2025, 12, 20))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date": None}, "date"),
        ({"substances": []}, "substances"),
        ({"substances": ["other"]}, "substances_other"),
        ({"came_to_light": "rumour"}, "came_to_light"),
        ({"came_to_light": "drug_test"}, "drug_test"),
        ({"responses": ["other"]}, "response_other"),
        ({"new_sobriety_date": dt.date(2026, 1, 1)}, "new_sobriety_date"),
    ],
)
def test_bad_relapses_are_refused_and_nothing_saved(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        a_relapse(clinician, ep, **changes)
    assert field in caught.value.message_dict
    assert not RelapseEvent.objects.exists()
    assert not SobrietyDate.objects.exists()


def test_a_future_relapse_is_refused(clinician: User, ep: EpisodeOfCare) -> None:
    with pytest.raises(ValidationError, match="future"):
        a_relapse(clinician, ep, date=today_of(ep) + dt.timedelta(days=1))


def test_relapses_are_for_the_clinical_team(front_desk: User, ep: EpisodeOfCare) -> None:
    with pytest.raises(PermissionDenied):
        a_relapse(front_desk, ep)


# --- the clinical response ---------------------------------------------------------------------


def test_the_response_acknowledges_the_alert(clinician: User, ep: EpisodeOfCare) -> None:
    test = a_test(clinician, ep, results={"cocaine": "positive"})
    [alert] = ClinicalAlert.objects.filter(patient=ep.patient)
    made = services.record_response(
        actor=clinician,
        test=test,
        actions=["plan_review", "discussed"],
        note="Patient disclosed use at a party.",
    )
    assert made.actions == ["discussed", "plan_review"]  # in the list's order
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinician
    assert alert.action_taken == (
        "Clinical response: Discussed the result with the patient; Treatment plan review. "
        "Patient disclosed use at a party."
    )
    with pytest.raises(ValidationError, match="already recorded"):
        services.record_response(actor=clinician, test=test, actions=["discussed"])


@pytest.mark.parametrize(
    ("actions", "note", "field"),
    [
        ([], "", "actions"),
        (["none_needed"], "", "note"),
        (["none_needed", "discussed"], "False positive", "actions"),
        (["shrug"], "", "actions"),
    ],
)
def test_a_response_says_what_was_done_or_why_nothing(
    clinician: User, ep: EpisodeOfCare, actions: list[str], note: str, field: str
) -> None:
    test = a_test(clinician, ep, results={"cocaine": "positive"})
    with pytest.raises(ValidationError) as caught:
        services.record_response(actor=clinician, test=test, actions=actions, note=note)
    assert field in caught.value.message_dict
    assert not ClinicalResponse.objects.exists()
    assert ClinicalAlert.objects.get().acknowledged_at is None


def test_the_test_page_asks_for_the_response_and_offers_a_prefilled_relapse(
    clinician: User, ep: EpisodeOfCare
) -> None:
    test = a_test(clinician, ep, results={"cocaine": "positive", "thc": "negative"})
    client = signed_in(clinician)
    url = f"/recovery/patients/{ep.patient_id}/tests/{test.pk}/"
    page = body(client.get(url))
    assert "Save the clinical response" in page
    assert f"relapses/new/?test={test.pk}" in page
    refused = client.post(url, {"actions": ["none_needed"], "note": ""})
    assert "Say why no action is needed" in body(refused)
    done = client.post(url, {"actions": ["discussed", "more_testing"], "note": "Talked."})
    assert done.status_code == 302
    assert ClinicalAlert.objects.get().acknowledged_at is not None

    form = client.get(f"/recovery/patients/{ep.patient_id}/relapses/new/?test={test.pk}")
    initial = form.context["form"].initial
    assert initial["date"] == dt.date(2026, 3, 4)
    assert initial["substances"] == ["cocaine"]
    assert (initial["came_to_light"], initial["drug_test"]) == ("drug_test", test.pk)
    assert initial["reset_sobriety"] is True
    saved = client.post(
        f"/recovery/patients/{ep.patient_id}/relapses/new/?test={test.pk}",
        {
            "date": "2026-03-04",
            "substances": ["cocaine"],
            "came_to_light": "drug_test",
            "drug_test": test.pk,
            "responses": ["level_of_care"],
            "reset_sobriety": "on",
        },
    )
    assert saved.status_code == 302
    event = RelapseEvent.objects.get()
    assert (event.drug_test, event.responses) == (test, ["level_of_care"])
    sober = services.current_sobriety(ep.patient)
    assert sober is not None and sober.sobriety_date == dt.date(2026, 3, 5)
    chart = body(client.get(f"/recovery/patients/{ep.patient_id}/"))
    assert "since <strong>03/05/2026</strong>" in chart
