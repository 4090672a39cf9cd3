from django.test import Client

from openiop.patients.models import Patient


def test_it_opens_the_chart_of_a_patient_on_the_caseload(
    clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    assert patient.mrn in response.content.decode()


def test_it_answers_404_for_a_patient_of_another_facility(
    clinician_client: Client, outside_patient: Patient
) -> None:
    assert clinician_client.get(f"/patients/{outside_patient.pk}/").status_code == 404
