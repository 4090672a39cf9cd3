"""The home page (census, caseload, recent charts) and the facility switcher."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.test import Client
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.audit.services import record_many
from openiop.patients.models import Patient
from openiop.patients.selectors import facility_census
from tests.conftest import body, signed_in
from tests.factories import BreakGlassGrantFactory, CareTeamMemberFactory, PatientFactory

Status = Patient.Status


def make_census(facility: Facility, other_facility: Facility) -> None:
    long_ago = timezone.now() - dt.timedelta(days=30)
    for status, count in (
        (Status.ACTIVE, 4),
        (Status.PROSPECTIVE, 2),
        (Status.ON_HOLD, 1),
        (Status.DISCHARGED, 3),
        (Status.INACTIVE, 1),
    ):
        for _ in range(count):
            PatientFactory.create(facility=facility, status=status, created_at=long_ago)
    PatientFactory.create(facility=facility, status=Status.PROSPECTIVE)  # registered today
    PatientFactory.create(facility=other_facility, status=Status.ACTIVE)  # not ours


def test_it_counts_the_census_of_the_directors_facility(
    director: User, facility: Facility, other_facility: Facility
) -> None:
    make_census(facility, other_facility)
    assert facility_census(director, facility) == {
        "total": 12,
        "active": 4,
        "prospective": 3,
        "on_hold": 1,
        "discharged": 3,
        "new_this_week": 1,
    }


def test_it_shows_the_census_on_the_directors_home_page(
    director_client: Client, facility: Facility, other_facility: Facility
) -> None:
    make_census(facility, other_facility)
    response = director_client.get("/")
    assert response.status_code == 200
    assert response.context["census"]["active"] == 4
    text = body(response)
    for value, label in (
        (4, "in treatment"),
        (3, "not yet admitted"),
        (1, "on hold"),
        (3, "discharged"),
        (1, "registered in the last 7 days"),
    ):
        assert (
            f'<span class="stat-value">{value}</span><span class="stat-label">{label}</span>'
            in text
        )


def test_it_shows_the_clinician_their_caseload_and_counts_only_it(
    clinician: User, clinician_client: Client, patient: Patient, unassigned_patient: Patient
) -> None:
    response = clinician_client.get("/")
    assert [p.pk for p in response.context["caseload"]] == [patient.pk]
    assert response.context["census"]["total"] == 1
    text = body(response)
    assert "My caseload" in text
    assert "Dana Quintero" in text
    assert "Kai Nakamura" not in text
    assert "These counts are for your caseload." in text


def test_it_lists_the_charts_opened_recently_newest_first(
    clinician: User, clinician_client: Client, facility: Facility, patient: Patient
) -> None:
    second = PatientFactory.create(facility=facility, first_name="Lee", last_name="Second")
    CareTeamMemberFactory.create(patient=second, user=clinician)
    for target in (patient, second, patient):
        clinician_client.get(f"/patients/{target.pk}/")
    recent = clinician_client.get("/").context["recent"]
    assert [p.pk for p in recent] == [patient.pk, second.pk]


def test_a_list_that_audits_its_patients_opens_no_chart(
    clinician: User, clinician_client: Client, facility: Facility, patient: Patient
) -> None:
    listed = PatientFactory.create(facility=facility, first_name="Lee", last_name="Listed")
    CareTeamMemberFactory.create(patient=listed, user=clinician)
    clinician_client.get(f"/patients/{patient.pk}/")
    record_many(
        [{"actor": clinician, "action": "view", "patient": listed.pk, "section": "dose report"}]
    )
    recent = clinician_client.get("/").context["recent"]
    assert [p.pk for p in recent] == [patient.pk]


def test_it_sends_the_auditor_straight_to_the_audit_trail(auditor_client: Client) -> None:
    response = auditor_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/audit/"


def test_it_tells_the_director_about_unreviewed_emergency_access(
    director_client: Client, clinician: User, unassigned_patient: Patient
) -> None:
    BreakGlassGrantFactory.create(user=clinician, patient=unassigned_patient)
    text = body(director_client.get("/"))
    assert "emergency access to review" in text
    assert 'href="/patients/emergency-access/review/"' in text


def test_it_explains_when_the_user_has_no_facility(make_user: Callable[..., User]) -> None:
    text = body(signed_in(make_user(Role.CLINICIAN, facilities=[])).get("/"))
    assert "You are not assigned to a facility yet" in text


# --- the facility switcher ---------------------------------------------------------------------


def test_it_switches_the_facility_the_user_works_in(
    make_user: Callable[..., User], facility: Facility, other_facility: Facility
) -> None:
    PatientFactory.create(facility=facility, last_name="Herefolk")
    PatientFactory.create(facility=other_facility, last_name="Therefolk")
    client = signed_in(make_user(Role.CLINICAL_DIRECTOR, facilities=[facility, other_facility]))
    before = body(client.get("/patients/"))
    assert "Herefolk" in before
    assert "Therefolk" not in before

    response = client.post("/facility/", {"facility": other_facility.pk, "next": "/patients/"})
    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    after = client.get("/patients/")
    assert after.wsgi_request.facility == other_facility  # type: ignore[attr-defined]
    assert "Therefolk" in body(after)
    assert "Herefolk" not in body(after)
    assert "You are now working in Other Test Facility." in body(after)


def test_it_refuses_a_facility_the_user_does_not_work_at(
    director: User, director_client: Client, facility: Facility, other_facility: Facility
) -> None:
    response = director_client.post("/facility/", {"facility": other_facility.pk}, follow=True)
    assert "Choose one of the facilities you work at." in body(response)
    assert response.wsgi_request.facility == facility  # type: ignore[attr-defined]
    assert director_client.session.get("facility_id") is None


def test_it_ignores_an_unsafe_next_address(
    make_user: Callable[..., User], facility: Facility, other_facility: Facility
) -> None:
    client = signed_in(make_user(Role.CLINICAL_DIRECTOR, facilities=[facility, other_facility]))
    for unsafe in ("http://evil.example/", "//evil.example/patients/", "https://evil.example"):
        response = client.post("/facility/", {"facility": facility.pk, "next": unsafe})
        assert response["Location"] == "/", unsafe


def test_it_switches_only_with_a_post(director_client: Client, facility: Facility) -> None:
    assert director_client.get(f"/facility/?facility={facility.pk}").status_code == 405


def test_it_offers_the_switcher_only_to_staff_of_several_facilities(
    make_user: Callable[..., User],
    director_client: Client,
    facility: Facility,
    other_facility: Facility,
) -> None:
    assert 'class="facility-switcher"' not in body(director_client.get("/"))
    both = signed_in(make_user(Role.CLINICAL_DIRECTOR, facilities=[facility, other_facility]))
    assert 'class="facility-switcher"' in body(both.get("/"))
