"""Laboratory results from a CSV file: every row's problem in the preview, nothing
imported when any row is bad, all imported atomically (source "csv") on confirm, and an
MRN outside the user's scope told apart from nobody."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.patients.models import ClinicalAlert, Patient
from openiop.recovery import csv_import, services
from openiop.recovery.models import DrugTest, DrugTestResult
from tests.conftest import body, signed_in
from tests.factories import PatientFactory
from tests.recovery.factories import in_care

pytestmark = pytest.mark.django_db

HEADER = "mrn,collected_at,specimen,substance,result,observed\n"


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return in_care(facility, clinician)


def upload(text: str, name: str = "lab.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def good_file(mrn: str) -> str:
    return (
        HEADER
        + f"{mrn},2026-03-04 09:30,urine,COC,POS,yes\n"
        + f"{mrn},2026-03-04 09:30,urine,fentanyl,negative,yes\n"
        + f"{mrn},03/05/2026 10:00,breath,alcohol,negative,no\n"
    )


def test_the_preview_groups_rows_into_tests_and_writes_nothing(
    clinician: User, facility: Facility, ep: EpisodeOfCare
) -> None:
    preview = csv_import.preview(clinician, facility, good_file(ep.patient.mrn))
    assert preview.ok
    assert [(t.specimen, dict(t.results), t.lines) for t in preview.tests] == [
        ("urine", {"cocaine": "positive", "fentanyl": "negative"}, (2, 3)),
        ("breath", {"alcohol": "negative"}, (4,)),
    ]
    first = preview.tests[0].collected_at
    assert first == dt.datetime(2026, 3, 4, 17, 30, tzinfo=dt.UTC)  # 9:30 in Los Angeles
    assert not DrugTest.objects.exists()


def test_every_bad_row_is_named_and_an_outsider_looks_like_nobody(
    clinician: User,
    facility: Facility,
    ep: EpisodeOfCare,
    outside_patient: Patient,
    unassigned_patient: Patient,
) -> None:
    mrn = ep.patient.mrn
    text = (
        HEADER
        + f"{mrn},2026-03-04 09:30,urine,bath salts,positive,yes\n"
        + "NOBODY-1,2026-03-04 09:30,urine,cocaine,negative,yes\n"
        + f"{outside_patient.mrn},2026-03-04 09:30,urine,cocaine,negative,yes\n"
        + f"{unassigned_patient.mrn},2026-03-04 09:30,urine,cocaine,negative,yes\n"
        + f"{mrn},yesterday,urine,cocaine,negative,yes\n"
        + f"{mrn},2030-01-01 09:00,urine,cocaine,negative,yes\n"
        + f"{mrn},2026-03-04 09:30,breath,cocaine,negative,no\n"
        + f"{mrn},2026-03-06 09:30,urine,cocaine,maybe,no\n"
        + f"{mrn},2025-12-01 09:30,urine,cocaine,negative,no\n"
        + f"{mrn},2026-03-07 09:30,urine,thc,negative,no\n"
    )
    preview = csv_import.preview(clinician, facility, text)
    problems = {r.line: " ".join(r.problems) for r in preview.rows}
    assert "Unknown substance “bath salts”" in problems[2]
    # Nobody, another facility's patient and one not on the caseload: the same words.
    assert problems[3] == problems[4] == problems[5] == csv_import.NO_PATIENT
    assert outside_patient.last_name not in str(problems)
    assert "Cannot read the collection time" in problems[6]
    assert "in the future" in problems[7]
    assert "alcohol only" in problems[8]
    assert "positive, negative, invalid or dilute" in problems[9]
    assert "not in treatment on 12/01/2025" in problems[10]
    assert problems[11] == ""
    assert not preview.ok


def test_a_file_with_one_bad_row_imports_nothing(
    clinician: User, facility: Facility, ep: EpisodeOfCare
) -> None:
    client = signed_in(clinician)
    text = good_file(ep.patient.mrn) + f"{ep.patient.mrn},2026-03-06 09:30,urine,xyz,positive,no\n"
    response = client.post("/recovery/import/", {"file": upload(text)})
    page = body(response)
    assert "Nothing was imported: 1 of 4 rows have a problem" in page
    assert "Unknown substance “xyz”" in page
    assert 'name="confirm"' not in page
    assert not DrugTest.objects.exists()


def test_confirming_imports_every_test_from_the_file(
    clinician: User, facility: Facility, ep: EpisodeOfCare
) -> None:
    client = signed_in(clinician)
    preview = client.post("/recovery/import/", {"file": upload(good_file(ep.patient.mrn))})
    assert 'name="confirm"' in body(preview)
    text = preview.context["confirm"].initial["content"]
    done = client.post("/recovery/import/", {"confirm": "1", "content": text, "name": "lab.csv"})
    assert done.status_code == 302
    assert DrugTest.objects.filter(source="csv").count() == 2
    assert dict(DrugTestResult.objects.values_list("substance", "reading")) == {
        "alcohol": "negative",
        "cocaine": "unexpected",
        "fentanyl": "negative",
    }
    assert ClinicalAlert.objects.filter(patient=ep.patient).count() == 1
    assert AuditEvent.objects.filter(section="lab results import", action="create").count() == 1
    # The same file again: already recorded, nothing doubled.
    again = client.post("/recovery/import/", {"confirm": "1", "content": text, "name": "lab.csv"})
    assert "already recorded" in body(again)
    assert DrugTest.objects.count() == 2


def test_the_import_service_is_all_or_nothing(
    clinician: User, facility: Facility, ep: EpisodeOfCare
) -> None:
    tests = csv_import.preview(clinician, facility, good_file(ep.patient.mrn)).tests
    broken = services.ImportedTest(
        episode=ep,
        specimen="urine",
        observed=False,
        collected_at=dt.datetime(2025, 12, 1, 17, 0, tzinfo=dt.UTC),  # before the admission
        results={"thc": "negative"},
        lines=(9,),
    )
    with pytest.raises(ValidationError, match="Line"):
        services.import_lab_results(actor=clinician, tests=[*tests, broken])
    assert not DrugTest.objects.exists()
    assert not ClinicalAlert.objects.exists()


def test_a_file_over_2_mb_is_refused_with_a_clear_message(clinician: User) -> None:
    big = HEADER + ("x" * 80 + "\n") * 27_000
    response = signed_in(clinician).post("/recovery/import/", {"file": upload(big)})
    assert "larger than 2 MB" in body(response)


def test_a_file_without_the_columns_says_which_are_missing(
    clinician: User, ep: EpisodeOfCare
) -> None:
    response = signed_in(clinician).post(
        "/recovery/import/", {"file": upload("mrn,when,result\nX,1,2\n")}
    )
    assert "Missing: collected_at, specimen, substance" in body(response)


def test_not_text_is_refused(clinician: User) -> None:
    response = signed_in(clinician).post(
        "/recovery/import/", {"file": SimpleUploadedFile("lab.csv", b"\xff\xfe\x00bad")}
    )
    assert "not a UTF-8 text" in body(response)


def test_importing_is_for_the_clinical_team(front_desk: User, billing: User) -> None:
    for user in (front_desk, billing):
        client: Client = signed_in(user)
        assert client.get("/recovery/import/").status_code == 403


def test_another_facility_patient_with_the_same_mrn_is_not_matched(
    clinician: User, facility: Facility, other_facility: Facility, ep: EpisodeOfCare
) -> None:
    twin = PatientFactory.create(facility=other_facility, mrn=ep.patient.mrn)
    preview = csv_import.preview(clinician, facility, good_file(ep.patient.mrn))
    assert {r.patient for r in preview.rows} == {ep.patient}
    assert twin not in preview.patients
