"""Mutual-help meetings: refused in the future and before the admission, a slip from the
patient's own documents, a sponsor from their support system; counted per ISO week by
the database against the plan's meetings per week, beside the dose."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.attachments.models import Attachment
from openiop.plans.models import PlanVersion
from openiop.recovery import rules, selectors
from openiop.recovery.models import Meeting
from openiop.scheduling.models import DoseDay
from tests.attachments.files import pdf_bytes
from tests.conftest import body, signed_in
from tests.factories import PatientFactory, SupportContactFactory
from tests.plans.factories import active_plan
from tests.recovery.factories import a_meeting, in_care, today_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return in_care(facility, clinician)


def attachment(patient: Any, user: User, **kwargs: Any) -> Attachment:
    values: dict[str, Any] = {
        "patient": patient,
        "content_type": "application/pdf",
        "size": 1000,
        "sha256": "0" * 64,
        "original_name": "slip.pdf",
        "storage_name": f"x-{patient.pk}-{Attachment.objects.count()}",
        "uploaded_by": user,
    }
    values.update(kwargs)
    return Attachment.objects.create(**values)


@pytest.mark.parametrize(
    ("minutes", "ok"), [(14, False), (15, True), (300, True), (301, False), (None, False)]
)
def test_the_length_is_checked_at_its_boundaries(minutes: int | None, ok: bool) -> None:
    errors = rules.meeting_errors(
        date=dt.date(2026, 3, 4),
        today=dt.date(2026, 3, 4),
        admitted=dt.date(2026, 3, 4),
        discharged=None,
        fellowship="na",
        fellowship_other="",
        setting="online",
        minutes=minutes,
        verification="self",
        has_slip=False,
    )
    assert ("minutes" not in errors) is ok
    assert set(errors) <= {"minutes"}  # today and the admission day both count


def test_a_meeting_is_recorded_with_its_week_and_verifier(
    clinician: User, ep: EpisodeOfCare
) -> None:
    made = a_meeting(clinician, ep, verification="staff", name="Big Book study", fellowship="na")
    today = today_of(ep)
    assert made.week_start == today - dt.timedelta(days=today.weekday())
    assert made.verified_by == clinician
    assert str(made) == f"Narcotics Anonymous (NA) meeting {today:%m/%d/%Y}"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"date": "tomorrow"}, "date", "cannot be in the future"),
        ({"date": dt.date(2026, 1, 4)}, "date", "before the admission"),
        ({"fellowship": "other"}, "fellowship_other", "name of the fellowship"),
        ({"verification": "slip"}, "slip", "Choose the slip from the documents or upload it"),
        ({"setting": "moon"}, "setting", "where the meeting was"),
    ],
)
def test_bad_meetings_are_refused_and_nothing_saved(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, Any], field: str, words: str
) -> None:
    if changes.get("date") == "tomorrow":
        changes["date"] = today_of(ep) + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        a_meeting(clinician, ep, **changes)
    assert words in " ".join(caught.value.message_dict[field])
    assert not Meeting.objects.exists()


def test_a_slip_and_a_sponsor_must_be_the_patients_own(
    clinician: User, ep: EpisodeOfCare, facility: Facility
) -> None:
    stranger = PatientFactory.create(facility=facility)
    with pytest.raises(ValidationError) as caught:
        a_meeting(
            clinician,
            ep,
            verification="slip",
            slip=attachment(stranger, clinician),
            sponsor_contact=SupportContactFactory.create(patient=stranger, is_sponsor=True),
        )
    assert set(caught.value.message_dict) == {"slip", "sponsor_contact"}
    slip = attachment(ep.patient, clinician)
    sponsor = SupportContactFactory.create(patient=ep.patient, is_sponsor=True, name="Sam Lee")
    made = a_meeting(clinician, ep, verification="slip", slip=slip, sponsor_contact=sponsor)
    assert (made.slip, made.sponsor_label) == (slip, "Sam Lee")
    removed = attachment(ep.patient, clinician, removed_at=timezone.now())
    with pytest.raises(ValidationError):
        a_meeting(clinician, ep, verification="slip", slip=removed)


def test_weeks_count_meetings_against_the_plan_beside_the_dose(
    clinician: User, ep: EpisodeOfCare
) -> None:
    today = today_of(ep)
    monday = today - dt.timedelta(days=today.weekday())
    last_week = monday - dt.timedelta(days=7)
    for day in (last_week, last_week + dt.timedelta(days=2)):
        a_meeting(clinician, ep, date=day, verification="staff")
    a_meeting(clinician, ep, date=last_week + dt.timedelta(days=4))
    a_meeting(clinician, ep, date=today)
    DoseDay.objects.create(
        episode=ep,
        patient=ep.patient,
        facility=ep.facility,
        date=last_week,
        week_start=last_week,
        minutes=540,
    )
    weeks = selectors.meeting_weeks(ep, today)
    assert [w.monday for w in weeks[:2]] == [monday, last_week]
    this, before = weeks[0], weeks[1]
    # No active plan yet: the program's default (2 a week).
    assert (this.attended, this.required, this.required_from, this.status) == (
        1,
        2,
        "program",
        "short",
    )
    assert (before.attended, before.verified, before.minutes, before.status) == (3, 2, 180, "met")
    assert (before.dose.minutes, this.dose.minutes) == (540, 0)

    version = active_plan(clinician, ep)
    PlanVersion.objects.filter(pk=version.pk).update(
        meetings_per_week=4,
        activated_at=dt.datetime.combine(monday, dt.time(12), tzinfo=ep.facility.zone),
    )
    weeks = selectors.meeting_weeks(ep, today)
    assert (weeks[0].required, weeks[0].required_from) == (4, "plan")
    assert (weeks[1].required, weeks[1].required_from) == (2, "program")  # before the plan


def test_weeks_stop_at_the_admission(clinician: User, ep: EpisodeOfCare) -> None:
    weeks = selectors.meeting_weeks(ep, dt.date(2026, 1, 14))
    assert [w.monday for w in weeks] == [dt.date(2026, 1, 12), dt.date(2026, 1, 5)]


def test_meeting_week_rule_is_inclusive() -> None:
    assert rules.meeting_week(2, 2) == rules.MeetingWeek.MET
    assert rules.meeting_week(1, 2) == rules.MeetingWeek.SHORT
    assert rules.meeting_week(0, 0) == rules.MeetingWeek.NONE_REQUIRED


def test_a_slip_uploaded_with_the_meeting_goes_into_the_chart_documents(
    clinician: User, ep: EpisodeOfCare, settings: Any, tmp_path: Path
) -> None:
    settings.OPENIOP_ATTACHMENTS_DIR = tmp_path / "attachments"
    client = signed_in(clinician)
    data: dict[str, Any] = {
        "date": today_of(ep).isoformat(),
        "fellowship": "aa",
        "setting": "church",
        "minutes": "60",
        "verification": "slip",
        "slip_upload": SimpleUploadedFile("slip.txt", b"not a pdf at all"),
    }
    refused = client.post(f"/recovery/patients/{ep.patient_id}/meetings/new/", data)
    assert refused.status_code == 200 and "Nothing was saved" in body(refused)
    assert not Meeting.objects.exists() and not Attachment.objects.exists()
    data["slip_upload"] = SimpleUploadedFile("slip.pdf", pdf_bytes(), "application/pdf")
    done = client.post(f"/recovery/patients/{ep.patient_id}/meetings/new/", data)
    assert done.status_code == 302
    meeting = Meeting.objects.get()
    assert meeting.slip is not None and meeting.slip.patient == ep.patient
    assert meeting.slip.about_id == str(meeting.pk)
    assert meeting.slip.description == f"Meeting slip {meeting.date:%m/%d/%Y}"
