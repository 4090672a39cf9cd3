"""Instruments, administrations, schedules, the list of instruments due and the trends over the
REST API: the same definitions, scoring, services, scope and audit as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import Facility, User
from openiop.accounts.selectors import facilities_for
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.core.permissions import IsStaffUser
from openiop.measures import instruments, rules, scoring, selectors, services
from openiop.measures.models import INSTRUMENT_CHOICES, Administration, InstrumentSchedule
from openiop.patients.models import Patient
from openiop.patients.selectors import chart_access, visible_patients

# --- definitions and pure scoring ---------------------------------------------------------------


class OptionSerializer(serializers.Serializer):
    value = serializers.JSONField(
        help_text="What the answer is sent as: a number, true/false or a word."
    )
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label


class AskedWhenSerializer(serializers.Serializer):
    item = serializers.CharField()
    answer = serializers.JSONField()


class ItemSerializer(serializers.Serializer):
    number = serializers.CharField(help_text='The answer key: "1".."N", or "6_when".')
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=["scale", "yes_no", "choice"])
    help = serializers.CharField()
    asked_when = AskedWhenSerializer(allow_null=True)
    options = OptionSerializer(many=True)


class BandSerializer(serializers.Serializer):
    name = serializers.CharField()
    low = serializers.IntegerField(allow_null=True)
    high = serializers.IntegerField(allow_null=True)
    meaning = serializers.CharField()


class LoincSerializer(serializers.Serializer):
    panel = serializers.CharField()
    total = serializers.CharField()


class InstrumentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    title = serializers.CharField()
    instructions = serializers.CharField()
    timeframe = serializers.CharField()
    items = ItemSerializer(many=True)
    scoring = serializers.CharField()
    total_range = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    bands = BandSerializer(many=True)
    flags = serializers.ListField(child=serializers.CharField())
    subscales = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()))
    loinc = LoincSerializer()
    source = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.source


class ScoreRequestSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text='Item number ("1".."N", "6_when") → answer (0–4, true/false or a word).',
    )
    sex = serializers.ChoiceField(
        choices=list(rules.AUDITC_SEXES),
        required=False,
        allow_null=True,
        default=None,
        help_text="AUDIT-C only: which cut-off (male 4, female 3).",
    )


class ScoreSerializer(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True)
    band = serializers.CharField()
    flags = serializers.ListField(child=serializers.CharField())
    subscales = serializers.DictField(child=serializers.IntegerField())


def _scoring_errors(exc: scoring.ScoringError) -> dict[str, list[str]]:
    return {"sex" if exc.item == "sex" else "answers": [str(exc)]}


class InstrumentViewSet(viewsets.ViewSet):
    """The instruments: wording, options, scoring, bands, flags and LOINC codes. No patient data."""

    permission_classes = [IsStaffUser]
    lookup_field = "code"
    lookup_value_regex = "[a-z0-9_]+"

    def _definition(self, code: str) -> instruments.Instrument:
        definition = instruments.DEFINITIONS.get(code)
        if definition is None:
            raise exceptions.NotFound("No such instrument.")
        return definition

    @extend_schema(responses=InstrumentSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(
            InstrumentSerializer(
                [instruments.as_dict(d) for d in instruments.DEFINITIONS.values()], many=True
            ).data
        )

    @extend_schema(responses=InstrumentSerializer)
    def retrieve(self, request: Request, code: str) -> Response:
        return Response(InstrumentSerializer(instruments.as_dict(self._definition(code))).data)

    @extend_schema(
        request=ScoreRequestSerializer,
        responses={200: ScoreSerializer, 400: OpenApiTypes.OBJECT},
        description=(
            "Score an answer set without storing anything (no patient). A wrong answer set "
            'answers 400, e.g. {"answers": ["phq9 item 9: 4 is outside 0–3."]}.'
        ),
    )
    @action(detail=True, methods=["post"])
    def score(self, request: Request, code: str) -> Response:
        definition = self._definition(code)
        params = ScoreRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            result = scoring.score(
                definition.code, params.validated_data["answers"], sex=params.validated_data["sex"]
            )
        except scoring.ScoringError as exc:
            return Response(_scoring_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(
            ScoreSerializer(
                {
                    "total": result.total,
                    "band": result.band,
                    "flags": sorted(result.flags),
                    "subscales": result.subscales,
                }
            ).data
        )


# --- administrations ---------------------------------------------------------------------------


class AdministrationSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    instrument_name = serializers.CharField(source="definition.name", read_only=True)
    administered_by = serializers.IntegerField(source="administered_by_id", read_only=True)
    administered_by_name = serializers.CharField(
        source="administered_by.display_name", read_only=True
    )
    entered_by = serializers.IntegerField(source="entered_by_id", read_only=True)
    corrects = serializers.IntegerField(source="corrects_id", read_only=True, allow_null=True)
    entered_in_error = serializers.BooleanField(read_only=True)
    loinc = serializers.SerializerMethodField()

    class Meta:
        model = Administration
        fields = [
            "id",
            "patient",
            "instrument",
            "instrument_name",
            "answers",
            "total",
            "band",
            "flags",
            "subscales",
            "sex_used",
            "administered_at",
            "administered_by",
            "administered_by_name",
            "entered_at",
            "entered_by",
            "notes",
            "corrects",
            "entered_in_error",
            "entered_in_error_at",
            "entered_in_error_reason",
            "loinc",
        ]
        read_only_fields = fields

    @extend_schema_field(LoincSerializer)
    def get_loinc(self, administration: Administration) -> dict[str, str]:
        d = administration.definition
        return {"panel": d.loinc_panel, "total": d.loinc_total}


class AdministerSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    instrument = serializers.ChoiceField(choices=INSTRUMENT_CHOICES)
    answers = serializers.DictField(child=serializers.JSONField())
    administered_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Default now; not in the future."
    )
    administered_by = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Staff id; default you."
    )
    sex = serializers.ChoiceField(
        choices=list(rules.AUDITC_SEXES),
        required=False,
        allow_null=True,
        default=None,
        help_text="AUDIT-C only, when the chart's sex at birth is neither male nor female "
        "(default female, the lower cut-off).",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    corrects = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="An earlier administration this one corrects (it is marked entered in error).",
    )
    correction_reason = serializers.CharField(required=False, allow_blank=True, default="")


class EnteredInErrorSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("patient", int, required=True, description="The patient's id."),
            OpenApiParameter("instrument", str, required=False),
        ]
    ),
)
class AdministrationViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Instruments given to patients in your scope (one chart at a time). Out of scope: 404."""

    serializer_class = AdministrationSerializer
    permission_classes = [IsStaffUser]
    queryset = Administration.objects.none()  # for the schema; get_queryset scopes
    write_actions = frozenset({"create", "entered_in_error"})

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = self._user()
        needed = (
            "measures.add_administration"
            if self.action in self.write_actions
            else "measures.view_administration"
        )
        if not user.can(needed):
            record(actor=user, action=AuditEvent.Action.DENIED, section="measures (API)")
            raise exceptions.PermissionDenied(selectors.REFUSED)

    def get_queryset(self) -> QuerySet[Administration]:
        return (
            Administration.objects.filter(patient__in=visible_patients(self._user()).values("pk"))
            .select_related("administered_by", "patient")
            .order_by("-administered_at", "-id")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw = request.query_params.get("patient", "")
        if not raw.isdigit():
            return Response(
                {"patient": ["Give ?patient=<id>: results are listed one chart at a time."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        patient = visible_patients(self._user()).filter(pk=int(raw)).first()
        if patient is None:
            record(
                actor=request.user,
                action=AuditEvent.Action.DENIED,
                section="measures (API)",
                detail={"patient_id": int(raw)},
            )
            raise exceptions.NotFound("Not found.")
        qs = self.get_queryset().filter(patient=patient)
        instrument = request.query_params.get("instrument")
        if instrument:
            qs = qs.filter(instrument=instrument)
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        data = self.get_serializer(rows, many=True).data
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            patient=patient,
            section="measures (API)",
            detail={"results": len(rows)},
        )
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def get_object(self) -> Administration:
        pk = str(self.kwargs["pk"])
        row = self.get_queryset().filter(pk=int(pk) if pk.isdigit() else 0).first()
        if row is None:
            raise exceptions.NotFound("Not found.")
        return row

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.get_object()
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            patient=row.patient,
            obj=row,
            section="measures (API)",
        )
        return Response(self.get_serializer(row).data)

    @extend_schema(request=AdministerSerializer, responses={201: AdministrationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Score and store an administration; a suicide-risk flag raises a chart alert."""
        params = AdministerSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = self._user()
        patient = chart_access(
            user, data["patient"], section="measures (API)", action="update"
        ).patient
        giver = None
        if data["administered_by"] is not None:
            giver = User.objects.filter(pk=data["administered_by"]).first()
            if giver is None:
                return Response(
                    {"administered_by": ["No such staff member."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        corrects = None
        if data["corrects"] is not None:
            corrects = Administration.objects.filter(pk=data["corrects"], patient=patient).first()
            if corrects is None:
                return Response(
                    {"corrects": ["Choose one of this patient's results."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        administration = services.administer(
            actor=user,
            patient=patient,
            code=data["instrument"],
            answers=data["answers"],
            administered_at=data["administered_at"],
            administered_by=giver,
            notes=data["notes"],
            sex=data["sex"],
            corrects=corrects,
            correction_reason=data["correction_reason"],
        )
        fresh = self.get_queryset().get(pk=administration.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EnteredInErrorSerializer, responses=AdministrationSerializer)
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    def entered_in_error(self, request: Request, pk: str) -> Response:
        """Mark a result entered in error, with the reason; it stays, struck through."""
        row = self.get_object()
        params = EnteredInErrorSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.mark_entered_in_error(
            actor=self._user(), administration=row, reason=params.validated_data["reason"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=row.pk)).data)


# --- shared: role checks and the query string ---------------------------------------------------


class _MeasuresViewSet(viewsets.GenericViewSet):
    """The role check (403, audited) before anything else; which permission each action needs."""

    permission_classes = [IsStaffUser]
    section = "measures (API)"
    read_permission = "measures.view_schedule"
    write_permission = "measures.change_schedule"
    write_actions: frozenset[str] = frozenset()
    refused = selectors.REFUSED

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = self._user()
        writes = self.action in self.write_actions
        needed = self.write_permission if writes else self.read_permission
        if not user.can(needed):
            record(actor=user, action=AuditEvent.Action.DENIED, section=self.section)
            raise exceptions.PermissionDenied(self.refused)

    def _required_pk(self, name: str) -> int:
        raw = self.request.query_params.get(name, "")
        if not raw.isdigit():
            raise exceptions.ValidationError({name: [f"Give ?{name}=<id>."]})
        return int(raw)

    def _chart(self, patient_id: int, *, action: str = "view") -> Patient:
        """The chart, opened as the pages open it: 404 out of scope, one audit record."""
        return chart_access(self._user(), patient_id, section=self.section, action=action).patient


def _open_episode(patient: Patient) -> EpisodeOfCare | None:
    return (
        EpisodeOfCare.objects.filter(patient=patient, discharge_date__isnull=True)
        .select_related("facility")
        .first()
    )


# --- schedules -----------------------------------------------------------------------------------


class InstrumentScheduleSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="episode.patient_id", read_only=True)
    episode = serializers.IntegerField(source="episode_id", read_only=True)
    instrument_name = serializers.CharField(source="definition.name", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True, allow_null=True)
    stopped_by = serializers.IntegerField(source="stopped_by_id", read_only=True, allow_null=True)
    next_due = serializers.SerializerMethodField(
        help_text="Running schedules of an open episode: the day it is next due."
    )
    last_given = serializers.SerializerMethodField(
        help_text="The day it was last given (a valid result, any time), or null."
    )
    days_overdue = serializers.SerializerMethodField()

    class Meta:
        model = InstrumentSchedule
        fields = [
            "id",
            "patient",
            "episode",
            "instrument",
            "instrument_name",
            "every_days",
            "starts_on",
            "is_default",
            "active",
            "created_at",
            "created_by",
            "stopped_at",
            "stopped_by",
            "stop_reason",
            "next_due",
            "last_given",
            "days_overdue",
        ]
        read_only_fields = fields

    def _due(self, schedule: InstrumentSchedule) -> selectors.DueRow | None:
        rows: dict[int, selectors.DueRow] = self.context.get("due", {})
        return rows.get(schedule.pk)

    @extend_schema_field(OpenApiTypes.DATE)
    def get_next_due(self, schedule: InstrumentSchedule) -> dt.date | None:
        row = self._due(schedule)
        return row.due_on if row else None

    @extend_schema_field(OpenApiTypes.DATE)
    def get_last_given(self, schedule: InstrumentSchedule) -> dt.date | None:
        row = self._due(schedule)
        return row.last_given if row else None

    @extend_schema_field(OpenApiTypes.INT)
    def get_days_overdue(self, schedule: InstrumentSchedule) -> int | None:
        row = self._due(schedule)
        return row.days_overdue if row else None


class ScheduleRequestSerializer(serializers.Serializer):
    patient = serializers.IntegerField(help_text="The patient; their open episode is scheduled.")
    instrument = serializers.ChoiceField(choices=INSTRUMENT_CHOICES)
    every_days = serializers.IntegerField(
        min_value=rules.EVERY_DAYS_MIN,
        max_value=rules.EVERY_DAYS_MAX,
        help_text="Every how many days, 1–365.",
    )
    starts_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="First due on (default today); not before admission.",
    )


class StopScheduleSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("patient", int, required=True, description="The patient's id."),
            OpenApiParameter("active", bool, required=False, description="Only running (true)."),
        ],
        description="Every schedule of the patient's episodes, running and stopped; running "
        "ones of the open episode carry next_due, last_given and days_overdue. 404 out of scope; "
        "one audited chart view.",
    ),
)
class InstrumentScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _MeasuresViewSet):
    """Which instruments each stay repeats and how often. Out of scope: 404."""

    serializer_class = InstrumentScheduleSerializer
    queryset = InstrumentSchedule.objects.none()  # for the schema; get_queryset scopes
    section = "measures: schedules (API)"
    write_actions = frozenset({"create", "stop"})

    def get_queryset(self) -> QuerySet[InstrumentSchedule]:
        return (
            InstrumentSchedule.objects.filter(
                episode__patient__in=visible_patients(self._user()).values("pk")
            )
            .select_related("episode__patient__facility")
            .order_by("-episode__admission_date", "instrument", "-created_at", "-id")
        )

    def _due_context(self, patient: Patient) -> dict[str, Any]:
        episode = _open_episode(patient)
        if episode is None:
            return {"due": {}}
        services.ensure_default_schedules(episode=episode, actor=None)  # the system's defaults
        today = timezone.localdate(timezone=episode.facility.zone)
        return {"due": {r.schedule.pk: r for r in selectors.schedules_of(episode, today)}}

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **getattr(self, "_extra", {})}

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = self._chart(self._required_pk("patient"))
        self._extra = self._due_context(patient)
        qs = self.get_queryset().filter(episode__patient=patient)
        if request.query_params.get("active") in ("true", "1"):
            qs = qs.filter(stopped_at__isnull=True)
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        data = self.get_serializer(rows, many=True).data
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def get_object(self) -> InstrumentSchedule:
        pk = str(self.kwargs["pk"])
        row = self.get_queryset().filter(pk=int(pk) if pk.isdigit() else 0).first()
        if row is None:
            raise exceptions.NotFound("Not found.")
        return row

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.get_object()
        patient = self._chart(row.episode.patient_id)
        self._extra = self._due_context(patient)
        return Response(self.get_serializer(row).data)

    @extend_schema(
        request=ScheduleRequestSerializer,
        responses={201: InstrumentScheduleSerializer, 400: OpenApiTypes.OBJECT},
        description="Repeat an instrument during the patient's open episode. A schedule "
        "already running for it is stopped and replaced (the same one again changes "
        'nothing). 400 with field errors, e.g. {"every_days": [...]} or {"patient": ["... no '
        'open episode ..."]}.',
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = ScheduleRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        patient = self._chart(data["patient"], action="update")
        episode = _open_episode(patient)
        if episode is None:
            raise exceptions.ValidationError(
                {"patient": ["This person has no open episode of care; nothing can be repeated."]}
            )
        schedule = services.schedule_instrument(
            actor=self._user(),
            episode=episode,
            instrument=data["instrument"],
            every_days=data["every_days"],
            starts_on=data["starts_on"],
        )
        self._extra = self._due_context(patient)
        fresh = self.get_queryset().get(pk=schedule.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=StopScheduleSerializer,
        responses={200: InstrumentScheduleSerializer, 400: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        """Stop repeating an instrument, with the reason; it stays, stopped."""
        row = self.get_object()
        params = StopScheduleSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        self._chart(row.episode.patient_id, action="update")
        services.stop_schedule(
            actor=self._user(), schedule=row, reason=params.validated_data["reason"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=row.pk)).data)


# --- the list of instruments due -----------------------------------------------------------------


class DueRowSerializer(serializers.Serializer):
    schedule = serializers.IntegerField(source="schedule.pk")
    patient = serializers.IntegerField(source="episode.patient_id")
    patient_name = serializers.CharField(source="episode.patient.display_name")
    episode = serializers.IntegerField(source="episode.pk")
    instrument = serializers.CharField(source="schedule.instrument")
    instrument_name = serializers.CharField(source="definition.name")
    every_days = serializers.IntegerField(source="schedule.every_days")
    due_on = serializers.DateField()
    days_overdue = serializers.IntegerField()
    overdue = serializers.BooleanField(source="is_overdue")
    last_given = serializers.DateField(allow_null=True)
    primary_clinician = serializers.IntegerField(source="episode.primary_clinician_id")
    primary_clinician_name = serializers.CharField(source="episode.primary_clinician.display_name")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "facility",
                int,
                required=False,
                description="One of your facilities (needed when you work at more than one).",
            ),
            OpenApiParameter("overdue", bool, required=False, description="Only overdue (true)."),
        ],
        responses=DueRowSerializer(many=True),
        description="Instruments due today or overdue for people in treatment in your scope "
        "at the facility, longest overdue first, paginated. One audit record per patient "
        "listed.",
    ),
)
class InstrumentDueViewSet(mixins.ListModelMixin, _MeasuresViewSet):
    serializer_class = DueRowSerializer
    queryset = InstrumentSchedule.objects.none()
    section = "instruments due (API)"
    read_permission = "measures.view_due"
    refused = selectors.DUE_REFUSED

    def _facility(self) -> Facility:
        mine = facilities_for(self._user()).order_by("name")
        raw = self.request.query_params.get("facility", "")
        if raw:
            chosen = mine.filter(pk=int(raw)).first() if raw.isdigit() else None
            if chosen is None:
                raise exceptions.ValidationError(
                    {"facility": ["Choose one of the facilities you work at."]}
                )
            return chosen
        first = list(mine[:2])
        if len(first) != 1:
            raise exceptions.ValidationError({"facility": ["Choose the facility: ?facility=<id>."]})
        return first[0]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self._user()
        facility = self._facility()
        today = timezone.localdate(timezone=facility.zone)
        services.ensure_default_schedules_for(
            episodes=selectors.open_episodes_in_scope(user, facility), actor=None
        )
        qs = selectors.due_list(
            user,
            facility,
            today,
            overdue_only=request.query_params.get("overdue") in ("true", "1"),
        )
        page = self.paginate_queryset(qs)
        rows = selectors.due_rows(page if page is not None else qs, today)
        record_list(
            actor=user,
            patients=[r.episode.patient for r in rows],
            facility_id=facility.pk,
            section=self.section,
            detail={"on": today.isoformat()},
        )
        data = DueRowSerializer(rows, many=True).data
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)


# --- trends --------------------------------------------------------------------------------------


class TrendPointSerializer(serializers.Serializer):
    administration = serializers.IntegerField()
    given_at = serializers.DateTimeField()
    date = serializers.DateField()
    values = serializers.DictField(child=serializers.IntegerField())
    band = serializers.CharField()
    baseline = serializers.BooleanField()
    latest = serializers.BooleanField()
    response = serializers.BooleanField()
    remission = serializers.BooleanField()


class TrendBandSerializer(serializers.Serializer):
    name = serializers.CharField()
    low = serializers.IntegerField()
    high = serializers.IntegerField()
    tone = serializers.ChoiceField(choices=["ok", "neutral", "warn", "danger"])


class TrendSeriesSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label


class TrendSerializer(serializers.Serializer):
    instrument = serializers.CharField()
    name = serializers.CharField()
    episode = serializers.IntegerField(allow_null=True)
    series = TrendSeriesSerializer(many=True)
    y_max = serializers.IntegerField()
    bands = TrendBandSerializer(many=True)
    points = TrendPointSerializer(many=True)
    baseline = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    latest = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    percent_drop = serializers.IntegerField(allow_null=True)
    change_words = serializers.CharField()
    response = serializers.BooleanField(allow_null=True)
    remission = serializers.BooleanField(allow_null=True)
    summary = serializers.CharField()


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("patient", int, required=True),
            OpenApiParameter("instrument", str, required=True, description="e.g. phq9"),
            OpenApiParameter(
                "episode",
                int,
                required=False,
                description="One of the patient's episodes (default: the open one, else the "
                "latest).",
            ),
        ],
        responses=TrendSerializer,
        description="One instrument over one stay: points (oldest first), severity bands, "
        "baseline (the first result of the stay), latest, and response (a drop of 50 % or more "
        "from the baseline) and remission (under 5) for the PHQ-9 (null for the others: SPEC §6 "
        "defines them for the PHQ-9). 404 out of scope; one audited chart view.",
    ),
)
class InstrumentTrendViewSet(_MeasuresViewSet):
    serializer_class = TrendSerializer
    queryset = Administration.objects.none()
    section = "measures: trend (API)"
    read_permission = "measures.view_administration"

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        code = request.query_params.get("instrument", "")
        definition = instruments.DEFINITIONS.get(code)
        errors: dict[str, list[str]] = {}
        if definition is None:
            errors["instrument"] = [
                f"Give ?instrument= one of {', '.join(instruments.DEFINITIONS)}."
            ]
        elif not selectors.charted(definition):
            errors["instrument"] = [
                f"The {definition.name} has no number to follow over time; read its history."
            ]
        raw_patient = request.query_params.get("patient", "")
        if not raw_patient.isdigit():
            errors["patient"] = ["Give ?patient=<id>."]
        raw_episode = request.query_params.get("episode", "")
        if raw_episode and not raw_episode.isdigit():
            errors["episode"] = ["Give ?episode=<id> of one of the patient's episodes."]
        if errors or definition is None:
            raise exceptions.ValidationError(errors)
        patient = self._chart(int(raw_patient))
        if raw_episode:
            episode = EpisodeOfCare.objects.filter(patient=patient, pk=int(raw_episode)).first()
            if episode is None:
                raise exceptions.ValidationError(
                    {"episode": ["Choose one of this patient's episodes of care."]}
                )
        else:
            episode = selectors.stay_of(patient)
        found = selectors.trend(patient, definition.code, episode)
        data = found.as_data() if found else selectors.empty_trend_data(definition, episode)
        return Response(TrendSerializer(data).data)
