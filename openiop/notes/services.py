"""Every write of clinical documentation: drafts, signatures, addenda, co-signatures, flags.

Each function checks the role and the patient scope, validates everything before writing
(nothing is saved on error), writes in one transaction and leaves an audit record. A
signed document is refused here with a plain message; the database triggers (migration
0002) refuse it again for any other code path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from openiop.accounts.models import Organization, User
from openiop.accounts.services import confirm_identity
from openiop.admissions.selectors import episode_on
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.notes import rules
from openiop.notes.models import (
    Addendum,
    Cosignature,
    GroupNote,
    GroupNoteEntry,
    Note,
    NoteObjective,
    NoteParticipant,
    NoteSettings,
    UnsignedFlag,
)
from openiop.notes.selectors import ATTENDED, active_objectives, settings_for
from openiop.patients.models import Patient, SupportContact
from openiop.patients.selectors import visible_patients
from openiop.plans.models import ObjectiveLink
from openiop.plans.services import link_service
from openiop.scheduling.models import Appointment, Attendance, Session

REFUSED = "Only the clinical team writes clinical notes."
LOCKED = "This note is signed and can no longer be changed. Write an addendum instead."
STALE = "Someone saved this note after you opened it. Reload it and try again."
SECTION_NOTE = "clinical note"
SECTION_GROUP = "group note"


# --- settings ------------------------------------------------------------------------------------


@transaction.atomic
def save_settings(
    *,
    actor: User,
    organization: Organization,
    note_format: str,
    unsigned_after_hours: int,
    late_after_hours: int,
) -> NoteSettings:
    if not actor.can("notes.change_notesettings") or actor.organization_id != organization.pk:
        raise PermissionDenied("Only the clinical director or an administrator sets this.")
    errors: dict[str, str] = {}
    if note_format not in rules.SECTIONS:
        errors["note_format"] = "Choose DAP, BIRP or SOAP."
    for name, value in (
        ("unsigned_after_hours", unsigned_after_hours),
        ("late_after_hours", late_after_hours),
    ):
        if not isinstance(value, int) or not 1 <= value <= 24 * 14:
            errors[name] = "Enter a number of hours from 1 to 336 (two weeks)."
    if errors:
        raise ValidationError(errors)
    found = settings_for(organization.pk)
    before = {
        "note_format": found.note_format,
        "unsigned_after_hours": found.unsigned_after_hours,
        "late_after_hours": found.late_after_hours,
    }
    found.note_format = note_format
    found.unsigned_after_hours = unsigned_after_hours
    found.late_after_hours = late_after_hours
    found.updated_by = actor
    found.save()
    after = {
        "note_format": note_format,
        "unsigned_after_hours": unsigned_after_hours,
        "late_after_hours": late_after_hours,
    }
    record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=found,
        section="note settings",
        changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
    )
    return found


# --- shared checks -------------------------------------------------------------------------------


def _require_writer(actor: User) -> None:
    if not actor.can("notes.add_note"):
        raise PermissionDenied(REFUSED)


def _require_visible(actor: User, patient_ids: Iterable[int]) -> None:
    wanted = set(patient_ids)
    if not wanted:
        return
    seen = set(visible_patients(actor).filter(pk__in=wanted).values_list("pk", flat=True))
    if seen != wanted:
        raise PermissionDenied("This patient is not in your care.")


def _raise(errors: Mapping[str, str]) -> None:
    if errors:
        raise ValidationError(dict(errors))


def _text(value: Any, limit: int = rules.MAX_SECTION_CHARS) -> str:
    return str(value or "").strip()[:limit]


def _active_objectives(patient_ids: Iterable[int]) -> dict[int, int]:
    """Objective id → patient id, for objectives of each patient's active (signed) plan."""
    rows = active_objectives(list(patient_ids)).values_list("pk", "patient_id")  # type: ignore[misc]
    return dict(rows)


def _late(*, organization_id: int | None, ended: dt.datetime, now: dt.datetime) -> tuple[bool, int]:
    hours = settings_for(organization_id).late_after_hours
    return rules.is_late(service_ended=ended, written=now, late_after_hours=hours), hours


def _identity(actor: User, password: str, code: str) -> str:
    return confirm_identity(actor, password=password, code=code)


