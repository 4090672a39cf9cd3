"""Every write of recovery tracking: prescriptions and drug tests (SPEC §8).

Each function checks the permission and the facility, validates everything before it
writes anything (a bad result refuses the whole test), writes in one transaction and
leaves an audit record; an unexpected positive raises a clinical alert for the patient's
primary clinician, which asks for the clinical response.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import plain, record
from openiop.patients.alerts import raise_alert
from openiop.patients.models import ClinicalAlert, Patient
from openiop.patients.selectors import visible_patients
from openiop.recovery import rules
from openiop.recovery.models import DrugTest, DrugTestResult, Prescription

REFUSED = "Only the clinical team records drug tests and prescriptions."
ALERT_SOURCE = "recovery.drugtest"


def _allowed(actor: User, permission: str, patient: Patient) -> None:
    if not actor.can(permission):
        raise PermissionDenied(REFUSED)
    if not visible_patients(actor).filter(pk=patient.pk).exists():
        raise PermissionDenied("This patient is not in your care.")


@transaction.atomic
def add_prescription(
    *,
    actor: User,
    patient: Patient,
    medication_class: str,
    name: str,
    start_date: dt.date | None,
    end_date: dt.date | None = None,
    prescriber: str = "",
) -> Prescription:
    """A prescription that explains a positive result while it is current."""
    _allowed(actor, "recovery.change_prescription", patient)
    errors: dict[str, str] = {}
    if medication_class not in Prescription.MedicationClass.values:
        errors["medication_class"] = "Choose buprenorphine, methadone, benzodiazepine or stimulant."
    if not name.strip():
        errors["name"] = "Write the medication as prescribed."
    if start_date is None:
        errors["start_date"] = "Say from which day it is prescribed."
    elif end_date is not None and end_date < start_date:
        errors["end_date"] = "The last day cannot be before the first day."
    if errors:
        raise ValidationError(errors)
    assert start_date is not None  # noqa: S101 - checked above
    prescription = Prescription.objects.create(
        patient=patient,
        medication_class=medication_class,
        name=name.strip()[:120],
        prescriber=prescriber.strip()[:120],
        start_date=start_date,
        end_date=end_date,
        recorded_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=prescription,
        section="prescription",
        changes={
            "medication_class": [None, medication_class],
            "start_date": [None, plain(start_date)],
            "end_date": [None, plain(end_date)],
        },
    )
    return prescription


@transaction.atomic
def record_drug_test(
    *,
    actor: User,
    episode: EpisodeOfCare,
    specimen: str,
    observed: bool,
    collected_at: dt.datetime | None,
    collected_by: User | None,
    results: Mapping[str, str],
    note: str = "",
    source: str = DrugTest.Source.HAND,
) -> DrugTest:
    """One specimen with a result per substance, each read against the prescriptions
    current on the day it was collected. Any problem refuses the whole test, with the
    substance named; an unexpected positive raises a clinical alert."""
    patient = episode.patient
    _allowed(actor, "recovery.add_drugtest", patient)
    errors: dict[str, str] = {}
    day = collected_at.astimezone(episode.facility.zone).date() if collected_at else None
    if collected_at is None or day is None:
        errors["collected_at"] = "Say when the specimen was collected."
    elif collected_at > timezone.now():
        errors["collected_at"] = "The collection time cannot be in the future."
    elif day < episode.admission_date:
        errors["collected_at"] = "The specimen was collected before the admission."
    elif episode.discharge_date is not None and day > episode.discharge_date:
        errors["collected_at"] = "The specimen was collected after the discharge."
    if collected_by is None:
        errors["collected_by"] = "Say who collected the specimen."
    if not results:
        errors["results"] = "Record at least one substance's result."
    problems = [
        f"{substance}: {problem}"
        for substance, result in sorted(results.items())
        if (problem := rules.result_error(substance, result, specimen))
    ]
    if specimen not in DrugTest.Specimen.values:
        errors["specimen"] = "Choose urine, oral fluid or breath."
    elif problems:
        errors["results"] = " ".join(problems)
    if errors:
        raise ValidationError(errors)
    assert collected_at is not None and day is not None and collected_by is not None  # noqa: S101
    prescribed = [p.as_rule() for p in Prescription.objects.filter(patient=patient)]
    test = DrugTest.objects.create(
        patient=patient,
        episode=episode,
        facility=episode.facility,
        specimen=specimen,
        observed=observed,
        collected_at=collected_at,
        collected_by=collected_by,
        source=source,
        note=note.strip()[:300],
        recorded_by=actor,
    )
    rows = [
        DrugTestResult(
            test=test,
            substance=substance,
            result=result,
            reading=rules.reading(substance, result, prescribed, day),
        )
        for substance, result in sorted(results.items())
    ]
    DrugTestResult.objects.bulk_create(rows)
    readings = {r.substance: r.reading for r in rows}
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=test,
        section="drug test",
        changes={"results": [None, dict(sorted(results.items()))]},
        detail={"readings": readings},
    )
    unexpected = [s for s, r in readings.items() if r == rules.Reading.UNEXPECTED]
    if unexpected:
        names = ", ".join(rules.SUBSTANCES[s] for s in unexpected)
        raise_alert(
            patient=patient,
            kind=ClinicalAlert.Kind.UNEXPECTED_RESULT,
            severity=ClinicalAlert.Severity.URGENT,
            message=f"Unexpected positive drug test ({day:%m/%d/%Y}): {names}.",
            next_step=(
                "Talk with the patient, record the clinical response, and consider recording "
                "a relapse event and reviewing the treatment plan."
            ),
            source_type=ALERT_SOURCE,
            source_id=str(test.pk),
            raised_by=actor,
            recipients=[episode.primary_clinician] if episode.primary_clinician else None,
        )
    return test
