"""The Measures tab, the administer form, a result page and setting a wrong result right,
through the test client: who may, scope, errors that save nothing, constant query counts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.measures import services
from openiop.measures.models import Administration
from openiop.patients.models import ClinicalAlert, Patient
from tests.conftest import body, last_event, signed_in
from tests.factories import PatientFactory
from tests.measures import factories as f
from tests.measures.factories import AdministrationFactory

pytestmark = pytest.mark.django_db


def tab(patient: Patient) -> str:
    return reverse("measures:chart", args=[patient.pk])


def give_url(patient: Patient, code: str) -> str:
    return reverse("measures:give", args=[patient.pk, code])


def post_data(answers: dict[str, Any], user: User, **extra: Any) -> dict[str, Any]:
    """The administer form as a browser posts it (the time in the facility's zone)."""
    zone = user.facilities.get().zone
    data: dict[str, Any] = {
        "administered_at": timezone.localtime(timezone=zone).strftime("%Y-%m-%dT%H:%M"),
        "administered_by": user.pk,
        "notes": "",
    }
    for number, value in answers.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        data[f"item_{number}"] = str(value)
    return data | extra


# --- the tab -------------------------------------------------------------------------------------


def test_it_shows_the_latest_result_and_history_per_instrument(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    old = timezone.now() - dt.timedelta(days=14)
    AdministrationFactory.create(
        patient=patient, answers=f.phq9(18), administered_at=old, administered_by=clinician
    )
    AdministrationFactory.create(patient=patient, answers=f.phq9(8), administered_by=clinician)
    AdministrationFactory.create(patient=patient, instrument="bam", answers=f.bam(i4=2))
    response = clinician_client.get(tab(patient))
    assert response.status_code == 200
    html = body(response)
    assert 'aria-current="page">Measures' in html
    latest = html.split('id="latest-title"')[1].split("</table>")[0]
    assert '<th scope="row">PHQ-9</th>' in latest
    assert '<span class="pill">mild</span>' in latest or "mild</span>" in latest
    assert "18 → 8 (down 56 %)" in latest
    assert "Response (down 50 % or more)" in latest
    assert "use 2" in latest
    assert "PHQ-9 history" in html and "BAM history" in html and "GAD-7 history" not in html
    assert clinician.display_name in html
    event = last_event(action=AuditEvent.Action.VIEW, patient=patient)
    assert event.section == "measures"


def test_it_offers_every_instrument_to_give(clinician_client: Client, patient: Patient) -> None:
    html = body(clinician_client.get(tab(patient)))
    assert "No instruments given yet." in html
    for code in ("phq9", "gad7", "audit", "auditc", "dast10", "cssrs_screen", "bam"):
        assert give_url(patient, code) in html


def test_it_strikes_through_results_entered_in_error(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    a = AdministrationFactory.create(patient=patient, answers=f.phq9(22))
    services.mark_entered_in_error(actor=clinician, administration=a, reason="Wrong patient chart")
    html = body(clinician_client.get(tab(patient)))
    assert "Every result is marked entered in error." in html
    assert 'class="entered-in-error"' in html
    assert "Entered in error" in html


@pytest.mark.parametrize("role", [Role.BILLING, Role.FRONT_DESK, Role.ALUMNI_COORDINATOR])
def test_it_refuses_roles_outside_the_team_with_a_plain_message(
    make_user: Callable[..., User], patient: Patient, role: str
) -> None:
    AdministrationFactory.create(patient=patient, answers=f.phq9(22))
    user = make_user(role)
    response = signed_in(user).get(tab(patient))
    assert response.status_code == 403
    html = body(response)
    assert "Measures are not part of your role" in html
    assert "severe" not in html
    assert last_event(actor=user, action=AuditEvent.Action.DENIED).section == "measures"
    assert signed_in(user).get(give_url(patient, "phq9")).status_code == 403


@pytest.mark.parametrize("role", [Role.ADMISSIONS, Role.CLINICAL_DIRECTOR, Role.MEDICAL])
def test_it_opens_the_tab_for_admissions_and_the_clinical_team(
    make_user: Callable[..., User], patient: Patient, role: str
) -> None:
    assert signed_in(make_user(role)).get(tab(patient)).status_code == 200


def test_it_answers_404_outside_scope(
    other_clinician: User, auditor_client: Client, patient: Patient, outside_patient: Patient
) -> None:
    client = signed_in(other_clinician)
    a = AdministrationFactory.create(patient=patient)
    assert client.get(tab(patient)).status_code == 404
    assert client.get(give_url(patient, "phq9")).status_code == 404
    assert (
        client.post(give_url(patient, "gad7"), post_data(f.gad7(3), other_clinician)).status_code
        == 404
    )
    assert client.get(reverse("measures:result", args=[patient.pk, a.pk])).status_code == 404
    assert auditor_client.get(tab(patient)).status_code == 404
    assert not Administration.objects.filter(instrument="gad7").exists()


def test_it_hides_a_result_of_another_patient_behind_this_chart(
    clinician_client: Client, patient: Patient, outside_patient: Patient
) -> None:
    elsewhere = AdministrationFactory.create(patient=outside_patient)
    url = reverse("measures:result", args=[patient.pk, elsewhere.pk])
    assert clinician_client.get(url).status_code == 404


def test_it_keeps_the_tab_at_a_constant_number_of_queries(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    AdministrationFactory.create(patient=patient, answers=f.phq9(3))
    clinician_client.get(tab(patient))  # the session's first request costs more
    with CaptureQueriesContext(connection) as few:
        assert clinician_client.get(tab(patient)).status_code == 200
    for n in range(30):
        AdministrationFactory.create(
            patient=patient,
            instrument=["phq9", "gad7", "bam"][n % 3],
            answers=[f.phq9(n % 25), f.gad7(n % 21), f.bam(i5=n % 5)][n % 3],
        )
    with CaptureQueriesContext(connection) as many:
        assert clinician_client.get(tab(patient)).status_code == 200
    assert len(many) == len(few)


def test_it_opens_the_tab_within_a_query_budget(
    clinician_client: Client, patient: Patient, django_assert_max_num_queries: Any
) -> None:
    for n in range(20):
        AdministrationFactory.create(patient=patient, answers=f.phq9(n))
    with django_assert_max_num_queries(25):
        assert clinician_client.get(tab(patient)).status_code == 200


# --- giving an instrument ------------------------------------------------------------------------


def test_it_renders_every_question_as_a_fieldset_of_radio_buttons(
    clinician_client: Client, patient: Patient
) -> None:
    html = body(clinician_client.get(give_url(patient, "phq9")))
    assert html.count("<fieldset") == 9 + 1  # nine questions and "about this time"
    assert "<legend>9. Thoughts that you would be better off dead" in html
    assert html.count('type="radio" name="item_9"') == 4
    assert "Nearly every day (3)" in html
    assert 'type="datetime-local"' in html


def test_it_saves_scores_and_shows_the_result(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    response = clinician_client.post(
        give_url(patient, "gad7"), post_data(f.gad7(12), clinician, notes="Tired today")
    )
    a = Administration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("measures:result", args=[patient.pk, a.pk])
    assert (a.total, a.band, a.notes) == (12, "moderate", "Tired today")
    html = body(clinician_client.get(response["Location"]))
    assert "GAD-7 saved: 12 · moderate." in html
    assert "panel 69737-5, total 70274-6" in html
    assert "Moderate anxiety" in html
    assert "Tired today" in html


def test_it_reads_the_time_given_in_the_facility_zone(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    clinician_client.post(
        give_url(patient, "gad7"),
        post_data(f.gad7(1), clinician, administered_at="2026-01-05T09:30"),
    )
    a = Administration.objects.get()
    assert a.administered_at == dt.datetime(2026, 1, 5, 9, 30, tzinfo=patient.facility.zone)


def test_it_raises_the_alert_and_warns_when_phq9_item_9_is_above_0(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    response = clinician_client.post(
        give_url(patient, "phq9"), post_data(f.phq9(6, item9=1), clinician), follow=True
    )
    html = body(response)
    assert "Suicide risk: an alert is now at the top of the chart" in html
    assert ClinicalAlert.objects.filter(patient=patient, kind="suicide_risk").count() == 1
    assert 'class="alert danger chart-alert"' in html  # in the header


def test_it_takes_the_alert_off_the_header_once_acknowledged(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    clinician_client.post(give_url(patient, "phq9"), post_data(f.phq9(6, item9=2), clinician))
    alert = ClinicalAlert.objects.get()
    assert "chart-alert" in body(clinician_client.get(tab(patient)))
    clinician_client.post(
        reverse("patients:acknowledge_alert", args=[patient.pk, alert.pk]),
        {"action_taken": "Safety plan completed with the patient", "next": tab(patient)},
    )
    assert "chart-alert" not in body(clinician_client.get(tab(patient)))


def test_it_rerenders_with_messages_and_saves_nothing_when_answers_are_missing(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    data = post_data(f.phq9(5), clinician)
    del data["item_4"]
    response = clinician_client.post(give_url(patient, "phq9"), data)
    assert response.status_code == 200
    html = body(response)
    assert "Nothing was saved." in html
    assert 'href="#id_item_4"' in html
    assert "Choose an answer to this question." in html
    assert 'value="3" required id="id_item_1_3" checked' in html  # the answers given stay
    assert not Administration.objects.exists()


def test_it_refuses_an_answer_that_is_not_offered(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    data = post_data(f.audit(0), clinician) | {"item_9": "1"}
    html = body(clinician_client.post(give_url(patient, "audit"), data))
    assert "Select a valid choice." in html
    assert not Administration.objects.exists()


def test_it_refuses_a_time_in_the_future(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    later = timezone.localtime(timezone.now() + dt.timedelta(days=2), patient.facility.zone)
    data = post_data(f.gad7(1), clinician, administered_at=later.strftime("%Y-%m-%dT%H:%M"))
    html = body(clinician_client.post(give_url(patient, "gad7"), data))
    assert "cannot be in the future" in html
    assert not Administration.objects.exists()


def test_it_answers_404_for_an_unknown_instrument(
    clinician_client: Client, patient: Patient
) -> None:
    assert clinician_client.get(give_url(patient, "phq2")).status_code == 404


# --- C-SSRS follow-ups ---------------------------------------------------------------------------


def test_it_asks_when_for_cssrs_item_6(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    data = post_data(f.cssrs("6"), clinician)
    html = body(clinician_client.post(give_url(patient, "cssrs_screen"), data))
    assert "Question 6 was yes: say when." in html
    assert not Administration.objects.exists()
    data["item_6_when"] = "past_3_months"
    clinician_client.post(give_url(patient, "cssrs_screen"), data)
    a = Administration.objects.get()
    assert (a.band, a.answers["6_when"]) == ("high", "past_3_months")


def test_it_counts_skipped_cssrs_questions_as_no(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    data = post_data(f.cssrs("1"), clinician)
    for n in ("3", "4", "5"):
        del data[f"item_{n}"]
    data["item_6_when"] = "past_3_months"  # left over from a changed answer: not asked
    clinician_client.post(give_url(patient, "cssrs_screen"), data)
    a = Administration.objects.get()
    assert a.band == "low"
    assert (a.answers["3"], a.answers["4"], a.answers["5"]) == (False, False, False)
    assert "6_when" not in a.answers


def test_it_wants_questions_3_to_5_when_question_2_is_yes(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    data = post_data(f.cssrs("2"), clinician)
    del data["item_4"]
    html = body(clinician_client.post(give_url(patient, "cssrs_screen"), data))
    assert "Question 2 was yes: answer this one too." in html
    assert not Administration.objects.exists()


# --- AUDIT-C cut-off -----------------------------------------------------------------------------


def test_it_asks_which_auditc_cutoff_when_the_chart_says_neither(
    clinician: User, facility: object
) -> None:
    patient = PatientFactory.create(facility=facility, sex_at_birth="unknown")
    from tests.factories import CareTeamMemberFactory

    CareTeamMemberFactory.create(patient=patient, user=clinician)
    client = signed_in(clinician)
    html = body(client.get(give_url(patient, "auditc")))
    assert "Which cut-off applies?" in html
    assert re.search(r'value="female"[^>]*checked', html)  # the lower one first
    client.post(give_url(patient, "auditc"), post_data(f.auditc(3), clinician, sex="male"))
    a = Administration.objects.get()
    assert (a.sex_used, a.band) == ("male", "negative")


def test_it_does_not_ask_the_cutoff_when_the_chart_knows(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    assert "Which cut-off applies?" not in body(clinician_client.get(give_url(patient, "auditc")))
    clinician_client.post(give_url(patient, "auditc"), post_data(f.auditc(3), clinician))
    assert Administration.objects.get().sex_used == "female"


# --- results, entered in error, corrections ------------------------------------------------------


def test_it_shows_answers_in_words_with_their_points(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    answers = {str(i): False for i in range(1, 11)}
    a = services.administer(actor=clinician, patient=patient, code="dast10", answers=answers)
    html = body(clinician_client.get(reverse("measures:result", args=[patient.pk, a.pk])))
    assert "Are you always able to stop using drugs when you want to?</td><td>No</td><td>1" in html
    assert "total 82667-7" in html
    assert last_event(action=AuditEvent.Action.VIEW).section == "measures: result"


def test_it_marks_a_result_entered_in_error_from_its_page(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    a = services.administer(actor=clinician, patient=patient, code="gad7", answers=f.gad7(2))
    url = reverse("measures:entered_in_error", args=[patient.pk, a.pk])
    html = body(clinician_client.post(url, {"reason": "x"}))
    assert "Say why" in html
    a.refresh_from_db()
    assert not a.entered_in_error
    response = clinician_client.post(url, {"reason": "Given to the wrong person"}, follow=True)
    a.refresh_from_db()
    assert a.entered_in_error_reason == "Given to the wrong person"
    assert "Marked entered in error." in body(response)
    assert "“Given to the wrong person”" in body(response)


def test_it_corrects_a_result_from_the_wrong_answers(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    old = services.administer(actor=clinician, patient=patient, code="phq9", answers=f.phq9(4))
    url = reverse("measures:correct", args=[patient.pk, old.pk])
    html = body(clinician_client.get(url))
    assert "Correct the PHQ-9 of" in html
    assert 'value="3" required id="id_item_1_3" checked' in html  # starts from the old answers
    assert "Why is the earlier result wrong?" in html
    data = post_data(f.phq9(9), clinician, correction_reason="Item 2 was typed as 0")
    response = clinician_client.post(url, data)
    new = Administration.objects.exclude(pk=old.pk).get()
    assert response["Location"] == reverse("measures:result", args=[patient.pk, new.pk])
    old.refresh_from_db()
    assert old.entered_in_error and new.corrects == old
    html = body(clinician_client.get(reverse("measures:result", args=[patient.pk, old.pk])))
    assert "Corrected by" in html
    assert "Correct the answers" not in html  # a result entered in error is not corrected twice


def test_it_refuses_billing_on_results_and_corrections(
    billing_client: Client, clinician: User, patient: Patient
) -> None:
    a = services.administer(actor=clinician, patient=patient, code="gad7", answers=f.gad7(2))
    for name in ("result", "correct"):
        assert (
            billing_client.get(reverse(f"measures:{name}", args=[patient.pk, a.pk])).status_code
            == 403
        )
    url = reverse("measures:entered_in_error", args=[patient.pk, a.pk])
    assert billing_client.post(url, {"reason": "Not my patient"}).status_code == 403
    a.refresh_from_db()
    assert not a.entered_in_error