# --- group notes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryInput:
    participation: str
    response: str
    plan: str
    objective_id: int | None = None
    progress: str = ""


def attendees(session: Session) -> list[Attendance]:
    """Who came to the session (present, late or left early): only they get a group note."""
    return list(
        Attendance.objects.filter(session=session, status__in=ATTENDED)
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "patient_id")
    )


def _entry_errors(
    patient_id: int,
    data: EntryInput,
    objectives: Mapping[int, int],
) -> dict[str, str]:
    errors: dict[str, str] = {}
    prefix = f"entry-{patient_id}-"
    if data.participation not in GroupNoteEntry.Participation.values:
        errors[prefix + "participation"] = "Choose how they took part."
    if not data.response.strip():
        errors[prefix + "response"] = "Write how they responded to the group."
    if not data.plan.strip():
        errors[prefix + "plan"] = "Write the plan for them."
    if data.objective_id is not None and objectives.get(data.objective_id) != patient_id:
        errors[prefix + "objective"] = "Choose an objective from their active treatment plan."
    if data.progress and data.progress not in GroupNoteEntry.Progress.values:
        errors[prefix + "progress"] = "Choose the progress on the objective."
    if data.progress and data.objective_id is None:
        errors[prefix + "progress"] = "Choose the objective this progress is about."
    return errors


@transaction.atomic
def save_group_note(
    *,
    actor: User,
    session: Session,
    topic: str,
    interventions: str,
    process: str,
    entries: Mapping[int, EntryInput],
    late_reason: str = "",
    revision: dt.datetime | None = None,
) -> GroupNote:
    """Write (or rewrite, until signed) a session's group note: the shared part once and one
    entry per attendee. A patient who did not attend gets none (refused, with the name)."""
    _require_writer(actor)
    session = Session.objects.select_for_update().select_related("facility").get(pk=session.pk)
    if not actor.facilities.filter(pk=session.facility_id).exists():
        raise PermissionDenied("This session is not at one of your facilities.")
    existing = GroupNote.objects.filter(session=session).first()
    if existing is not None and existing.is_signed:
        raise ValidationError({"__all__": LOCKED})
    if existing is not None and existing.author_id != actor.pk:
        raise PermissionDenied("Only the note's author changes a draft.")
    if existing is not None and revision is not None and existing.updated_at != revision:
        raise ValidationError({"__all__": STALE})
    came = {a.patient_id: a for a in attendees(session)}
    _require_visible(actor, entries.keys())
    errors: dict[str, str] = {}
    now = timezone.now()
    if session.starts_at > now:
        errors["__all__"] = "This session has not happened yet."
    if not topic.strip():
        errors["topic"] = "Write the session's topic."
    if not interventions.strip():
        errors["interventions"] = "Write the interventions used."
    if not process.strip():
        errors["process"] = "Describe the group process."
    absent = [pid for pid in entries if pid not in came]
    if absent:
        names = Patient.objects.filter(pk__in=absent).order_by("last_name")
        errors["entries"] = (
            "No group note for someone who did not attend: "
            + ", ".join(p.display_name for p in names)
            + ". Record their attendance first if they were there."
        )
    objectives = _active_objectives(entries.keys())
    for patient_id, data in entries.items():
        errors.update(_entry_errors(patient_id, data, objectives))
    late, hours = (
        (existing.late_entry, 0)
        if existing is not None
        else _late(organization_id=session.facility.organization_id, ended=session.ends_at, now=now)
    )
    if late and not (late_reason.strip() or (existing and existing.late_reason)):
        errors["late_reason"] = (
            f"This note is written more than {hours} hours after the session: "
            "say why (it will be marked as a late entry)."
        )
    _raise(errors)
    note = existing or GroupNote(
        session=session,
        facility=session.facility,
        service_date=session.service_date,
        started_at=session.starts_at,
        ended_at=session.ends_at,
        author=actor,
        late_entry=late,
        created_at=now,
    )
    note.topic = _text(topic, 200)
    note.interventions = _text(interventions)
    note.process = _text(process)
    if late_reason.strip():
        note.late_reason = _text(late_reason, 300)
    note.updated_at = now
    note.save()
    kept = {e.patient_id: e for e in note.entries.all()} if existing else {}
    gone = [e.pk for pid, e in kept.items() if pid not in came]
    if gone:  # their attendance changed to absent since: a draft's part for them goes
        GroupNoteEntry.objects.filter(pk__in=gone).delete()
    for patient_id, data in entries.items():
        entry = kept.pop(patient_id, None) or GroupNoteEntry(
            group_note=note,
            patient_id=patient_id,
            episode_id=came[patient_id].episode_id,
            attendance=came[patient_id],
        )
        entry.participation = data.participation
        entry.response = _text(data.response)
        entry.plan = _text(data.plan)
        entry.objective_id = data.objective_id
        entry.progress = data.progress if data.objective_id else ""
        entry.save()
    record_list(
        actor=actor,
        patients=list(entries.keys()),
        section=SECTION_GROUP,
        action=AuditEvent.Action.UPDATE if existing else AuditEvent.Action.CREATE,
        facility_id=session.facility_id,
        obj=note,
        detail={"session": session.pk, "entries": len(entries)},
    )
    return note


