"""Giving an instrument through the service: scored, stored, audited, alerts raised; wrong
answers, dates and roles refused with nothing saved; corrections and entered-in-error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.measures import services
from openiop.measures.models import Administration
from openiop.notifications.models import Notification
from openiop.patients.alerts import acknowledge_alert
from openiop.patients.models import ClinicalAlert, Patient
from tests.conftest import last_event
from tests.factories import PatientFactory
from tests.measures import factories as f

pytestmark = pytest.mark.django_db


def test_it_stores_the_score_and_who_gave_it(clinician: User, patient: Patient) -> None:
    a = services.administer(actor=clinician, patient=patient, code="phq9", answers=f.phq9(12))
    a.refresh_from_db()
    assert (a.instrument, a.total, a.band, a.flags, a.subscales) == ("phq9", 12, "moderate", [], {})
    assert a.administered_by == a.entered_by == clinician
    assert a.answers == f.phq9(12)
    assert abs(a.administered_at - timezone.now()) < dt.timedelta(seconds=5)


def test_it_audits_the_administration_with_its_values(clinician: User, patient: Patient) -> None:
    a = services.administer(actor=clinician, patient=patient, code="gad7", answers=f.gad7(15))
    event = last_event(object_type="measures.administration", object_id=str(a.pk))
    assert event.action == AuditEvent.Action.CREATE
    assert event.patient_id == patient.pk
    assert event.changes["band"] == [None, "severe"]
    assert event.changes["total"] == [None, 15]


def test_it_stores_yes_no_answers_as_true_and_false(clinician: User, patient: Patient) -> None:
    answers = {str(i): 0 for i in range(1, 11)} | {"1": 1}
    a = services.administer(actor=clinician, patient=patient, code="dast10", answers=answers)
    a.refresh_from_db()
    assert a.answers["1"] is True and a.answers["3"] is False
    assert a.total == 2


def test_it_stores_bam_subscales_without_a_total(clinician: User, patient: Patient) -> None:
    a = services.administer(actor=clinician, patient=patient, code="bam", answers=f.bam(i4=3))
    assert (a.total, a.band, a.subscales) == (None, "", {"use": 3, "risk": 0, "protective": 0})


# --- suicide-risk alerts -------------------------------------------------------------------------


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_it_raises_a_suicide_alert_when_phq9_item_9_is_above_0(
    clinician: User, director: User, patient: Patient, item9: int
) -> None:
    a = services.administer(
        actor=clinician, patient=patient, code="phq9", answers=f.phq9(8, item9=item9)
    )
    alert = ClinicalAlert.objects.get(patient=patient)
    assert alert.kind == ClinicalAlert.Kind.SUICIDE_RISK
    assert (alert.source_type, alert.source_id) == ("measures.administration", str(a.pk))
    assert alert.raised_by == clinician
    assert "PHQ-9 question 9" in alert.message
    assert alert.next_step.startswith("Complete a full suicide risk assessment and safety plan")
    # The care team (the clinician) and the clinical directors are told.
    told = set(Notification.objects.values_list("recipient_id", flat=True))
    assert {clinician.pk, director.pk} <= told
    assert a.flags == ["suicide_risk"]


def test_it_raises_no_alert_when_phq9_item_9_is_0(clinician: User, patient: Patient) -> None:
    services.administer(actor=clinician, patient=patient, code="phq9", answers=f.phq9(27 - 3))
    assert not ClinicalAlert.objects.exists()


@pytest.mark.parametrize(
    ("answers", "alert"),
    [
        (f.cssrs(), False),
        (f.cssrs("1", "2"), False),
        (f.cssrs("3"), True),
        (f.cssrs("6", when="more_than_3_months_ago"), True),
        (f.cssrs("5"), True),
        (f.cssrs("6", when="past_3_months"), True),
    ],
)
def test_it_raises_a_suicide_alert_for_cssrs_moderate_and_high(
    clinician: User, patient: Patient, answers: dict[str, object], alert: bool
) -> None:
    services.administer(actor=clinician, patient=patient, code="cssrs_screen", answers=answers)
    assert ClinicalAlert.objects.filter(patient=patient, kind="suicide_risk").exists() == alert


def test_it_keeps_the_alert_open_until_acknowledged(clinician: User, patient: Patient) -> None:
    services.administer(actor=clinician, patient=patient, code="cssrs_screen", answers=f.cssrs("4"))
    alert = ClinicalAlert.objects.get(patient=patient)
    assert alert.acknowledged_at is None
    acknowledge_alert(actor=clinician, alert=alert, action_taken="Safety plan made with patient")
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinician


# --- refusals: nothing saved ---------------------------------------------------------------------


def test_it_names_the_item_when_an_answer_is_wrong(clinician: User, patient: Patient) -> None:
    with pytest.raises(ValidationError) as e:
        services.administer(
            actor=clinician, patient=patient, code="phq9", answers=f.phq9(0) | {"9": 4}
        )
    assert e.value.message_dict == {"answers": ["phq9 item 9: 4 is outside 0–3."]}
    assert e.value.error_dict["answers"][0].params == {"item": "9"}
    assert not Administration.objects.exists()
    assert not ClinicalAlert.objects.exists()


def test_it_refuses_an_unknown_instrument(clinician: User, patient: Patient) -> None:
    with pytest.raises(ValidationError) as e:
        services.administer(actor=clinician, patient=patient, code="phq2", answers={})
    assert "instrument" in e.value.message_dict


def test_it_refuses_a_time_in_the_future(clinician: User, patient: Patient) -> None:
    with pytest.raises(ValidationError) as e:
        services.administer(
            actor=clinician,
            patient=patient,
            code="gad7",
            answers=f.gad7(3),
            administered_at=timezone.now() + dt.timedelta(hours=1),
        )
    assert e.value.message_dict["administered_at"] == [
        "The date and time it was given cannot be in the future."
    ]
    assert not Administration.objects.exists()


def test_it_accepts_a_back_dated_administration(clinician: User, patient: Patient) -> None:
    when = timezone.now() - dt.timedelta(days=3)
    a = services.administer(
        actor=clinician, patient=patient, code="gad7", answers=f.gad7(3), administered_at=when
    )
    assert a.administered_at == when
    assert a.entered_at > when


def test_it_refuses_a_time_before_birth(clinician: User, patient: Patient) -> None:
    with pytest.raises(ValidationError, match="before the patient was born"):
        services.administer(
            actor=clinician,
            patient=patient,
            code="gad7",
            answers=f.gad7(3),
            administered_at=dt.datetime(1980, 1, 1, tzinfo=dt.UTC),
        )


@pytest.mark.parametrize("role", [Role.BILLING, Role.FRONT_DESK, Role.ADMINISTRATOR, Role.AUDITOR])
def test_it_refuses_roles_outside_the_clinical_team_and_admissions(
    make_user: Callable[..., User], patient: Patient, role: str
) -> None:
    with pytest.raises(PermissionDenied):
        services.administer(actor=make_user(role), patient=patient, code="gad7", answers=f.gad7(3))
    assert not Administration.objects.exists()


def test_it_lets_admissions_give_an_instrument(admissions: User, patient: Patient) -> None:
    a = services.administer(actor=admissions, patient=patient, code="auditc", answers=f.auditc(3))
    assert a.band == "positive"


def test_it_records_another_giver_of_the_facility(
    clinician: User, director: User, patient: Patient, other_clinician: User
) -> None:
    a = services.administer(
        actor=clinician, patient=patient, code="gad7", answers=f.gad7(1), administered_by=director
    )
    assert (a.administered_by, a.entered_by) == (director, clinician)
    with pytest.raises(ValidationError) as e:
        services.administer(
            actor=clinician,
            patient=patient,
            code="gad7",
            answers=f.gad7(1),
            administered_by=other_clinician,
        )
    assert "administered_by" in e.value.message_dict


# --- AUDIT-C cut-off -----------------------------------------------------------------------------


@pytest.mark.parametrize(("sex", "band"), [("male", "negative"), ("female", "positive")])
def test_it_takes_the_auditc_cutoff_from_sex_at_birth(
    clinician: User, patient: Patient, sex: str, band: str
) -> None:
    patient.sex_at_birth = sex
    patient.save()
    a = services.administer(actor=clinician, patient=patient, code="auditc", answers=f.auditc(3))
    assert (a.sex_used, a.band) == (sex, band)


def test_it_refuses_a_cutoff_that_contradicts_the_chart(clinician: User, patient: Patient) -> None:
    patient.sex_at_birth = "male"
    patient.save()
    with pytest.raises(ValidationError) as e:
        services.administer(
            actor=clinician, patient=patient, code="auditc", answers=f.auditc(3), sex="female"
        )
    assert "sex" in e.value.message_dict


@pytest.mark.parametrize(
    ("chosen", "used", "band"), [(None, "female", "positive"), ("male", "male", "negative")]
)
def test_it_uses_the_chosen_cutoff_when_the_chart_says_neither(
    clinician: User, facility: object, chosen: str | None, used: str, band: str
) -> None:
    patient = PatientFactory.create(facility=facility, sex_at_birth="intersex")
    a = services.administer(
        actor=clinician, patient=patient, code="auditc", answers=f.auditc(3), sex=chosen
    )
    assert (a.sex_used, a.band) == (used, band)


# --- entered in error and corrections ------------------------------------------------------------


def test_it_marks_a_result_entered_in_error_with_the_reason(
    clinician: User, patient: Patient
) -> None:
    a = services.administer(actor=clinician, patient=patient, code="gad7", answers=f.gad7(9))
    services.mark_entered_in_error(
        actor=clinician, administration=a, reason="Entered on the wrong patient"
    )
    a.refresh_from_db()
    assert a.entered_in_error
    assert (a.entered_in_error_by, a.entered_in_error_reason) == (
        clinician,
        "Entered on the wrong patient",
    )
    event = last_event(object_id=str(a.pk), action=AuditEvent.Action.UPDATE)
    assert event.reason == "Entered on the wrong patient"
    assert event.changes["entered_in_error_reason"] == ["", "Entered on the wrong patient"]
    with pytest.raises(ValidationError, match="already marked"):
        services.mark_entered_in_error(actor=clinician, administration=a, reason="Again, twice")


def test_it_wants_a_reason_to_mark_entered_in_error(clinician: User, patient: Patient) -> None:
    a = services.administer(actor=clinician, patient=patient, code="gad7", answers=f.gad7(9))
    with pytest.raises(ValidationError) as e:
        services.mark_entered_in_error(actor=clinician, administration=a, reason="  no ")
    assert "reason" in e.value.message_dict
    a.refresh_from_db()
    assert not a.entered_in_error


def test_it_refuses_billing_marking_entered_in_error(
    clinician: User, billing: User, patient: Patient
) -> None:
    a = services.administer(actor=clinician, patient=patient, code="gad7", answers=f.gad7(9))
    with pytest.raises(PermissionDenied):
        services.mark_entered_in_error(actor=billing, administration=a, reason="Not mine at all")


def test_it_corrects_a_result_with_a_new_one(clinician: User, patient: Patient) -> None:
    old = services.administer(actor=clinician, patient=patient, code="phq9", answers=f.phq9(4))
    new = services.administer(
        actor=clinician,
        patient=patient,
        code="phq9",
        answers=f.phq9(14),
        administered_at=old.administered_at,
        corrects=old,
        correction_reason="Item 3 and 4 swapped when typing",
    )
    old.refresh_from_db()
    assert new.corrects == old
    assert old.entered_in_error
    assert old.entered_in_error_reason == "Item 3 and 4 swapped when typing"
    assert (old.total, new.total) == (4, 14)  # the old result is kept as it was


def test_it_refuses_a_correction_of_another_instrument_or_without_reason(
    clinician: User, patient: Patient
) -> None:
    old = services.administer(actor=clinician, patient=patient, code="phq9", answers=f.phq9(4))
    with pytest.raises(ValidationError) as e:
        services.administer(
            actor=clinician,
            patient=patient,
            code="gad7",
            answers=f.gad7(4),
            corrects=old,
            correction_reason="Wrong instrument chosen",
        )
    assert "corrects" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.administer(
            actor=clinician, patient=patient, code="phq9", answers=f.phq9(5), corrects=old
        )
    assert "correction_reason" in e.value.message_dict
    old.refresh_from_db()
    assert not old.entered_in_error
    assert Administration.objects.count() == 1
