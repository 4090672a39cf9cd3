"""Scoped reads for the report pages, the API and the exports: which facilities and programs a
person may report on, which reports they may read (unknown → 404, not theirs → 403 with an
audit record), and running a report with the audit record of who read or exported what.

Reports are aggregates and never name a patient, so the audit record names the report and its
filters (facilities, program, dates), not people.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from openiop.accounts.models import Facility, Program, User
from openiop.accounts.selectors import facilities_for
from openiop.audit.models import AuditEvent
from openiop.audit.services import record
from openiop.discharge.models import FollowUp
from openiop.reports import registry
from openiop.reports.base import Filters, Report, Result, reports_for

SECTION = "reports"
DASHBOARD_SECTION = "reports dashboard"
REFUSED = (
    "Program reports are for the clinical director, clinical supervisors, administrators and "
    "(alumni outcomes) the alumni coordinator. Ask one of them for the figures you need."
)
REPORT_REFUSED = (
    "Your role may not read this report. The reports you may read are listed on the reports page."
)
NO_FACILITY = "You are not assigned to a facility yet: ask an administrator to add you to one."
OUT_OF_SCOPE = "You may report only on the facilities you work in."


def local_today(facility: Facility | None) -> dt.date:
    """Today at the facility being worked at (the page's and the API's "today")."""
    return timezone.localdate(timezone=facility.zone) if facility else timezone.localdate()


def report_facilities(user: User) -> QuerySet[Facility]:
    """The facilities the person may report on: their own (active) ones."""
    return facilities_for(user).order_by("name")


def report_programs(user: User) -> QuerySet[Program]:
    """The programs of those facilities."""
    return (
        Program.objects.filter(facility__in=facilities_for(user))
        .select_related("facility")
        .order_by("facility__name", "name")
    )


def readable_reports(user: User) -> list[Report]:
    """The reports the person may read, in the order of the reports page."""
    registry.load()
    return reports_for(user)


def refuse(user: User, message: str, *, section: str = SECTION, **detail: Any) -> None:
    """An audit record of the refusal, then 403."""
    record(actor=user, action=AuditEvent.Action.DENIED, section=section, detail=detail)
    raise PermissionDenied(message)


def require_reader(user: User, *, section: str = SECTION) -> None:
    """Reads some report (the dashboard and the list); 403 audited otherwise."""
    if not user.reads_reports:
        refuse(user, REFUSED, section=section)


def report_for(user: User, key: str, *, section: str = SECTION) -> Report:
    """The report under ``key``: 404 when there is none, 403 (audited) when the person's
    role may not read it."""
    report = registry.get(key)
    if report is None:
        raise Http404("There is no such report.")
    if not user.can(report.permission):
        refuse(user, REPORT_REFUSED, section=section, report=key)
    return report


def scoped(user: User, filters: Filters, *, section: str = SECTION) -> Filters:
    """The filters, checked against the person's facilities (403, audited, for any other
    facility or a program elsewhere). The report form only offers theirs; this guards the
    API and anything else that builds ``Filters`` itself."""
    if not filters.facility_ids:
        raise PermissionDenied(NO_FACILITY)
    mine = set(facilities_for(user).values_list("pk", flat=True))
    wanted = set(filters.facility_ids)
    if not wanted <= mine:
        refuse(user, OUT_OF_SCOPE, section=section, facilities=sorted(wanted - mine))
    if (
        filters.program_id is not None
        and not Program.objects.filter(
            pk=filters.program_id, facility_id__in=filters.facility_ids
        ).exists()
    ):
        refuse(user, OUT_OF_SCOPE, section=section, program=filters.program_id)
    return filters


def filters_detail(filters: Filters) -> dict[str, Any]:
    return {
        "facilities": list(filters.facility_ids),
        "program": filters.program_id,
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
    }


def record_read(
    user: User,
    report: Report,
    filters: Filters,
    *,
    action: str = AuditEvent.Action.VIEW,
    section: str = SECTION,
    **detail: Any,
) -> None:
    """Who read (or exported) which report over which facilities and dates."""
    record(
        actor=user,
        action=action,
        section=section,
        facility_id=filters.facility_ids[0] if len(filters.facility_ids) == 1 else None,
        detail={"report": report.key, **filters_detail(filters), **detail},
    )


def run(
    user: User,
    report: Report,
    filters: Filters,
    *,
    action: str = AuditEvent.Action.VIEW,
    section: str = SECTION,
    **detail: Any,
) -> Result:
    """The report built over the filters (checked), with its audit record."""
    if not user.can(report.permission):
        refuse(user, REPORT_REFUSED, section=section, report=report.key)
    result = report.build(scoped(user, filters, section=section), user)
    record_read(user, report, filters, action=action, section=section, **detail)
    return result


def followups_due(facility_ids: tuple[int, ...], today: dt.date) -> int:
    """Continuing-care follow-ups due today or overdue at the facilities (a count)."""
    return FollowUp.objects.filter(
        facility_id__in=facility_ids, status=FollowUp.Status.DUE, due_on__lte=today
    ).count()