@transaction.atomic
def sign_group_note(
    *, actor: User, group_note: GroupNote, password: str = "", code: str = ""
) -> GroupNote:
    """The author signs: every attendee has an entry; the time is stamped and it locks."""
    _require_writer(actor)
    note = GroupNote.objects.select_for_update().select_related("session").get(pk=group_note.pk)
    if note.is_signed:
        raise ValidationError({"__all__": "This note is already signed."})
    if note.author_id != actor.pk:
        raise PermissionDenied("Only the note's author signs it.")
    entries = list(note.entries.all())
    came = {a.patient_id for a in attendees(note.session)}
    absent = [e for e in entries if e.patient_id not in came]
    if absent:
        raise ValidationError(
            {
                "__all__": f"{len(absent)} part(s) are for people no longer recorded as "
                "attending. Open the note, save it again, then sign."
            }
        )
    # The author writes for the attendees they may see; others are counted, never named.
    mine = set(visible_patients(actor).filter(pk__in=came).values_list("pk", flat=True))
    missing = mine - {e.patient_id for e in entries}
    if missing:
        raise ValidationError(
            {
                "__all__": f"{len(missing)} attendee(s) have no part in this note yet. "
                "Write each attendee's part before signing."
            }
        )
    method = _identity(actor, password, code)
    note.signed_at = timezone.now()
    note.signed_by = actor
    note.sign_method = method
    note.needs_cosign = actor.needs_cosign
    note.save(update_fields=["signed_at", "signed_by", "sign_method", "needs_cosign"])
    for entry in entries:
        if entry.objective_id is not None:
            link_service(
                actor=actor,
                objective=entry.objective,  # type: ignore[arg-type]
                service_kind=ObjectiveLink.ServiceKind.GROUP,
                service_date=note.service_date,
                target=entry,
                label=note.topic,
            )
    record_list(
        actor=actor,
        patients=[e.patient_id for e in entries],
        section=SECTION_GROUP,
        action=AuditEvent.Action.SIGN,
        facility_id=note.facility_id,
        obj=note,
        detail={"method": method, "attendees_not_in_your_care": len(came - mine)},
    )
    return note


# --- individual, family and case-management notes ------------------------------------------------


