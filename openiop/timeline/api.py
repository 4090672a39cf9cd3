"""The chart timeline over the REST API: one page of a patient's events, newest first."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core.permissions import IsStaffUser
from openiop.patients.selectors import chart_access
from openiop.timeline import selectors
from openiop.timeline.views import SECTION

API_SECTION = f"{SECTION} (API)"


class EventSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="session, appointment, note, group_note, measure, …")
    category = serializers.ChoiceField(choices=list(selectors.CATEGORIES))
    ref = serializers.IntegerField(help_text="The id of the record in its own endpoint.")
    day = serializers.DateField()
    at = serializers.DateTimeField(allow_null=True)
    title = serializers.CharField()
    detail = serializers.CharField()
    flag = serializers.CharField(help_text="unexpected, relapse, draft, urgent or empty")


class TimelineSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    categories = serializers.ListField(child=serializers.CharField())
    events = EventSerializer(many=True)


class TimelineView(APIView):
    permission_classes = [IsStaffUser]

    @extend_schema(
        operation_id="timeline",
        summary="A patient's chart timeline",
        parameters=[
            OpenApiParameter("patient", int, required=True, description="The patient."),
            OpenApiParameter(
                "show",
                str,
                many=True,
                description="Categories to show (default all): " + ", ".join(selectors.CATEGORIES),
            ),
            OpenApiParameter("from", str, description="First day (YYYY-MM-DD)."),
            OpenApiParameter("to", str, description="Last day (YYYY-MM-DD)."),
            OpenApiParameter("page", int, description="Page of 100 events (1 = newest)."),
        ],
        responses=TimelineSerializer,
        tags=["timeline"],
    )
    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        if not user.is_clinical:
            record(actor=user, action=AuditEvent.Action.DENIED, section=API_SECTION)
            raise exceptions.PermissionDenied("Only the clinical team reads the chart timeline.")
        params = request.query_params
        errors: dict[str, list[str]] = {}
        raw = params.get("patient", "")
        if not raw.isdigit():
            errors["patient"] = ["Give ?patient=<id>."]
        start, end, bad_days = selectors.parse_range(params.get("from", ""), params.get("to", ""))
        errors.update({name: [message] for name, message in bad_days.items()})
        unknown = [c for c in params.getlist("show") if c not in selectors.CATEGORIES]
        if unknown:
            errors["show"] = [
                f"Unknown: {', '.join(unknown)}. Use: {', '.join(selectors.CATEGORIES)}."
            ]
        page_text = params.get("page", "1")
        if not page_text.isdigit() or int(page_text) < 1:
            errors["page"] = ["A page number from 1."]
        if errors:
            raise exceptions.ValidationError(errors)
        try:
            access = chart_access(user, int(raw), section=API_SECTION)
        except Http404 as error:
            raise exceptions.NotFound("Not found.") from error
        page = selectors.timeline(
            access.patient,
            categories=selectors.parse_categories(params.getlist("show")),
            start=start,
            end=end,
            page=int(page_text),
        )
        return Response(
            TimelineSerializer(
                {
                    "total": page.total,
                    "page": page.page,
                    "pages": page.pages,
                    "categories": page.categories,
                    "events": page.events,
                }
            ).data
        )
