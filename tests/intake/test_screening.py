"""Screening for IOP fit: the form, the recommendation, overrides, and the urgent alert."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from openiop.accounts.models import Facility, User
from openiop.intake import services
from openiop.intake.models import Inquiry, Screening
from openiop.notifications.models import Notification
from openiop.patients.models import ClinicalAlert, Patient
from tests.conftest import body, last_event, signed_in
from tests.intake.conftest import cssrs


def url(inquiry: Inquiry) -> str:
    return f"/inquiries/{inquiry.pk}/screening/"


def test_it_saves_a_screening_and_moves_the_inquiry_to_screened(
    admissions_client: Client, admissions: User, inquiry: Inquiry, screening_post: dict[str, Any]
) -> None:
    assert admissions_client.get(url(inquiry)).status_code == 200
    response = admissions_client.post(url(inquiry), screening_post)
    assert response.status_code == 302
    screening = Screening.objects.get()
    assert screening.recommended_outcome == screening.outcome == "iop"
    assert screening.cssrs_band == "none"
    assert screening.cssrs_answers == cssrs()
    assert screening.withdrawal_score == 4
    assert screening.screened_by == admissions
    inquiry.refresh_from_db()
    assert inquiry.stage == "screened"
    assert last_event(section="inquiry screening").action == "create"
    html = body(admissions_client.get(f"/inquiries/{inquiry.pk}/"))
    assert "IOP appropriate" in html
    assert not Notification.objects.exists()


def test_check_shows_the_recommendation_without_saving(
    admissions_client: Client, inquiry: Inquiry, screening_post: dict[str, Any]
) -> None:
    data = {**screening_post, "withdrawal_score": "10", "check": "1"}
    del data["save"]
    response = admissions_client.post(url(inquiry), data)
    assert response.status_code == 200
    html = body(response)
    assert "Recommendation: Withdrawal management first" in html
    assert "CIWA-Ar total 10 is 10 or more" in html
    assert not Screening.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"withdrawal_score": ""}, "withdrawal_score"),
        ({"withdrawal_score": "68"}, "withdrawal_score"),
        ({"withdrawal_instrument": "cows", "withdrawal_score": "49"}, "withdrawal_score"),
        ({"cssrs_4": ""}, "cssrs_4"),
        ({"cssrs_6": "yes"}, "cssrs_6_when"),
        ({"living_situation": ""}, "living_situation"),
        ({"track": "sometimes"}, "track"),
        ({"recent_stay": "30_days"}, "recent_stay_level"),
        ({"outcome": "higher_level"}, "override_reason"),
    ],
)
def test_bad_answers_save_nothing(
    admissions_client: Client,
    inquiry: Inquiry,
    screening_post: dict[str, Any],
    change: dict[str, str],
    field: str,
) -> None:
    response = admissions_client.post(url(inquiry), {**screening_post, **change})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "Nothing was saved" in body(response)
    assert not Screening.objects.exists()
    inquiry.refresh_from_db()
    assert inquiry.stage == "new"


def test_a_different_outcome_is_kept_with_its_reason(
    admissions_client: Client, inquiry: Inquiry, screening_post: dict[str, Any]
) -> None:
    admissions_client.post(
        url(inquiry),
        {**screening_post, "outcome": "lower_level", "override_reason": "Works two jobs; OP fits"},
    )
    screening = Screening.objects.get()
    assert (screening.recommended_outcome, screening.outcome) == ("iop", "lower_level")
    assert screening.override_reason == "Works two jobs; OP fits"
    assert screening.overridden


def test_an_imminent_risk_answer_raises_an_urgent_alert_naming_the_next_step(
    admissions_client: Client,
    admissions: User,
    director: User,
    clinician: User,
    facility: Facility,
    screening_post: dict[str, Any],
) -> None:
    inquiry = Inquiry.objects.create(facility=facility, first_name="Quinn", owner=clinician)
    response = admissions_client.post(
        url(inquiry), {**screening_post, "cssrs_4": "yes"}, follow=True
    )
    html = body(response)
    assert "urgent-box" in html
    assert "Do not end the call" in html and "988" in html
    screening = Screening.objects.get()
    assert screening.urgent and screening.cssrs_band == "high"
    assert screening.recommended_outcome == "higher_level"
    notices = Notification.objects.filter(urgent=True)
    assert {n.recipient_id for n in notices} == {admissions.pk, director.pk, clinician.pk}
    for notice in notices:
        assert "Next step: Do not end the call" in notice.message
        assert "Quinn" not in notice.message
    assert not ClinicalAlert.objects.exists()  # no chart yet: notices only


def test_an_imminent_risk_on_a_registered_person_also_goes_on_the_chart(
    admissions: User,
    director: User,
    facility: Facility,
    patient: Patient,
    clinician: User,
    screening_data: dict[str, Any],
) -> None:
    inquiry = Inquiry.objects.create(facility=facility, first_name="Dana", patient=patient)
    services.record_screening(
        actor=admissions,
        inquiry=inquiry,
        data={**screening_data, "cssrs_answers": cssrs(**{"6": True, "6_when": "past_3_months"})},
    )
    alert = ClinicalAlert.objects.get(patient=patient)
    assert alert.kind == ClinicalAlert.Kind.IMMINENT_RISK
    assert alert.severity == ClinicalAlert.Severity.URGENT
    assert alert.next_step.startswith("Do not end the call")
    assert alert.raised_by == admissions
    # One notice each: admissions, directors and the care team (the clinician).
    recipients = list(Notification.objects.values_list("recipient_id", flat=True))
    assert sorted(recipients) == sorted({admissions.pk, director.pk, clinician.pk})
    assert Screening.objects.get().patient == patient


def test_a_moderate_cssrs_alerts_for_a_same_day_risk_assessment(
    admissions: User, director: User, inquiry: Inquiry, screening_data: dict[str, Any]
) -> None:
    screening = services.record_screening(
        actor=admissions,
        inquiry=inquiry,
        data={**screening_data, "cssrs_answers": cssrs(**{"3": True})},
    )
    assert not screening.urgent
    assert screening.cssrs_band == "moderate"
    assert "same-day clinical risk assessment" in screening.next_step
    notices = Notification.objects.all()
    assert notices and not any(n.urgent for n in notices)
    assert all("same-day clinical risk assessment" in n.message for n in notices)


def test_a_low_cssrs_does_not_alert(
    admissions: User, inquiry: Inquiry, screening_data: dict[str, Any]
) -> None:
    services.record_screening(
        actor=admissions,
        inquiry=inquiry,
        data={**screening_data, "cssrs_answers": cssrs(**{"1": True})},
    )
    assert not Notification.objects.exists()


def test_a_bad_cssrs_answer_is_refused_by_the_scoring(
    admissions: User, inquiry: Inquiry, screening_data: dict[str, Any]
) -> None:
    answers = cssrs()
    del answers["5"]
    with pytest.raises(ValidationError) as caught:
        services.record_screening(
            actor=admissions, inquiry=inquiry, data={**screening_data, "cssrs_answers": answers}
        )
    assert "cssrs_answers" in caught.value.message_dict
    assert not Screening.objects.exists()


def test_screening_does_not_move_an_inquiry_backwards(
    admissions: User, inquiry: Inquiry, screening_data: dict[str, Any]
) -> None:
    inquiry.stage = "assessed"
    inquiry.save()
    services.record_screening(actor=admissions, inquiry=inquiry, data=screening_data)
    inquiry.refresh_from_db()
    assert inquiry.stage == "assessed"


def test_only_screening_roles_screen(
    front_desk: User, auditor_client: Client, inquiry: Inquiry, screening_data: dict[str, Any]
) -> None:
    with pytest.raises(PermissionDenied):
        services.record_screening(actor=front_desk, inquiry=inquiry, data=screening_data)
    assert signed_in(front_desk).get(url(inquiry)).status_code == 403
    assert auditor_client.get(url(inquiry)).status_code == 403


def test_a_clinician_screens_the_inquiries_they_own(
    clinician: User, facility: Facility, screening_post: dict[str, Any], inquiry: Inquiry
) -> None:
    mine = Inquiry.objects.create(facility=facility, first_name="Owned", owner=clinician)
    client = signed_in(clinician)
    assert client.post(url(mine), screening_post).status_code == 302
    assert client.post(url(inquiry), screening_post).status_code == 404
    assert Screening.objects.count() == 1
