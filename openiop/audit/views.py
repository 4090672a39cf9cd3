from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from openiop.accounts.models import User
from openiop.audit.forms import AuditFilterForm
from openiop.audit.models import AuditEvent
from openiop.audit.selectors import AuditFilter, audit_events
from openiop.audit.services import record

CSV_COLUMNS = [
    "when (UTC)",
    "staff",
    "action",
    "patient number",
    "facility number",
    "section",
    "object",
    "changes",
    "reason",
    "details",
    "ip",
    "user agent",
    "channel",
]


def _auditor(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not user.reads_audit_trail:
        raise PermissionDenied
    return user


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    user = _auditor(request)
    form = AuditFilterForm(request.GET or None, user=user)
    filters = form.to_filter() if form.is_valid() else AuditFilter()
    if form.is_bound and not form.is_valid():
        events: QuerySet[AuditEvent] = AuditEvent.objects.none()
    else:
        events = audit_events(user, filters)
    paginator = Paginator(events, 50)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {"form": form, "page": page, "querystring": query.urlencode()},
    )


def _rows(events: Iterator[AuditEvent]) -> Iterator[list[str]]:
    yield CSV_COLUMNS
    for e in events:
        yield [
            e.at.astimezone(dt.UTC).isoformat(),
            e.actor_label,
            e.action,
            str(e.patient_id or ""),
            str(e.facility_id or ""),
            e.section,
            f"{e.object_type}:{e.object_id}" if e.object_type else "",
            _json(e.changes),
            e.reason,
            _json(e.detail),
            e.ip or "",
            e.user_agent,
            e.channel,
        ]


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str) if value else ""


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def audit_csv(request: HttpRequest) -> HttpResponseBase:
    user = _auditor(request)
    form = AuditFilterForm(request.GET or None, user=user)
    if form.is_bound and not form.is_valid():
        return render(request, "audit/log.html", {"form": form, "page": None}, status=400)
    filters = form.to_filter() if form.is_bound else AuditFilter()
    events = audit_events(user, filters)
    record(
        actor=user,
        action=AuditEvent.Action.EXPORT,
        section="audit trail CSV",
        detail={k: str(v) for k, v in filters.__dict__.items() if v},
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _rows(events.iterator(chunk_size=2000))),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="openiop-audit-{stamp}.csv"'
    return response
