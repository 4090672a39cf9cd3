"""The biopsychosocial assessment through its services: drafts, rows, codes, signing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from openiop.accounts.models import User
from openiop.assessments import services
from openiop.assessments.models import Biopsychosocial, Status
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.assessments.factories import asam, biopsychosocial
from tests.factories import PASSWORD


@pytest.fixture
def draft(clinician: User, patient: Patient) -> Biopsychosocial:
    return services.create_biopsychosocial(actor=clinician, patient=patient)


def save(actor: User, draft: Biopsychosocial, **kwargs: Any) -> Biopsychosocial:
    kwargs.setdefault("data", {})
    return services.save_biopsychosocial(actor=actor, assessment=draft, **kwargs)


def test_it_saves_one_section_and_keeps_the_rest(clinician: User, draft: Biopsychosocial) -> None:
    save(clinician, draft, data={"housing": "Rents a room; lease ends in June."})
    save(clinician, draft, data={"strengths": "Loyal friend, good mechanic."}, section="strengths")
    draft.refresh_from_db()
    assert draft.housing == "Rents a room; lease ends in June."
    assert draft.strengths == "Loyal friend, good mechanic."
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).latest("id")
    assert event.changes == {"strengths": ["", "Loyal friend, good mechanic."]}
    assert event.detail == {"section": "strengths"}


def test_an_invalid_section_saves_nothing_of_it(clinician: User, draft: Biopsychosocial) -> None:
    save(clinician, draft, data={"allergies": "Penicillin"})
    with pytest.raises(ValidationError) as caught:
        save(
            clinician,
            draft,
            data={"allergies": "Penicillin, latex", "bp_systolic": 300, "bp_diastolic": 80},
        )
    assert "between 60 and 260" in caught.value.message_dict["bp_systolic"][0]
    draft.refresh_from_db()
    assert draft.allergies == "Penicillin" and draft.bp_systolic is None


def test_it_stores_vital_signs_and_the_pregnancy_answer(
    clinician: User, draft: Biopsychosocial
) -> None:
    save(
        clinician,
        draft,
        data={
            "bp_systolic": "128",
            "bp_diastolic": 84,
            "pulse": 72,
            "temperature_f": "98.6",
            "weight_lb": 150,
            "pregnancy": "yes",
        },
    )
    draft.refresh_from_db()
    assert (draft.bp_systolic, draft.bp_diastolic, draft.pulse) == (128, 84, 72)
    assert str(draft.temperature_f) == "98.6" and draft.pregnancy == "yes"
    with pytest.raises(ValidationError):
        save(clinician, draft, data={"pregnancy": "maybe"})


def test_it_refuses_checkbox_values_that_are_not_on_the_list(
    clinician: User, draft: Biopsychosocial
) -> None:
    with pytest.raises(ValidationError) as caught:
        save(clinician, draft, data={"current_symptoms": ["anxiety", "vampirism"]})
    assert "vampirism" in caught.value.message_dict["current_symptoms"][0]
    save(clinician, draft, data={"group_preferences": ["veterans", "women", "women"]})
    draft.refresh_from_db()
    assert draft.group_preferences == ["women", "veterans"]


def substance(**kwargs: Any) -> dict[str, Any]:
    return {"rank": 1, "substance": 2, "route": 1, "frequency": 3, "age_first_use": 16, **kwargs}


def test_it_replaces_the_substance_rows(clinician: User, draft: Biopsychosocial) -> None:
    save(clinician, draft, substance_uses=[substance(), substance(rank=2, substance=7, route=4)])
    save(clinician, draft, substance_uses=[substance(substance=10, route=2)])
    rows = list(draft.substance_uses.all())
    assert [(r.rank, r.substance, r.route) for r in rows] == [(1, 10, 2)]
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).latest("id")
    assert "substance_uses" in event.changes


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([substance(substance=99)], "choose the substance from the TEDS list"),
        ([substance(substance=1)], "no substance use reported"),
        ([substance(route=6)], "choose the route"),
        ([substance(frequency=0)], "choose the frequency"),
        ([substance(age_first_use=101)], "0 to 100"),
        ([substance(age_first_use=60)], "older than the person is now"),
        ([substance(rank=2)], "primary substance first"),
        ([substance(), substance()], "can be used once"),
        ([substance(), substance(rank=2)], "listed twice"),
        ([substance(last_use="2999-01-01")], "cannot be in the future"),
        ([substance(last_use="1980-01-01")], "before the person's date of birth"),
    ],
)
def test_it_refuses_a_bad_substance_row(
    clinician: User, draft: Biopsychosocial, rows: list[dict[str, Any]], expected: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        save(clinician, draft, substance_uses=rows)
    assert expected in " ".join(caught.value.message_dict["substance_uses"])
    assert not draft.substance_uses.exists()


def test_last_use_today_is_fine(clinician: User, draft: Biopsychosocial, patient: Patient) -> None:
    today = timezone.localdate(timezone=patient.facility.zone)
    save(clinician, draft, substance_uses=[substance(last_use=today)])
    assert draft.substance_uses.get().last_use == today


def test_it_records_diagnoses_from_the_list(clinician: User, draft: Biopsychosocial) -> None:
    save(
        clinician,
        draft,
        diagnoses=[
            {"code": "f1020", "is_primary": True, "description": "ignored for listed codes"},
            {"code": "Z59.00"},
        ],
    )
    rows = {d.code: d for d in draft.diagnoses.all()}
    assert rows["F10.20"].description == "Alcohol dependence, uncomplicated"
    assert rows["F10.20"].is_primary and rows["F10.20"].is_substance_use
    assert not rows["Z59.00"].is_substance_use and not rows["Z59.00"].not_in_list


def test_a_code_not_in_the_list_needs_a_typed_description(
    clinician: User, draft: Biopsychosocial
) -> None:
    with pytest.raises(ValidationError) as caught:
        save(clinician, draft, diagnoses=[{"code": "G47.00"}])
    assert "not in the shipped list" in caught.value.message_dict["diagnoses"][0]
    save(clinician, draft, diagnoses=[{"code": "G47.00", "description": "Insomnia, unspecified"}])
    row = draft.diagnoses.get()
    assert row.not_in_list and row.description == "Insomnia, unspecified"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([{"code": "F10-20"}], "is not an ICD-10-CM code"),
        ([{"code": "U07.1", "description": "x"}], "is not an ICD-10-CM code"),
        ([{"code": "F10.20"}, {"code": "f1020"}], "listed twice"),
        ([{"code": "F10.20", "is_primary": True}, {"code": "F33.1", "is_primary": True}], "one"),
    ],
)
def test_it_refuses_bad_diagnoses(
    clinician: User, draft: Biopsychosocial, rows: list[dict[str, Any]], expected: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        save(clinician, draft, diagnoses=rows)
    assert expected in " ".join(caught.value.message_dict["diagnoses"])


def test_signing_needs_goals_and_substance_use_or_none_reported(
    clinician: User, draft: Biopsychosocial
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.sign_biopsychosocial(actor=clinician, assessment=draft, password=PASSWORD)
    assert set(caught.value.message_dict) == {"goals_own_words", "substance_uses"}
    save(
        clinician,
        draft,
        data={
            "goals_own_words": "“Stay sober for my daughter.”",
            "no_substance_use_reported": True,
        },
    )
    with pytest.raises(ValidationError) as caught:
        services.sign_biopsychosocial(actor=clinician, assessment=draft, password="nope")
    assert "password" in caught.value.message_dict
    signed = services.sign_biopsychosocial(actor=clinician, assessment=draft, password=PASSWORD)
    assert signed.status == Status.SIGNED
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.SIGN, section="biopsychosocial assessment"
    ).exists()


def test_signing_wants_route_and_frequency_of_each_substance(
    clinician: User, draft: Biopsychosocial
) -> None:
    save(
        clinician,
        draft,
        data={"goals_own_words": "Keep my job."},
        substance_uses=[substance(route=None, frequency=None)],
    )
    with pytest.raises(ValidationError) as caught:
        services.sign_biopsychosocial(actor=clinician, assessment=draft, password=PASSWORD)
    assert (
        "route and the frequency of the primary" in caught.value.message_dict["substance_uses"][0]
    )


def test_a_signed_assessment_is_locked(clinician: User, patient: Patient) -> None:
    signed = biopsychosocial(patient, clinician, signed=True)
    with pytest.raises(services.AssessmentLocked):
        save(clinician, signed, data={"housing": "changed"})
    with pytest.raises(services.AssessmentLocked):
        save(clinician, signed, diagnoses=[])
    addendum = services.add_addendum(
        actor=clinician, assessment=signed, text="Moved into a recovery residence on 3/2."
    )
    assert addendum.biopsychosocial == signed
    assert signed.substance_uses.count() == 2


def test_signing_the_biopsychosocial_after_the_asam_moves_the_help_request(
    clinician: User, patient: Patient, draft: Biopsychosocial, advanced: list[dict[str, Any]]
) -> None:
    asam(patient, clinician, signed=True)
    save(
        clinician, draft, data={"goals_own_words": "Be present.", "no_substance_use_reported": True}
    )
    services.sign_biopsychosocial(actor=clinician, assessment=draft, password=PASSWORD)
    assert advanced == [{"actor": clinician, "patient": patient, "stage": "assessed"}]


def test_age_at_first_use_of_zero_is_allowed(
    clinician: User, draft: Biopsychosocial, patient: Patient
) -> None:
    # Prenatal exposure is recorded as 0 by some programs; TEDS codes it "11 and under".
    save(
        clinician, draft, substance_uses=[substance(age_first_use=0, last_use=dt.date(2025, 1, 1))]
    )
    assert draft.substance_uses.get().age_first_use == 0


def test_the_help_request_moves_to_assessed_when_both_are_signed(
    clinician: User, patient: Patient
) -> None:
    from openiop.intake.models import Inquiry

    inquiry = Inquiry.objects.create(
        facility=patient.facility, first_name="Dana", patient=patient, stage="screened"
    )
    asam(patient, clinician, signed=True)
    draft = services.create_biopsychosocial(actor=clinician, patient=patient)
    data = {"goals_own_words": "Keep my apartment.", "no_substance_use_reported": True}
    save(clinician, draft, data=data)
    services.sign_biopsychosocial(actor=clinician, assessment=draft, password=PASSWORD)
    inquiry.refresh_from_db()
    assert inquiry.stage == "assessed"


def test_signing_without_a_help_request_is_fine(clinician: User, patient: Patient) -> None:
    asam(patient, clinician, signed=True)
    draft = biopsychosocial(patient, clinician)
    signed = services.sign_biopsychosocial(actor=clinician, assessment=draft, password=PASSWORD)
    assert signed.is_signed
