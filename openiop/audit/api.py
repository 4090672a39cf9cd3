from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError

from openiop.accounts.models import User
from openiop.audit.forms import AuditFilterForm
from openiop.audit.models import AuditEvent
from openiop.audit.selectors import audit_events


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "actor_label",
            "action",
            "patient",
            "facility",
            "object_type",
            "object_id",
            "section",
            "changes",
            "detail",
            "reason",
            "ip",
            "user_agent",
            "channel",
        ]
        read_only_fields = fields


@extend_schema(
    parameters=[
        OpenApiParameter("actor", OpenApiTypes.INT),
        OpenApiParameter("patient", OpenApiTypes.INT),
        OpenApiParameter("action", OpenApiTypes.STR, enum=AuditEvent.Action.values),
        OpenApiParameter("start", OpenApiTypes.DATE),
        OpenApiParameter("end", OpenApiTypes.DATE),
    ]
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, read-only, for auditors and administrators."""

    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.none()  # for the schema; get_queryset scopes every request

    def get_queryset(self) -> QuerySet[AuditEvent]:
        user: User = self.request.user  # type: ignore[assignment]
        if not user.reads_audit_trail:
            raise PermissionDenied("Only auditors and administrators read the audit trail.")
        form = AuditFilterForm(self.request.query_params or None, user=user)
        if form.is_bound and not form.is_valid():
            raise ValidationError({f: [str(e) for e in errs] for f, errs in form.errors.items()})
        filters = form.to_filter() if form.is_bound else None
        from openiop.audit.selectors import AuditFilter

        return audit_events(user, filters or AuditFilter())
