"""Drug tests and prescriptions over the REST API: the same services, scope and audit as
the pages. Lists are one chart at a time (``?patient=``); a patient out of scope is 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import User
from openiop.admissions.selectors import open_episode
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core.permissions import IsStaffUser
from openiop.patients.models import Patient
from openiop.patients.selectors import chart_access, visible_patients
from openiop.recovery import rules, selectors, services
from openiop.recovery.models import DrugTest, DrugTestResult, Prescription

SECTION = "recovery (API)"
PATIENT = OpenApiParameter("patient", int, required=True, description="The patient (required).")


class DrugTestResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = DrugTestResult
        fields = ["substance", "result", "reading"]


class DrugTestSerializer(serializers.ModelSerializer):
    results = DrugTestResultSerializer(many=True, read_only=True)

    class Meta:
        model = DrugTest
        fields = [
            "id",
            "patient",
            "episode",
            "specimen",
            "observed",
            "collected_at",
            "collected_by",
            "source",
            "note",
            "recorded_by",
            "recorded_at",
            "results",
        ]
        read_only_fields = fields


class ResultInputSerializer(serializers.Serializer):
    substance = serializers.CharField(help_text=", ".join(rules.SUBSTANCES))
    result = serializers.CharField(help_text="positive, negative, invalid or dilute")


class DrugTestInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    specimen = serializers.CharField(help_text="urine, oral_fluid or breath")
    observed = serializers.BooleanField(default=False)
    collected_at = serializers.DateTimeField()
    collected_by = serializers.IntegerField(
        required=False, allow_null=True, help_text="Staff id; default: you."
    )
    results = ResultInputSerializer(many=True)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    def validate_results(self, value: list[dict[str, str]]) -> list[dict[str, str]]:
        named = [r["substance"] for r in value]
        if len(named) != len(set(named)):
            raise serializers.ValidationError("Give each substance once.")
        return value


class PrescriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prescription
        fields = [
            "id",
            "patient",
            "medication_class",
            "name",
            "prescriber",
            "start_date",
            "end_date",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class PrescriptionInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    medication_class = serializers.CharField(
        help_text="buprenorphine, methadone, benzodiazepine or stimulant"
    )
    name = serializers.CharField(max_length=120)
    prescriber = serializers.CharField(max_length=120, required=False, allow_blank=True)
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)


class _RecoveryViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsStaffUser]
    write_permission = ""

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = self._user()
        needed = self.write_permission if self.action == "create" else "recovery.view_drugtest"
        if not user.can(needed):
            record(actor=user, action=AuditEvent.Action.DENIED, section=SECTION)
            raise exceptions.PermissionDenied(selectors.REFUSED)

    def _chart(self) -> Patient:
        raw = self.request.query_params.get("patient", "")
        if not raw.isdigit():
            raise exceptions.ValidationError(
                {"patient": ["Give ?patient=<id>: records are listed one chart at a time."]}
            )
        patient = visible_patients(self._user()).filter(pk=int(raw)).first()
        if patient is None:
            record(
                actor=self._user(),
                action=AuditEvent.Action.DENIED,
                section=SECTION,
                detail={"patient_id": int(raw)},
            )
            raise exceptions.NotFound("Not found.")
        return patient

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = self._chart()
        qs = self.get_queryset().filter(patient=patient)
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            patient=patient,
            section=SECTION,
            detail={"results": len(rows), "list": self.basename},
        )
        data = self.get_serializer(rows, many=True).data
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def get_object(self) -> Any:
        pk = str(self.kwargs["pk"])
        row = self.get_queryset().filter(pk=int(pk) if pk.isdigit() else 0).first()
        if row is None:
            raise exceptions.NotFound("Not found.")
        return row

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row: Model = self.get_object()
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            patient=getattr(row, "patient_id", None),
            obj=row,
            section=SECTION,
        )
        return Response(self.get_serializer(row).data)


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class DrugTestViewSet(_RecoveryViewSet):
    """Drug tests with a result per substance and its reading (expected, unexpected,
    missing, negative, not readable). Recording an unexpected positive raises a clinical
    alert for the primary clinician."""

    serializer_class = DrugTestSerializer
    queryset = DrugTest.objects.none()  # for the schema; get_queryset scopes
    write_permission = "recovery.add_drugtest"

    def get_queryset(self) -> QuerySet[DrugTest]:
        return selectors.drug_tests(self._user())

    @extend_schema(request=DrugTestInputSerializer, responses={201: DrugTestSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = DrugTestInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = self._user()
        patient = chart_access(user, data["patient"], section=SECTION, action="update").patient
        episode = open_episode(patient)
        if episode is None:
            raise exceptions.ValidationError(
                {"patient": ["The patient is not in treatment (no open episode)."]}
            )
        collector: User | None = user
        if data.get("collected_by") is not None:
            collector = User.objects.filter(
                pk=data["collected_by"], facilities=episode.facility
            ).first()
            if collector is None:
                raise exceptions.ValidationError(
                    {"collected_by": ["Choose a staff member of this facility."]}
                )
        test = services.record_drug_test(
            actor=user,
            episode=episode,
            specimen=data["specimen"],
            observed=data["observed"],
            collected_at=data["collected_at"],
            collected_by=collector,
            results={r["substance"]: r["result"] for r in data["results"]},
            note=data["note"],
        )
        fresh = self.get_queryset().get(pk=test.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class PrescriptionViewSet(_RecoveryViewSet):
    """Prescriptions that explain an expected positive while they are current."""

    serializer_class = PrescriptionSerializer
    queryset = Prescription.objects.none()  # for the schema; get_queryset scopes
    write_permission = "recovery.change_prescription"

    def get_queryset(self) -> QuerySet[Prescription]:
        return selectors.prescriptions(self._user())

    @extend_schema(request=PrescriptionInputSerializer, responses={201: PrescriptionSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = PrescriptionInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = self._user()
        patient = chart_access(user, data["patient"], section=SECTION, action="update").patient
        made = services.add_prescription(
            actor=user,
            patient=patient,
            medication_class=data["medication_class"],
            name=data["name"],
            prescriber=data.get("prescriber", ""),
            start_date=data["start_date"],
            end_date=data.get("end_date"),
        )
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED)
