"""Treatment plans over the REST API: the same selectors, services, scope and audit as the
pages.

- Reads need ``plans.view_treatmentplan`` and writes ``plans.change_treatmentplan`` (403
  without, recorded as a refusal); a patient out of scope answers 404 (``chart_access``,
  audited), and lists only hold patients in scope (one audit record per patient shown).
- Bad input answers 400 with field errors from the services (an intensity outside the
  program's dose rules names the rule); an edit of a signed version answers 409 Conflict.
- Choice fields are plain strings here (the services check them with plain messages); the
  allowed values are in each field's description.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import Phase, User
from openiop.admissions.models import EpisodeOfCare, PhaseChange
from openiop.audit.models import AuditEvent
from openiop.audit.services import record, record_list
from openiop.core.permissions import IsStaffUser
from openiop.patients.models import Patient
from openiop.patients.selectors import chart_access, visible_patients
from openiop.plans import rules, selectors, services
from openiop.plans.models import (
    Category,
    Goal,
    Intervention,
    Modality,
    Objective,
    ObjectiveProgress,
    ObjectiveStatus,
    PlanReview,
    PlanVersion,
    Problem,
    RelapsePreventionPlan,
    Signature,
    TreatmentPlan,
)

READ = "plans.view_treatmentplan"
WRITE = "plans.change_treatmentplan"
OPEN_STATUSES = (PlanVersion.Status.DRAFT, PlanVersion.Status.SIGNING)


def _choices(choices: Any) -> str:
    return "One of: " + ", ".join(f"`{value}` ({label})" for value, label in choices) + "."


# --- serializers: what the API shows -----------------------------------------------------------


class SignatureSerializer(serializers.ModelSerializer):
    """A signature without its image (the pad's drawing stays in the chart)."""

    role = serializers.CharField(read_only=True, help_text=_choices(Signature.Role.choices))
    method = serializers.CharField(read_only=True, help_text=_choices(Signature.Method.choices))
    signed_by = serializers.IntegerField(source="signed_by_id", read_only=True)
    signed_by_name = serializers.CharField(source="signed_by.display_name", read_only=True)

    class Meta:
        model = Signature
        fields = ["role", "method", "signed_by", "signed_by_name", "signed_at"]
        read_only_fields = fields


class VersionSummarySerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=_choices(PlanVersion.Status.choices))

    class Meta:
        model = PlanVersion
        fields = [
            "id",
            "number",
            "status",
            "change_reason",
            "created_at",
            "locked_at",
            "activated_at",
            "superseded_at",
        ]
        read_only_fields = fields


class PlanSerializer(serializers.ModelSerializer):
    episode = serializers.IntegerField(source="episode_id", read_only=True)
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    review_due_reason = serializers.CharField(
        read_only=True, help_text=_choices(PlanReview.Reason.choices[:3]) + " Empty: none due."
    )
    active_version = serializers.SerializerMethodField(
        help_text="Number of the signed version in force (null until one is signed)."
    )
    open_version = serializers.SerializerMethodField(
        help_text="Number of the draft or the version waiting for signatures, if any."
    )
    versions = VersionSummarySerializer(many=True, read_only=True)

    class Meta:
        model = TreatmentPlan
        fields = [
            "id",
            "episode",
            "patient",
            "review_due_on",
            "review_due_reason",
            "last_reviewed_on",
            "active_version",
            "open_version",
            "versions",
            "created_at",
        ]
        read_only_fields = fields

    def get_active_version(self, plan: TreatmentPlan) -> int | None:
        return next(
            (v.number for v in plan.versions.all() if v.status == PlanVersion.Status.ACTIVE), None
        )

    def get_open_version(self, plan: TreatmentPlan) -> int | None:
        return next((v.number for v in plan.versions.all() if v.status in OPEN_STATUSES), None)


class InterventionSerializer(serializers.ModelSerializer):
    objective = serializers.IntegerField(source="objective_id", read_only=True)
    modality = serializers.CharField(read_only=True, help_text=_choices(Modality.choices))
    responsible = serializers.IntegerField(source="responsible_id", read_only=True)
    responsible_name = serializers.SerializerMethodField()

    class Meta:
        model = Intervention
        fields = [
            "id",
            "key",
            "objective",
            "order",
            "modality",
            "description",
            "frequency",
            "responsible",
            "responsible_name",
        ]
        read_only_fields = fields

    def get_responsible_name(self, intervention: Intervention) -> str | None:
        return intervention.responsible.display_name if intervention.responsible else None


class ObjectiveSerializer(serializers.ModelSerializer):
    goal = serializers.IntegerField(source="goal_id", read_only=True)
    status = serializers.CharField(read_only=True, help_text=_choices(ObjectiveStatus.choices))

    class Meta:
        model = Objective
        fields = ["id", "key", "goal", "order", "text", "target_date", "status"]
        read_only_fields = fields


