"""Documents over the REST API: the same rules, scope and audit as the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.attachments import services
from openiop.attachments.models import Attachment
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.attachments.files import LIMIT, pdf_bytes, png_bytes, upload
from tests.conftest import api_signed_in, as_json, last_event

API = "/api/v1/attachments/"


def test_a_document_is_uploaded_listed_read_downloaded_and_removed(
    clinician: User, patient: Patient
) -> None:
    client = api_signed_in(clinician)
    data = png_bytes()
    made = client.post(
        API,
        {"patient": patient.pk, "file": upload(data, "slip.pdf"), "description": "Meeting slip"},
        format="multipart",
    )
    assert made.status_code == 201, made.content
    row = as_json(made)
    assert row["content_type"] == "image/png"
    assert row["size"] == len(data)
    assert row["removed"] is False
    key = row["key"]
    listed = client.get(API, {"patient": patient.pk})
    assert listed.status_code == 200
    assert [r["key"] for r in as_json(listed)["results"]] == [key]
    assert last_event(action="view", section="documents (API)").patient_id == patient.pk
    read = client.get(f"{API}{key}/")
    assert read.status_code == 200 and as_json(read)["description"] == "Meeting slip"
    file = client.get(f"{API}{key}/file/", HTTP_ACCEPT="image/png")
    assert file.status_code == 200
    assert b"".join(file.streaming_content) == data  # type: ignore[attr-defined]
    assert file["X-Content-Type-Options"] == "nosniff"
    assert file["Content-Disposition"].startswith("attachment;")
    assert last_event(section="documents (API)", object_id=str(row_pk(key))).action == "export"
    removed = client.post(f"{API}{key}/remove/", {"reason": "Wrong chart"}, format="json")
    assert removed.status_code == 200 and as_json(removed)["removed"] is True
    assert client.get(f"{API}{key}/file/").status_code == 404
    assert as_json(client.get(API, {"patient": patient.pk}))["results"] == []
    gone = as_json(client.get(API, {"patient": str(patient.pk), "removed": "true"}))["results"]
    assert [r["removed_reason"] for r in gone] == ["Wrong chart"]


def row_pk(key: str) -> int:
    return Attachment.objects.get(key=key).pk


def test_bad_files_answer_400_with_the_field_and_save_nothing(
    clinician: User, patient: Patient, attachments_dir: Path
) -> None:
    client = api_signed_in(clinician)
    text = client.post(
        API, {"patient": patient.pk, "file": upload(b"plain text", "x.pdf")}, format="multipart"
    )
    assert text.status_code == 400
    assert "Only PDF, JPEG and PNG" in as_json(text)["file"][0]
    big = client.post(
        API, {"patient": patient.pk, "file": upload(pdf_bytes(LIMIT + 1))}, format="multipart"
    )
    assert big.status_code == 400
    assert as_json(big)["file"][0].startswith("This file is 10.1 MB; the limit is 10 MB.")
    missing = client.post(API, {"patient": patient.pk}, format="multipart")
    assert missing.status_code == 400 and "file" in as_json(missing)
    reasonless = client.post(
        f"{API}{attach(clinician, patient).key}/remove/", {"reason": ""}, format="json"
    )
    assert reasonless.status_code == 400 and "reason" in as_json(reasonless)
    assert Attachment.objects.count() == 1  # only the one made directly above
    assert len([p for p in attachments_dir.rglob("*") if p.is_file()]) == 1


def attach(actor: User, patient: Patient) -> Attachment:
    return services.attach(actor=actor, patient=patient, upload=upload(pdf_bytes()))


def test_out_of_scope_and_unknown_answer_404_alike(
    clinician: User, other_clinician: User, patient: Patient, outside_patient: Patient
) -> None:
    made = attach(clinician, patient)
    outsider = api_signed_in(other_clinician)
    assert outsider.get(API, {"patient": patient.pk}).status_code == 404
    assert outsider.get(f"{API}{made.key}/").status_code == 404
    assert outsider.get(f"{API}{made.key}/file/").status_code == 404
    assert outsider.post(f"{API}{made.key}/remove/", {"reason": "x y z"}).status_code == 404
    assert outsider.get(f"{API}00000000-0000-4000-8000-000000000000/").status_code == 404
    up = outsider.post(
        API, {"patient": patient.pk, "file": upload(pdf_bytes())}, format="multipart"
    )
    assert up.status_code == 404
    assert Attachment.objects.count() == 1
    assert last_event(action=AuditEvent.Action.DENIED).actor == other_clinician


def test_roles_without_documents_get_403(clinician: User, patient: Patient, make_user: Any) -> None:
    made = attach(clinician, patient)
    billing = api_signed_in(make_user(Role.BILLING))
    assert billing.get(API, {"patient": patient.pk}).status_code == 403
    assert billing.get(f"{API}{made.key}/file/").status_code == 403
    assert (
        billing.post(
            API, {"patient": patient.pk, "file": upload(pdf_bytes())}, format="multipart"
        ).status_code
        == 403
    )


def test_a_list_needs_the_patient(clinician: User) -> None:
    response = api_signed_in(clinician).get(API)
    assert response.status_code == 400 and "patient" in as_json(response)


def test_the_schema_lists_the_documents_resource(clinician: User) -> None:
    schema = api_signed_in(clinician).get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = as_json(schema)["paths"]
    assert "/api/v1/attachments/" in paths
    assert "/api/v1/attachments/{key}/file/" in paths
    assert "/api/v1/attachments/{key}/remove/" in paths
