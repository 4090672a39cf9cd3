"""Register as patient from an inquiry, or link it to a record already there."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from openiop.accounts.models import Facility, User
from openiop.intake.models import Inquiry
from openiop.patients.models import Patient
from tests.conftest import body, last_event, signed_in
from tests.factories import PatientFactory
from tests.intake.factories import InquiryFactory, ScreeningFactory


def registration(**changes: Any) -> dict[str, Any]:
    data = {
        "first_name": "Jordan",
        "last_name": "Vasquez",
        "date_of_birth": "1991-05-17",
        "sex_at_birth": "male",
        "gender_identity": "man",
        "language": "English",
        "phone": "951-555-0133",
        "email": "",
    }
    data.update(changes)
    return data


def test_it_starts_from_the_inquiry(admissions_client: Client, inquiry: Inquiry) -> None:
    response = admissions_client.get(f"/inquiries/{inquiry.pk}/register/")
    assert response.status_code == 200
    assert response.context["form"].initial["first_name"] == "Jordan"
    assert response.context["form"].initial["phone"] == inquiry.phone
    assert "date_of_birth" in response.context["form"].fields
    assert "mrn" not in response.context["form"].fields


def test_a_loved_ones_request_starts_from_their_name_not_the_callers(
    admissions_client: Client, facility: Facility
) -> None:
    inquiry = InquiryFactory.create(
        facility=facility, who_needs_help="loved_one", person_name="Sam Rivera Ortiz"
    )
    initial = admissions_client.get(f"/inquiries/{inquiry.pk}/register/").context["form"].initial
    assert (initial["first_name"], initial["last_name"], initial["phone"]) == (
        "Sam",
        "Rivera Ortiz",
        "",
    )


def test_it_registers_and_links_the_inquiry_and_its_screenings(
    admissions_client: Client, admissions: User, inquiry: Inquiry
) -> None:
    ScreeningFactory.create(inquiry=inquiry)
    response = admissions_client.post(f"/inquiries/{inquiry.pk}/register/", registration())
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert (patient.first_name, patient.date_of_birth) == ("Jordan", dt.date(1991, 5, 17))
    assert patient.facility == inquiry.facility
    assert patient.status == "prospective"
    inquiry.refresh_from_db()
    assert inquiry.patient == patient
    assert inquiry.screenings.get().patient == patient
    event = last_event(section="inquiry", action="update")
    assert event.changes == {"patient_id": [None, patient.pk]}
    assert event.patient_id == patient.pk
    html = body(admissions_client.get(f"/inquiries/{inquiry.pk}/"))
    assert patient.mrn in html and "Register as patient" not in html


def test_missing_registration_fields_save_nothing(
    admissions_client: Client, inquiry: Inquiry
) -> None:
    response = admissions_client.post(
        f"/inquiries/{inquiry.pk}/register/", registration(date_of_birth="", sex_at_birth="")
    )
    assert response.status_code == 400
    assert {"date_of_birth", "sex_at_birth"} <= set(response.context["form"].errors)
    assert not Patient.objects.exists()
    inquiry.refresh_from_db()
    assert inquiry.patient is None


def test_a_possible_duplicate_offers_to_link_instead(
    admissions_client: Client, inquiry: Inquiry, facility: Facility
) -> None:
    existing = PatientFactory.create(
        facility=facility,
        first_name="Jordan",
        last_name="Vasquez",
        date_of_birth=dt.date(1991, 5, 17),
    )
    response = admissions_client.post(f"/inquiries/{inquiry.pk}/register/", registration())
    assert response.status_code == 400
    html = body(response)
    assert "This may be someone already registered" in html
    assert existing.mrn in html
    assert Patient.objects.count() == 1
    response = admissions_client.post(f"/inquiries/{inquiry.pk}/link/", {"patient": existing.pk})
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.patient == existing


def test_confirming_a_different_person_registers_anyway(
    admissions_client: Client, inquiry: Inquiry, facility: Facility
) -> None:
    PatientFactory.create(
        facility=facility,
        first_name="Jordan",
        last_name="Vasquez",
        date_of_birth=dt.date(1991, 5, 17),
    )
    response = admissions_client.post(
        f"/inquiries/{inquiry.pk}/register/", registration(confirm_not_duplicate="on")
    )
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_it_links_only_a_patient_of_the_same_facility_in_scope(
    admissions_client: Client, inquiry: Inquiry, outside_patient: Patient
) -> None:
    response = admissions_client.post(
        f"/inquiries/{inquiry.pk}/link/", {"patient": outside_patient.pk}, follow=True
    )
    assert "Choose a patient of this facility" in body(response)
    inquiry.refresh_from_db()
    assert inquiry.patient is None


def test_roles_that_do_not_register_are_refused(
    clinician: User, facility: Facility, billing: User
) -> None:
    mine = InquiryFactory.create(facility=facility, owner=clinician)
    assert signed_in(clinician).get(f"/inquiries/{mine.pk}/register/").status_code == 403
    assert (
        signed_in(clinician).post(f"/inquiries/{mine.pk}/link/", {"patient": 1}).status_code == 403
    )
    assert signed_in(billing).get(f"/inquiries/{mine.pk}/register/").status_code == 403