class ObjectiveTreeSerializer(ObjectiveSerializer):
    service_count = serializers.IntegerField(
        read_only=True, help_text="Services that worked on this objective (any version)."
    )
    last_service = serializers.DateField(read_only=True, allow_null=True)
    interventions = InterventionSerializer(many=True, read_only=True)

    class Meta(ObjectiveSerializer.Meta):
        fields = [
            *ObjectiveSerializer.Meta.fields,
            "service_count",
            "last_service",
            "interventions",
        ]
        read_only_fields = fields


class GoalSerializer(serializers.ModelSerializer):
    problem = serializers.IntegerField(source="problem_id", read_only=True)

    class Meta:
        model = Goal
        fields = ["id", "key", "problem", "order", "own_words", "clinical"]
        read_only_fields = fields


class GoalTreeSerializer(GoalSerializer):
    objectives = ObjectiveTreeSerializer(many=True, read_only=True)

    class Meta(GoalSerializer.Meta):
        fields = [*GoalSerializer.Meta.fields, "objectives"]
        read_only_fields = fields


class ProblemSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version_id", read_only=True)
    category = serializers.CharField(read_only=True, help_text=_choices(Category.choices))
    asam_dimensions = serializers.ListField(
        source="dimension_numbers", child=serializers.IntegerField(), read_only=True
    )
    diagnosis_codes = serializers.ListField(child=serializers.CharField(), read_only=True)
    goals: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Problem
        fields = [
            "id",
            "key",
            "version",
            "order",
            "category",
            "statement",
            "asam_dimensions",
            "diagnosis_codes",
            "goals",
        ]
        read_only_fields = fields


class ProblemTreeSerializer(ProblemSerializer):
    goals = GoalTreeSerializer(many=True, read_only=True)


class VersionSerializer(serializers.ModelSerializer):
    plan = serializers.IntegerField(source="plan_id", read_only=True)
    patient = serializers.IntegerField(source="plan.patient_id", read_only=True)
    status = serializers.CharField(read_only=True, help_text=_choices(PlanVersion.Status.choices))
    level_of_care = serializers.CharField(read_only=True)
    hours_per_week = serializers.DecimalField(max_digits=6, decimal_places=2, read_only=True)
    track = serializers.IntegerField(source="track_id", read_only=True, allow_null=True)
    track_name = serializers.CharField(source="track.name", read_only=True, default=None)
    created_by = serializers.CharField(
        source="created_by.display_name", read_only=True, default=None
    )
    signatures = SignatureSerializer(many=True, read_only=True)
    missing_signatures = serializers.SerializerMethodField(
        help_text="Signatures still needed before this version becomes the active plan."
    )

    class Meta:
        model = PlanVersion
        fields = [
            "id",
            "plan",
            "patient",
            "number",
            "status",
            "change_reason",
            "level_of_care",
            "hours_per_day",
            "days_per_week",
            "hours_per_week",
            "track",
            "track_name",
            "meetings_per_week",
            "strengths",
            "discharge_criteria",
            "created_by",
            "created_at",
            "locked_at",
            "activated_at",
            "superseded_at",
            "signatures",
            "missing_signatures",
        ]
        read_only_fields = fields

    def get_missing_signatures(self, version: PlanVersion) -> list[str]:
        if version.status not in OPEN_STATUSES:
            return []
        signatures = list(version.signatures.all())  # prefetched with the signers
        clinician = next((s for s in signatures if s.role == Signature.Role.CLINICIAN), None)
        return rules.missing_signatures(
            [s.role for s in signatures],
            clinician_needs_cosign=clinician.signed_by.needs_cosign if clinician else None,
        )


class VersionTreeSerializer(VersionSerializer):
    """A version with its problems → goals → objectives (with the golden thread) →
    interventions."""

    problems = ProblemTreeSerializer(many=True, read_only=True)

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "problems"]
        read_only_fields = fields


class ProgressSerializer(serializers.ModelSerializer):
    objective_text = serializers.CharField(source="objective.text", read_only=True)
    status = serializers.CharField(read_only=True, help_text=_choices(ObjectiveStatus.choices))

    class Meta:
        model = ObjectiveProgress
        fields = ["objective", "objective_text", "status", "note"]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    plan = serializers.IntegerField(source="plan_id", read_only=True)
    version = serializers.IntegerField(
        source="version.number", read_only=True, help_text="The version number reviewed."
    )
    reason = serializers.CharField(read_only=True, help_text=_choices(PlanReview.Reason.choices))
    decision = serializers.CharField(
        read_only=True, help_text=_choices(PlanReview.Decision.choices)
    )
    reviewed_by = serializers.CharField(source="reviewed_by.display_name", read_only=True)
    progress = ProgressSerializer(many=True, read_only=True)

    class Meta:
        model = PlanReview
        fields = [
            "id",
            "plan",
            "version",
            "reviewed_on",
            "reason",
            "decision",
            "summary",
            "reviewed_by",
            "created_at",
            "progress",
        ]
        read_only_fields = fields


