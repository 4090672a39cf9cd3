"""Attaching and removing documents through the services: the content decides the type,
nothing is left behind by a refusal, the file sits in private storage only."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.attachments import selectors, services, storage
from openiop.attachments.models import Attachment
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from tests.attachments.files import LIMIT, jpeg_bytes, pdf_bytes, png_bytes, upload
from tests.conftest import last_event
from tests.factories import SupportContactFactory


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_png_bytes_named_pdf_are_stored_as_the_png_they_are(
    clinician: User, patient: Patient, attachments_dir: Path
) -> None:
    data = png_bytes()
    made = services.attach(
        actor=clinician,
        patient=patient,
        upload=upload(data, "Dana Quintero intake.pdf", "application/pdf"),
        description="Photo of the signed release",
    )
    assert made.content_type == "image/png"
    assert made.size == len(data)
    assert made.sha256 == hashlib.sha256(data).hexdigest()
    assert made.original_name == "Dana Quintero intake.pdf"
    path = storage.path_of(made.storage_name)
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # A random name: nothing of the patient or the original name in the path.
    assert path.is_relative_to(attachments_dir)
    for word in ("Dana", "Quintero", "intake", ".pdf", patient.mrn):
        assert word not in str(path.relative_to(attachments_dir))
    assert [p.name for p in stored_files(attachments_dir)] == [path.name]  # no temporary left
    event = last_event(action=AuditEvent.Action.CREATE, section="documents")
    assert event.patient_id == patient.pk
    assert event.object_id == str(made.pk)
    assert event.changes["sha256"] == [None, made.sha256]


def test_a_jpeg_named_png_is_stored_as_jpeg(clinician: User, patient: Patient) -> None:
    made = services.attach(actor=clinician, patient=patient, upload=upload(jpeg_bytes(), "x.png"))
    assert made.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"Dear counselor, this is plain text.\n", "x.pdf", "Only PDF, JPEG and PNG"),
        (b"<html><script>alert(1)</script></html>", "scan.png", "Only PDF, JPEG and PNG"),
        (b"GIF89a" + b"\x00" * 40, "scan.jpg", "Only PDF, JPEG and PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"not really a png", "scan.png", "This image cannot be read"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "scan.jpg", "This image cannot be read"),
        (b"", "empty.pdf", "This file is empty"),
    ],
)
def test_a_file_of_another_type_is_refused_and_nothing_is_saved(
    clinician: User, patient: Patient, attachments_dir: Path, data: bytes, name: str, says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.attach(actor=clinician, patient=patient, upload=upload(data, name))
    assert says in refused.value.message_dict["file"][0]
    assert not Attachment.objects.exists()
    assert stored_files(attachments_dir) == []
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, section="documents")


def test_ten_mb_exactly_is_accepted(clinician: User, patient: Patient) -> None:
    made = services.attach(actor=clinician, patient=patient, upload=upload(pdf_bytes(LIMIT)))
    assert made.size == LIMIT
    assert made.content_type == "application/pdf"
    assert storage.path_of(made.storage_name).stat().st_size == LIMIT


def test_one_byte_over_ten_mb_is_refused_with_the_limit_named(
    clinician: User, patient: Patient, attachments_dir: Path
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.attach(actor=clinician, patient=patient, upload=upload(pdf_bytes(LIMIT + 1)))
    assert refused.value.message_dict["file"][0].startswith(
        "This file is 10.1 MB; the limit is 10 MB."
    )
    assert not Attachment.objects.exists()
    assert stored_files(attachments_dir) == []


def test_the_limit_is_a_setting(clinician: User, patient: Patient, settings: Any) -> None:
    settings.OPENIOP_ATTACHMENTS_MAX_MB = 1
    with pytest.raises(ValidationError) as refused:
        services.attach(actor=clinician, patient=patient, upload=upload(pdf_bytes(2 * 1024**2)))
    assert "the limit is 1 MB" in refused.value.message_dict["file"][0]


def test_a_database_refusal_leaves_no_file(
    clinician: User, patient: Patient, attachments_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(RuntimeError):
        services.attach(actor=clinician, patient=patient, upload=upload(pdf_bytes()))
    assert stored_files(attachments_dir) == []
    assert not Attachment.objects.exists()


def test_roles_and_scope_are_checked_before_anything_is_read(
    clinician: User,
    other_clinician: User,
    patient: Patient,
    make_user: Any,
    attachments_dir: Path,
) -> None:
    billing = make_user(Role.BILLING)
    with pytest.raises(PermissionDenied):
        services.attach(actor=billing, patient=patient, upload=upload(pdf_bytes()))
    with pytest.raises(PermissionDenied):
        services.attach(actor=other_clinician, patient=patient, upload=upload(pdf_bytes()))
    assert not Attachment.objects.exists()
    assert stored_files(attachments_dir) == []
    # The roles that register patients add documents too.
    desk = make_user(Role.FRONT_DESK)
    assert services.attach(actor=desk, patient=patient, upload=upload(pdf_bytes())).pk


def test_about_must_be_a_record_of_the_same_patient(
    clinician: User, patient: Patient, unassigned_patient: Patient
) -> None:
    for other in (unassigned_patient, SupportContactFactory.create(patient=unassigned_patient)):
        with pytest.raises(ValidationError) as refused:
            services.attach(
                actor=clinician, patient=patient, upload=upload(pdf_bytes()), about=other
            )
        assert "another patient" in refused.value.message_dict["about"][0]
    contact = SupportContactFactory.create(patient=patient)
    made = services.attach(
        actor=clinician, patient=patient, upload=upload(pdf_bytes()), about=contact
    )
    assert made.about_type is not None and made.about_id == str(contact.pk)
    assert list(selectors.attachments_about(clinician, contact)) == [made]


def test_removing_keeps_the_file_and_records_who_and_why(clinician: User, patient: Patient) -> None:
    made = services.attach(actor=clinician, patient=patient, upload=upload(pdf_bytes()))
    with pytest.raises(ValidationError) as refused:
        services.remove(actor=clinician, attachment=made, reason=" ")
    assert "reason" in refused.value.message_dict
    services.remove(actor=clinician, attachment=made, reason="Scanned into the wrong chart")
    made.refresh_from_db()
    assert made.removed_at is not None and made.removed_by == clinician
    assert made.removed_reason == "Scanned into the wrong chart"
    assert storage.path_of(made.storage_name).exists()  # kept for the legal record
    event = last_event(action=AuditEvent.Action.UPDATE, section="documents")
    assert event.reason == "Scanned into the wrong chart"
    assert event.patient_id == patient.pk
    with pytest.raises(ValidationError):
        services.remove(actor=clinician, attachment=made, reason="Again")


def test_the_front_desk_removes_only_what_it_added(
    clinician: User, patient: Patient, make_user: Any
) -> None:
    desk = make_user(Role.FRONT_DESK)
    theirs = services.attach(actor=desk, patient=patient, upload=upload(pdf_bytes()))
    clinical = services.attach(actor=clinician, patient=patient, upload=upload(pdf_bytes()))
    with pytest.raises(PermissionDenied):
        services.remove(actor=desk, attachment=clinical, reason="Not mine")
    services.remove(actor=desk, attachment=theirs, reason="Wrong chart")
    assert Attachment.objects.get(pk=theirs.pk).removed_at is not None


def test_the_storage_folder_is_outside_the_web_root(settings: Any) -> None:
    settings.OPENIOP_ATTACHMENTS_DIR = None  # the default
    where = storage.root()
    assert where == Path(settings.BASE_DIR) / "var" / "attachments"
    assert not storage.is_inside(where, Path(settings.STATIC_ROOT))
    for folder in storage.public_folders():
        assert not storage.is_inside(where, folder)
    assert not storage.is_inside(where, Path(settings.BASE_DIR) / "openiop" / "static")
    if getattr(settings, "MEDIA_ROOT", ""):
        assert not storage.is_inside(where, Path(settings.MEDIA_ROOT))


def test_start_up_refuses_a_storage_folder_inside_static_files(settings: Any) -> None:
    settings.OPENIOP_ATTACHMENTS_DIR = Path(settings.STATIC_ROOT) / "attachments"
    with pytest.raises(SystemCheckError, match=r"attachments\.E001"):
        call_command("check")
    settings.OPENIOP_ATTACHMENTS_DIR = Path(settings.BASE_DIR) / "openiop" / "static" / "docs"
    with pytest.raises(SystemCheckError, match=r"attachments\.E001"):
        call_command("check")


def test_storage_names_cannot_walk_out_of_the_folder() -> None:
    for bad in ("../secret", "ab/../../x", "/etc/passwd", "ab/" + "g" * 32):
        with pytest.raises(ValueError):
            storage.path_of(bad)
    assert settings.BASE_DIR  # settings loaded
