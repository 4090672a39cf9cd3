"""The "one chart at a time" shape of the clinical REST APIs.

Lists take ``?patient=<id>`` (a patient out of scope answers 404 and leaves a refusal in the
audit trail); a role without the capability's permission answers 403, also audited; every
list and read leaves one audit record. Subclasses name their permissions, the audit section
and the refusal message, and scope ``get_queryset`` through their selectors.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import exceptions, mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from openiop.accounts.models import User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.core.permissions import IsStaffUser
from openiop.patients.models import Patient
from openiop.patients.selectors import visible_patients


class ChartReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsStaffUser]
    section = "chart (API)"
    refused = "This is for the clinical team."
    read_permission = ""
    write_permission = ""
    write_actions: frozenset[str] = frozenset({"create"})
    action_permissions: dict[str, str] = {}
    # What ``?patient=`` lists, for the message asking for it.
    listed = "records"

    def _user(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = self._user()
        needed = self.action_permissions.get(self.action or "") or (
            self.write_permission if self.action in self.write_actions else self.read_permission
        )
        if not user.can(needed):
            record(actor=user, action=AuditEvent.Action.DENIED, section=self.section)
            raise exceptions.PermissionDenied(self.refused)

    def _chart(self) -> Patient:
        raw = self.request.query_params.get("patient", "")
        if not raw.isdigit():
            raise exceptions.ValidationError(
                {"patient": [f"Give ?patient=<id>: {self.listed} are listed one chart at a time."]}
            )
        patient = visible_patients(self._user()).filter(pk=int(raw)).first()
        if patient is None:
            record(
                actor=self._user(),
                action=AuditEvent.Action.DENIED,
                section=self.section,
                detail={"patient_id": int(raw)},
            )
            raise exceptions.NotFound("Not found.")
        return patient

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = self._chart()
        qs = self.get_queryset().filter(patient=patient)
        page = self.paginate_queryset(qs)
        rows = list(page if page is not None else qs)
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            patient=patient,
            section=self.section,
            detail={"results": len(rows), "list": self.basename},
        )
        data = self.get_serializer(rows, many=True).data
        if page is not None:
            return self.get_paginated_response(data)
        return Response(data)

    def get_object(self) -> Any:
        pk = str(self.kwargs["pk"])
        row = self.get_queryset().filter(pk=int(pk) if pk.isdigit() else 0).first()
        if row is None:
            raise exceptions.NotFound("Not found.")
        return row

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row: Model = self.get_object()
        record(
            actor=request.user,
            action=AuditEvent.Action.VIEW,
            patient=getattr(row, "patient_id", None),
            obj=row,
            section=self.section,
        )
        return Response(self.get_serializer(row).data)