class PhaseChangeSerializer(serializers.ModelSerializer):
    episode = serializers.IntegerField(source="episode_id", read_only=True)
    patient = serializers.IntegerField(source="episode.patient_id", read_only=True)
    from_phase = serializers.IntegerField(source="from_phase_id", read_only=True, allow_null=True)
    from_phase_name = serializers.CharField(source="from_phase.name", read_only=True, default=None)
    to_phase = serializers.IntegerField(source="to_phase_id", read_only=True)
    to_phase_name = serializers.CharField(source="to_phase.name", read_only=True)
    changed_by = serializers.CharField(source="changed_by.display_name", read_only=True)
    is_step_back = serializers.BooleanField(read_only=True)

    class Meta:
        model = PhaseChange
        fields = [
            "id",
            "episode",
            "patient",
            "from_phase",
            "from_phase_name",
            "to_phase",
            "to_phase_name",
            "is_step_back",
            "changed_on",
            "reason",
            "changed_by",
            "created_at",
        ]
        read_only_fields = fields


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    relationship = serializers.CharField(source="relationship_label", read_only=True)
    phone = serializers.CharField(read_only=True)


class RelapsePreventionSerializer(serializers.ModelSerializer):
    episode = serializers.IntegerField(source="episode_id", read_only=True)
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    support_contacts = ContactSerializer(many=True, read_only=True)
    updated_by = serializers.CharField(
        source="updated_by.display_name", read_only=True, default=None
    )

    class Meta:
        model = RelapsePreventionPlan
        fields = [
            "id",
            "episode",
            "patient",
            *services.RELAPSE_FIELDS,
            "support_contacts",
            "created_at",
            "updated_at",
            "updated_by",
        ]
        read_only_fields = fields


class CompareItemSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Stable across versions.")
    kind = serializers.CharField(help_text="plan, problem, goal, objective or intervention.")
    # "label" and "parent" are also attributes of a field; the serializer pops them.
    label = serializers.CharField()  # type: ignore[assignment]
    text = serializers.CharField()
    depth = serializers.IntegerField()
    parent = serializers.CharField()  # type: ignore[assignment]


class CompareRowSerializer(serializers.Serializer):
    change = serializers.CharField(help_text="same, changed, added or removed.")
    left = CompareItemSerializer(allow_null=True, help_text="The line in version a.")
    right = CompareItemSerializer(allow_null=True, help_text="The line in version b.")


class ComparisonSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    a = serializers.IntegerField(help_text="Number of the left version.")
    b = serializers.IntegerField(help_text="Number of the right version.")
    counts = serializers.DictField(child=serializers.IntegerField())
    rows = CompareRowSerializer(many=True)


# --- serializers: what the API takes -----------------------------------------------------------


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class PlanCreateSerializer(serializers.Serializer):
    episode = serializers.IntegerField(help_text="The open episode of care the plan is for.")


class NewVersionSerializer(serializers.Serializer):
    reason = _text(default="", help_text="What changes in this version and why (required).")


class IntensitySerializer(serializers.Serializer):
    """Planned intensity, checked against the program's dose rules; fields left out keep
    their value."""

    hours_per_day = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    days_per_week = serializers.IntegerField(required=False)
    track = serializers.IntegerField(
        required=False, allow_null=True, help_text="A track of the person's program."
    )
    meetings_per_week = serializers.IntegerField(required=False)
    strengths = _text()
    discharge_criteria = _text()


class SignSerializer(serializers.Serializer):
    role = serializers.CharField(help_text=_choices(Signature.Role.choices))
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        help_text="Clinician and supervisor: your own password.",
    )
    typed_name = _text(help_text="Patient: their first and last name, as in the chart.")
    attested = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Patient: they took part in and agree with this plan.",
    )
    image = _text(help_text="Patient, instead of the typed name: a PNG data URL from a pad.")


class ProblemInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The draft version (on create only).")
    statement = _text(help_text="The problem in a sentence.")
    category = _text(help_text=_choices(Category.choices))
    asam_dimensions = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="ASAM dimensions 1–6."
    )
    diagnosis_codes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="ICD-10-CM codes, e.g. F10.20."
    )
    own_words = _text(help_text="On create: the first goal, in the patient's own words.")
    clinical = _text(help_text="On create: the first goal's clinical restatement.")


class GoalInputSerializer(serializers.Serializer):
    problem = serializers.IntegerField(help_text="The problem (on create only).")
    own_words = _text(help_text="The goal in the patient's own words.")
    clinical = _text()


class ObjectiveInputSerializer(serializers.Serializer):
    goal = serializers.IntegerField(help_text="The goal (on create only).")
    text = _text(help_text="Something that can be measured.")
    target_date = serializers.DateField(required=False, allow_null=True)
    status = _text(help_text=_choices(ObjectiveStatus.choices))


