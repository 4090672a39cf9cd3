"""Assessments over the REST API: the same selectors, services, scope and audit as the pages.

Bad input answers 400 with field errors (a rating of 5 names its dimension); an edit of a
signed assessment answers 409; a patient out of scope answers 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import User
from openiop.assessments import icd10, rules, selectors, services
from openiop.assessments.models import (
    Addendum,
    AsamAssessment,
    Biopsychosocial,
    Diagnosis,
    SubstanceUse,
)
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core.permissions import IsStaffUser
from openiop.patients.models import Patient
from openiop.patients.selectors import chart_access, visible_patients

NARRATIVE_ASAM_FIELDS = (*services.RATIONALE_FIELDS, "override_reason", "addenda")


class AddendumSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name", read_only=True)

    class Meta:
        model = Addendum
        fields = ["id", "text", "author", "created_at"]
        read_only_fields = ["created_at"]


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, help_text="Your own password, to sign."
    )


class _PatientField(serializers.PrimaryKeyRelatedField):
    """A patient in the caller's scope; an unknown one and one out of scope answer alike."""

    def get_queryset(self) -> QuerySet[Patient]:
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return Patient.objects.none()
        return visible_patients(request.user)


class AsamSerializer(serializers.ModelSerializer):
    patient = _PatientField()
    recommendation_label = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.display_name", read_only=True)
    signed_by = serializers.CharField(source="signed_by.display_name", read_only=True, default=None)
    addenda = AddendumSerializer(many=True, read_only=True)

    class Meta:
        model = AsamAssessment
        fields = [
            "id",
            "patient",
            "status",
            *[f for d in rules.DIMENSIONS for f in (f"d{d}_rating", f"d{d}_rationale")],
            "recommendation",
            "recommendation_label",
            "recommendation_reason",
            "table_version",
            "final_level",
            "override_reason",
            "created_by",
            "created_at",
            "updated_at",
            "signed_by",
            "signed_at",
            "addenda",
        ]
        read_only_fields = [
            "status",
            "recommendation",
            "recommendation_reason",
            "table_version",
            "created_at",
            "updated_at",
            "signed_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for d in rules.DIMENSIONS:
            # Checked by the rules, so a 5 is refused with the dimension's name and scale.
            self.fields[f"d{d}_rating"] = serializers.IntegerField(
                required=not self.partial, help_text=f"0–4: {rules.DIMENSION_NAMES[d]}"
            )
            self.fields[f"d{d}_rationale"] = serializers.CharField(
                required=not self.partial, allow_blank=True
            )
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            self.fields["patient"].read_only = True
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.can("assessments.view_narrative")
        ):
            for name in NARRATIVE_ASAM_FIELDS:
                self.fields.pop(name, None)

    def get_recommendation_label(self, assessment: AsamAssessment) -> str:
        return rules.RECOMMENDATIONS.get(assessment.recommendation, "")


class SubstanceUseSerializer(serializers.ModelSerializer):
    # Plain types here: the service checks the TEDS codes and dates with plain messages.
    rank = serializers.IntegerField()
    substance = serializers.IntegerField(help_text="TEDS SUB code (2–19).")
    route = serializers.IntegerField(required=False, allow_null=True, help_text="TEDS ROUTE.")
    frequency = serializers.IntegerField(required=False, allow_null=True, help_text="TEDS FREQ.")
    age_first_use = serializers.IntegerField(required=False, allow_null=True)

    class Meta:
        model = SubstanceUse
        fields = ["rank", "substance", "route", "frequency", "age_first_use", "last_use", "notes"]
        extra_kwargs = {"last_use": {"required": False}, "notes": {"required": False}}


class DiagnosisSerializer(serializers.ModelSerializer):
    code = serializers.CharField(max_length=12, help_text="ICD-10-CM, e.g. F10.20.")
    description = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text="Taken from the list; needed only for a code that is not in it.",
    )

    class Meta:
        model = Diagnosis
        fields = ["code", "description", "is_primary", "not_in_list", "is_substance_use"]
        read_only_fields = ["not_in_list", "is_substance_use"]


