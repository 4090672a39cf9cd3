"""API tokens, and the facilities, programs and staff endpoints scoped to one's facilities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from rest_framework.authtoken.models import Token

from openiop.accounts.models import Credential, Facility, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.conftest import api_signed_in, body, signed_in
from tests.factories import ProgramFactory, UserFactory


def token_header(key: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_it_issues_a_token_that_works_and_revokes_it(
    clinician: User, clinician_client: Client, patient: Patient
) -> None:
    page = clinician_client.post("/staff/api-token/", {"action": "create"})
    assert page.status_code == 200
    key = page.context["new_key"]
    assert key in body(page)
    assert Token.objects.get(user=clinician).key == key

    api = Client()
    response = api.get(f"/api/v1/patients/{patient.pk}/", **token_header(key))
    assert response.status_code == 200
    assert response.json()["mrn"] == patient.mrn
    view = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (view.actor, view.channel) == (clinician, "api")

    assert "not be shown again" not in body(clinician_client.get("/staff/api-token/"))
    revoked = clinician_client.post("/staff/api-token/", {"action": "revoke"}, follow=True)
    assert "Your API token no longer works." in body(revoked)
    refused = api.get(f"/api/v1/patients/{patient.pk}/", **token_header(key))
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid token."}
    sections = AuditEvent.objects.filter(section="API token").values_list("action", flat=True)
    assert sorted(sections) == ["create", "delete"]
    # The secret never lands in the audit trail (a token's primary key is the key itself).
    for event in AuditEvent.objects.all():
        assert key not in f"{event.object_id} {event.changes} {event.detail}"


def test_it_replaces_the_old_token_when_a_new_one_is_made(
    clinician: User, clinician_client: Client
) -> None:
    first = clinician_client.post("/staff/api-token/", {"action": "create"}).context["new_key"]
    second = clinician_client.post("/staff/api-token/", {"action": "create"}).context["new_key"]
    assert first != second
    assert Client().get("/api/v1/facilities/", **token_header(first)).status_code == 401
    assert Client().get("/api/v1/facilities/", **token_header(second)).status_code == 200


def test_it_answers_401_to_a_made_up_token(db: None) -> None:
    response = Client().get("/api/v1/facilities/", **token_header("0" * 40))
    assert response.status_code == 401


def test_it_refuses_a_token_of_a_deactivated_account(clinician: User) -> None:
    token = Token.objects.create(user=clinician)
    clinician.is_active = False
    clinician.save()
    assert Client().get("/api/v1/facilities/", **token_header(token.key)).status_code == 401


def test_it_lists_only_the_facilities_one_works_at(
    clinician: User, facility: Facility, other_facility: Facility
) -> None:
    data = api_signed_in(clinician).get("/api/v1/facilities/").json()
    assert [f["code"] for f in data["results"]] == ["HTF"]
    assert data["results"][0]["organization"] == "Test Recovery Collective"
    assert (
        api_signed_in(clinician).get(f"/api/v1/facilities/{other_facility.pk}/").status_code == 404
    )


def test_it_lists_programs_of_ones_facilities_with_dose_rules(
    clinician: User, facility: Facility, other_facility: Facility
) -> None:
    mine = ProgramFactory.create(facility=facility, name="Adult IOP")
    mine.tracks.create(
        name="Evening", kind="evening", start_time="18:00", end_time="21:00", weekdays="0,2,4"
    )
    mine.phases.create(order=1, code="engagement", name="Engagement", typical_start_week=1)
    ProgramFactory.create(facility=other_facility, name="Elsewhere IOP")
    data = api_signed_in(clinician).get("/api/v1/programs/").json()
    assert [p["name"] for p in data["results"]] == ["Adult IOP"]
    program = data["results"][0]
    assert (program["level_of_care"], program["min_hours_per_week"]) == ("2.1", "9.00")
    assert program["tracks"] == [
        {
            "id": mine.tracks.get().pk,
            "name": "Evening",
            "kind": "evening",
            "start_time": "18:00:00",
            "end_time": "21:00:00",
            "weekdays": [0, 2, 4],
            "hours_per_day": "3.00",
        }
    ]
    assert [p["code"] for p in program["phases"]] == ["engagement"]


def test_it_lists_colleagues_of_ones_facilities_only(
    clinician: User,
    director: User,
    other_clinician: User,
    make_user: Callable[..., User],
) -> None:
    Credential.objects.create(user=director, kind="LCSW", state="CA")
    gone = make_user(Role.BILLING, is_active=False)
    data = api_signed_in(clinician).get("/api/v1/staff/").json()
    emails = {s["email"] for s in data["results"]}
    assert emails == {clinician.email, director.email}
    assert other_clinician.email not in emails
    assert gone.email not in emails
    boss = next(s for s in data["results"] if s["email"] == director.email)
    assert boss["role"] == "clinical_director"
    assert boss["credentials"] == [
        {"kind": "LCSW", "number": "", "state": "CA", "expires_on": None}
    ]
    assert api_signed_in(clinician).get(f"/api/v1/staff/{other_clinician.pk}/").status_code == 404


def test_it_keeps_the_lists_read_only(clinician: User) -> None:
    client = api_signed_in(clinician)
    for path in ("/api/v1/facilities/", "/api/v1/programs/", "/api/v1/staff/"):
        assert client.post(path, {}, format="json").status_code == 405


def test_it_shows_the_staff_and_programs_pages_for_the_current_facility(
    clinician_client: Client, facility: Facility, other_facility: Facility
) -> None:
    ProgramFactory.create(facility=facility, name="Adult IOP")
    ProgramFactory.create(facility=other_facility, name="Elsewhere IOP")
    UserFactory.create(email="stranger@example.org", facilities=[other_facility])
    programs = body(clinician_client.get("/staff/programs/"))
    assert "Adult IOP" in programs
    assert "Elsewhere IOP" not in programs
    staff = body(clinician_client.get("/staff/"))
    assert "mailto:clinician@example.org" in staff
    assert "stranger@example.org" not in staff


def test_it_sends_anonymous_visitors_of_the_token_page_to_sign_in(db: None) -> None:
    response = Client().post("/staff/api-token/", {"action": "create"})
    assert response.status_code == 302
    assert not Token.objects.exists()


def test_it_offers_the_token_page_to_any_signed_in_staff(auditor: User) -> None:
    assert signed_in(auditor).get("/staff/api-token/").status_code == 200
