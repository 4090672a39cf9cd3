"""Episodes of care over the REST API: the same services, scope and audit as the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import Program, Track, User
from openiop.admissions import selectors, services
from openiop.admissions.models import Coverage, EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients.models import Patient
from openiop.patients.selectors import chart_access, visible_patients


class CoverageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Coverage
        fields = ["priority", *services.COVERAGE_FIELDS]


class EpisodeSerializer(serializers.ModelSerializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.none())
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all())
    track = serializers.PrimaryKeyRelatedField(
        queryset=Track.objects.all(), required=False, allow_null=True
    )
    primary_clinician = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    coverage = CoverageSerializer(required=False, write_only=True)
    coverages = CoverageSerializer(many=True, read_only=True)
    days_in_treatment = serializers.SerializerMethodField()
    phase: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = EpisodeOfCare
        fields = [
            "id",
            "patient",
            "facility",
            "program",
            "level_of_care",
            "track",
            "phase",
            "admission_date",
            "discharge_date",
            "primary_clinician",
            "referral_source",
            "referral_detail",
            "expected_length_days",
            "asam_level",
            "days_in_treatment",
            *services.TEDS_FIELDS,
            "coverage",
            "coverages",
            "created_at",
        ]
        read_only_fields = [
            "facility",
            "level_of_care",
            "discharge_date",
            "asam_level",
            "teds_services",
            "created_at",
        ]
        # The one-open-episode rule is the service's, with its own message.
        validators: list[object] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # An unknown patient and one out of scope get the same answer.
            self.fields["patient"].queryset = visible_patients(user)  # type: ignore[attr-defined]

    def get_days_in_treatment(self, episode: EpisodeOfCare) -> int:
        return episode.days_in_treatment(timezone.localdate(timezone=episode.facility.zone))


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("patient", int, description="Only this patient's episodes."),
            OpenApiParameter("open", bool, description="Only open (true) or closed (false)."),
        ]
    )
)
class EpisodeViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Episodes of care (admissions). Creating one admits the patient (one open at a time)."""

    serializer_class = EpisodeSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def get_queryset(self) -> QuerySet[EpisodeOfCare]:
        qs = selectors.visible_episodes(self._user()).prefetch_related("coverages")
        params = self.request.query_params
        patient = params.get("patient")
        if patient is not None:
            qs = qs.filter(patient_id=int(patient) if patient.isdigit() else 0)
        if params.get("open") in ("true", "false"):
            qs = qs.filter(discharge_date__isnull=params["open"] == "true")
        return qs.order_by("-admission_date", "-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            section="episodes (API)",
            detail={"results": len(response.data.get("results", []))},
        )
        return response

    def get_object(self) -> EpisodeOfCare:
        pk = str(self.kwargs["pk"])
        episode = (
            EpisodeOfCare.objects.filter(pk=int(pk) if pk.isdigit() else 0)
            .values_list("patient_id", flat=True)
            .first()
        )
        if episode is None:
            raise Http404
        access = chart_access(self._user(), episode, section="admission (API)")
        return selectors.episodes_of(access.patient).get(pk=int(pk))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        access = chart_access(self._user(), data["patient"].pk, section="admission (API)")
        episode = services.admit(
            actor=self._user(),
            patient=access.patient,
            program=data["program"],
            admission_date=data["admission_date"],
            primary_clinician=data["primary_clinician"],
            referral_source=data["referral_source"],
            track=data.get("track"),
            referral_detail=data.get("referral_detail", ""),
            expected_length_days=data.get("expected_length_days", 90),
            coverage=data.get("coverage"),
            teds_values={k: v for k, v in data.items() if k.startswith("teds_")},
        )
        episode = selectors.episodes_of(access.patient).get(pk=episode.pk)
        return Response(self.get_serializer(episode).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        episode = self.get_object()
        serializer = self.get_serializer(episode, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        coverage = data.pop("coverage", None)
        services.update_episode(actor=self._user(), episode=episode, data=data, coverage=coverage)
        episode = selectors.episodes_of(episode.patient).get(pk=episode.pk)
        return Response(self.get_serializer(episode).data)
