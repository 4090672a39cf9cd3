"""Every write of recovery tracking (SPEC §8): prescriptions, drug tests and their orders
and collections, the clinical response to a result, mutual-help meetings, relapse events
and the sobriety date.

Each function checks the permission and the facility, validates everything before it
writes anything (a bad result refuses the whole test), writes in one transaction and
leaves an audit record; an unexpected positive raises a clinical alert for the patient's
primary clinician, which asks for the clinical response. Recording the response
acknowledges that alert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from openiop.accounts.models import User
from openiop.admissions.models import EpisodeOfCare
from openiop.admissions.selectors import episode_on
from openiop.attachments.models import Attachment
from openiop.attachments.services import attach
from openiop.audit.models import AuditEvent
from openiop.audit.services import plain, record
from openiop.patients.alerts import acknowledge_alert, raise_alert
from openiop.patients.models import ClinicalAlert, Patient, SupportContact
from openiop.patients.selectors import visible_patients
from openiop.recovery import rules
from openiop.recovery.models import (
    ClinicalResponse,
    Collection,
    DrugTest,
    DrugTestOrder,
    DrugTestResult,
    Meeting,
    Prescription,
    RelapseEvent,
    SobrietyDate,
)

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
    _fulfil(actor=actor, test=test, day=day)
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


def _today(patient: Patient) -> dt.date:
    return timezone.localdate(timezone=patient.facility.zone)


def _fulfil(*, actor: User, test: DrugTest, day: dt.date) -> list[Collection]:
    """A test collected on a due day of an order fulfils that day (once per order)."""
    orders = (
        DrugTestOrder.objects.select_related("episode")
        .filter(patient_id=test.patient_id, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .exclude(collections__due_date=day)
    )
    made = [
        Collection.objects.create(
            order=order,
            patient_id=test.patient_id,
            due_date=day,
            status=Collection.Status.COLLECTED,
            test=test,
            recorded_by=actor,
        )
        for order in orders
        if rules.is_due(order.spec(), day)
    ]
    for collection in made:
        record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            patient=test.patient,
            obj=collection,
            section="drug-test collection",
            changes={"status": [None, collection.status], "due_date": [None, plain(day)]},
            detail={"order": collection.order_id, "test": test.pk},
        )
    return made


# --- orders ------------------------------------------------------------------------------------


@transaction.atomic
def order_drug_tests(
    *,
    actor: User,
    episode: EpisodeOfCare,
    specimen: str,
    observed: bool,
    panel: str,
    substances: Iterable[str] = (),
    frequency: str,
    weekdays: Iterable[int],
    per_week: int | None = None,
    start_date: dt.date | None,
    end_date: dt.date | None = None,
    reason: str = "",
) -> DrugTestOrder:
    """A drug-test order for the episode: fixed weekdays, or ``per_week`` random days among
    ``weekdays`` (the days the program runs), from ``start_date`` to ``end_date``."""
    patient = episode.patient
    _allowed(actor, "recovery.add_order", patient)
    days = tuple(sorted(set(weekdays)))
    errors = rules.order_errors(
        specimen=specimen,
        panel=panel,
        substances=substances,
        frequency=frequency,
        weekdays=days,
        per_week=per_week,
        start=start_date,
        end=end_date,
    )
    if episode.discharge_date is not None:
        errors["start_date"] = "The patient has been discharged: there is nothing to order."
    elif start_date is not None and start_date < episode.admission_date:
        errors["start_date"] = (
            f"The order cannot start before the admission ({episode.admission_date:%m/%d/%Y})."
        )
    if errors:
        raise ValidationError(errors)
    assert start_date is not None  # noqa: S101 - checked above
    order = DrugTestOrder.objects.create(
        patient=patient,
        episode=episode,
        facility=episode.facility,
        specimen=specimen,
        observed=observed,
        panel=panel,
        substances=list(rules.panel_substances(panel, substances)),
        frequency=frequency,
        weekdays=",".join(str(d) for d in days),
        per_week=per_week if frequency == rules.Frequency.RANDOM else None,
        start_date=start_date,
        end_date=end_date,
        reason=reason.strip()[:300],
        ordered_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=order,
        section="drug-test order",
        changes={
            "specimen": [None, specimen],
            "substances": [None, order.substances],
            "frequency": [None, frequency],
            "weekdays": [None, order.weekdays],
            "per_week": [None, order.per_week],
            "start_date": [None, plain(start_date)],
            "end_date": [None, plain(end_date)],
        },
    )
    return order


@transaction.atomic
def stop_order(
    *, actor: User, order: DrugTestOrder, last_day: dt.date | None, reason: str
) -> DrugTestOrder:
    """End an order: no collection is due after ``last_day``."""
    _allowed(actor, "recovery.add_order", order.patient)
    order = DrugTestOrder.objects.select_for_update().get(pk=order.pk)
    errors: dict[str, str] = {}
    if last_day is None:
        errors["last_day"] = "Say the last day of collections."
    elif last_day < order.start_date:
        errors["last_day"] = (
            f"The last day cannot be before the order starts ({order.start_date:%m/%d/%Y})."
        )
    elif order.end_date is not None and last_day > order.end_date:
        errors["last_day"] = f"The order already ends on {order.end_date:%m/%d/%Y}."
    if len(reason.strip()) < 3:
        errors["reason"] = "Say why the order stops."
    if errors:
        raise ValidationError(errors)
    before = order.end_date
    order.end_date = last_day
    order.stopped_by = actor
    order.stopped_at = timezone.now()
    order.stop_reason = reason.strip()[:300]
    order.save(update_fields=["end_date", "stopped_by", "stopped_at", "stop_reason"])
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        patient=order.patient,
        obj=order,
        section="drug-test order",
        changes={"end_date": [plain(before), plain(last_day)]},
        reason=order.stop_reason,
    )
    return order


@transaction.atomic
def mark_not_collected(
    *, actor: User, order: DrugTestOrder, due_date: dt.date | None, status: str, reason: str
) -> Collection:
    """A due day without a specimen: not collected (the patient did not come, no staff…)
    or refused by the patient, with the reason."""
    patient = order.patient
    _allowed(actor, "recovery.add_order", patient)
    errors: dict[str, str] = {}
    if status not in (Collection.Status.NOT_COLLECTED, Collection.Status.REFUSED):
        errors["status"] = "Choose “not collected” or “refused”."
    if len(reason.strip()) < 3:
        errors["reason"] = "Say why, for example “did not attend” or “refused to give a sample”."
    if due_date is None:
        errors["due_date"] = "Say which due day."
    elif due_date > timezone.localdate(timezone=order.facility.zone):
        errors["due_date"] = "That day has not come yet."
    elif not rules.is_due(order.spec(), due_date):
        errors["due_date"] = "No collection was due that day under this order."
    elif Collection.objects.filter(order=order, due_date=due_date).exists():
        errors["due_date"] = "That day is already recorded."
    if errors:
        raise ValidationError(errors)
    assert due_date is not None  # noqa: S101 - checked above
    try:
        with transaction.atomic():
            collection = Collection.objects.create(
                order=order,
                patient=patient,
                due_date=due_date,
                status=status,
                reason=reason.strip()[:300],
                recorded_by=actor,
            )
    except IntegrityError as exc:  # someone recorded the day a moment before
        raise ValidationError({"due_date": "That day is already recorded."}) from exc
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=collection,
        section="drug-test collection",
        changes={"status": [None, status], "due_date": [None, plain(due_date)]},
        reason=collection.reason,
    )
    return collection


# --- the clinical response to a result ---------------------------------------------------------


@transaction.atomic
def record_response(
    *, actor: User, test: DrugTest, actions: Sequence[str], note: str = ""
) -> ClinicalResponse:
    """What the clinician did about the test's result, who and when. It acknowledges the
    alert the test raised, if it is still open, with the response as the action taken."""
    patient = test.patient
    _allowed(actor, "recovery.add_response", patient)
    errors = rules.response_errors(actions, note)
    if ClinicalResponse.objects.filter(test=test).exists():
        errors["actions"] = "A clinical response is already recorded for this test."
    if errors:
        raise ValidationError(errors)
    chosen = [a for a in rules.RESPONSE_LABELS if a in set(actions)]
    response = ClinicalResponse.objects.create(
        test=test, patient=patient, actions=chosen, note=note.strip(), responded_by=actor
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=response,
        section="drug-test response",
        changes={"actions": [None, chosen], "note": [None, response.note]},
        detail={"test": test.pk},
    )
    summary = f"Clinical response: {response.actions_text}."
    if response.note:
        summary = f"{summary} {response.note}"
    for alert in ClinicalAlert.objects.filter(
        patient=patient,
        source_type=ALERT_SOURCE,
        source_id=str(test.pk),
        acknowledged_at__isnull=True,
    ):
        acknowledge_alert(actor=actor, alert=alert, action_taken=summary)
    return response


# --- mutual-help meetings ----------------------------------------------------------------------


@transaction.atomic
def add_meeting(
    *,
    actor: User,
    episode: EpisodeOfCare,
    date: dt.date | None,
    fellowship: str,
    setting: str,
    minutes: int | None,
    verification: str,
    fellowship_other: str = "",
    name: str = "",
    place: str = "",
    sponsor_contact: SupportContact | None = None,
    sponsor_name: str = "",
    slip: Attachment | None = None,
    slip_upload: Any = None,
    note: str = "",
) -> Meeting:
    """A mutual-help meeting the patient attended during the episode; staff verification
    names the recorder. The slip is one of the patient's documents (``slip``) or a file
    uploaded now (``slip_upload``, stored through attachments.services.attach and linked to
    the meeting); a refused file saves no meeting."""
    patient = episode.patient
    _allowed(actor, "recovery.add_meeting", patient)
    errors = rules.meeting_errors(
        date=date,
        today=_today(patient),
        admitted=episode.admission_date,
        discharged=episode.discharge_date,
        fellowship=fellowship,
        fellowship_other=fellowship_other,
        setting=setting,
        minutes=minutes,
        verification=verification,
        has_slip=slip is not None or slip_upload is not None,
    )
    if slip is not None and slip_upload is not None:
        errors["slip"] = "Choose an uploaded document or upload a new one, not both."
    if slip is not None and (slip.patient_id != patient.pk or slip.removed_at is not None):
        errors["slip"] = "Choose one of this patient's uploaded documents."
    if sponsor_contact is not None and (
        sponsor_contact.patient_id != patient.pk or not sponsor_contact.is_sponsor
    ):
        errors["sponsor_contact"] = "Choose the patient's sponsor from their support contacts."
    if errors:
        raise ValidationError(errors)
    assert date is not None and minutes is not None  # noqa: S101 - checked above
    meeting = Meeting.objects.create(
        patient=patient,
        episode=episode,
        facility=episode.facility,
        date=date,
        week_start=date - dt.timedelta(days=date.weekday()),
        fellowship=fellowship,
        fellowship_other=fellowship_other.strip()[:120] if fellowship == "other" else "",
        name=name.strip()[:120],
        setting=setting,
        place=place.strip()[:120],
        minutes=minutes,
        verification=verification,
        verified_by=actor if verification == "staff" else None,
        sponsor_contact=sponsor_contact,
        sponsor_name=(sponsor_contact.name if sponsor_contact else sponsor_name.strip())[:120],
        slip=slip,
        note=note.strip()[:300],
        recorded_by=actor,
    )
    if slip_upload is not None:
        try:
            meeting.slip = attach(
                actor=actor,
                patient=patient,
                upload=slip_upload,
                description=f"Meeting slip {date:%m/%d/%Y}",
                about=meeting,
            )
        except ValidationError as error:
            problems = error.message_dict if hasattr(error, "error_dict") else {}
            raise ValidationError(
                {"slip_upload": " ".join(m for ms in problems.values() for m in ms)}
                if problems
                else {"slip_upload": error.messages}
            ) from error
        meeting.save(update_fields=["slip"])
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=meeting,
        section="mutual-help meeting",
        changes={
            "date": [None, plain(date)],
            "fellowship": [None, fellowship],
            "minutes": [None, minutes],
            "verification": [None, verification],
        },
    )
    return meeting


# --- relapse events and the sobriety date ------------------------------------------------------


def current_sobriety(patient: Patient) -> SobrietyDate | None:
    return SobrietyDate.objects.filter(patient=patient).order_by("-set_at", "-id").first()


@transaction.atomic
def set_sobriety_date(
    *,
    actor: User,
    patient: Patient,
    sobriety_date: dt.date | None,
    reason_text: str = "",
    relapse: RelapseEvent | None = None,
) -> SobrietyDate:
    """A new sobriety date; the earlier ones stay as history. Changing an existing date
    needs a reason (a relapse gives its own)."""
    _allowed(actor, "recovery.change_sobriety", patient)
    # One change at a time per patient: the patient row is the lock.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    current = current_sobriety(patient)
    errors: dict[str, str] = {}
    problem = rules.sobriety_date_error(sobriety_date, _today(patient))
    if problem:
        errors["sobriety_date"] = problem
    elif relapse is not None and sobriety_date is not None and sobriety_date <= relapse.date:
        errors["sobriety_date"] = (
            f"The new sobriety date must be after the relapse ({relapse.date:%m/%d/%Y})."
        )
    if current is not None and relapse is None and len(reason_text.strip()) < 3:
        errors["reason_text"] = "Say why the sobriety date changes."
    if errors:
        raise ValidationError(errors)
    assert sobriety_date is not None  # noqa: S101 - checked above
    if relapse is not None:
        reason = SobrietyDate.Reason.RELAPSE
        text = reason_text.strip() or f"Relapse on {relapse.date:%m/%d/%Y}."
    elif current is None:
        reason, text = SobrietyDate.Reason.FIRST, reason_text.strip()
    else:
        reason, text = SobrietyDate.Reason.CORRECTION, reason_text.strip()
    row = SobrietyDate.objects.create(
        patient=patient,
        sobriety_date=sobriety_date,
        previous_date=current.sobriety_date if current else None,
        reason=reason,
        reason_text=text[:300],
        relapse=relapse,
        set_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE if current is None else AuditEvent.Action.UPDATE,
        patient=patient,
        obj=row,
        section="sobriety date",
        changes={"sobriety_date": [plain(current and current.sobriety_date), plain(sobriety_date)]},
        reason=row.reason_text,
    )
    return row


@transaction.atomic
def record_relapse(
    *,
    actor: User,
    patient: Patient,
    date: dt.date | None,
    substances: Sequence[str],
    came_to_light: str,
    substances_other: str = "",
    circumstances: str = "",
    triggers: str = "",
    drug_test: DrugTest | None = None,
    responses: Sequence[str] = (),
    response_other: str = "",
    reset_sobriety: bool = True,
    new_sobriety_date: dt.date | None = None,
) -> RelapseEvent:
    """A relapse event; with ``reset_sobriety`` the sobriety date starts again the day after
    (or on ``new_sobriety_date``), and the previous date stays in the history."""
    _allowed(actor, "recovery.add_relapse", patient)
    today = _today(patient)
    errors = rules.relapse_errors(
        date=date,
        today=today,
        substances=substances,
        substances_other=substances_other,
        came_to_light=came_to_light,
        has_test=drug_test is not None,
        responses=responses,
        response_other=response_other,
    )
    if drug_test is not None and drug_test.patient_id != patient.pk:
        errors["drug_test"] = "Choose one of this patient's drug tests."
    if reset_sobriety and date is not None and "date" not in errors:
        wanted = new_sobriety_date or rules.sobriety_after_relapse(date)
        problem = rules.sobriety_date_error(wanted, today)
        if problem:
            errors["new_sobriety_date"] = problem
        elif wanted <= date:
            errors["new_sobriety_date"] = "The new sobriety date must be after the day of use."
    if errors:
        raise ValidationError(errors)
    assert date is not None  # noqa: S101 - checked above
    named = set(substances)
    chosen = set(responses)
    event = RelapseEvent.objects.create(
        patient=patient,
        episode=episode_on(patient, date),
        facility=patient.facility,
        date=date,
        substances=[s for s in rules.RELAPSE_SUBSTANCES if s in named],
        substances_other=substances_other.strip()[:120] if "other" in named else "",
        circumstances=circumstances.strip(),
        triggers=triggers.strip(),
        came_to_light=came_to_light,
        drug_test=drug_test,
        responses=[r for r in rules.RELAPSE_RESPONSES if r in chosen],
        response_other=response_other.strip()[:300] if "other" in chosen else "",
        recorded_by=actor,
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=patient,
        obj=event,
        section="relapse event",
        changes={
            "date": [None, plain(date)],
            "substances": [None, event.substances],
            "came_to_light": [None, came_to_light],
            "responses": [None, event.responses],
        },
        detail={"drug_test": drug_test.pk} if drug_test else None,
    )
    if reset_sobriety:
        set_sobriety_date(
            actor=actor,
            patient=patient,
            sobriety_date=new_sobriety_date or rules.sobriety_after_relapse(date),
            relapse=event,
        )
    return event


# --- laboratory results imported from a file ---------------------------------------------------


@dataclass(frozen=True)
class ImportedTest:
    """One specimen of a laboratory file, checked: its episode, when, and the results."""

    episode: EpisodeOfCare
    specimen: str
    observed: bool
    collected_at: dt.datetime
    results: Mapping[str, str]
    note: str = ""
    lines: tuple[int, ...] = ()


@transaction.atomic
def import_lab_results(*, actor: User, tests: Sequence[ImportedTest]) -> list[DrugTest]:
    """Every test of the file or none: each goes through record_drug_test (source "csv"),
    and the first refusal undoes them all, naming the file's lines."""
    if not actor.can("recovery.import_results"):
        raise PermissionDenied(REFUSED)
    made: list[DrugTest] = []
    for item in tests:
        try:
            made.append(
                record_drug_test(
                    actor=actor,
                    episode=item.episode,
                    specimen=item.specimen,
                    observed=item.observed,
                    collected_at=item.collected_at,
                    collected_by=actor,
                    results=item.results,
                    note=item.note,
                    source=DrugTest.Source.CSV,
                )
            )
        except ValidationError as error:
            where = ", ".join(str(n) for n in item.lines)
            raise ValidationError(f"Line(s) {where}: {' '.join(error.messages)}") from error
    return made
