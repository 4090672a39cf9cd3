"""Discharge and continuing care over the REST API: discharges (summary, sign), referrals
and follow-ups (contact attempts, outcomes, closing, the due list). The same services, scope
and audit as the pages. Lists are one chart at a time (``?patient=``), except the follow-ups
due list (``?due=true&facility=``); a patient out of scope is 404; a role without the
capability is 403. A change to a signed discharge answers 409 and changes nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import Facility, User
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.services import record_list
from openiop.core.chart_api import ChartReadViewSet
from openiop.discharge import alumni, rules, services
from openiop.discharge.models import ContactAttempt, Discharge, FollowUp, Referral, StepDown
from openiop.patients.selectors import chart_access, visible_patients

SECTION = "discharge (API)"
REFUSED = "Discharges and referrals are for the clinical team."
FOLLOWUP_REFUSED = "Follow-ups are for the clinical team and the alumni coordinator."
PATIENT = OpenApiParameter("patient", int, required=True, description="The patient (required).")
LOCKED_RESPONSE = OpenApiResponse(description="The discharge is signed: it no longer changes.")
LOCKED = "This discharge is signed and no longer changes."


def _scoped(model: Any, user: User) -> QuerySet[Any]:
    return model.objects.filter(patient__in=visible_patients(user).values("pk"))


def _episode(user: User, patient_id: int, *, open_only: bool) -> EpisodeOfCare:
    """The patient's open episode (or, for referrals, the latest one), else a 400."""
    patient = chart_access(user, patient_id, section=SECTION, action="update").patient
    episodes = EpisodeOfCare.objects.filter(patient=patient).order_by("-admission_date", "-pk")
    found = episodes.filter(discharge_date__isnull=True).first() if open_only else episodes.first()
    if found is None:
        raise exceptions.ValidationError(
            {"patient": ["The patient is not in treatment (no open episode)."]}
            if open_only
            else {"patient": ["The patient has no episode of care."]}
        )
    return found


# --- discharges ---------------------------------------------------------------------------------


class DischargeSerializer(serializers.ModelSerializer):
    reason_label = serializers.CharField(source="get_reason_key_display", read_only=True)
    length_of_stay = serializers.IntegerField(read_only=True)
    los_code = serializers.IntegerField(read_only=True, help_text="TEDS LOS code (SPEC §9).")
    admission_date = serializers.DateField(source="episode.admission_date", read_only=True)

    class Meta:
        model = Discharge
        fields = [
            "id",
            "patient",
            "episode",
            "facility",
            "admission_date",
            "discharge_date",
            "length_of_stay",
            "los_code",
            "reason_key",
            "reason_label",
            "reason",
            "reason_detail",
            "early_reason",
            "continuing_care",
            "step_down",
            "step_down_provider",
            "step_down_date",
            "followup_agreed",
            "followup_contact",
            "facts",
            "course",
            "condition",
            "recommendations",
            *[f"teds_{n}_d" for n in ("freq1", "freq2", "freq3", "employ", "livarag")],
            "teds_arrests_d",
            "teds_self_help_d",
            "created_by",
            "created_at",
            "updated_at",
            "signed_at",
            "signed_by",
            "sign_method",
        ]
        read_only_fields = fields


TEDS_D_FIELDS = (
    "teds_freq1_d",
    "teds_freq2_d",
    "teds_freq3_d",
    "teds_employ_d",
    "teds_livarag_d",
    "teds_arrests_d",
    "teds_self_help_d",
)


class DischargeInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    discharge_date = serializers.DateField()
    reason_key = serializers.ChoiceField(choices=rules.REASON_CHOICES)
    reason_detail = serializers.CharField(required=False, allow_blank=True, default="")
    early_reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Needed before day 90."
    )
    continuing_care = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Needed before day 90."
    )
    step_down = serializers.ChoiceField(choices=StepDown.choices)
    step_down_provider = serializers.CharField(required=False, allow_blank=True, default="")
    step_down_date = serializers.DateField(required=False, allow_null=True, default=None)
    followup_agreed = serializers.BooleanField(default=True)
    followup_contact = serializers.CharField(required=False, allow_blank=True, default="")
    cancel_future = serializers.BooleanField(
        default=True,
        help_text="Cancel appointments after the discharge date and end group enrollments.",
    )
    teds_freq1_d = serializers.IntegerField(required=False, allow_null=True, default=None)
    teds_freq2_d = serializers.IntegerField(required=False, allow_null=True, default=None)
    teds_freq3_d = serializers.IntegerField(required=False, allow_null=True, default=None)
    teds_employ_d = serializers.IntegerField(required=False, allow_null=True, default=None)
    teds_livarag_d = serializers.IntegerField(required=False, allow_null=True, default=None)
    teds_arrests_d = serializers.IntegerField(required=False, allow_null=True, default=None)
    teds_self_help_d = serializers.IntegerField(required=False, allow_null=True, default=None)


class DischargeChangeSerializer(serializers.Serializer):
    discharge_date = serializers.DateField(required=False)
    reason_key = serializers.ChoiceField(choices=rules.REASON_CHOICES, required=False)
    reason_detail = serializers.CharField(required=False, allow_blank=True)
    early_reason = serializers.CharField(required=False, allow_blank=True)
    continuing_care = serializers.CharField(required=False, allow_blank=True)
    step_down = serializers.ChoiceField(choices=StepDown.choices, required=False)
    step_down_provider = serializers.CharField(required=False, allow_blank=True)
    step_down_date = serializers.DateField(required=False, allow_null=True)
    followup_agreed = serializers.BooleanField(required=False)
    followup_contact = serializers.CharField(required=False, allow_blank=True)
    teds_freq1_d = serializers.IntegerField(required=False, allow_null=True)
    teds_freq2_d = serializers.IntegerField(required=False, allow_null=True)
    teds_freq3_d = serializers.IntegerField(required=False, allow_null=True)
    teds_employ_d = serializers.IntegerField(required=False, allow_null=True)
    teds_livarag_d = serializers.IntegerField(required=False, allow_null=True)
    teds_arrests_d = serializers.IntegerField(required=False, allow_null=True)
    teds_self_help_d = serializers.IntegerField(required=False, allow_null=True)
    course = serializers.CharField(required=False, allow_blank=True)
    condition = serializers.CharField(required=False, allow_blank=True)
    recommendations = serializers.CharField(required=False, allow_blank=True)