@transaction.atomic
def save_note(
    *,
    actor: User,
    patient: Patient,
    kind: str,
    started_at: dt.datetime | None,
    ended_at: dt.datetime | None,
    sections: Mapping[str, Any],
    objective_ids: Sequence[int] = (),
    risk_level: str = Note.Risk.NONE,
    risk_text: str = "",
    participant_ids: Sequence[int] = (),
    appointment: Appointment | None = None,
    late_reason: str = "",
    note: Note | None = None,
) -> Note:
    """Write (or rewrite, until signed) an individual, family or case-management note in the
    organization's format. Sections may be partly empty in a draft; signing needs them all."""
    _require_writer(actor)
    _require_visible(actor, [patient.pk])
    if note is not None:
        note = Note.objects.select_for_update().get(pk=note.pk, patient=patient)
        if note.is_signed:
            raise ValidationError({"__all__": LOCKED})
        if note.author_id != actor.pk:
            raise PermissionDenied("Only the note's author changes a draft.")
    now = timezone.now()
    errors: dict[str, str] = {}
    if kind not in Note.Kind.values:
        errors["kind"] = "Choose individual, family or case management."
    if appointment is not None and appointment.patient_id != patient.pk:
        errors["appointment"] = "That appointment is not this patient's."
    if started_at is None:
        errors["started_at"] = "Enter when the session started."
    if ended_at is None:
        errors["ended_at"] = "Enter when the session ended."
    if started_at and ended_at:
        errors.update(rules.times_error(started_at, ended_at))
        if started_at > now:
            errors["started_at"] = "This session has not happened yet."
    note_format = (
        note.note_format if note else settings_for(patient.facility.organization_id).note_format
    )
    for key, label in rules.SECTIONS.get(note_format, []):
        if len(str(sections.get(key) or "")) > rules.MAX_SECTION_CHARS:
            errors[key] = f"The {label.lower()} section is too long (at most 20,000 characters)."
    if risk_level not in Note.Risk.values:
        errors["risk_level"] = "Choose the risk level."
    objectives = _active_objectives([patient.pk])
    if any(objectives.get(pk) != patient.pk for pk in objective_ids):
        errors["objectives"] = "Choose objectives from the patient's active treatment plan."
    contacts = set(
        SupportContact.objects.filter(patient=patient, pk__in=list(participant_ids)).values_list(
            "pk", flat=True
        )
    )
    if contacts != set(participant_ids):
        errors["participants"] = "Choose people from the patient's support system."
    if participant_ids and kind != Note.Kind.FAMILY:
        errors["participants"] = "Only a family session lists support-system participants."
    day = timezone.localtime(started_at, patient.facility.zone).date() if started_at else None
    episode = episode_on(patient, day) if day else None
    if day and episode is None:
        errors["started_at"] = "The patient was not in treatment with us on that day."
    late = note.late_entry if note else False
    hours = 0
    if note is None and ended_at is not None:
        late, hours = _late(
            organization_id=patient.facility.organization_id, ended=ended_at, now=now
        )
    if late and not (late_reason.strip() or (note and note.late_reason)):
        errors["late_reason"] = (
            f"This note is written more than {hours} hours after the session: "
            "say why (it will be marked as a late entry)."
        )
    _raise(errors)
    if not (started_at and ended_at and day and episode):  # checked above; for the type checker
        raise ValidationError({"started_at": "Enter when the session started."})
    created = note is None
    note = note or Note(
        patient=patient,
        author=actor,
        note_format=note_format,
        late_entry=late,
        created_at=now,
    )
    note.kind = kind
    note.episode = episode
    note.facility = patient.facility
    note.appointment = appointment
    note.started_at = started_at
    note.ended_at = ended_at
    note.service_date = day
    note.sections = rules.clean_sections(note_format, sections)
    note.risk_level = risk_level
    note.risk_text = _text(risk_text)
    if late_reason.strip():
        note.late_reason = _text(late_reason, 300)
    note.updated_at = now
    note.save()
    NoteObjective.objects.filter(note=note).exclude(objective_id__in=objective_ids).delete()
    have = set(note.objective_links.values_list("objective_id", flat=True))
    NoteObjective.objects.bulk_create(
        [
            NoteObjective(note=note, objective_id=pk)
            for pk in dict.fromkeys(objective_ids)
            if pk not in have
        ]
    )
    NoteParticipant.objects.filter(note=note).exclude(contact_id__in=participant_ids).delete()
    have = set(note.participant_links.values_list("contact_id", flat=True))
    NoteParticipant.objects.bulk_create(
        [
            NoteParticipant(note=note, contact_id=pk)
            for pk in dict.fromkeys(participant_ids)
            if pk not in have
        ]
    )
    record(
        actor=actor,
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        patient=patient,
        obj=note,
        section=SECTION_NOTE,
        detail={"kind": kind, "late_entry": late},
    )
    return note


def sign_problems(note: Note) -> dict[str, str]:
    """What stops a note from being signed (field errors)."""
    errors = rules.section_errors(note.note_format, note.sections)
    if note.risk_level != Note.Risk.NONE and not note.risk_text.strip():
        errors["risk_text"] = "Describe the risk you assessed and the safety plan."
    return errors


def unlinked_warning(note: Note) -> str:
    """A note linked to no objective is flagged (it does not show the golden thread)."""
    if not list(note.objective_links.all()):  # prefetched on the chart: no query
        return "This note is linked to no treatment-plan objective."
    return ""