class BiopsychosocialSerializer(serializers.ModelSerializer):
    patient = _PatientField()
    substance_uses = SubstanceUseSerializer(many=True, required=False)
    diagnoses = DiagnosisSerializer(many=True, required=False)
    prior_treatment_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=list(rules.PRIOR_TREATMENT_KINDS)), required=False
    )
    current_symptoms = serializers.ListField(
        child=serializers.ChoiceField(choices=list(rules.CURRENT_SYMPTOMS)), required=False
    )
    group_preferences = serializers.ListField(
        child=serializers.ChoiceField(choices=list(rules.GROUP_PREFERENCES)), required=False
    )
    created_by = serializers.CharField(source="created_by.display_name", read_only=True)
    signed_by = serializers.CharField(source="signed_by.display_name", read_only=True, default=None)
    addenda = AddendumSerializer(many=True, read_only=True)

    class Meta:
        model = Biopsychosocial
        fields = [
            "id",
            "patient",
            "status",
            *services.BPS_FIELDS,
            "substance_uses",
            "diagnoses",
            "created_by",
            "created_at",
            "updated_at",
            "signed_by",
            "signed_at",
            "addenda",
        ]
        read_only_fields = ["status", "created_at", "updated_at", "signed_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("bp_systolic", "bp_diastolic", "pulse", "respirations"):
            # Ranges are the rules' (plain messages), not the model field's.
            self.fields[name] = serializers.IntegerField(required=False, allow_null=True)
        if self.instance is not None and not isinstance(self.instance, list | QuerySet):
            self.fields["patient"].read_only = True


def _pk(value: Any) -> int:
    text = str(value)
    return int(text) if text.isdigit() else 0


def _locked() -> Response:
    return Response({"detail": services.LOCKED_MESSAGE}, status=status.HTTP_409_CONFLICT)


_list_params = extend_schema(
    parameters=[OpenApiParameter("patient", int, description="Only this patient's assessments.")]
)


class _AssessmentViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsStaffUser]
    http_method_names = ["get", "post", "patch", "head", "options"]
    section = ""

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def _scoped(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        qs = qs.filter(patient__in=visible_patients(self._user()).values("pk"))
        patient = self.request.query_params.get("patient")
        if patient is not None:
            qs = qs.filter(patient_id=_pk(patient))
        return qs.order_by("-created_at", "-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            section=f"{self.section} list (API)",
            detail={"results": len(response.data.get("results", []))},
        )
        return response


@extend_schema_view(list=_list_params)
class AsamViewSet(_AssessmentViewSet):
    """ASAM assessments: six dimensions 0–4 with rationales, the recommendation from the
    organization's table, the final level (with a reason when it differs). Drafts change
    with PATCH; ``sign`` locks; ``addenda`` adds to a signed one."""

    serializer_class = AsamSerializer
    section = "ASAM assessment"

    def get_queryset(self) -> QuerySet[AsamAssessment]:
        selectors.require_reader(self._user())
        return self._scoped(
            AsamAssessment.objects.select_related("created_by", "signed_by").prefetch_related(
                "addenda__author"
            )
        )

    def get_object(self) -> AsamAssessment:
        _access, assessment = selectors.open_asam(
            self._user(), _pk(self.kwargs["pk"]), section="ASAM assessment (API)"
        )
        return assessment

    def _data(self, validated: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in validated.items() if k in services.ASAM_FIELDS}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        selectors.require_writer(self._user())
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access = chart_access(
            self._user(), serializer.validated_data["patient"].pk, section="ASAM assessment (API)"
        )
        assessment = services.create_asam(
            actor=self._user(), patient=access.patient, data=self._data(serializer.validated_data)
        )
        return Response(self.get_serializer(assessment).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        selectors.require_writer(self._user())
        assessment = self.get_object()
        serializer = self.get_serializer(assessment, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            assessment = services.update_asam(
                actor=self._user(),
                assessment=assessment,
                data=self._data(serializer.validated_data),
            )
        except services.AssessmentLocked:
            return _locked()
        _access, fresh = selectors.open_asam(self._user(), assessment.pk, section="ASAM (API)")
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        request=PasswordSerializer,
        responses={200: AsamSerializer, 409: OpenApiResponse(description="Already signed.")},
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        """Sign and lock (re-enter your password). Needs the final level."""
        selectors.require_writer(self._user())
        assessment = self.get_object()
        params = PasswordSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            services.sign_asam(
                actor=self._user(),
                assessment=assessment,
                password=params.validated_data["password"],
            )
        except services.AssessmentLocked:
            return _locked()
        _access, fresh = selectors.open_asam(self._user(), assessment.pk, section="ASAM (API)")
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        methods=["post"], request=AddendumSerializer, responses={201: AddendumSerializer}
    )
    @extend_schema(methods=["get"], responses={200: AddendumSerializer(many=True)})
    @action(detail=True, methods=["get", "post"])
    def addenda(self, request: Request, pk: str | None = None) -> Response:
        """The addenda of a signed assessment; POST ``text`` to add one."""
        return _addenda(self, request, self.get_object())


def _addenda(
    view: _AssessmentViewSet, request: Request, assessment: AsamAssessment | Biopsychosocial
) -> Response:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "GET":
        if not user.can("assessments.view_narrative"):
            selectors.require_writer(user)
        return Response(AddendumSerializer(assessment.addenda.all(), many=True).data)
    params = AddendumSerializer(data=request.data)
    params.is_valid(raise_exception=True)
    addendum = services.add_addendum(
        actor=user, assessment=assessment, text=params.validated_data["text"]
    )
    return Response(AddendumSerializer(addendum).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=_list_params)
class BiopsychosocialViewSet(_AssessmentViewSet):
    """Biopsychosocial assessments (clinical team only). PATCH any fields of a draft;
    ``substance_uses`` and ``diagnoses``, when sent, replace the rows."""

    serializer_class = BiopsychosocialSerializer
    section = "biopsychosocial assessment"

    def get_queryset(self) -> QuerySet[Biopsychosocial]:
        user = self._user()
        if not user.can("assessments.view_narrative"):
            selectors.require_reader(user)
            selectors.require_writer(user)  # admissions: the narrative is the clinical team's
        return self._scoped(
            Biopsychosocial.objects.select_related("created_by", "signed_by").prefetch_related(
                "substance_uses", "diagnoses", "addenda__author"
            )
        )

    def get_object(self) -> Biopsychosocial:
        _access, assessment = selectors.open_biopsychosocial(
            self._user(), _pk(self.kwargs["pk"]), section="biopsychosocial assessment (API)"
        )
        return assessment

    def _save(self, assessment: Biopsychosocial, validated: dict[str, Any]) -> Biopsychosocial:
        return services.save_biopsychosocial(
            actor=self._user(),
            assessment=assessment,
            data={k: v for k, v in validated.items() if k in services.BPS_FIELDS},
            substance_uses=validated.get("substance_uses"),
            diagnoses=validated.get("diagnoses"),
            section="API",
        )

    def _fresh(self, pk: int) -> Response:
        _access, fresh = selectors.open_biopsychosocial(
            self._user(), pk, section="biopsychosocial assessment (API)"
        )
        return Response(self.get_serializer(fresh).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        selectors.require_writer(self._user())
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        access = chart_access(
            self._user(), data["patient"].pk, section="biopsychosocial assessment (API)"
        )
        from django.db import transaction

        with transaction.atomic():  # the draft and its first values, or nothing
            assessment = services.create_biopsychosocial(actor=self._user(), patient=access.patient)
            if len(data) > 1:
                self._save(assessment, data)
        response = self._fresh(assessment.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        selectors.require_writer(self._user())
        assessment = self.get_object()
        serializer = self.get_serializer(assessment, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            self._save(assessment, dict(serializer.validated_data))
        except services.AssessmentLocked:
            return _locked()
        return self._fresh(assessment.pk)

    @extend_schema(
        request=PasswordSerializer,
        responses={
            200: BiopsychosocialSerializer,
            409: OpenApiResponse(description="Already signed."),
        },
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        """Sign and lock (re-enter your password). Needs goals in the person's own words and
        at least one substance row or ``no_substance_use_reported``."""
        selectors.require_writer(self._user())
        assessment = self.get_object()
        params = PasswordSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            services.sign_biopsychosocial(
                actor=self._user(),
                assessment=assessment,
                password=params.validated_data["password"],
            )
        except services.AssessmentLocked:
            return _locked()
        return self._fresh(assessment.pk)

    @extend_schema(
        methods=["post"], request=AddendumSerializer, responses={201: AddendumSerializer}
    )
    @extend_schema(methods=["get"], responses={200: AddendumSerializer(many=True)})
    @action(detail=True, methods=["get", "post"])
    def addenda(self, request: Request, pk: str | None = None) -> Response:
        """The addenda of a signed assessment; POST ``text`` to add one."""
        return _addenda(self, request, self.get_object())


class AsamRuleSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    rule_label = serializers.CharField()
    dimensions = serializers.ListField(child=serializers.IntegerField())
    match = serializers.ChoiceField(choices=list(rules.MATCHES))
    at_least = serializers.IntegerField()
    recommendation = serializers.ChoiceField(choices=list(rules.RECOMMENDATIONS))
    recommendation_label = serializers.CharField()
    condition = serializers.CharField()


class AsamTableSerializer(serializers.Serializer):
    custom = serializers.BooleanField(help_text="False: the default table of SPEC §5.")
    version = serializers.CharField()
    rules = AsamRuleSerializer(many=True)


class AsamRuleViewSet(viewsets.ViewSet):
    """The level-of-care table that recommendations use at your organization (first match
    wins). It is changed on the page Assessments → Level-of-care table."""

    permission_classes = [IsStaffUser]

    @extend_schema(responses=AsamTableSerializer)
    def list(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        if not user.can("assessments.view_asamrule"):
            selectors.require_reader(user)
        table = selectors.table_for(user.organization)
        return Response(
            {
                "custom": table.custom,
                "version": table.version,
                "rules": [
                    {
                        "order": position,
                        "dimensions": list(rule.dimensions),
                        "match": rule.match,
                        "at_least": rule.at_least,
                        "recommendation": rule.recommendation,
                        "recommendation_label": rule.recommendation_label,
                        "rule_label": rule.label,
                        "condition": rule.describe(),
                    }
                    for position, rule in enumerate(table.rules, start=1)
                ],
            }
        )


class Icd10CodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()


class Icd10ViewSet(viewsets.ViewSet):
    """Search the shipped ICD-10-CM list (F codes, common Z codes) by code or words."""

    permission_classes = [IsStaffUser]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="A code prefix (F10.2) or words."),
            OpenApiParameter("limit", int, description="At most this many (1–100, default 25)."),
        ],
        responses=Icd10CodeSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        selectors.require_reader(request.user)  # type: ignore[arg-type]
        query = str(request.query_params.get("q", ""))[:60]
        limit_text = str(request.query_params.get("limit", "25"))
        limit = min(max(int(limit_text), 1), 100) if limit_text.isdigit() else 25
        results = icd10.search(query, limit=limit)
        return Response([{"code": c.code, "description": c.description} for c in results])
