"""A chart's documents over the REST API: the same services, scope and audit as the pages.

Lists are one chart at a time (``?patient=``); a patient or a document out of scope answers
404 like one that does not exist. Uploads are multipart (``file``), downloads come from
``attachments/{key}/file/`` only.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from openiop.attachments import selectors, services, storage
from openiop.attachments.models import Attachment
from openiop.attachments.views import file_response
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core.chart_api import ChartReadViewSet
from openiop.patients.selectors import chart_access

SECTION = "documents (API)"
PATIENT = OpenApiParameter("patient", int, required=True, description="The patient (required).")
REMOVED = OpenApiParameter(
    "removed", bool, required=False, description="true: the documents removed from the chart."
)
UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class AttachmentSerializer(serializers.ModelSerializer):
    about_type = serializers.SerializerMethodField()
    removed = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField(help_text="Where to download the file.")

    class Meta:
        model = Attachment
        fields = [
            "key",
            "patient",
            "content_type",
            "size",
            "sha256",
            "original_name",
            "description",
            "about_type",
            "about_id",
            "uploaded_by",
            "uploaded_at",
            "removed",
            "removed_at",
            "removed_by",
            "removed_reason",
            "file",
        ]
        read_only_fields = fields

    def get_about_type(self, obj: Attachment) -> str:
        return f"{obj.about_type.app_label}.{obj.about_type.model}" if obj.about_type else ""

    def get_removed(self, obj: Attachment) -> bool:
        return obj.removed_at is not None

    def get_file(self, obj: Attachment) -> str | None:
        if obj.removed_at is not None:
            return None
        return reverse(
            "api:attachment-file", kwargs={"key": str(obj.key)}, request=self.context.get("request")
        )


class UploadSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    file = serializers.FileField(help_text="A PDF, JPEG or PNG of up to 10 MB.")
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )


class RemoveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class PassthroughRenderer(BaseRenderer):
    """Lets a client ask for the file's own type (``Accept: application/pdf``)."""

    media_type = "*/*"
    format = "file"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> Any:
        return data


@extend_schema_view(
    list=extend_schema(parameters=[PATIENT, REMOVED]),
)
class AttachmentViewSet(mixins.CreateModelMixin, ChartReadViewSet):
    """Scanned and uploaded documents of a chart: PDF, JPEG or PNG up to 10 MB, the type read
    from the file's content. Removing one takes it out of the chart; the file is kept."""

    section = SECTION
    refused = selectors.REFUSED
    read_permission = "attachments.view_attachment"
    write_permission = "attachments.add_attachment"
    listed = "documents"
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    serializer_class = AttachmentSerializer
    queryset = Attachment.objects.none()  # for the schema; the selectors scope
    lookup_field = "key"
    lookup_value_regex = UUID_PATTERN

    def get_object(self) -> Attachment:
        try:
            return selectors.attachment_for(self._user(), str(self.kwargs["key"]))
        except Http404:
            raise exceptions.NotFound("Not found.") from None

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = self._chart()
        removed = request.query_params.get("removed", "").lower() in ("1", "true", "yes")
        qs = selectors.attachments_of(self._user(), patient, removed=removed).select_related(
            "about_type"
        )
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            patient=patient,
            section=SECTION,
            detail={"results": len(rows), "removed": removed},
        )
        data = self.get_serializer(rows, many=True).data
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.get_object()
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            patient=row.patient,
            obj=row,
            section=SECTION,
        )
        return Response(self.get_serializer(row).data)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer}, responses={201: AttachmentSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = UploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        user = self._user()
        patient = chart_access(user, data["patient"], section=SECTION, action="update").patient
        made = services.attach(
            actor=user, patient=patient, upload=data["file"], description=data["description"]
        )
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")}
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PassthroughRenderer])
    def file(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        """The file, as an attachment under a generic name; audited as an export."""
        row = self.get_object()
        if row.removed_at is not None:
            record(
                actor=request.user,
                action=AuditEvent.Action.DENIED,
                patient=row.patient,
                obj=row,
                section=SECTION,
                detail={"removed": True},
            )
            raise exceptions.NotFound("This document was removed from the chart.")
        try:
            handle = storage.open_stored(row.storage_name)
        except (FileNotFoundError, ValueError):
            raise exceptions.NotFound("The file is missing from storage.") from None
        record(
            actor=request.user,
            action=AuditEvent.Action.EXPORT,
            patient=row.patient,
            obj=row,
            section=SECTION,
            detail={"opened": "downloaded", "sha256": row.sha256},
        )
        return file_response(row, handle, inline=False)

    @extend_schema(request=RemoveSerializer, responses={200: AttachmentSerializer})
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Take the document out of the chart, with the reason (the file is kept)."""
        row = self.get_object()
        params = RemoveSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        removed = services.remove(
            actor=self._user(), attachment=row, reason=params.validated_data["reason"]
        )
        return Response(self.get_serializer(removed).data)