@transaction.atomic
def sign_note(*, actor: User, note: Note, password: str = "", code: str = "") -> Note:
    _require_writer(actor)
    note = Note.objects.select_for_update().select_related("patient").get(pk=note.pk)
    if note.is_signed:
        raise ValidationError({"__all__": "This note is already signed."})
    if note.author_id != actor.pk:
        raise PermissionDenied("Only the note's author signs it.")
    _raise(sign_problems(note))
    method = _identity(actor, password, code)
    note.signed_at = timezone.now()
    note.signed_by = actor
    note.sign_method = method
    note.needs_cosign = actor.needs_cosign
    note.save(update_fields=["signed_at", "signed_by", "sign_method", "needs_cosign"])
    kind = {
        Note.Kind.INDIVIDUAL: ObjectiveLink.ServiceKind.INDIVIDUAL,
        Note.Kind.FAMILY: ObjectiveLink.ServiceKind.FAMILY,
        Note.Kind.CASE_MANAGEMENT: ObjectiveLink.ServiceKind.CASE_MANAGEMENT,
    }[Note.Kind(note.kind)]
    for link in note.objective_links.select_related("objective__goal__problem__version"):
        link_service(
            actor=actor,
            objective=link.objective,
            service_kind=kind,
            service_date=note.service_date,
            target=note,
            label=note.get_kind_display(),
        )
    record(
        actor=actor,
        action=AuditEvent.Action.SIGN,
        patient=note.patient,
        obj=note,
        section=SECTION_NOTE,
        detail={"method": method},
    )
    return note


@transaction.atomic
def discard_draft(*, actor: User, note: Note) -> None:
    """The author throws away an unsigned draft (a signed note is never removed)."""
    _require_writer(actor)
    note = Note.objects.select_for_update().get(pk=note.pk)
    if note.is_signed:
        raise ValidationError({"__all__": LOCKED})
    if note.author_id != actor.pk:
        raise PermissionDenied("Only the note's author discards a draft.")
    record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        patient=note.patient_id,
        facility_id=note.facility_id,
        obj=note,
        section=SECTION_NOTE,
    )
    NoteObjective.objects.filter(note=note).delete()
    NoteParticipant.objects.filter(note=note).delete()
    UnsignedFlag.objects.filter(note=note).delete()
    note.delete()


# --- addenda and co-signatures -------------------------------------------------------------------

Target = Note | GroupNote | GroupNoteEntry


def _signed(target: Target) -> bool:
    if isinstance(target, GroupNoteEntry):
        return target.group_note.is_signed
    return target.is_signed


def _patients_of(target: Target) -> list[int]:
    if isinstance(target, Note):
        return [target.patient_id]
    if isinstance(target, GroupNoteEntry):
        return [target.patient_id]
    return list(target.entries.values_list("patient_id", flat=True))


@transaction.atomic
def add_addendum(
    *, actor: User, target: Target, text: str, reason: str, password: str = "", code: str = ""
) -> Addendum:
    """A later addition to a signed note with who, when and why; it is signed as it is saved."""
    _require_writer(actor)
    patients = _patients_of(target)
    if isinstance(target, Note | GroupNoteEntry):
        _require_visible(actor, patients)
    else:
        # The shared part reaches every attendee's chart: only the people who ran the session.
        session = target.session
        if actor.pk not in {target.author_id, session.facilitator_id, session.co_facilitator_id}:
            raise PermissionDenied(
                "Only the note's author or the session's facilitators add to the shared part."
            )
    errors: dict[str, str] = {}
    if not _signed(target):
        errors["__all__"] = "This note is not signed yet: change the draft instead."
    if not text.strip():
        errors["text"] = "Write the addendum."
    if not reason.strip():
        errors["reason"] = "Say why you add this (for example: “information received later”)."
    _raise(errors)
    method = _identity(actor, password, code)
    addendum = Addendum.objects.create(
        note=target if isinstance(target, Note) else None,
        group_note=target if isinstance(target, GroupNote) else None,
        entry=target if isinstance(target, GroupNoteEntry) else None,
        text=_text(text),
        reason=_text(reason, 300),
        author=actor,
        sign_method=method,
    )
    facility_id = target.group_note.facility_id if isinstance(target, GroupNoteEntry) else None
    record_list(
        actor=actor,
        patients=patients,
        section=SECTION_NOTE if isinstance(target, Note) else SECTION_GROUP,
        action=AuditEvent.Action.CREATE,
        facility_id=facility_id or getattr(target, "facility_id", None),
        obj=addendum,
        detail={"addendum_to": target._meta.label_lower, "id": target.pk},
    )
    return addendum


