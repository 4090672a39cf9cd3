"""The weekly dose report and the at-risk list (SPEC §2; issue 5, points 6 and 7).

The clinical team, billing and administrators read them (scheduling.view_dose, 403
otherwise), for the patients they may see at the facility they are working in. Both are
lists of patient information: each page writes one audit record per patient shown, and
the CSV download is audited as an export the same way.

The hours, service days and each week's status are worked out by the database
(selectors.week_dose): the page counts the statuses in one query and reads only the rows
of its page (the "Show" filter is a WHERE on the status), so its cost does not grow with
the number of patients; the counts at the top are always the whole week's.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET

from openiop.accounts.models import Facility, User
from openiop.accounts.rules import DoseRules
from openiop.admissions.models import EpisodeOfCare
from openiop.audit.models import AuditEvent
from openiop.audit.services import record_list
from openiop.scheduling import rules, selectors

DOSE = "scheduling.view_dose"
PAGE_SIZE = 100  # rows a page shows (and audits); the counts and the CSV cover the whole week
REPORT_SECTION = "dose report"
AT_RISK_SECTION = "at-risk list"
SHOW = {
    "": "Everyone",
    "below": "Below the minimum",
    "above": "Above the maximum",
}
CSV_COLUMNS = [
    "Patient",
    "Program",
    "Track",
    "Phase",
    "Primary clinician",
    "Hours attended",
    "Service days",
    "Status",
]


def facility_for_dose(request: HttpRequest) -> tuple[User, Facility]:
    """The role check (403), then the facility the user is working in."""
    user: User = request.user  # type: ignore[assignment]
    if not user.can(DOSE):
        raise PermissionDenied("Attendance figures are for the clinical team and billing.")
    facility: Facility | None = getattr(request, "facility", None)
    if facility is None:
        raise PermissionDenied("You are not assigned to a facility yet.")
    return user, facility


def week_of(text: str | None, default: dt.date) -> dt.date:
    """The Monday of the week asked for (?week=YYYY-MM-DD, any day of it), else of ``default``."""
    return rules.week_start(rules.parse_day(text, default))


def audit_list(
    user: User,
    facility: Facility,
    patient_ids: Iterable[int],
    *,
    section: str,
    action: str = AuditEvent.Action.VIEW,
    detail: dict[str, str] | None = None,
) -> int:
    """One audit record per patient a list showed (one record saying "nobody" otherwise)."""
    return record_list(
        actor=user,
        patients=list(patient_ids),
        facility_id=facility.pk,
        section=section,
        action=action,
        detail=detail,
    )


# --- the weekly dose report ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """A row of the report, worked out once and written out as the page and the CSV show
    it (a 500-row page renders in a fraction of the time of chained template lookups)."""

    patient_id: int
    link: str
    patient: str
    program: str
    track: str
    phase: str
    clinician: str
    hours: str
    service_days: int
    status: rules.WeekStatus
    shortfall: str
    part_of_week: str
    program_id: int
    dose_rules: DoseRules

    @property
    def status_text(self) -> str:
        if self.status == rules.WeekStatus.BELOW and self.shortfall:
            return f"{self.status.label}: needs {self.shortfall}"
        return self.status.label

    @property
    def csv_row(self) -> list[str]:
        return [
            _cell(self.patient),
            _cell(self.program),
            _cell(self.track),
            _cell(self.phase),
            _cell(self.clinician),
            self.hours,
            str(self.service_days),
            _cell(self.status_text),
        ]


def _part_of_week(episode: EpisodeOfCare, monday: dt.date) -> str:
    """Why a week was not a whole week in care (the minimum still applies)."""
    sunday = monday + dt.timedelta(days=6)
    notes = []
    if episode.admission_date > monday:
        notes.append(f"admitted {episode.admission_date:%a %-m/%-d}")
    if episode.discharge_date and episode.discharge_date < sunday:
        notes.append(f"discharged {episode.discharge_date:%a %-m/%-d}")
    return ", ".join(notes)


def chart_link() -> Callable[[int], str]:
    """The chart tab's address for a patient id, reversed once for the whole list."""
    marker = 987654321
    pattern = reverse("scheduling:patient", args=[marker])
    return lambda pk: pattern.replace(str(marker), str(pk))


def _report(rows: list[selectors.WeekRow], monday: dt.date) -> list[ReportRow]:
    link = chart_link()
    out = []
    for r in rows:
        e = r.episode
        status = r.status
        out.append(
            ReportRow(
                patient_id=e.patient_id,
                link=link(e.patient_id),
                patient=e.patient.display_name,
                program=e.program.name,
                track=e.track.name if e.track else "",
                phase=e.phase.name if e.phase else "",
                clinician=e.primary_clinician.display_name if e.primary_clinician else "",
                hours=r.hours_text,
                service_days=r.service_days,
                status=status,
                shortfall=r.shortfall if status == rules.WeekStatus.BELOW else "",
                part_of_week=_part_of_week(e, monday),
                program_id=e.program_id,
                dose_rules=r.dose_rules,
            )
        )
    return out


