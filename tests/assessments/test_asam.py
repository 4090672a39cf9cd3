"""ASAM assessments through their services: recommendation, override, refusal, signing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from openiop.accounts.models import User
from openiop.assessments import selectors, services
from openiop.assessments.models import AsamAssessment, AsamRule, Status
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.assessments.factories import asam, biopsychosocial, ratings_data
from tests.factories import PASSWORD


def test_it_saves_a_draft_with_the_recommendation_and_the_table_version(
    clinician: User, patient: Patient
) -> None:
    a = services.create_asam(
        actor=clinician, patient=patient, data=ratings_data(1, 1, 2, 2, 3, 1, final_level="2.1")
    )
    assert a.status == Status.DRAFT
    assert a.recommendation == "2.1"
    assert a.get_recommendation_display() == "Intensive outpatient (2.1)"
    assert a.table_version.startswith("default:")
    assert a.recommendation_reason == "Any of D3–D6 ≥ 2"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, section="ASAM assessment")
    assert event.patient_id == patient.pk
    assert event.changes["d5_rating"] == [None, 3]


@pytest.mark.parametrize("bad", [5, -1, 9])
def test_it_refuses_a_rating_off_the_scale_and_saves_nothing(
    clinician: User, patient: Patient, bad: int
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.create_asam(
            actor=clinician, patient=patient, data=ratings_data(0, 0, bad, 0, 0, 0)
        )
    assert list(caught.value.message_dict) == ["d3_rating"]
    assert "Dimension 3" in caught.value.message_dict["d3_rating"][0]
    assert not AsamAssessment.objects.exists()


def test_the_database_refuses_a_rating_of_5_too(clinician: User, patient: Patient) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        asam(patient, clinician, ratings=(0, 0, 0, 0, 0, 0), d4_rating=5)


def test_it_wants_a_rationale_for_every_dimension(clinician: User, patient: Patient) -> None:
    data = ratings_data(1, 1, 1, 1, 1, 1, d2_rationale="  ", d6_rationale="")
    with pytest.raises(ValidationError) as caught:
        services.create_asam(actor=clinician, patient=patient, data=data)
    assert set(caught.value.message_dict) == {"d2_rationale", "d6_rationale"}


def test_it_wants_a_reason_when_the_final_level_differs(clinician: User, patient: Patient) -> None:
    data = ratings_data(0, 0, 3, 0, 0, 0, final_level="2.1")  # recommendation: PHP
    with pytest.raises(ValidationError) as caught:
        services.create_asam(actor=clinician, patient=patient, data=data)
    assert "override_reason" in caught.value.message_dict
    data["override_reason"] = "PHP has a six-week wait; IOP now with weekly psychiatry."
    a = services.create_asam(actor=clinician, patient=patient, data=data)
    assert a.is_override


@pytest.mark.parametrize("final", ["3.5", "2.1"])
def test_both_levels_agree_with_residential_or_iop(
    clinician: User, patient: Patient, final: str
) -> None:
    a = services.create_asam(
        actor=clinician, patient=patient, data=ratings_data(0, 0, 0, 0, 0, 3, final_level=final)
    )
    assert a.recommendation == "3.5_or_2.1" and not a.is_override


def test_an_organization_table_changes_the_recommendation(
    director: User, clinician: User, patient: Patient
) -> None:
    services.save_asam_table(
        actor=director,
        organization=patient.facility.organization,
        rows=[
            {
                "dimensions": [1, 2, 3, 4, 5, 6],
                "match": "any",
                "at_least": 4,
                "recommendation": "3.7_4",
            },
            {"dimensions": [5], "match": "any", "at_least": 3, "recommendation": "2.5"},
            {"match": "otherwise", "recommendation": "2.1"},
        ],
    )
    a = services.create_asam(actor=clinician, patient=patient, data=ratings_data(0, 0, 0, 0, 3, 0))
    assert a.recommendation == "2.5"
    assert a.table_version.startswith("org:")
    assert AuditEvent.objects.filter(section="ASAM level-of-care table").exists()
    services.reset_asam_table(actor=director, organization=patient.facility.organization)
    assert selectors.table_for(patient.facility.organization).custom is False


def test_the_table_needs_a_final_catch_all_row(director: User) -> None:
    assert director.organization is not None
    with pytest.raises(ValidationError) as caught:
        services.save_asam_table(
            actor=director,
            organization=director.organization,
            rows=[{"dimensions": [1], "match": "any", "at_least": 3, "recommendation": "wm"}],
        )
    assert "otherwise" in " ".join(caught.value.messages)
    assert not AsamRule.objects.exists()


def test_only_the_director_or_an_administrator_changes_the_table(clinician: User) -> None:
    assert clinician.organization is not None
    with pytest.raises(PermissionDenied):
        services.save_asam_table(
            actor=clinician,
            organization=clinician.organization,
            rows=[{"match": "otherwise", "recommendation": "1"}],
        )


def test_it_recomputes_the_recommendation_when_a_draft_changes(
    clinician: User, patient: Patient
) -> None:
    a = services.create_asam(actor=clinician, patient=patient, data=ratings_data())
    assert a.recommendation == "1"
    a = services.update_asam(actor=clinician, assessment=a, data={"d1_rating": 3})
    assert a.recommendation == "wm"
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).latest("id")
    assert event.changes["d1_rating"] == [0, 3]
    assert event.changes["recommendation"] == ["1", "wm"]


def test_signing_needs_the_password_and_a_final_level(clinician: User, patient: Patient) -> None:
    a = services.create_asam(actor=clinician, patient=patient, data=ratings_data())
    with pytest.raises(ValidationError) as caught:
        services.sign_asam(actor=clinician, assessment=a, password="wrong")
    assert "password" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.sign_asam(actor=clinician, assessment=a, password=PASSWORD)
    assert "final_level" in caught.value.message_dict
    a = services.update_asam(actor=clinician, assessment=a, data={"final_level": "1"})
    signed = services.sign_asam(actor=clinician, assessment=a, password=PASSWORD)
    assert signed.status == Status.SIGNED and signed.signed_by == clinician
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGN)
    assert event.patient_id == patient.pk and event.section == "ASAM assessment"


def test_a_signed_assessment_is_locked_and_takes_addenda(clinician: User, patient: Patient) -> None:
    a = asam(patient, clinician, signed=True)
    with pytest.raises(services.AssessmentLocked) as caught:
        services.update_asam(actor=clinician, assessment=a, data={"d1_rating": 0})
    assert "add an addendum" in caught.value.messages[0]
    with pytest.raises(services.AssessmentLocked):
        services.sign_asam(actor=clinician, assessment=a, password=PASSWORD)
    addendum = services.add_addendum(
        actor=clinician, assessment=a, text="Spoke with the probation officer (consent on file)."
    )
    assert addendum.asam == a and addendum.author == clinician
    a.refresh_from_db()
    assert a.d1_rating == 1


def test_a_draft_takes_no_addendum(clinician: User, patient: Patient) -> None:
    a = asam(patient, clinician)
    with pytest.raises(ValidationError):
        services.add_addendum(actor=clinician, assessment=a, text="Too early.")


@pytest.mark.parametrize("role_fixture", ["admissions", "front_desk", "administrator"])
def test_only_the_clinical_team_writes(
    request: pytest.FixtureRequest, role_fixture: str, patient: Patient
) -> None:
    user: User = request.getfixturevalue(role_fixture)
    with pytest.raises(PermissionDenied):
        services.create_asam(actor=user, patient=patient, data=ratings_data())


def test_signing_both_assessments_moves_the_help_request_to_assessed(
    clinician: User, patient: Patient, advanced: list[dict[str, Any]]
) -> None:
    biopsychosocial(patient, clinician, signed=True)
    a = asam(patient, clinician, final_level="2.1")
    services.sign_asam(actor=clinician, assessment=a, password=PASSWORD)
    assert advanced == [{"actor": clinician, "patient": patient, "stage": "assessed"}]


def test_signing_only_the_asam_does_not_move_the_help_request(
    clinician: User, patient: Patient, advanced: list[dict[str, Any]]
) -> None:
    a = asam(patient, clinician, final_level="2.1")
    services.sign_asam(actor=clinician, assessment=a, password=PASSWORD)
    assert advanced == []


def test_the_selectors_return_the_latest_signed(clinician: User, patient: Patient) -> None:
    assert selectors.latest_signed_asam(patient) is None
    asam(patient, clinician, signed=True, final_level="2.1")
    newer = asam(patient, clinician, signed=True, final_level="2.5", ratings=(0, 0, 3, 0, 0, 0))
    asam(patient, clinician)  # a newer draft does not count
    assert selectors.latest_signed_asam(patient) == newer
    assert selectors.latest_signed_biopsychosocial(patient) is None
    bps = biopsychosocial(patient, clinician, signed=True)
    found = selectors.latest_signed_biopsychosocial(patient)
    assert found == bps
    assert found is not None
    assert [r.rank for r in found.substance_uses.all()] == [1, 2]
    assert {d.code for d in found.diagnoses.all()} == {"F10.20", "F33.1"}


def test_medical_staff_write_assessments_too(medical: User, patient: Patient) -> None:
    a = services.create_asam(actor=medical, patient=patient, data=ratings_data(3, 0, 0, 0, 0, 0))
    assert a.recommendation == "wm" and a.created_by == medical
