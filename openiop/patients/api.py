"""Patients over the REST API: the same selectors, services, scope and audit as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import Facility, User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.patients import consent_rules, consents, disclosure, rules, selectors, services
from openiop.patients import support as support_system
from openiop.patients.models import Consent, Disclosure, Patient, SupportContact

SENSITIVE_FIELDS = ("sexual_orientation", "lgbtq_group_opt_in", "survivor_group_opt_in")


class EmergencyContactSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(required=False)

    class Meta:
        model = SupportContact
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
            .prefetch_related("support_contacts")
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
            .prefetch_related("support_contacts")
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
        patient = Patient.objects.prefetch_related("support_contacts").get(pk=patient.pk)
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
        fresh = Patient.objects.prefetch_related("support_contacts").get(pk=patient.pk)
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
        prefetch_related_objects(result.patients, "support_contacts")
        return Response(
            {
                "results": self.get_serializer(result.patients, many=True).data,
                "more": result.more,
                "kind": result.kind,
            }
        )


# --- support system, consents and disclosures ---------------------------------------------------


class _PatientRecordViewSet(viewsets.GenericViewSet):
    """Rows that belong to a patient: scoped like the chart (404 outside), audited, by role.

    ``read_permission`` opens list and retrieve, ``write_permission`` the writes (403 without).
    """

    read_permission = ""
    write_permission = ""
    section = ""
    write_actions = frozenset({"create", "update", "partial_update"})

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = self._user()
        writes = self.action in self.write_actions
        needed = self.write_permission if writes else self.read_permission
        if not user.can(needed):
            record(actor=user, action=AuditEvent.Action.DENIED, section=self.section)
            raise exceptions.PermissionDenied("Your role does not have access to this.")

    def scoped(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        qs = qs.filter(patient__in=selectors.visible_patients(self._user()).values("pk"))
        patient = self.request.query_params.get("patient")
        if self.action == "list" and patient is not None:
            qs = qs.filter(patient_id=int(patient) if patient.isdigit() else 0)
        return qs

    def _open(self, patient_id: int, *, action: str = "view") -> Patient:
        """The patient's chart as the pages open it: 404 out of scope, audited."""
        return selectors.chart_access(
            self._user(), patient_id, section=f"{self.section} (API)", action=action
        ).patient

    def get_object(self) -> Any:
        pk = str(self.kwargs["pk"])
        row = self.get_queryset().filter(pk=int(pk) if pk.isdigit() else 0).first()
        if row is None:
            raise exceptions.NotFound("Not found.")
        row.patient = self._open(row.patient_id)
        return row

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        data = self.get_serializer(rows, many=True).data
        patient = request.query_params.get("patient", "")
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW if patient.isdigit() else AuditEvent.Action.SEARCH,
            patient=int(patient) if patient.isdigit() and rows else None,
            section=f"{self.section} (API)",
            detail={"results": len(rows)},
        )
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)


class SupportContactSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="patient_id")

    class Meta:
        model = SupportContact
        fields = ["id", "patient", *support_system.SUPPORT_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            self.fields["patient"].read_only = True

    def validate_phone(self, value: str) -> str:
        try:
            return rules.normalize_phone(value)[0] if value else ""
        except rules.PhoneError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class SupportContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    _PatientRecordViewSet,
):
    """The support system of patients in your scope (front desk: emergency contacts only)."""

    serializer_class = SupportContactSerializer
    queryset = SupportContact.objects.none()  # for the schema; get_queryset scopes
    read_permission = "patients.view_emergency_contacts"
    write_permission = "patients.manage_support"
    section = "support system"

    def get_queryset(self) -> QuerySet[SupportContact]:
        qs = self.scoped(SupportContact.objects.order_by("patient_id", "order", "id"))
        if not self._user().can("patients.view_support_contacts"):
            qs = qs.filter(is_emergency_contact=True, active=True)
        return qs

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        patient = self._open(data.pop("patient_id"), action="update")
        contact = support_system.add_support_contact(actor=self._user(), patient=patient, data=data)
        return Response(self.get_serializer(contact).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        contact = self.get_object()
        serializer = self.get_serializer(contact, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("patient_id", None)
        fresh = support_system.update_support_contact(
            actor=self._user(), contact=contact, data=data
        )
        return Response(self.get_serializer(fresh).data)


class ConsentSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="patient_id")
    categories = serializers.MultipleChoiceField(
        choices=list(consent_rules.CATEGORIES.items()), allow_empty=False
    )
    support_contact = serializers.IntegerField(
        source="support_contact_id", required=False, allow_null=True
    )
    status = serializers.SerializerMethodField(
        help_text="draft, active, expired or revoked, today."
    )
    witnessed_by = serializers.CharField(
        source="witnessed_by.display_name", read_only=True, default=None
    )

    class Meta:
        model = Consent
        fields = [
            "id",
            "patient",
            "kind",
            "status",
            "disclosing_party",
            "information_description",
            "categories",
            "recipients_description",
            "recipient_name",
            "recipient_organization",
            "support_contact",
            "purpose",
            "revocation_statement",
            "expiry_kind",
            "expires_on",
            "signer",
            "representative_name",
            "representative_authority",
            "typed_signature",
            "signed_at",
            "witnessed_by",
            "revoked_on",
            "revoked_at",
            "revocation_method",
            "revocation_note",
            "created_at",
        ]
        read_only_fields = [
            "recipients_description",
            "revocation_statement",
            "signer",
            "representative_name",
            "representative_authority",
            "typed_signature",
            "signed_at",
            "revoked_on",
            "revoked_at",
            "revocation_method",
            "revocation_note",
            "created_at",
        ]
        extra_kwargs = {
            "disclosing_party": {"required": False},
            "information_description": {"required": False},
        }

    def get_status(self, consent: Consent) -> str:
        return consent.status_on(timezone.localdate(timezone=consent.patient.facility.zone))

    def to_representation(self, instance: Consent) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["categories"] = list(instance.categories)  # in the order chosen, not a set
        return data


class ConsentSignSerializer(serializers.Serializer):
    signer = serializers.ChoiceField(choices=Consent.Signer.choices)
    typed_signature = serializers.CharField(max_length=200)
    attested = serializers.BooleanField(
        help_text="The signer confirms that the typed name is their electronic signature."
    )
    representative_name = serializers.CharField(max_length=200, required=False, default="")
    representative_authority = serializers.CharField(max_length=100, required=False, default="")


class ConsentRevokeSerializer(serializers.Serializer):
    revocation_method = serializers.ChoiceField(choices=Consent.RevocationMethod.choices)
    revoked_on = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ConsentViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    _PatientRecordViewSet,
):
    """42 CFR Part 2 consents. Created as drafts; ``sign`` and ``revoke`` are the only changes."""

    serializer_class = ConsentSerializer
    queryset = Consent.objects.none()  # for the schema; get_queryset scopes
    read_permission = "patients.view_consents"
    write_permission = "patients.manage_consents"
    section = "consents"
    write_actions = frozenset({"create", "sign", "revoke"})

    def get_queryset(self) -> QuerySet[Consent]:
        return self.scoped(
            Consent.objects.select_related("patient__facility", "witnessed_by").order_by(
                "-created_at", "-id"
            )
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        patient = self._open(data.pop("patient_id"), action="update")
        contact_id = data.pop("support_contact_id", None)
        if contact_id is not None:
            data["support_contact"] = patient.support_contacts.filter(pk=contact_id).first()
            if data["support_contact"] is None:
                return Response(
                    {"support_contact": ["Choose someone from this patient's support system."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        data["categories"] = [c for c in consent_rules.CATEGORIES if c in data["categories"]]
        consent = consents.create_consent(actor=self._user(), patient=patient, data=data)
        return Response(self.get_serializer(consent).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConsentSignSerializer, responses=ConsentSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str) -> Response:
        """Sign a draft electronically (the server records the time and you as the witness)."""
        consent = self.get_object()
        params = ConsentSignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        signed = consents.sign_consent(actor=self._user(), consent=consent, **params.validated_data)
        return Response(self.get_serializer(signed).data)

    @extend_schema(request=ConsentRevokeSerializer, responses=ConsentSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        """Revoke a signed consent; disclosures made before stay valid."""
        consent = self.get_object()
        params = ConsentRevokeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        revoked = consents.revoke_consent(
            actor=self._user(),
            consent=consent,
            method=data["revocation_method"],
            revoked_on=data["revoked_on"],
            note=data["note"],
        )
        return Response(self.get_serializer(revoked).data)


class DisclosureSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    consent = serializers.IntegerField(source="consent_id", read_only=True, allow_null=True)
    disclosed_by = serializers.CharField(source="disclosed_by.display_name", read_only=True)

    class Meta:
        model = Disclosure
        fields = [
            "id",
            "patient",
            "consent",
            "recipient_name",
            "recipient_organization",
            "tpo_class",
            "categories",
            "description",
            "purpose",
            "method",
            "exception",
            "exception_note",
            "disclosed_at",
            "disclosed_by",
        ]
        read_only_fields = fields


class DisclosureRequestSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    recipient_name = serializers.CharField(max_length=200)
    recipient_organization = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    tpo_class = serializers.ChoiceField(
        choices=list(consent_rules.TPO_CLASSES.items()),
        required=False,
        allow_blank=True,
        default="",
        help_text="Under a TPO consent: which class the recipient belongs to.",
    )
    categories = serializers.MultipleChoiceField(
        choices=list(consent_rules.CATEGORIES.items()), allow_empty=False
    )
    purpose = serializers.CharField()
    method = serializers.ChoiceField(choices=Disclosure.Method.choices, default="pdf")
    consent = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Leave out to find one."
    )
    exception = serializers.ChoiceField(
        choices=Disclosure.ExceptionKind.choices, required=False, allow_blank=True, default=""
    )
    exception_note = serializers.CharField(required=False, allow_blank=True, default="")


class DisclosureViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    _PatientRecordViewSet,
):
    """The disclosure log. Creating one releases records: refused (400, with the reason)
    unless an active consent names the recipient and covers the information."""

    serializer_class = DisclosureSerializer
    queryset = Disclosure.objects.none()  # for the schema; get_queryset scopes
    read_permission = "patients.view_consents"
    write_permission = "patients.release_records"
    section = "disclosures"

    def get_queryset(self) -> QuerySet[Disclosure]:
        return self.scoped(Disclosure.objects.select_related("disclosed_by"))

    @extend_schema(request=DisclosureRequestSerializer, responses={201: DisclosureSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = DisclosureRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        patient = self._open(data.pop("patient"), action="update")
        consent = None
        if data["consent"] is not None:
            consent = patient.consents.filter(pk=data["consent"]).first()
            if consent is None:
                return Response(
                    {"consent": ["Choose one of this patient's consents."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            consent.patient = patient
        made = disclosure.disclose(
            actor=self._user(),
            patient=patient,
            recipient_name=data["recipient_name"],
            recipient_organization=data["recipient_organization"],
            categories=[c for c in consent_rules.CATEGORIES if c in data["categories"]],
            purpose=data["purpose"],
            consent=consent,
            exception=data["exception"] or None,
            exception_note=data["exception_note"],
            tpo_class=data["tpo_class"],
            method=data["method"],
        )
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED)
