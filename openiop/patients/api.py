"""Patients over the REST API: the same selectors, services, scope and audit as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import Facility, User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients import rules, selectors, services
from openiop.patients.models import EmergencyContact, Patient

SENSITIVE_FIELDS = ("sexual_orientation", "lgbtq_group_opt_in", "survivor_group_opt_in")


class EmergencyContactSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(required=False)

    class Meta:
        model = EmergencyContact
        fields = ["id", "name", "relationship", "phone"]

    def validate_phone(self, value: str) -> str:
        try:
            return rules.normalize_phone(value)[0]
        except rules.PhoneError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class PatientSerializer(serializers.ModelSerializer):
    facility = serializers.PrimaryKeyRelatedField(queryset=Facility.objects.all())
    age = serializers.SerializerMethodField()
    emergency_contacts = EmergencyContactSerializer(many=True, required=False)
    confirm_not_duplicate = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Set after checking a possible-duplicate warning: this is a different person.",
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "facility",
            *services.PATIENT_FIELDS,
            "age",
            "emergency_contacts",
            "confirm_not_duplicate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # MRN uniqueness (and assigning one when left out) is the service's job.
        validators: list[object] = []
        extra_kwargs = {"mrn": {"required": False, "allow_blank": True, "validators": []}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # An unknown facility and one the caller does not work at get the same answer.
            self.fields["facility"].queryset = facilities_for(user)  # type: ignore[attr-defined]
            if not user.is_clinical:
                for name in SENSITIVE_FIELDS:
                    self.fields.pop(name, None)
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            self.fields["facility"].read_only = True

    def get_age(self, patient: Patient) -> int:
        return rules.age_on(
            patient.date_of_birth, timezone.localdate(timezone=patient.facility.zone)
        )

    def validate_date_of_birth(self, value: dt.date) -> dt.date:
        problem = rules.birth_date_error(value, timezone.localdate())
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_phone(self, value: str) -> str:
        try:
            return rules.normalize_phone(value)[0]
        except rules.PhoneError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class PatientSearchSerializer(serializers.Serializer):
    query = serializers.CharField(
        max_length=100,
        allow_blank=True,
        help_text="Part of a name, a date of birth, an MRN or a phone number.",
    )
    facility = serializers.IntegerField(required=False, help_text="Limit to one facility.")


class PatientViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Patients in your scope. Out-of-scope patients answer 404, as if they did not exist."""

    serializer_class = PatientSerializer

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def get_queryset(self) -> QuerySet[Patient]:
        qs = (
            selectors.visible_patients(self._user())
            .select_related("facility")
            .prefetch_related("emergency_contacts")
            .order_by("last_name", "first_name", "id")
        )
        facility = self.request.query_params.get("facility")
        if facility and facility.isdigit():
            qs = qs.filter(facility_id=int(facility))
        status_filter = self.request.query_params.get("status")
        if status_filter:
            qs = qs.filter(status=status_filter)
        return qs

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        record(
            actor=request.user,
            action=AuditEvent.Action.SEARCH,
            section="patient list (API)",
            detail={"results": len(response.data.get("results", []))},
        )
        return response

    def get_object(self) -> Patient:
        access = selectors.chart_access(
            self._user(),
            int(self.kwargs["pk"]) if str(self.kwargs["pk"]).isdigit() else 0,
            section="demographics (API)",
        )
        return (
            Patient.objects.select_related("facility")
            .prefetch_related("emergency_contacts")
            .get(pk=access.patient.pk)
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        facility = data.pop("facility")
        contacts = data.pop("emergency_contacts", [])
        confirm = data.pop("confirm_not_duplicate", False)
        try:
            patient = services.create_patient(
                actor=self._user(),
                facility=facility,
                data=data,
                emergency_contacts=contacts,
                confirm_not_duplicate=confirm,
            )
        except services.PossibleDuplicate as dup:
            return Response(
                {
                    "confirm_not_duplicate": [dup.messages[0]],
                    "possible_duplicates": [
                        {"id": p.pk, "mrn": p.mrn, "name": p.display_name} for p in dup.matches
                    ],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        patient = Patient.objects.prefetch_related("emergency_contacts").get(pk=patient.pk)
        return Response(self.get_serializer(patient).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        patient = self.get_object()
        serializer = self.get_serializer(patient, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("facility", None)
        data.pop("confirm_not_duplicate", None)
        contacts = data.pop("emergency_contacts", None)
        with transaction.atomic():  # all of it or nothing
            services.update_patient(actor=self._user(), patient=patient, data=data)
            if contacts is not None:
                services.set_emergency_contacts(
                    actor=self._user(), patient=patient, contacts=contacts
                )
        fresh = Patient.objects.prefetch_related("emergency_contacts").get(pk=patient.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=PatientSearchSerializer, responses=PatientSerializer(many=True))
    @action(detail=False, methods=["post"])
    def search(self, request: Request) -> Response:
        """Search by part of a name, date of birth, MRN or phone (a POST: no PHI in URLs)."""
        params = PatientSearchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        facility = None
        if params.validated_data.get("facility"):
            facility = Facility.objects.filter(
                pk=params.validated_data["facility"], staff=self._user()
            ).first()
            if facility is None:
                return Response(
                    {"facility": ["Choose one of the facilities you work at."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        result = selectors.search_patients(
            self._user(), query=params.validated_data["query"], facility=facility
        )
        # One query for all the contacts the serializer nests, not one per patient.
        prefetch_related_objects(result.patients, "emergency_contacts")
        return Response(
            {
                "results": self.get_serializer(result.patients, many=True).data,
                "more": result.more,
                "kind": result.kind,
            }
        )
