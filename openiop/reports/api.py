"""Report data over the REST API: the reports a person may read, and one report's columns,
rows, chart description, headline figures and notes for a facility, program and date range —
the same builders, permissions and audit as the report pages. Bad filters answer 400 with
field errors (an end before the start among them); a report the role may not read 403
(audited); an unknown report 404."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from openiop.accounts.models import User
from openiop.core.permissions import IsStaffUser
from openiop.reports import selectors
from openiop.reports.base import Report, Result
from openiop.reports.forms import bound_form

SECTION = "reports (API)"


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


def _today(request: Request) -> dt.date:
    return selectors.local_today(getattr(request._request, "facility", None))


def _describe(report: Report) -> dict[str, Any]:
    return {
        "key": report.key,
        "title": report.title,
        "description": report.description,
        "names_staff": report.names_staff,
        "default_days": report.default_days,
    }


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _result(result: Result) -> dict[str, Any]:
    return {
        "columns": [dataclasses.asdict(c) for c in result.columns],
        "rows": [{k: _value(v) for k, v in row.items()} for row in result.rows],
        "chart": dataclasses.asdict(result.chart) if result.chart is not None else None,
        "summary": [{"label": label, "value": value} for label, value in result.summary],
        "notes": list(result.notes),
    }


REPORT_INFO_FIELDS: dict[str, serializers.Field] = {
    "key": serializers.CharField(),
    "title": serializers.CharField(),
    "description": serializers.CharField(),
    "names_staff": serializers.BooleanField(),
    "default_days": serializers.IntegerField(),
}
REPORT_INFO = inline_serializer("ReportInfo", REPORT_INFO_FIELDS)
REPORT_LIST = inline_serializer("ReportInfoList", REPORT_INFO_FIELDS, many=True)
REPORT_DATA = inline_serializer(
    "ReportData",
    {
        "report": REPORT_INFO,
        "filters": inline_serializer(
            "ReportFilters",
            {
                "facilities": serializers.ListField(child=serializers.IntegerField()),
                "program": serializers.IntegerField(allow_null=True),
                "start": serializers.DateField(),
                "end": serializers.DateField(),
            },
        ),
        "columns": serializers.ListField(child=serializers.DictField()),
        "rows": serializers.ListField(child=serializers.DictField()),
        "chart": serializers.DictField(allow_null=True),
        "summary": serializers.ListField(child=serializers.DictField()),
        "notes": serializers.ListField(child=serializers.CharField()),
    },
)


class ReportListView(APIView):
    """The program reports you may read (keys for ``/api/v1/reports/<key>/``)."""

    permission_classes = [IsStaffUser]

    @extend_schema(responses={200: REPORT_LIST})
    def get(self, request: Request) -> Response:
        user = _user(request)
        selectors.require_reader(user, section=SECTION)
        return Response([_describe(r) for r in selectors.readable_reports(user)])


class ReportDataView(APIView):
    """One report over a facility (default: all of yours), a program (optional) and a date
    range (default: the report's usual range up to today; both days included)."""

    permission_classes = [IsStaffUser]

    @extend_schema(
        parameters=[
            OpenApiParameter("facility", int, description="Default: all your facilities."),
            OpenApiParameter("program", int, description="Default: every program."),
            OpenApiParameter("start", dt.date, description="First day (YYYY-MM-DD)."),
            OpenApiParameter("end", dt.date, description="Last day, included."),
        ],
        responses={200: REPORT_DATA},
    )
    def get(self, request: Request, key: str) -> Response:
        user = _user(request)
        report = selectors.report_for(user, key, section=SECTION)
        form = bound_form(
            request.query_params,
            user=user,
            today=_today(request),
            report=report,
            facility=None,
        )
        if not form.is_valid():
            raise exceptions.ValidationError(
                {field: [str(m) for m in messages] for field, messages in form.errors.items()}
            )
        filters = form.filters()
        result = selectors.run(user, report, filters, section=SECTION)
        return Response(
            {
                "report": _describe(report),
                "filters": {
                    "facilities": list(filters.facility_ids),
                    "program": filters.program_id,
                    "start": filters.start.isoformat(),
                    "end": filters.end.isoformat(),
                },
                **_result(result),
            }
        )