def may_cosign(actor: User, author: User) -> bool:
    """A supervisor co-signs their supervisees' notes; the clinical director anyone's in
    their organization. Never one's own."""
    if actor.pk == author.pk or not actor.can("notes.cosign_note"):
        return False
    if author.supervisor_id == actor.pk:
        return True
    return actor.role == "clinical_director" and actor.organization_id == author.organization_id


@transaction.atomic
def cosign(
    *, actor: User, target: Note | GroupNote, password: str = "", code: str = "", comment: str = ""
) -> Cosignature:
    if not actor.can("notes.cosign_note"):
        raise PermissionDenied("Only a clinical supervisor or the clinical director co-signs.")
    if isinstance(target, Note):
        target = Note.objects.select_for_update().select_related("author").get(pk=target.pk)
    else:
        target = GroupNote.objects.select_for_update().select_related("author").get(pk=target.pk)
    if not may_cosign(actor, target.author):
        raise PermissionDenied("You co-sign the notes of the staff you supervise, not your own.")
    if isinstance(target, Note):
        _require_visible(actor, [target.patient_id])
    elif not actor.facilities.filter(pk=target.facility_id).exists():
        raise PermissionDenied("This note is not from one of your facilities.")
    if not target.is_signed or not target.needs_cosign:
        raise ValidationError({"__all__": "This note is not waiting for a co-signature."})
    if Cosignature.objects.filter(**{_field(target): target}).exists():
        raise ValidationError({"__all__": "This note is already co-signed."})
    method = _identity(actor, password, code)
    signature = Cosignature.objects.create(
        **{_field(target): target},
        cosigned_by=actor,
        sign_method=method,
        comment=_text(comment, 300),
    )
    record_list(
        actor=actor,
        patients=_patients_of(target),
        section=SECTION_NOTE if isinstance(target, Note) else SECTION_GROUP,
        action=AuditEvent.Action.SIGN,
        facility_id=target.facility_id,
        obj=target,
        detail={"cosignature": signature.pk, "method": method},
    )
    return signature


def _field(target: Note | GroupNote) -> str:
    return "note" if isinstance(target, Note) else "group_note"


# --- unsigned notes ------------------------------------------------------------------------------


def flag_unsigned(*, now: dt.datetime | None = None) -> int:
    """Tell the author and their supervisor, once, about each note still unsigned after the
    organization's limit (default 24 hours after the service ended). Returns how many."""
    from openiop.notifications.services import notify

    now = now or timezone.now()
    flagged = 0
    limits = {s.organization_id: s.unsigned_after_hours for s in NoteSettings.objects.all()}
    shortest = min([rules.DEFAULT_UNSIGNED_HOURS, *limits.values()])
    cutoff = rules.unsigned_cutoff(now, shortest)
    for model, field in ((Note, "note"), (GroupNote, "group_note")):
        flagged_ids = UnsignedFlag.objects.filter(**{f"{field}__isnull": False}).values(field)
        overdue = (
            model.objects.filter(signed_at__isnull=True, ended_at__lt=cutoff)
            .exclude(pk__in=flagged_ids)
            .select_related("author__supervisor", "facility")
        )
        for item in overdue:
            hours = limits.get(item.facility.organization_id, rules.DEFAULT_UNSIGNED_HOURS)
            if not rules.unsigned_overdue(
                service_ended=item.ended_at, now=now, unsigned_after_hours=hours
            ):
                continue
            with transaction.atomic():
                UnsignedFlag.objects.create(**{field: item}, flagged_at=now)
                notify(
                    recipients=[item.author, item.author.supervisor],  # type: ignore[list-item]
                    message=(
                        f"A {'group' if field == 'group_note' else 'clinical'} note of "
                        f"{item.service_date:%m/%d/%Y} is unsigned after {hours} hours."
                    ),
                    link=reverse("notes:to_sign"),
                )
            flagged += 1
    return flagged
