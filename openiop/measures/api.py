"""Instruments and administrations over the REST API: the same definitions, scoring, services,
scope and audit as the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
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

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core.permissions import IsStaffUser
from openiop.measures import instruments, rules, scoring, selectors, services
from openiop.measures.models import INSTRUMENT_CHOICES, Administration
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
