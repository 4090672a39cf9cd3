"""Recovery tracking over the REST API: drug tests (and their clinical response),
prescriptions, drug-test orders (stop, not collected), mutual-help meetings, relapse events
and the sobriety date (history, reset). The same services, scope and audit as the pages.
Lists are one chart at a time (``?patient=``); a patient out of scope is 404; a role
outside the clinical team is 403."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import User
from openiop.admissions.selectors import open_episode
from openiop.attachments.models import Attachment
from openiop.core.chart_api import ChartReadViewSet
from openiop.patients.models import SupportContact
from openiop.patients.selectors import chart_access
from openiop.recovery import rules, selectors, services
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

SECTION = "recovery (API)"
PATIENT = OpenApiParameter("patient", int, required=True, description="The patient (required).")


class ClinicalResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClinicalResponse
        fields = ["actions", "note", "responded_by", "responded_at"]
        read_only_fields = fields


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
            "response",
        ]
        read_only_fields = fields

    response = serializers.SerializerMethodField()

    @extend_schema_field(ClinicalResponseSerializer(allow_null=True))
    def get_response(self, test: DrugTest) -> dict[str, Any] | None:
        found = test.clinical_response
        return ClinicalResponseSerializer(found).data if found is not None else None


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


class ResponseInputSerializer(serializers.Serializer):
    actions = serializers.ListField(
        child=serializers.CharField(), help_text=", ".join(rules.RESPONSE_LABELS)
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Needed with none_needed."
    )


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


class _ReadViewSet(ChartReadViewSet):
    section = SECTION
    refused = selectors.REFUSED
    read_permission = "recovery.view_drugtest"


class _RecoveryViewSet(mixins.CreateModelMixin, _ReadViewSet):
    """Lists, reads and creates (each subclass's ``create`` calls its service)."""


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class DrugTestViewSet(_RecoveryViewSet):
    """Drug tests with a result per substance and its reading (expected, unexpected,
    missing, negative, not readable). Recording an unexpected positive raises a clinical
    alert for the primary clinician."""

    serializer_class = DrugTestSerializer
    queryset = DrugTest.objects.none()  # for the schema; get_queryset scopes
    write_permission = "recovery.add_drugtest"
    write_actions = frozenset({"create", "clinical_response"})
    action_permissions = {"clinical_response": "recovery.add_response"}

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

    @extend_schema(request=ResponseInputSerializer, responses={201: DrugTestSerializer})
    @action(detail=True, methods=["post"], url_path="response")
    def clinical_response(self, request: Request, pk: str | None = None) -> Response:
        """Record the clinical response to the test's result (once); it acknowledges the
        alert the test raised."""
        test: DrugTest = self.get_object()
        params = ResponseInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.record_response(
            actor=self._user(),
            test=test,
            actions=params.validated_data["actions"],
            note=params.validated_data["note"],
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


# --- orders ------------------------------------------------------------------------------------


class CollectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Collection
        fields = ["id", "due_date", "status", "test", "reason", "recorded_by", "recorded_at"]
        read_only_fields = fields


class DrugTestOrderSerializer(serializers.ModelSerializer):
    weekdays = serializers.SerializerMethodField()

    class Meta:
        model = DrugTestOrder
        fields = [
            "id",
            "patient",
            "episode",
            "specimen",
            "observed",
            "panel",
            "substances",
            "frequency",
            "weekdays",
            "per_week",
            "start_date",
            "end_date",
            "reason",
            "ordered_by",
            "ordered_at",
            "stopped_by",
            "stopped_at",
            "stop_reason",
        ]
        read_only_fields = fields

    def get_weekdays(self, order: DrugTestOrder) -> list[int]:
        return list(order.weekday_numbers)


class OrderInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    specimen = serializers.CharField(help_text="urine, oral_fluid or breath")
    observed = serializers.BooleanField(default=True)
    panel = serializers.CharField(
        help_text=f"{', '.join(rules.PANELS)}, or {rules.CUSTOM_PANEL} with substances"
    )
    substances = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    frequency = serializers.CharField(help_text="fixed or random")
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        help_text="0 = Monday … 6 = Sunday: the fixed days, or the days a random one may fall on",
    )
    per_week = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class StopInputSerializer(serializers.Serializer):
    last_day = serializers.DateField()
    reason = serializers.CharField(max_length=300)


class NotCollectedInputSerializer(serializers.Serializer):
    due_date = serializers.DateField()
    status = serializers.ChoiceField(
        choices=[Collection.Status.NOT_COLLECTED.value, Collection.Status.REFUSED.value]
    )
    reason = serializers.CharField(max_length=300)


def _open_episode(user: User, patient_id: int) -> Any:
    patient = chart_access(user, patient_id, section=SECTION, action="update").patient
    episode = open_episode(patient)
    if episode is None:
        raise exceptions.ValidationError(
            {"patient": ["The patient is not in treatment (no open episode)."]}
        )
    return episode


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class DrugTestOrderViewSet(_RecoveryViewSet):
    """Drug-test orders: fixed weekdays, or ``per_week`` random days among ``weekdays``
    (unpredictable, and the same every time they are worked out). A test collected on a due
    day fulfils it; a due day may be marked not collected or refused."""

    serializer_class = DrugTestOrderSerializer
    queryset = DrugTestOrder.objects.none()  # for the schema; get_queryset scopes
    read_permission = "recovery.view_recovery"
    write_permission = "recovery.add_order"
    write_actions = frozenset({"create", "stop", "not_collected"})

    def get_queryset(self) -> QuerySet[DrugTestOrder]:
        return selectors.orders(self._user())

    @extend_schema(request=OrderInputSerializer, responses={201: DrugTestOrderSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = OrderInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = self._user()
        order = services.order_drug_tests(
            actor=user,
            episode=_open_episode(user, data["patient"]),
            specimen=data["specimen"],
            observed=data["observed"],
            panel=data["panel"],
            substances=data["substances"],
            frequency=data["frequency"],
            weekdays=data["weekdays"],
            per_week=data.get("per_week"),
            start_date=data["start_date"],
            end_date=data.get("end_date"),
            reason=data["reason"],
        )
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StopInputSerializer, responses={200: DrugTestOrderSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        """End the order: no collection is due after ``last_day``."""
        order: DrugTestOrder = self.get_object()
        params = StopInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        stopped = services.stop_order(
            actor=self._user(),
            order=order,
            last_day=params.validated_data["last_day"],
            reason=params.validated_data["reason"],
        )
        return Response(self.get_serializer(stopped).data)

    @extend_schema(request=NotCollectedInputSerializer, responses={201: CollectionSerializer})
    @action(detail=True, methods=["post"], url_path="not-collected")
    def not_collected(self, request: Request, pk: str | None = None) -> Response:
        """Mark a due day (today or earlier) not collected or refused, with the reason."""
        order: DrugTestOrder = self.get_object()
        params = NotCollectedInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        made = services.mark_not_collected(
            actor=self._user(),
            order=order,
            due_date=params.validated_data["due_date"],
            status=params.validated_data["status"],
            reason=params.validated_data["reason"],
        )
        return Response(CollectionSerializer(made).data, status=status.HTTP_201_CREATED)


# --- meetings ----------------------------------------------------------------------------------


class MeetingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Meeting
        fields = [
            "id",
            "patient",
            "episode",
            "date",
            "fellowship",
            "fellowship_other",
            "name",
            "setting",
            "place",
            "minutes",
            "verification",
            "verified_by",
            "sponsor_contact",
            "sponsor_name",
            "slip",
            "note",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class MeetingInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    date = serializers.DateField()
    fellowship = serializers.CharField(help_text=", ".join(rules.FELLOWSHIPS))
    fellowship_other = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=120
    )
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    setting = serializers.CharField(help_text=", ".join(rules.MEETING_SETTINGS))
    place = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    minutes = serializers.IntegerField()
    verification = serializers.CharField(help_text=", ".join(rules.VERIFICATIONS))
    sponsor_contact = serializers.IntegerField(
        required=False, allow_null=True, help_text="A support contact marked as sponsor."
    )
    sponsor_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=120
    )
    slip = serializers.IntegerField(
        required=False, allow_null=True, help_text="An attachment of the patient (the slip)."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class MeetingViewSet(_RecoveryViewSet):
    """Mutual-help meetings (12-step and others) the patient attended: not in the future,
    not before the admission."""

    serializer_class = MeetingSerializer
    queryset = Meeting.objects.none()  # for the schema; get_queryset scopes
    read_permission = "recovery.view_recovery"
    write_permission = "recovery.add_meeting"

    def get_queryset(self) -> QuerySet[Meeting]:
        return selectors.meetings(self._user())

    @extend_schema(request=MeetingInputSerializer, responses={201: MeetingSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = MeetingInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = self._user()
        episode = _open_episode(user, data["patient"])
        sponsor = slip = None
        if data.get("sponsor_contact") is not None:
            sponsor = SupportContact.objects.filter(
                pk=data["sponsor_contact"], patient=episode.patient
            ).first()
            if sponsor is None:
                raise exceptions.ValidationError(
                    {"sponsor_contact": ["Choose one of the patient's support contacts."]}
                )
        if data.get("slip") is not None:
            slip = Attachment.objects.filter(pk=data["slip"], patient=episode.patient).first()
            if slip is None:
                raise exceptions.ValidationError(
                    {"slip": ["Choose one of this patient's uploaded documents."]}
                )
        made = services.add_meeting(
            actor=user,
            episode=episode,
            date=data["date"],
            fellowship=data["fellowship"],
            fellowship_other=data["fellowship_other"],
            name=data["name"],
            setting=data["setting"],
            place=data["place"],
            minutes=data["minutes"],
            verification=data["verification"],
            sponsor_contact=sponsor,
            sponsor_name=data["sponsor_name"],
            slip=slip,
            note=data["note"],
        )
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED)


# --- relapse events and the sobriety date ------------------------------------------------------


class RelapseEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RelapseEvent
        fields = [
            "id",
            "patient",
            "episode",
            "date",
            "substances",
            "substances_other",
            "circumstances",
            "triggers",
            "came_to_light",
            "drug_test",
            "responses",
            "response_other",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class RelapseInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    date = serializers.DateField()
    substances = serializers.ListField(
        child=serializers.CharField(), help_text=", ".join(rules.RELAPSE_SUBSTANCES)
    )
    substances_other = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=120
    )
    circumstances = serializers.CharField(required=False, allow_blank=True, default="")
    triggers = serializers.CharField(required=False, allow_blank=True, default="")
    came_to_light = serializers.CharField(help_text=", ".join(rules.CAME_TO_LIGHT))
    drug_test = serializers.IntegerField(required=False, allow_null=True)
    responses = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text=", ".join(rules.RELAPSE_RESPONSES),
    )
    response_other = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=300
    )
    reset_sobriety = serializers.BooleanField(default=True)
    new_sobriety_date = serializers.DateField(
        required=False, allow_null=True, help_text="Default: the day after the date of use."
    )


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class RelapseEventViewSet(_RecoveryViewSet):
    """Relapse events; recording one resets the sobriety date unless
    ``reset_sobriety`` is false (the previous date stays in the history)."""

    serializer_class = RelapseEventSerializer
    queryset = RelapseEvent.objects.none()  # for the schema; get_queryset scopes
    read_permission = "recovery.view_recovery"
    write_permission = "recovery.add_relapse"

    def get_queryset(self) -> QuerySet[RelapseEvent]:
        return selectors.relapses(self._user())

    @extend_schema(request=RelapseInputSerializer, responses={201: RelapseEventSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = RelapseInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = self._user()
        patient = chart_access(user, data["patient"], section=SECTION, action="update").patient
        test = None
        if data.get("drug_test") is not None:
            test = DrugTest.objects.filter(pk=data["drug_test"], patient=patient).first()
            if test is None:
                raise exceptions.ValidationError(
                    {"drug_test": ["Choose one of this patient's drug tests."]}
                )
        made = services.record_relapse(
            actor=user,
            patient=patient,
            date=data["date"],
            substances=data["substances"],
            substances_other=data["substances_other"],
            circumstances=data["circumstances"],
            triggers=data["triggers"],
            came_to_light=data["came_to_light"],
            drug_test=test,
            responses=data["responses"],
            response_other=data["response_other"],
            reset_sobriety=data["reset_sobriety"],
            new_sobriety_date=data.get("new_sobriety_date"),
        )
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED)


class SobrietyDateSerializer(serializers.ModelSerializer):
    class Meta:
        model = SobrietyDate
        fields = [
            "id",
            "patient",
            "sobriety_date",
            "previous_date",
            "reason",
            "reason_text",
            "relapse",
            "set_by",
            "set_at",
        ]
        read_only_fields = fields


class SobrietyResetSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    sobriety_date = serializers.DateField()
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=300,
        help_text="Needed when a date is already recorded.",
    )


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class SobrietyDateViewSet(_ReadViewSet):
    """The sobriety date's history, newest (current) first; ``reset`` sets a new one and
    keeps the previous date with the reason."""

    serializer_class = SobrietyDateSerializer
    queryset = SobrietyDate.objects.none()  # for the schema; get_queryset scopes
    read_permission = "recovery.view_recovery"
    write_permission = "recovery.change_sobriety"
    write_actions = frozenset({"reset"})

    def get_queryset(self) -> QuerySet[SobrietyDate]:
        return selectors.sobriety_dates(self._user())

    @extend_schema(request=SobrietyResetSerializer, responses={201: SobrietyDateSerializer})
    @action(detail=False, methods=["post"])
    def reset(self, request: Request) -> Response:
        """A new sobriety date for the patient; the earlier one stays in the history."""
        params = SobrietyResetSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = self._user()
        patient = chart_access(user, data["patient"], section=SECTION, action="update").patient
        made = services.set_sobriety_date(
            actor=user,
            patient=patient,
            sobriety_date=data["sobriety_date"],
            reason_text=data["reason"],
        )
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED)
