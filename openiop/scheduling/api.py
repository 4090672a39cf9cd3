"""The IOP week over the REST API: the same selectors, services, scope and audit as the
pages.

- Each call needs the role permission the page needs (``scheduling.*``, see
  permissions.py); without it the answer is 403, recorded as a refusal.
- Groups, rooms, schedules and sessions belong to the caller's facilities: another
  facility's answers 404 and lists leave it out.
- Enrollments, appointments, attendance and dose are patient information: a patient out of
  scope answers 404 (``chart_access``, audited), lists only hold patients in scope (one
  audit record per patient shown), and a patient named in a request body who is out of
  scope answers 400 on that field, as an unknown one would.
- Bad input answers 400 with field errors from the services. A warning the clinician may
  accept (a phase or track mismatch on enrollment) answers 400 on ``override_reason`` with
  ``"code": "warning"``; a double-booking answers 400 with the conflict in plain words.
- A group's attendance is saved in one piece: 400 with ``lines`` (messages per patient
  id) when any line is wrong, 409 when someone else saved the group in between.
- Choice fields are plain strings (the services check them with plain messages); the
  allowed values are in each field's description.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import Credential, Facility, Phase, Program, Track, User
from openiop.accounts.selectors import facilities_for
from openiop.admissions.models import EpisodeOfCare
from openiop.admissions.selectors import open_episode
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.core.api import validation_payload
from openiop.core.permissions import IsStaffUser
from openiop.patients.models import Patient, SupportContact
from openiop.patients.selectors import chart_access, visible_patients
from openiop.scheduling import rules, selectors, services
from openiop.scheduling.models import (
    Appointment,
    Attendance,
    CurriculumTopic,
    Enrollment,
    GroupKind,
    GroupType,
    Room,
    Schedule,
    Session,
    SessionChange,
    Specialty,
)

READ = "scheduling.view_schedule"
CATALOG = "scheduling.change_grouptype"
SESSIONS = "scheduling.change_session"
ENROLL = "scheduling.add_enrollment"
BOOK = "scheduling.change_appointment"
ATTEND = "scheduling.change_attendance"
DOSE = "scheduling.view_dose"
REFUSED = {
    READ: "Your role does not open the program's calendar.",
    CATALOG: "Only clinical leadership keeps the groups, rooms and schedules.",
    SESSIONS: "Only the clinical team changes a session.",
    ENROLL: "Only the clinical team enrolls patients.",
    BOOK: "Only the clinical team and the front desk book appointments.",
    ATTEND: "Only the clinical team and the front desk record attendance.",
    DOSE: "Dose figures are for the clinical team and billing.",
}
MAX_SPAN_DAYS = 92  # a session list covers at most about a quarter


def _choices(choices: Any) -> str:
    return "One of: " + ", ".join(f"`{value}` ({label})" for value, label in choices) + "."


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


def _id(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, **kwargs)


def _local_time(moment: dt.datetime, facility: Facility) -> str:
    return moment.astimezone(facility.zone).strftime("%H:%M")


# --- serializers: what the API shows -----------------------------------------------------------


class CurriculumTopicSerializer(serializers.ModelSerializer):
    class Meta:
        model = CurriculumTopic
        fields = ["order", "title", "description"]
        read_only_fields = fields


class GroupTypeSerializer(serializers.ModelSerializer):
    program = serializers.IntegerField(source="program_id", read_only=True)
    program_name = serializers.CharField(source="program.name", read_only=True)
    kind = serializers.CharField(read_only=True, help_text=_choices(GroupKind.choices))
    specialty = serializers.CharField(read_only=True, help_text=_choices(Specialty.choices))
    phases: Any = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Phases accepted (ids); none means every phase."
    )
    facilitator_credentials = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="A facilitator needs one of these; none means any. "
        + _choices(Credential.Kind.choices),
    )
    topics = CurriculumTopicSerializer(many=True, read_only=True)

    class Meta:
        model = GroupType
        fields = [
            "id",
            "program",
            "program_name",
            "name",
            "kind",
            "specialty",
            "description",
            "phases",
            "capacity",
            "duration_minutes",
            "facilitator_credentials",
            "billing_code_hint",
            "is_active",
            "topics",
            "created_at",
        ]
        read_only_fields = fields


class RoomSerializer(serializers.ModelSerializer):
    facility = serializers.IntegerField(source="facility_id", read_only=True)

    class Meta:
        model = Room
        fields = ["id", "facility", "name", "seats", "is_active"]
        read_only_fields = fields


class GroupScheduleSerializer(serializers.ModelSerializer):
    group = serializers.IntegerField(source="group_id", read_only=True)
    group_name = serializers.CharField(source="group.name", read_only=True)
    facility = serializers.IntegerField(source="facility_id", read_only=True)
    track = serializers.IntegerField(source="track_id", read_only=True, allow_null=True)
    track_name = serializers.CharField(source="track.name", read_only=True, default=None)
    room = serializers.IntegerField(source="room_id", read_only=True, allow_null=True)
    room_name = serializers.CharField(source="room.name", read_only=True, default=None)
    facilitator = serializers.IntegerField(source="facilitator_id", read_only=True)
    facilitator_name = serializers.CharField(source="facilitator.display_name", read_only=True)
    co_facilitator = serializers.IntegerField(
        source="co_facilitator_id", read_only=True, allow_null=True
    )
    co_facilitator_name = serializers.CharField(
        source="co_facilitator.display_name", read_only=True, default=None
    )
    start_time = serializers.TimeField(read_only=True, help_text="Facility local time.")

    class Meta:
        model = Schedule
        fields = [
            "id",
            "group",
            "group_name",
            "facility",
            "track",
            "track_name",
            "rrule",
            "start_date",
            "end_date",
            "start_time",
            "duration_minutes",
            "room",
            "room_name",
            "telehealth",
            "facilitator",
            "facilitator_name",
            "co_facilitator",
            "co_facilitator_name",
            "materialized_through",
            "created_at",
        ]
        read_only_fields = fields


class SessionChangeSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text=_choices(SessionChange.Kind.choices))
    before = serializers.JSONField(read_only=True)
    after = serializers.JSONField(read_only=True)
    changed_by = serializers.IntegerField(source="changed_by_id", read_only=True)
    changed_by_name = serializers.CharField(source="changed_by.display_name", read_only=True)

    class Meta:
        model = SessionChange
        fields = [
            "id",
            "kind",
            "before",
            "after",
            "reason",
            "changed_by",
            "changed_by_name",
            "changed_at",
        ]
        read_only_fields = fields


class GroupSessionSerializer(serializers.ModelSerializer):
    schedule = serializers.IntegerField(source="schedule_id", read_only=True)
    group = serializers.IntegerField(source="group_id", read_only=True)
    group_name = serializers.CharField(source="group.name", read_only=True)
    facility = serializers.IntegerField(source="facility_id", read_only=True)
    track = serializers.IntegerField(source="track_id", read_only=True, allow_null=True)
    track_name = serializers.CharField(source="track.name", read_only=True, default=None)
    start_time = serializers.SerializerMethodField(help_text="Local time it starts (HH:MM).")
    end_time = serializers.SerializerMethodField(help_text="Local time it ends (HH:MM).")
    minutes = serializers.IntegerField(read_only=True)
    room = serializers.IntegerField(source="room_id", read_only=True, allow_null=True)
    room_name = serializers.CharField(source="room.name", read_only=True, default=None)
    facilitator = serializers.IntegerField(source="facilitator_id", read_only=True)
    facilitator_name = serializers.CharField(source="facilitator.display_name", read_only=True)
    co_facilitator = serializers.IntegerField(
        source="co_facilitator_id", read_only=True, allow_null=True
    )
    co_facilitator_name = serializers.CharField(
        source="co_facilitator.display_name", read_only=True, default=None
    )
    status = serializers.CharField(read_only=True, help_text=_choices(Session.Status.choices))

    class Meta:
        model = Session
        fields = [
            "id",
            "schedule",
            "group",
            "group_name",
            "facility",
            "track",
            "track_name",
            "occurrence_date",
            "service_date",
            "starts_at",
            "ends_at",
            "start_time",
            "end_time",
            "original_starts_at",
            "minutes",
            "room",
            "room_name",
            "telehealth",
            "facilitator",
            "facilitator_name",
            "co_facilitator",
            "co_facilitator_name",
            "status",
            "topic",
            "attendance_revision",
            "attendance_saved_at",
        ]
        read_only_fields = fields

    def get_start_time(self, session: Session) -> str:
        return _local_time(session.starts_at, session.facility)

    def get_end_time(self, session: Session) -> str:
        return _local_time(session.ends_at, session.facility)


class GroupSessionDetailSerializer(GroupSessionSerializer):
    """A session with its exceptions to the rule, oldest first."""

    changes = SessionChangeSerializer(many=True, read_only=True)

    class Meta(GroupSessionSerializer.Meta):
        fields = [*GroupSessionSerializer.Meta.fields, "changes"]
        read_only_fields = fields


class EnrollmentSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    episode = serializers.IntegerField(source="episode_id", read_only=True)
    schedule = serializers.IntegerField(source="schedule_id", read_only=True)
    group = serializers.IntegerField(source="schedule.group_id", read_only=True)
    group_name = serializers.CharField(source="schedule.group.name", read_only=True)
    enrolled_by_name = serializers.CharField(source="enrolled_by.display_name", read_only=True)

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "patient",
            "episode",
            "schedule",
            "group",
            "group_name",
            "start_date",
            "end_date",
            "override_reason",
            "end_reason",
            "enrolled_by_name",
            "created_at",
        ]
        read_only_fields = fields


class AppointmentSerializer(serializers.ModelSerializer):
    facility = serializers.IntegerField(source="facility_id", read_only=True)
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    episode = serializers.IntegerField(source="episode_id", read_only=True)
    kind = serializers.CharField(read_only=True, help_text=_choices(Appointment.Kind.choices))
    staff = serializers.IntegerField(source="staff_id", read_only=True)
    staff_name = serializers.CharField(source="staff.display_name", read_only=True)
    start_time = serializers.SerializerMethodField(help_text="Local time it starts (HH:MM).")
    minutes = serializers.IntegerField(read_only=True)
    room = serializers.IntegerField(source="room_id", read_only=True, allow_null=True)
    room_name = serializers.CharField(source="room.name", read_only=True, default=None)
    participants: Any = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Support-system members taking part (ids)."
    )
    status = serializers.CharField(read_only=True, help_text=_choices(Appointment.Status.choices))
    rescheduled_to = serializers.IntegerField(
        source="rescheduled_to_id", read_only=True, allow_null=True
    )

    class Meta:
        model = Appointment
        fields = [
            "id",
            "facility",
            "patient",
            "episode",
            "kind",
            "staff",
            "staff_name",
            "service_date",
            "starts_at",
            "ends_at",
            "start_time",
            "minutes",
            "room",
            "room_name",
            "telehealth",
            "participants",
            "status",
            "status_reason",
            "rescheduled_to",
            "created_at",
        ]
        read_only_fields = fields

    def get_start_time(self, appointment: Appointment) -> str:
        return _local_time(appointment.starts_at, appointment.facility)


class AttendanceSerializer(serializers.ModelSerializer):
    session = serializers.IntegerField(source="session_id", read_only=True, allow_null=True)
    appointment = serializers.IntegerField(source="appointment_id", read_only=True, allow_null=True)
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    episode = serializers.IntegerField(source="episode_id", read_only=True)
    status = serializers.CharField(read_only=True, help_text=_choices(Attendance.Status.choices))
    recorded_by = serializers.IntegerField(source="recorded_by_id", read_only=True)
    recorded_by_name = serializers.CharField(source="recorded_by.display_name", read_only=True)

    class Meta:
        model = Attendance
        fields = [
            "id",
            "session",
            "appointment",
            "patient",
            "episode",
            "service_date",
            "status",
            "arrived_at",
            "left_at",
            "minutes",
            "drop_in",
            "telehealth",
            "note",
            "recorded_by",
            "recorded_by_name",
            "recorded_at",
        ]
        read_only_fields = fields


class RosterRowSerializer(serializers.Serializer):
    patient = serializers.IntegerField(source="patient.pk")
    patient_name = serializers.CharField(source="patient.display_name")
    episode = serializers.IntegerField(source="episode_id")
    enrolled = serializers.BooleanField(help_text="On the roster that day (false: a drop-in).")
    attendance = AttendanceSerializer(allow_null=True, help_text="Null until recorded.")


class GroupAttendanceSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    revision = serializers.IntegerField(
        help_text="Send it back when saving: a save by someone else in between answers 409."
    )
    status = serializers.CharField(help_text=_choices(Session.Status.choices))
    topic = serializers.CharField()
    service_date = serializers.DateField()
    start_time = serializers.CharField(help_text="Local time (HH:MM).")
    minutes = serializers.IntegerField(help_text="The session's length.")
    saved_at = serializers.DateTimeField(allow_null=True)
    saved_by_name = serializers.CharField(allow_null=True)
    rows = RosterRowSerializer(many=True)
    not_shown = serializers.IntegerField(
        help_text="People on this roster outside your scope, left out of ``rows``."
    )


class AttendanceRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    lines = serializers.DictField(
        child=serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        help_text="Patient id → field → messages.",
    )


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class DayDoseSerializer(serializers.Serializer):
    date = serializers.DateField()
    minutes = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    service_day = serializers.BooleanField(help_text="At least the program's hours per day.")


class WeekDoseSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Its Monday.")
    minutes = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    service_days = serializers.IntegerField()
    status = serializers.CharField(help_text="`meets`, `below` (the minimum) or `above` (max).")
    status_label = serializers.CharField()
    shortfall = serializers.CharField(help_text="What a week below the minimum lacks.")


class EpisodeDoseSerializer(serializers.Serializer):
    minutes = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=8, decimal_places=2)
    service_days = serializers.IntegerField()
    days_in_treatment = serializers.IntegerField()
    last_attended = serializers.DateField(allow_null=True)
    days_since_last = serializers.IntegerField(allow_null=True)
    at_risk = serializers.BooleanField(help_text="No attendance for 7 days or more.")


class DoseRulesSerializer(serializers.Serializer):
    min_hours_per_day = serializers.DecimalField(max_digits=5, decimal_places=2)
    min_days_per_week = serializers.IntegerField()
    min_hours_per_week = serializers.DecimalField(max_digits=5, decimal_places=2)
    max_hours_per_week = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)


class PatientDoseSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    episode = serializers.IntegerField()
    rules = DoseRulesSerializer(help_text="The program's dose rules (SPEC §2).")
    days = DayDoseSerializer(many=True, help_text="Monday to Sunday.")
    week = WeekDoseSerializer()
    episode_totals = EpisodeDoseSerializer(help_text="The whole episode, up to today.")


class FacilityWeekRowSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    episode = serializers.IntegerField()
    minutes = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    service_days = serializers.IntegerField()
    status = serializers.CharField(help_text="`meets`, `below` or `above`.")


class FacilityWeekSerializer(serializers.Serializer):
    facility = serializers.IntegerField()
    week = serializers.DateField(help_text="Its Monday.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Per status.")
    rows = FacilityWeekRowSerializer(many=True)


# --- serializers: what the API takes -----------------------------------------------------------


class GroupTypeInputSerializer(serializers.Serializer):
    program = serializers.IntegerField(required=False, help_text="A program (on create only).")
    name = _text()
    kind = _text(help_text=_choices(GroupKind.choices))
    specialty = _text(help_text=_choices(Specialty.choices))
    description = _text()
    phases = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Phases of the program it accepts (ids); empty: every phase.",
    )
    capacity = serializers.IntegerField(required=False, help_text="Default 12.")
    duration_minutes = serializers.IntegerField(required=False, help_text="15 to 480.")
    facilitator_credentials = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_choices(Credential.Kind.choices),
    )
    billing_code_hint = _text()
    is_active = serializers.BooleanField(required=False)


class CurriculumTopicInputSerializer(serializers.Serializer):
    title = serializers.CharField(allow_blank=True, help_text="Blank lines are dropped.")
    description = _text(default="")


class CurriculumInputSerializer(serializers.Serializer):
    topics = CurriculumTopicInputSerializer(many=True, help_text="In order; replaces the list.")


class RoomInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField(
        required=False, help_text="On create; needed when you work at more than one facility."
    )
    name = _text()
    seats = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=500)
    is_active = serializers.BooleanField(required=False)


class GroupScheduleInputSerializer(serializers.Serializer):
    group = serializers.IntegerField(help_text="A group of your facility.")
    track = _id(help_text="A track of the group's program (day or evening).")
    rrule = _text(help_text="RFC 5545, e.g. FREQ=WEEKLY;BYDAY=MO,WE,FR (no DTSTART/UNTIL).")
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    start_time = serializers.TimeField(
        required=False, allow_null=True, help_text="Facility local time."
    )
    duration_minutes = serializers.IntegerField(
        required=False, allow_null=True, help_text="Default: the group's length."
    )
    room = _id()
    telehealth = serializers.BooleanField(required=False, default=False)
    facilitator = _id(help_text="A staff member of the facility.")
    co_facilitator = _id()


class EndScheduleSerializer(serializers.Serializer):
    last_date = serializers.DateField(help_text="The last day the group meets.")
    reason = _text(default="")


class SessionReasonSerializer(serializers.Serializer):
    reason = _text(default="", help_text="Why (required).")


class SessionMoveSerializer(serializers.Serializer):
    day = serializers.DateField()
    start = serializers.TimeField(help_text="Facility local time; the length stays.")
    reason = _text(default="")


class SessionSubstituteSerializer(serializers.Serializer):
    facilitator = serializers.IntegerField(help_text="Who runs this session instead.")
    reason = _text(default="")


class SessionRoomSerializer(serializers.Serializer):
    room = _id(help_text="Null with `telehealth` true: telehealth only.")
    telehealth = serializers.BooleanField(required=False, default=False)
    reason = _text(default="")


class SessionTopicSerializer(serializers.Serializer):
    topic = _text(default="", help_text="The session's topic, e.g. from the curriculum.")


class AttendanceLineSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    status = serializers.CharField(help_text=_choices(Attendance.Status.choices))
    arrived_at = serializers.TimeField(required=False, allow_null=True)
    left_at = serializers.TimeField(required=False, allow_null=True)
    minutes = serializers.IntegerField(
        required=False, allow_null=True, help_text="Default: from the status and the times."
    )
    telehealth = serializers.BooleanField(required=False, default=False)
    note = _text(default="")


class GroupAttendanceInputSerializer(serializers.Serializer):
    revision = serializers.IntegerField(
        required=False, allow_null=True, help_text="The revision you read (recommended)."
    )
    topic = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Left out: unchanged."
    )
    lines = AttendanceLineSerializer(
        many=True, help_text="Roster patients and drop-ins; lines left out stay as they are."
    )


class AttendanceCorrectionSerializer(serializers.Serializer):
    status = serializers.CharField(required=False, help_text=_choices(Attendance.Status.choices))
    arrived_at = serializers.TimeField(required=False, allow_null=True)
    left_at = serializers.TimeField(required=False, allow_null=True)
    minutes = serializers.IntegerField(required=False, allow_null=True)
    note = _text()
    reason = _text(default="", help_text="Why it is corrected (required).")


class EnrollmentInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    episode = _id(help_text="Default: the patient's open episode of care.")
    schedule = serializers.IntegerField(help_text="A group schedule of the patient's program.")
    start_date = serializers.DateField(required=False, allow_null=True)
    override_reason = _text(
        default="", help_text="Why the patient joins despite a phase or track warning."
    )


class EndEnrollmentSerializer(serializers.Serializer):
    end_date = serializers.DateField(help_text="The last day on the roster.")
    reason = _text(default="")


class AppointmentInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    episode = _id(help_text="Default: the patient's open episode of care.")
    kind = serializers.CharField(help_text=_choices(Appointment.Kind.choices))
    staff = _id()
    day = serializers.DateField(required=False, allow_null=True)
    start = serializers.TimeField(required=False, allow_null=True, help_text="Local time.")
    minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=f"5 to 480. Default: the usual length ({rules.USUAL_APPOINTMENT_TEXT}).",
    )
    room = _id()
    telehealth = serializers.BooleanField(required=False, default=False)
    participants = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Family sessions: support-system members (ids) of the patient.",
    )


class RescheduleSerializer(serializers.Serializer):
    day = serializers.DateField()
    start = serializers.TimeField(help_text="Local time; the length stays.")
    reason = _text(default="")


class CloseAppointmentSerializer(serializers.Serializer):
    status = serializers.CharField(
        help_text="`present`, `late`, `left_early` (completes it), `unexcused` (no-show) or "
        "`excused` (cancels it)."
    )
    arrived_at = serializers.TimeField(required=False, allow_null=True)
    left_at = serializers.TimeField(required=False, allow_null=True)
    minutes = serializers.IntegerField(required=False, allow_null=True)
    note = _text(default="")


# --- the shared viewset ------------------------------------------------------------------------


def _pk(value: Any) -> int:
    text = str(value)
    return int(text) if text.isdigit() else 0


def _refused(errors: Mapping[str, str]) -> exceptions.ValidationError:
    return exceptions.ValidationError({k: [v] for k, v in errors.items()})


def _code(error: DjangoValidationError, payload: Mapping[str, Any]) -> str | None:
    """A code a client can act on: ``warning`` (resend with ``override_reason``) or
    ``conflict`` (a double-booking)."""
    if hasattr(error, "error_dict"):
        found = {e.code for errors in error.error_dict.values() for e in errors}
    else:
        found = {e.code for e in error.error_list}
    # The services put the code on the field's error (a dict drops a code given beside it).
    for code in ("warning", "conflict"):
        if code in found:
            return code
    return None


BAD_INPUT = OpenApiResponse(description="Field errors (`{field: [message]}`).")
SCOPE_PARAMS = {
    "patient": OpenApiParameter("patient", int, description="Only this patient's."),
    "from": OpenApiParameter("from", dt.date, description="From this day (YYYY-MM-DD)."),
    "to": OpenApiParameter("to", dt.date, description="Up to this day, inclusive."),
}


class _WeekViewSet(viewsets.GenericViewSet):
    """Checks the role permission of each call (403 without, recorded), and turns the
    services' refusals into 400 with field errors."""

    permission_classes = [IsStaffUser]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    section = "schedule"
    read = READ
    write = CATALOG
    perms: Mapping[str, str] = {}  # action → permission, for actions that differ
    patient_path = "patient"

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = self._user()
        permission = self.perms.get(self.action or "") or (
            self.read if request.method in SAFE_METHODS else self.write
        )
        if not user.can(permission):
            record(actor=user, action=AuditEvent.Action.DENIED, section=f"{self.section} (API)")
            raise exceptions.PermissionDenied(REFUSED[permission])

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.AttendanceRefused):
            message = exc.messages[0]
            if exc.code == "stale":
                return Response({"detail": message}, status=status.HTTP_409_CONFLICT)
            lines = {
                str(pid): {name: [text] for name, text in fields.items()}
                for pid, fields in exc.lines.items()
            }
            return Response({"detail": message, "lines": lines}, status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, DjangoValidationError):
            payload: dict[str, Any] = validation_payload(exc)
            code = _code(exc, payload)
            if code:
                payload["code"] = code
            return Response(payload, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    # --- the caller's facilities

    def _facility_ids(self) -> list[int]:
        cached: list[int] | None = getattr(self, "_facilities", None)
        if cached is None:
            cached = list(facilities_for(self._user()).values_list("pk", flat=True))
            self._facilities = cached
        return cached

    def _facility(self, value: Any, *, field: str = "facility") -> Facility:
        """One of the caller's facilities: the one named, or the only one they work at."""
        mine = facilities_for(self._user()).order_by("name")
        if value not in (None, ""):
            chosen = mine.filter(pk=_pk(value)).first()
            if chosen is None:
                raise _refused({field: "Choose one of the facilities you work at."})
            return chosen
        first = list(mine[:2])
        if len(first) != 1:
            raise _refused({field: "Choose the facility."})
        return first[0]

    def _default_facility(self) -> Facility | None:
        value = self.request.query_params.get("facility")
        if value:
            return self._facility(value)
        return facilities_for(self._user()).order_by("name").first()

    # --- the query string

    def _date_param(self, name: str) -> dt.date | None:
        value = self.request.query_params.get(name)
        if not value:
            return None
        day = rules.parse_day(value)
        if day is None:
            raise _refused(
                {
                    name: f"Enter a date as YYYY-MM-DD, between {rules.FIRST_YEAR} and "
                    f"{rules.LAST_YEAR}."
                }
            )
        return day

    def _only(self, qs: QuerySet[Any], **params: str) -> QuerySet[Any]:
        """Filters from the query string: parameter → lookup."""
        for name, lookup in params.items():
            value = self.request.query_params.get(name)
            if value is not None:
                qs = qs.filter(**{lookup: _pk(value)})
        return qs

    def _between(self, qs: QuerySet[Any], field: str) -> QuerySet[Any]:
        first, last = self._date_param("from"), self._date_param("to")
        if first and last and last < first:
            raise _refused({"to": "The last day cannot be before the first day."})
        if first:
            qs = qs.filter(**{f"{field}__gte": first})
        if last:
            qs = qs.filter(**{f"{field}__lte": last})
        return qs

    # --- patient information

    def _patient_rows(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(
            **{f"{self.patient_path}__in": visible_patients(self._user()).values("pk")}
        )

    def _open(self, model: type[Model], pk: int, path: str = "patient") -> Patient:
        """The chart of the row's patient, opened as the pages open it (404 out of scope or
        unknown, audited)."""
        patient_id = model._default_manager.filter(pk=pk).values_list(path, flat=True).first()
        if patient_id is None:
            raise Http404
        return chart_access(self._user(), patient_id, section=f"{self.section} (API)").patient

    def _patient(self, pk: int, *, field: str = "patient") -> Patient:
        """A patient named in the request: unknown and out of scope answer alike, 400."""
        if not visible_patients(self._user()).filter(pk=pk).exists():
            raise _refused({field: "Choose a patient in your care."})
        return chart_access(self._user(), pk, section=f"{self.section} (API)").patient

    def _episode(self, patient: Patient, pk: int | None) -> EpisodeOfCare:
        episodes = EpisodeOfCare.objects.filter(patient=patient).select_related(
            "patient", "facility", "program", "track", "phase"
        )
        if pk:
            found = episodes.filter(pk=pk).first()
            if found is None:
                raise _refused({"episode": "Choose an episode of care of this patient."})
            return found
        found = open_episode(patient)
        if found is None:
            raise _refused({"patient": "The patient is not in treatment (no open episode)."})
        return found

    def _audit_list(self, rows: Sequence[Any], *, detail: Mapping[str, Any] | None = None) -> None:
        """One view record per patient whose information the list showed."""
        patient_of = attrgetter(self.patient_path.replace("__", ".") + "_id")
        counts: dict[int, int] = {}
        for row in rows:
            counts[patient_of(row)] = counts.get(patient_of(row), 0) + 1
        _audit_patients(self._user(), counts, f"{self.section} list (API)", detail)


def _audit_patients(
    user: User, counts: Mapping[int, int], section: str, detail: Mapping[str, Any] | None
) -> None:
    record_list(
        actor=user,
        patients=list(counts),
        section=section,
        detail=detail,
        per_patient={pk: {"results": n} for pk, n in counts.items()},
    )


class _PatientListViewSet(mixins.ListModelMixin, _WeekViewSet):
    """With a list: only patients in scope, one audit record per patient shown."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        data = self.get_serializer(rows, many=True).data
        self._audit_list(rows)
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)


# --- the catalog: groups and rooms -------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("program", int, description="Only this program's groups."),
            OpenApiParameter("active", bool, description="Only active (true) or retired."),
        ]
    ),
    create=extend_schema(
        request=GroupTypeInputSerializer, responses={201: GroupTypeSerializer, 400: BAD_INPUT}
    ),
    partial_update=extend_schema(
        request=GroupTypeInputSerializer, responses={200: GroupTypeSerializer, 400: BAD_INPUT}
    ),
)
class GroupTypeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _WeekViewSet
):
    """The group catalog of your facilities' programs: kind, specialty (who may join),
    phases accepted, capacity, length, facilitator credentials and the curriculum.
    Everyone on the calendar reads it; clinical leadership keeps it."""

    serializer_class = GroupTypeSerializer
    queryset = GroupType.objects.none()  # for the schema; get_queryset scopes
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    section = "group catalog"

    def get_queryset(self) -> QuerySet[GroupType]:
        qs = (
            GroupType.objects.filter(program__facility_id__in=self._facility_ids())
            .select_related("program")
            .prefetch_related("phases", "topics")
            .order_by("program__name", "name", "pk")
        )
        active = self.request.query_params.get("active")
        if active in ("true", "false"):
            qs = qs.filter(is_active=active == "true")
        return self._only(qs, program="program_id")

    def _phases(self, ids: Sequence[int]) -> list[Phase]:
        phases = list(Phase.objects.filter(pk__in=ids))
        if len(phases) != len(set(ids)):
            raise _refused({"phases": "Choose phases of this group's program."})
        return phases

    def _data(self, validated: Mapping[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in validated.items() if k != "program"}
        if "phases" in data:
            data["phases"] = self._phases(data["phases"])
        return data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = GroupTypeInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        program = Program.objects.filter(
            pk=params.validated_data.get("program") or 0,
            facility_id__in=self._facility_ids(),
        ).first()
        if program is None:
            raise _refused({"program": "Choose a program of your facility."})
        group = services.save_group_type(
            actor=self._user(), program=program, data=self._data(params.validated_data)
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=group.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        group = self.get_object()
        params = GroupTypeInputSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        data = {"name": group.name, **self._data(params.validated_data)}
        services.save_group_type(actor=self._user(), program=group.program, data=data, group=group)
        return Response(self.get_serializer(self.get_queryset().get(pk=group.pk)).data)

    @extend_schema(
        request=CurriculumInputSerializer,
        responses={200: GroupTypeSerializer, 400: BAD_INPUT},
    )
    @action(detail=True, methods=["put"])
    def curriculum(self, request: Request, pk: str | None = None) -> Response:
        """Replace the group's curriculum: its session topics, in order."""
        group = self.get_object()
        params = CurriculumInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.set_curriculum(
            actor=self._user(),
            group=group,
            topics=[
                (t["title"], t.get("description", "")) for t in params.validated_data["topics"]
            ],
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=group.pk)).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("facility", int, description="Only this facility's rooms.")]
    ),
    create=extend_schema(
        request=RoomInputSerializer, responses={201: RoomSerializer, 400: BAD_INPUT}
    ),
    partial_update=extend_schema(
        request=RoomInputSerializer, responses={200: RoomSerializer, 400: BAD_INPUT}
    ),
)
class RoomViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _WeekViewSet
):
    """Rooms of your facilities. A room is never booked twice at once."""

    serializer_class = RoomSerializer
    queryset = Room.objects.none()  # for the schema; get_queryset scopes
    http_method_names = ["get", "post", "patch", "head", "options"]
    section = "rooms"

    def get_queryset(self) -> QuerySet[Room]:
        qs = Room.objects.filter(facility_id__in=self._facility_ids()).order_by(
            "facility_id", "-is_active", "name", "pk"
        )
        return self._only(qs, facility="facility_id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = RoomInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        facility = self._facility(data.get("facility"))
        room = services.save_room(actor=self._user(), facility=facility, data=data)
        return Response(self.get_serializer(room).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        room = self.get_object()
        params = RoomInputSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        data = {"name": room.name, **params.validated_data}
        saved = services.save_room(actor=self._user(), facility=room.facility, data=data, room=room)
        return Response(self.get_serializer(saved).data)


# --- schedules and sessions --------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("group", int, description="Only this group's schedules."),
            OpenApiParameter("facility", int, description="Only this facility's."),
            OpenApiParameter(
                "running_on", dt.date, description="Only schedules still running on this day."
            ),
        ]
    ),
)
class GroupScheduleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _WeekViewSet
):
    """Groups on the calendar: an RFC 5545 rule in the facility's local time, a room or
    telehealth, a facilitator and a co-facilitator. Creating one makes its sessions
    (26 weeks ahead) and refuses any double-booking of the room or the people, with the
    clash in plain words. ``end`` stops it from a day."""

    serializer_class = GroupScheduleSerializer
    queryset = Schedule.objects.none()  # for the schema; get_queryset scopes
    section = "group schedule"

    def get_queryset(self) -> QuerySet[Schedule]:
        qs = (
            Schedule.objects.filter(facility_id__in=self._facility_ids())
            .select_related("group", "track", "room", "facilitator", "co_facilitator")
            .order_by("group__name", "start_time", "pk")
        )
        running = self._date_param("running_on")
        if running:
            qs = qs.filter(Q(end_date__isnull=True) | Q(end_date__gte=running))
        return self._only(qs, group="group_id", facility="facility_id")

    @extend_schema(
        request=GroupScheduleInputSerializer,
        responses={
            201: GroupScheduleSerializer,
            400: OpenApiResponse(
                description="Field errors; a double-booking in `non_field_errors` with "
                '`"code": "conflict"`.'
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = GroupScheduleInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        group = (
            GroupType.objects.filter(
                pk=data["group"], program__facility_id__in=self._facility_ids()
            )
            .select_related("program__facility")
            .first()
        )
        if group is None:
            raise _refused({"group": "Choose a group of your facility."})
        values: dict[str, Any] = {
            k: data.get(k)
            for k in ("rrule", "start_date", "end_date", "start_time", "duration_minutes")
        }
        values["rrule"] = values["rrule"] or ""
        values["telehealth"] = data.get("telehealth", False)
        values["track"] = _row(Track.objects.all(), data.get("track"), "track", _TRACK)
        values["room"] = _row(Room.objects.all(), data.get("room"), "room", _ROOM)
        values["facilitator"] = _row(
            User.objects.all(), data.get("facilitator"), "facilitator", _STAFF
        )
        values["co_facilitator"] = _row(
            User.objects.all(), data.get("co_facilitator"), "co_facilitator", _STAFF
        )
        schedule = services.create_schedule(actor=self._user(), group=group, data=values)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=schedule.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=EndScheduleSerializer, responses={200: GroupScheduleSerializer, 400: BAD_INPUT}
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """Stop the group after ``last_date``: later sessions without attendance go and
        enrollments end that day; the past stays as it was."""
        schedule = self.get_object()
        params = EndScheduleSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.end_schedule(actor=self._user(), schedule=schedule, **params.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=schedule.pk)).data)


_TRACK = "Choose a track of the group's program."
_ROOM = "Choose a room of this facility."
_STAFF = "Choose a staff member of this facility."


def _row(qs: QuerySet[Any], pk: int | None, field: str, message: str) -> Any:
    """The row named by id, None when none was named; 400 on ``field`` if unknown."""
    if pk is None:
        return None
    found = qs.filter(pk=pk).first()
    if found is None:
        raise _refused({field: message})
    return found


def _session_response(session: Session) -> Response:
    fresh = _sessions().prefetch_related("changes__changed_by").get(pk=session.pk)
    return Response(GroupSessionDetailSerializer(fresh).data)


def _sessions() -> QuerySet[Session]:
    return Session.objects.select_related(
        "group",
        "facility",
        "room",
        "track",
        "facilitator",
        "co_facilitator",
        "attendance_saved_by",
    ).order_by("starts_at", "pk")


def _session_change(request_serializer: type[serializers.Serializer]) -> Any:
    return extend_schema(
        request=request_serializer,
        responses={200: GroupSessionDetailSerializer, 400: BAD_INPUT},
    )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "from", dt.date, description="From this day (default: this week's Monday)."
            ),
            OpenApiParameter("to", dt.date, description="Up to this day (default: Sunday)."),
            OpenApiParameter("facility", int, description="Only this facility's sessions."),
            OpenApiParameter("group", int, description="Only this group's sessions."),
            OpenApiParameter(
                "facilitator", int, description="Only sessions this person runs or co-runs."
            ),
        ]
    ),
    retrieve=extend_schema(responses=GroupSessionDetailSerializer),
)
class GroupSessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _WeekViewSet):
    """Sessions of your facilities' groups, by local day (``from``/``to``, this week by
    default, at most 92 days). Exceptions to the rule change one session and keep the
    reason in ``changes``: ``cancel``, ``restore``, ``move``, ``substitute``, ``room``,
    ``topic``. ``attendance`` reads the roster and records the whole group at once."""

    serializer_class = GroupSessionSerializer
    queryset = Session.objects.none()  # for the schema; get_queryset scopes
    section = "group session"
    write = SESSIONS
    perms = {"attendance": ATTEND}

    def get_queryset(self) -> QuerySet[Session]:
        qs = _sessions().filter(facility_id__in=self._facility_ids())
        if self.action == "retrieve":
            qs = qs.prefetch_related("changes__changed_by")
        return qs

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "retrieve":
            return GroupSessionDetailSerializer
        return GroupSessionSerializer

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset
        first, last = self._date_param("from"), self._date_param("to")
        if first is None or last is None:
            facility = self._default_facility()
            today = selectors.today_at(facility) if facility else timezone.localdate()
            monday = rules.week_start(first or last or today)
            first = first or monday
            last = last or first + dt.timedelta(days=6)
        if last < first:
            raise _refused({"to": "The last day cannot be before the first day."})
        if (last - first).days >= MAX_SPAN_DAYS:
            raise _refused({"to": f"Ask for at most {MAX_SPAN_DAYS} days at a time."})
        queryset = queryset.filter(service_date__gte=first, service_date__lte=last)
        facilitator = self.request.query_params.get("facilitator")
        if facilitator is not None:
            queryset = queryset.filter(
                Q(facilitator_id=_pk(facilitator)) | Q(co_facilitator_id=_pk(facilitator))
            )
        return self._only(queryset, facility="facility_id", group="group_id")

    def _change(
        self,
        request_serializer: type[serializers.Serializer],
        apply: Callable[[User, Session, dict[str, Any]], object],
    ) -> Response:
        """One exception to the rule: the session in scope, the body checked (400 with
        field errors), the service applied (it keeps the reason and audits), the session
        with its changes answered."""
        session = self.get_object()
        params = request_serializer(data=self.request.data)
        params.is_valid(raise_exception=True)
        apply(self._user(), session, dict(params.validated_data))
        return _session_response(session)

    @_session_change(SessionReasonSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel this one session (a holiday, say), with the reason."""
        return self._change(
            SessionReasonSerializer,
            lambda actor, session, data: services.cancel_session(
                actor=actor, session=session, reason=data["reason"]
            ),
        )

    @_session_change(SessionReasonSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        """Undo a cancellation (refused if the room or a facilitator is now taken)."""
        return self._change(
            SessionReasonSerializer,
            lambda actor, session, data: services.restore_session(
                actor=actor, session=session, reason=data["reason"]
            ),
        )

    @_session_change(SessionMoveSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        """Move this session to another day or time; the rule is untouched."""
        return self._change(
            SessionMoveSerializer,
            lambda actor, session, data: services.move_session(
                actor=actor, session=session, **data
            ),
        )

    @_session_change(SessionSubstituteSerializer)
    @action(detail=True, methods=["post"])
    def substitute(self, request: Request, pk: str | None = None) -> Response:
        """Someone else runs this session."""
        return self._change(
            SessionSubstituteSerializer,
            lambda actor, session, data: services.substitute_facilitator(
                actor=actor,
                session=session,
                facilitator=_row(User.objects.all(), data["facilitator"], "facilitator", _STAFF),
                reason=data["reason"],
            ),
        )

    @_session_change(SessionRoomSerializer)
    @action(detail=True, methods=["post"])
    def room(self, request: Request, pk: str | None = None) -> Response:
        """Another room (or telehealth) for this session."""
        return self._change(
            SessionRoomSerializer,
            lambda actor, session, data: services.change_room(
                actor=actor,
                session=session,
                room=_row(Room.objects.all(), data.get("room"), "room", _ROOM),
                telehealth=data["telehealth"],
                reason=data["reason"],
            ),
        )

    @_session_change(SessionTopicSerializer)
    @action(detail=True, methods=["post"])
    def topic(self, request: Request, pk: str | None = None) -> Response:
        """Set the session's topic."""
        return self._change(
            SessionTopicSerializer,
            lambda actor, session, data: services.set_topic(
                actor=actor, session=session, topic=data["topic"]
            ),
        )

    @extend_schema(methods=["GET"], responses={200: GroupAttendanceSerializer})
    @extend_schema(
        methods=["PUT", "POST"],
        request=GroupAttendanceInputSerializer,
        responses={
            200: GroupAttendanceSerializer,
            400: AttendanceRefusedSerializer,
            409: OpenApiResponse(DetailSerializer, description="Someone else saved in between."),
        },
    )
    @action(detail=True, methods=["get", "put", "post"])
    def attendance(self, request: Request, pk: str | None = None) -> Response:
        """GET: the roster (enrolled that day, and drop-ins) with what is recorded.
        PUT or POST: record the whole group in one transaction — every line or none;
        ``minutes`` default to the session's length for the status and times."""
        session = self.get_object()
        if request.method in SAFE_METHODS:
            return Response(self._attendance(session))
        params = GroupAttendanceInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        services.save_group_attendance(
            actor=self._user(),
            session=session,
            lines=[
                services.Line(
                    patient_id=line["patient"],
                    status=line["status"],
                    arrived_at=line.get("arrived_at"),
                    left_at=line.get("left_at"),
                    minutes=line.get("minutes"),
                    telehealth=line["telehealth"],
                    note=line["note"],
                )
                for line in data["lines"]
            ],
            revision=data.get("revision"),
            topic=data.get("topic"),
        )
        return Response(self._attendance(_sessions().get(pk=session.pk)))

    def _attendance(self, session: Session) -> dict[str, Any]:
        """The roster, only patients in scope, one audit record per patient shown."""
        roster = selectors.roster(self._user(), session)
        shown = roster.rows
        _audit_patients(
            self._user(),
            {r.patient.pk: 1 for r in shown},
            "attendance list (API)",
            {"session": session.pk},
        )
        saved_by = session.attendance_saved_by
        data = {
            "session": session.pk,
            "revision": session.attendance_revision,
            "status": session.status,
            "topic": session.topic,
            "service_date": session.service_date,
            "start_time": _local_time(session.starts_at, session.facility),
            "minutes": session.minutes,
            "saved_at": session.attendance_saved_at,
            "saved_by_name": saved_by.display_name if saved_by else None,
            "rows": shown,
            "not_shown": roster.not_shown,
        }
        return dict(GroupAttendanceSerializer(data).data)


# --- enrollments, appointments, attendance -----------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            SCOPE_PARAMS["patient"],
            OpenApiParameter("schedule", int, description="Only this schedule's roster."),
            OpenApiParameter("episode", int, description="Only this episode's."),
            OpenApiParameter("active_on", dt.date, description="Only on the roster that day."),
        ]
    ),
)
class EnrollmentViewSet(mixins.RetrieveModelMixin, _PatientListViewSet):
    """Patients on groups' rosters. POST enrolls from a day: an ineligible patient (a
    veterans', women's, men's, LGBTQ+ or survivors' group) is refused with the reason, as
    are a full group and a clash with another group; a phase or track mismatch answers
    400 on ``override_reason`` with ``"code": "warning"`` — resend with the reason to go
    ahead. ``end`` takes the patient off the roster after a day."""

    serializer_class = EnrollmentSerializer
    queryset = Enrollment.objects.none()  # for the schema; get_queryset scopes
    section = "group enrollment"
    write = ENROLL

    def rows(self) -> QuerySet[Enrollment]:
        return Enrollment.objects.select_related("schedule__group", "enrolled_by").order_by(
            "-start_date", "-id"
        )

    def get_queryset(self) -> QuerySet[Enrollment]:
        qs = self._only(
            self._patient_rows(self.rows()),
            patient="patient_id",
            schedule="schedule_id",
            episode="episode_id",
        )
        day = self._date_param("active_on")
        if day:
            qs = qs.filter(start_date__lte=day).filter(
                Q(end_date__isnull=True) | Q(end_date__gte=day)
            )
        return qs

    def get_object(self) -> Enrollment:
        pk = _pk(self.kwargs["pk"])
        self._open(Enrollment, pk)
        return self.rows().select_related("episode").get(pk=pk)

    @extend_schema(
        request=EnrollmentInputSerializer,
        responses={
            201: EnrollmentSerializer,
            400: OpenApiResponse(
                description="Refused with the reason; a warning answers on `override_reason` "
                'with `"code": "warning"`.'
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = EnrollmentInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        patient = self._patient(data["patient"])
        episode = self._episode(patient, data.get("episode"))
        schedule = _row(
            Schedule.objects.filter(facility_id=episode.facility_id),
            data["schedule"],
            "schedule",
            "Choose a group schedule of the patient's facility.",
        )
        enrollment = services.enroll(
            actor=self._user(),
            episode=episode,
            schedule=schedule,
            start_date=data.get("start_date"),  # None: refused with the reason
            override_reason=data["override_reason"],
        )
        return Response(
            self.get_serializer(self.rows().get(pk=enrollment.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=EndEnrollmentSerializer, responses={200: EnrollmentSerializer, 400: BAD_INPUT}
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """Take the patient off the roster after ``end_date``, with the reason."""
        enrollment = self.get_object()
        params = EndEnrollmentSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.end_enrollment(actor=self._user(), enrollment=enrollment, **params.validated_data)
        return Response(self.get_serializer(self.rows().get(pk=enrollment.pk)).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            SCOPE_PARAMS["patient"],
            OpenApiParameter("staff", int, description="Only this staff member's."),
            SCOPE_PARAMS["from"],
            SCOPE_PARAMS["to"],
        ]
    ),
)
class AppointmentViewSet(mixins.RetrieveModelMixin, _PatientListViewSet):
    """Individual therapy, family sessions (support-system members take part), case
    management, medication management and drug testing. POST books (a double-booking of
    the staff member, the room or the patient is refused); ``reschedule`` books the new
    time and keeps the old one marked rescheduled; ``cancel``; ``close`` records how it
    went (counted in the dose)."""

    serializer_class = AppointmentSerializer
    queryset = Appointment.objects.none()  # for the schema; get_queryset scopes
    section = "appointment"
    write = BOOK
    perms = {"close": ATTEND}

    def rows(self) -> QuerySet[Appointment]:
        return (
            Appointment.objects.select_related("facility", "staff", "room")
            .prefetch_related("participants")
            .order_by("starts_at", "pk")
        )

    def get_queryset(self) -> QuerySet[Appointment]:
        qs = self._only(self._patient_rows(self.rows()), patient="patient_id", staff="staff_id")
        return self._between(qs, "service_date")

    def get_object(self) -> Appointment:
        pk = _pk(self.kwargs["pk"])
        self._open(Appointment, pk)
        return self.rows().get(pk=pk)

    def _answer(self, appointment: Appointment, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.rows().get(pk=appointment.pk)).data, status=code)

    @extend_schema(
        request=AppointmentInputSerializer,
        responses={
            201: AppointmentSerializer,
            400: OpenApiResponse(description='Field errors; a double-booking with "conflict".'),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = AppointmentInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        patient = self._patient(data["patient"])
        episode = self._episode(patient, data.get("episode"))
        wanted = data.get("participants") or []
        people = list(SupportContact.objects.filter(pk__in=wanted, patient=patient))
        if len(people) != len(set(wanted)):
            raise _refused({"participants": "Choose people from this patient's support system."})
        appointment = services.book_appointment(
            actor=self._user(),
            episode=episode,
            kind=data["kind"],
            staff=_row(User.objects.all(), data.get("staff"), "staff", _STAFF),
            day=data.get("day"),
            start=data.get("start"),
            minutes=data.get("minutes"),
            room=_row(Room.objects.all(), data.get("room"), "room", _ROOM),
            telehealth=data["telehealth"],
            participants=people,
        )
        return self._answer(appointment, status.HTTP_201_CREATED)

    @extend_schema(
        request=RescheduleSerializer, responses={201: AppointmentSerializer, 400: BAD_INPUT}
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str | None = None) -> Response:
        """Book the new time (answered: the new appointment); the old one is kept,
        marked rescheduled, pointing to it."""
        appointment = self.get_object()
        params = RescheduleSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        new = services.reschedule_appointment(
            actor=self._user(), appointment=appointment, **params.validated_data
        )
        return self._answer(new, status.HTTP_201_CREATED)

    @extend_schema(
        request=SessionReasonSerializer, responses={200: AppointmentSerializer, 400: BAD_INPUT}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel, with the reason."""
        appointment = self.get_object()
        params = SessionReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.cancel_appointment(
            actor=self._user(), appointment=appointment, reason=params.validated_data["reason"]
        )
        return self._answer(appointment)

    @extend_schema(
        request=CloseAppointmentSerializer, responses={201: AttendanceSerializer, 400: BAD_INPUT}
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Record how it went, once it has started: the attendance row it made."""
        appointment = self.get_object()
        params = CloseAppointmentSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        attendance = services.close_appointment(
            actor=self._user(),
            appointment=appointment,
            status=data["status"],
            arrived=data.get("arrived_at"),
            left=data.get("left_at"),
            minutes=data.get("minutes"),
            note=data["note"],
        )
        fresh = Attendance.objects.select_related("recorded_by").get(pk=attendance.pk)
        return Response(AttendanceSerializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    partial_update=extend_schema(
        request=AttendanceCorrectionSerializer,
        responses={200: AttendanceSerializer, 400: BAD_INPUT},
    ),
)
class AttendanceViewSet(mixins.RetrieveModelMixin, _WeekViewSet):
    """One line of attendance. PATCH corrects it after the fact, with the ``reason``
    (audited; the previous values stay in its history; the dose follows)."""

    serializer_class = AttendanceSerializer
    queryset = Attendance.objects.none()  # for the schema; get_object scopes
    http_method_names = ["get", "patch", "head", "options"]
    section = "attendance"
    write = ATTEND

    def get_object(self) -> Attendance:
        pk = _pk(self.kwargs["pk"])
        self._open(Attendance, pk)
        return Attendance.objects.select_related("recorded_by").get(pk=pk)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        attendance = self.get_object()
        params = AttendanceCorrectionSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        reason = str(data.pop("reason", ""))
        services.correct_attendance(
            actor=self._user(), attendance=attendance, data=data, reason=reason
        )
        fresh = Attendance.objects.select_related("recorded_by").get(pk=attendance.pk)
        return Response(self.get_serializer(fresh).data)


# --- dose --------------------------------------------------------------------------------------

WEEK = OpenApiParameter(
    "week", dt.date, description="Any day of the week (YYYY-MM-DD); default: this week."
)


def _hours(minutes: int) -> Decimal:
    return rules.hours(minutes).quantize(Decimal("0.01"))


def _week(row: selectors.WeekRow) -> dict[str, Any]:
    return {
        "week": row.week,
        "minutes": row.minutes,
        "hours": _hours(row.minutes),
        "service_days": row.service_days,
        "status": str(row.status),
        "status_label": row.status.label,
        "shortfall": row.shortfall,
    }


class DoseViewSet(_WeekViewSet):
    """Attended hours (SPEC §2), added up by the database: per patient and week (days,
    the week's status, the episode so far) and per facility and week."""

    section = "dose"
    read = DOSE
    write = DOSE
    http_method_names = ["get", "head", "options"]

    def _monday(self, facility: Facility) -> dt.date:
        return rules.week_start(self._date_param("week") or selectors.today_at(facility))

    @extend_schema(
        parameters=[
            WEEK,
            OpenApiParameter("episode", int, description="Default: the episode in care that week."),
        ],
        responses={200: PatientDoseSerializer, 400: BAD_INPUT},
    )
    def patient(self, request: Request, pk: int) -> Response:
        """One patient's week: each day's minutes and whether it is a service day, the
        week's hours, service days and status, and the episode's totals."""
        patient = chart_access(self._user(), pk, section="dose (API)").patient
        monday = self._monday(patient.facility)
        wanted = _pk(request.query_params.get("episode", ""))
        episode = selectors.episode_for_week(patient, monday, wanted=wanted)
        if episode is None and wanted:
            raise _refused({"episode": "Choose an episode of care of this patient."})
        if episode is None:
            raise _refused({"episode": "This patient has no episode of care."})
        days, week = selectors.episode_week(episode, monday)
        totals = selectors.episode_dose(episode, selectors.today_at(patient.facility))
        dose_rules = episode.program.dose_rules()
        data = {
            "patient": patient.pk,
            "episode": episode.pk,
            "rules": asdict(dose_rules),
            "days": [
                {
                    "date": d.date,
                    "minutes": d.minutes,
                    "hours": _hours(d.minutes),
                    "service_day": d.service_day,
                }
                for d in days
            ],
            "week": _week(week),
            "episode_totals": {
                "minutes": totals.minutes,
                "hours": _hours(totals.minutes),
                "service_days": totals.service_days,
                "days_in_treatment": totals.days_in_treatment,
                "last_attended": totals.last_attended,
                "days_since_last": totals.days_since_last,
                "at_risk": totals.at_risk,
            },
        }
        return Response(PatientDoseSerializer(data).data)

    @extend_schema(
        parameters=[
            WEEK,
            OpenApiParameter("facility", int, description="Needed when you work at more than one."),
        ],
        responses={200: FacilityWeekSerializer, 400: BAD_INPUT},
    )
    def facility_week(self, request: Request) -> Response:
        """Every episode in care during the week, for the patients in your scope: hours,
        service days and status (one audit record per patient shown)."""
        facility = self._facility(request.query_params.get("facility"))
        monday = self._monday(facility)
        rows = selectors.facility_week_dose(self._user(), facility, monday)
        _audit_patients(
            self._user(),
            {r.episode.patient_id: 1 for r in rows},
            "dose report (API)",
            {"week": monday.isoformat()},
        )
        data = {
            "facility": facility.pk,
            "week": monday,
            "counts": selectors.weekly_counts(rows),
            "rows": [
                {
                    "patient": r.episode.patient_id,
                    "episode": r.episode.pk,
                    "minutes": r.minutes,
                    "hours": _hours(r.minutes),
                    "service_days": r.service_days,
                    "status": str(r.status),
                }
                for r in rows
            ],
        }
        return Response(FacilityWeekSerializer(data).data)
