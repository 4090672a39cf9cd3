"""Recording drug tests and prescriptions through the services (SPEC §8): readings
against prescriptions, the alert for an unexpected positive, refusals that save nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.notifications.models import Notification
from openiop.patients.models import ClinicalAlert
from openiop.recovery import services
from openiop.recovery.models import DrugTest, DrugTestResult, Prescription
from tests.admissions.factories import program_with_phases
from tests.scheduling.factories import admitted

pytestmark = pytest.mark.django_db

COLLECTED = dt.datetime(2026, 3, 4, 17, 30, tzinfo=dt.UTC)  # 9:30 am in Los Angeles


@pytest.fixture
def ep(facility: Facility, clinician: User) -> EpisodeOfCare:
    return admitted(facility, program_with_phases(facility), clinician)


def drug_test(actor: User, ep: EpisodeOfCare, **kwargs: Any) -> DrugTest:
    values: dict[str, Any] = {
        "specimen": "urine",
        "observed": True,
        "collected_at": COLLECTED,
        "collected_by": actor,
        "results": {"buprenorphine": "positive", "fentanyl": "negative"},
    }
    values.update(kwargs)
    return services.record_drug_test(actor=actor, episode=ep, **values)


def readings(drug_test: DrugTest) -> dict[str, str]:
    return dict(drug_test.results.values_list("substance", "reading"))


def test_a_prescribed_positive_is_expected_and_raises_no_alert(
    clinician: User, ep: EpisodeOfCare
) -> None:
    services.add_prescription(
        actor=clinician,
        patient=ep.patient,
        medication_class="buprenorphine",
        name="buprenorphine/naloxone 8 mg",
        start_date=dt.date(2026, 2, 1),
    )
    made = drug_test(clinician, ep)
    assert readings(made) == {"buprenorphine": "expected", "fentanyl": "negative"}
    assert not ClinicalAlert.objects.exists()
    event = AuditEvent.objects.get(section="drug test")
    assert (event.patient_id, event.action) == (ep.patient_id, AuditEvent.Action.CREATE)
    assert event.detail == {"readings": {"buprenorphine": "expected", "fentanyl": "negative"}}


def test_an_unexpected_positive_alerts_the_primary_clinician(
    clinician: User, ep: EpisodeOfCare
) -> None:
    made = drug_test(clinician, ep, results={"buprenorphine": "positive", "cocaine": "positive"})
    assert readings(made) == {"buprenorphine": "unexpected", "cocaine": "unexpected"}
    [alert] = ClinicalAlert.objects.filter(patient=ep.patient)
    assert alert.kind == ClinicalAlert.Kind.UNEXPECTED_RESULT
    assert alert.message == "Unexpected positive drug test (03/04/2026): Buprenorphine, Cocaine."
    assert "relapse event" in alert.next_step
    assert (alert.source_type, alert.source_id) == (services.ALERT_SOURCE, str(made.pk))
    [notice] = Notification.objects.all()
    assert notice.recipient == clinician
    assert ep.patient.last_name not in notice.message  # MRN only, never the name


def test_a_prescription_that_ended_before_the_collection_explains_nothing(
    clinician: User, ep: EpisodeOfCare
) -> None:
    services.add_prescription(
        actor=clinician,
        patient=ep.patient,
        medication_class="benzodiazepine",
        name="clonazepam 0.5 mg",
        start_date=dt.date(2026, 1, 10),
        end_date=dt.date(2026, 3, 3),  # the day before
    )
    made = drug_test(clinician, ep, results={"benzodiazepines": "positive"})
    assert readings(made) == {"benzodiazepines": "unexpected"}
    assert ClinicalAlert.objects.filter(patient=ep.patient).count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"results": {"bath salts": "positive"}}, "results", "not a substance on the panel"),
        ({"results": {"cocaine": "maybe"}}, "results", "positive, negative, invalid or dilute"),
        ({"specimen": "breath", "results": {"cocaine": "negative"}}, "results", "alcohol only"),
        ({"specimen": "hair"}, "specimen", "urine, oral fluid or breath"),
        ({"results": {}}, "results", "at least one substance"),
        ({"collected_at": None}, "collected_at", "when the specimen was collected"),
        ({"collected_by": None}, "collected_by", "who collected"),
        (
            {"collected_at": timezone.now() + dt.timedelta(hours=1)},
            "collected_at",
            "cannot be in the future",
        ),
        (
            {"collected_at": dt.datetime(2026, 1, 4, 20, 0, tzinfo=dt.UTC)},
            "collected_at",
            "before the admission",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(
    clinician: User, ep: EpisodeOfCare, changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        drug_test(clinician, ep, **changes)
    assert message in " ".join(caught.value.message_dict[field])
    assert not DrugTest.objects.exists() and not DrugTestResult.objects.exists()
    assert not AuditEvent.objects.filter(section="drug test").exists()


def test_a_test_after_the_discharge_is_refused(clinician: User, ep: EpisodeOfCare) -> None:
    EpisodeOfCare.objects.filter(pk=ep.pk).update(discharge_date=dt.date(2026, 3, 3))
    ep.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        drug_test(clinician, ep)
    assert caught.value.message_dict["collected_at"] == [
        "The specimen was collected after the discharge."
    ]
    assert not DrugTest.objects.exists()


def test_one_bad_substance_refuses_the_whole_test(clinician: User, ep: EpisodeOfCare) -> None:
    with pytest.raises(ValidationError) as caught:
        drug_test(clinician, ep, results={"cocaine": "positive", "glue": "positive"})
    assert caught.value.message_dict["results"][0].startswith("glue: ")
    assert not DrugTest.objects.exists()
    assert not ClinicalAlert.objects.exists()  # the cocaine positive was not recorded either


def test_the_front_desk_and_outsiders_cannot_record(
    front_desk: User, other_clinician: User, ep: EpisodeOfCare
) -> None:
    with pytest.raises(PermissionDenied):
        drug_test(front_desk, ep)
    with pytest.raises(PermissionDenied):
        drug_test(other_clinician, ep)
    with pytest.raises(PermissionDenied):
        services.add_prescription(
            actor=other_clinician,
            patient=ep.patient,
            medication_class="methadone",
            name="methadone 60 mg",
            start_date=dt.date(2026, 2, 1),
        )
    assert not DrugTest.objects.exists() and not Prescription.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"medication_class": "opioid"}, "medication_class"),
        ({"name": "  "}, "name"),
        ({"start_date": None}, "start_date"),
        ({"end_date": dt.date(2026, 1, 31)}, "end_date"),
    ],
)
def test_a_prescription_with_bad_input_is_refused(
    clinician: User, ep: EpisodeOfCare, values: dict[str, Any], field: str
) -> None:
    data: dict[str, Any] = {
        "medication_class": "methadone",
        "name": "methadone 60 mg",
        "start_date": dt.date(2026, 2, 1),
        **values,
    }
    with pytest.raises(ValidationError) as caught:
        services.add_prescription(actor=clinician, patient=ep.patient, **data)
    assert list(caught.value.message_dict) == [field]
    assert not Prescription.objects.exists()


def test_the_database_keeps_one_result_per_substance_and_dates_in_order(
    clinician: User, ep: EpisodeOfCare
) -> None:
    made = drug_test(clinician, ep)
    with pytest.raises(IntegrityError), transaction.atomic():
        DrugTestResult.objects.create(
            test=made, substance="fentanyl", result="positive", reading="unexpected"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Prescription.objects.create(
            patient=ep.patient,
            medication_class="methadone",
            name="methadone",
            start_date=dt.date(2026, 2, 2),
            end_date=dt.date(2026, 2, 1),
            recorded_by=clinician,
        )
