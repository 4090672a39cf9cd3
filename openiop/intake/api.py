"""Inquiries and screenings over the REST API: the same selectors, services, scope and audit.

``POST /api/v1/inquiries/`` is the public help request: no sign-in, the same flood guard as
the web form (429), and an answer that says only ``{"received": true}``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from openiop.accounts.models import Facility, User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core.permissions import IsStaffUser
from openiop.intake import limits, rules, selectors, services
from openiop.intake.forms import CONCERNS
from openiop.intake.models import ContactAttempt, Inquiry, Screening, Stage
from openiop.patients import rules as patient_rules


class HelpRequestThrottle(BaseThrottle):
    """``OPENIOP_HELP_REQUEST_RATE`` per client address, shared with the web form."""

    def allow_request(self, request: Any, view: Any) -> bool:
        return limits.allow_help_request(request)

    def wait(self) -> float | None:
        return float(limits.retry_after_seconds())


# --- Public create --------------------------------------------------------------------------


class PublicInquirySerializer(serializers.Serializer):
    facility = serializers.IntegerField(
        required=False,
        help_text="Which location; needed only when the organization has more than one.",
    )
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    who_needs_help = serializers.ChoiceField(
        choices=Inquiry.WhoNeedsHelp.choices, default=Inquiry.WhoNeedsHelp.SELF
    )
    person_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    concerns = serializers.MultipleChoiceField(choices=CONCERNS, allow_empty=False)
    insurance_payer = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    insurance_member_id = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    best_time_to_call = serializers.ChoiceField(
        choices=Inquiry.BestTime.choices, default=Inquiry.BestTime.ANY
    )
    consent_to_contact = serializers.BooleanField(
        help_text="Must be true: the person agrees to be called, texted or e-mailed back."
    )
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_phone(self, value: str) -> str:
        try:
            return patient_rules.normalize_phone(value)[0]
        except patient_rules.PhoneError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_consent_to_contact(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("We can only reach you if you agree to it.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("phone") and not attrs.get("email"):
            raise serializers.ValidationError(
                {"phone": ["Give a phone number or an e-mail address so we can reach you."]}
            )
        facilities = list(Facility.objects.filter(is_active=True).order_by("name"))
        wanted = attrs.pop("facility", None)
        if len(facilities) == 1 and wanted in (None, facilities[0].pk):
            attrs["facility"] = facilities[0]
        else:
            chosen = next((f for f in facilities if f.pk == wanted), None)
            if chosen is None:
                raise serializers.ValidationError({"facility": ["Choose one of our locations."]})
            attrs["facility"] = chosen
        concerns = attrs.pop("concerns")
        attrs["concern_substances"] = "substances" in concerns
        attrs["concern_mental_health"] = "mental_health" in concerns
        return attrs


class ReceivedSerializer(serializers.Serializer):
    received = serializers.BooleanField()


# --- Staff ----------------------------------------------------------------------------------


class InquirySerializer(serializers.ModelSerializer):
    facility = serializers.IntegerField(source="facility_id", read_only=True)
    owner = serializers.IntegerField(source="owner_id", read_only=True, allow_null=True)
    patient = serializers.IntegerField(source="patient_id", read_only=True, allow_null=True)
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)

    class Meta:
        model = Inquiry
        fields = [
            "id",
            "facility",
            "first_name",
            "last_name",
            "phone",
            "email",
            "who_needs_help",
            "person_name",
            "concern_substances",
            "concern_mental_health",
            "insurance_payer",
            "insurance_member_id",
            "best_time_to_call",
            "consent_to_contact",
            "message",
            "source",
            "referred_by",
            "referral_source",
            "stage",
            "stage_label",
            "referred_to",
            "not_admitted_reason",
            "owner",
            "next_follow_up",
            "assessment_scheduled_for",
            "patient",
            "created_at",
            "stage_changed_at",
            "admitted_at",
            "closed_at",
        ]
        read_only_fields = fields


class InquiryUpdateSerializer(serializers.Serializer):
    owner = serializers.IntegerField(required=False, allow_null=True)
    next_follow_up = serializers.DateField(required=False, allow_null=True)
    assessment_scheduled_for = serializers.DateTimeField(required=False)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    referred_to = serializers.CharField(required=False, allow_blank=True, default="")
    not_admitted_reason = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class ContactAttemptSerializer(serializers.ModelSerializer):
    made_by = serializers.IntegerField(source="made_by_id", read_only=True, allow_null=True)

    class Meta:
        model = ContactAttempt
        fields = ["id", "made_at", "method", "outcome", "note", "made_by"]
        read_only_fields = ["id", "made_by"]
        extra_kwargs = {"made_at": {"required": False}}


class InquiryViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Help requests. Creating one is public; everything else is for the admissions team,
    scoped to their facilities (clinicians: the inquiries they own), 404 outside it."""

    serializer_class = InquirySerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "create":
            return [AllowAny()]
        return [IsStaffUser()]

    def get_throttles(self) -> list[BaseThrottle]:
        return [HelpRequestThrottle()] if self.action == "create" else []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action == "create":
            return
        needed = "intake.view_inquiry"
        if self.action == "partial_update":
            needed = "intake.work_pipeline"
        if self.action == "contact_attempts" and request.method == "POST":
            needed = "intake.log_contact"
        if not self._user().can(needed):
            record(actor=self._user(), action=AuditEvent.Action.DENIED, section="inquiry (API)")
            raise exceptions.PermissionDenied("Your role does not have access to help requests.")

    def get_queryset(self) -> QuerySet[Inquiry]:
        qs = selectors.visible_inquiries(self._user()).select_related("facility", "owner")
        params = self.request.query_params
        if params.get("facility", "").isdigit():
            qs = qs.filter(facility_id=int(params["facility"]))
        if params.get("stage"):
            qs = qs.filter(stage=params["stage"])
        return qs.order_by("-created_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("facility", int, description="Only this facility."),
            OpenApiParameter("stage", str, enum=list(rules.STAGE_LABELS)),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            section="inquiry list (API)",
            detail={"results": len(response.data.get("results", []))},
        )
        return response

    def get_object(self) -> Inquiry:
        pk = str(self.kwargs["pk"])
        return selectors.inquiry_for(self._user(), int(pk) if pk.isdigit() else 0)

    @extend_schema(
        request=PublicInquirySerializer,
        responses={
            201: ReceivedSerializer,
            400: OpenApiResponse(description="Field errors; nothing was saved."),
            429: OpenApiResponse(description="Too many requests from this address."),
        },
        auth=[{}],  # type: ignore[list-item]  # an empty requirement: no sign-in
        description=(
            "The public help request (no sign-in). Rate limited per client address "
            "(OPENIOP_HELP_REQUEST_RATE, default 5 per hour). The answer never echoes what "
            "was sent."
        ),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = PublicInquirySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        facility = data.pop("facility")
        services.submit_help_request(facility=facility, data=data)
        return Response({"received": True}, status=status.HTTP_201_CREATED)

    @extend_schema(request=InquiryUpdateSerializer, responses=InquirySerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Owner, next follow-up, assessment date, and stage (closed outcomes need their field)."""
        inquiry = self.get_object()
        params = InquiryUpdateSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        user = self._user()
        with transaction.atomic():
            updates: dict[str, Any] = {}
            if "owner" in data:
                owner = None
                if data["owner"] is not None:
                    owner = (
                        selectors.owner_choices(inquiry.facility).filter(pk=data["owner"]).first()
                    )
                    if owner is None:
                        raise exceptions.ValidationError(
                            {"owner": ["Choose someone of this facility's team."]}
                        )
                updates["owner"] = owner
            if "next_follow_up" in data:
                updates["next_follow_up"] = data["next_follow_up"]
            if updates:
                services.update_inquiry(actor=user, inquiry=inquiry, data=updates)
            if "assessment_scheduled_for" in data:
                services.schedule_assessment(
                    actor=user, inquiry=inquiry, when=data["assessment_scheduled_for"]
                )
            if "stage" in data:
                services.change_stage(
                    actor=user,
                    inquiry=inquiry,
                    stage=data["stage"],
                    referred_to=data.get("referred_to", ""),
                    not_admitted_reason=data.get("not_admitted_reason", ""),
                    note=data.get("note", ""),
                )
        fresh = Inquiry.objects.select_related("facility", "owner").get(pk=inquiry.pk)
        return Response(InquirySerializer(fresh).data)

    @extend_schema(methods=["GET"], responses=ContactAttemptSerializer(many=True), request=None)
    @extend_schema(
        methods=["POST"],
        request=ContactAttemptSerializer,
        responses={201: ContactAttemptSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="contact-attempts")
    def contact_attempts(self, request: Request, pk: str) -> Response:
        """The contact log; reaching the person of a New inquiry moves it to Contacted."""
        inquiry = self.get_object()
        if request.method == "GET":
            rows = list(selectors.contact_log(inquiry))
            return Response(ContactAttemptSerializer(rows, many=True).data)
        params = ContactAttemptSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        attempt = services.add_contact_attempt(
            actor=self._user(),
            inquiry=inquiry,
            method=params.validated_data.get("method", ContactAttempt.Method.PHONE),
            outcome=params.validated_data["outcome"],
            note=params.validated_data.get("note", ""),
            made_at=params.validated_data.get("made_at"),
        )
        return Response(ContactAttemptSerializer(attempt).data, status=status.HTTP_201_CREATED)


# --- Screenings -----------------------------------------------------------------------------


class CssrsSerializer(serializers.Serializer):
    """The C-SSRS screener's answers: items "1"–"6" true/false, and "6_when"
    ("past_3_months" or "more_than_3_months_ago") when item 6 is true."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError('Give the answers as an object: {"1": false, …}.')
        return {str(k): v for k, v in data.items()}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return dict(instance or {})


class ScreeningSerializer(serializers.ModelSerializer):
    inquiry = serializers.IntegerField(source="inquiry_id")
    patient = serializers.IntegerField(source="patient_id", read_only=True, allow_null=True)
    cssrs_answers = CssrsSerializer()
    screened_by = serializers.IntegerField(source="screened_by_id", read_only=True, allow_null=True)
    outcome = serializers.ChoiceField(
        choices=Screening.Outcome.choices,
        required=False,
        allow_blank=True,
        help_text="Leave out to take the recommendation; a different one needs override_reason.",
    )

    class Meta:
        model = Screening
        fields = [
            "id",
            "inquiry",
            "patient",
            "withdrawal_instrument",
            "withdrawal_score",
            "cssrs_answers",
            "cssrs_band",
            "living_situation",
            "has_support_system",
            "support_who",
            "motivation",
            "track",
            "needs_24h_supervision",
            "unstable",
            "recent_stay",
            "recent_stay_level",
            "recommended_outcome",
            "recommendation_reasons",
            "urgent",
            "next_step",
            "outcome",
            "override_reason",
            "notes",
            "screened_by",
            "screened_at",
        ]
        read_only_fields = [
            "cssrs_band",
            "recommended_outcome",
            "recommendation_reasons",
            "urgent",
            "next_step",
            "screened_at",
        ]


class ScreeningViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Screenings for IOP fit of the inquiries you may see (screening roles only)."""

    serializer_class = ScreeningSerializer
    queryset = Screening.objects.none()  # for the schema; get_queryset scopes the real one

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        needed = "intake.screen" if self.action == "create" else "intake.view_screening"
        if not self._user().can(needed):
            record(actor=self._user(), action=AuditEvent.Action.DENIED, section="screening (API)")
            raise exceptions.PermissionDenied("Your role does not have access to screenings.")

    def get_queryset(self) -> QuerySet[Screening]:
        qs = selectors.visible_screenings(self._user()).order_by("-screened_at", "-id")
        inquiry = self.request.query_params.get("inquiry")
        if self.action == "list" and inquiry is not None:
            qs = qs.filter(inquiry_id=int(inquiry) if inquiry.isdigit() else 0)
        return qs

    @extend_schema(parameters=[OpenApiParameter("inquiry", int, description="One inquiry's.")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            section="inquiry screening (API)",
            detail={"results": len(response.data.get("results", []))},
        )
        return response

    def get_object(self) -> Screening:
        pk = str(self.kwargs["pk"])
        row = self.get_queryset().filter(pk=int(pk) if pk.isdigit() else 0).first()
        if row is None:
            raise exceptions.NotFound("Not found.")
        record(
            actor=self._user(),
            action=AuditEvent.Action.VIEW,
            patient=row.patient_id,
            obj=row,
            section="inquiry screening (API)",
        )
        return row

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.get_serializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        inquiry = selectors.inquiry_for(self._user(), data.pop("inquiry_id"))
        screening = services.record_screening(actor=self._user(), inquiry=inquiry, data=data)
        return Response(self.get_serializer(screening).data, status=status.HTTP_201_CREATED)