class DischargeSignSerializer(serializers.Serializer):
    password = serializers.CharField(required=False, allow_blank=True, default="")
    code = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="An authenticator code."
    )


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class DischargeViewSet(mixins.CreateModelMixin, ChartReadViewSet):
    """Discharges with their TEDS reason and LOS code, the facts at discharge and the
    summary. Recording one closes the episode, schedules the follow-ups and (by default)
    cancels later appointments; the summary is completed, then signed, then locked."""

    serializer_class = DischargeSerializer
    queryset = Discharge.objects.none()  # for the schema; get_queryset scopes
    section = SECTION
    refused = REFUSED
    read_permission = "discharge.view_discharge"
    write_permission = "discharge.add_discharge"
    write_actions = frozenset({"create", "partial_update", "sign"})

    def get_queryset(self) -> QuerySet[Discharge]:
        return _scoped(Discharge, self._user()).select_related("episode")

    @extend_schema(request=DischargeInputSerializer, responses={201: DischargeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = DischargeInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        user = self._user()
        episode = _episode(user, data.pop("patient"), open_only=True)
        teds_d = {name: data.pop(name) for name in TEDS_D_FIELDS}
        made = services.discharge_patient(actor=user, episode=episode, teds_d=teds_d, **data)
        fresh = self.get_queryset().get(pk=made.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DischargeChangeSerializer,
        responses={200: DischargeSerializer, 409: LOCKED_RESPONSE},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        discharge: Discharge = self.get_object()
        if discharge.is_signed:
            return Response({"detail": LOCKED}, status=status.HTTP_409_CONFLICT)
        params = DischargeChangeSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        summary = {k: data.pop(k) for k in ("course", "condition", "recommendations") if k in data}
        user = self._user()
        if data:
            services.update_discharge(actor=user, discharge=discharge, **data)
        if summary:
            discharge.refresh_from_db()
            services.save_summary(
                actor=user,
                discharge=discharge,
                course=summary.get("course", discharge.course),
                condition=summary.get("condition", discharge.condition),
                recommendations=summary.get("recommendations", discharge.recommendations),
            )
        fresh = self.get_queryset().get(pk=discharge.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        request=DischargeSignSerializer, responses={200: DischargeSerializer, 409: LOCKED_RESPONSE}
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        """Sign the summary with your password or an authenticator code; it is then locked."""
        discharge: Discharge = self.get_object()
        if discharge.is_signed:
            return Response({"detail": LOCKED}, status=status.HTTP_409_CONFLICT)
        params = DischargeSignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.sign_discharge(
            actor=self._user(),
            discharge=discharge,
            password=params.validated_data["password"] or None,
            code=params.validated_data["code"] or None,
        )
        fresh = self.get_queryset().get(pk=discharge.pk)
        return Response(self.get_serializer(fresh).data)


# --- referrals ----------------------------------------------------------------------------------


class ReferralSerializer(serializers.ModelSerializer):
    class Meta:
        model = Referral
        fields = [
            "id",
            "patient",
            "episode",
            "kind",
            "provider",
            "contact",
            "status",
            "status_on",
            "note",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReferralInputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Referral.Kind.choices)
    provider = serializers.CharField(max_length=200)
    contact = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=Referral.Status.choices, default="planned")
    status_on = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReferralChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Referral.Status.choices)
    status_on = serializers.DateField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


@extend_schema_view(list=extend_schema(parameters=[PATIENT]))
class ReferralViewSet(mixins.CreateModelMixin, ChartReadViewSet):
    """Referrals (vocational training, medical, psychiatric, housing, legal, education) and
    their status; they stay open to updates after the discharge is signed."""

    serializer_class = ReferralSerializer
    queryset = Referral.objects.none()
    section = SECTION
    refused = REFUSED
    read_permission = "discharge.view_discharge"
    write_permission = "discharge.add_referral"
    write_actions = frozenset({"create", "partial_update"})

    def get_queryset(self) -> QuerySet[Referral]:
        return _scoped(Referral, self._user())

    @extend_schema(request=ReferralInputSerializer, responses={201: ReferralSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = ReferralInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        user = self._user()
        episode = _episode(user, data.pop("patient"), open_only=False)
        made = services.add_referral(actor=user, episode=episode, **data)
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReferralChangeSerializer, responses={200: ReferralSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        referral: Referral = self.get_object()
        params = ReferralChangeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.update_referral(actor=self._user(), referral=referral, **params.validated_data)
        fresh = self.get_queryset().get(pk=referral.pk)
        return Response(self.get_serializer(fresh).data)


# --- follow-ups ---------------------------------------------------------------------------------


class FollowUpAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactAttempt
        fields = ["id", "attempted_at", "method", "result", "note", "by"]
        read_only_fields = fields


class FollowUpSerializer(serializers.ModelSerializer):
    attempts = FollowUpAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "patient",
            "episode",
            "facility",
            "days_after",
            "due_on",
            "status",
            "completed_on",
            "any_use",
            "days_used_30",
            "meetings_30",
            "working_or_school",
            "housing",
            "readmitted",
            "note",
            "completed_by",
            "attempts",
        ]
        read_only_fields = fields


class AttemptInputSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    method = serializers.ChoiceField(choices=ContactAttempt.Method.choices)
    result = serializers.ChoiceField(choices=ContactAttempt.Result.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OutcomeInputSerializer(serializers.Serializer):
    completed_on = serializers.DateField()
    any_use = serializers.BooleanField(allow_null=True)
    days_used_30 = serializers.IntegerField(allow_null=True, required=False, default=None)
    meetings_30 = serializers.IntegerField(allow_null=True, required=False, default=None)
    working_or_school = serializers.BooleanField(allow_null=True, required=False, default=None)
    housing = serializers.ChoiceField(
        choices=FollowUp.Housing.choices, required=False, allow_blank=True, default=""
    )
    readmitted = serializers.BooleanField(allow_null=True, required=False, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CloseInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[
            (s.value, s.label)
            for s in (
                FollowUp.Status.UNREACHABLE,
                FollowUp.Status.DECLINED,
                FollowUp.Status.CANCELLED,
            )
        ]
    )
    note = serializers.CharField(help_text="Why: required.")


DUE = OpenApiParameter(
    "due", bool, description="true: the facility's follow-ups due soon and overdue."
)
FACILITY = OpenApiParameter("facility", int, description="With due=true: the facility.")


@extend_schema_view(list=extend_schema(parameters=[PATIENT, DUE, FACILITY]))
class FollowUpViewSet(ChartReadViewSet):
    """Follow-ups at 30, 60, 90, 180 and 365 days after discharge (configurable), their
    contact attempts and outcomes. ``?patient=`` lists one chart's; ``?due=true&facility=``
    is the alumni coordinator's due list (due within the window, overdue first)."""

    serializer_class = FollowUpSerializer
    queryset = FollowUp.objects.none()
    section = "follow-ups (API)"
    refused = FOLLOWUP_REFUSED
    read_permission = "discharge.view_followup"
    write_permission = "discharge.change_followup"
    write_actions = frozenset({"attempts", "outcome", "close"})

    def get_queryset(self) -> QuerySet[FollowUp]:
        return _scoped(FollowUp, self._user()).prefetch_related("attempts")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.query_params.get("due") != "true":
            return super().list(request, *args, **kwargs)
        user = self._user()
        raw = request.query_params.get("facility", "")
        facility = (
            Facility.objects.filter(pk=int(raw), staff=user).first() if raw.isdigit() else None
        )
        if facility is None:
            raise exceptions.ValidationError({"facility": ["Give one of your facilities."]})
        rows = alumni.due_followups(user, facility)
        # One audit record per person shown, as the page writes.
        record_list(
            actor=user,
            patients=[row.patient for row in rows],
            facility_id=facility.pk,
            section="follow-ups due (API)",
        )
        ids = [row.followup.pk for row in rows]
        found = {f.pk: f for f in self.get_queryset().filter(pk__in=ids)}
        ordered = [found[i] for i in ids if i in found]
        return Response(self.get_serializer(ordered, many=True).data)

    def _done(self, followup: FollowUp, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=followup.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=AttemptInputSerializer, responses={201: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def attempts(self, request: Request, pk: str | None = None) -> Response:
        """Record one try to reach the person."""
        followup: FollowUp = self.get_object()
        params = AttemptInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        data.setdefault("attempted_at", timezone.now())
        alumni.record_attempt(actor=self._user(), followup=followup, **data)
        return self._done(followup, status.HTTP_201_CREATED)

    @extend_schema(request=OutcomeInputSerializer, responses={200: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def outcome(self, request: Request, pk: str | None = None) -> Response:
        """Record what the person said: use since discharge, days of use in the past 30,
        meetings, work or school, housing, readmission anywhere."""
        followup: FollowUp = self.get_object()
        params = OutcomeInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        alumni.complete_followup(actor=self._user(), followup=followup, **params.validated_data)
        return self._done(followup)

    @extend_schema(request=CloseInputSerializer, responses={200: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close without an answer: could not reach, declined, or not needed."""
        followup: FollowUp = self.get_object()
        params = CloseInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        alumni.close_followup(actor=self._user(), followup=followup, **params.validated_data)
        return self._done(followup)
