"""The chart's Documents tab, the download and the removal, through the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.attachments import services
from openiop.attachments.models import Attachment
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.attachments.files import LIMIT, pdf_bytes, png_bytes, upload
from tests.conftest import body, last_event, signed_in


def chart(patient: Patient) -> str:
    return reverse("attachments:chart", kwargs={"patient_id": patient.pk})


def download(made: Attachment) -> str:
    return reverse("attachments:download", kwargs={"key": made.key})


def remove(made: Attachment) -> str:
    return reverse("attachments:remove", kwargs={"key": made.key})


def attach(actor: User, patient: Patient, data: bytes | None = None, **kwargs: Any) -> Attachment:
    return services.attach(
        actor=actor, patient=patient, upload=upload(data or pdf_bytes()), **kwargs
    )


def test_the_tab_lists_documents_and_offers_a_labelled_upload(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    attach(clinician, patient, description="Referral letter from Dr. Example")
    response = clinician_client.get(chart(patient))
    assert response.status_code == 200
    page = body(response)
    assert "Referral letter from Dr. Example" in page
    assert '<label for="id_file"' in page
    assert "PDF, JPEG or PNG file of up to 10 MB" in page
    assert 'enctype="multipart/form-data"' in page
    assert last_event(action=AuditEvent.Action.VIEW, section="documents").patient_id == patient.pk


def test_uploading_from_the_tab_adds_the_document(
    clinician_client: Client, patient: Patient
) -> None:
    response = clinician_client.post(
        chart(patient),
        {"file": upload(png_bytes(), "meeting-slip.pdf"), "description": "Meeting slip"},
    )
    assert response.status_code == 302
    made = Attachment.objects.get()
    assert made.content_type == "image/png"
    assert made.description == "Meeting slip"


def test_a_refused_upload_says_why_and_saves_nothing(
    clinician_client: Client, patient: Patient, attachments_dir: Path
) -> None:
    response = clinician_client.post(
        chart(patient), {"file": upload(b"just some text\n", "notes.pdf"), "description": ""}
    )
    assert response.status_code == 400
    page = body(response)
    assert "Nothing was added." in page
    assert "Only PDF, JPEG and PNG files can be attached" in page
    response = clinician_client.post(chart(patient), {"file": upload(pdf_bytes(LIMIT + 1))})
    assert response.status_code == 400
    assert "This file is 10.1 MB; the limit is 10 MB." in body(response)
    response = clinician_client.post(chart(patient), {"description": "No file"})
    assert response.status_code == 400
    assert "Choose the file to attach." in body(response)
    assert not Attachment.objects.exists()
    assert not any(p.is_file() for p in attachments_dir.rglob("*"))


def test_the_download_is_audited_and_never_sniffed_or_cached(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    data = png_bytes()
    made = attach(clinician, patient, data)
    response = clinician_client.get(download(made))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/png"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="document-{made.uploaded_at:%Y-%m-%d}.png"' in disposition
    assert "Quintero" not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    event = last_event(section="documents", object_id=str(made.pk))
    assert event.action == AuditEvent.Action.EXPORT
    assert event.patient_id == patient.pk
    assert event.actor == clinician


def test_opening_in_the_browser_is_inline_sandboxed_and_audited_as_a_view(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    made = attach(clinician, patient)
    response = clinician_client.get(download(made) + "?view=1")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert last_event(section="documents", object_id=str(made.pk)).action == "view"


def test_an_outsider_gets_404_alike_for_a_document_and_an_unknown_key(
    clinician: User, other_clinician: User, patient: Patient
) -> None:
    made = attach(clinician, patient)
    outsider = signed_in(other_clinician)
    assert outsider.get(chart(patient)).status_code == 404
    assert outsider.get(download(made)).status_code == 404
    assert outsider.get(remove(made)).status_code == 404
    unknown = reverse(
        "attachments:download", kwargs={"key": "0" * 8 + "-0000-4000-8000-" + "0" * 12}
    )
    assert outsider.get(unknown).status_code == 404
    denied = last_event(action=AuditEvent.Action.DENIED, section="documents")
    assert denied.actor == other_clinician


def test_roles_without_documents_are_refused(
    clinician: User, patient: Patient, make_user: Any, auditor: User
) -> None:
    made = attach(clinician, patient)
    for user in (make_user(Role.BILLING), make_user(Role.ALUMNI_COORDINATOR), auditor):
        client = signed_in(user)
        assert client.get(chart(patient)).status_code == 403
        assert client.get(download(made)).status_code == 403


def test_the_front_desk_sees_only_what_it_added(
    clinician: User, patient: Patient, make_user: Any
) -> None:
    desk = make_user(Role.FRONT_DESK)
    clinical = attach(clinician, patient, description="Psychiatric evaluation")
    theirs = attach(desk, patient, description="Insurance card")
    client = signed_in(desk)
    page = body(client.get(chart(patient)))
    assert "Insurance card" in page
    assert "Psychiatric evaluation" not in page
    assert client.get(download(theirs)).status_code == 200
    assert client.get(download(clinical)).status_code == 404


def test_removing_asks_for_confirmation_and_a_reason(
    clinician_client: Client, clinician: User, patient: Patient
) -> None:
    made = attach(clinician, patient, description="Blurry scan")
    page = clinician_client.get(remove(made))
    assert page.status_code == 200
    assert "Remove “Blurry scan” from the chart?" in body(page)
    assert "kept in storage for the legal record" in body(page)
    refused = clinician_client.post(remove(made), {"reason": ""})
    assert refused.status_code == 400
    assert Attachment.objects.get(pk=made.pk).removed_at is None
    done = clinician_client.post(remove(made), {"reason": "A clearer copy was added"})
    assert done.status_code == 302
    made.refresh_from_db()
    assert made.removed_reason == "A clearer copy was added"
    tab = body(clinician_client.get(chart(patient)))
    assert "Removed from the chart (1)" in tab
    assert clinician_client.get(download(made)).status_code == 404


def test_the_tab_costs_the_same_queries_for_one_or_many_documents(
    clinician: User,
    patient: Patient,
    make_user: Any,
    django_assert_max_num_queries: Any,
) -> None:
    client = signed_in(clinician)
    attach(clinician, patient)
    services.remove(actor=clinician, attachment=attach(clinician, patient), reason="Duplicate")
    client.get(chart(patient))  # warm up the session and the content types
    with django_assert_max_num_queries(100) as few:
        assert client.get(chart(patient)).status_code == 200
    others = [make_user(Role.CLINICAL_DIRECTOR), make_user(Role.ADMISSIONS)]
    for n in range(6):
        attach(clinician, patient)
        attach(others[n % 2], patient)
    for made in list(Attachment.objects.filter(removed_at__isnull=True))[:3]:
        services.remove(actor=clinician, attachment=made, reason="Duplicate")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(chart(patient)).status_code == 200


@pytest.mark.parametrize("role", [Role.ADMISSIONS, Role.ADMINISTRATOR, Role.CLINICAL_DIRECTOR])
def test_facility_roles_see_every_document(
    clinician: User, patient: Patient, make_user: Any, role: str
) -> None:
    made = attach(clinician, patient, description="Court order")
    client = signed_in(make_user(role))
    assert "Court order" in body(client.get(chart(patient)))
    assert client.get(download(made)).status_code == 200
