"""Emergency access to a chart outside one's scope: typed reason, time limit, review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.patients import services
from openiop.patients.models import BreakGlassGrant, Patient
from openiop.patients.selectors import search_patients
from tests.conftest import body, signed_in
from tests.factories import (
    BreakGlassGrantFactory,
    FacilityFactory,
    OrganizationFactory,
    PatientFactory,
)

REASON = "Crisis call: patient says they took too many pills, counselor is away."


def ask(facility: Facility, mrn: str, /, **overrides: Any) -> dict[str, Any]:
    return {
        "facility": facility.pk,
        "mrn": mrn,
        "reason": REASON,
        "understood": "on",
        **overrides,
    }


def test_it_opens_an_out_of_scope_chart_for_an_emergency_and_records_why(
    clinician: User, clinician_client: Client, facility: Facility, unassigned_patient: Patient
) -> None:
    chart = f"/patients/{unassigned_patient.pk}/"
    assert clinician_client.get(chart).status_code == 404

    response = clinician_client.post(
        "/patients/emergency-access/", ask(facility, unassigned_patient.mrn.lower())
    )
    assert response.status_code == 302
    assert response["Location"] == chart
    grant = BreakGlassGrant.objects.get()
    assert (grant.user, grant.patient, grant.reason) == (clinician, unassigned_patient, REASON)
    assert dt.timedelta(minutes=59) < grant.expires_at - grant.created_at <= dt.timedelta(hours=1)

    opened = clinician_client.get(chart)
    assert opened.status_code == 200
    assert "Emergency access until" in body(opened)
    assert "Everything you view is recorded." in body(opened)

    broke = AuditEvent.objects.get(action=AuditEvent.Action.BREAK_GLASS)
    assert (broke.actor, broke.patient_id, broke.reason) == (
        clinician,
        unassigned_patient.pk,
        REASON,
    )
    view = AuditEvent.objects.get(action=AuditEvent.Action.VIEW, patient_id=unassigned_patient.pk)
    assert view.reason == REASON
    assert view.detail == {"break_glass_grant": grant.pk}
    assert view.section == "chart summary"


def test_it_reaches_a_chart_of_another_facility_of_the_organization(
    clinician: User, clinician_client: Client, other_facility: Facility, outside_patient: Patient
) -> None:
    clinician_client.post("/patients/emergency-access/", ask(other_facility, outside_patient.mrn))
    assert clinician_client.get(f"/patients/{outside_patient.pk}/print/").status_code == 200
    printed = AuditEvent.objects.get(action=AuditEvent.Action.PRINT)
    assert printed.reason == REASON


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reason": "need it now"}, "reason", "at least 20 characters"),
        ({"reason": "   " + "x" * 10 + "   "}, "reason", "at least 20 characters"),
        ({"understood": ""}, "understood", "This field is required."),
        ({"mrn": ""}, "mrn", "This field is required."),
    ],
)
def test_it_refuses_emergency_access_without_a_reason_and_acknowledgement(
    clinician_client: Client,
    facility: Facility,
    unassigned_patient: Patient,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = clinician_client.post(
        "/patients/emergency-access/", ask(facility, unassigned_patient.mrn, **overrides)
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not BreakGlassGrant.objects.exists()
    assert clinician_client.get(f"/patients/{unassigned_patient.pk}/").status_code == 404


def test_it_refuses_a_reason_of_nineteen_characters_and_accepts_twenty(
    clinician: User, facility: Facility, unassigned_patient: Patient
) -> None:
    with pytest.raises(ValidationError):
        services.break_the_glass(
            actor=clinician, facility=facility, mrn=unassigned_patient.mrn, reason="x" * 19
        )
    grant = services.break_the_glass(
        actor=clinician, facility=facility, mrn=unassigned_patient.mrn, reason="x" * 20
    )
    assert grant.patient == unassigned_patient


def test_it_refuses_an_mrn_that_is_not_at_that_facility(
    clinician: User,
    clinician_client: Client,
    facility: Facility,
    outside_patient: Patient,
) -> None:
    response = clinician_client.post(
        "/patients/emergency-access/", ask(facility, outside_patient.mrn)
    )
    assert response.status_code == 200
    assert response.context["form"].errors["mrn"] == [
        "No chart at that facility has this medical record number."
    ]
    assert not BreakGlassGrant.objects.exists()


def test_it_keeps_a_refused_emergency_access_attempt_in_the_audit_trail(
    clinician: User,
    clinician_client: Client,
    facility: Facility,
    outside_patient: Patient,
) -> None:
    clinician_client.post("/patients/emergency-access/", ask(facility, outside_patient.mrn))
    attempt = AuditEvent.objects.get(action=AuditEvent.Action.BREAK_GLASS)
    assert attempt.detail == {"outcome": "no matching record"}
    assert attempt.patient_id is None
    assert attempt.reason == REASON


def test_it_offers_only_facilities_of_the_users_organization(
    clinician_client: Client, unassigned_patient: Patient
) -> None:
    foreign = FacilityFactory.create(
        organization=OrganizationFactory.create(name="Elsewhere Inc"), code="ELS"
    )
    stranger = PatientFactory.create(facility=foreign)
    response = clinician_client.post("/patients/emergency-access/", ask(foreign, stranger.mrn))
    assert response.status_code == 200
    assert "facility" in response.context["form"].errors
    assert not BreakGlassGrant.objects.exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.AUDITOR, Role.ADMISSIONS])
def test_it_refuses_emergency_access_to_roles_without_it(
    role: str, make_user: Callable[..., User], facility: Facility, outside_patient: Patient
) -> None:
    client = signed_in(make_user(role))
    assert client.get("/patients/emergency-access/").status_code == 403
    response = client.post("/patients/emergency-access/", ask(facility, outside_patient.mrn))
    assert response.status_code == 403
    assert not BreakGlassGrant.objects.exists()


def test_it_closes_the_chart_again_when_the_grant_expires(
    clinician: User, clinician_client: Client, facility: Facility, unassigned_patient: Patient
) -> None:
    clinician_client.post("/patients/emergency-access/", ask(facility, unassigned_patient.mrn))
    assert clinician_client.get(f"/patients/{unassigned_patient.pk}/").status_code == 200
    BreakGlassGrant.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    for page in ("", "edit/", "print/"):
        assert clinician_client.get(f"/patients/{unassigned_patient.pk}/{page}").status_code == 404
    assert search_patients(clinician, query="kai").patients == []


def test_it_opens_only_the_one_chart_to_the_one_user(
    clinician: User,
    make_user: Callable[..., User],
    facility: Facility,
    unassigned_patient: Patient,
    patient: Patient,
) -> None:
    BreakGlassGrantFactory.create(user=clinician, patient=unassigned_patient)
    colleague = signed_in(make_user(Role.CLINICIAN))
    assert colleague.get(f"/patients/{unassigned_patient.pk}/").status_code == 404


# --- review ------------------------------------------------------------------------------------


@pytest.fixture
def grant(
    clinician: User, clinician_client: Client, facility: Facility, unassigned_patient: Patient
) -> BreakGlassGrant:
    clinician_client.post("/patients/emergency-access/", ask(facility, unassigned_patient.mrn))
    clinician_client.get(f"/patients/{unassigned_patient.pk}/")
    clinician_client.get(f"/patients/{unassigned_patient.pk}/print/")
    return BreakGlassGrant.objects.get()


def test_it_lists_emergency_access_for_the_director_with_pages_opened(
    director_client: Client, grant: BreakGlassGrant
) -> None:
    response = director_client.get("/patients/emergency-access/review/")
    assert response.status_code == 200
    text = body(response)
    assert REASON in text
    assert grant.patient.mrn in text
    assert "2 pages opened" in text
    assert f'name="grant" value="{grant.pk}"' in text


def test_it_records_the_directors_review_once(
    director: User, director_client: Client, grant: BreakGlassGrant
) -> None:
    url = "/patients/emergency-access/review/"
    response = director_client.post(url, {"grant": grant.pk, "note": "Appropriate: crisis call."})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert (grant.reviewed_by, grant.review_note) == (director, "Appropriate: crisis call.")
    assert grant.reviewed_at is not None
    event = AuditEvent.objects.get(section="break-the-glass review")
    assert event.actor == director
    assert event.action == AuditEvent.Action.UPDATE
    assert event.changes == {"review_note": [None, "Appropriate: crisis call."]}

    again = director_client.post(url, {"grant": grant.pk, "note": "Second thoughts."}, follow=True)
    assert "This access has already been reviewed." in body(again)
    grant.refresh_from_db()
    assert grant.review_note == "Appropriate: crisis call."
    assert AuditEvent.objects.filter(section="break-the-glass review").count() == 1
    assert "Reviewed" in body(director_client.get(url))


def test_it_asks_for_a_review_note(director_client: Client, grant: BreakGlassGrant) -> None:
    response = director_client.post(
        "/patients/emergency-access/review/", {"grant": grant.pk, "note": ""}, follow=True
    )
    assert "Write a review note before marking it reviewed." in body(response)
    grant.refresh_from_db()
    assert grant.reviewed_at is None


def test_it_answers_404_for_a_grant_of_another_facility(
    make_user: Callable[..., User], other_facility: Facility, grant: BreakGlassGrant
) -> None:
    elsewhere = signed_in(make_user(Role.CLINICAL_DIRECTOR, facilities=[other_facility]))
    assert REASON not in body(elsewhere.get("/patients/emergency-access/review/"))
    response = elsewhere.post(
        "/patients/emergency-access/review/", {"grant": grant.pk, "note": "Looks fine."}
    )
    assert response.status_code == 404
    grant.refresh_from_db()
    assert grant.reviewed_at is None


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.FRONT_DESK, Role.BILLING])
def test_it_keeps_the_review_to_directors_auditors_and_administrators(
    role: str, make_user: Callable[..., User], grant: BreakGlassGrant
) -> None:
    client = signed_in(make_user(role))
    assert client.get("/patients/emergency-access/review/").status_code == 403
    assert (
        client.post(
            "/patients/emergency-access/review/", {"grant": grant.pk, "note": "fine"}
        ).status_code
        == 403
    )


def test_it_lets_the_auditor_review_and_link_to_the_trail(
    auditor_client: Client, grant: BreakGlassGrant
) -> None:
    text = body(auditor_client.get("/patients/emergency-access/review/"))
    assert f"/audit/?patient={grant.patient_id}&amp;actor={grant.user_id}" in text