class InterventionInputSerializer(serializers.Serializer):
    objective = serializers.IntegerField(help_text="The objective (on create only).")
    modality = _text(help_text=_choices(Modality.choices))
    description = _text()
    frequency = _text(help_text="How often, e.g. 3 times a week.")
    responsible = serializers.IntegerField(
        required=False, allow_null=True, help_text="A member of the clinical team."
    )


class ProgressInputSerializer(serializers.Serializer):
    objective = serializers.IntegerField(help_text="An objective of the active version.")
    status = serializers.CharField(help_text=_choices(ObjectiveStatus.choices))
    note = _text()


class ReviewInputSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    reviewed_on = serializers.DateField(required=False, allow_null=True)
    decision = _text(help_text=_choices(PlanReview.Decision.choices))
    summary = _text(help_text="The progress in a sentence or two.")
    reason = _text(help_text=_choices(PlanReview.Reason.choices) + " Default: why it was due.")
    progress = ProgressInputSerializer(many=True, required=False)


class PhaseChangeInputSerializer(serializers.Serializer):
    episode = serializers.IntegerField()
    phase = serializers.IntegerField(allow_null=True, help_text="A phase of the program (id).")
    changed_on = serializers.DateField(required=False, allow_null=True)
    reason = _text()


class RelapsePreventionInputSerializer(serializers.Serializer):
    episode = serializers.IntegerField(help_text="The episode of care (on POST).")
    triggers_people = _text()
    triggers_places = _text()
    triggers_feelings = _text()
    triggers_situations = _text()
    warning_signs = _text()
    coping_strategies = _text()
    reasons = _text()
    after_lapse = _text()
    crisis_resources = _text(help_text="Keeps the 988 Suicide & Crisis Lifeline.")
    support_contacts = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Ids of people in the patient's support system; replaces the list.",
    )


# --- the shared viewset ------------------------------------------------------------------------


def _pk(value: Any) -> int:
    text = str(value)
    return int(text) if text.isdigit() else 0


def _conflict(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_409_CONFLICT)


LOCKED = OpenApiResponse(description="The version is signed and locked: start a new version.")


