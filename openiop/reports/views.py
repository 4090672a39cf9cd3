"""Report pages, the director's dashboard and CSV downloads (issue 7).

Views parse the filters and draw what the reports return: the role check and the audit
record are the selectors' (``selectors.report_for`` answers 404 for an unknown report and 403,
audited, for one the person may not read), the figures are the report builders'.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe

from openiop.accounts.models import Facility, User
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.reports import operations, selectors
from openiop.reports.base import Column, Filters, Report, Result
from openiop.reports.forms import ReportFilterForm, bound_form
from openiop.scheduling.rules import hours_text

DASHBOARD_DAYS = 30  # the range of the headline figures taken from other reports
# Reports whose first figure is a dashboard tile even if they were registered without
# ``dashboard=True`` (the clinical reports' counts of work left undone).
DASHBOARD_REPORTS = frozenset({"unsigned-notes", "plan-reviews-overdue"})


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _facility(request: HttpRequest) -> Facility | None:
    return getattr(request, "facility", None)


def _today(request: HttpRequest) -> dt.date:
    return selectors.local_today(_facility(request))


# --- what the templates draw -----------------------------------------------------------------


def cell(value: Any, kind: str) -> str:
    """A value as the page shows it."""
    if value is None or value == "":
        return "—"
    if kind == "percent":
        return f"{float(value):g} %"
    if kind == "date" and isinstance(value, dt.date):
        return f"{value:%m/%d/%Y}"
    if kind == "month" and isinstance(value, dt.date):
        return f"{value:%b %Y}"
    if kind == "int" and isinstance(value, int):
        return f"{value:,}"
    if kind == "hours":
        return hours_text(Decimal(str(value)))
    if kind in ("decimal", "days") and isinstance(value, int | float | Decimal):
        return f"{round(float(value), 1):g}"
    return str(value)


def table(result: Result) -> list[list[dict[str, Any]]]:
    """The rows as the page shows them: each cell's text and whether it is a number (right
    aligned)."""
    return [
        [{"text": cell(row.get(c.key), c.kind), "num": c.kind != "text"} for c in result.columns]
        for row in result.rows
    ]


def _number(value: Any) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return None


def chart_data(result: Result) -> dict[str, Any] | None:
    """The chart as plain numbers and labels for ``json_script`` (reports.js draws it)."""
    chart = result.chart
    if chart is None or not result.rows:
        return None
    kinds: dict[str, Column] = {c.key: c for c in result.columns}
    label_kind = kinds[chart.label_key].kind if chart.label_key in kinds else "text"
    return {
        "kind": chart.kind,
        "labels": [cell(row.get(chart.label_key), label_kind) for row in result.rows],
        "datasets": [
            {
                "label": s.label,
                "data": [_number(row.get(s.key)) for row in result.rows],
                "kind": s.kind or chart.kind,
                "axis": s.axis,
            }
            for s in chart.series
        ],
        "stacked": chart.stacked,
        "percent": chart.percent,
        "y_label": chart.y_label,
        "summary": "; ".join(f"{label}: {value}" for label, value in result.summary),
    }


def _export_url(key: str) -> str:
    """Where the background export starts (another module; left out if it is not there)."""
    try:
        return reverse("reports:export_start", args=[f"report-{key}"])
    except NoReverseMatch:
        return ""


# --- pages -----------------------------------------------------------------------------------


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """The director's page: headline tiles, the census of the last 90 days and the reports
    the person may read. The alumni coordinator sees only the reports they may read."""
    user = _user(request)
    selectors.require_reader(user, section=selectors.DASHBOARD_SECTION)
    today = _today(request)
    reports = selectors.readable_reports(user)
    form = bound_form(
        {k: v for k, v in request.GET.items() if k == "facility"},
        user=user,
        today=today,
        report=None,
        facility=_facility(request),
    )
    context: dict[str, Any] = {
        "today": today,
        "reports": reports,
        "form": form,
        "tiles": [],
        "census": None,
        "full": user.can("reports.view_reports"),
    }
    if not form.is_valid():
        return render(request, "reports/dashboard.html", context, status=400)
    base = form.filters()
    if not base.facility_ids:
        raise PermissionDenied(selectors.NO_FACILITY)
    facility_param = form.params()["facility"]
    if context["full"]:
        tiles = operations.dashboard_tiles(base.facility_ids, today)
        tiles += _headline_tiles(user, reports, base, today)
        census_filters = Filters(
            base.facility_ids, None, today - dt.timedelta(days=89), today, today=today
        )
        result = operations.census(census_filters, user)
        context["census"] = {"result": result, "rows": table(result), "chart": chart_data(result)}
        context["tiles"] = [_tile_link(t, facility_param) for t in tiles]
    if user.follows_up:
        context["followups_due"] = selectors.followups_due(base.facility_ids, today)
    record(
        actor=user,
        action=AuditEvent.Action.VIEW,
        section=selectors.DASHBOARD_SECTION,
        facility_id=base.facility_ids[0] if len(base.facility_ids) == 1 else None,
        detail={"facilities": list(base.facility_ids), "on": today.isoformat()},
    )
    return render(request, "reports/dashboard.html", context)


def _headline_tiles(
    user: User, reports: list[Report], base: Filters, today: dt.date
) -> list[operations.Tile]:
    """The first figure of each report that asks to be on the dashboard (unsigned notes,
    overdue plan reviews…), over the last 30 days."""
    start = today - dt.timedelta(days=DASHBOARD_DAYS - 1)
    filters = Filters(base.facility_ids, None, start, today, today=today)
    tiles = []
    for report in reports:
        if not (report.dashboard or report.key in DASHBOARD_REPORTS):
            continue
        result = report.build(filters, user)
        # A report with nothing to list has no figures: nothing is undone.
        label, value = result.summary[0] if result.summary else (report.title, "0")
        detail = report.title if label != report.title else ""
        tiles.append(operations.Tile(label, value, detail, report.key, start, today))
    return tiles


def _tile_link(tile: operations.Tile, facility: str) -> dict[str, Any]:
    url = ""
    if tile.report and tile.start and tile.end:
        query = {"facility": facility, "start": tile.start.isoformat(), "end": tile.end.isoformat()}
        url = reverse("reports:report", args=[tile.report]) + "?" + urlencode(query)
    return {"label": tile.label, "value": tile.value, "detail": tile.detail, "url": url}


@login_required
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """Every report the person may read, with what it shows."""
    user = _user(request)
    selectors.require_reader(user)
    return render(request, "reports/index.html", {"reports": selectors.readable_reports(user)})


def _report_form(request: HttpRequest, user: User, report: Report) -> ReportFilterForm:
    return bound_form(
        request.GET,
        user=user,
        today=_today(request),
        report=report,
        facility=_facility(request),
    )


@login_required
@require_safe
def report(request: HttpRequest, key: str) -> HttpResponse:
    """One report: the filters, headline figures, the chart with its table, notes, and the
    CSV download and background export of the same rows."""
    user = _user(request)
    chosen = selectors.report_for(user, key)
    form = _report_form(request, user, chosen)
    context: dict[str, Any] = {"report": chosen, "form": form, "result": None}
    if not form.is_valid():
        return render(request, "reports/report.html", context, status=400)
    result = selectors.run(user, chosen, form.filters())
    params = form.params()
    context.update(
        {
            "result": result,
            "rows": table(result),
            "chart": chart_data(result),
            "csv_url": reverse("reports:report_csv", args=[key]) + "?" + urlencode(params),
            "export_url": _export_url(key),
            "params": params,
            "long_range": form.filters().days > 366,
        }
    )
    return render(request, "reports/report.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _lines(result: Result) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(result.csv_header())
    for row in result.csv_rows():
        yield writer.writerow(row)


@login_required
@require_safe
def report_csv(request: HttpRequest, key: str) -> HttpResponseBase:
    """The report's table as CSV, with the same filters as the page (audited as an export)."""
    user = _user(request)
    chosen = selectors.report_for(user, key)
    form = _report_form(request, user, chosen)
    if not form.is_valid():
        context = {"report": chosen, "form": form, "result": None}
        return render(request, "reports/report.html", context, status=400)
    filters = form.filters()
    result = selectors.run(user, chosen, filters, action=AuditEvent.Action.EXPORT, format="csv")
    response = StreamingHttpResponse(_lines(result), content_type="text/csv; charset=utf-8")
    name = f"openiop-{key}-{filters.start.isoformat()}-to-{filters.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