def _chosen(user: User, facility: Facility, monday: dt.date, show: str) -> QuerySet[Any]:
    """The report's rows as a query, only the status asked for ("Show"), by name."""
    week = selectors.facility_week_query(user, facility, monday)
    return selectors.for_showing(selectors.with_status(week, show) if show else week)


def _show(request: HttpRequest) -> str:
    wanted = request.GET.get("show", "")
    return wanted if wanted in SHOW else ""


@login_required
@require_GET
def dose_report(request: HttpRequest) -> HttpResponse:
    user, facility = facility_for_dose(request)
    today = selectors.today_at(facility)
    this_week = rules.week_start(today)
    monday = week_of(request.GET.get("week"), today)
    show = _show(request)
    # Counted, filtered and paged by the database: the page reads one page of rows.
    counts = selectors.week_counts(selectors.facility_week_query(user, facility, monday))
    page = Paginator(_chosen(user, facility, monday, show), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    shown = _report(selectors.as_week_rows(page.object_list, monday), monday)
    audit_list(
        user,
        facility,
        (r.patient_id for r in shown),
        section=REPORT_SECTION,
        detail={"week": monday.isoformat()},
    )
    sunday = monday + dt.timedelta(days=6)
    context = {
        "facility": facility,
        "rows": shown,
        "page": page,
        "querystring": urlencode({"week": monday.isoformat(), **({"show": show} if show else {})}),
        "total": counts["total"],
        "counts": [
            (status, status.label, counts[status], key)
            for status, key in (
                (rules.WeekStatus.MEETS, ""),
                (rules.WeekStatus.BELOW, "below"),
                (rules.WeekStatus.ABOVE, "above"),
            )
        ],
        "monday": monday,
        "sunday": sunday,
        "title": f"Week of {monday:%B} {monday.day}, {monday.year}",
        "in_progress": monday == this_week,
        "in_future": monday > this_week,
        "previous": monday - dt.timedelta(days=7),
        "next": monday + dt.timedelta(days=7) if monday < this_week else None,
        "this_week": this_week,
        "show": show,
        "show_choices": list(SHOW.items()),
        "show_label": SHOW[show],
        "dose_rules": _rules_text(shown),
        "subnav": "dose",
    }
    return render(request, "scheduling/dose/report.html", context)


def _rules_text(rows: list[ReportRow]) -> list[str]:
    """The minimums the statuses were measured against, once per program shown."""
    seen: dict[int, str] = {}
    for r in rows:
        if r.program_id in seen:
            continue
        d = r.dose_rules
        text = (
            f"{r.program}: at least {d.min_days_per_week} service days "
            f"({rules.hours_text(d.min_hours_per_day)} h or more a day) and "
            f"{rules.hours_text(d.min_hours_per_week)} h a week"
        )
        if d.max_hours_per_week is not None:
            text += f", at most {rules.hours_text(d.max_hours_per_week)} h"
        seen[r.program_id] = text + "."
    return list(seen.values())


def _cell(value: object) -> str:
    """A spreadsheet must not run a name that starts like a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_GET
def dose_report_csv(request: HttpRequest) -> HttpResponse:
    """The same rows as the page (same week, same "Show"), the same columns."""
    user, facility = facility_for_dose(request)
    today = selectors.today_at(facility)
    monday = week_of(request.GET.get("week"), today)
    show = _show(request)
    shown = _report(selectors.as_week_rows(_chosen(user, facility, monday, show), monday), monday)
    audit_list(
        user,
        facility,
        (r.patient_id for r in shown),
        section=REPORT_SECTION,
        action=AuditEvent.Action.EXPORT,
        detail={"week": monday.isoformat(), "format": "csv", **({"show": show} if show else {})},
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    suffix = f"-{show}" if show else ""
    response["Content-Disposition"] = (
        f'attachment; filename="dose-report-{monday.isoformat()}{suffix}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for r in shown:
        writer.writerow(r.csv_row)
    return response


# --- the at-risk list ----------------------------------------------------------------------------


@dataclass
class RiskShown:
    risk: selectors.RiskRow
    days_in_care: int
    link: str


@login_required
@require_GET
def at_risk(request: HttpRequest) -> HttpResponse:
    user, facility = facility_for_dose(request)
    today = selectors.today_at(facility)
    link = chart_link()
    rows = [
        RiskShown(r, r.episode.days_in_treatment(today), link(r.episode.patient_id))
        for r in selectors.at_risk(user, facility, today)
    ]
    audit_list(
        user,
        facility,
        (r.risk.episode.patient_id for r in rows),
        section=AT_RISK_SECTION,
        detail={"on": today.isoformat()},
    )
    context = {
        "facility": facility,
        "rows": rows,
        "today": today,
        "days": rules.AT_RISK_DAYS,
        "caseload_only": not user.sees_whole_facility,
        "subnav": "at_risk",
    }
    return render(request, "scheduling/dose/at_risk.html", context)


urlpatterns: list[URLPattern] = [
    path("dose/", dose_report, name="dose_report"),
    path("dose/csv/", dose_report_csv, name="dose_report_csv"),
    path("at-risk/", at_risk, name="at_risk"),
]