class _PlanViewSet(viewsets.GenericViewSet):
    """Rows of a patient's plan: reads need the reader's permission, writes the writer's
    (403 without); one row opens through ``chart_access`` (404 out of scope, audited)."""

    permission_classes = [IsStaffUser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    patient_path = "patient"  # from the row to its patient, as in a query
    section = "treatment plan"

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = self._user()
        writes = request.method not in SAFE_METHODS
        if not user.can(WRITE if writes else READ):
            record(actor=user, action=AuditEvent.Action.DENIED, section=f"{self.section} (API)")
            raise exceptions.PermissionDenied(
                "Only the clinical team writes treatment plans."
                if writes
                else "Your role does not open treatment plans."
            )

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.PlanLocked):
            return _conflict(services.LOCKED_MESSAGE)
        return super().handle_exception(exc)

    def rows(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        return self.rows().filter(
            **{f"{self.patient_path}__in": visible_patients(self._user()).values("pk")}
        )

    def _only(self, qs: QuerySet[Any], **params: str) -> QuerySet[Any]:
        """Filters from the query string: parameter → lookup."""
        for name, lookup in params.items():
            value = self.request.query_params.get(name)
            if value is not None:
                qs = qs.filter(**{lookup: _pk(value)})
        return qs

    def _open(self, model: type[Model], pk: int, *, field: str | None = None) -> Patient:
        """The chart of the row's patient, opened as the pages open it (404 out of scope,
        audited). With ``field``, a row named in the request body: unknown and out of
        scope answer alike, 400 on that field."""
        path = self.patient_path if model is self.rows().model else _PATIENT_PATHS[model]
        rows = model._default_manager.filter(pk=pk)
        if field is not None:
            rows = rows.filter(**{f"{path}__in": visible_patients(self._user()).values("pk")})
        patient_id = rows.values_list(path, flat=True).first()
        if patient_id is None:
            if field is None:
                raise Http404
            raise exceptions.ValidationError({field: [_NOT_FOUND.get(field, "Not found.")]})
        return chart_access(self._user(), patient_id, section=f"{self.section} (API)").patient

    def get_object(self) -> Any:
        pk = _pk(self.kwargs["pk"])
        self._open(self.rows().model, pk)
        return self.rows().get(pk=pk)

    def _audit_list(self, rows: Sequence[Any]) -> None:
        """One view record per patient whose plan data the list showed."""
        patient_of = attrgetter(self.patient_path.replace("__", ".") + "_id")
        counts: dict[int, int] = {}
        for row in rows:
            counts[patient_of(row)] = counts.get(patient_of(row), 0) + 1
        record_list(
            actor=self._user(),
            patients=list(counts),
            section=f"{self.section} list (API)",
            per_patient={pk: {"results": n} for pk, n in counts.items()},
        )


class _ListViewSet(mixins.ListModelMixin, _PlanViewSet):
    """With a list: only patients in scope, one audit record per patient shown."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        data = self.get_serializer(rows, many=True).data
        self._audit_list(rows)
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)


_PATIENT_PATHS: Mapping[type[Model], str] = {
    EpisodeOfCare: "patient",
    TreatmentPlan: "patient",
    PlanVersion: "plan__patient",
    Problem: "version__plan__patient",
    Goal: "problem__version__plan__patient",
    Objective: "goal__problem__version__plan__patient",
    RelapsePreventionPlan: "patient",
}
_NOT_FOUND = {
    "episode": "Choose an episode of care of a patient in your care.",
    "plan": "Choose a treatment plan of a patient in your care.",
    "version": "Choose a plan version of a patient in your care.",
    "problem": "Choose a problem of a plan in your care.",
    "goal": "Choose a goal of a plan in your care.",
    "objective": "Choose an objective of a plan in your care.",
}


def _versions_with_signatures() -> QuerySet[PlanVersion]:
    return PlanVersion.objects.select_related("plan", "track", "created_by").prefetch_related(
        Prefetch("signatures", queryset=Signature.objects.select_related("signed_by"))
    )


def _tree(version: PlanVersion) -> PlanVersion:
    tree = selectors.version_tree(version.pk, version.plan)
    if tree is None:  # pragma: no cover - the version was just read
        raise Http404
    tree.plan = version.plan  # already read: the patient's id without another query
    return tree


def _tree_response(version: PlanVersion, code: int = status.HTTP_200_OK) -> Response:
    return Response(VersionTreeSerializer(_tree(version)).data, status=code)


# --- plans and versions ------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("patient", int, description="Only this patient's plans."),
            OpenApiParameter("episode", int, description="Only this episode's plan."),
        ]
    )
)
class TreatmentPlanViewSet(mixins.RetrieveModelMixin, mixins.CreateModelMixin, _ListViewSet):
    """Treatment plans, one per episode of care, with their review dates and versions.
    POST starts the plan with a first draft version (its intensity from the program);
    ``new-version`` starts the next version of a signed plan, with the reason."""

    serializer_class = PlanSerializer
    queryset = TreatmentPlan.objects.none()  # for the schema; get_queryset scopes

    def rows(self) -> QuerySet[TreatmentPlan]:
        return TreatmentPlan.objects.prefetch_related(
            Prefetch("versions", queryset=PlanVersion.objects.order_by("-number"))
        ).order_by("-created_at", "-id")

    def get_queryset(self) -> QuerySet[TreatmentPlan]:
        return self._only(super().get_queryset(), patient="patient_id", episode="episode_id")

    @extend_schema(
        request=PlanCreateSerializer,
        responses={201: VersionTreeSerializer, 400: OpenApiResponse(description="Refused.")},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = PlanCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        episode_id = params.validated_data["episode"]
        self._open(EpisodeOfCare, episode_id, field="episode")
        episode = EpisodeOfCare.objects.select_related("patient").get(pk=episode_id)
        version = services.start_plan(actor=self._user(), episode=episode)
        return _tree_response(version, status.HTTP_201_CREATED)

    @extend_schema(
        request=NewVersionSerializer,
        responses={201: VersionTreeSerializer, 400: OpenApiResponse(description="Refused.")},
    )
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request: Request, pk: str | None = None) -> Response:
        """Start the next version, copied from the latest one, with what changes and why."""
        plan = self.get_object()
        params = NewVersionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        version = services.new_version(
            actor=self._user(), plan=plan, reason=params.validated_data["reason"]
        )
        return _tree_response(version, status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("plan", int, description="Only this plan's versions."),
            OpenApiParameter("patient", int, description="Only this patient's versions."),
        ]
    ),
    retrieve=extend_schema(responses=VersionTreeSerializer),
)
class PlanVersionViewSet(mixins.RetrieveModelMixin, _ListViewSet):
    """Versions of treatment plans. A draft changes with PATCH (planned intensity,
    strengths, discharge criteria) and through ``plan-problems/``, ``plan-goals/``,
    ``plan-objectives/`` and ``plan-interventions/``; ``sign`` adds a signature (the first
    locks the version, the last required one makes it the active plan); DELETE discards a
    draft. A signed version answers 409 to every change."""

    serializer_class = VersionSerializer
    queryset = PlanVersion.objects.none()  # for the schema; get_queryset scopes
    patient_path = "plan__patient"

    def rows(self) -> QuerySet[PlanVersion]:
        return _versions_with_signatures().order_by("plan_id", "-number")

    def get_queryset(self) -> QuerySet[PlanVersion]:
        return self._only(super().get_queryset(), plan="plan_id", patient="plan__patient_id")

    def get_object(self) -> PlanVersion:
        pk = _pk(self.kwargs["pk"])
        self._open(PlanVersion, pk)
        return PlanVersion.objects.select_related("plan").get(pk=pk)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _tree_response(self.get_object())

    @extend_schema(
        request=IntensitySerializer,
        responses={200: VersionTreeSerializer, 409: LOCKED},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        version = self.get_object()
        params = IntensitySerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        data: dict[str, Any] = {
            "hours_per_day": version.hours_per_day,
            "days_per_week": version.days_per_week,
            "track": version.track_id,
            "meetings_per_week": version.meetings_per_week,
            **params.validated_data,
        }
        services.update_intensity(actor=self._user(), version=version, data=data)
        return _tree_response(version)

    @extend_schema(responses={204: None, 409: LOCKED})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Discard an unsigned draft (the first one takes the empty plan with it)."""
        services.discard_draft(actor=self._user(), version=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=SignSerializer,
        responses={
            200: VersionTreeSerializer,
            400: OpenApiResponse(description="Wrong password, name or missing content."),
            403: OpenApiResponse(description="Your role does not sign as that role."),
            409: OpenApiResponse(description="The version is already active or replaced."),
        },
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        """Sign as the patient (typed name with ``attested``, or ``image`` from a pad,
        collected by you), the clinician or the supervisor (both with ``password``)."""
        version = self.get_object()
        params = SignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if version.status not in OPEN_STATUSES:
            return _conflict(
                f"Version {version.number} is {version.get_status_display().lower()}; "
                "only a version waiting for signatures can be signed."
            )
        services.sign(actor=self._user(), version=version, **params.validated_data)
        return _tree_response(version)

    @extend_schema(
        parameters=[
            OpenApiParameter("a", int, required=True, description="Left version (id)."),
            OpenApiParameter("b", int, required=True, description="Right version (id)."),
        ],
        responses={200: ComparisonSerializer},
    )
    @action(detail=False, methods=["get"])
    def compare(self, request: Request) -> Response:
        """Two versions of one plan side by side, line by line (items keep their key)."""
        a_id = _pk(request.query_params.get("a", ""))
        b_id = _pk(request.query_params.get("b", ""))
        self._open(PlanVersion, a_id)
        pair = {
            v.pk: v for v in PlanVersion.objects.select_related("plan").filter(pk__in=[a_id, b_id])
        }
        if b_id not in pair or pair[b_id].plan_id != pair[a_id].plan_id:
            raise exceptions.ValidationError({"b": ["Choose another version of the same plan."]})
        left, right = _tree(pair[a_id]), _tree(pair[b_id])
        comparison = rules.compare(
            selectors.comparison_items(left), selectors.comparison_items(right)
        )
        data = {
            "plan": left.plan_id,
            "a": left.number,
            "b": right.number,
            "counts": comparison.counts,
            "rows": comparison.rows,
        }
        return Response(ComparisonSerializer(data).data)


# --- problems, goals, objectives, interventions ------------------------------------------------


class _ItemViewSet(mixins.RetrieveModelMixin, mixins.CreateModelMixin, _PlanViewSet):
    """One level of a draft's tree: create, PATCH (fields left out keep their value) and
    DELETE call the plan services; a signed version answers 409."""

    input_serializer: type[serializers.Serializer]
    parent_field = ""
    parent_model: type[Model]

    def _parent(self, request: Request) -> Any:
        params = self.input_serializer(data=request.data)
        params.is_valid(raise_exception=True)
        parent_id = params.validated_data[self.parent_field]
        self._open(self.parent_model, parent_id, field=self.parent_field)
        return self.parent_model._default_manager.get(pk=parent_id), params.validated_data

    def _edit(self, request: Request) -> tuple[Any, dict[str, Any]]:
        item = self.get_object()
        params = self.input_serializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        data = {k: v for k, v in params.validated_data.items() if k != self.parent_field}
        return item, data

    def _save(self, parent: Any, data: Mapping[str, Any], item: Any = None) -> Any:
        raise NotImplementedError

    def _current(self, item: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _version(self, item: Any) -> PlanVersion:
        raise NotImplementedError

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        parent, data = self._parent(request)
        item = self._save(parent, data)
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item, data = self._edit(request)
        parent = getattr(item, self.parent_field)
        item = self._save(parent, {**self._current(item), **data}, item)
        return Response(self.get_serializer(item).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        services.remove_item(actor=self._user(), version=self._version(item), item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _item_schema(input_serializer: type[serializers.Serializer], output: Any) -> Any:
    return extend_schema_view(
        create=extend_schema(request=input_serializer, responses={201: output, 409: LOCKED}),
        partial_update=extend_schema(
            request=input_serializer, responses={200: output, 409: LOCKED}
        ),
        destroy=extend_schema(responses={204: None, 409: LOCKED}),
    )


@_item_schema(ProblemInputSerializer, ProblemSerializer)
class ProblemViewSet(_ItemViewSet):
    """Problems of a draft version. A new problem needs its first goal in the patient's
    own words (``own_words``); it answers with the goal's id in ``goals``."""

    serializer_class = ProblemSerializer
    queryset = Problem.objects.none()  # for the schema; get_queryset scopes
    input_serializer = ProblemInputSerializer
    patient_path = "version__plan__patient"
    parent_field = "version"
    parent_model = PlanVersion

    def rows(self) -> QuerySet[Problem]:
        return Problem.objects.select_related("version__plan").prefetch_related("goals")

    def _save(self, parent: PlanVersion, data: Mapping[str, Any], item: Any = None) -> Problem:
        problem = services.save_problem(actor=self._user(), version=parent, data=data, problem=item)
        return self.rows().get(pk=problem.pk)

    def _current(self, item: Problem) -> dict[str, Any]:
        return {
            "statement": item.statement,
            "category": item.category,
            "asam_dimensions": item.dimension_numbers,
            "diagnosis_codes": item.diagnosis_codes,
        }

    def _version(self, item: Problem) -> PlanVersion:
        return item.version


@_item_schema(GoalInputSerializer, GoalSerializer)
class GoalViewSet(_ItemViewSet):
    """Goals of a draft version's problems, in the patient's own words."""

    serializer_class = GoalSerializer
    queryset = Goal.objects.none()  # for the schema; get_queryset scopes
    input_serializer = GoalInputSerializer
    patient_path = "problem__version__plan__patient"
    parent_field = "problem"
    parent_model = Problem

    def rows(self) -> QuerySet[Goal]:
        return Goal.objects.select_related("problem__version__plan")

    def _save(self, parent: Problem, data: Mapping[str, Any], item: Any = None) -> Goal:
        return services.save_goal(actor=self._user(), problem=parent, data=data, goal=item)

    def _current(self, item: Goal) -> dict[str, Any]:
        return {"own_words": item.own_words, "clinical": item.clinical}

    def _version(self, item: Goal) -> PlanVersion:
        return item.problem.version


@_item_schema(ObjectiveInputSerializer, ObjectiveSerializer)
class ObjectiveViewSet(_ItemViewSet):
    """Measurable objectives of a draft version's goals; each needs a target date."""

    serializer_class = ObjectiveSerializer
    queryset = Objective.objects.none()  # for the schema; get_queryset scopes
    input_serializer = ObjectiveInputSerializer
    patient_path = "goal__problem__version__plan__patient"
    parent_field = "goal"
    parent_model = Goal

    def rows(self) -> QuerySet[Objective]:
        return Objective.objects.select_related("goal__problem__version__plan")

    def _save(self, parent: Goal, data: Mapping[str, Any], item: Any = None) -> Objective:
        return services.save_objective(actor=self._user(), goal=parent, data=data, objective=item)

    def _current(self, item: Objective) -> dict[str, Any]:
        return {"text": item.text, "target_date": item.target_date, "status": item.status}

    def _version(self, item: Objective) -> PlanVersion:
        return item.goal.problem.version


@_item_schema(InterventionInputSerializer, InterventionSerializer)
class InterventionViewSet(_ItemViewSet):
    """Interventions of a draft version's objectives: the kind of service, how often and
    who is responsible."""

    serializer_class = InterventionSerializer
    queryset = Intervention.objects.none()  # for the schema; get_queryset scopes
    input_serializer = InterventionInputSerializer
    patient_path = "objective__goal__problem__version__plan__patient"
    parent_field = "objective"
    parent_model = Objective

    def rows(self) -> QuerySet[Intervention]:
        return Intervention.objects.select_related(
            "objective__goal__problem__version__plan", "responsible"
        )

    def _save(self, parent: Objective, data: Mapping[str, Any], item: Any = None) -> Intervention:
        saved = services.save_intervention(
            actor=self._user(), objective=parent, data=data, intervention=item
        )
        return self.rows().get(pk=saved.pk)

    def _current(self, item: Intervention) -> dict[str, Any]:
        return {
            "modality": item.modality,
            "description": item.description,
            "frequency": item.frequency,
            "responsible": item.responsible_id,
        }

    def _version(self, item: Intervention) -> PlanVersion:
        return item.objective.goal.problem.version


# --- reviews, phase changes, relapse-prevention plans ------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("plan", int, description="Only this plan's reviews."),
            OpenApiParameter("patient", int, description="Only this patient's reviews."),
        ]
    )
)
class PlanReviewViewSet(mixins.RetrieveModelMixin, mixins.CreateModelMixin, _ListViewSet):
    """Reviews of active plans: progress per objective and the decision. Recording one
    moves the objectives' status and sets the next review date."""

    serializer_class = ReviewSerializer
    queryset = PlanReview.objects.none()  # for the schema; get_queryset scopes
    patient_path = "plan__patient"
    section = "treatment plan review"

    def rows(self) -> QuerySet[PlanReview]:
        return (
            PlanReview.objects.select_related("plan", "version", "reviewed_by")
            .prefetch_related(
                Prefetch("progress", queryset=ObjectiveProgress.objects.select_related("objective"))
            )
            .order_by("-reviewed_on", "-id")
        )

    def get_queryset(self) -> QuerySet[PlanReview]:
        return self._only(super().get_queryset(), plan="plan_id", patient="plan__patient_id")

    @extend_schema(request=ReviewInputSerializer, responses={201: ReviewSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = ReviewInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        self._open(TreatmentPlan, data["plan"], field="plan")
        review = services.record_review(
            actor=self._user(),
            plan=TreatmentPlan.objects.get(pk=data["plan"]),
            reviewed_on=data.get("reviewed_on"),
            decision=data.get("decision", ""),
            summary=data.get("summary", ""),
            progress=data.get("progress", []),
            reason=data.get("reason", ""),
        )
        return Response(
            self.get_serializer(self.rows().get(pk=review.pk)).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("episode", int, description="Only this episode's changes."),
            OpenApiParameter("patient", int, description="Only this patient's changes."),
        ]
    )
)
class PhaseChangeViewSet(mixins.RetrieveModelMixin, mixins.CreateModelMixin, _ListViewSet):
    """Moves between the phases of a program, forward or back, with the date and why. A
    move makes the person's active treatment plan due for review that day."""

    serializer_class = PhaseChangeSerializer
    queryset = PhaseChange.objects.none()  # for the schema; get_queryset scopes
    patient_path = "episode__patient"
    section = "phase"

    def rows(self) -> QuerySet[PhaseChange]:
        return PhaseChange.objects.select_related(
            "episode", "from_phase", "to_phase", "changed_by"
        ).order_by("-changed_on", "-id")

    def get_queryset(self) -> QuerySet[PhaseChange]:
        return self._only(
            super().get_queryset(), episode="episode_id", patient="episode__patient_id"
        )

    @extend_schema(request=PhaseChangeInputSerializer, responses={201: PhaseChangeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = PhaseChangeInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        self._open(EpisodeOfCare, data["episode"], field="episode")
        episode = EpisodeOfCare.objects.select_related("patient").get(pk=data["episode"])
        phase = Phase.objects.filter(pk=data["phase"] or 0).first()
        change = services.change_phase(
            actor=self._user(),
            episode=episode,
            phase=phase,
            changed_on=data.get("changed_on"),
            reason=data.get("reason", ""),
        )
        return Response(
            self.get_serializer(self.rows().get(pk=change.pk)).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("episode", int, description="Only this episode's plan."),
            OpenApiParameter("patient", int, description="Only this patient's plans."),
        ]
    )
)
class RelapsePreventionViewSet(mixins.RetrieveModelMixin, mixins.CreateModelMixin, _ListViewSet):
    """The person's own plan for staying well (one per episode; every change kept). POST
    with ``episode`` writes it (201 the first time, then 200); PATCH changes the fields
    sent. ``support_contacts`` are ids from the patient's support system."""

    serializer_class = RelapsePreventionSerializer
    queryset = RelapsePreventionPlan.objects.none()  # for the schema; get_queryset scopes
    section = "relapse-prevention plan"

    def rows(self) -> QuerySet[RelapsePreventionPlan]:
        return RelapsePreventionPlan.objects.select_related("updated_by").prefetch_related(
            "support_contacts"
        )

    def get_queryset(self) -> QuerySet[RelapsePreventionPlan]:
        return self._only(super().get_queryset(), episode="episode_id", patient="patient_id")

    def _save(self, episode: EpisodeOfCare, data: Mapping[str, Any]) -> RelapsePreventionPlan:
        plan = services.save_relapse_prevention(
            actor=self._user(),
            episode=episode,
            data={k: v for k, v in data.items() if k in services.RELAPSE_FIELDS},
            contacts=data.get("support_contacts"),
        )
        return self.rows().get(pk=plan.pk)

    @extend_schema(
        request=RelapsePreventionInputSerializer,
        responses={201: RelapsePreventionSerializer, 200: RelapsePreventionSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = RelapsePreventionInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        self._open(EpisodeOfCare, data["episode"], field="episode")
        episode = EpisodeOfCare.objects.select_related("patient").get(pk=data["episode"])
        existed = RelapsePreventionPlan.objects.filter(episode=episode).exists()
        plan = self._save(episode, data)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(self.get_serializer(plan).data, status=code)

    @extend_schema(
        request=RelapsePreventionInputSerializer, responses={200: RelapsePreventionSerializer}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plan = self.get_object()
        params = RelapsePreventionInputSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        episode = EpisodeOfCare.objects.select_related("patient").get(pk=plan.episode_id)
        return Response(self.get_serializer(self._save(episode, params.validated_data)).data)
